// Blocks: MMIO, interrupts and spawned work through a plain Device (from plug
// or the bus's device list), which grants nothing: no hardware set-up, and no
// access through a mapping.
import { enableBusMaster, iomap, Machine, requestIrq, spawn } from "boundscope";
import type { Device, IoMapping } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });

// @expect-error TS2339 /Property 'iomap' does not exist on type 'Device'/ -- mapping a BAR of a device with no driver
iomap(dev, 0);
// @expect-error TS2339 /Property 'requestIrq' does not exist on type 'Device'/ -- an IRQ for a device with no driver
requestIrq(dev, () => {});
// @expect-error TS2339 /Property 'spawn' does not exist on type 'Device'/ -- work bound to no binding
spawn(dev, async () => {});
// @expect-error TS2339 /Property 'enableBusMaster' does not exist on type 'Device'/ -- DMA for a device with no driver
enableBusMaster(dev);

export function poke<Scope>(plain: Device, regs: IoMapping<Scope>): number {
  // @expect-error TS2345 ts7=TS2741 /Property '\[tokenBrand\]' is missing in type 'Device'/ -- a mapping read with a plain Device
  return regs.read32(plain, 0);
}
