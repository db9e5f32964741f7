import { describe, expect, it } from "vitest";
import { Machine } from "boundscope";
import { runBlk } from "../examples/blk.js";
import { runBuggyNic } from "../examples/buggy-nic.js";
import { RingNicModel } from "../examples/models/ring-nic-model.js";
import type { NicStats } from "../examples/ring-nic.js";
import { ringNicDriver, runRingNic, startTraffic } from "../examples/ring-nic.js";

const modes = ["passthrough", "strict"] as const;
const quiet = (): void => {};

describe("ring-nic", () => {
  it("moves traffic both ways: every frame it sends comes back intact", async () => {
    const machine = new Machine();
    let stats: Readonly<NicStats> | undefined;
    await machine.pci.register(ringNicDriver({ onRelease: (s) => (stats = s) }));
    const model = new RingNicModel();
    const dev = machine.pci.plug(model);
    await machine.settled();
    const traffic = await startTraffic(machine, dev, { frames: 100 });
    await machine.runUntilIdle();
    expect(traffic).toMatchObject({ sent: 100, intact: 100, damaged: 0 });
    await machine.pci.unbind(dev);
    expect(model).toMatchObject({ sent: 100, received: 100, missed: 0 });
    expect(stats).toMatchObject({ sent: 100, received: 100, errors: 0 });
    expect(stats!.interrupts).toBeGreaterThan(0);
    expect(stats!.polls).toBeGreaterThan(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it.each(modes)("hot-unplugged mid-traffic (iommu %s): no violation, no fault, the pool empty", async (iommu) => {
    const { machine, model, stats, inFlight, traffic } = await runRingNic(quiet, { iommu, end: "unplug" });
    expect(inFlight).toBeGreaterThan(0);
    expect(stats!.sent).toBeGreaterThan(100);
    expect(stats!.errors).toBe(0);
    // Every frame handed up came back as the socket sent it.
    expect(traffic.intact).toBe(stats!.received);
    expect(traffic.damaged).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(machine.pci.devices).toHaveLength(0);
    // Detached at once: the driver reaped every frame the device finished, and none came after.
    expect(model.sent).toBe(stats!.sent);
  });

  it("sees all-ones in remove() after a hot-unplug, and does no DMA after it", async () => {
    const lines: string[] = [];
    const { machine } = await runRingNic((line) => lines.push(line), { end: "unplug" });
    expect(lines.some((l) => l.startsWith("remove(): STATUS reads all-ones"))).toBe(true);
    expect(machine.events.some((e) => e.kind === "dma-blocked" || e.kind.endsWith("-failed"))).toBe(false);
  });

  it.each(modes)("unbound mid-traffic (iommu %s): remove() halts the engine; no violation, no fault, the pool empty", async (iommu) => {
    const lines: string[] = [];
    const { machine, model, stats, inFlight, traffic } = await runRingNic((line) => lines.push(line), { iommu, end: "unbind" });
    expect(traffic.damaged).toBe(0);
    expect(machine.net.interfaces).toHaveLength(0);
    expect(inFlight).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith("remove(): engine halted"))).toBe(true);
    expect(model.running).toBe(false);
    expect(stats!.errors).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });
});

describe("buggy-nic", () => {
  it.each(modes)("iommu %s: the checker catches the DMA-after-free and names the allocation and free sites", async (iommu) => {
    const { violations } = await runBuggyNic(quiet, { iommu });
    const afterFree = violations.filter((v) => v.kind === "dma-after-free");
    expect(afterFree.length).toBeGreaterThan(0);
    for (const v of afterFree) {
      expect(v).toMatchObject({ device: "0000:00:06.0", driver: "buggy-nic" });
      expect(v.allocSite).toMatch(/^probe \(.*examples\/ring-nic\.ts:\d+:\d+\)$/);
      expect(v.freeSite).toBe("devres release at unbind");
      expect(v.freeTime).toBeGreaterThan(v.allocTime!);
      expect(v.time).toBeGreaterThan(v.freeTime!);
      expect(v.message).toContain("examples/ring-nic.ts");
      expect(v.message).toContain("freed at devres release at unbind");
    }
    // Both directions: received frames written into freed buffers, TX buffers read after free.
    expect(new Set(afterFree.map((v) => v.direction))).toEqual(new Set(["read", "write"]));
  });

  it.each(modes)("iommu %s: remove() returning with the engine running is dma-after-remove, and the rings are freed while held", async (iommu) => {
    const { violations } = await runBuggyNic(quiet, { iommu });
    expect(violations[0]!.kind).toBe("dma-after-remove");
    expect(violations.filter((v) => v.kind === "free-while-held").map((v) => v.size)).toEqual([512, 512]);
    expect(violations.at(-1)!.kind).toBe("held-after-unbind");
  });

  it("iommu strict: every stray access is blocked and recorded as an IOMMU fault", async () => {
    const { faults, violations } = await runBuggyNic(quiet, { iommu: "strict" });
    expect(faults.length).toBeGreaterThan(0);
    expect(faults.every((f) => f.device === "0000:00:06.0")).toBe(true);
    const first = violations.find((v) => v.kind === "dma-after-free")!;
    expect(faults[0]).toMatchObject({ address: first.address, direction: first.direction, time: first.time });
  });

  it("iommu passthrough: the stray DMA lands in freed memory with no fault, and the checker still sees it", async () => {
    const { faults, violations, machine } = await runBuggyNic(quiet, { iommu: "passthrough" });
    expect(faults).toEqual([]);
    expect(violations.some((v) => v.kind === "dma-after-free")).toBe(true);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });
});

describe("blk", () => {
  it("the block layer's writes read back intact through the driver while bound", async () => {
    const { stats, work } = await runBlk(quiet);
    expect(work.verified).toBeGreaterThan(0);
    expect(work.mismatched).toBe(0);
    expect(stats!.failed).toBe(0);
  });

  it("unbind with requests in flight: remove() unregisters the disk first, the device finishes what it holds, then it halts, then devres", async () => {
    const lines: string[] = [];
    const { model, stats, inFlight, machine } = await runBlk((line) => lines.push(line));
    expect(inFlight).toBeGreaterThan(0);
    // Nothing reached the device after the disk went: it fetched every request submitted, and completed each.
    expect(model.fetched).toBe(stats!.submitted);
    expect(model.abandoned).toBe(0);
    expect(stats!.drained).toBeGreaterThan(0);
    const removed = lines.findIndex((l) => l.startsWith("remove(): blk0 unregistered"));
    const firstRelease = lines.findIndex((l) => l.includes("devres released"));
    expect(removed).toBeGreaterThanOrEqual(0);
    expect(firstRelease).toBeGreaterThan(removed);
    expect(machine.block.disks).toHaveLength(0);
  });

  it("loses no request: each one the user issued completed, or was refused before it reached the driver", async () => {
    const { model, stats, work } = await runBlk(quiet);
    expect(stats!.completed).toBe(model.completed);
    expect(stats!.submitted).toBe(stats!.completed);
    expect(work.issued).toBe(work.completed + work.refused);
    expect(work.completed).toBe(stats!.submitted);
  });

  it("hot-unplugged with requests in flight: remove() fails what the device held, and every request still settles", async () => {
    const lines: string[] = [];
    const { machine, stats, work } = await runBlk((line) => lines.push(line), { end: "unplug" });
    expect(lines.some((l) => l.startsWith("remove(): STATUS reads all-ones"))).toBe(true);
    expect(stats!.abandoned).toBeGreaterThan(0);
    expect(work.issued).toBe(work.completed + work.refused);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });

  it.each(modes)("iommu %s: unbind with requests in flight records no violation and leaves the pool empty", async (iommu) => {
    const { machine, inFlight } = await runBlk(quiet, { iommu });
    expect(inFlight).toBeGreaterThan(0);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.events.some((e) => e.kind.endsWith("-failed") || e.kind === "hung")).toBe(false);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });
});
