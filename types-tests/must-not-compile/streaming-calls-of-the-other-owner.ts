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
  rx.bytes(dev);
  rx.syncForDevice(dev);
  const cmd = mapSingle(dev, kmalloc(dev, 64), "bidirectional");
  cmd.bytes(dev)[0] = 1;
  cmd.syncForDevice(dev, 0, 64);
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  tx.bytes(dev);
  tx.syncForDevice(dev);
  const cpu = rx.syncForCpu(dev);
  cpu.syncForCpu(dev);
  rx.unmap(dev);
}

export function relabel<Own>(
  deviceRx: DeviceOwnedFromDevice<Own>,
  cpuRx: CpuOwnedFromDevice<Own>,
  deviceCmd: DeviceOwnedBidirectional<Own>,
  cpuCmd: CpuOwnedBidirectional<Own>,
  tx: DeviceOwnedToDevice<Own>,
): void {
  const asCpu: CpuOwnedFromDevice<Own> = deviceRx;
  const asDevice: DeviceOwnedFromDevice<Own> = cpuRx;
  const writable: CpuOwnedBidirectional<Own> = cpuRx;
  const asRx: DeviceOwnedFromDevice<Own> = tx;
  const asCmd: DeviceOwnedBidirectional<Own> = deviceRx;
  void [asCpu, asDevice, writable, asRx, asCmd, deviceCmd, cpuCmd];
}
