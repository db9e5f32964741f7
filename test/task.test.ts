/**
 * Spawned work (src/task.ts): async tasks bound to a binding. At unbind the
 * core aborts each task's signal after `remove()` returns and waits for every
 * task to finish before devres release (cancel-and-wait), so no task outlives
 * the memory it uses. A task that stops by `throwIfAborted()` ended as asked;
 * one that fails otherwise is logged.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, BoundscopeError, defineDriver, Devres, Machine, requestIrq, setDmaMask, spawn } from "../src/index.js";
import type { ProbeDevice, Task, TaskSignal, TaskWork } from "../src/index.js";
import { bindModel, deferred, expectCode, expectReject, OpenModel, smuggle, tick } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A device whose driver spawns `work` in probe, with a devres entry taken before it that logs its release. */
async function spawned(work: TaskWork<Smuggled>, log: string[] = [], machine = new Machine()) {
  const model = new OpenModel();
  let task!: Task<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    Devres.new(dev, "state", () => void log.push("devres released"));
    task = spawn(dev, work);
    return { remove: () => void log.push("remove") };
  });
  return { task, log, ...bound };
}

describe("a task", () => {
  it("runs at once with the binding's token and a signal that is not aborted", async () => {
    const seen: unknown[] = [];
    const { token } = await spawned(async (dev, signal) => {
      seen.push(dev, signal.aborted);
    });
    expect(seen).toEqual([token, false]);
    expect(seen[0]).toBe(token);
  });

  it("done resolves when the work does", async () => {
    const gate = deferred();
    const { task } = await spawned(async () => {
      await gate.promise;
    });
    let finished = false;
    void task.done.then(() => (finished = true));
    await tick();
    expect(finished).toBe(false);
    gate.resolve();
    await task.done;
    expect(finished).toBe(true);
  });

  it("can use the binding's memory while it runs", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const step = deferred();
    let seen: number | undefined;
    await bindModel(machine, model, (dev) => {
      const buf = allocCoherent(dev, 16);
      buf.view(dev).setUint32(0, 7, true);
      spawn(dev, async (dev) => {
        await step.promise;
        seen = buf.view(dev).getUint32(0, true);
      });
    });
    step.resolve();
    await tick();
    expect(seen).toBe(7);
  });

  it("cancel() aborts its signal now; the device stays bound", async () => {
    const { task, dev } = await spawned(async (_, signal) => {
      await signal.whenAborted;
    });
    task.cancel();
    await task.done;
    expect(dev.state).toBe("bound");
  });

  it("is not in the core context: a core-only call from its first await after probe() is EPERM", async () => {
    const outcome = deferred<unknown>();
    await spawned(async (dev) => {
      await Promise.resolve();
      try {
        setDmaMask(smuggle<ProbeDevice<Smuggled>>(dev), 64);
        outcome.resolve("set");
      } catch (error) {
        outcome.resolve(error);
      }
    });
    expect(await outcome.promise).toMatchObject({ code: "EPERM" });
  });
});

