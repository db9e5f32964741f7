// Blocks: global augmentation as a way around the brand or the scope: a
// global variable to park the token in (its type names a scope, and the
// binding's is not that one), a brand key of the same name put on every
// object through `interface Object` (a unique symbol is a key only with its
// own declaration), and a global `allocCoherent` for a plain Device (the
// import shadows it). A plain Device lacks the token classes' private member
// (`#private`) as well. (With the key's type read through `keyof`, the Object
// augmentation does supply the brand, and the private member refuses it:
// augment-global-object-brand.ts.)
// @isolated -- a global augmentation would reach every fixture of a shared program
import { allocCoherent, defineDriver, Machine } from "boundscope";
import type { BoundDevice, Device } from "boundscope";

declare const tokenOfOneBindingOnly: unique symbol;

declare global {
  var parkedToken: BoundDevice<unknown> | undefined;
  interface Object {
    readonly [tokenOfOneBindingOnly]?: <Probe>() => never;
  }
  function allocCoherent(dev: Device, size: number): unknown;
}

export const parking = defineDriver({
  name: "parking",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a global variable as the parking spot
    globalThis.parkedToken = dev;
    return {};
  },
});

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- the imported allocCoherent, and no brand from Object
allocCoherent(plain, 64);
