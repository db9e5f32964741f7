// Blocks: a plain Device in allocCoherent. Harness self-test: the expected
// error is there, and so is a typo elsewhere that nothing expects.
// @harness-must-report unexpected-error:12
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device
allocCoherent(dev, 4096);

allocCoherant(dev, 4096);
