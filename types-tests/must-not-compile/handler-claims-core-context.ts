// Blocks: an interrupt handler or a task that claims the core context in its
// parameter type, to call core-only operations from interrupt or task
// context: an annotation `(d: ProbeDevice<…>)`, and a generic helper that
// takes ProbeDevice<S> passed as the handler. IrqDevice and TaskDevice lack
// the core-context brand and ProbeDevice lacks theirs, so the parameter types
// are unrelated both ways: refused with strictFunctionTypes off as well.
import { defineDriver, requestIrq, setDmaMask, spawn } from "boundscope";
import type { ProbeDevice } from "boundscope";

function reconfigure<S>(dev: ProbeDevice<S>): void {
  setDmaMask(dev, 32);
}

export const claims = defineDriver({
  name: "claims",
  ids: [{ vendor: 1, device: 1 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    // @expect-error TS2345 /Argument of type '\(d: ProbeDevice<Scope>\) => void' is not assignable to parameter of type 'IrqHandler<Scope>'/ -- an interrupt handler annotated as the core context
    requestIrq(dev, (d: ProbeDevice<Scope>) => setDmaMask(d, 32));
    // @expect-error TS2345 /Argument of type '\(d: ProbeDevice<Scope>\) => Promise<void>' is not assignable to parameter of type 'TaskWork<Scope>'/ -- a task annotated as the core context
    spawn(dev, async (d: ProbeDevice<Scope>) => setDmaMask(d, 64));
    // @expect-error TS2345 /Argument of type '<S>\(dev: ProbeDevice<S>\) => void' is not assignable to parameter of type 'IrqHandler<Scope>'/ -- a generic core-only helper as the handler
    requestIrq(dev, reconfigure);
    return {};
  },
});
