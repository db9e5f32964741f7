// Blocks: a plain Device in allocCoherent. Harness self-test: the expected
// error is there, and so is a typo elsewhere that nothing expects.
// @harness-must-report unexpected-error:12
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });

// @expect-error TS2345 ts7=TS2741 /Property '\[tokenBrand\]' is missing in type 'Device'/ -- a plain Device
allocCoherent(dev, 4096);

allocCoherant(dev, 4096);
