// Blocks: module augmentation adding weaker forms of the hardware set-up
// functions and of defineDriver: iomap and requestIrq for a plain Device, a
// namespace merged into spawn to hang a token on it, and a defineDriver that
// takes a concrete probe. All constants: TypeScript 6 and 7 refuse the
// redeclaration; TypeScript 5.4 drops a `function` or `namespace` that
// collides with a constant, keeps the library's type, and refuses the use.
// @isolated -- a module augmentation would reach every fixture of a shared program
import { defineDriver, iomap, Machine, requestIrq, spawn } from "boundscope";
import type { Device, DeviceId, Driver, DriverInstance, ProbeDevice } from "boundscope";

declare module "boundscope" {
  // @expect-error TS2300 ts54=none /Duplicate identifier 'iomap'/ -- iomap for a plain Device
  export function iomap(dev: Device, bar: number): { read32(offset: number): number };
  // @expect-error TS2451 ts54=TS2403 /Cannot redeclare block-scoped variable 'requestIrq'|Subsequent variable declarations must have the same type.  Variable 'requestIrq' must be of type '<Scope>\(dev: ProbeDevice<Scope>, handler: IrqHandler<Scope> \| null, options\?: IrqOptions<Scope> \| undefined\) => IrqHandle<Scope>'/ -- requestIrq for a plain Device
  export const requestIrq: (dev: Device, handler: () => void) => void;
  // @expect-error TS2300 ts54=none /Duplicate identifier 'spawn'/ -- a namespace merged into spawn
  export namespace spawn {
    const lastToken: ProbeDevice<unknown>;
  }
  // @expect-error TS2300 ts54=none /Duplicate identifier 'defineDriver'/ -- defineDriver with a concrete probe
  export function defineDriver(spec: { name: string; ids: readonly DeviceId[]; probe(dev: ProbeDevice<"x">): DriverInstance<"x"> }): Driver;
}

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
// @expect-error TS2345 ts6=none ts7=none /Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- TypeScript 5.4 kept the library's iomap
iomap(plain, 0);
// @expect-error TS2339 ts6=none ts7=none /Property 'lastToken' does not exist on type '<Scope>\(dev: ProbeDevice<Scope>, work: TaskWork<Scope>\) => Task<Scope>'/ -- TypeScript 5.4 kept the library's spawn
export const parked = spawn.lastToken;
export const fixed = defineDriver({
  name: "fixed",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 ts6=none ts7=none /Type '\(dev: ProbeDevice<"x">\) => \{\}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- TypeScript 5.4 kept the library's defineDriver
  probe: (dev: ProbeDevice<"x">) => (void dev, {}),
});
void requestIrq;
