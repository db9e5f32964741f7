// Blocks: calling the library's functions through Function.prototype.call,
// apply and bind, to get around their parameter types: a plain Device given
// to allocCoherent by call and apply, the interrupt context given to
// setDmaMask by apply, the task context bound into iomap, and defineDriver
// called with a concrete probe. strictBindCallApply (part of `strict`)
// checks these calls against the function's own parameters, where a generic
// function's scope is `unknown`. (Reflect.apply has an untyped fallback: see
// must-compile/lets-through-reflect-apply.ts.)
import { allocCoherent, defineDriver, iomap, Machine, requestIrq, setDmaMask } from "boundscope";
import type { IrqDevice, ProbeDevice, TaskDevice } from "boundscope";

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- allocCoherent.call with a plain Device
allocCoherent.call(undefined, plain, 64);
// @expect-error TS2322 ts6=TS2739 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Type 'Device' is not assignable to type 'BoundDevice<unknown>'/ -- allocCoherent.apply with a plain Device
allocCoherent.apply(undefined, [plain, 64]);

export function contexts<S>(irq: IrqDevice<S>, task: TaskDevice<S>): void {
  // @expect-error TS2739 /Type 'IrqDevice<S>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]/ -- setDmaMask.apply in interrupt context
  setDmaMask.apply(undefined, [irq, 32]);
  // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<S>'|Argument of type 'TaskDevice<S>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- iomap.bind in task context
  const map = iomap.bind(undefined, task);
  // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<S>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<S>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- requestIrq.call in interrupt context
  requestIrq.call(undefined, irq, () => {});
  void map;
}

export const called = defineDriver.call(undefined, {
  name: "called",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<"x">\) => \{\}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- defineDriver.call with a concrete probe
  probe: (dev: ProbeDevice<"x">) => (void dev, {}),
});
