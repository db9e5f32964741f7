// Not refused: a CPU write into memory the device writes, through the
// KernelBuffer itself. A CPU-owned from-device mapping's bytes() is
// read-only (must-not-compile/streaming-cpu-writes-from-device.ts), but the
// buffer behind it (`cpu.buffer`, an sg table's `buffers`) hands out a
// plain Uint8Array: a KernelBuffer is unscoped CPU memory, and its bytes()
// is how the kernel-style calls read what the device wrote, so it cannot be
// read-only in the types while a mapping exists. Not reported at run time
// either: the write lands while the CPU owns the memory, and on a
// non-coherent machine or a bounced mapping it is lost at the next sync for
// the device, as on hardware (StreamMap.sync in src/sim/dma-map.ts drops the
// CPU's lines of from-device memory).
import { kmalloc, mapSg, mapSingle } from "boundscope";
import type { BoundDevice } from "boundscope";

export function scribble<Scope>(dev: BoundDevice<Scope>): void {
  const cpu = mapSingle(dev, kmalloc(dev, 1536), "from-device").syncForCpu(dev);
  cpu.buffer.bytes()[0] = 0xff;
  cpu.buffer.view().setUint32(4, 0, true);
  const table = mapSg(dev, [kmalloc(dev, 512), kmalloc(dev, 512)], "from-device").syncForCpu(dev);
  table.buffers[1]!.bytes().fill(0);
  cpu.syncForDevice(dev).unmap(dev);
  table.unmap(dev);
}
