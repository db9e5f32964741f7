/**
 * Hostile input for the watchdog (src/sim/watchdog.ts): `watchdogNs` values
 * that are not a positive whole number of ns, and driver code that never
 * finishes (a `remove()`, a task, a devres release): each reported as a
 * `hung` violation, with the unbind completing and everything released.
 */

import { Machine, spawn } from "../../src/index.js";
import type { MachineOptions } from "../../src/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const never = (): Promise<void> => new Promise<void>(() => {});

/** A small watchdog time, so the rows take little virtual time. */
const machine: MachineOptions = { watchdogNs: 1_000_000 };

const note = "reported as a `hung` violation after `watchdogNs` of virtual time; the unbind completes and releases everything";

export const rows: Row[] = [
  ...(
    [
      ["`{ watchdogNs: 0 }`", 0],
      ["`{ watchdogNs: -1 }`", -1],
      ["`{ watchdogNs: 1.5 }` (not whole)", 1.5],
      ["`{ watchdogNs: NaN }`", Number.NaN],
      ["`{ watchdogNs: Infinity }`", Number.POSITIVE_INFINITY],
      ["`{ watchdogNs: 2 ** 53 }` (unsafe)", 2 ** 53],
      ['`{ watchdogNs: "10s" }`', "10s"],
      ["`{ watchdogNs: null }`", null],
    ] as const
  ).map(
    ([input, watchdogNs]): Row => ({
      entry: "new Machine(options)",
      input,
      outcome: { code: "EINVAL" },
      act: () => new Machine(any<MachineOptions>({ watchdogNs })),
    }),
  ),
  {
    entry: "remove(dev)",
    input: "never returns, at unbind",
    outcome: { ignored: true },
    note,
    violation: "hung",
    machine,
    act: async (rig: Rig) => {
      const t = await rig.transient({ then: () => ({ remove: never }) });
      await rig.machine.pci.unbind(t.dev);
      await t.expectReleased("no-driver");
    },
  },
  {
    entry: "spawn(dev, work)",
    input: "work that never looks at its signal, at unplug",
    outcome: { ignored: true },
    note,
    violation: "hung",
    machine,
    act: async (rig: Rig) => {
      const t = await rig.transient({ then: (dev) => void spawn(dev, never) });
      await rig.machine.pci.unplug(t.dev);
      await t.expectReleased("zombie");
    },
  },
  {
    entry: "Devres.new(dev, value, release)",
    input: "a release that never settles",
    outcome: { logged: "release-failed" },
    note: "and a `hung` violation after `watchdogNs` of virtual time; the unbind completes and the releases after it run",
    violation: "hung",
    machine,
    act: async (rig: Rig) => {
      const t = await rig.transient({ release: never });
      await rig.machine.pci.unbind(t.dev);
      await t.expectReleased("no-driver");
    },
  },
];

export const entries: string[] = [];
