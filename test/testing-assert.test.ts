/**
 * The assertions (src/testing/assert.ts): each passes on a clean machine and
 * fails on the problem it names, with an error that lists every problem and
 * tells the story; `checkMachine` lists them all, each once; the interrupt
 * controller's `requested()` says which lines still have handlers; and
 * `watchUnhandledRejections` hears a promise nobody handled.
 */

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, kmalloc, Machine, requestIrq } from "boundscope";
import type { DriverInstance } from "boundscope";
import { assertClean, assertIrqsFreed, assertNoHungUnbind, assertNoViolations, assertPoolEmpty, checkMachine, DriverAssertionError, watchUnhandledRejections } from "boundscope/testing";
import { machineInternals } from "../src/machine.js";
import { ringNicDriver, startTraffic } from "../examples/ring-nic.js";
import { RingNicModel } from "../examples/models/ring-nic-model.js";
import { bindModel, expectCode, NIC, OpenModel, thrownBy } from "./helpers.js";

const ASSERTIONS = { assertNoViolations, assertPoolEmpty, assertNoHungUnbind, assertIrqsFreed, assertClean } as const;

/** ring-nic with traffic, then unplugged (clean) or, as buggy-nic, unbound with its engine running. */
async function ringNic(driver: "ring-nic" | "buggy-nic", end: "unplug" | "unbind" | "none"): Promise<Machine> {
  const machine = new Machine();
  await machine.pci.register(ringNicDriver({ name: driver, halt: driver === "ring-nic" }));
  const dev = machine.pci.plug(new RingNicModel("0000:00:05.0"));
  await machine.settled();
  await startTraffic(machine, dev, { frames: 40 });
  await machine.run(20_000);
  if (end === "unplug") await machine.pci.unplug(dev);
  if (end === "unbind") await machine.pci.unbind(dev);
  return machine;
}

/** What `run` threw, which must be a DriverAssertionError. */
function assertionError(run: () => unknown): DriverAssertionError {
  const error = thrownBy(run);
  expect(error).toBeInstanceOf(DriverAssertionError);
  return error as DriverAssertionError;
}

describe("on a clean machine", () => {
  it("every assertion passes once the driver is gone, and checkMachine finds nothing", async () => {
    const machine = await ringNic("ring-nic", "unplug");
    for (const assertion of Object.values(ASSERTIONS)) assertion(machine);
    expect(checkMachine(machine)).toEqual([]);
  });

  it("memory and IRQs are rightly in use while the device is bound: those two fail, naming them", async () => {
    const machine = await ringNic("ring-nic", "none");
    assertNoViolations(machine);
    assertNoHungUnbind(machine);
    const pool = assertionError(() => assertPoolEmpty(machine));
    expect(pool.problems).toEqual([expect.stringMatching(/^the coherent pool still holds 139264 bytes in 4 allocations \(allocCoherent, DmaPool\): 512 bytes at 0x40000000 for 0000:00:05\.0 \(driver "ring-nic"\), allocated at t=0 ns; /)]);
    const irqs = assertionError(() => assertIrqsFreed(machine));
    expect(irqs.problems).toEqual([expect.stringMatching(/^irq \d+ \(legacy\) still has a handler requested: irq \d+ of device 0000:00:05\.0 .*driver "ring-nic"/)]);
  });
});

