/**
 * Run by test/watchdog.test.ts in a child process (bundled by esbuild): a
 * driver whose task never looks at its signal, unbound by a top-level await
 * with nothing else to do. Before the watchdog, Node ended this with exit
 * code 13 and said nothing; now the unbind completes and the report prints.
 */

import { defineDriver, Machine, spawn } from "../../src/index.js";

const machine = new Machine();
const driver = defineDriver({
  name: "stuck",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    spawn(dev, () => new Promise<void>(() => {}));
    return {};
  },
});
await machine.pci.register(driver);
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
await machine.settled();
await machine.pci.unbind(dev);
for (const v of machine.dmaDebug.violations) console.log(`${v.kind}: ${v.message}`);
console.log(`state ${dev.state}, pool ${machine.memory.stats().bytesInUse} bytes in use`);
