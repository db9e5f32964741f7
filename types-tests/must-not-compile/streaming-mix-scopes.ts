// Blocks: one binding's streaming mappings, sg tables, pools and pool blocks
// used with another binding's token, or their bus addresses given back
// through another binding's calls (the helper is generic in both scopes, as
// in mix-scopes-two-drivers.ts).
import { kmalloc, mapSg, mapSingle, syncSgForCpu, syncSingleForCpu, syncSingleForDevice, unmapSg, unmapSingle } from "boundscope";
import type { BoundDevice, DmaPool, PoolBlock, SgTable, StreamingAddress } from "boundscope";

export function handles<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>): void {
  const rxA = mapSingle(devA, kmalloc(devA, 1536), "from-device");
  const cpuA = rxA.syncForCpu(devB);
  rxA.unmap(devB);
  const cmdA = mapSingle(devA, kmalloc(devA, 64), "bidirectional").syncForCpu(devA);
  cmdA.bytes(devB);
  cmdA.syncForDevice(devB);
  void cpuA;
}

export function addresses<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, rxA: StreamingAddress<A, "from-device">): void {
  unmapSingle(devB, rxA, 1536, "from-device");
  syncSingleForCpu(devB, rxA, 1536, "from-device");
  syncSingleForDevice(devB, rxA, 1536, "from-device");
  unmapSingle(devA, rxA, 1536, "from-device");
  const rxB = mapSingle(devB, kmalloc(devB, 1536), "from-device");
  const either: StreamingAddress<A, "from-device"> = rxB.dmaAddress;
  void either;
}

export function tables<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, tableA: SgTable<A, "from-device">): void {
  tableA.syncForCpu(devB);
  tableA.unmap(devB);
  unmapSg(devB, tableA, tableA.entries, "from-device");
  syncSgForCpu(devB, tableA, tableA.entries, "from-device");
  const tableB = mapSg(devB, kmalloc(devB, 4096), "from-device");
  unmapSg(devA, tableB, tableB.entries, "from-device");
}

export function pools<A, B>(devA: BoundDevice<A>, devB: BoundDevice<B>, poolA: DmaPool<A>, poolB: DmaPool<B>, blockB: PoolBlock<B>): void {
  const blockA = poolA.alloc(devB);
  blockB.bytes(devA);
  blockB.view(devA);
  poolA.free(devA, undefined, blockB.dmaHandle);
  poolB.free(devA, undefined, blockB.dmaHandle);
  const kept: PoolBlock<A> = blockB;
  void [blockA, kept];
}
