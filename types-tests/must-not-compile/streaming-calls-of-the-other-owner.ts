// Blocks: a call the mapping's owner does not allow. While the device owns a
// mapping the CPU has no `bytes` and no `syncForDevice`; once the CPU owns it,
// no second `syncForCpu`. And a handle of one state does not pass for the
// other, nor one direction's for another's.
import { kmalloc, mapSingle } from "boundscope";
import type {
  BoundDevice,
  CpuOwnedBidirectional,
  CpuOwnedFromDevice,
  DeviceOwnedBidirectional,
  DeviceOwnedFromDevice,
  DeviceOwnedToDevice,
} from "boundscope";

export function early<Own>(dev: BoundDevice<Own>): void {
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  // @expect-error TS2339 /Property 'bytes' does not exist on type 'DeviceOwnedFromDevice<Own>'/ -- the CPU's bytes while the device owns the mapping
  rx.bytes(dev);
  // @expect-error TS2339 /Property 'syncForDevice' does not exist on type 'DeviceOwnedFromDevice<Own>'/ -- a sync for the device the device owns already
  rx.syncForDevice(dev);
  const cmd = mapSingle(dev, kmalloc(dev, 64), "bidirectional");
  // @expect-error TS2339 /Property 'bytes' does not exist on type 'DeviceOwnedBidirectional<Own>'/ -- a CPU write while the device owns a bidirectional mapping
  cmd.bytes(dev)[0] = 1;
  // @expect-error TS2339 /Property 'syncForDevice' does not exist on type 'DeviceOwnedBidirectional<Own>'/ -- its sync for the device, twice
  cmd.syncForDevice(dev, 0, 64);
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  // @expect-error TS2339 /Property 'bytes' does not exist on type 'DeviceOwnedToDevice<Own>'/ -- the bytes of a to-device mapping
  tx.bytes(dev);
  // @expect-error TS2339 /Property 'syncForDevice' does not exist on type 'DeviceOwnedToDevice<Own>'/ -- a to-device mapping is the device's until unmapped
  tx.syncForDevice(dev);
  const cpu = rx.syncForCpu(dev);
  // @expect-error TS2339 /Property 'syncForCpu' does not exist on type 'CpuOwnedFromDevice<Own>'/ -- a sync for the CPU the CPU owns already
  cpu.syncForCpu(dev);
  cpu.unmap(dev);
}

export function relabel<Own>(
  deviceRx: DeviceOwnedFromDevice<Own>,
  cpuRx: CpuOwnedFromDevice<Own>,
  deviceCmd: DeviceOwnedBidirectional<Own>,
  cpuCmd: CpuOwnedBidirectional<Own>,
  tx: DeviceOwnedToDevice<Own>,
): void {
  // @expect-error TS2322 /Type 'DeviceOwnedFromDevice<Own>' is not assignable to type 'CpuOwnedFromDevice<Own>'/ -- a device-owned handle as a CPU-owned one
  const asCpu: CpuOwnedFromDevice<Own> = deviceRx;
  // @expect-error TS2322 /Type 'CpuOwnedFromDevice<Own>' is not assignable to type 'DeviceOwnedFromDevice<Own>'/ -- a CPU-owned handle as a device-owned one
  const asDevice: DeviceOwnedFromDevice<Own> = cpuRx;
  // @expect-error TS2322 /Type 'CpuOwnedFromDevice<Own>' is not assignable to type 'CpuOwnedBidirectional<Own>'/ -- a from-device mapping as a bidirectional one, to write it
  const writable: CpuOwnedBidirectional<Own> = cpuRx;
  // @expect-error TS2322 /Type 'DeviceOwnedToDevice<Own>' is not assignable to type 'DeviceOwnedFromDevice<Own>'/ -- a to-device mapping as a from-device one, to sync it for the CPU
  const asRx: DeviceOwnedFromDevice<Own> = tx;
  // @expect-error TS2322 /Type 'DeviceOwnedFromDevice<Own>' is not assignable to type 'DeviceOwnedBidirectional<Own>'/ -- a from-device mapping as a bidirectional one
  const asCmd: DeviceOwnedBidirectional<Own> = deviceRx;
  void [asCpu, asDevice, writable, asRx, asCmd, deviceCmd, cpuCmd];
}
