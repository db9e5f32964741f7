// Blocks: the strictFunctionTypes: false tricks. With the flag off, a
// callback's parameter is compared both ways, so a callback may claim a
// wider or an unrelated parameter type if either direction holds. Claimed
// here: an interrupt handler of BoundDevice<unknown> (to park its token), a
// task of scope "x", a remove of ProbeDevice<unknown>, and a release
// callback for another scope's allocation. Neither direction holds for an
// invariant scope, so each is refused under both settings: under the strict
// setting the callback is refused; with the flag off TypeScript may instead
// infer the call's scope from the callback and refuse the token.
import { allocCoherent, defineDriver, Devres, requestIrq, spawn } from "boundscope";
import type { BoundDevice, CoherentAllocation, ProbeDevice, TaskDevice } from "boundscope";

let parked: BoundDevice<unknown> | undefined;

export const loose = defineDriver({
  name: "loose",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2345 /Argument of type '\(d: BoundDevice<unknown>\) => BoundDevice<unknown>' is not assignable to parameter of type 'IrqHandler<Scope>'|Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- a handler of BoundDevice<unknown>
    requestIrq(dev, (d: BoundDevice<unknown>) => (parked = d));
    // @expect-error TS2345 /Argument of type '\(d: TaskDevice<"x">\) => Promise<(void|undefined)>' is not assignable to parameter of type 'TaskWork<Scope>'|Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<"x">'/ -- a task of scope "x"
    spawn(dev, async (d: TaskDevice<"x">) => void d);
    const ring = allocCoherent(dev, 64);
    // @expect-error TS2345 /Argument of type '\(r: CoherentAllocation<"x">\) => void' is not assignable to parameter of type '\(value: CoherentAllocation<Scope>\) => void'|Argument of type 'CoherentAllocation<Scope>' is not assignable to parameter of type 'CoherentAllocation<"x">'/ -- a release for another scope's allocation
    Devres.new(dev, ring, (r: CoherentAllocation<"x">) => r.free());
    return {};
  },
});

export const looseRemove = defineDriver({
  name: "loose-remove",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type '\(d: ProbeDevice<unknown>\) => undefined' is not assignable to type '\(dev: ProbeDevice<Scope>\) => void'/ -- a remove of ProbeDevice<unknown>
  probe: () => ({ remove: (d: ProbeDevice<unknown>) => void d }),
});

void parked;
