// Blocks: spawned work that uses another binding's allocation or MMIO with its
// own token, work written for one scope spawned in another, and a task passed
// off as another scope's.
import { defineDriver, iomap, spawn } from "boundscope";
import type { CoherentAllocation, IoMapping, ProbeDevice, Task, TaskWork } from "boundscope";

export function crossed<A, B>(bufA: CoherentAllocation<A>, regsA: IoMapping<A>, devB: ProbeDevice<B>, bufB: CoherentAllocation<B>): void {
  spawn(devB, async (dev, signal) => {
    while (!signal.aborted) {
      bufB.bytes(dev);
      // @expect-error TS2345 /Argument of type 'TaskDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's allocation with the task's own token
      bufA.bytes(dev);
      // @expect-error TS2345 /Argument of type 'TaskDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's registers with the task's own token
      regsA.read32(dev, 0);
      await signal.whenAborted;
    }
  });
  const workA: TaskWork<A> = async (dev) => void bufA.bytes(dev);
  // @expect-error TS2345 /Argument of type 'TaskWork<A>' is not assignable to parameter of type 'TaskWork<B>'/ -- A's work spawned on B
  spawn(devB, workA);
}

export function relabel<A, B>(dev: ProbeDevice<A>): Task<B> {
  // @expect-error TS2322 /Type 'Task<A>' is not assignable to type 'Task<B>'/ -- a task spawned in A, passed off as B's
  return spawn(dev, async () => {});
}

export const outer = defineDriver({
  name: "outer",
  ids: [{ vendor: 1, device: 1 }],
  probe<Outer>(devA: ProbeDevice<Outer>) {
    const regsA = iomap(devA, 0);
    const inner = defineDriver({
      name: "inner",
      ids: [{ vendor: 1, device: 2 }],
      probe<Inner>(devB: ProbeDevice<Inner>) {
        // @expect-error TS2345 /Argument of type 'TaskDevice<Inner>' is not assignable to parameter of type 'BoundDevice<Outer>'/ -- inner's task writing outer's registers
        spawn(devB, async (dev) => regsA.write32(dev, 0, 1));
        return {};
      },
    });
    void inner;
    return {};
  },
});
