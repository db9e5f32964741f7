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
  // @expect-error TS2345 /Argument of type '"from-device"' is not assignable to parameter of type '"to-device"'/ -- a to-device mapping unmapped as from-device
  unmapSingle(dev, tx.dmaAddress, 60, "from-device");
  // @expect-error TS2345 /Argument of type '"bidirectional"' is not assignable to parameter of type '"to-device"'/ -- a to-device mapping unmapped as bidirectional
  unmapSingle(dev, tx.dmaAddress, 60, "bidirectional");
  // @expect-error TS2345 /Argument of type '"bidirectional"' is not assignable to parameter of type '"to-device"'/ -- a to-device mapping synced for the device as bidirectional
  syncSingleForDevice(dev, tx.dmaAddress, 60, "bidirectional");
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  // @expect-error TS2345 /Argument of type '"bidirectional"' is not assignable to parameter of type '"from-device"'/ -- a from-device mapping synced for the CPU as bidirectional
  syncSingleForCpu(dev, rx.dmaAddress, 1536, "bidirectional");
  // @expect-error TS2345 /Argument of type '"to-device"' is not assignable to parameter of type '"from-device"'/ -- a from-device mapping synced for the device as to-device
  syncSingleForDevice(dev, rx.dmaAddress, 1536, "to-device");
  // @expect-error TS2345 /Argument of type '"to-device"' is not assignable to parameter of type '"from-device"'/ -- a from-device mapping unmapped as to-device
  unmapSingle(dev, rx.dmaAddress, 1536, "to-device");
}

export function either<Dir>(dev: BoundDevice<Dir>, cond: boolean): void {
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  const rx = mapSingle(dev, kmalloc(dev, 60), "from-device");
  const address = cond ? tx.dmaAddress : rx.dmaAddress;
  // @expect-error TS2345 /Argument of type 'StreamingAddress<Dir, "(to|from)-device"> \| StreamingAddress<.*' is not assignable to parameter of type 'StreamingAddress<Dir, ("to-device" \| "from-device"|"from-device" \| "to-device")>'/ -- an address of either direction, unmapped as one of them
  unmapSingle(dev, address, 60, "to-device");
}

export function kept<Dir>(dev: BoundDevice<Dir>, rx: StreamingAddress<Dir, "from-device">, cmd: StreamingAddress<Dir, "bidirectional">): void {
  // @expect-error TS2345 /Argument of type '"bidirectional"' is not assignable to parameter of type '"from-device"'/ -- a kept from-device address unmapped as bidirectional
  unmapSingle(dev, rx, 1536, "bidirectional");
  // @expect-error TS2345 /Argument of type '"from-device"' is not assignable to parameter of type '"bidirectional"'/ -- a bidirectional address synced as from-device
  syncSingleForCpu(dev, cmd, 64, "from-device");
  // @expect-error TS2345 /Argument of type 'StreamingAddress<Dir, "from-device">' is not assignable to parameter of type 'StreamingAddress<Dir, "to-device">'/ -- the direction forced by an explicit type argument
  unmapSingle<Dir, "to-device">(dev, rx, 1536, "to-device");
  // @expect-error TS2322 /Type 'StreamingAddress<Dir, "from-device">' is not assignable to type 'StreamingAddress<Dir, "to-device">'/ -- an address relabeled with another direction
  const relabeled: StreamingAddress<Dir, "to-device"> = rx;
  void relabeled;
}

export function scattered<Dir>(dev: BoundDevice<Dir>, rx: SgTable<Dir, "from-device">, cpu: CpuOwnedSgTable<Dir, "bidirectional">): void {
  const tx = mapSg(dev, [kmalloc(dev, 12), kmalloc(dev, 1500)], "to-device");
  // @expect-error TS2345 /Argument of type '"from-device"' is not assignable to parameter of type '"to-device"'/ -- a to-device sg table unmapped as from-device
  unmapSg(dev, tx, tx.entries, "from-device");
  // @expect-error TS2345 /Argument of type '"bidirectional"' is not assignable to parameter of type '"to-device"'/ -- a to-device sg table synced as bidirectional
  syncSgForDevice(dev, tx, tx.entries, "bidirectional");
  // @expect-error TS2345 /Argument of type '"bidirectional"' is not assignable to parameter of type '"from-device"'/ -- a from-device sg table synced for the CPU as bidirectional
  syncSgForCpu(dev, rx, rx.entries, "bidirectional");
  // @expect-error TS2345 /Argument of type '"to-device"' is not assignable to parameter of type '"from-device"'/ -- a from-device sg table unmapped as to-device
  unmapSg(dev, rx, rx.entries, "to-device");
  // @expect-error TS2345 /Argument of type '"from-device"' is not assignable to parameter of type '"bidirectional"'/ -- a CPU-owned bidirectional table synced as from-device
  syncSgForDevice(dev, cpu, cpu.entries, "from-device");
}
