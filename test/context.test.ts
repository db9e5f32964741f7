/**
 * Atomic versus sleepable context (src/driver/context.ts): every operation
 * that may sleep, called inside an atomic section (a hard IRQ handler, a
 * Revocable or Devres access), is a `sleep-in-atomic` violation naming the
 * operation, the section and the call site; the same operation where
 * sleeping is allowed, or in its non-sleeping form ("atomic", GFP_ATOMIC),
 * is not. In "throw" mode the violation is thrown at the call and the
 * operation does not happen; in "report" mode it goes on, as the kernel's
 * does.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, createDmaPool, Devres, kmalloc, Machine, requestIrq, Revocable, sleep, spawn, vmalloc } from "../src/index.js";
import type { DmaDebugMode, DmaPool, IrqDevice, ProbeDevice, Task } from "../src/index.js";
import { peekBinding } from "../src/driver/binding.js";
import { atomic, atomicContext } from "../src/driver/context.js";
import { bindModel, deferred, expectCode, OpenModel, smuggle, tick } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A bound device with a DMA pool, a devres entry and a task that runs until stopped. */
async function rig(mode: DmaDebugMode = "report") {
  const machine = new Machine({ dmaDebug: mode });
  let pool!: DmaPool<Smuggled>;
  let entry!: Devres<Smuggled, { n: number }>;
  let task!: Task<Smuggled>;
  const bound = await bindModel(machine, new OpenModel(), (dev) => {
    pool = createDmaPool(dev, "ctx", 64);
    entry = Devres.new(dev, { n: 1 });
    task = spawn(dev, async (_dev, signal) => signal.whenAborted);
  });
  const binding = peekBinding(bound.token)!;
  /** Runs `run` in a hard-IRQ-like atomic section of this binding, as the IRQ core does. */
  const inHardIrq = <Result>(run: () => Result): Result => atomic("hard IRQ handler", run, binding);
  const violations = () => machine.dmaDebug.violations.filter((v) => v.kind === "sleep-in-atomic");
  return { ...bound, pool, entry, task, binding, inHardIrq, violations };
}

type Rig = Awaited<ReturnType<typeof rig>>;

/** Every sleeping operation, as a driver would write it with a token the types take (or one smuggled past them). */
const SLEEPERS: readonly (readonly [string, (r: Rig) => unknown])[] = [
  ["sleep", (r) => sleep(r.token, 1_000)],
  ["kmalloc (GFP_KERNEL)", (r) => kmalloc(r.token, 64)],
  ["vmalloc", (r) => vmalloc(r.token, 8192)],
  ["allocCoherent (GFP_KERNEL)", (r) => allocCoherent(r.token, 64)],
  ["DmaPool.alloc (GFP_KERNEL)", (r) => r.pool.alloc(r.token)],
  ["Task.stop", (r) => r.task.stop(r.token)],
];

/** The atomic sections a driver reaches. */
const SECTIONS: readonly (readonly [string, RegExp, (r: Rig, run: () => unknown) => unknown])[] = [
  ["a hard IRQ handler", /inside the hard IRQ handler,/, (r, run) => r.inHardIrq(run)],
  ["a Revocable access", /inside Revocable access,/, (_r, run) => new Revocable(1).tryAccessWith(() => void run())],
  ["a Devres access", /inside the Devres access,/, (r, run) => r.entry.tryAccessWith(() => void run())],
];

describe("each sleeping operation in each atomic section", () => {
  for (const [section, names, enter] of SECTIONS) {
    for (const [operation, call] of SLEEPERS) {
      it(`${operation} inside ${section} is sleep-in-atomic, naming the operation, the section and the call site`, async () => {
        const r = await rig();
        enter(r, () => call(r));
        const [violation, ...more] = r.violations();
        expect(more).toEqual([]);
        expect(violation).toMatchObject({ kind: "sleep-in-atomic", device: r.dev.name, driver: r.binding.driver });
        expect(violation!.message).toContain("sleeping function called from invalid context");
        expect(violation!.message).toContain(`${operation} at `);
        expect(violation!.message).toMatch(names);
        expect(violation!.callSite).toMatch(/context\.test\.ts:\d+:\d+/);
        expect(atomicContext()).toBeUndefined();
      });
    }
  }

  it("createDmaPool inside a Devres access of probe is sleep-in-atomic", async () => {
    const machine = new Machine();
    await bindModel(machine, new OpenModel(), (dev) => {
      Devres.new(dev, 1).tryAccessWith(() => void createDmaPool(dev, "late", 16));
    });
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["sleep-in-atomic"]);
    expect(machine.dmaDebug.violations[0]!.message).toContain("createDmaPool at ");
  });
});

