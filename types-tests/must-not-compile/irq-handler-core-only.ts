// Blocks: a core-only operation from an interrupt handler. The handler gets
// the token as an IrqDevice, which lacks the core-context brand, so
// setDmaMask (and other set-up) does not take it.
import { defineDriver, requestIrq, setDmaMask } from "boundscope";

export const driver = defineDriver({
  name: "isr-mask",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    requestIrq(dev, (dev) => {
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- setDmaMask in interrupt context
      setDmaMask(dev, 64);
    });
    return {};
  },
});
