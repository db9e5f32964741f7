// Blocks: nothing. Harness self-test: the error is there, with another code.
// @harness-must-report wrong-code:10
import { setDmaMask } from "boundscope";
import type { BoundDevice } from "boundscope";

function tune<Scope>(dev: BoundDevice<Scope>): void {
  dev.name;
  // The real error is TS2345, or TS2741 under TypeScript 7: not the core context.
  // @expect-error TS2322 /setDmaMask/ -- wrong code on purpose
  setDmaMask(dev, 64);
}
void tune;
