// Blocks: parking the token as `unknown` and narrowing it back with the
// built-in narrowings: `typeof`, `in` (with the token's public keys),
// `instanceof Object`, and a discriminated union. None of them can produce
// the brand, which only a cast or a user type guard claims (see
// must-compile/lets-through-user-type-guards.ts). A discriminated union's
// token member still has a scope, and the binding's is not `unknown`.
import { allocCoherent, defineDriver, Machine } from "boundscope";
import type { BoundDevice } from "boundscope";

let parked: unknown;
type Slot = { readonly kind: "token"; readonly dev: BoundDevice<unknown> } | { readonly kind: "empty" };
function empty(): Slot {
  return { kind: "empty" };
}
let slot = empty();

export const parking = defineDriver({
  name: "parking",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    parked = dev;
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- the token member of a discriminated union
    slot = { kind: "token", dev };
    return {};
  },
});

const machine = new Machine();
await machine.pci.register(parking);
if (typeof parked === "object" && parked !== null && "name" in parked && "state" in parked) {
  // @expect-error TS2345 /Argument of type 'object & Record<"name", unknown> & Record<"state", unknown>' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- narrowed by typeof and `in`
  allocCoherent(parked, 64);
}
if (parked instanceof Object) {
  // @expect-error TS2345 /Argument of type 'Object' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- narrowed by instanceof
  allocCoherent(parked, 64);
}
if (slot.kind === "token") allocCoherent(slot.dev, 64);
