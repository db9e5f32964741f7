// Blocks: nothing. Harness self-test: the right code for the wrong reason. The
// marker claims a scope mix-up, but the call fails on its size argument.
// @harness-must-report wrong-message:11
import { allocCoherent } from "boundscope";
import type { BoundDevice } from "boundscope";

export function grow<Scope>(dev: BoundDevice<Scope>): void {
  allocCoherent(dev, 64);
  const size = "4096";
  // @expect-error TS2345 /BoundDevice<.*> is not assignable/ -- claims a scope mix-up
  allocCoherent(dev, size);
}
