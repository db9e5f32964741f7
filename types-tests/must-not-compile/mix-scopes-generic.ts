// Blocks: using an allocation or a Devres of one binding with the token of
// another, in code generic in two scopes.
import { allocCoherent, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

export function crossed<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, bufB: CoherentAllocation<B>, resB: Devres<B, number>): void {
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- reading B's allocation with A's token
  bufB.bytes(devA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- a DataView of B's allocation with A's token
  bufB.view(devA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- B's Devres with A's token
  resB.access(devA);
  bufB.bytes(devB);
  resB.access(devB);
}

export function relabel<A, B>(devA: BoundDevice<A>): CoherentAllocation<B> {
  // @expect-error TS2322 /Type 'CoherentAllocation<A>' is not assignable to type 'CoherentAllocation<B>'/ -- allocating in A and calling it B's
  return allocCoherent(devA, 64);
}

export function relabelRes<A, B>(devA: BoundDevice<A>): Devres<B, string> {
  // @expect-error TS2322 /Type 'Devres<A, string>' is not assignable to type 'Devres<B, string>'/ -- a Devres made in A, passed off as B's
  return Devres.new(devA, "x");
}

export function swapTokens<A, B>(devA: BoundDevice<A>): BoundDevice<B> {
  // @expect-error TS2322 /Type 'BoundDevice<A>' is not assignable to type 'BoundDevice<B>'/ -- one token passed off as another
  return devA;
}

// A scope that only extends another is still another scope.
export function narrowed<A, B extends A>(devB: BoundDevice<B>, bufA: CoherentAllocation<A>): void {
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- a subtype scope's token
  bufA.bytes(devB);
}
