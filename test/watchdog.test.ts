/**
 * The watchdog (src/sim/watchdog.ts): a wait of the driver core that never
 * finishes is reported `hung` after `watchdogNs` of virtual time, naming what
 * it waits on, and the core goes on; the watchdog moves time itself when the
 * machine is quiet, and never reports work that progresses in virtual time,
 * or in real time for a short while. `settled()` and `asyncDispose` end with
 * `ETIMEDOUT` instead of hanging.
 */

import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine, sleep, spawn } from "../src/index.js";
import type { MachineOptions } from "../src/index.js";
import { bindModel, bindOne, deferred, expectCode, expectReject, NIC, OpenModel, smuggle } from "./helpers.js";

const WATCHDOG_NS = 10_000_000_000;
/** Real time a test may take: one the watchdog fails to end must fail fast, not at vitest's 20 s. */
const HANG_TIMEOUT_MS = 3_000;
const never = (): Promise<void> => new Promise<void>(() => {});
const hung = (machine: Machine) => machine.dmaDebug.violations.filter((v) => v.kind === "hung");

/** The machine still works: a fresh device binds, allocates, and unplugs clean. */
async function stillWorks(machine: Machine): Promise<void> {
  const other = await bindOne(machine);
  allocCoherent(other.token, 4096);
  await machine.pci.unplug(other.dev);
  expect(other.dev.state).toBe("zombie");
}

describe("a wait that never finishes is reported, and the core goes on", { timeout: HANG_TIMEOUT_MS }, () => {
  it("a task that ignores its signal: the unbind completes, hung names the task, the pool is empty, other devices work", async () => {
    const machine = new Machine();
    const { dev, driver } = await bindModel(machine, new OpenModel(), (dev) => {
      allocCoherent(dev, 4096);
      spawn(dev, never);
    });
    const busy = await bindOne(machine);
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
    const [report, ...rest] = hung(machine);
    expect(rest).toEqual([]);
    expect(report!.message).toMatch(/task #1/);
    expect(report!.message).toContain(dev.name);
    expect(report!.message).toContain(driver.name);
    expect(report!.message).toContain("10 s");
    expect(report!.device).toBe(dev.name);
    expect(report!.driver).toBe(driver.name);
    expect(report!.time).toBe(WATCHDOG_NS);
    const event = machine.events.find((e) => e.kind === "hung");
    expect(event?.waitsOn).toMatch(/^task #1/);
    expect(event?.waitedNs).toBe(WATCHDOG_NS);
    // The other device was bound all along, and still is.
    allocCoherent(busy.token, 64);
    await machine.pci.unplug(busy.dev);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    await stillWorks(machine);
    await machine.settled();
  });

  it("a remove() that never returns: the device ends zombie, devres released, pool empty", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      allocCoherent(dev, 8192);
      return { remove: never };
    });
    await machine.pci.unplug(dev);
    expect(dev.state).toBe("zombie");
    expect(hung(machine).map((v) => v.message)).toEqual([expect.stringMatching(/remove\(\)/)]);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    expect(machine.events.some((e) => e.kind === "release" && e.resource === "coherent")).toBe(true);
    await stillWorks(machine);
  });

  it("a devres release that never settles: reported, and the releases after it still run", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      allocCoherent(dev, 4096);
      Devres.new(dev, {}, () => smuggle<void>(never()));
    });
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
    expect(hung(machine).map((v) => v.message)).toEqual([expect.stringMatching(/devres release/)]);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    await stillWorks(machine);
  });

  it("work that finishes after it was reported is logged finished-late, and changes nothing else", async () => {
    const machine = new Machine();
    const gate = deferred();
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      spawn(dev, () => gate.promise);
    });
    await machine.pci.unbind(dev);
    expect(hung(machine)).toHaveLength(1);
    gate.resolve();
    await gate.promise;
    await Promise.resolve();
    const late = machine.events.find((e) => e.kind === "finished-late");
    expect(late?.waitsOn).toMatch(/^task #1/);
    expect(late?.waitedNs).toBeGreaterThanOrEqual(WATCHDOG_NS);
    expect(hung(machine)).toHaveLength(1);
  });

  it("a run that moves time past the deadline reaches it at its own virtual time", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      spawn(dev, never);
    });
    const start = machine.clock.now;
    const unbind = machine.pci.unbind(dev);
    await machine.run(5_000_000);
    await unbind;
    expect(hung(machine).map((v) => v.time)).toEqual([start + 1_000_000]);
  });

  it("each wait has its own deadline: a remove() and a task that both hang are both reported", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      spawn(dev, never);
      return { remove: never };
    });
    await machine.pci.unbind(dev);
    expect(hung(machine).map((v) => v.message)).toEqual([expect.stringMatching(/remove\(\)/), expect.stringMatching(/task #1/)]);
    expect(machine.clock.now).toBe(2_000_000);
  });

  it('in "throw" mode the unbind rejects with the hang, once the device is at rest', async () => {
    const machine = new Machine({ dmaDebug: "throw", watchdogNs: 1_000_000 });
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      allocCoherent(dev, 4096);
      spawn(dev, never);
    });
    const error = await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(error.message).toMatch(/hung: .*task #1/);
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().bytesInUse).toBe(0);
  });
});

