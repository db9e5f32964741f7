/**
 * The lifecycle explorer (`src/testing/explore.ts`) on ring-nic and its
 * buggy copy: the clean driver passes a systematic budget, the bug is found,
 * minimized, told and replayed; the same seed gives the same schedules; bad
 * options and schedules are refused by code.
 */

import { describe, expect, it } from "vitest";
import { defineScenario, explore, replay } from "boundscope/testing";
import type { Scenario } from "boundscope/testing";
import type { Driver, Machine } from "boundscope";
import { RingNicModel } from "../examples/models/ring-nic-model.js";
import { ringNicDriver, startTraffic } from "../examples/ring-nic.js";
import { buggyNicDriver } from "../examples/buggy-nic.js";
import { formatSchedule, parseSchedule } from "../src/testing/schedule.js";
import { expectCode, expectReject } from "./helpers.js";

/** ring-nic (or a copy) with traffic: 24 frames through a packet socket over 40 µs. */
function nicScenario(name: string, driver: () => Driver): Scenario {
  return defineScenario({
    name,
    async setup(machine) {
      await machine.pci.register(driver());
      machine.pci.plug(new RingNicModel("0000:00:05.0"));
      await machine.settled();
    },
    async workload(machine: Machine) {
      const dev = machine.pci.devices[0];
      // An injected failure may have failed the probe: then there is no interface to drive.
      if (dev === undefined || !machine.net.interfaces.some((i) => i.device === dev.name)) return;
      const traffic = await startTraffic(machine, dev, { frames: 24 });
      await machine.run(40_000);
      traffic.stop();
    },
  });
}

const clean = nicScenario("ring-nic", () => ringNicDriver());
const buggy = nicScenario("buggy-nic", () => buggyNicDriver());

