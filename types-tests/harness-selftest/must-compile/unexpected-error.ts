// Harness self-test: a must-compile fixture that does not compile.
// @harness-must-report unexpected-error:8
import { allocCoherent, Machine } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });

allocCoherent(dev, 4096);
