// Blocks: a core-only operation from an interrupt handler. The handler gets
// the token as a BoundDevice, so setDmaMask (and other set-up) is not there.
import { defineDriver } from "boundscope";

export const driver = defineDriver({
  name: "isr-mask",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    dev.requestIrq((dev) => {
      // @expect-error TS2339 /Property 'setDmaMask' does not exist on type 'BoundDevice<Scope>'/ -- setDmaMask in interrupt context
      dev.setDmaMask(64);
    });
    return {};
  },
});
