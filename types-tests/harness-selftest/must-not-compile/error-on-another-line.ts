// Blocks: nothing. Harness self-test: the marker is one line too high, so the
// error it names is reported on the line below the one it annotates.
// @harness-must-report wrong-line:10
import { Machine, allocCoherent } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });

// @expect-error TS2345 ts7=TS2739 /#private, \[tokenOfOneBindingOnly\]/ -- a plain Device
const size = 4096;
allocCoherent(dev, size);
