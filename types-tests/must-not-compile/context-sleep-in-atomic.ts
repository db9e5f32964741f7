// Blocks: sleeping in atomic context. A hard IRQ handler's token (IrqDevice)
// and any AtomicDevice lack the sleepable brand, so sleep() and task.stop()
// refuse them, and vmalloc (which has no atomic form) refuses them too; a
// helper that sleeps must say so by taking a SleepableDevice, not a
// BoundDevice. An async accessor of the atomic tryAccessWith (Revocable,
// Devres) does not compile either: tryAccessAsync is the one that may sleep.
import { defineDriver, Devres, requestIrq, Revocable, sleep, spawn, vmalloc } from "boundscope";
import type { AtomicDevice, BoundDevice, IrqDevice, ProbeDevice } from "boundscope";

function settle<Scope>(dev: BoundDevice<Scope>): Promise<void> {
  // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'BoundDevice<Scope>'|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<Scope>'/ -- a helper that does not say it sleeps
  return sleep(dev, 1_000);
}

function ackAndWait<Scope>(dev: AtomicDevice<Scope>): Promise<void> {
  // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'AtomicDevice<Scope>'|Argument of type 'AtomicDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<Scope>'/ -- an AtomicDevice sleeps
  return sleep(dev, 1_000);
}

export const sleeper = defineDriver({
  name: "sleeper",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const task = spawn(dev, async (_task, signal) => signal.whenAborted);
    const stats = Devres.new(dev, { irqs: 0 });
    const regs = new Revocable(1);
    requestIrq(dev, (irq: IrqDevice<Scope>) => {
      // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'IrqDevice<Scope>'|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<Scope>'/ -- sleep() in a hard IRQ handler
      void sleep(irq, 1_000);
      // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'IrqDevice<Scope>'|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<Scope>'/ -- waiting on a task in a hard IRQ handler
      void task.stop(irq);
      // @expect-error TS2345 /Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'NotAtomicDevice<Scope>'[\s\S]*\[atomicContextMayNotSleep\]/ -- vmalloc in a hard IRQ handler
      vmalloc(irq, 4096).free();
      void ackAndWait(irq);
      void settle(irq);
    });
    // @expect-error TS2322 /Type 'Promise<number>' is not assignable to type '"a Revocable access must not sleep: make the accessor synchronous, or use tryAccessAsync"'/ -- an async Revocable access
    regs.tryAccessWith(async (v) => v + 1);
    // @expect-error TS2322 /Type 'Promise<void>' is not assignable to type '"a Revocable access must not sleep: make the accessor synchronous, or use tryAccessAsync"'/ -- a Devres access that awaits a sleep
    stats.tryAccessWith(async () => sleep(dev, 1_000));
    return {};
  },
});
