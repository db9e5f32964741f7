// Blocks: using a devres group of one binding with another binding's token,
// and passing a group off as another scope's, in code generic in two scopes.
import { openDevresGroup } from "boundscope";
import type { DevresGroup, ProbeDevice } from "boundscope";

export async function crossed<A, B>(devA: ProbeDevice<A>, groupB: DevresGroup<B>): Promise<void> {
  // @expect-error TS2345 /Argument of type 'ProbeDevice<A>' is not assignable to parameter of type 'ProbeDevice<B>'/ -- releasing B's group with A's token
  await groupB.release(devA);
  // @expect-error TS2345 /Argument of type 'ProbeDevice<A>' is not assignable to parameter of type 'ProbeDevice<B>'/ -- closing B's group with A's token
  groupB.close(devA);
  // @expect-error TS2345 /Argument of type 'ProbeDevice<A>' is not assignable to parameter of type 'ProbeDevice<B>'/ -- keeping B's group with A's token
  groupB.keep(devA);
}

export function relabel<A, B>(devA: ProbeDevice<A>): DevresGroup<B> {
  // @expect-error TS2322 /Type 'DevresGroup<A>' is not assignable to type 'DevresGroup<B>'/ -- a group opened in A, passed off as B's
  return openDevresGroup(devA);
}
