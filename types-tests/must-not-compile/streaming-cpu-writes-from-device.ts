// Blocks: a CPU write into memory the device writes. bytes() of a CPU-owned
// from-device mapping is ReadonlyBytes: no index assignment; no `set`,
// `fill`, `copyWithin`, `reverse` or `sort`; a `subarray` of it read-only
// too; no `buffer` to make a writable view over; and not a Uint8Array. (Reading
// is fine. Writing through the buffer's own bytes(), or through a mutable
// index-signature alias, compiles: see
// must-compile/lets-through-kernel-buffer-writes-from-device.ts and
// lets-through-readonly-bytes-alias.ts.)
import { kmalloc, mapSingle } from "boundscope";
import type { BoundDevice, CpuOwnedFromDevice } from "boundscope";

export function receive<Rx>(dev: BoundDevice<Rx>): number {
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  const cpu = rx.syncForCpu(dev, 0, 60);
  const packet = cpu.bytes(dev);
  const type = (packet[12]! << 8) | packet[13]!;
  // @expect-error TS2339 /Property 'buffer' does not exist on type 'ReadonlyBytes'/ -- a writable view over the memory beneath
  new Uint8Array(packet.buffer)[0] = 0xff;
  // @expect-error TS2542 /Index signature in type 'ReadonlyBytes' only permits reading/ -- an index assignment
  packet[0] = 0xff;
  // @expect-error TS2339 /Property 'set' does not exist on type 'ReadonlyBytes'/ -- set
  packet.set([1, 2, 3]);
  // @expect-error TS2339 /Property 'fill' does not exist on type 'ReadonlyBytes'/ -- fill
  packet.fill(0);
  // @expect-error TS2339 /Property 'copyWithin' does not exist on type 'ReadonlyBytes'/ -- copyWithin
  packet.copyWithin(0, 6, 12);
  // @expect-error TS2339 /Property 'reverse' does not exist on type 'ReadonlyBytes'/ -- reverse, in place
  packet.reverse();
  // @expect-error TS2339 /Property 'sort' does not exist on type 'ReadonlyBytes'/ -- sort, in place
  packet.sort();
  // @expect-error TS2542 /Index signature in type 'ReadonlyBytes' only permits reading/ -- through a subarray, the same memory
  packet.subarray(14)[0] = 0;
  // @expect-error TS2339 /Property 'fill' does not exist on type 'ReadonlyBytes'/ -- fill on a subarray
  packet.subarray(0, 6).fill(0);
  cpu.unmap(dev);
  return type;
}

export function scrub<Rx>(dev: BoundDevice<Rx>, cpu: CpuOwnedFromDevice<Rx>): void {
  // @expect-error TS2740 /Type 'ReadonlyBytes' is missing the following properties from type 'Uint8Array(<ArrayBufferLike>)?': buffer, copyWithin, fill, reverse/ -- read-only bytes typed as a Uint8Array
  const bytes: Uint8Array = cpu.bytes(dev);
  bytes.fill(0);
}