describe("work that progresses is not reported", { timeout: HANG_TIMEOUT_MS }, () => {
  it("a remove() polling its device in virtual time for a second", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel(), () => ({
      async remove(dev) {
        for (let i = 0; i < 200; i++) await sleep(dev, 5_000_000);
      },
    }));
    await machine.pci.unbind(dev);
    expect(hung(machine)).toEqual([]);
    expect(machine.clock.now).toBeGreaterThanOrEqual(1_000_000_000);
    expect(machine.clock.now).toBeLessThan(WATCHDOG_NS);
  });

  it("a remove() waiting for its device to finish on a timer: the watchdog moves time to it, and no further", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const { dev } = await bindModel(machine, model, () => ({
      remove() {
        const done = deferred();
        model.later(7_000, () => done.resolve());
        return done.promise;
      },
    }));
    const start = machine.clock.now;
    await machine.pci.unbind(dev);
    expect(hung(machine)).toEqual([]);
    // Time moved to the device's event; the rest is the devres release steps' CPU time.
    expect(machine.clock.now - start).toBeLessThan(1_000_000);
    expect(machine.clock.now - start).toBeGreaterThanOrEqual(7_000);
  });

  it("a remove() awaiting real timers and a file read, 40 ms in all: time does not move, nothing is reported", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel(), () => ({
      async remove() {
        await new Promise((resolve) => setTimeout(resolve, 20));
        await readFile(fileURLToPath(import.meta.url));
        await new Promise((resolve) => setTimeout(resolve, 20));
      },
    }));
    const start = machine.clock.now;
    await machine.pci.unbind(dev);
    expect(hung(machine)).toEqual([]);
    expect(machine.clock.now - start).toBeLessThan(1_000_000);
  });

  it("a remove() waiting on a gate the test opens after 160 ms of real time, acting on the machine meanwhile: nothing is reported", async () => {
    const machine = new Machine();
    const gate = deferred();
    const { dev } = await bindModel(machine, new OpenModel(), () => ({ remove: () => gate.promise }));
    const busy = await bindOne(machine);
    const unbind = machine.pci.unbind(dev);
    const start = Date.now();
    while (Date.now() - start < 160) {
      allocCoherent(busy.token, 64).free();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    gate.resolve();
    await unbind;
    expect(hung(machine)).toEqual([]);
    expect(machine.clock.now).toBeLessThan(1_000_000);
  });

  it("runUntilIdle does not run to a pending deadline, and pending does not count it", async () => {
    const machine = new Machine();
    const gate = deferred();
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      spawn(dev, () => gate.promise);
    });
    const unbind = machine.pci.unbind(dev);
    await Promise.resolve();
    expect(machine.clock.pending).toBe(0);
    await machine.runUntilIdle();
    expect(machine.clock.now).toBeLessThan(WATCHDOG_NS);
    gate.resolve();
    await unbind;
    expect(hung(machine)).toEqual([]);
  });
});

