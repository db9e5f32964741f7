// Not refused: a user-written type predicate or assertion function claiming
// what it cannot check: `x is BoundDevice<unknown>` turns a parked `unknown`
// back into a token, and `asserts dev is ProbeDevice<S>` turns an interrupt
// handler's token into the core context. TypeScript trusts a predicate's
// claim as it trusts a cast (it checks only that the predicate's type fits
// the parameter's); a library type cannot forbid a predicate. The built-in
// narrowings (`typeof`, `in`, `instanceof`) produce no brand
// (must-not-compile/narrowing-parked-values.ts). Caught at run time: a
// parked token is dead after unbind (ENXIO, Token.live in
// src/driver/binding.ts); a core-only call from an interrupt handler throws
// EPERM (Binding.requireCore).
import { allocCoherent, defineDriver, requestIrq, setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

function isToken(value: unknown): value is BoundDevice<unknown> {
  return typeof value === "object" && value !== null && "state" in value;
}
function assertCore<Scope>(dev: BoundDevice<Scope>): asserts dev is ProbeDevice<Scope> {
  if (dev.state !== "probing") throw new Error("not the core context");
}

let parked: unknown;

export const guarded = defineDriver({
  name: "guarded",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    parked = dev;
    requestIrq(dev, (irq) => {
      assertCore(irq);
      setDmaMask(irq, 32); // EPERM at run time (the assertion above throws first here)
    });
    return {};
  },
});

export function afterUnbind(): void {
  if (isToken(parked)) allocCoherent(parked, 64); // ENXIO at run time
}
