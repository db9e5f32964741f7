// Blocks: giving a bus address back with another call than the one that made
// it (dma-debug's "frees DMA memory with wrong function"). A DmaAddress
// carries its kind: freeCoherent takes a "coherent" one, unmapSingle and the
// single syncs a "single" StreamingAddress, a pool's free a "pool" one.
import { allocCoherent, createDmaPool, freeCoherent, kmalloc, mapSg, mapSingle, syncSingleForCpu, syncSingleForDevice, unmapSingle } from "boundscope";
import type { BoundDevice, DmaAddress, DmaPool, ProbeDevice } from "boundscope";

export function wrong<Fn>(dev: ProbeDevice<Fn>): void {
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  freeCoherent(dev, tx.dmaAddress);
  const ring = allocCoherent(dev, 4096);
  unmapSingle(dev, ring.dmaHandle, 4096, "bidirectional");
  syncSingleForDevice(dev, ring.dmaHandle, 4096, "to-device");
  const pool = createDmaPool(dev, "desc", 16, 16);
  const block = pool.alloc(dev);
  freeCoherent(dev, block.dmaHandle, 16);
  unmapSingle(dev, block.dmaHandle, 16, "to-device");
  pool.free(dev, undefined, ring.dmaHandle);
  pool.free(dev, undefined, tx.dmaAddress);
  const table = mapSg(dev, [kmalloc(dev, 12), kmalloc(dev, 1500)], "from-device");
  const segment = table.segments[0]!;
  unmapSingle(dev, segment.dmaAddress, segment.length, "from-device");
  syncSingleForCpu(dev, segment.dmaAddress, segment.length, "from-device");
  freeCoherent(dev, segment.dmaAddress);
}

export function anyKind<Fn>(dev: BoundDevice<Fn>, address: DmaAddress<Fn>, pool: DmaPool<Fn>): void {
  freeCoherent(dev, address);
  unmapSingle(dev, address, 64, "to-device");
  pool.free(dev, undefined, address);
}

export function singleWithoutDirection<Fn>(dev: BoundDevice<Fn>, address: DmaAddress<Fn, "single">): void {
  unmapSingle(dev, address, 64, "to-device");
}

export function madeUp<Fn>(dev: BoundDevice<Fn>): void {
  unmapSingle(dev, 0x1000n, 64, "to-device");
}
