// Blocks: PCI operations in a context that does not allow them. A hard IRQ
// handler's IrqDevice cannot reset the function or poll with sleeps (both
// sleep), and neither it nor a task's TaskDevice can enable or disable the
// device (core-only).
import { defineDriver, pciDisableDevice, pciEnableDevice, pcimEnableDevice, pciReadConfigDword, pciResetFunction, readPollTimeout, requestIrq, spawn } from "boundscope";

export const driver = defineDriver({
  name: "pci-contexts",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    requestIrq(dev, (irq) => {
      void pciReadConfigDword(irq, 0);
      // @expect-error TS2345 ts7=TS2741 /'IrqDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<unknown>'|Property '\[sleepableContext\]' is missing in type 'IrqDevice<Scope>'/ -- a function-level reset sleeps 100 ms: not in a hard handler
      void pciResetFunction(irq);
      // @expect-error TS2345 ts7=TS2741 /'IrqDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<unknown>'|Property '\[sleepableContext\]' is missing in type 'IrqDevice<Scope>'/ -- a sleeping poll in a hard handler
      void readPollTimeout(irq, () => 0, (v) => v === 1, { sleepNs: 1_000, timeoutNs: 10_000 });
      // @expect-error TS2345 ts7=TS2739 /'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'|is missing the following properties from type 'ProbeDevice<unknown>'/ -- enabling the device is core-only
      pciEnableDevice(irq);
    });
    spawn(dev, async (task) => {
      await pciResetFunction(task);
      // @expect-error TS2345 ts7=TS2741 /'TaskDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'|Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'/ -- pcimEnableDevice from a task
      pcimEnableDevice(task);
      // @expect-error TS2345 ts7=TS2741 /'TaskDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'|Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'/ -- pciDisableDevice from a task
      pciDisableDevice(task);
    });
    return {};
  },
});
