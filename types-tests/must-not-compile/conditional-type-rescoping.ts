// Blocks: changing a value's scope with conditional types: one that maps any
// token to BoundDevice<unknown>, one distributing over a union of scopes, and
// a generic rescope<S, T> whose implementation has to turn one scope into
// another. Either the conditional resolves to a type the binding's value is
// not, or it stays deferred on the scope and nothing but the same conditional
// is assignable to it; the rescoping function cannot be written without a
// cast.
import { defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

type Loosen<T> = T extends BoundDevice<infer _> ? BoundDevice<unknown> : T;
type EachScope<S> = S extends unknown ? BoundDevice<S> : never;

function rescope<S, T>(ring: CoherentAllocation<S>): CoherentAllocation<T> {
  // @expect-error TS2322 /Type 'CoherentAllocation<S>' is not assignable to type 'CoherentAllocation<T>'/ -- rescoping in the implementation
  return ring;
}

export function distribute<A, B>(devA: BoundDevice<A>): void {
  // @expect-error TS2322 /Type 'BoundDevice<A>' is not assignable to type 'EachScope<A> \| EachScope<B>'/ -- a conditional distributing over A | B
  const either: EachScope<A | B> = devA;
  void either;
}

export const loosened = defineDriver({
  name: "loosened",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a conditional that loosens the token
    const loose: Loosen<typeof dev> = dev;
    void loose;
    return {};
  },
});

void rescope;
