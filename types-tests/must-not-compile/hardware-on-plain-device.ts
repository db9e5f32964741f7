// Blocks: MMIO, interrupts and spawned work through a plain Device (from plug
// or the bus's device list), which grants nothing: no hardware set-up, and no
// access through a mapping. Once missing methods on Device; now the set-up
// functions take the core context, whose brands a Device lacks.
import { enableBusMaster, iomap, Machine, requestIrq, spawn } from "boundscope";
import type { Device, IoMapping } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])|Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- mapping a BAR of a device with no driver
iomap(dev, 0);
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])|Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- an IRQ for a device with no driver
requestIrq(dev, () => {});
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])|Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- work bound to no binding
spawn(dev, async () => {});
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])|Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- DMA for a device with no driver
enableBusMaster(dev);

export function poke<Scope>(plain: Device, regs: IoMapping<Scope>): number {
  // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<Scope>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<Scope>'/ -- a mapping read with a plain Device
  return regs.read32(plain, 0);
}
