// Blocks: hardware set-up (iomap, requestIrq, spawn, enableBusMaster) through
// a BoundDevice, i.e. from code that was not handed the core context by
// probe()/remove(): a helper, an interrupt handler, a task. Once missing
// methods; now the set-up functions take ProbeDevice, and neither a
// BoundDevice nor the IrqDevice and TaskDevice contexts carry its brand.
import { defineDriver, enableBusMaster, iomap, requestIrq, spawn } from "boundscope";
import type { BoundDevice } from "boundscope";

function setUp<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a helper given only the token
  iomap(dev, 0);
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a helper given only the token
  requestIrq(dev, () => {});
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a helper given only the token
  spawn(dev, async () => {});
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a helper given only the token
  enableBusMaster(dev);
}

export const driver = defineDriver({
  name: "late-setup",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    setUp(dev);
    spawn(dev, async (dev) => {
      // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'TaskDevice<Scope>'|Argument of type 'TaskDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- a task mapping a BAR
      iomap(dev, 0);
    });
    requestIrq(dev, (dev) => {
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- an interrupt handler spawning work
      spawn(dev, async () => {});
    });
    return {};
  },
});
