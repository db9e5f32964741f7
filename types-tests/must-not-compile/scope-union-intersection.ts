// Blocks: a token of either of two bindings, or of a union or intersection of
// their scopes, standing for one of them: `cond ? devA : devB` given to A's
// allocation, a token widened to BoundDevice<A | B>, one narrowed to
// BoundDevice<A & B>, and an allocation of scope A | B read with A's token.
import type { BoundDevice, CoherentAllocation } from "boundscope";

export function either<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, bufA: CoherentAllocation<A>, cond: boolean): void {
  // @expect-error TS2345 /Argument of type 'BoundDevice<A> \| BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- a token of either binding
  bufA.bytes(cond ? devA : devB);
  // @expect-error TS2322 /Type 'BoundDevice<A>' is not assignable to type 'BoundDevice<A \| B>'/ -- widened to the union of the scopes
  const union: BoundDevice<A | B> = devA;
  // @expect-error TS2322 /Type 'BoundDevice<A>' is not assignable to type 'BoundDevice<A & B>'/ -- narrowed to the intersection of the scopes
  const both: BoundDevice<A & B> = devA;
  void [union, both];
}

export function shared<A, B>(devA: BoundDevice<A>, buf: CoherentAllocation<A | B>): void {
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<A \| B>'/ -- an allocation of the union scope
  buf.bytes(devA);
}
