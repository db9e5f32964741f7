// Blocks: nothing. Harness self-test: a line that fails, but because of a typo
// (an unknown name), not the misuse the marker names.
// @harness-must-report wrong-code:10
import { allocCoherent } from "boundscope";
import type { BoundDevice } from "boundscope";

export function mix<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>): void {
  const bufB = allocCoherent(devB, 64);
  // @expect-error TS2345 /BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>/ -- A's token with B's allocation
  bufB.bytes(devAA);
  void devA;
}