describe("cancel-and-wait at unbind", () => {
  it("the signal aborts after remove() returns, not before", async () => {
    const log: string[] = [];
    let signal!: TaskSignal;
    const { dev, machine } = await spawned(async (_, s) => {
      signal = s;
      await s.whenAborted;
      log.push("task saw abort");
    }, log);
    expect(signal.aborted).toBe(false);
    await machine.pci.unbind(dev);
    expect(signal.aborted).toBe(true);
    expect(log.slice(0, 2)).toEqual(["remove", "task saw abort"]);
  });

  it("the core waits for the task to finish before devres release", async () => {
    const log: string[] = [];
    const { dev, machine } = await spawned(async (_, signal) => {
      await signal.whenAborted;
      log.push("task cleans up");
      await tick();
      log.push("task done");
    }, log);
    await machine.pci.unbind(dev);
    expect(log).toEqual(["remove", "task cleans up", "task done", "devres released"]);
  });

  it("the task's token stays live while it winds down, and is dead after", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const outcomes: unknown[] = [];
    let escaped: ProbeDevice<Smuggled> | undefined;
    const { dev } = await bindModel(machine, model, (dev) => {
      const buf = allocCoherent(dev, 16);
      spawn(dev, async (dev, signal) => {
        escaped = smuggle(dev);
        await signal.whenAborted;
        buf.view(dev).setUint8(0, 1);
        outcomes.push(dev.state);
      });
    });
    await machine.pci.unbind(dev);
    expect(outcomes).toEqual(["unbinding"]);
    expectCode(() => allocCoherent(escaped!, 8), "ENXIO");
  });

  it("unbind waits for a slow task, and devres is untouched until it ends", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { dev, machine } = await spawned(async (_, signal) => {
      await signal.whenAborted;
      await gate.promise;
      log.push("task done");
    }, log);
    let unbound = false;
    const unbinding = machine.pci.unbind(dev).then(() => (unbound = true));
    for (let i = 0; i < 5; i++) await tick();
    expect(unbound).toBe(false);
    expect(dev.state).toBe("unbinding");
    expect(log).toEqual(["remove"]);
    gate.resolve();
    await unbinding;
    expect(log).toEqual(["remove", "task done", "devres released"]);
    expect(dev.state).toBe("no-driver");
  });

  it("a task that waits for the device to go idle holds the unbind until the device does", async () => {
    // The task stops the engine and waits for its completion interrupt,
    // which the device raises 5 µs later in virtual time.
    const machine = new Machine();
    const model = new OpenModel({ bars: [16] });
    const log: string[] = [];
    const { dev } = await bindModel(machine, model, (dev) => {
      let idle: (() => void) | undefined;
      requestIrq(dev, () => idle?.());
      spawn(dev, async (_, signal) => {
        await signal.whenAborted;
        await new Promise<void>((resolve) => {
          idle = resolve;
          model.later(5_000, () => model.interrupt());
        });
        log.push(`idle at ${machine.clock.now}`);
      });
      Devres.new(dev, 0, () => void log.push(`released at ${machine.clock.now}`));
    });
    const unbinding = machine.pci.unbind(dev);
    await machine.run(10_000);
    await unbinding;
    expect(log).toEqual(["idle at 5000", "released at 5000"]);
  });

  it("every task is aborted and awaited, however many", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const ended: number[] = [];
    const log: string[] = [];
    const { dev } = await bindModel(machine, model, (dev) => {
      Devres.new(dev, 0, () => void log.push(`released after ${ended.length} tasks`));
      for (let i = 0; i < 5; i++) {
        spawn(dev, async (_, signal) => {
          await signal.whenAborted;
          for (let j = 0; j < i; j++) await tick();
          ended.push(i);
        });
      }
    });
    await machine.pci.unbind(dev);
    expect(ended.sort()).toEqual([0, 1, 2, 3, 4]);
    expect(log).toEqual(["released after 5 tasks"]);
  });

  it("a task that already finished is not waited for", async () => {
    const log: string[] = [];
    const { dev, machine, task } = await spawned(async () => {
      log.push("quick task");
    }, log);
    await task.done;
    await machine.pci.unbind(dev);
    expect(log).toEqual(["quick task", "remove", "devres released"]);
  });

  it("unplug cancels and waits too", async () => {
    const log: string[] = [];
    const { dev, machine } = await spawned(async (_, signal) => {
      await signal.whenAborted;
      await tick();
      log.push("task done");
    }, log);
    await machine.pci.unplug(dev);
    expect(log).toEqual(["remove", "task done", "devres released"]);
    expect(dev.state).toBe("zombie");
  });

  it("a task spawned in remove() is aborted as soon as remove() returns, and awaited", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const log: string[] = [];
    const { dev } = await bindModel(machine, model, (dev) => {
      Devres.new(dev, 0, () => void log.push("devres released"));
      return {
        remove(dev) {
          spawn(dev, async (_, signal) => {
            log.push(`flush task starts, aborted=${signal.aborted}`);
            await signal.whenAborted;
            log.push("flush task done");
          });
        },
      };
    });
    await machine.pci.unbind(dev);
    expect(log).toEqual(["flush task starts, aborted=false", "flush task done", "devres released"]);
  });

  it("tasks of a probe that failed are aborted and awaited before its resources are released", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const log: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "refuses",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          Devres.new(dev, 0, () => void log.push("devres released"));
          spawn(dev, async (_, signal) => {
            await signal.whenAborted;
            log.push("task done");
          });
          throw new Error("no");
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    expect(log).toEqual(["task done", "devres released"]);
    expect(dev.state).toBe("no-driver");
  });
});

