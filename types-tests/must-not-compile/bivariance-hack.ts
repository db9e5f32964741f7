// Blocks: the "bivariance hack" (a function type read off a method
// signature, `{ m(x: T): void }["m"]`, whose parameter is compared both
// ways), used to pass a core-context callback as an interrupt handler or an
// interrupt-context one as a core-context callback. The contexts' brands are
// unrelated in both directions, so bivariance finds nothing to accept.
import { requestIrq, setDmaMask } from "boundscope";
import type { IrqDevice, IrqHandler, ProbeDevice } from "boundscope";

type Bivariant<T> = { hack(dev: T): void }["hack"];

export function hacks<S>(core: ProbeDevice<S>): void {
  const onCore: Bivariant<ProbeDevice<S>> = (d) => setDmaMask(d, 32);
  // @expect-error TS2345 /Argument of type '\(dev: ProbeDevice<S>\) => void' is not assignable to parameter of type 'IrqHandler<S>'.*\n.*\n.*Type 'IrqDevice<S>' is missing the following properties from type 'ProbeDevice<S>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]/ -- a bivariant core-context callback as the handler
  requestIrq(core, onCore);
  // @expect-error TS2322 /Type '\(d: IrqDevice<S>\) => undefined' is not assignable to type '\(dev: ProbeDevice<S>\) => void'.*\n.*\n.*Type 'ProbeDevice<S>' is missing the following properties from type 'IrqDevice<S>': \[interruptContextNotCore\], \[atomicContextMayNotSleep\]/ -- an interrupt-context callback as a bivariant core one
  const fromIrq: Bivariant<ProbeDevice<S>> = (d: IrqDevice<S>) => void d;
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<S>\) => void' is not assignable to type 'IrqHandler<S>'/ -- the bivariant type assigned to the handler type
  const handler: IrqHandler<S> = onCore;
  void [fromIrq, handler];
}
