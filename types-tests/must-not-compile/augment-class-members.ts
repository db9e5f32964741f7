// Blocks: module augmentation of the classes' token-taking members: a base
// interface whose `access` takes a plain Device given to Devres as
// heritage, an `access(dev: Device)` overload merged into Devres, and the
// device model's protected DMA services made public. `access` is a property,
// not a method, so nothing merges into it as an overload, and a base whose
// `access` is wider does not fit it; a protected member takes no public
// overload. TypeScript 7 reports the heritage where it is declared; 5.4 and 6
// do not, but the property keeps its type: the call below is refused by all.
// @isolated -- a module augmentation would reach every fixture of a shared program
import { Devres, DeviceModel, Machine } from "boundscope";
import type { Device, MmioWidth } from "boundscope";

interface LooseAccess<Value> {
  readonly access: (dev: Device) => Value;
}

declare module "boundscope" {
  // @expect-error TS2430 ts54=none ts6=none /Interface 'Devres<Scope, Value>' incorrectly extends interface 'LooseAccess<Value>'.*\n.*Types of property 'access' are incompatible/ -- a base interface with a looser access
  interface Devres<in out Scope, Value> extends LooseAccess<Value> {}
  interface Devres<in out Scope, Value> {
    // @expect-error TS2300 /Duplicate identifier 'access'/ -- an access overload for a plain Device
    access(dev: Device): Value;
  }
  interface DeviceModel {
    // @expect-error TS2385 /Overload signatures must all be public, private or protected/ -- the protected dmaRead made public
    dmaRead(address: bigint, length: number): Uint8Array;
  }
}

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
declare const stats: Devres<"stats", number>;
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<"stats">': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<"stats">'/ -- access still takes only the binding's token
stats.access(plain);

class Nic extends DeviceModel {
  constructor() {
    super({ vendor: 1, device: 1 });
  }
  override mmioRead(_bar: number, _offset: number, _width: MmioWidth): number {
    return 0;
  }
}
// @expect-error TS2445 /Property 'dmaRead' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- still protected from outside
new Nic().dmaRead(0n, 4);
