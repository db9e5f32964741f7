/**
 * using: resource management the modern way. `await using` a Machine unplugs
 * every device and settles when the block ends; `using` on an allocation, an
 * MMIO mapping or an IRQ frees it at the end of its block, inside probe();
 * `await using` on a Devres entry releases it. Whatever a block does not
 * free early, devres frees at unbind as always.
 */

import { allocCoherent, defineDriver, Devres, iomap, Machine } from "boundscope";
import { EDU_ID, EDU_IDENT, EDU_REG, EduModel } from "./models/edu-model.js";
import type { Narrate } from "./narrate.js";

/** Runs the example; returns what the pool held at each step. */
export async function runUsing(narrate: Narrate): Promise<{ inProbe: number; afterProbe: number; afterMachine: number; state: string }> {
  let inProbe = 0;
  let afterProbe = 0;
  let state = "";
  let stats: () => number = () => 0;
  {
    await using machine = new Machine();
    stats = () => machine.memory.stats().allocations;
    await machine.pci.register(
      defineDriver({
        name: "using-sample",
        ids: [EDU_ID],
        async probe(dev) {
          {
            using regs = iomap(dev, 0);
            using scratch = allocCoherent(dev, 4096); // a bounce buffer for set-up only
            if (regs.read32(dev, EDU_REG.ID) !== EDU_IDENT) throw new Error("not an edu device");
            scratch.bytes(dev).fill(0xa5);
            inProbe = machine.memory.stats().allocations;
          } // scratch freed, regs unmapped, here
          await using note = Devres.new(dev, "probe note", (n) => narrate(`released ${n}`));
          narrate(`probe(): ${note.access(dev)}; the set-up buffer is already freed`);
          afterProbe = machine.memory.stats().allocations;
          const ring = allocCoherent(dev, 4096); // kept for the binding: devres frees it
          return { remove: (dev) => narrate(`remove(): ring byte 0 is ${ring.bytes(dev)[0]}`) };
        },
      }),
    );
    const dev = machine.pci.plug(new EduModel("0000:00:08.0"));
    await machine.settled();
    state = dev.state;
    narrate(`${dev.name} is ${dev.state}; ${stats()} allocation(s) live; leaving the machine's block`);
  } // the machine unplugs everything here
  const afterMachine = stats();
  narrate(`after the block: ${afterMachine} allocation(s) live`);
  return { inProbe, afterProbe, afterMachine, state };
}
