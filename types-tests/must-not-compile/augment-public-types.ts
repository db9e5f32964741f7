// Blocks: module augmentation of the public types: an index signature
// merged into Device (to hold any brand), ProbeDevice given `extends Device`
// heritage, BoundDevice a second, covariant member, CoherentAllocation a
// `bytes` method for a plain Device. They are type aliases, which nothing
// merges into: TypeScript 6 and 7 refuse each as a duplicate. TypeScript 5.4
// accepts the declarations without a word and merges nothing into the
// library's view of them, so the uses below stay refused; but it breaks the
// alias in other ways (see ts54-lets-through-alias-augmentation.ts).
// @isolated -- a module augmentation would reach every fixture of a shared program
import { allocCoherent, Machine } from "boundscope";

declare module "boundscope" {
  // @expect-error TS2300 ts54=none /Duplicate identifier 'Device'/ -- an index signature merged into Device
  interface Device {
    readonly [key: symbol]: <P>() => never;
  }
  // @expect-error TS2300 ts54=none /Duplicate identifier 'ProbeDevice'/ -- ProbeDevice given Device as a base
  interface ProbeDevice<Scope> extends Device {}
  // @expect-error TS2300 ts54=none /Duplicate identifier 'BoundDevice'/ -- BoundDevice given a second, covariant member
  interface BoundDevice<Scope> {
    readonly scope?: Scope;
  }
  // @expect-error TS2300 ts54=none /Duplicate identifier 'CoherentAllocation'/ -- a bytes method for a plain Device
  interface CoherentAllocation<Scope> {
    bytes(dev: Device): Uint8Array;
  }
}

const machine = new Machine();
const plain = machine.pci.plug({ vendor: 1, device: 1 });
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device is still no token
allocCoherent(plain, 64);
