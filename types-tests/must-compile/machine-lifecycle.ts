// The user's side of the run time: a machine, plug, register, unbind,
// unplug, and the reports; plain Device references held anywhere.
import { BoundscopeError, defineDriver, Machine, allocCoherent } from "boundscope";
import type { Device, DeviceState, Driver, DmaViolation, MemoryStats } from "boundscope";

const machine = new Machine({ memory: { bytes: 16 << 20, pageSize: 4096 }, iommu: "strict", dmaDebug: "report" });

const driver: Driver = defineDriver({
  name: "demo",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    allocCoherent(dev, 4096);
    return {};
  },
});

await machine.pci.register(driver);
const dev: Device = machine.pci.plug({ vendor: 0x1af4, device: 0x1000, name: "nic0" });
await machine.settled();
const state: DeviceState = dev.state;
const all: readonly Device[] = machine.pci.devices;
await machine.pci.unbind(dev);
await machine.pci.register(defineDriver({ name: "again", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe: () => ({}) }));
await machine.pci.unplug(dev);
await machine.pci.unregister(driver);

const stats: MemoryStats = machine.memory.stats();
const violations: readonly DmaViolation[] = machine.dmaDebug.violations;
try {
  await machine.pci.unplug(dev);
} catch (err) {
  if (err instanceof BoundscopeError) {
    const code: "ENXIO" | "EINVAL" | "ENOMEM" | "EPERM" | "EBUSY" | "ETIMEDOUT" = err.code;
    console.log(code, err.message);
  }
}
console.log(state, all.length, stats.bytesInUse, stats.highWater, violations.length);