describe("ending a task", () => {
  it("throwIfAborted() throws ENXIO once aborted; that is a clean stop, not a failure", async () => {
    const { dev, machine, task } = await spawned(async (_, signal) => {
      signal.throwIfAborted();
      await signal.whenAborted;
      signal.throwIfAborted();
    });
    await machine.pci.unbind(dev);
    const error = await expectReject(task.done, "ENXIO");
    expect(error.message).toContain("cancelled");
    expect(machine.events.some((e) => e.kind === "task-failed")).toBe(false);
  });

  it("a polling loop ends at the first check after the abort", async () => {
    let rounds = 0;
    const { dev, machine } = await spawned(async (_, signal) => {
      for (;;) {
        signal.throwIfAborted();
        rounds++;
        await tick();
      }
    });
    await tick();
    await machine.pci.unbind(dev);
    const at = rounds;
    await tick();
    expect(rounds).toBe(at);
    expect(machine.events.some((e) => e.kind === "task-failed")).toBe(false);
  });

  it("a task that fails is logged as task-failed with its error; done rejects; the device stays bound", async () => {
    const boom = new Error("dma engine timeout");
    const { dev, driver, machine, task } = await spawned(async () => {
      await tick();
      throw boom;
    });
    await expect(task.done).rejects.toBe(boom);
    await tick();
    expect(machine.events.filter((e) => e.kind === "task-failed")).toEqual([
      expect.objectContaining({ device: dev.name, driver: driver.name, error: boom }),
    ]);
    expect(dev.state).toBe("bound");
  });

  it("work that throws synchronously fails the task, not spawn()", async () => {
    const boom = new Error("sync bug");
    const { machine, task } = await spawned(smuggle<TaskWork<Smuggled>>(() => {
      throw boom;
    }));
    await expect(task.done).rejects.toBe(boom);
    await tick();
    expect(machine.events.find((e) => e.kind === "task-failed")).toMatchObject({ error: boom });
  });

  it("a task that fails while winding down is logged, and the unbind still completes", async () => {
    const log: string[] = [];
    const failure = new Error("cleanup failed");
    const { dev, machine } = await spawned(async (_, signal) => {
      await signal.whenAborted;
      throw failure;
    }, log);
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
    expect(log).toEqual(["remove", "devres released"]);
    expect(machine.events.filter((e) => e.kind === "task-failed")).toEqual([expect.objectContaining({ device: dev.name, error: failure })]);
  });

  it("an ENXIO thrown before any abort is a failure: only a cancelled task may stop that way", async () => {
    const { machine, task } = await spawned(async () => {
      await tick();
      throw new BoundscopeError("ENXIO", "some other binding is gone");
    });
    await expectReject(task.done, "ENXIO");
    await tick();
    expect(machine.events.filter((e) => e.kind === "task-failed")).toHaveLength(1);
  });
});

describe("spawning", () => {
  it("work that is not a function is EINVAL", async () => {
    let error: unknown;
    await bindModel(new Machine(), new OpenModel(), (dev) => {
      error = expectCode(() => spawn(dev, smuggle<TaskWork<Smuggled>>("poll")), "EINVAL");
    });
    expect(error).toBeDefined();
  });

  it("is core-only: from a smuggled token after probe it is EPERM, even while bound", async () => {
    const { token, dev } = await bindModel(new Machine(), new OpenModel());
    expect(dev.state).toBe("bound");
    expectCode(() => spawn(token, async () => {}), "EPERM");
  });

  it("from an interrupt handler is EPERM", async () => {
    const model = new OpenModel();
    const errors: unknown[] = [];
    await bindModel(new Machine(), model, (dev) => {
      requestIrq(dev, (dev) => void errors.push(expectCode(() => spawn(smuggle<ProbeDevice<Smuggled>>(dev), async () => {}), "EPERM")));
    });
    model.interrupt();
    expect(errors).toHaveLength(1);
  });

  it("with a dead token is ENXIO", async () => {
    const { token, dev, machine } = await bindModel(new Machine(), new OpenModel());
    await machine.pci.unbind(dev);
    expectCode(() => spawn(token, async () => {}), "ENXIO");
  });
});
