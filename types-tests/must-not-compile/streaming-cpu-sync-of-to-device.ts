// Blocks: a sync for the CPU of a to-device mapping, which the device only
// reads: `syncForCpu` on a DeviceOwnedToDevice handle (it has only `unmap`),
// the kernel-style syncSingleForCpu with a to-device StreamingAddress (its
// direction is from-device or bidirectional), and a CPU-owned state of a
// to-device mapping, which does not exist.
import { kmalloc, mapSingle, syncSingleForCpu } from "boundscope";
import type { BoundDevice, CpuOwned, DeviceOwnedToDevice, StreamingAddress } from "boundscope";

export function transmit<Tx>(dev: BoundDevice<Tx>): void {
  const frame = kmalloc(dev, 60);
  const tx = mapSingle(dev, frame, "to-device");
  tx.syncForCpu(dev);
  tx.unmap(dev);
}

export function reclaim<Tx>(dev: BoundDevice<Tx>, tx: DeviceOwnedToDevice<Tx>): void {
  const again = tx.syncForCpu(dev, 0, 60);
  void again;
}

export function kernelStyle<Tx>(dev: BoundDevice<Tx>, address: StreamingAddress<Tx, "to-device">): void {
  syncSingleForCpu(dev, address, 60, "to-device");
  syncSingleForCpu(dev, address, 60, "from-device");
}

export type NoCpuState<Tx> = CpuOwned<Tx, "to-device">;
