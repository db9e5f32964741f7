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
      setMaxSegmentSize(irq, 4096);
      setSegmentBoundary(irq, 0xffffn);
      createDmaPool(irq, "rx-desc", 16);
    });
    spawn(dev, async (task) => {
      setMaxSegmentSize(task, 4096);
      setSegmentBoundary(task, 0xffffn);
      createDmaPool(task, "rx-desc", 16);
    });
    return {};
  },
});

export function tune<Limits>(dev: BoundDevice<Limits>): void {
  setMaxSegmentSize(dev, 65536);
  setSegmentBoundary(dev, 0xffff_ffffn);
  createDmaPool(dev, "tx-desc", 16);
}