describe("a hard IRQ handler, as the IRQ core runs it", () => {
  /** A bound device whose hard handler runs `hard` (and whose thread part runs `thread`, if given). */
  async function withHandler(hard: (dev: IrqDevice<Smuggled>) => unknown, thread?: (dev: ProbeDevice<Smuggled>) => unknown, mode: DmaDebugMode = "report") {
    const machine = new Machine({ dmaDebug: mode });
    const model = new OpenModel();
    const bound = await bindModel(machine, model, (dev) => {
      requestIrq(dev, smuggle((irq: IrqDevice<Smuggled>) => hard(irq)), thread === undefined ? undefined : { thread: smuggle(thread) });
    });
    const violations = () => machine.dmaDebug.violations.filter((v) => v.kind === "sleep-in-atomic");
    return { ...bound, violations };
  }

  it("a sleeping allocation in the handler is reported, naming the handler's section", async () => {
    const r = await withHandler((irq) => kmalloc(irq, 64).free());
    r.model.interrupt();
    const [violation] = r.violations();
    expect(violation!.message).toMatch(/kmalloc \(GFP_KERNEL\) at .*context\.test\.ts.* inside the hard IRQ handler/);
    expect(atomicContext()).toBeUndefined();
  });

  it("the GFP_ATOMIC forms in the handler are not", async () => {
    const r = await withHandler((irq) => {
      kmalloc(irq, 64, "atomic").free();
      allocCoherent(irq, 64, "atomic").free();
    });
    r.model.interrupt();
    expect(r.machine.dmaDebug.violations).toEqual([]);
  });

  it("an async handler (past the types) is reported as sleeping in the handler", async () => {
    const r = await withHandler(async () => {
      await tick();
    });
    r.model.interrupt();
    const [violation] = r.violations();
    expect(violation!.message).toMatch(/the IRQ handler returned a promise \(it is async, or awaits\), inside the hard IRQ handler/);
  });

  it("the thread part of a threaded handler may sleep", async () => {
    let slept = false;
    const r = await withHandler(
      () => "wake-thread",
      async (dev) => {
        await sleep(dev, 1_000);
        kmalloc(dev, 64).free();
        slept = true;
      },
    );
    r.model.interrupt();
    await r.machine.run(2_000);
    await tick();
    expect(slept).toBe(true);
    expect(r.machine.dmaDebug.violations).toEqual([]);
  });

  it("in throw mode the handler's sleeping call throws: logged as irq-failed, nothing allocated", async () => {
    const r = await withHandler((irq) => kmalloc(irq, 64), undefined, "throw");
    const heap = r.machine.memory.heap().allocations;
    r.model.interrupt();
    expect(r.machine.memory.heap().allocations).toBe(heap);
    expect(r.machine.events.filter((e) => e.kind === "irq-failed").map((e) => e.detail)).toEqual([expect.stringContaining("sleep-in-atomic")]);
  });
});

describe("where sleeping is allowed", () => {
  it("every sleeping operation outside an atomic section reports nothing", async () => {
    const r = await rig();
    for (const [, call] of SLEEPERS) await call(r);
    expect(r.machine.dmaDebug.violations).toEqual([]);
  });

  it("the non-sleeping forms (GFP_ATOMIC) report nothing in any atomic section", async () => {
    const r = await rig();
    for (const [, , enter] of SECTIONS) {
      enter(r, () => {
        kmalloc(r.token, 64, "atomic").free();
        allocCoherent(r.token, 64, "atomic").free();
        r.pool.alloc(r.token, "atomic").free();
      });
    }
    expect(r.machine.dmaDebug.violations).toEqual([]);
  });

  it("an explicit \"kernel\" flag is the sleeping form", async () => {
    const r = await rig();
    r.inHardIrq(() => kmalloc(r.token, 64, "kernel"));
    expect(r.violations()).toHaveLength(1);
  });

  it("what an atomic callback starts and awaits runs outside the section, where sleeping is allowed", async () => {
    const r = await rig();
    let later: Promise<void> | undefined;
    r.inHardIrq(() => {
      later = (async () => {
        await tick();
        expect(atomicContext()).toBeUndefined();
        await sleep(r.token, 1_000);
      })();
    });
    await later;
    expect(r.violations()).toEqual([]);
  });
});

