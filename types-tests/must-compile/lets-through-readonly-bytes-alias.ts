// Not refused: a writable alias of the read-only bytes a CPU-owned
// from-device mapping gives. ReadonlyBytes has no `set`, `fill`, index
// assignment, writable `subarray` or `buffer`, but TypeScript does not check
// `readonly` when one type is assigned to another, so a type with a mutable
// index signature (or a function taking one) takes it: the language's, not
// the library's. Not reported at run time: the write lands, as in
// lets-through-kernel-buffer-writes-from-device.ts.
import { kmalloc, mapSingle } from "boundscope";
import type { BoundDevice, ReadonlyBytes } from "boundscope";

function zero(bytes: { [index: number]: number }): void {
  bytes[0] = 0;
}

export function alias<Scope>(dev: BoundDevice<Scope>): void {
  const cpu = mapSingle(dev, kmalloc(dev, 1536), "from-device").syncForCpu(dev);
  const packet: ReadonlyBytes = cpu.bytes(dev);
  const writable: { [index: number]: number } = packet;
  writable[1] = 0xff;
  zero(packet);
  cpu.unmap(dev);
}
