// Blocks: one binding's streaming mappings, sg tables, pools and pool blocks
// used with another binding's token, or their bus addresses given back
// through another binding's calls (the helper is generic in both scopes, as
// in mix-scopes-two-drivers.ts).
import { kmalloc, mapSg, mapSingle, syncSgForCpu, syncSingleForCpu, syncSingleForDevice, unmapSg, unmapSingle } from "boundscope";
import type { BoundDevice, DmaPool, PoolBlock, SgTable, StreamingAddress } from "boundscope";

export function handles<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>): void {
  const rxA = mapSingle(devA, kmalloc(devA, 1536), "from-device");
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's mapping synced with B's token
  const cpuA = rxA.syncForCpu(devB);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's mapping unmapped with B's token
  rxA.unmap(devB);
  const cmdA = mapSingle(devA, kmalloc(devA, 64), "bidirectional").syncForCpu(devA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's CPU-owned bytes read with B's token
  cmdA.bytes(devB);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's mapping handed back with B's token
  cmdA.syncForDevice(devB);
  void cpuA;
}

export function addresses<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, rxA: StreamingAddress<A, "from-device">): void {
  // @expect-error TS2345 /Argument of type 'StreamingAddress<A, "from-device">' is not assignable to parameter of type 'StreamingAddress<B, "from-device">'/ -- A's address unmapped by B
  unmapSingle(devB, rxA, 1536, "from-device");
  // @expect-error TS2345 /Argument of type 'StreamingAddress<A, "from-device">' is not assignable to parameter of type 'StreamingAddress<B, "from-device">'/ -- A's address synced for the CPU by B
  syncSingleForCpu(devB, rxA, 1536, "from-device");
  // @expect-error TS2345 /Argument of type 'StreamingAddress<A, "from-device">' is not assignable to parameter of type 'StreamingAddress<B, "from-device">'/ -- A's address synced for the device by B
  syncSingleForDevice(devB, rxA, 1536, "from-device");
  unmapSingle(devA, rxA, 1536, "from-device");
  const rxB = mapSingle(devB, kmalloc(devB, 1536), "from-device");
  // @expect-error TS2322 /Type 'StreamingAddress<B, "from-device">' is not assignable to type 'StreamingAddress<A, "from-device">'/ -- B's address typed as A's
  const asA: StreamingAddress<A, "from-device"> = rxB.dmaAddress;
  void asA;
}

export function tables<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, tableA: SgTable<A, "from-device">): void {
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's sg table synced with B's token
  tableA.syncForCpu(devB);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's sg table unmapped with B's token
  tableA.unmap(devB);
  // @expect-error TS2345 /Argument of type 'SgTable<A, "from-device">' is not assignable to parameter of type '.*SgTable<B, "from-device">/ -- A's sg table unmapped by B, kernel-style
  unmapSg(devB, tableA, tableA.entries, "from-device");
  // @expect-error TS2345 /Argument of type 'SgTable<A, "from-device">' is not assignable to parameter of type '.*SgTable<B, "from-device">/ -- A's sg table synced by B, kernel-style
  syncSgForCpu(devB, tableA, tableA.entries, "from-device");
  const tableB = mapSg(devB, kmalloc(devB, 4096), "from-device");
  // @expect-error TS2345 /Argument of type 'SgTable<B, "from-device">' is not assignable to parameter of type '.*SgTable<A, "from-device">/ -- B's sg table unmapped by A
  unmapSg(devA, tableB, tableB.entries, "from-device");
}

export function pools<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, poolA: DmaPool<A>, poolB: DmaPool<B>, blockB: PoolBlock<B>): void {
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- a block of A's pool allocated with B's token
  const blockA = poolA.alloc(devB);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- B's pool block read with A's token
  blockB.bytes(devA);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- B's pool block viewed with A's token
  blockB.view(devA);
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "pool">' is not assignable to parameter of type 'DmaAddress<A, "pool">'/ -- B's pool block given back to A's pool
  poolA.free(devA, undefined, blockB.dmaHandle);
  // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- B's pool freed into with A's token
  poolB.free(devA, undefined, blockB.dmaHandle);
  // @expect-error TS2322 /Type 'PoolBlock<B>' is not assignable to type 'PoolBlock<A>'/ -- B's pool block typed as A's
  const kept: PoolBlock<A> = blockB;
  void [blockA, kept];
}
