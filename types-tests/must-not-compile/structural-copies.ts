// Blocks: copying an allocation into a shape without its scope, then using
// it with another binding's token: object spread, Object.assign, a mapped
// copy of its keys, Pick, Omit of its symbol keys (the brand among them),
// Partial, and structuredClone. Every copy keeps the scope where it matters:
// the spread, Object.assign, the mapped type and structuredClone keep the
// brand; Pick and Omit drop it, but `bytes` and `view` still take only
// BoundDevice<Scope>, which is itself invariant.
import type { BoundDevice, CoherentAllocation } from "boundscope";

type Mapped<S> = { [K in keyof CoherentAllocation<S>]: CoherentAllocation<S>[K] };
type Unbranded<S> = Omit<CoherentAllocation<S>, Extract<keyof CoherentAllocation<S>, symbol>>;

export function copies<A, B>(bufA: CoherentAllocation<A>, devB: BoundDevice<B>): void {
  const spread = { ...bufA };
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- a spread copy read with B's token
  spread.bytes(devB);
  const assigned = Object.assign({}, bufA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- an Object.assign copy read with B's token
  assigned.view(devB);
  const cloned = structuredClone(bufA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- a structuredClone read with B's token
  cloned.bytes(devB);
  const unbranded: Unbranded<A> = bufA;
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- Omit of the brand, read with B's token
  unbranded.bytes(devB);
}

export function relabel<A, B>(bufA: CoherentAllocation<A>): void {
  // @expect-error TS2322 /Type 'CoherentAllocation<A>' is not assignable to type 'Mapped<B>'/ -- a mapped copy of B's keys
  const mapped: Mapped<B> = bufA;
  // @expect-error TS2322 /Type 'CoherentAllocation<A>' is not assignable to type 'Pick<CoherentAllocation<B>, "bytes" \| "view">'/ -- Pick of the accessors at B
  const picked: Pick<CoherentAllocation<B>, "bytes" | "view"> = bufA;
  // @expect-error TS2322 /Type 'CoherentAllocation<A>' is not assignable to type 'Unbranded<B>'/ -- Omit of the brand at B
  const unbranded: Unbranded<B> = bufA;
  // @expect-error TS2322 /Type 'CoherentAllocation<A>' is not assignable to type 'Partial<CoherentAllocation<B>>'/ -- Partial at B
  const partial: Partial<CoherentAllocation<B>> = bufA;
  void [mapped, picked, unbranded, partial];
}
