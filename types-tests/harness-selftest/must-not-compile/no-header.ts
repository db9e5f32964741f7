// Harness self-test: the first line does not say which escape this blocks.
// @harness-must-report no-header:1
import { setDmaMask } from "boundscope";
import type { BoundDevice } from "boundscope";

export function tune<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- core-only operation
  setDmaMask(dev, 64);
}