describe("nesting", () => {
  it("the innermost section is named, and the outer one is atomic again after the inner one returns", async () => {
    const r = await rig();
    r.inHardIrq(() => {
      new Revocable(1).tryAccessWith(() => {
        expect(atomicContext()).toBe("Revocable access");
        kmalloc(r.token, 16);
      });
      expect(atomicContext()).toMatch(/^hard IRQ handler of /);
      vmalloc(r.token, 4096);
    });
    expect(atomicContext()).toBeUndefined();
    const [inner, outer] = r.violations();
    expect(inner!.message).toMatch(/kmalloc \(GFP_KERNEL\) at .* inside Revocable access,/);
    expect(outer!.message).toMatch(/vmalloc at .* inside the hard IRQ handler,/);
  });

  it("a section that throws leaves the stack as it found it", async () => {
    const r = await rig();
    const boom = new Error("boom");
    expect(() =>
      r.inHardIrq(() =>
        r.inHardIrq(() => {
          throw boom;
        }),
      ),
    ).toThrow(boom);
    expect(atomicContext()).toBeUndefined();
    kmalloc(r.token, 16).free();
    expect(r.violations()).toEqual([]);
  });
});

describe("report mode: the operation goes on, and a repeat is counted", () => {
  it("the sleeping allocation is made, and the sleep sleeps", async () => {
    const r = await rig();
    const heapBefore = r.machine.memory.heap().allocations;
    const buffer = r.inHardIrq(() => kmalloc(r.token, 64));
    expect(buffer.freed).toBe(false);
    expect(r.machine.memory.heap().allocations).toBe(heapBefore + 1);
    const start = r.machine.clock.now;
    await r.inHardIrq(() => sleep(r.token, 5_000));
    expect(r.machine.clock.now).toBe(start + 5_000);
  });

  it("the same call from the same place, again and again, is one violation and counted repeats", async () => {
    const r = await rig();
    for (let i = 0; i < 5; i++) r.inHardIrq(() => kmalloc(r.token, 16).free());
    expect(r.violations()).toHaveLength(1);
    expect(r.machine.dmaDebug.repeats).toBe(4);
  });
});

describe("throw mode: the violation is thrown at the call, which does not happen", () => {
  for (const [operation, call] of SLEEPERS) {
    it(`${operation} in a hard IRQ handler throws EINVAL and changes nothing`, async () => {
      const r = await rig("throw");
      const heap = r.machine.memory.heap().allocations;
      const pool = r.machine.memory.stats().allocations;
      const now = r.machine.clock.now;
      const error = expectCode(() => r.inHardIrq(() => call(r)), "EINVAL");
      expect(error.message).toContain("dma-debug: sleep-in-atomic:");
      expect(r.machine.memory.heap().allocations).toBe(heap);
      expect(r.machine.memory.stats().allocations).toBe(pool);
      expect(r.pool.inUse).toBe(0);
      expect(r.machine.clock.now).toBe(now);
      expect(atomicContext()).toBeUndefined();
      // The task was not stopped.
      let finished = false;
      void r.task.done.then(() => (finished = true));
      await tick();
      expect(finished).toBe(false);
    });
  }

  it("every repeat throws too", async () => {
    const r = await rig("throw");
    for (let i = 0; i < 3; i++) expectCode(() => r.inHardIrq(() => kmalloc(r.token, 16)), "EINVAL");
    expect(r.violations()).toHaveLength(1);
  });

  it("off mode says nothing and the operation goes on", async () => {
    const r = await rig("off");
    r.inHardIrq(() => kmalloc(r.token, 16)).free();
    expect(r.machine.dmaDebug.violations).toEqual([]);
  });
});

