/**
 * Proven on real bugs (issue 14, capability 4): eight classic driver bugs,
 * each seeded into a copy of an example driver (test/seeded/), and what
 * finds them.
 *
 * - By hand: a direct test per bug that triggers it without the explorer
 *   (the injection written out) and sees the violation, while the copy with
 *   `fixed: true` shows nothing: so the copy is clean but for the bug.
 * - By the explorer: `explore(scenario, { mode: "systematic" })`, with its
 *   default injections, IOMMU modes and DMA limits, from nothing but the
 *   driver, its model and a workload, finds each bug within the number of
 *   schedules stated in `FOUND`, by the injection stated there, and its
 *   first problem names the right violation. Each fixed copy passes 150
 *   schedules. (The clean originals: test/testing-seeded-clean.test.ts.)
 *
 * Bug 8 (an IRQ requested before the memory its handler touches) shows as
 * a hard IRQ handler that throws: devres frees the IRQ after the memory, so
 * on the shared line the other NIC keeps raising, the handler runs on its
 * dead token while its rings are freed (ENXIO, logged `irq-failed`). The
 * explorer counts a driver callback that threw as a problem (the kernel's
 * oops), so it is found like the others.
 */

import { describe, expect, it } from "vitest";
import { Machine } from "boundscope";
import type { DmaViolationKind, FaultInjection, MachineOptions } from "boundscope";
import { explore } from "boundscope/testing";
import type { Scenario } from "boundscope/testing";
import { AUX_WATCHDOG } from "./seeded/clean.js";
import { SEEDED } from "./seeded/scenarios.js";
import type { SeededBug } from "./seeded/scenarios.js";
import { testFrame } from "./seeded/workloads.js";

/**
 * How each bug is found, as measured (systematic mode, default options): the
 * schedule that found it is at most `within` (1-based, clean runs
 * included), and the minimized schedule injects `by`. The four clean runs
 * (both IOMMU modes, with and without a 32-bit DMA limit) come first, then
 * each injected failure (the 1st allocation, mapping and IRQ request on
 * each configuration, then the 2nd, …), then each action at each point
 * (unplug, unbind and rebind at point 1 on each configuration, then point
 * 2, …): so a bug the explorer's own teardown (an unplug) shows is found at
 * 1, one behind a failed allocation among the failures, and one that needs
 * an unbind after all of them.
 */
