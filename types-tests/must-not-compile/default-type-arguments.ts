// Blocks: letting a default type argument pick the scope: a holder class
// whose scope defaults to `unknown`, a helper whose scope defaults to a
// literal, and a type alias with a default. A default applies only where
// nothing is inferred or given; where it applies, it is not the binding's.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

class Box<Scope = unknown> {
  dev?: BoundDevice<Scope>;
}
type Parked<Scope = "parked"> = { ring?: CoherentAllocation<Scope> };

const box = new Box();
const parked: Parked = {};

function keep<Scope = "kept">(into: Box<Scope>, dev: BoundDevice<Scope>): void {
  into.dev = dev;
}

export const defaulted = defineDriver({
  name: "defaulted",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a class whose scope defaults to unknown
    box.dev = dev;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<"parked">'/ -- an alias whose scope defaults to a literal
    parked.ring = allocCoherent(dev, 64);
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a helper's default, overridden by the holder's scope
    keep(box, dev);
    return {};
  },
});