describe("the clock under many watched waits", () => {
  it("cancelled events are dropped from the queue in bulk, and the rest still fire in order", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    const timers = Array.from({ length: 3000 }, (_, i) => machine.clock.after(3000 - i, () => fired.push(i)));
    for (const [i, timer] of timers.entries()) if (i % 6 !== 0) timer.cancel();
    expect(machine.clock.pending).toBe(500);
    await machine.runUntilIdle();
    expect(fired).toEqual(timers.map((_, i) => i).filter((i) => i % 6 === 0).reverse());
    expect(machine.clock.pending).toBe(0);
  });
});

describe("settled() and asyncDispose never hang silently", { timeout: HANG_TIMEOUT_MS }, () => {
  it("a probe() that never returns: settled() rejects ETIMEDOUT naming the device; the rest of the machine works", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const driver = defineDriver({ name: "stuck-probe", ids: [NIC], probe: () => smuggle<{}>(never()) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    const error = await expectReject(machine.settled(), "ETIMEDOUT");
    expect(error.message).toContain(`${dev.name} (probing)`);
    // Another device binds, allocates and unbinds on its own queue (settled() waits on every queue, so not through it).
    const other = new OpenModel();
    let allocated = false;
    await machine.pci.register(
      defineDriver({
        name: "other",
        ids: [{ vendor: other.vendor, device: other.device }],
        probe: (dev) => {
          allocated = allocCoherent(dev, 4096).size === 4096;
          return {};
        },
      }),
    );
    const otherDev = machine.pci.plug(other);
    await machine.pci.unbind(otherDev);
    expect(allocated).toBe(true);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    await expectReject(machine[Symbol.asyncDispose](), "ETIMEDOUT");
  });

  it("settled() waits out every hung wait of an unbind in progress, then resolves", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      spawn(dev, never);
      spawn(dev, never);
      return { remove: never };
    });
    const unbind = machine.pci.unbind(dev);
    await machine.settled();
    await unbind;
    expect(hung(machine)).toHaveLength(3);
    expect(dev.state).toBe("no-driver");
  });

  it("asyncDispose of a machine with a hung task resolves, every device unplugged", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      allocCoherent(dev, 4096);
      spawn(dev, never);
    });
    await machine[Symbol.asyncDispose]();
    expect(dev.state).toBe("zombie");
    expect(hung(machine)).toHaveLength(1);
    expect(machine.memory.stats().bytesInUse).toBe(0);
  });
});

describe("watchdogNs", { timeout: HANG_TIMEOUT_MS }, () => {
  it("is a positive whole number of ns: anything else is EINVAL", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, "10", null]) {
      const error = expectCode(() => new Machine(smuggle<MachineOptions>({ watchdogNs: bad })), "EINVAL");
      expect(error.message).toContain("watchdogNs");
    }
  });

  it("sets how long a wait may take", async () => {
    const machine = new Machine({ watchdogNs: 2_000_000 });
    const { dev } = await bindModel(machine, new OpenModel(), () => ({
      async remove(dev) {
        await sleep(dev, 3_000_000);
      },
    }));
    await machine.pci.unbind(dev);
    expect(hung(machine).map((v) => v.message)).toEqual([expect.stringMatching(/waited 2 ms of virtual time for remove\(\)/)]);
  });
});

describe("a script with a hung task", () => {
  it("exits 0, not 13, and prints the report", { timeout: 20_000 }, async () => {
    const root = fileURLToPath(new URL("..", import.meta.url));
    const outfile = `${root}.tmp/watchdog/hung-task.mjs`;
    await build({ entryPoints: [`${root}test/watchdog/hung-task.ts`], outfile, bundle: true, format: "esm", platform: "node", target: "node20", logLevel: "warning" });
    const { stdout } = await promisify(execFile)(process.execPath, [outfile], { cwd: root, encoding: "utf8" });
    expect(stdout).toMatch(/^hung: .*task #1.*driver "stuck"/m);
    expect(stdout).toContain("state no-driver, pool 0 bytes in use");
  });
});
