// Blocks: a devres group smuggled out of its probe: parked in a variable of a
// concrete scope or of scope `unknown`, or opened with a token that is not in
// the core context (an interrupt handler's, a task's).
import { defineDriver, openDevresGroup, requestIrq, spawn } from "boundscope";
import type { DevresGroup } from "boundscope";

let parked: DevresGroup<"x"> | undefined;
let wide: DevresGroup<unknown> | undefined;

export const smuggler = defineDriver({
  name: "smuggler",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'DevresGroup<Scope>' is not assignable to type 'DevresGroup<"x">'/ -- parked in a concrete scope
    parked = openDevresGroup(dev);
    // @expect-error TS2322 /Type 'DevresGroup<Scope>' is not assignable to type 'DevresGroup<unknown>'/ -- parked with scope unknown
    wide = openDevresGroup(dev);
    spawn(dev, async (taskDev) => {
      // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'/ -- a task is not the core context
      openDevresGroup(taskDev);
    });
    requestIrq(dev, (irqDev) => {
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- an interrupt handler is not the core context
      openDevresGroup(irqDev);
    });
    void parked;
    void wide;
    return {};
  },
});
