// Blocks: a plain Device in allocCoherent. Harness self-test: ts7=none says
// TypeScript 7 reports nothing on the line, so the error it does report there
// is unexpected; TypeScript 5.4 and 6 match the marker.
// @harness-must-report unexpected-error:11@ts7
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 3 });

// @expect-error TS2345 ts7=none /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device
allocCoherent(dev, 4096);
