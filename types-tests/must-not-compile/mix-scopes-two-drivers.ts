// Blocks: using one driver's allocation or Devres with the token of another
// driver's binding. Here the probes spell their scopes out; see
// mix-scopes-nested-probes.ts for the same with inferred scopes.
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation, ProbeDevice } from "boundscope";

export const outer = defineDriver({
  name: "outer",
  ids: [{ vendor: 1, device: 1 }],
  probe<Outer>(devA: ProbeDevice<Outer>) {
    const bufA = allocCoherent(devA, 64);
    const resA = Devres.new(devA, { count: 0 });
    const inner = defineDriver({
      name: "inner",
      ids: [{ vendor: 1, device: 2 }],
      probe<Inner>(devB: ProbeDevice<Inner>) {
        // @expect-error TS2345 /Argument of type 'ProbeDevice<Inner>' is not assignable to parameter of type 'BoundDevice<Outer>'/ -- outer's allocation with inner's token
        bufA.bytes(devB);
        // @expect-error TS2345 /Argument of type 'ProbeDevice<Inner>' is not assignable to parameter of type 'BoundDevice<Outer>'/ -- outer's Devres with inner's token
        resA.access(devB);
        const bufB = allocCoherent(devB, 64);
        return {
          remove(dev: ProbeDevice<Inner>) {
            // @expect-error TS2345 /Argument of type 'ProbeDevice<Inner>' is not assignable to parameter of type 'BoundDevice<Outer>'/ -- the same in inner's remove
            bufA.view(dev);
            bufB.view(dev);
          },
        };
      },
    });
    void inner;
    return {
      remove(dev: ProbeDevice<Outer>) {
        bufA.bytes(dev);
        resA.access(dev).count++;
      },
    };
  },
});

// Two drivers side by side, meeting in a helper generic in both scopes.
function bridge<A, B>(devA: BoundDevice<A>, bufA: CoherentAllocation<A>, devB: BoundDevice<B>, bufB: CoherentAllocation<B>): void {
  bufA.bytes(devA).set(bufB.bytes(devB));
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- B's buffer through A's token
  const fromB = bufB.bytes(devA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's buffer through B's token
  bufA.bytes(devB).set(fromB);
}
void bridge;
