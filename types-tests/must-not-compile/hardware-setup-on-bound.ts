// Blocks: hardware set-up (iomap, requestIrq, spawn, enableBusMaster) through
// a BoundDevice, i.e. from code that was not handed the core context by
// probe()/remove(): a helper, an interrupt handler, a task.
import { defineDriver } from "boundscope";
import type { BoundDevice } from "boundscope";

function setUp<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2339 /Property 'iomap' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  dev.iomap(0);
  // @expect-error TS2339 /Property 'requestIrq' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  dev.requestIrq(() => {});
  // @expect-error TS2339 /Property 'spawn' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  dev.spawn(async () => {});
  // @expect-error TS2339 /Property 'enableBusMaster' does not exist on type 'BoundDevice<Scope>'/ -- a helper given only the token
  dev.enableBusMaster();
}

export const driver = defineDriver({
  name: "late-setup",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    setUp(dev);
    dev.spawn(async (dev) => {
      // @expect-error TS2339 /Property 'iomap' does not exist on type 'BoundDevice<Scope>'/ -- a task mapping a BAR
      dev.iomap(0);
    });
    dev.requestIrq((dev) => {
      // @expect-error TS2339 /Property 'spawn' does not exist on type 'BoundDevice<Scope>'/ -- an interrupt handler spawning work
      dev.spawn(async () => {});
    });
    return {};
  },
});