describe("explore", () => {
  it("passes the clean ring-nic over a systematic budget, with every kind of injection", async () => {
    const report = await explore(clean, { budget: 120 });
    expect(report.failure?.story).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.schedules).toBe(120);
    expect(report.points).toBeGreaterThan(20);
  });

  it("finds buggy-nic's forgotten halt, minimized, told as a story, and replays it", async () => {
    const report = await explore(buggy, { budget: 400, injections: ["unbind"] });
    expect(report.ok).toBe(false);
    const failure = report.failure!;
    expect(failure.problems.join("\n")).toMatch(/dma-after-remove|dma-after-free/);
    expect(failure.schedule).toMatch(/^iommu=passthrough;limit=none;unbind:0@\d+$/);
    expect(failure.story).toContain("INJECTED unbind of 0000:00:05.0");
    expect(failure.story).toContain(failure.schedule);
    expect(failure.replay).toBe(`await replay(scenario, ${JSON.stringify(failure.schedule)});`);
    expect(failure.trace.traceEvents.length).toBeGreaterThan(10);
    expect(failure.timeline).toMatch(/^<svg/);
    const again = await replay(buggy, failure.schedule);
    expect(again?.problems).toEqual(failure.problems);
    // The clean driver passes the very schedule that breaks the buggy one.
    expect(await replay(clean, failure.schedule)).toBeUndefined();
  });

  it("finds an injected allocation failure's leak in a probe with no error path", async () => {
    // A probe that kmallocs a buffer (not device-managed) and then fails on a later allocation, leaking it.
    const { defineDriver, kmalloc, allocCoherent } = await import("boundscope");
    const leaky = defineScenario({
      name: "leaky",
      async setup(machine) {
        await machine.pci.register(
          defineDriver({
            name: "leaky",
            ids: [{ vendor: 0x1af4, device: 0x1000 }],
            probe(dev) {
              const scratch = kmalloc(dev, 128);
              allocCoherent(dev, 4096); // when this fails, scratch is never freed
              return { remove: () => scratch.free() };
            },
          }),
        );
        machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
        await machine.settled();
      },
    });
    const report = await explore(leaky, { injections: ["fail-alloc"], iommu: ["passthrough"], dmaLimitBits: [null] });
    expect(report.failure?.schedule).toBe("iommu=passthrough;limit=none;fail-alloc#2");
    expect(report.failure?.index).toBe(3);
    expect(report.failure?.story).toMatch(/INJECTED failure: the 2nd allocation \(allocCoherent\(4096\)/);
  });

  it("random mode is deterministic: the same seed runs the same schedules", async () => {
    const seen: string[][] = [];
    for (let run = 0; run < 2; run++) {
      const report = await explore(buggy, { mode: "random", seed: 42, budget: 60 });
      seen.push([String(report.ok), report.failure?.schedule ?? "", String(report.failure?.index ?? 0)]);
    }
    expect(seen[0]).toEqual(seen[1]);
    expect(seen[0]![0]).toBe("false");
  });

  it("minimizes what a random schedule found, and says what it was minimized from", async () => {
    const found = (await explore(buggy, { mode: "random", seed: 42, budget: 60, minimize: false })).failure!;
    const minimized = (await explore(buggy, { mode: "random", seed: 42, budget: 60 })).failure!;
    expect(minimized.index).toBe(found.index);
    expect(minimized.schedule).not.toBe(found.schedule);
    expect(minimized.story).toContain(`found by schedule ${found.index} (${found.schedule}, minimized)`);
    // Smaller: no more injections, and none at a later point.
    const parts = (schedule: string): string[] => schedule.split(";").slice(2);
    expect(parts(minimized.schedule).length).toBeLessThanOrEqual(parts(found.schedule).length);
    const points = (schedule: string): number[] => parts(schedule).map((p) => Number(/@(\d+)$/.exec(p)?.[1] ?? 0));
    expect(Math.max(...points(minimized.schedule))).toBeLessThan(Math.max(...points(found.schedule)));
    expect(await replay(buggy, minimized.schedule)).toBeDefined();
  });

  it("runs every configuration: a driver that breaks only behind a strict IOMMU, or only on a 32-bit platform, is found", async () => {
    const { defineDriver, kmalloc, mapSingle, setDmaMask, unmapSingle } = await import("boundscope");
    const picky = (name: string, refuse: (bounced: boolean, machine: Machine) => boolean): Scenario =>
      defineScenario({
        name,
        async setup(machine) {
          await machine.pci.register(
            defineDriver({
              name,
              ids: [{ vendor: 0x1af4, device: 0x1000 }],
              probe(dev) {
                setDmaMask(dev, 64);
                const buffer = kmalloc(dev, 64);
                const mapped = mapSingle(dev, buffer, "to-device");
                const { bounced } = mapped;
                unmapSingle(dev, mapped.dmaAddress, buffer.size, "to-device");
                buffer.free();
                if (refuse(bounced, machine)) throw new Error(`${name} refuses this machine`);
                return {};
              },
            }),
          );
          machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
          await machine.settled();
        },
      });
    const strict = await explore(picky("no-strict", (_, machine) => machine.iommu.mode === "strict"), { injections: [] });
    expect(strict.failure?.schedule).toBe("iommu=strict;limit=none");
    const narrow = await explore(picky("no-bounce", (bounced) => bounced), { injections: [] });
    expect(narrow.failure?.schedule).toBe("iommu=passthrough;limit=32");
    expect(narrow.failure?.problems[0]).toMatch(/probe of 0000:00:01.0 by "no-bounce" failed with nothing injected/);
  });

  it("gives up on a workload that waits for ever with nothing happening, and tears down", async () => {
    const report = await explore(
      defineScenario({
        name: "waits",
        async setup(machine) {
          machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
          await machine.settled();
        },
        workload: () => new Promise<void>(() => {}),
      }),
      { budget: 2 },
    );
    expect(report.failure?.problems).toEqual(["the workload never finished: it waited 200 ms of real time with nothing happening on the machine (at t=0 ns)"]);
  });

  it("counts the whole systematic space as planned: a budget that covers it runs exactly that many", async () => {
    const { defineDriver, kmalloc, sleep } = await import("boundscope");
    const report = await explore(
      defineScenario({
        name: "small",
        async setup(machine) {
          await machine.pci.register(
            defineDriver({
              name: "small",
              ids: [{ vendor: 0x1af4, device: 0x1000 }],
              async probe(dev) {
                await sleep(dev, 1_000);
                kmalloc(dev, 64).free();
                return {};
              },
            }),
          );
          machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
          machine.pci.plug({ vendor: 0x1af4, device: 0x1000, name: "0000:00:02.0" });
          await machine.settled();
        },
      }),
      { budget: 10_000 },
    );
    expect(report.ok).toBe(true);
    expect(report.schedules).toBe(report.planned);
    expect(report.planned).toBeGreaterThan(4 * 2 * 3);
  });

  it("fails a schedule whose workload throws with nothing injected, even a BoundscopeError", async () => {
    const { BoundscopeError } = await import("boundscope");
    const report = await explore(
      defineScenario({
        name: "throws",
        setup: () => {},
        workload: () => Promise.reject(new BoundscopeError("ENXIO", "no such interface")),
      }),
      { budget: 3 },
    );
    expect(report.failure?.problems).toEqual(["the workload threw with nothing injected: ENXIO: no such interface"]);
    expect(report.failure?.index).toBe(1);
  });

  it("refuses bad options and schedules with EINVAL", async () => {
    await expectReject(explore(clean, { budget: 0 }), "EINVAL");
    await expectReject(explore(clean, { mode: "everything" as never }), "EINVAL");
    await expectReject(explore(clean, { injections: ["unplug", "explode" as never] }), "EINVAL");
    await expectReject(explore(clean, { iommu: [] }), "EINVAL");
    await expectReject(explore(clean, { dmaLimitBits: [16] }), "EINVAL");
    await expectReject(explore(clean, { workers: 2 }), "EINVAL");
    await expectReject(explore({ name: "x" } as never), "EINVAL");
    await expectReject(replay(clean, "iommu=strict"), "EINVAL");
    await expectReject(replay(clean, "iommu=strict;limit=none;unplug:0@0"), "EINVAL");
    await expectReject(replay(clean, "iommu=strict;limit=none;explode"), "EINVAL");
  });
});

describe("schedule text", () => {
  it("round-trips, in one order", () => {
    const text = "iommu=strict;limit=32;unplug:0@3;rebind:1@9;fail-alloc#2;fail-irq#1";
    expect(formatSchedule(parseSchedule(text))).toBe(text);
    expect(formatSchedule(parseSchedule("limit=none;fail-irq#1;unbind:0@9;iommu=passthrough;unplug:0@3"))).toBe("iommu=passthrough;limit=none;unplug:0@3;unbind:0@9;fail-irq#1");
    expectCode(() => parseSchedule("iommu=strict;iommu=strict;limit=none"), "EINVAL");
    expectCode(() => parseSchedule("iommu=strict;limit=99"), "EINVAL");
  });
});
