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
  // @expect-error TS2339 /Property 'syncForCpu' does not exist on type 'DeviceOwnedToDevice<Tx>'/ -- a to-device handle has no sync for the CPU
  tx.syncForCpu(dev);
  tx.unmap(dev);
}

export function reclaim<Tx>(dev: BoundDevice<Tx>, tx: DeviceOwnedToDevice<Tx>): void {
  // @expect-error TS2339 /Property 'syncForCpu' does not exist on type 'DeviceOwnedToDevice<Tx>'/ -- nor one passed in, with a range
  const again = tx.syncForCpu(dev, 0, 60);
  void again;
}

export function kernelStyle<Tx>(dev: BoundDevice<Tx>, address: StreamingAddress<Tx, "to-device">): void {
  // @expect-error TS2345 /Argument of type 'StreamingAddress<Tx, "to-device">' is not assignable to parameter of type 'StreamingAddress<Tx, ("from-device" \| "bidirectional"|"bidirectional" \| "from-device")>'/ -- syncSingleForCpu of a to-device address, naming its direction
  syncSingleForCpu(dev, address, 60, "to-device");
  // @expect-error TS2345 /Argument of type 'StreamingAddress<Tx, "to-device">' is not assignable to parameter of type 'StreamingAddress<Tx, ("from-device" \| "bidirectional"|"bidirectional" \| "from-device")>'/ -- or claiming another
  syncSingleForCpu(dev, address, 60, "from-device");
}

// @expect-error TS2344 /Type '"to-device"' does not satisfy the constraint '("from-device" \| "bidirectional"|"bidirectional" \| "from-device")'/ -- no CPU-owned state of a to-device mapping
export type NoCpuState<Tx> = CpuOwned<Tx, "to-device">;
