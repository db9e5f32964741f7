// Blocks: a kernel-style unmap or sync that names another direction than the
// mapping's (dma-debug's "device driver frees DMA memory with different
// direction"). A StreamingAddress carries its direction, and an sg table its
// own, and the direction argument does not take part in inference (NoInfer),
// so it must be the mapped one. An address that may be either of two
// mappings of different directions is refused too (the price:
// false-positive-runtime-direction.ts).
import { kmalloc, mapSg, mapSingle, syncSgForCpu, syncSgForDevice, syncSingleForCpu, syncSingleForDevice, unmapSg, unmapSingle } from "boundscope";
import type { BoundDevice, CpuOwnedSgTable, SgTable, StreamingAddress } from "boundscope";

export function single<Dir>(dev: BoundDevice<Dir>): void {
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  unmapSingle(dev, tx.dmaAddress, 60, "from-device");
  unmapSingle(dev, tx.dmaAddress, 60, "bidirectional");
  syncSingleForDevice(dev, tx.dmaAddress, 60, "bidirectional");
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  syncSingleForCpu(dev, rx.dmaAddress, 1536, "bidirectional");
  syncSingleForDevice(dev, rx.dmaAddress, 1536, "to-device");
  unmapSingle(dev, rx.dmaAddress, 1536, "to-device");
}

export function either<Dir>(dev: BoundDevice<Dir>, cond: boolean): void {
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  const rx = mapSingle(dev, kmalloc(dev, 60), "from-device");
  const address = cond ? tx.dmaAddress : rx.dmaAddress;
  unmapSingle(dev, address, 60, "to-device");
}

export function kept<Dir>(dev: BoundDevice<Dir>, rx: StreamingAddress<Dir, "from-device">, cmd: StreamingAddress<Dir, "bidirectional">): void {
  unmapSingle(dev, rx, 1536, "bidirectional");
  syncSingleForCpu(dev, cmd, 64, "from-device");
  unmapSingle<Dir, "to-device">(dev, rx, 1536, "to-device");
  const relabeled: StreamingAddress<Dir, "to-device"> = rx;
  void relabeled;
}

export function scattered<Dir>(dev: BoundDevice<Dir>, rx: SgTable<Dir, "from-device">, cpu: CpuOwnedSgTable<Dir, "bidirectional">): void {
  const tx = mapSg(dev, [kmalloc(dev, 12), kmalloc(dev, 1500)], "to-device");
  unmapSg(dev, tx, tx.entries, "from-device");
  syncSgForDevice(dev, tx, tx.entries, "bidirectional");
  syncSgForCpu(dev, rx, rx.entries, "bidirectional");
  unmapSg(dev, rx, rx.entries, "to-device");
  syncSgForDevice(dev, cpu, cpu.entries, "from-device");
}
