// Blocks: the device's segment limits and a DMA pool set up outside the core
// context: setMaxSegmentSize, setSegmentBoundary and createDmaPool take a
// ProbeDevice, which an interrupt handler's IrqDevice, a task's TaskDevice
// and a helper's BoundDevice are not. (kmalloc and mapping take any context:
// see must-compile/streaming-in-handlers.ts.)
import { createDmaPool, defineDriver, requestIrq, setMaxSegmentSize, setSegmentBoundary, spawn } from "boundscope";
import type { BoundDevice } from "boundscope";

export const driver = defineDriver({
  name: "late-limits",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    requestIrq(dev, (irq) => {
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- setMaxSegmentSize in interrupt context
      setMaxSegmentSize(irq, 4096);
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- setSegmentBoundary in interrupt context
      setSegmentBoundary(irq, 0xffffn);
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- createDmaPool in interrupt context
      createDmaPool(irq, "rx-desc", 16);
    });
    spawn(dev, async (task) => {
      // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'|Argument of type 'TaskDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- setMaxSegmentSize in a task
      setMaxSegmentSize(task, 4096);
      // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'|Argument of type 'TaskDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- setSegmentBoundary in a task
      setSegmentBoundary(task, 0xffffn);
      // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'|Argument of type 'TaskDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- createDmaPool in a task
      createDmaPool(task, "rx-desc", 16);
    });
    return {};
  },
});

export function tune<Limits>(dev: BoundDevice<Limits>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Limits>' is missing the following properties from type 'ProbeDevice<Limits>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Limits>' is not assignable to parameter of type 'ProbeDevice<Limits>'/ -- setMaxSegmentSize from a helper given only the token
  setMaxSegmentSize(dev, 65536);
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Limits>' is missing the following properties from type 'ProbeDevice<Limits>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Limits>' is not assignable to parameter of type 'ProbeDevice<Limits>'/ -- setSegmentBoundary from the helper
  setSegmentBoundary(dev, 0xffff_ffffn);
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Limits>' is missing the following properties from type 'ProbeDevice<Limits>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Limits>' is not assignable to parameter of type 'ProbeDevice<Limits>'/ -- createDmaPool from the helper
  createDmaPool(dev, "tx-desc", 16);
}
