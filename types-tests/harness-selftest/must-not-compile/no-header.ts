// Harness self-test: the first line does not say which escape this blocks.
// @harness-must-report no-header:1
import type { BoundDevice } from "boundscope";

export function tune<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2339 /Property 'setDmaMask' does not exist on type 'BoundDevice<Scope>'/ -- core-only operation
  dev.setDmaMask(64);
}
