// Blocks: creating a Devres in a scope other than the binding's: explicit
// type arguments naming a concrete scope, a result annotated with scope
// `unknown`, and a release callback typed for another scope's value.
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { CoherentAllocation } from "boundscope";

export const concrete = defineDriver({
  name: "concrete",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<"x">'/ -- Devres.new<"x", …>
    Devres.new<"x", number>(dev, 1);
    // @expect-error TS2322 /Type 'Devres<Scope, number>' is not assignable to type 'Devres<unknown, number>'/ -- the result annotated with scope unknown
    const wide: Devres<unknown, number> = Devres.new(dev, 1);
    // @expect-error TS2345 /Argument of type 'CoherentAllocation<Scope>' is not assignable to parameter of type 'CoherentAllocation<"other">'|Argument of type '\(ring: CoherentAllocation<"other">\) => void' is not assignable to parameter of type '\(value: CoherentAllocation<Scope>\) => void'/ -- a release typed for another scope's allocation
    Devres.new(dev, allocCoherent(dev, 64), (ring: CoherentAllocation<"other">) => ring.free());
    void wide;
    return {};
  },
});
