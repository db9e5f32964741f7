/**
 * One `defineScenario` per seeded bug: the buggy copy of an example driver,
 * its model, and the same workload as its clean original's scenario
 * (`clean.ts`). Each bug also has its fixed copy's scenario (the copy with
 * `fixed: true`: the same code but the bug's line), to show the copy is
 * clean but for the bug. `test/testing-seeded.test.ts` explores them.
 */

import { defineScenario } from "boundscope/testing";
import type { Scenario } from "boundscope/testing";
import type { Machine } from "boundscope";
import { AccelModel } from "../../examples/models/accel-model.js";
import { BlkModel } from "../../examples/models/blk-model.js";
import { RingNicModel } from "../../examples/models/ring-nic-model.js";
import { StreamingNicModel } from "../../examples/models/streaming-nic-model.js";
import { AUX_WATCHDOG, CLEAN } from "./clean.js";
import { doubleFreeRingNicDriver } from "./double-free-ring-nic.js";
import { freeBeforeWaitNetNicDriver } from "./free-before-wait-net-nic.js";
import { irqFirstRingNicDriver } from "./irq-first-ring-nic.js";
import { irqLeakBlkDriver } from "./irq-leak-blk.js";
import { lateUnregisterBlkDriver } from "./late-unregister-blk.js";
import { missingSyncStreamingNicDriver } from "./missing-sync-streaming-nic.js";
import { noHaltStreamingNicDriver } from "./no-halt-streaming-nic.js";
import { accelCopyDriver, retryingCryptoDriver } from "./task-ignores-abort-aux.js";
import { diskTraffic, netTraffic } from "./workloads.js";

/** What a seeded bug is, where it lives, and how the explorer should report it. */
export interface SeededBug {
  /** Its number in the list. */
  readonly bug: number;
  readonly title: string;
  /** Its file in test/seeded/. */
  readonly file: string;
  /** The example it was copied from (a key of `CLEAN`). */
  readonly original: keyof typeof CLEAN;
  /** The buggy copy's scenario. */
  readonly scenario: Scenario;
  /** The fixed copy's scenario. */
  readonly fixed: Scenario;
  /** What the first problem line of the failure must say. */
  readonly problem: RegExp;
}

type Setup = (machine: Machine, fixed: boolean) => Promise<void>;

/** The buggy and the fixed scenario of one copy, with one setup and one workload. */
function pair(name: string, setup: Setup, workload: (machine: Machine) => Promise<void>, machine?: Scenario["machine"]): { scenario: Scenario; fixed: Scenario } {
  const make = (fixed: boolean): Scenario =>
    defineScenario({ name: `${name}${fixed ? " (fixed)" : ""}`, setup: (m) => setup(m, fixed), workload, ...(machine === undefined ? {} : { machine }) });
  return { scenario: make(false), fixed: make(true) };
}

const net = (machine: Machine): Promise<void> => netTraffic(machine, { frames: 8, ns: 12_000 });
const disk = (machine: Machine): Promise<void> => diskTraffic(machine, { rounds: 2, batch: 4 });
const run = (ns: number) => async (machine: Machine) => void (await machine.run(ns));

