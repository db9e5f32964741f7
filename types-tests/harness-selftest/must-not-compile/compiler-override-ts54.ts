// Blocks: a plain Device in allocCoherent. Harness self-test: a ts54= override
// with the wrong code applies to TypeScript 5.4 only; 6 and 7 stay right.
// @harness-must-report wrong-code:10@ts54
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 2 });

// @expect-error TS2345 ts54=TS2322 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device
allocCoherent(dev, 4096);
