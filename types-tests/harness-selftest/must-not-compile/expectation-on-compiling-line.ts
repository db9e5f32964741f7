// Blocks: nothing. Harness self-test: a marker above a line that compiles.
// @harness-must-report missing-error:9
import { allocCoherent, defineDriver } from "boundscope";

export const fine = defineDriver({
  name: "fine",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /is not assignable/ -- claims this probe fails, but it is correct
  probe: (dev) => (allocCoherent(dev, 64), {}),
});
