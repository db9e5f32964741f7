// Helpers generic in the scope, and in the direction: over DeviceOwned<S, D>
// they use the members every state and direction has (`unmap`, `size`,
// `state`, `bounced`, `buffer`), and with D limited to from-device and
// bidirectional, `syncForCpu` too; over StreamingMapping<S, D> and
// SgMapping<S, D>, called with concrete handles, they have the address and
// direction typed by D as well; the kernel-style sg calls take a
// SgTable<S, D> | CpuOwnedSgTable<S, D>. What they cannot have over DeviceOwned<S, D>:
// must-not-compile/false-positive-generic-direction.ts.
import { createDmaPool, defineDriver, kmalloc, mapSg, mapSingle, unmapSg, unmapSingle } from "boundscope";
import type {
  BoundDevice,
  CpuOwnedSgTable,
  DataDirection,
  DeviceOwned,
  DmaAddress,
  DmaPool,
  KernelBuffer,
  PoolBlock,
  ProbeDevice,
  SgMapping,
  SgTable,
  StreamingAddress,
  StreamingMapping,
} from "boundscope";

export function release<S, D extends DataDirection>(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): KernelBuffer {
  if (mapping.state !== "unmapped") mapping.unmap(dev);
  const bytes: number = mapping.size;
  const bounced: boolean = mapping.bounced;
  void [bytes, bounced];
  return mapping.buffer;
}

export function peek<S, D extends "from-device" | "bidirectional">(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): number {
  const cpu = mapping.syncForCpu(dev, 0, 1);
  const first = cpu.bytes(dev)[0]!;
  cpu.unmap(dev);
  return first;
}

export function byAddress<S, D extends DataDirection>(dev: BoundDevice<S>, mapping: StreamingMapping<S, D>): StreamingAddress<S, D> {
  const address: StreamingAddress<S, D> = mapping.dmaAddress;
  const direction: D = mapping.direction;
  unmapSingle(dev, address, mapping.size, direction);
  return address;
}

export function sgBytes<S, D extends DataDirection>(dev: BoundDevice<S>, table: SgMapping<S, D>): number {
  const bytes = table.segments.reduce((n, s) => n + s.length, 0);
  const direction: D = table.direction;
  if (table.state !== "unmapped") table.unmap(dev);
  void direction;
  return bytes;
}

export function sgRelease<S, D extends DataDirection>(dev: BoundDevice<S>, table: SgTable<S, D> | CpuOwnedSgTable<S, D>): void {
  unmapSg(dev, table, table.entries, table.direction);
}

export function firstSegment<S, D extends DataDirection>(table: SgMapping<S, D>): DmaAddress<S> {
  return table.segments[0]!.dmaAddress;
}

export function ring<S>(dev: BoundDevice<S>, pool: DmaPool<S>, count: number): PoolBlock<S>[] {
  return Array.from({ length: count }, () => pool.alloc(dev));
}

export function addresses<S>(blocks: readonly PoolBlock<S>[]): DmaAddress<S, "pool">[] {
  return blocks.map((b) => b.dmaHandle);
}

export const generic = defineDriver({
  name: "generic-streaming",
  ids: [{ vendor: 0x1d0f, device: 0xec20 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    release(dev, mapSingle(dev, kmalloc(dev, 64), "to-device"));
    release(dev, mapSingle(dev, kmalloc(dev, 64), "from-device").syncForCpu(dev).syncForDevice(dev));
    peek(dev, mapSingle(dev, kmalloc(dev, 64), "from-device"));
    peek(dev, mapSingle(dev, kmalloc(dev, 64), "bidirectional"));
    const tx: StreamingAddress<Scope, "to-device"> = byAddress(dev, mapSingle(dev, kmalloc(dev, 64), "to-device"));
    byAddress(dev, mapSingle(dev, kmalloc(dev, 64), "from-device").syncForCpu(dev));
    const table = mapSg(dev, [kmalloc(dev, 64), kmalloc(dev, 64)], "from-device");
    const first = firstSegment(table);
    sgBytes(dev, table);
    sgBytes(dev, mapSg(dev, kmalloc(dev, 64), "bidirectional").syncForCpu(dev));
    sgRelease(dev, mapSg(dev, kmalloc(dev, 64), "to-device"));
    sgRelease(dev, mapSg(dev, kmalloc(dev, 64), "from-device").syncForCpu(dev));
    const pool = createDmaPool(dev, "desc", 16);
    const blocks = ring(dev, pool, 4);
    const handles = addresses(blocks);
    for (const b of blocks) b.free();
    void [tx, first, handles];
    return {};
  },
});
