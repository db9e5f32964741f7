// Interrupt handlers and tasks use the binding's allocations, MMIO and devres
// with the token they are handed (IrqDevice, TaskDevice), directly and through
// helpers generic in the scope that take a BoundDevice; a task sleeps with
// its token; and the handler and the work may be written apart from probe,
// typed IrqHandler<Scope> and TaskWork<Scope>, or annotated with the
// context's type where the probe names its scope.
import { allocCoherent, defineDriver, defineStruct, Devres, iomap, requestIrq, sleep, spawn } from "boundscope";
import type { BoundDevice, CoherentAllocation, IoMapping, IrqDevice, IrqHandler, ProbeDevice, TaskDevice, TaskWork } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", status: "u32" });
type Stats = { polls: number; irqs: number };

function reap<Scope>(dev: BoundDevice<Scope>, ring: CoherentAllocation<Scope>, regs: IoMapping<Scope>): number {
  const done = Desc.get(ring.view(dev), 0, "status");
  regs.write32(dev, 0x0c, done);
  return done;
}

function onInterrupt<Scope>(ring: CoherentAllocation<Scope>, regs: IoMapping<Scope>): IrqHandler<Scope> {
  return (dev) => void reap(dev, ring, regs);
}

function poller<Scope>(regs: IoMapping<Scope>, stats: Devres<Scope, Stats>): TaskWork<Scope> {
  return async (dev, signal) => {
    while (!signal.aborted) {
      stats.access(dev).polls++;
      regs.read32(dev, 0x00);
      await sleep(dev, 1_000_000);
    }
  };
}

export const contexts = defineDriver({
  name: "contexts",
  ids: [{ vendor: 0x8086, device: 0x10d3 }],
  probe(dev) {
    const regs = iomap(dev, 0);
    const ring = allocCoherent(dev, Desc.size * 64);
    const initial: Stats = { polls: 0, irqs: 0 };
    const stats = Devres.new(dev, initial);
    const reapOnIrq = onInterrupt(ring, regs);
    requestIrq(dev, (irq) => {
      stats.access(irq).irqs++;
      ring.bytes(irq)[0] = 1;
      regs.write8(irq, 0x0c, 1);
      reapOnIrq(irq);
    });
    spawn(dev, poller(regs, stats));
    spawn(dev, async (task, signal) => {
      await Promise.race([signal.whenAborted, sleep(task, 5_000)]);
      Desc.write(ring.view(task), 1, { addr: ring.dmaHandle, len: 64 });
      reap(task, ring, regs);
    });
    return { remove: (d) => void reap(d, ring, regs) };
  },
});

export const annotated = defineDriver({
  name: "annotated",
  ids: [{ vendor: 0x8086, device: 0x10d4 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const regs = iomap(dev, 0);
    requestIrq(dev, (irq: IrqDevice<Scope>) => regs.write32(irq, 0x0c, 1));
    spawn(dev, async (task: TaskDevice<Scope>) => void regs.read32(task, 0x00));
    return {};
  },
});
