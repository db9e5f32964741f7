// Blocks: hardware set-up (iomap, requestIrq, spawn, enableBusMaster) through
// a BoundDevice, i.e. from code that was not handed the core context by
// probe()/remove(): a helper, an interrupt handler, a task.
import { defineDriver, enableBusMaster, iomap, requestIrq, spawn } from "boundscope";
import type { BoundDevice } from "boundscope";

function setUp<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2339 /Property 'iomap' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  iomap(dev, 0);
  // @expect-error TS2339 /Property 'requestIrq' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  requestIrq(dev, () => {});
  // @expect-error TS2339 /Property 'spawn' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  spawn(dev, async () => {});
  // @expect-error TS2339 /Property 'enableBusMaster' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  enableBusMaster(dev);
}

export const driver = defineDriver({
  name: "late-setup",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    setUp(dev);
    spawn(dev, async (dev) => {
      // @expect-error TS2339 /Property 'iomap' does not exist on type 'BoundDevice<Scope>'/ -- a task mapping a BAR
      iomap(dev, 0);
    });
    requestIrq(dev, (dev) => {
      // @expect-error TS2339 /Property 'spawn' does not exist on type 'BoundDevice<Scope>'/ -- an interrupt handler spawning work
      spawn(dev, async () => {});
    });
    return {};
  },
});
