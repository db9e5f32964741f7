// Where sleeping is allowed it compiles: sleep in probe, in remove and in a
// task, through helpers that take a SleepableDevice; task.stop in remove;
// vmalloc through a NotAtomicDevice helper from probe and from a task; the
// non-sleeping allocations ("atomic", GFP_ATOMIC) in a hard IRQ handler,
// directly and through a BoundDevice helper; a synchronous Revocable and
// Devres access anywhere, and tryAccessAsync, which may sleep.
import { allocCoherent, createDmaPool, defineDriver, Devres, kmalloc, requestIrq, Revocable, sleep, spawn, vmalloc } from "boundscope";
import type { BoundDevice, Gfp, IrqDevice, KernelBuffer, NotAtomicDevice, ProbeDevice, SleepableDevice, TaskDevice } from "boundscope";

async function settle<Scope>(dev: SleepableDevice<Scope>): Promise<void> {
  await sleep(dev, 10_000);
}

function log<Scope>(dev: NotAtomicDevice<Scope>): KernelBuffer<"vmalloc"> {
  return vmalloc(dev, 4 * 4096);
}

function frame<Scope>(dev: BoundDevice<Scope>, gfp: Gfp): KernelBuffer<"kmalloc"> {
  return kmalloc(dev, 60, gfp);
}

export const sleepy = defineDriver({
  name: "sleepy",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  async probe<Scope>(dev: ProbeDevice<Scope>) {
    await sleep(dev, 1_000);
    await settle(dev);
    log(dev).free();
    frame(dev, "kernel").free();
    const ring = allocCoherent(dev, 4096);
    const pool = createDmaPool(dev, "desc", 16, 16);
    const stats = Devres.new(dev, { irqs: 0 });
    const window = new Revocable({ base: 0x1000 });
    const poller = spawn(dev, async (task: TaskDevice<Scope>, signal) => {
      while (!signal.aborted) await settle(task);
      log(task).free();
      kmalloc(task, 64).free();
    });
    requestIrq(dev, (irq: IrqDevice<Scope>) => {
      kmalloc(irq, 64, "atomic").free();
      allocCoherent(irq, 64, "atomic").free();
      pool.alloc(irq, "atomic").free();
      frame(irq, "atomic").free();
      stats.tryAccessWith((s) => s.irqs++);
      const base: number | undefined = window.tryAccessWith((w) => w.base);
      void base;
      void ring.bytes(irq);
    });
    const packets: number | undefined = await stats.tryAccessAsync(async (s) => {
      await settle(dev);
      return s.irqs;
    });
    void packets;
    return {
      async remove(dev: ProbeDevice<Scope>) {
        await poller.stop(dev);
        await sleep(dev, 1_000);
      },
    };
  },
});
