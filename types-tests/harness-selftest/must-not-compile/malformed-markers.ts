// Blocks: nothing. Harness self-test: markers that do not parse, or that sit
// above no code. Every line they would annotate compiles.
// @harness-must-report malformed-marker:8 malformed-marker:10 malformed-marker:12 malformed-marker:14
// @harness-must-report malformed-marker:16 malformed-marker:18 malformed-marker:20 malformed-marker:22 malformed-marker:25
import { Machine } from "boundscope";

const machine = new Machine();
// @expect-error /Device/ -- no code
const a = machine.pci.devices;
// @expect-error TS2345 /Device -- regex not closed
const b = machine.pci.devices;
// @expect-error TS2345 /Device/
const c = machine.pci.devices;
// @expect-error TS2345 /Device/g -- stateful flag
const d = machine.pci.devices;
// @expect-error TS2345 /(unbalanced/ -- regex does not compile
const e = machine.pci.devices;
// @expect-error TS2345 ts53=TS2741 /Device/ -- a compiler older than 5.4
const f = machine.pci.devices;
const g = machine.pci.devices; // @expect-error TS2345 /Device/ -- not on a line of its own

// @expect-error TS2345 /Device/ -- above a blank line

void [a, b, c, d, e, f, g];
// @expect-error TS2345 /Device/ -- at the end of the file