describe("each assertion fails on its problem, naming it and telling the story", () => {
  it("assertNoViolations: one problem per violation, with its kind, device, driver, time and message", async () => {
    const machine = await ringNic("buggy-nic", "unbind");
    const error = assertionError(() => assertNoViolations(machine));
    const violations = machine.dmaDebug.violations;
    const n = violations.length;
    expect(n).toBeGreaterThanOrEqual(3);
    expect(error.problems).toEqual(violations.map((v) => `violation ${v.kind} on 0000:00:05.0 (driver "buggy-nic") at t=${v.time / 1000} µs: ${v.message}`));
    expect(error.name).toBe("DriverAssertionError");
    expect(error).toBeInstanceOf(Error);
    const [head, first] = error.message.split("\n");
    expect(head).toBe(`assertNoViolations: ${n} problems`);
    expect(first).toBe(`  1. ${error.problems[0]}`);
    // Then the story, with every violation in it.
    expect(error.story.split("\n")[0]).toBe(`story: ${machine.events.length} events, t=0 ns to t=${machine.events.at(-1)!.time / 1000} µs, ${n} violations`);
    expect(error.message.endsWith(`\n\n${error.story}`)).toBe(true);
    expect(error.message.match(/!! VIOLATION /g)).toHaveLength(n);
  });

  it("assertPoolEmpty: a kmalloc buffer a driver never freed is still in the kernel heap after unplug", async () => {
    const machine = new Machine();
    await machine.pci.register(defineDriver({ name: "leaky", ids: [NIC], probe: (dev) => (kmalloc(dev, 100), {}) }));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    const error = assertionError(() => assertPoolEmpty(machine));
    expect(error.problems).toEqual([
      "the kernel heap still holds 128 bytes in 1 kmalloc/vmalloc buffer: they are not device-managed, so a driver frees them itself (kfree/vfree) before its binding ends",
    ]);
    expect(error.message).toContain('probe() by "leaky" begins');
  });

  it("assertNoHungUnbind: a remove() that never returns, reported by the watchdog; listed once by checkMachine", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const { dev } = await bindModel(machine, new OpenModel(), () => ({ remove: () => new Promise<void>(() => {}) }) as DriverInstance<"smuggled">);
    await machine.pci.unbind(dev);
    const error = assertionError(() => assertNoHungUnbind(machine));
    expect(error.problems).toEqual([expect.stringMatching(/^violation hung on .* at t=\d+ (µs|ms): .*waited 1 ms of virtual time for remove\(\) of driver "model-driver-[0-9a-f]+"/)]);
    // The hang is also a violation: the same line, once.
    expect(checkMachine(machine)).toEqual(error.problems);
    expect(assertionError(() => assertClean(machine)).problems).toEqual(error.problems);
  });

  it("assertNoHungUnbind with the checker off: the event log still tells of the hang", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000, dmaDebug: "off" });
    const { dev } = await bindModel(machine, new OpenModel(), () => ({ remove: () => new Promise<void>(() => {}) }) as DriverInstance<"smuggled">);
    await machine.pci.unbind(dev);
    assertNoViolations(machine);
    expect(assertionError(() => assertNoHungUnbind(machine)).problems).toEqual([
      expect.stringMatching(/^hung: on .*, the driver core gave up waiting for remove\(\) of driver "model-driver-[0-9a-f]+" on device .* after 1 ms, at t=1 ms$/),
    ]);
  });

  it("assertIrqsFreed: an IRQ requested with { managed: false } and never freed is irq-leaked", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => void requestIrq(dev, () => {}, { managed: false }));
    await machine.pci.unbind(dev);
    const error = assertionError(() => assertIrqsFreed(machine));
    expect(error.problems).toEqual([expect.stringMatching(/^violation irq-leaked on /)]);
    // Only that: no line is left with a handler, as the core freed it.
    expect(machineInternals(machine).hw.irqChip.requested()).toEqual([]);
  });

  it("assertClean: every problem of the four, in one error", async () => {
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "everything-wrong",
        ids: [NIC],
        probe(dev) {
          kmalloc(dev, 64);
          allocCoherent(dev, 4096);
          requestIrq(dev, () => {}, { managed: false });
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    const error = assertionError(() => assertClean(machine));
    expect(error.problems.map((p) => p.split(/[:(]/)[0]!.trim())).toEqual(["violation irq-leaked on 0000", "the kernel heap still holds 64 bytes in 1 kmalloc/vmalloc buffer"]);
    expect(error.message.startsWith("assertClean: 2 problems\n  1. violation irq-leaked")).toBe(true);
  });
});

describe("the interrupt controller's requested()", () => {
  it("lists each line that has handlers, with every handler on a shared line, and drops a line once its last handler goes", async () => {
    const machine = new Machine();
    const a = await bindModel(machine, new OpenModel({ intx: 11 }), (dev) => void requestIrq(dev, () => {}, { shared: true }));
    const b = await bindModel(machine, new OpenModel({ intx: 11 }), (dev) => void requestIrq(dev, () => {}, { shared: true }));
    const chip = machineInternals(machine).hw.irqChip;
    expect(chip.requested()).toEqual([{ irq: 11, kind: "legacy", handlers: [expect.stringContaining(a.driver.name), expect.stringContaining(b.driver.name)] }]);
    await machine.pci.unbind(a.dev);
    expect(chip.requested()).toEqual([{ irq: 11, kind: "legacy", handlers: [expect.stringContaining(b.driver.name)] }]);
    await machine.pci.unplug(b.dev);
    expect(chip.requested()).toEqual([]);
  });
});

describe("watchUnhandledRejections", () => {
  // vitest fails a run on any unhandled rejection it hears: while these tests make one, only the watch listens.
  let saved: ((...args: unknown[]) => void)[] = [];
  beforeEach(() => {
    saved = process.listeners("unhandledRejection") as typeof saved;
    process.removeAllListeners("unhandledRejection");
  });
  afterEach(() => {
    process.removeAllListeners("unhandledRejection");
    for (const listener of saved) process.on("unhandledRejection", listener);
  });
  const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));

  it("hears a rejection nobody handled, and assertNone names it", async () => {
    const rejections = watchUnhandledRejections();
    try {
      void Promise.reject(new Error("the task's promise, lost"));
      await macrotask();
      expect(rejections.reasons).toEqual([new Error("the task's promise, lost")]);
      const error = assertionError(() => rejections.assertNone());
      expect(error.problems).toEqual([expect.stringMatching(/^unhandled rejection: Error: the task's promise, lost \(at .*testing-assert\.test\.ts:\d+:\d+\)$/)]);
      expect(error.message.startsWith("watchUnhandledRejections: 1 problem\n")).toBe(true);
    } finally {
      rejections.stop();
    }
  });

  it("forgets one handled late, and stops listening at stop() or the end of a using block", async () => {
    const before = process.listenerCount("unhandledRejection");
    {
      using rejections = watchUnhandledRejections();
      expect(process.listenerCount("unhandledRejection")).toBe(before + 1);
      const late = Promise.reject(new Error("handled late"));
      await macrotask();
      expect(rejections.reasons).toHaveLength(1);
      late.catch(() => {});
      await macrotask();
      expect(rejections.reasons).toEqual([]);
      rejections.assertNone();
    }
    expect(process.listenerCount("unhandledRejection")).toBe(before);
    expect(process.listenerCount("rejectionHandled")).toBe(0);
  });
});

describe("bad input", () => {
  it("every assertion refuses what is not a machine, with EINVAL", () => {
    for (const [name, assertion] of Object.entries({ ...ASSERTIONS, checkMachine })) {
      expect(expectCode(() => assertion({} as Machine), "EINVAL").message, name).toContain("expected a Machine");
    }
  });
});
