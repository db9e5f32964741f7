// Blocks: a CPU write into memory the device writes. bytes() of a CPU-owned
// from-device mapping is ReadonlyBytes: no index assignment, and no `set`,
// `fill`, `copyWithin`, `reverse` or `sort`. (Reading is fine; writing through
// the buffer's own bytes() compiles: see
// must-compile/lets-through-buffer-bytes-while-mapped.ts.)
import { kmalloc, mapSingle } from "boundscope";
import type { BoundDevice, CpuOwnedFromDevice } from "boundscope";

export function receive<Rx>(dev: BoundDevice<Rx>): number {
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  const cpu = rx.syncForCpu(dev, 0, 60);
  const packet = cpu.bytes(dev);
  const type = (packet[12]! << 8) | packet[13]!;
  packet[0] = 0xff;
  packet.set([1, 2, 3]);
  packet.fill(0);
  packet.copyWithin(0, 6, 12);
  packet.reverse();
  packet.sort();
  cpu.unmap(dev);
  return type;
}

export function scrub<Rx>(dev: BoundDevice<Rx>, cpu: CpuOwnedFromDevice<Rx>): void {
  const bytes: Uint8Array = cpu.bytes(dev);
  bytes.fill(0);
}
