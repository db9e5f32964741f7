// Blocks: calling a core-only operation (setDmaMask) through a BoundDevice,
// i.e. from code that was not handed the core context by probe()/remove().
// Once a missing method on BoundDevice; now setDmaMask is a function that
// takes ProbeDevice, and the BoundDevice lacks the core-context brand.
import { defineDriver, setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

function tune<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a helper given only the token
  setDmaMask(dev, 64);
}

export const widened = defineDriver({
  name: "widened",
  ids: [{ vendor: 1, device: 1 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const bound: BoundDevice<Scope> = dev;
    // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- the core context viewed as a BoundDevice
    setDmaMask(bound, 32);
    tune(dev);
    return {};
  },
});
