// Mutants of the watchdog (src/sim/watchdog.ts, the clock's deadlines, the
// machine's option): each weakens one guard, and test/watchdog.test.ts (with
// the hostile rows) must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [];

export const RUNTIME_MUTANTS = [
  {
    id: "watchdog-never-fires",
    what: "the watchdog never reaches a deadline when the machine is quiet: a stuck unbind waits for ever (Node exit 13)",
    tests: ["watchdog"],
    edits: [edit("src/sim/watchdog.ts", "      if (moved === 0 && !this.#changed) await clock.drive(first, true, () => this.#changed);", "")],
  },
  {
    id: "watchdog-does-not-go-on",
    what: "the watchdog reports the hang but the wait never ends: the core stays stuck",
    tests: ["watchdog"],
    edits: [edit("src/sim/watchdog.ts", "        } finally {\n          resolve(false);\n        }", "        } finally {\n        }")],
  },
  {
    id: "watchdog-ignores-activity",
    what: "the machine's own activity is not progress: a test acting on the machine while a remove() waits on its gate sees it reported",
    tests: ["watchdog"],
    edits: [edit("src/sim/watchdog.ts", " && this.activity() === activity;", ";")],
  },
  {
    id: "watchdog-deadline-is-work",
    what: "a watchdog deadline counts as pending work: runUntilIdle runs to it, and reports a wait still in progress",
    tests: ["watchdog"],
    edits: [edit("src/sim/clock.ts", "    return this.#schedule(ns, run, true);", "    return this.#schedule(ns, run, false);")],
  },
  {
    id: "watchdog-ns-unchecked",
    what: "MachineOptions.watchdogNs is not checked to be positive: 0 or -1 reports every wait",
    tests: ["watchdog", "hostile"],
    edits: [edit("src/machine.ts", "!Number.isSafeInteger(watchdogNs) || watchdogNs <= 0)", "!Number.isSafeInteger(watchdogNs))")],
  },
  {
    id: "watchdog-settled-unwatched",
    what: "settled() waits on the bus queues with no watchdog: a probe that never returns hangs it",
    tests: ["watchdog"],
    edits: [edit("src/machine.ts", "    if (await this.#hw.watchdog.wait(this.#rest(), { patient: true })) return;", "    if (await this.#rest().then(() => true)) return;")],
  },
];
