// Blocks: carrying the token or an allocation out in a tuple, a readonly
// array or a rest parameter of another scope. Arrays are covariant, but
// invariance of the element's scope leaves nothing to widen to.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

let pair: readonly [BoundDevice<unknown>, CoherentAllocation<unknown>] | undefined;
let list: readonly BoundDevice<string>[] = [];

function collect(...tokens: BoundDevice<"x">[]): void {
  void tokens;
}

export const carried = defineDriver({
  name: "carried",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    const ring = allocCoherent(dev, 64);
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a tuple of scope unknown: the token
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<unknown>'/ -- a tuple of scope unknown: the allocation
    pair = [dev, ring];
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<string>'/ -- a readonly array of another scope
    list = [dev];
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<"x">'/ -- a rest parameter of another scope
    collect(dev);
    return {};
  },
});

void [pair, list];
