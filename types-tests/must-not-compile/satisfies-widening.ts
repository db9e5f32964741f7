// Blocks: widening a token or an allocation with `satisfies`. `satisfies`
// checks against the wider type but keeps the narrow one, so it cannot widen
// anything: a holder of another scope still refuses the value, and a probe
// that `satisfies` DriverSpec["probe"] must still be generic.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverSpec, ProbeDevice } from "boundscope";

let saved: { readonly dev: BoundDevice<unknown> } | undefined;

export const checked = defineDriver({
  name: "checked",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a holder that satisfies BoundDevice<unknown>
    const holder = { dev } satisfies { readonly dev: BoundDevice<unknown> };
    // @expect-error TS2322 /Type '\{ dev: ProbeDevice<Scope>; \}' is not assignable to type '\{ readonly dev: BoundDevice<unknown>; \}'/ -- and parked, the satisfied type being the narrow one
    saved = holder;
    // @expect-error TS1360 /Type 'CoherentAllocation<Scope>' does not satisfy the expected type 'CoherentAllocation<"x">'/ -- an allocation that satisfies another scope
    const ring = allocCoherent(dev, 64) satisfies CoherentAllocation<"x">;
    void ring;
    return {};
  },
});

export const fixed = defineDriver({
  name: "fixed",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS1360 /Type '\(dev: ProbeDevice<"x">\) => \{ dev: ProbeDevice<"x">; \}' does not satisfy the expected type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a concrete probe that claims to satisfy the generic one
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<"x">\) => \{ dev: ProbeDevice<"x">; \}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- and, as DriverSpec's probe, not assignable to it
  // @expect-error TS1360 ts6=none ts7=none /Type '\(dev: ProbeDevice<"x">\) => \{ dev: ProbeDevice<"x">; \}' does not satisfy the expected type/ -- TypeScript 5.4 reports the unsatisfied `satisfies` twice
  probe: ((dev: ProbeDevice<"x">) => ({ dev })) satisfies DriverSpec["probe"],
});

void saved;
