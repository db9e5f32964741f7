// Blocks: a plain Device in allocCoherent. Harness self-test: an isolation
// directive without its reason is malformed (the fixture is then shared).
// @harness-must-report malformed-marker:4
// @isolated
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 4 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device
allocCoherent(dev, 4096);
