// Not refused: an async hard IRQ handler. IrqHandler returns `void`, which
// admits any result (so that `() => count++` fits), a Promise included; an
// async handler awaits in atomic context. Caught at run time by the
// atomic-context check: a `sleep-in-atomic` violation ("the IRQ handler
// returned a promise"), thrown in dmaDebug "throw" mode (logged as
// irq-failed). Move the async part to a threaded handler or a task.
import { defineDriver, iomap, requestIrq } from "boundscope";

export const asyncHandler = defineDriver({
  name: "async-handler",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const regs = iomap(dev, 0);
    requestIrq(dev, async (irq) => {
      await Promise.resolve();
      regs.write32(irq, 0x0c, 1);
    });
    return {};
  },
});
