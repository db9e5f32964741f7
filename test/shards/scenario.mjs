// A scenario in plain JavaScript, as a user's CI campaign would load it in
// worker threads: `explore(…, { workers, module: import.meta.url })` imports
// this module in each worker and runs its `scenario` export. It imports the
// package by name, so it runs against the built dist/ (the package's
// self-reference), as a user's would.
//
// The driver sleeps twice in probe and keeps a kmalloc'd buffer that only
// remove() frees: when the coherent allocation after it fails, probe fails
// and the buffer leaks (the bug the shards must agree on).
import { allocCoherent, defineDriver, kmalloc, sleep } from "boundscope";
import { defineScenario } from "boundscope/testing";

const ID = { vendor: 0x1af4, device: 0x1000 };

export function scenarioOf(leaky) {
  return defineScenario({
    name: leaky ? "leaky-probe" : "careful-probe",
    async setup(machine) {
      await machine.pci.register(
        defineDriver({
          name: "sharded",
          ids: [ID],
          async probe(dev) {
            await sleep(dev, 1_000);
            const scratch = kmalloc(dev, 256);
            try {
              allocCoherent(dev, 4096);
            } catch (error) {
              if (!leaky) scratch.free();
              throw error;
            }
            await sleep(dev, 1_000);
            return { remove: () => scratch.free() };
          },
        }),
      );
      machine.pci.plug(ID);
      machine.pci.plug({ ...ID, name: "0000:00:02.0" });
      await machine.settled();
    },
    async workload(machine) {
      await machine.run(5_000);
    },
  });
}

export const scenario = scenarioOf(true);
export const careful = scenarioOf(false);
