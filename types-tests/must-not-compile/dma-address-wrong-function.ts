// Blocks: giving a bus address back with another call than the one that made
// it (dma-debug's "frees DMA memory with wrong function"). A DmaAddress
// carries its kind: freeCoherent takes a "coherent" one, unmapSingle and the
// single syncs a "single" StreamingAddress, a pool's free a "pool" one.
import { allocCoherent, createDmaPool, freeCoherent, kmalloc, mapSg, mapSingle, syncSingleForCpu, syncSingleForDevice, unmapSingle } from "boundscope";
import type { BoundDevice, DmaAddress, DmaPool, ProbeDevice } from "boundscope";

export function wrong<Fn>(dev: ProbeDevice<Fn>): void {
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  // @expect-error TS2345 /Argument of type 'StreamingAddress<Fn, "to-device">' is not assignable to parameter of type 'DmaAddress<Fn, "coherent">'/ -- a streaming address freed with freeCoherent
  freeCoherent(dev, tx.dmaAddress);
  const ring = allocCoherent(dev, 4096);
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "coherent">' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- a coherent allocation's address unmapped with unmapSingle
  unmapSingle(dev, ring.dmaHandle, 4096, "bidirectional");
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "coherent">' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- or synced as a single mapping
  syncSingleForDevice(dev, ring.dmaHandle, 4096, "to-device");
  const pool = createDmaPool(dev, "desc", 16, 16);
  const block = pool.alloc(dev);
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "pool">' is not assignable to parameter of type 'DmaAddress<Fn, "coherent">'/ -- a pool block freed with freeCoherent
  freeCoherent(dev, block.dmaHandle, 16);
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "pool">' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- a pool block unmapped with unmapSingle
  unmapSingle(dev, block.dmaHandle, 16, "to-device");
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "coherent">' is not assignable to parameter of type 'DmaAddress<Fn, "pool">'/ -- a coherent allocation given back to a pool
  pool.free(dev, undefined, ring.dmaHandle);
  // @expect-error TS2345 /Argument of type 'StreamingAddress<Fn, "to-device">' is not assignable to parameter of type 'DmaAddress<Fn, "pool">'/ -- a streaming address given back to a pool
  pool.free(dev, undefined, tx.dmaAddress);
  const table = mapSg(dev, [kmalloc(dev, 12), kmalloc(dev, 1500)], "from-device");
  const segment = table.segments[0]!;
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "sg">' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- an sg segment unmapped with unmapSingle
  unmapSingle(dev, segment.dmaAddress, segment.length, "from-device");
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "sg">' is not assignable to parameter of type 'StreamingAddress<Fn, ("from-device" \| "bidirectional"|"bidirectional" \| "from-device")>'/ -- or synced as a single mapping
  syncSingleForCpu(dev, segment.dmaAddress, segment.length, "from-device");
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "sg">' is not assignable to parameter of type 'DmaAddress<Fn, "coherent">'/ -- an sg segment freed with freeCoherent
  freeCoherent(dev, segment.dmaAddress);
}

export function anyKind<Fn>(dev: BoundDevice<Fn>, address: DmaAddress<Fn>, pool: DmaPool<Fn>): void {
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn>' is not assignable to parameter of type 'DmaAddress<Fn, "coherent">'/ -- an address of any kind freed with freeCoherent
  freeCoherent(dev, address);
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn>' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- unmapped with unmapSingle
  unmapSingle(dev, address, 64, "to-device");
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn>' is not assignable to parameter of type 'DmaAddress<Fn, "pool">'/ -- given back to a pool
  pool.free(dev, undefined, address);
}

export function singleWithoutDirection<Fn>(dev: BoundDevice<Fn>, address: DmaAddress<Fn, "single">): void {
  // @expect-error TS2345 /Argument of type 'DmaAddress<Fn, "single">' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- a single mapping's address without its direction
  unmapSingle(dev, address, 64, "to-device");
}

export function madeUp<Fn>(dev: BoundDevice<Fn>): void {
  // @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'StreamingAddress<Fn, DataDirection>'/ -- a made-up bus address
  unmapSingle(dev, 0x1000n, 64, "to-device");
}