const FOUND: Readonly<Record<number, { readonly within: number; readonly by: RegExp }>> = {
  1: { within: 5, by: /;fail-alloc#1$/ },
  2: { within: 209, by: /;unbind:0@\d+$/ },
  3: { within: 1, by: /^iommu=passthrough;limit=none$/ },
  4: { within: 73, by: /;unbind:0@\d+$/ },
  5: { within: 85, by: /;unbind:0@\d+$/ },
  6: { within: 1, by: /^iommu=passthrough;limit=none$/ },
  7: { within: 13, by: /;fail-alloc#2$/ },
  8: { within: 286, by: /;unplug:1@\d+$/ },
};

/** Schedules each fixed copy must pass. */
const FIXED_BUDGET = 150;

const bug = (n: number): SeededBug => SEEDED.find((b) => b.bug === n)!;

/** A machine for `scenario`, set up, with the nth allocation failing if `failAlloc` is given. */
async function setUp(scenario: Scenario, failAlloc?: number): Promise<Machine> {
  let allocations = 0;
  const faultInjection: FaultInjection = { shouldFail: (kind) => kind === "alloc" && ++allocations === failAlloc };
  const options: MachineOptions = { ...scenario.machine, ...(failAlloc === undefined ? {} : { faultInjection }) };
  const machine = new Machine(options);
  await scenario.setup(machine);
  return machine;
}

const kinds = (machine: Machine): DmaViolationKind[] => machine.dmaDebug.violations.map((v) => v.kind);

/** Sends `frames` test frames on every interface of the machine, up first. */
async function sendOnAll(machine: Machine, frames: number): Promise<void> {
  for (const iface of machine.net.interfaces) {
    await iface.up();
    const socket = machine.net.socket(iface.name);
    for (let seq = 0; seq < frames; seq++) socket.send(testFrame(seq));
  }
}

/** Each bug's trigger, written out: what the explorer's schedule does, by hand. Resolves with the machine to inspect. */
const BY_HAND: Readonly<Record<number, { readonly what: string; readonly trigger: (scenario: Scenario) => Promise<Machine> }>> = {
  1: { what: "the first allocation after the IRQ request fails", trigger: (scenario) => setUp(scenario, 1) },
  2: {
    what: "unbind while the engine runs",
    trigger: async (scenario) => {
      const machine = await setUp(scenario);
      await machine.run(3_000);
      await machine.pci.unbind(machine.pci.devices[0]!);
      await machine.run(5_000);
      return machine;
    },
  },
  3: {
    what: "unbind the parent while the child's task runs",
    trigger: async (scenario) => {
      const machine = await setUp(scenario);
      await machine.run(50_000);
      await machine.pci.unbind(machine.pci.devices[0]!);
      // The parent's unbind gives up on the child after the watchdog's time; the child's own wait for its task fires then too.
      await machine.run(2 * AUX_WATCHDOG.watchdogNs);
      return machine;
    },
  },
  4: {
    what: "unbind with requests in flight",
    trigger: async (scenario) => {
      const machine = await setUp(scenario);
      const disk = machine.block.disk(machine.block.disks[0]!.name);
      const requests = [0, 2, 4, 6].map((lba) => disk.write(lba, new Uint8Array(1024)).catch((error: unknown) => error));
      await machine.run(1_000);
      await machine.pci.unbind(machine.pci.devices[0]!);
      await Promise.all(requests);
      return machine;
    },
  },
  5: {
    what: "unbind with frames in flight",
    trigger: async (scenario) => {
      const machine = await setUp(scenario);
      await sendOnAll(machine, 8);
      await machine.run(1_000);
      await machine.pci.unbind(machine.pci.devices[0]!);
      return machine;
    },
  },
  6: {
    what: "traffic",
    trigger: async (scenario) => {
      const machine = await setUp(scenario);
      await machine.run(3_000);
      return machine;
    },
  },
  7: { what: "the second allocation (the TX ring's buffers) fails", trigger: (scenario) => setUp(scenario, 2) },
  8: {
    what: "unbind the first NIC while the second one, on the same line, is busy",
    trigger: async (scenario) => {
      const machine = await setUp(scenario);
      await sendOnAll(machine, 30);
      await machine.run(3_000);
      await machine.pci.unbind(machine.pci.devices[0]!);
      await machine.run(10_000);
      return machine;
    },
  },
};

/** What each bug shows by hand: the violation kinds recorded, or for bug 8 the handler failures. */
const SHOWS: Readonly<Record<number, (machine: Machine) => void>> = {
  1: (machine) => {
    expect(kinds(machine)).toEqual(["irq-leaked"]);
    expect(machine.pci.devices[0]!.state).toBe("no-driver");
  },
  2: (machine) => expect(kinds(machine)).toContain("dma-after-remove"),
  3: (machine) => {
    expect(kinds(machine)).toContain("hung");
    expect(machine.dmaDebug.violations.some((v) => v.kind === "hung" && /task #\d+ of driver "crypto"/.test(v.message))).toBe(true);
  },
  4: (machine) => expect(machine.dmaDebug.violations.some((v) => v.kind === "hung" && /block device/.test(v.message))).toBe(true),
  5: (machine) => expect(kinds(machine)).toContain("dma-after-free"),
  6: (machine) => expect(kinds(machine)).toContain("cpu-access-device-owned"),
  7: (machine) => expect(kinds(machine)).toEqual(["double-free"]),
  8: (machine) => {
    const failed = machine.events.filter((e) => e.kind === "irq-failed" && e.device === machine.pci.devices[0]!.name);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.detail).toMatch(/this token is dead: the binding ended \(unbound\)/);
  },
};

describe("by hand: each bug shows, and its fixed copy does not", () => {
  for (const seeded of SEEDED) {
    const { what, trigger } = BY_HAND[seeded.bug]!;
    it(`bug ${seeded.bug} (${seeded.file}): ${seeded.title}, when ${what}`, async () => {
      SHOWS[seeded.bug]!(await trigger(seeded.scenario));
      const fixed = await trigger(seeded.fixed);
      expect(fixed.dmaDebug.violations).toEqual([]);
      // A probe that failed is what an injected allocation failure does; any other callback that failed is a bug.
      expect(fixed.events.filter((e) => e.kind.endsWith("-failed") && e.kind !== "probe-failed")).toEqual([]);
    });
  }
});

describe("the explorer finds each seeded bug in the stated number of schedules", () => {
  for (const seeded of SEEDED) {
    const { within, by } = FOUND[seeded.bug]!;
    it(`bug ${seeded.bug} (${seeded.file}): ${seeded.title}: within ${within} schedules`, async () => {
      const report = await explore(seeded.scenario, { mode: "systematic", budget: within });
      expect(report.ok).toBe(false);
      const failure = report.failure!;
      expect(failure.index).toBeLessThanOrEqual(within);
      expect(failure.schedule).toMatch(by);
      expect(failure.problems[0]).toMatch(seeded.problem);
      expect(failure.story).toContain(failure.problems[0]!.slice(0, 60));
    });
  }

});

describe(`each fixed copy passes ${FIXED_BUDGET} schedules`, () => {
  for (const seeded of SEEDED) {
    it(`bug ${seeded.bug} fixed (${seeded.file})`, async () => {
      const report = await explore(seeded.fixed, { mode: "systematic", budget: FIXED_BUDGET });
      expect(report.failure?.story).toBeUndefined();
      expect(report).toMatchObject({ ok: true, schedules: FIXED_BUDGET });
    });
  }
});

describe("the bugs' copies by themselves", () => {
  it("each names its bug and its clean original in its header", async () => {
    const { readFileSync } = await import("node:fs");
    for (const seeded of SEEDED) {
      const text = readFileSync(new URL(`./seeded/${seeded.file}`, import.meta.url), "utf8");
      expect(text, seeded.file).toMatch(new RegExp(`^/\\*\\*\\n \\* Seeded bug ${seeded.bug}: `));
      expect(text, seeded.file).toContain(`Clean original: examples/${seeded.original}.ts`);
      expect(text, seeded.file).toContain("SEEDED BUG");
    }
  });
});
