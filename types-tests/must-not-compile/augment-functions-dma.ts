// Blocks: module augmentation (`declare module "boundscope"`) adding weaker
// overloads to the DMA functions: allocCoherent and freeCoherent for a plain
// Device, setDmaMask and enableBusMaster for any token, sleep for a Device.
// They are constants, not function declarations, so there is nothing to add
// an overload to: TypeScript 6 and 7 refuse the redeclaration; TypeScript
// 5.4 drops a `function` redeclaration of a constant without a word, keeps
// the library's type, and refuses the call. (A `let` or `var` is refused by
// all three.)
// @isolated -- a module augmentation would reach every fixture of a shared program
import { allocCoherent, enableBusMaster, freeCoherent, Machine, setDmaMask, sleep } from "boundscope";
import type { BoundDevice, Device } from "boundscope";

declare module "boundscope" {
  // @expect-error TS2300 ts54=none /Duplicate identifier 'allocCoherent'/ -- allocCoherent for a plain Device
  export function allocCoherent(dev: Device, size: number): { bytes(): Uint8Array };
  // @expect-error TS2300 ts54=none /Duplicate identifier 'freeCoherent'/ -- freeCoherent of any bigint
  export function freeCoherent(dev: Device, handle: bigint): void;
  // @expect-error TS2300 ts54=TS2403 /Duplicate identifier 'setDmaMask'|Subsequent variable declarations must have the same type.  Variable 'setDmaMask' must be of type '<Scope>\(dev: ProbeDevice<Scope>, bits: number\) => void'/ -- setDmaMask for any token, as a var
  export var setDmaMask: (dev: BoundDevice<unknown>, bits: number) => void;
  // @expect-error TS2451 ts54=TS2403 /Cannot redeclare block-scoped variable 'enableBusMaster'|Subsequent variable declarations must have the same type.  Variable 'enableBusMaster' must be of type '<Scope>\(dev: ProbeDevice<Scope>\) => void'/ -- enableBusMaster for a plain Device, as a let
  export let enableBusMaster: (dev: Device) => void;
  // @expect-error TS2451 ts54=TS2403 /Cannot redeclare block-scoped variable 'sleep'|Subsequent variable declarations must have the same type.  Variable 'sleep' must be of type '<Scope>\(dev: SleepableDevice<Scope>, ns: number\) => Promise<void>'/ -- sleep for a plain Device, as a const
  export const sleep: (dev: Device, ns: number) => Promise<void>;
}

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
// @expect-error TS2345 ts6=none ts7=none /Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- TypeScript 5.4 kept the library's allocCoherent
allocCoherent(plain, 64);
// @expect-error TS2345 ts6=none ts7=none /Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- TypeScript 5.4 kept the library's freeCoherent
freeCoherent(plain, 0x1000n);
export function helpers(dev: BoundDevice<unknown>): void {
  // @expect-error TS2345 ts6=none ts7=none /Argument of type 'BoundDevice<unknown>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- TypeScript 5.4 kept the library's setDmaMask
  setDmaMask(dev, 32);
  // @expect-error TS2345 ts6=none ts7=none /Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- TypeScript 5.4 kept the library's enableBusMaster
  enableBusMaster(plain);
  // @expect-error TS2345 ts6=none ts7=none /Argument of type 'Device' is not assignable to parameter of type 'SleepableDevice<unknown>'/ -- TypeScript 5.4 kept the library's sleep
  void sleep(plain, 1);
}
