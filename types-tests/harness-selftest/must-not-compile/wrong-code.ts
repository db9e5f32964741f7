// Blocks: nothing. Harness self-test: the error is there, with another code.
// @harness-must-report wrong-code:9
import type { BoundDevice } from "boundscope";

function tune<Scope>(dev: BoundDevice<Scope>): void {
  dev.name;
  // The real error is TS2339 (no setDmaMask on a BoundDevice).
  // @expect-error TS2322 /setDmaMask/ -- wrong code on purpose
  dev.setDmaMask(64);
}
void tune;
