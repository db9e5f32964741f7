// Blocks: a plain Device in allocCoherent. Harness self-test: without the
// ts7=TS2739 override the code is right for TypeScript 5.4 and 6 only.
// @harness-must-report wrong-code:10@ts7
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });

// @expect-error TS2345 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device
allocCoherent(dev, 4096);
