// Blocks: a plain Device in allocCoherent. Harness self-test: a TypeScript
// directive silences an error, so the harness could not see it.
// @harness-must-report ts-directive:13
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device
allocCoherent(dev, 4096);

// A second misuse, hidden from the compiler's report:
// @ts-expect-error
allocCoherent(dev, 64);
