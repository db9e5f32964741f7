// Blocks: parking tokens and allocations in typed keyed storage: a WeakMap
// keyed by the driver, a Map of allocations, a Set, a Record. A typed
// collection names its value's scope, and the binding's is not that one.
// (An untyped `new Map()` holds `any`: see
// must-compile/lets-through-untyped-map.ts.)
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation, Driver } from "boundscope";

const tokens = new WeakMap<object, BoundDevice<unknown>>();
const rings = new Map<string, CoherentAllocation<unknown>>();
const seen = new Set<BoundDevice<"seen">>();
const stats: Record<string, Devres<unknown, number>> = {};

export const keyed: Driver = defineDriver({
  name: "keyed",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a WeakMap of tokens
    tokens.set(keyed, dev);
    // @expect-error TS2345 /Argument of type 'CoherentAllocation<Scope>' is not assignable to parameter of type 'CoherentAllocation<unknown>'/ -- a Map of allocations
    rings.set(dev.name, allocCoherent(dev, 64));
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<"seen">'/ -- a Set of tokens
    seen.add(dev);
    // @expect-error TS2322 /Type 'Devres<Scope, number>' is not assignable to type 'Devres<unknown, number>'/ -- a Record of devres
    stats[dev.name] = Devres.new(dev, 0);
    return {};
  },
});
