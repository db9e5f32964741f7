// Blocks: nothing. Harness self-test: `none` is only an override, and a
// marker that is `none` under every compiler expects nothing: both malformed.
// @harness-must-report malformed-marker:7 malformed-marker:9
import { Machine } from "boundscope";

const machine = new Machine();
// @expect-error none /Device/ -- none as the code for all compilers
const a = machine.pci.devices;
// @expect-error TS2345 ts54=none ts6=none ts7=none /Device/ -- none everywhere
const b = machine.pci.devices;
void [a, b];
