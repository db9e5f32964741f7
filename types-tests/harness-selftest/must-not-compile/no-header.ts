// Harness self-test: the first line does not say which escape this blocks.
// @harness-must-report no-header:1
import { setDmaMask } from "boundscope";
import type { BoundDevice } from "boundscope";

export function tune<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2741 /Property '\[coreContextOnlyInProbeOrRemove\]' is missing in type 'BoundDevice<Scope>'|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- core-only operation
  setDmaMask(dev, 64);
}
