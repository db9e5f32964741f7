/**
 * Hostile input for atomic versus sleepable context (src/driver/context.ts
 * and the operations that may sleep): allocation flags that are not
 * `"kernel"` or `"atomic"` (`EINVAL`, nothing allocated); a sleeping
 * operation called inside an atomic section in `dmaDebug: "throw"` mode
 * (`EINVAL` with a `sleep-in-atomic` violation, and the operation does not
 * happen); an async accessor smuggled into the atomic `tryAccessWith`
 * (`EINVAL` for a standalone Revocable; a violation of its binding for a
 * Devres); a sleepable accessor that is not a function; and `task.stop`
 * with tokens that are not the task's binding's.
 */

import { allocCoherent, defineDriver, Devres, kmalloc, Machine, Revocable, sleep, spawn, vmalloc } from "../../src/index.js";
import type { ProbeDevice, Task } from "../../src/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const EINVAL = { code: "EINVAL" } as const;
const THROW = { dmaDebug: "throw" } as const;

const rows: Row[] = [];

const badFlags: readonly (readonly [string, unknown])[] = [
  ['`"ATOMIC"`', "ATOMIC"],
  ['`"GFP_ATOMIC"`', "GFP_ATOMIC"],
  ["`0`", 0],
  ["`null`", null],
];

for (const [input, gfp] of badFlags) {
  rows.push({ entry: "kmalloc(dev, size, gfp)", input: `\`gfp\` ${input}`, outcome: EINVAL, act: (rig) => kmalloc(rig.a.token, 64, any<"atomic">(gfp)) });
  rows.push({ entry: "allocCoherent(dev, size, gfp)", input: `\`gfp\` ${input}`, outcome: EINVAL, act: (rig) => allocCoherent(rig.a.token, 64, any<"atomic">(gfp)) });
  rows.push({ entry: "pool.alloc(dev, gfp)", input: `\`gfp\` ${input}`, outcome: EINVAL, act: (rig) => rig.streaming.pool.alloc(rig.core, any<"atomic">(gfp)) });
}

/** Runs `run` inside A's Devres access: an atomic section of A's binding. */
const insideAccess = (rig: Rig, run: (token: ProbeDevice<"smuggled">) => unknown) => rig.a.res.tryAccessWith(() => void run(rig.a.token));

const sleepers: readonly (readonly [entry: string, call: string, run: (token: ProbeDevice<"smuggled">) => unknown])[] = [
  ["kmalloc(dev, size, gfp)", "`kmalloc(dev, 64)`", (t) => kmalloc(t, 64)],
  ["kmalloc(dev, size, gfp)", '`kmalloc(dev, 64, "kernel")`', (t) => kmalloc(t, 64, "kernel")],
  ["vmalloc(dev, size)", "`vmalloc(dev, 8192)`", (t) => vmalloc(t, 8192)],
  ["allocCoherent(dev, size, gfp)", "`allocCoherent(dev, 64)`", (t) => allocCoherent(t, 64)],
  ["sleep(dev, ns)", "`sleep(dev, 1000)`", (t) => sleep(t, 1_000)],
];
for (const [entry, call, run] of sleepers) {
  rows.push({
    entry,
    input: `${call} inside a Devres access (atomic), \`dmaDebug: "throw"\``,
    outcome: EINVAL,
    violation: "sleep-in-atomic",
    machine: THROW,
    note: "nothing is allocated, nobody sleeps",
    act: (rig) => insideAccess(rig, run),
  });
}

rows.push({
  entry: "revocable.tryAccessWith(use)",
  input: "an async `use` (past the types)",
  outcome: EINVAL,
  note: "the revoke still waits for it",
  act: () => new Revocable(1).tryAccessWith(any<() => number>(async () => 1)),
});
rows.push({
  entry: "devres.tryAccessWith(use)",
  input: 'an async `use` (past the types), `dmaDebug: "throw"`',
  outcome: EINVAL,
  violation: "sleep-in-atomic",
  machine: THROW,
  note: "the unbind still waits for it",
  act: (rig) => rig.a.res.tryAccessWith(any<() => number>(async () => 1)),
});

for (const [input, use] of [
  ['`"read"`', "read"],
  ["`null`", null],
] as const) {
  rows.push({ entry: "revocable.tryAccessAsync(use)", input: `\`use\` ${input}`, outcome: EINVAL, act: () => new Revocable(1).tryAccessAsync(any(use)) });
  rows.push({ entry: "devres.tryAccessAsync(use)", input: `\`use\` ${input}`, outcome: EINVAL, act: (rig) => rig.a.res.tryAccessAsync(any(use)) });
}

/** A machine of its own with one bound device: a task that runs until stopped, a devres entry, and the token. */
async function withTask(mode: "report" | "throw" = "report") {
  const machine = new Machine({ dmaDebug: mode });
  let task!: Task<"smuggled">;
  let res!: Devres<"smuggled", number>;
  let token!: ProbeDevice<"smuggled">;
  await machine.pci.register(
    defineDriver({
      name: "tasked",
      ids: [{ vendor: 0x1af4, device: 0x1000 }],
      probe(dev) {
        token = any(dev);
        task = any(spawn(dev, async (_dev, signal) => signal.whenAborted));
        res = any(Devres.new(dev, 1));
        return {};
      },
    }),
  );
  const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
  await machine.settled();
  return { machine, task, res, token, unplug: () => machine.pci.unplug(dev) };
}

const stopWith: readonly (readonly [string, { code: "EINVAL" | "ENXIO" | "EPERM" }, (rig: Rig) => unknown])[] = [
  ["`null`", EINVAL, () => null],
  ["a look-alike object", { code: "EPERM" }, () => ({ name: "0000:00:01.0" })],
  ["A's token (another binding's)", EINVAL, (rig) => rig.a.token],
  ["a dead token", { code: "ENXIO" }, (rig) => rig.dead.token],
];
for (const [input, outcome, make] of stopWith) {
  rows.push({
    entry: "task.stop(dev)",
    input: `\`dev\` ${input}`,
    outcome,
    note: "the task runs on",
    act: async (rig) => {
      const { task, unplug } = await withTask();
      try {
        await task.stop(any(make(rig)));
      } finally {
        await unplug();
      }
    },
  });
}

rows.push({
  entry: "task.stop(dev)",
  input: 'its own token inside a Devres access (atomic), `dmaDebug: "throw"`',
  outcome: EINVAL,
  note: "the task is not stopped",
  act: async () => {
    const { machine, task, res, token, unplug } = await withTask("throw");
    try {
      res.tryAccessWith(() => void task.stop(token));
    } finally {
      // The violation is the other machine's: the row checks it here.
      const kinds = machine.dmaDebug.violations.map((v) => v.kind);
      if (kinds.join() !== "sleep-in-atomic") throw new Error(`expected one sleep-in-atomic violation, got ${kinds.join()}`);
      await unplug();
    }
  },
});

export { rows };

/** The entry points these rows add, in README order. */
export const entries: string[] = [
  "kmalloc(dev, size, gfp)",
  "allocCoherent(dev, size, gfp)",
  "pool.alloc(dev, gfp)",
  "revocable.tryAccessAsync(use)",
  "devres.tryAccessAsync(use)",
  "task.stop(dev)",
];
