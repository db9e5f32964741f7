// Interrupts as drivers write them: MSI-X vectors with one handler each, a
// shared legacy line whose handler says whether its device raised it, a
// threaded handler whose thread part sleeps, with and without a hard part,
// and disable/enable/synchronize/free on the handles. Handlers written
// before IrqReturn, returning nothing or a number, still fit.
import { allocIrqVectors, defineDriver, iomap, requestIrq, sleep } from "boundscope";
import type { IoMapping, IrqDevice, IrqHandle, IrqHandler, IrqReturn, IrqThread, IrqVectors, ProbeDevice, TaskDevice } from "boundscope";

const STATUS = 0x10;

function shared<Scope>(regs: IoMapping<Scope>): IrqHandler<Scope> {
  return (dev: IrqDevice<Scope>): IrqReturn => {
    const status = regs.read32(dev, STATUS);
    if (status === 0) return "none";
    regs.write32(dev, STATUS, status);
    return "handled";
  };
}

function drain<Scope>(regs: IoMapping<Scope>): IrqThread<Scope> {
  return async (dev: TaskDevice<Scope>) => {
    while (regs.read32(dev, STATUS) !== 0) await sleep(dev, 1_000);
  };
}

let interrupts = 0;

export const nic = defineDriver({
  name: "irq-threaded",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const regs = iomap(dev, 0);
    const vectors: IrqVectors<Scope> = allocIrqVectors(dev, 2, 2, { msix: true });
    const rx: IrqHandle<Scope> = vectors.request(0, (irq) => regs.write32(irq, 0x0c, 1), { name: "rx" });
    vectors.request(1, () => "wake-thread", { thread: drain(regs) });
    requestIrq(dev, shared(regs), { shared: true });
    const counted = requestIrq(dev, () => interrupts++, { shared: true });
    const oneshot = requestIrq(dev, null, { thread: drain(regs), shared: true, oneshot: true });
    void counted;
    return {
      async remove() {
        rx.disable();
        await rx.synchronize();
        rx.enable();
        await oneshot.free();
        console.log(rx.irq, rx.count, vectors.count, vectors.kind, vectors.irq(1));
      },
    };
  },
});
