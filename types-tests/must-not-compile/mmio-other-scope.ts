// Blocks: using one binding's MMIO mapping with the token of another binding,
// or passing one scope's mapping off as another's.
import { defineDriver, iomap } from "boundscope";
import type { BoundDevice, IoMapping, ProbeDevice } from "boundscope";

export function crossed<A, B>(devA: BoundDevice<A>, regsB: IoMapping<B>, devB: BoundDevice<B>): void {
  regsB.read32(devB, 0);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- reading B's registers with A's token
  regsB.read32(devA, 0);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- writing B's registers with A's token
  regsB.write64(devA, 8, 1n);
}

export function relabel<A, B>(dev: ProbeDevice<A>): IoMapping<B> {
  // @expect-error TS2322 /Type 'IoMapping<A>' is not assignable to type 'IoMapping<B>'/ -- a mapping made in A, passed off as B's
  return iomap(dev, 0);
}

function mapRegs<Scope>(dev: ProbeDevice<Scope>): IoMapping<Scope> {
  return iomap(dev, 0);
}

export const outer = defineDriver({
  name: "outer",
  ids: [{ vendor: 1, device: 1 }],
  probe<Outer>(devA: ProbeDevice<Outer>) {
    const regsA = mapRegs(devA);
    const inner = defineDriver({
      name: "inner",
      ids: [{ vendor: 1, device: 2 }],
      probe<Inner>(devB: ProbeDevice<Inner>) {
        // @expect-error TS2345 /Argument of type 'ProbeDevice<Inner>' is not assignable to parameter of type 'BoundDevice<Outer>'/ -- outer's registers with inner's token
        regsA.write32(devB, 0, 1);
        return {};
      },
    });
    void inner;
    return { remove: (dev: ProbeDevice<Outer>) => void regsA.read8(dev, 0) };
  },
});
