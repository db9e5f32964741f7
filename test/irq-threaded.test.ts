/**
 * Threaded handlers, disable/enable, synchronize and free (src/driver/irq.ts):
 * the hard part runs in atomic context and may wake the thread part, which
 * runs after it with a TaskDevice and may sleep; wakes while it runs make one
 * more run; a oneshot line stays masked until the thread returns; free()
 * waits for a running thread and is refused from the handler's own parts.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, allocIrqVectors, Machine, requestIrq, sleep } from "../src/index.js";
import type { IrqHandle, IrqHandler, IrqOptions, IrqThread, TaskDevice } from "../src/index.js";
import { atomicContext } from "../src/driver/context.js";
import { bindModel, deferred, expectCode, OpenModel, released, tick } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

class MsiModel extends OpenModel {
  vector(index: number): void {
    this.raiseMsi(index);
  }
}

async function threaded(handler: IrqHandler<Smuggled> | null, options: IrqOptions<Smuggled>, machine = new Machine(), model = new OpenModel()) {
  let irq!: IrqHandle<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    // Safe for the test: the overloads take null only with a thread, which every caller passes.
    irq = handler === null ? requestIrq(dev, null, { ...options, thread: options.thread! }) : requestIrq(dev, handler, options);
  });
  return { ...bound, irq };
}

/** Lets every queued microtask and promise chain run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

describe("the thread part", () => {
  it("runs after the hard part returns wake-thread, outside atomic context, with the token as a TaskDevice", async () => {
    const log: string[] = [];
    const { model, token, irq } = await threaded(
      () => {
        log.push(`hard ${atomicContext() === undefined ? "process" : "atomic"}`);
        return "wake-thread";
      },
      {
        thread: (dev) => {
          expect(dev).toBe(token);
          log.push(`thread ${atomicContext() === undefined ? "process" : "atomic"}`);
        },
      },
    );
    model.interrupt();
    expect(log).toEqual(["hard atomic"]);
    await settle();
    expect(log).toEqual(["hard atomic", "thread process"]);
    expect(irq.count).toBe(1);
  });

  it("may sleep, in virtual time", async () => {
    const times: number[] = [];
    const { machine, model } = await threaded(() => "wake-thread", {
      thread: async (dev) => {
        await sleep(dev, 5_000);
        times.push(machine.clock.now);
      },
    });
    model.later(1_000, () => model.interrupt());
    await machine.run(10_000);
    await settle();
    expect(times).toHaveLength(1);
    expect(times[0]).toBeGreaterThanOrEqual(6_000);
  });

  it("wakes while it runs make one more run, not one each (IRQTF_RUNTHREAD)", async () => {
    const gate = deferred();
    let runs = 0;
    const { model, irq } = await threaded(() => "wake-thread", {
      thread: async () => {
        runs++;
        if (runs === 1) await gate.promise;
      },
    });
    model.interrupt();
    await settle();
    model.interrupt();
    model.interrupt();
    model.interrupt();
    expect(irq.count).toBe(4);
    gate.resolve();
    await settle();
    expect(runs).toBe(2);
  });

  it("with no hard handler, the default one wakes the thread and the line stays masked until it returns (oneshot)", async () => {
    const gate = deferred();
    let runs = 0;
    const { model, irq } = await threaded(null, {
      thread: async () => {
        runs++;
        if (runs === 1) await gate.promise;
      },
    });
    model.interrupt();
    await settle();
    model.interrupt();
    model.interrupt();
    expect(irq.count).toBe(1);
    gate.resolve();
    await settle();
    expect(irq.count).toBe(2);
    expect(runs).toBe(2);
  });

  it("a thread that throws is logged as irq-failed; the next wake runs it again", async () => {
    let runs = 0;
    const { machine, model } = await threaded(() => "wake-thread", {
      thread: () => {
        runs++;
        throw new Error("thread bug");
      },
    });
    model.interrupt();
    await settle();
    model.interrupt();
    await settle();
    expect(runs).toBe(2);
    expect(machine.events.filter((e) => e.kind === "irq-failed").map((e) => e.detail)).toEqual(["thread bug", "thread bug"]);
  });

  it("wake-thread from a handler with no thread part is logged as irq-failed", async () => {
    const { machine, model } = await threaded(() => "wake-thread", {});
    model.interrupt();
    expect(machine.events.filter((e) => e.kind === "irq-failed").map((e) => e.detail)).toEqual([expect.stringContaining("no thread part")]);
  });

  it("null with no thread, or null with oneshot false, is EINVAL", async () => {
    await bindModel(new Machine(), new OpenModel(), (dev) => {
      expectCode(() => requestIrq(dev, null, JSON.parse("{}")), "EINVAL");
      expectCode(() => requestIrq(dev, null, { thread: () => {}, oneshot: false }), "EINVAL");
      expectCode(() => requestIrq(dev, () => {}, { thread: JSON.parse('"thread"') }), "EINVAL");
    });
  });

  it("on MSI-X vectors too", async () => {
    const model = new MsiModel({ msix: 2 });
    const log: string[] = [];
    await bindModel(new Machine(), model, (dev) => {
      const vectors = allocIrqVectors(dev, 2, 2);
      vectors.request(1, null, { thread: () => void log.push("thread 1") });
    });
    model.vector(1);
    await settle();
    expect(log).toEqual(["thread 1"]);
  });
});

describe("free", () => {
  it("waits for the running thread; no part runs after it, not even a wake made before", async () => {
    const gate = deferred();
    let runs = 0;
    const { model, irq } = await threaded(() => "wake-thread", {
      thread: async () => {
        runs++;
        await gate.promise;
      },
    });
    model.interrupt();
    await settle();
    model.interrupt();
    let freed = false;
    const done = irq.free().then(() => (freed = true));
    expect(irq.freed).toBe(true);
    model.interrupt();
    await settle();
    expect(freed).toBe(false);
    gate.resolve();
    await done;
    expect(runs).toBe(1);
    expect(irq.count).toBe(2);
  });

  it("a wake then a free before the thread started: the thread never runs", async () => {
    let runs = 0;
    const { model, irq } = await threaded(() => "wake-thread", { thread: () => void runs++ });
    model.interrupt();
    await irq.free();
    await settle();
    expect(runs).toBe(0);
  });

  it("from the handler's own hard part is EBUSY (it would wait for itself)", async () => {
    let error: unknown;
    const { model, irq } = await threaded(() => {
      error = expectCode(() => irq.free(), "EBUSY");
    }, {});
    model.interrupt();
    expect(String(error)).toContain("deadlock");
    expect(irq.freed).toBe(false);
  });

  it("from the start of its own thread part is EBUSY", async () => {
    let error: unknown;
    const { model, irq } = await threaded(() => "wake-thread", {
      thread: () => {
        error = expectCode(() => irq.free(), "EBUSY");
      },
    });
    model.interrupt();
    await settle();
    expect(String(error)).toContain("thread part");
  });

  it("await using frees it and waits", async () => {
    let runs = 0;
    let handle: IrqHandle<Smuggled> | undefined;
    const model = new OpenModel();
    await bindModel(new Machine(), model, (dev) => {
      void (async () => {
        await using irq = requestIrq(dev, () => "wake-thread", { thread: () => void runs++ });
        handle = irq;
        model.interrupt();
      })();
    });
    await settle();
    expect(handle?.freed).toBe(true);
    expect(runs).toBe(0);
  });
});

describe("synchronize", () => {
  it("resolves at once when nothing runs, and after the thread when it does", async () => {
    const gate = deferred();
    const { model, irq } = await threaded(() => "wake-thread", { thread: () => gate.promise });
    await irq.synchronize();
    model.interrupt();
    await settle();
    let synced = false;
    const done = irq.synchronize().then(() => (synced = true));
    await settle();
    expect(synced).toBe(false);
    gate.resolve();
    await done;
  });

  it("from the handler's own hard part is EBUSY", async () => {
    let error: unknown;
    const { model, irq } = await threaded(() => {
      error = expectCode(() => irq.synchronize(), "EBUSY");
    }, {});
    model.interrupt();
    expect(error).toBeDefined();
  });
});

describe("disable and enable", () => {
  it("nest; a raise while disabled is delivered once at the last enable", async () => {
    let calls = 0;
    const { model, irq } = await threaded(() => void calls++, {});
    irq.disable();
    irq.disable();
    model.interrupt();
    model.interrupt();
    irq.enable();
    expect(calls).toBe(0);
    irq.enable();
    expect(calls).toBe(1);
    model.interrupt();
    expect(calls).toBe(2);
  });

  it("with nothing raised meanwhile, enable delivers nothing", async () => {
    let calls = 0;
    const { irq } = await threaded(() => void calls++, {});
    irq.disable();
    irq.enable();
    expect(calls).toBe(0);
  });

  it("disable from the handler itself (disable_irq_nosync) holds later raises", async () => {
    let calls = 0;
    const { model, irq } = await threaded(() => {
      calls++;
      irq.disable();
    }, {});
    model.interrupt();
    model.interrupt();
    expect(calls).toBe(1);
    irq.enable();
    expect(calls).toBe(2);
  });

  it("an unbalanced enable is EINVAL; either after free is EINVAL", async () => {
    const { irq } = await threaded(() => {}, {});
    expect(expectCode(() => irq.enable(), "EINVAL").message).toContain("unbalanced");
    await irq.free();
    expectCode(() => irq.disable(), "EINVAL");
    expectCode(() => irq.enable(), "EINVAL");
  });

  it("an MSI-X vector disabled keeps its raise pending (edge) and delivers it at enable", async () => {
    const model = new MsiModel({ msix: 1 });
    let calls = 0;
    let irq!: IrqHandle<Smuggled>;
    await bindModel(new Machine(), model, (dev) => {
      irq = allocIrqVectors(dev, 1, 1).request(0, () => void calls++);
    });
    irq.disable();
    model.vector(0);
    expect(calls).toBe(0);
    irq.enable();
    expect(calls).toBe(1);
  });
});

describe("at unbind", () => {
  it("a running thread finishes while the token lives, before devres release", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const log: string[] = [];
    const thread: IrqThread<Smuggled> = async (dev: TaskDevice<Smuggled>) => {
      await sleep(dev, 10_000);
      allocCoherent(dev, 64).free();
      log.push("thread done");
    };
    const { dev } = await bindModel(machine, model, (dev) => {
      allocCoherent(dev, 4096);
      requestIrq(dev, () => "wake-thread", { thread });
    });
    model.interrupt();
    await settle();
    const unbound = machine.pci.unbind(dev);
    await machine.run(20_000);
    await unbound;
    expect(log).toEqual(["thread done"]);
    expect(machine.events.filter((e) => e.kind === "irq-failed")).toEqual([]);
    expect(released(machine)).toEqual(["irq", "coherent 4096 bytes"]);
  });

  it("no part of a threaded handler runs after unbind", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    let runs = 0;
    const { dev } = await bindModel(machine, model, (dev) => {
      requestIrq(dev, () => "wake-thread", { thread: () => void runs++ });
    });
    await machine.pci.unbind(dev);
    model.interrupt();
    await settle();
    expect(runs).toBe(0);
  });
});
