// Blocks: a core-only operation from an interrupt handler. The handler gets
// the token as a BoundDevice, so setDmaMask (and other set-up) is not there.
import { defineDriver, requestIrq, setDmaMask } from "boundscope";

export const driver = defineDriver({
  name: "isr-mask",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    requestIrq(dev, (dev) => {
      // @expect-error TS2339 /Property 'setDmaMask' does not exist on type 'BoundDevice<Scope>'/ -- setDmaMask in interrupt context
      setDmaMask(dev, 64);
    });
    return {};
  },
});
