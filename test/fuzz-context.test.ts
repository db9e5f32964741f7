/**
 * Atomic-context fuzzing (src/driver/context.ts): random trees of nested
 * atomic sections (a hard-IRQ-like section of the binding, a standalone
 * Revocable access, a Devres access) holding sleeping and non-sleeping
 * operations and throws, in "report" and "throw" modes, checked against a
 * reference model: which calls are violations, which throw, how many are
 * recorded and how many counted as repeats, that the section stack is empty
 * after every command, and that nothing allocated is left once freed.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocCoherent, createDmaPool, Devres, kmalloc, Machine, Revocable, sleep, spawn, vmalloc } from "../src/index.js";
import type { CoherentAllocation, DmaPool, Gfp, KernelBuffer, PoolBlock, ProbeDevice, Task } from "../src/index.js";
import { peekBinding } from "../src/driver/binding.js";
import { atomic, atomicContext } from "../src/driver/context.js";
import { bindModel, OpenModel } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const SEED = 20_261_201;
const RUNS = 150;

type Section = "irq" | "revocable" | "devres";
type Op = "kmalloc" | "allocCoherent" | "pool" | "vmalloc" | "sleep" | "stop";
type Action = { readonly kind: "enter"; readonly section: Section; readonly body: readonly Action[] } | { readonly kind: "op"; readonly op: Op; readonly gfp: Gfp | undefined } | { readonly kind: "throw" };

const op = fc.record({ kind: fc.constant("op" as const), op: fc.constantFrom<Op>("kmalloc", "allocCoherent", "pool", "vmalloc", "sleep", "stop"), gfp: fc.constantFrom<Gfp | undefined>(undefined, "kernel", "atomic") });
const { action } = fc.letrec<{ action: Action }>((tie) => ({
  action: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    op,
    fc.constant({ kind: "throw" as const }),
    fc.record({ kind: fc.constant("enter" as const), section: fc.constantFrom<Section>("irq", "revocable", "devres"), body: fc.array(tie("action"), { maxLength: 4 }) }),
  ),
}));

/** The operation names the checker reports, per op and flag; `undefined` for a call that does not sleep. */
function sleeping(a: Extract<Action, { kind: "op" }>): string | undefined {
  if (a.op === "vmalloc") return "vmalloc";
  if (a.op === "sleep") return "sleep";
  if (a.op === "stop") return "Task.stop";
  if (a.gfp === "atomic") return undefined;
  return { kmalloc: "kmalloc (GFP_KERNEL)", allocCoherent: "allocCoherent (GFP_KERNEL)", pool: "DmaPool.alloc (GFP_KERNEL)" }[a.op];
}

/** What the model predicts: the violations by key, the calls that throw. */
interface Prediction {
  readonly keys: Set<string>;
  calls: number;
  throws: number;
}

const SECTION_LABEL: Record<Section, string> = { irq: "the hard IRQ handler", revocable: "Revocable access", devres: "the Devres access" };

/** Walks `actions` as the run does; returns false if the body stopped at a throw. */
function predict(actions: readonly Action[], stack: Section[], mode: "report" | "throw", into: Prediction): boolean {
  for (const a of actions) {
    if (a.kind === "throw") return false;
    if (a.kind === "enter") {
      stack.push(a.section);
      const completed = predict(a.body, stack, mode, into);
      stack.pop();
      // A section whose body threw stops the body it is in, too: the throw passes through it.
      if (!completed) return false;
      continue;
    }
    const name = sleeping(a);
    if (name === undefined || stack.length === 0) continue;
    into.keys.add(`${name}|${SECTION_LABEL[stack.at(-1)!]}`);
    into.calls++;
    if (mode === "throw") {
      into.throws++;
      return false;
    }
  }
  return true;
}

async function run(actions: readonly Action[], mode: "report" | "throw"): Promise<void> {
  const machine = new Machine({ dmaDebug: mode });
  let pool!: DmaPool<Smuggled>;
  let entry!: Devres<Smuggled, number>;
  let task!: Task<Smuggled>;
  const { token } = await bindModel(machine, new OpenModel(), (dev) => {
    pool = createDmaPool(dev, "fuzz", 32);
    entry = Devres.new(dev, 1);
    task = spawn(dev, async (_dev, signal) => signal.whenAborted);
  });
  const binding = peekBinding(token)!;
  const heap = machine.memory.heap().allocations;
  const made: { buffers: KernelBuffer[]; coherent: CoherentAllocation<Smuggled>[]; blocks: PoolBlock<Smuggled>[]; sleeps: Promise<void>[] } = { buffers: [], coherent: [], blocks: [], sleeps: [] };
  let thrown = 0;
  const boom = new Error("boom");

  const call = (a: Extract<Action, { kind: "op" }>, dev: ProbeDevice<Smuggled>): void => {
    const gfp = a.gfp;
    switch (a.op) {
      case "kmalloc":
        made.buffers.push(kmalloc(dev, 16, gfp));
        return;
      case "allocCoherent":
        made.coherent.push(allocCoherent(dev, 64, gfp));
        return;
      case "pool":
        made.blocks.push(pool.alloc(dev, gfp));
        return;
      case "vmalloc":
        made.buffers.push(vmalloc(dev, 4096));
        return;
      case "sleep":
        made.sleeps.push(sleep(dev, 1_000));
        return;
      case "stop":
        made.sleeps.push(task.stop(dev));
        return;
    }
  };
  const exec = (body: readonly Action[]): void => {
    for (const a of body) {
      if (a.kind === "throw") throw boom;
      if (a.kind === "op") {
        try {
          call(a, token);
        } catch (error) {
          thrown++;
          expect(error).toMatchObject({ code: "EINVAL", message: expect.stringContaining("sleep-in-atomic") });
          throw error;
        }
        continue;
      }
      const inner = () => void exec(a.body);
      if (a.section === "irq") atomic("hard IRQ handler", inner, binding);
      else if (a.section === "revocable") new Revocable(0).tryAccessWith(inner);
      else entry.tryAccessWith(inner);
    }
  };

  for (const a of actions) {
    try {
      exec([a]);
    } catch {
      // A throw (the action's own, or a violation in throw mode) ends this command.
    }
    expect(atomicContext()).toBeUndefined();
  }

  const expected: Prediction = { keys: new Set(), calls: 0, throws: 0 };
  for (const a of actions) predict([a], [], mode, expected);
  const violations = machine.dmaDebug.violations.filter((v) => v.kind === "sleep-in-atomic");
  expect(violations.map((v) => v.message.match(/invalid context: (.*?) at .*, inside (.*?), which/)!.slice(1).join("|")).sort()).toEqual([...expected.keys].sort());
  expect(machine.dmaDebug.violations).toHaveLength(violations.length);
  expect(machine.dmaDebug.repeats).toBe(expected.calls - expected.keys.size);
  expect(thrown).toBe(expected.throws);

  await Promise.all(made.sleeps);
  for (const b of made.buffers) b.free();
  for (const c of made.coherent) c.free();
  for (const b of made.blocks) b.free();
  expect(machine.memory.heap().allocations).toBe(heap);
  expect(pool.inUse).toBe(0);
  await machine.pci.unplug(machine.pci.devices[0]!);
  expect(machine.memory.stats()).toMatchObject({ allocations: 0 });
}

describe("atomic-context fuzzing", () => {
  it(`${RUNS} random trees of nested atomic sections and operations match the model (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { maxLength: 8 }), fc.constantFrom<"report" | "throw">("report", "throw"), async (actions, mode) => run(actions, mode)),
      { seed: SEED, numRuns: RUNS },
    );
  }, 20_000);
});
