// Blocks: registering a look-alike driver object, one that defineDriver did
// not make (and whose probe was never checked for being generic).
import { Machine } from "boundscope";

const machine = new Machine();

// @expect-error TS2345 ts7=TS2741 /Property '\[onlyDefineDriverMakesADriver\]' is missing in type/ -- a literal with name and ids
await machine.pci.register({ name: "fake", ids: [{ vendor: 1, device: 1 }] });
