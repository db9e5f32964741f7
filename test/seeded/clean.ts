/**
 * The clean originals: one `defineScenario` per example driver the seeded
 * bugs were copied from (examples/ring-nic.ts, streaming-nic.ts, net-nic.ts,
 * blk.ts, aux-parent.ts), each with its model and a workload through the
 * subsystem it serves. `test/testing-seeded.test.ts` shows each passes a
 * stated budget of schedules; each seeded copy's scenario (in its own file)
 * has the same shape, so the only difference the explorer sees is the bug.
 */

import { defineScenario } from "boundscope/testing";
import type { Scenario } from "boundscope/testing";
import { accelDriver, cryptoDriver } from "../../examples/aux-parent.js";
import { blkDriver } from "../../examples/blk.js";
import { AccelModel } from "../../examples/models/accel-model.js";
import { BlkModel } from "../../examples/models/blk-model.js";
import { RingNicModel } from "../../examples/models/ring-nic-model.js";
import { StreamingNicModel } from "../../examples/models/streaming-nic-model.js";
import { netNicDriver } from "../../examples/net-nic.js";
import { ringNicDriver } from "../../examples/ring-nic.js";
import { streamingNicDriver } from "../../examples/streaming-nic.js";
import { diskTraffic, netTraffic } from "./workloads.js";

/** ring-nic: 8 frames through a packet socket, 12 µs of virtual time. */
export const ringNic: Scenario = defineScenario({
  name: "ring-nic (clean)",
  async setup(machine) {
    await machine.pci.register(ringNicDriver());
    machine.pci.plug(new RingNicModel());
    await machine.settled();
  },
  workload: (machine) => netTraffic(machine, { frames: 8, ns: 12_000 }),
});

/** streaming-nic: the driver sends 8 test frames of its own and reads them back, 12 µs. */
export const streamingNic: Scenario = defineScenario({
  name: "streaming-nic (clean)",
  async setup(machine) {
    await machine.pci.register(streamingNicDriver({ frames: 8 }));
    machine.pci.plug(new StreamingNicModel());
    await machine.settled();
  },
  workload: async (machine) => void (await machine.run(12_000)),
});

/** net-nic (MSI-X): 8 frames through a packet socket, 12 µs. */
export const netNic: Scenario = defineScenario({
  name: "net-nic (clean)",
  async setup(machine) {
    await machine.pci.register(netNicDriver());
    machine.pci.plug(new RingNicModel(undefined, { msix: true }));
    await machine.settled();
  },
  workload: (machine) => netTraffic(machine, { frames: 8, ns: 12_000 }),
});

/** blk: two rounds of 4 writes and 4 checked reads. */
export const blk: Scenario = defineScenario({
  name: "blk (clean)",
  async setup(machine) {
    await machine.pci.register(blkDriver());
    machine.pci.plug(new BlkModel({ sectors: 256 }));
    await machine.settled();
  },
  workload: (machine) => diskTraffic(machine, { rounds: 2, batch: 4 }),
});

/**
 * The aux-parent scenarios give up on a wait after 2 ms of virtual time, not
 * the default 10 s: a task that never ends costs 100 engine jobs, not 500,000.
 */
export const AUX_WATCHDOG = { watchdogNs: 2_000_000 } as const;

/** aux-parent: the crypto child seals and opens messages through the parent's engine for 100 µs. */
export const auxParent: Scenario = defineScenario({
  name: "aux-parent (clean)",
  async setup(machine) {
    await machine.pci.register(accelDriver());
    await machine.auxiliary.register(cryptoDriver({ roundTrips: 0, failed: 0, inCall: false }));
    machine.pci.plug(new AccelModel());
    await machine.settled();
  },
  workload: async (machine) => void (await machine.run(100_000)),
  machine: AUX_WATCHDOG,
});

/** Every clean original, by the example it runs. */
export const CLEAN = { "ring-nic": ringNic, "streaming-nic": streamingNic, "net-nic": netNic, blk, "aux-parent": auxParent } as const;
