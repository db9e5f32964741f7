// Blocks: parking an MMIO mapping, an IRQ handle or a task outside probe() in
// a variable of a concrete scope or of `unknown`, to use it after unbind.
import { defineDriver, iomap, requestIrq, spawn } from "boundscope";
import type { IoMapping, IrqHandle, Task } from "boundscope";

let regs: IoMapping<unknown> | undefined;
let irq: IrqHandle<"x"> | undefined;
let task: Task<unknown> | undefined;

export const leaky = defineDriver({
  name: "leaky",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'IoMapping<Scope>' is not assignable to type 'IoMapping<unknown>'/ -- a mapping widened to unknown
    regs = iomap(dev, 0);
    // @expect-error TS2322 /Type 'IrqHandle<Scope>' is not assignable to type 'IrqHandle<"x">'/ -- an IRQ handle into a concrete-scope variable
    irq = requestIrq(dev, () => {});
    // @expect-error TS2322 /Type 'Task<Scope>' is not assignable to type 'Task<unknown>'/ -- a task widened to unknown
    task = spawn(dev, async () => {});
    return {};
  },
});

void [regs, irq, task];