describe("an atomic accessor that returns a promise", () => {
  it("a standalone Revocable throws EINVAL, and the revoke still waits for the accessor", async () => {
    const log: string[] = [];
    const value = new Revocable("regs", () => void log.push("release"));
    const gate = deferred();
    const error = expectCode(
      () =>
        value.tryAccessWith(
          smuggle<() => number>(async () => {
            await gate.promise;
            log.push("accessor done");
          }),
        ),
      "EINVAL",
    );
    expect(error.message).toMatch(/the accessor returned a promise inside Revocable access.*tryAccessAsync/);
    const revoking = value.revoke();
    await tick();
    expect(log).toEqual([]);
    gate.resolve();
    await revoking;
    expect(log).toEqual(["accessor done", "release"]);
  });

  it("a Devres reports it on its binding, returns the promise, and the unbind waits for it", async () => {
    const r = await rig();
    const gate = deferred();
    const log: string[] = [];
    const result = r.entry.tryAccessWith(
      smuggle<() => number>(async () => {
        await gate.promise;
        log.push("accessor done");
        return 7;
      }),
    );
    const [violation] = r.violations();
    expect(violation!.message).toMatch(/the accessor returned a promise \(it is async, or awaits\), inside the Devres access,/);
    const unbound = r.machine.pci.unbind(r.dev);
    await tick();
    expect(log).toEqual([]);
    gate.resolve();
    await unbound;
    expect(log).toEqual(["accessor done"]);
    await expect(smuggle<Promise<number>>(result)).resolves.toBe(7);
  });

  it("in throw mode a Devres throws, and the unbind still waits for the accessor", async () => {
    const r = await rig("throw");
    const gate = deferred();
    let done = false;
    expectCode(
      () =>
        r.entry.tryAccessWith(
          smuggle<() => number>(async () => {
            await gate.promise;
            done = true;
          }),
        ),
      "EINVAL",
    );
    const unbound = r.machine.pci.unbind(r.dev);
    await tick();
    expect(done).toBe(false);
    gate.resolve();
    await unbound;
    expect(done).toBe(true);
  });

  it("a rejecting accessor's rejection is the caller's, not an unhandled one", async () => {
    const r = await rig();
    const cause = new Error("read failed");
    const result = r.entry.tryAccessWith(smuggle<() => number>(async () => Promise.reject(cause)));
    await expect(smuggle<Promise<number>>(result)).rejects.toBe(cause);
    await r.machine.pci.unbind(r.dev);
  });
});

describe("the atomic accessor", () => {
  it("a revoke started inside tryAccessWith releases the value only after the accessor returned", async () => {
    const log: string[] = [];
    const value = new Revocable("regs", (v) => void log.push(`release ${v}`));
    let revoking: Promise<boolean> | undefined;
    const result = value.tryAccessWith((v) => {
      revoking = value.revoke();
      log.push(`still reading ${v}`);
      return v.length;
    });
    expect(result).toBe(4);
    await revoking;
    expect(log).toEqual(["still reading regs", "release regs"]);
  });

  it("an accessor that throws lets a later revoke go on", async () => {
    const value = new Revocable(1);
    const boom = new Error("boom");
    expect(() =>
      value.tryAccessWith(() => {
        throw boom;
      }),
    ).toThrow(boom);
    await expect(value.revoke()).resolves.toBe(true);
    expect(atomicContext()).toBeUndefined();
  });
});

describe("the sleepable accessor", () => {
  it("tryAccessAsync may sleep: no violation, and the unbind waits for it", async () => {
    const r = await rig();
    const log: string[] = [];
    const reading = r.entry.tryAccessAsync(async (v) => {
      await sleep(r.token, 1_000);
      log.push(`read ${v.n}`);
      return v.n;
    });
    await r.machine.pci.unbind(r.dev);
    expect(log).toEqual(["read 1"]);
    expect(await reading).toBe(1);
    expect(r.violations()).toEqual([]);
  });
});

describe("Task.stop", () => {
  it("cancels the task and resolves once it finished, however it ended", async () => {
    const machine = new Machine();
    let task!: Task<Smuggled>;
    const { token } = await bindModel(machine, new OpenModel(), (dev) => {
      task = spawn(dev, async (_dev, signal) => {
        await signal.whenAborted;
        signal.throwIfAborted();
      });
    });
    await expect(task.stop(token)).resolves.toBeUndefined();
    await expect(task.done).rejects.toMatchObject({ code: "ENXIO" });
  });

  it("with another binding's token is EINVAL, with a dead one ENXIO", async () => {
    const machine = new Machine();
    const a = await rig();
    const other = await bindModel(machine, new OpenModel());
    expectCode(() => a.task.stop(smuggle<ProbeDevice<Smuggled>>(other.token)), "EINVAL");
    await machine.pci.unbind(other.dev);
    expectCode(() => a.task.stop(other.token), "ENXIO");
  });
});