export const SEEDED: readonly SeededBug[] = [
  {
    bug: 1,
    title: "an error path in probe leaks the IRQ when a later allocation fails",
    file: "irq-leak-blk.ts",
    original: "blk",
    ...pair(
      "blk: IRQ leaked on probe's error path",
      async (machine, fixed) => {
        await machine.pci.register(irqLeakBlkDriver({ fixed }));
        machine.pci.plug(new BlkModel({ sectors: 256 }));
        await machine.settled();
      },
      disk,
    ),
    problem: /violation irq-leaked .*requested without devres .*probe\(\) failed/,
  },
  {
    bug: 2,
    title: "remove() forgets to stop the engine",
    file: "no-halt-streaming-nic.ts",
    original: "streaming-nic",
    ...pair(
      "streaming-nic: remove() does not halt",
      async (machine, fixed) => {
        await machine.pci.register(noHaltStreamingNicDriver({ frames: 8, fixed }));
        machine.pci.plug(new StreamingNicModel());
        await machine.settled();
      },
      run(12_000),
    ),
    problem: /violation dma-after-remove .*remove\(\) returned while the device was still doing DMA/,
  },
  {
    bug: 3,
    title: "a task ignores its abort signal",
    file: "task-ignores-abort-aux.ts",
    original: "aux-parent",
    ...pair(
      "aux-parent: the child's task ignores its signal",
      async (machine, fixed) => {
        await machine.pci.register(accelCopyDriver());
        await machine.auxiliary.register(retryingCryptoDriver({ fixed }));
        machine.pci.plug(new AccelModel());
        await machine.settled();
      },
      run(100_000),
      AUX_WATCHDOG,
    ),
    // The watchdog gives up on the outermost wait first: the parent's wait for its auxiliary device, which waits for the task.
    problem: /violation hung .*(auxiliary device "accel\.crypto\.0"|task #\d+ of driver "crypto")/,
  },
  {
    bug: 4,
    title: "the disk is unregistered after the device stopped serving it",
    file: "late-unregister-blk.ts",
    original: "blk",
    ...pair(
      "blk: del_gendisk after the halt",
      async (machine, fixed) => {
        await machine.pci.register(lateUnregisterBlkDriver({ fixed }));
        machine.pci.plug(new BlkModel({ sectors: 256 }));
        await machine.settled();
      },
      disk,
    ),
    // As for bug 3, the outer wait (remove(), which awaits the unregister) is given up on first.
    problem: /violation hung .*(block device|remove\(\) of driver "blk-late-unregister")/,
  },
  {
    bug: 5,
    title: "a buffer is freed before waiting for the device, which still DMAs into it",
    file: "free-before-wait-net-nic.ts",
    original: "net-nic",
    ...pair(
      "net-nic: stop() frees the RX buffers before the drain",
      async (machine, fixed) => {
        await machine.pci.register(freeBeforeWaitNetNicDriver({ fixed }));
        machine.pci.plug(new RingNicModel(undefined, { msix: true }));
        await machine.settled();
      },
      net,
    ),
    problem: /violation dma-after-free .*did a DMA write/,
  },
  {
    bug: 6,
    title: "a missing sync: the CPU reads a streaming buffer the device owns",
    file: "missing-sync-streaming-nic.ts",
    original: "streaming-nic",
    ...pair(
      "streaming-nic: no syncForCpu before reading",
      async (machine, fixed) => {
        await machine.pci.register(missingSyncStreamingNicDriver({ frames: 8, fixed }));
        machine.pci.plug(new StreamingNicModel());
        await machine.settled();
      },
      run(12_000),
    ),
    problem: /violation cpu-access-device-owned .*A sync-for-cpu is missing/,
  },
  {
    bug: 7,
    title: "a double free on probe's error path",
    file: "double-free-ring-nic.ts",
    original: "ring-nic",
    ...pair(
      "ring-nic: double free when a ring cannot be allocated",
      async (machine, fixed) => {
        await machine.pci.register(doubleFreeRingNicDriver({ fixed }));
        machine.pci.plug(new RingNicModel());
        await machine.settled();
      },
      net,
    ),
    problem: /violation double-free .*double free/,
  },
  {
    bug: 8,
    title: "an IRQ requested before the memory its handler touches",
    file: "irq-first-ring-nic.ts",
    original: "ring-nic",
    ...pair(
      "ring-nic: shared IRQ requested before the rings",
      async (machine, fixed) => {
        await machine.pci.register(irqFirstRingNicDriver({ fixed }));
        machine.pci.plug(new RingNicModel("0000:00:03.0", { intx: 11 }));
        machine.pci.plug(new RingNicModel("0000:00:04.0", { intx: 11 }));
        await machine.settled();
      },
      net,
    ),
    problem: /irq-failed|hard IRQ handler/,
  },
];
