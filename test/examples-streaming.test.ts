/**
 * The streaming-DMA examples, run: streaming-nic (TX and RX in streaming
 * mappings, descriptors from a DMA pool), stale-rx (its RX sync for the CPU
 * forgotten on a non-coherent machine) and rust-dma (the port of
 * Rust-for-Linux's rust_dma.rs).
 */

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Machine } from "boundscope";
import { PAGE_SIZE, runRustDma, SG_BYTES } from "../examples/rust-dma.js";
import { runStaleRx } from "../examples/stale-rx.js";
import { frameIntact, RX_BUFFERS, runStreamingNic } from "../examples/streaming-nic.js";
import type { StreamingNicRun } from "../examples/streaming-nic.js";

const modes = ["passthrough", "strict"] as const;
const quiet = (): void => {};

/** The line of examples/streaming-nic.ts holding `needle`, which must be there once. */
function lineOf(needle: string): number {
  const lines = readFileSync(new URL("../examples/streaming-nic.ts", import.meta.url), "utf8").split("\n");
  const found = lines.flatMap((line, i) => (line.includes(needle) ? [i + 1] : []));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Nothing left anywhere: no violation, no fault, the coherent pool, the heap and swiotlb empty. */
function expectClean(machine: Machine): void {
  expect(machine.dmaDebug.violations).toEqual([]);
  expect(machine.iommu.faults).toEqual([]);
  expect(machine.events.some((e) => e.kind.endsWith("-failed"))).toBe(false);
  expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  expect(machine.memory.heap()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  expect(machine.memory.swiotlb()).toMatchObject({ bytesInUse: 0, allocations: 0 });
}

/** Every frame the CPU read is the frame the device wrote, byte for byte, and intact. */
function expectDelivered({ frames, model }: StreamingNicRun, count: number): void {
  expect(model).toMatchObject({ sent: count, received: count, missed: 0 });
  expect(model.written).toHaveLength(count);
  expect(frames).toHaveLength(count);
  frames.forEach((frame, i) => {
    expect(frame.index).toBe(i);
    expect(frame.bytes).toEqual(model.written[i]);
    expect(frame.intact).toBe(true);
    expect(frameIntact(frame.bytes)).toBe(true);
  });
}

describe("streaming-nic", () => {
  it.each(modes)("64-bit mask, iommu %s: every frame goes out and comes back intact, nothing bounces, nothing is left", async (iommu) => {
    const run = await runStreamingNic(quiet, { iommu, frames: 64 });
    expectDelivered(run, 64);
    // 16 RX buffers mapped from-device, plus one to-device mapping per frame.
    expect(run.stats).toMatchObject({ sent: 64, received: 64, errors: 0, mappings: RX_BUFFERS + 64, bounced: 0 });
    expect(run.bounceHighWater).toBe(0);
    // The heap was used (kmalloc'd frames and buffers), and given back.
    expect(run.machine.memory.heap().highWater).toBeGreaterThan(0);
    expectClean(run.machine);
  });

  it("remove() unmaps every buffer itself: devres releases the DMA pool, and no streaming mapping", async () => {
    const { machine } = await runStreamingNic(quiet);
    const released = machine.events.filter((e) => e.kind === "release").map((e) => e.resource);
    expect(released).toContain("dma-pool");
    expect(released).not.toContain("streaming");
    expect(machine.dmaDebug.violations.some((v) => v.kind === "pending-at-unbind")).toBe(false);
  });

  it.each(modes)("unbound mid-traffic (iommu %s): remove() halts the engine before unmapping; no violation, nothing left", async (iommu) => {
    const lines: string[] = [];
    const { machine, model, stats, inFlight } = await runStreamingNic((line) => lines.push(line), { iommu, trafficNs: 20_000 });
    expect(inFlight).toBeGreaterThan(0);
    expect(model.rxQueued).toBe(0);
    expect(model.running).toBe(false);
    const removed = lines.find((l) => l.startsWith("remove(): engine halted"));
    expect(removed).toMatch(/unmapped and freed [1-9]\d* TX frames in flight and 16 RX buffers/);
    expect(stats!.errors).toBe(0);
    expect(stats!.sent).toBe(model.sent);
    expectClean(machine);
  });

  it("hot-unplugged mid-traffic: remove() sees all-ones, and still unmaps and frees everything", async () => {
    const lines: string[] = [];
    const { machine, inFlight } = await runStreamingNic((line) => lines.push(line), { trafficNs: 20_000, end: "unplug" });
    expect(inFlight).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith("remove(): STATUS reads all-ones"))).toBe(true);
    expectClean(machine);
  });

  it("the default 32-bit mask with no IOMMU: every mapping bounces through swiotlb, and every frame still arrives intact", async () => {
    const run = await runStreamingNic(quiet, { dmaMask: 32, frames: 64 });
    expect(run.stats).toMatchObject({ mappings: RX_BUFFERS + 64, bounced: RX_BUFFERS + 64, errors: 0 });
    // At least the 16 RX buffers, one 2 KiB slot each, were held in swiotlb at once.
    expect(run.bounceHighWater).toBeGreaterThanOrEqual(RX_BUFFERS * 2048);
    expectDelivered(run, 64);
    expectClean(run.machine);
  });

  it("the 32-bit mask behind a strict IOMMU: the IOVAs fit the mask, so nothing bounces", async () => {
    const run = await runStreamingNic(quiet, { dmaMask: 32, iommu: "strict", frames: 64 });
    expect(run.stats).toMatchObject({ bounced: 0, errors: 0 });
    expect(run.bounceHighWater).toBe(0);
    expectDelivered(run, 64);
    expectClean(run.machine);
  });

  it.each(modes)("a non-coherent machine (iommu %s): with its syncs every frame arrives intact, and the checker is silent", async (iommu) => {
    const run = await runStreamingNic(quiet, { iommu, dmaCoherent: false, frames: 32 });
    expect(run.stats).toMatchObject({ received: 32, errors: 0 });
    expectDelivered(run, 32);
    expectClean(run.machine);
  });
});

describe("stale-rx", () => {
  it("non-coherent, no syncForCpu: the CPU reads stale bytes, not what the device wrote", async () => {
    const { first, frames, model, stats } = await runStaleRx(quiet, { frames: 4 });
    expect(first).toBeDefined();
    expect(first!.written.length).toBeGreaterThan(0);
    expect(first!.read).not.toEqual(first!.written);
    // What it reads is what the buffer held when it was mapped: kmalloc's zeros.
    expect(first!.read.every((b) => b === 0)).toBe(true);
    expect(model.received).toBe(4);
    expect(frames).toHaveLength(4);
    frames.forEach((frame, i) => {
      expect(frame.bytes).not.toEqual(model.written[i]);
      expect(frame.intact).toBe(false);
    });
    expect(stats).toMatchObject({ received: 0, errors: 4 });
  });

  it("the checker reports cpu-access-device-owned: the missing sync, where the buffer was handed to the device, where the CPU read it", async () => {
    const { machine, missingSyncs } = await runStaleRx(quiet, { frames: 4 });
    // One per RX buffer read (each a mapping of its own), and nothing else.
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(Array(4).fill("cpu-access-device-owned"));
    expect(missingSyncs).toHaveLength(4);
    const mapped = lineOf(`mapSingle(dev, buffer, "from-device")`);
    const read = lineOf("slot.buffer.bytes()");
    for (const v of missingSyncs) {
      expect(v).toMatchObject({ device: "0000:00:07.0", driver: "stale-rx", size: 2048 });
      expect(v.allocSite).toMatch(new RegExp(`^StreamingNic\\.start \\(.*examples/streaming-nic\\.ts:${mapped}:\\d+\\)$`));
      expect(v.callSite).toMatch(new RegExp(`^StreamingNic\\.#reapRx \\(.*examples/streaming-nic\\.ts:${read}:\\d+\\)$`));
      expect(v.message).toContain("A sync-for-cpu is missing");
      expect(v.message).toContain("dma_sync_single_for_cpu");
      expect(v.message).toContain("not cache-coherent");
      expect(v.message).toContain(`the CPU took a view of a buffer at ${v.callSite}`);
      expect(v.message).toContain(`handed to the device at ${v.allocSite}`);
    }
    // Four different buffers.
    expect(new Set(missingSyncs.map((v) => v.address)).size).toBe(4);
  });

  it("on a coherent machine the same bug reads the right bytes by luck, and the checker still names it", async () => {
    const run = await runStaleRx(quiet, { dmaCoherent: true, frames: 4 });
    expectDelivered(run, 4);
    expect(run.missingSyncs).toHaveLength(4);
    expect(run.machine.dmaDebug.violations.every((v) => v.kind === "cpu-access-device-owned")).toBe(true);
  });

  it("with syncForCpu, the non-coherent machine delivers every frame and the checker is silent", async () => {
    const run = await runStaleRx(quiet, { syncRx: true, frames: 4 });
    expectDelivered(run, 4);
    expect(run.first!.read).toEqual(run.first!.written);
    expect(run.missingSyncs).toEqual([]);
    expectClean(run.machine);
  });

  it("tells the stale bytes and the checker's message", async () => {
    const lines: string[] = [];
    await runStaleRx((line) => lines.push(line), { frames: 4 });
    expect(lines.filter((l) => l.startsWith("!! cpu-access-device-owned"))).toHaveLength(1);
    expect(lines).toContain("(and 3 more cpu-access-device-owned like it: one for each RX buffer read without a sync)");
    expect(lines.some((l) => /^frame 0 as the device wrote it: ff ff ff ff ff ff 02 00/.test(l))).toBe(true);
    expect(lines.some((l) => /^frame 0 as the CPU read it: +00 00 00 00 00 00 00 00 .* \(stale\)$/.test(l))).toBe(true);
  });
});

describe("rust-dma", () => {
  it("passthrough: the four vmalloc pages are four segments, at scattered physical addresses above 4 GiB", async () => {
    const { table } = await runRustDma(quiet, { iommu: "passthrough" });
    expect(table).toMatchObject({ entries: SG_BYTES / PAGE_SIZE, bounced: false });
    const segments = table!.segments;
    expect(segments).toHaveLength(4);
    for (const { dmaAddress, length } of segments) {
      expect(length).toBe(PAGE_SIZE);
      expect(dmaAddress >= 1n << 32n).toBe(true);
      expect(dmaAddress % BigInt(PAGE_SIZE)).toBe(0n);
    }
    // Scattered: no page follows the one before it, so none could merge.
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.dmaAddress).not.toBe(segments[i - 1]!.dmaAddress + BigInt(PAGE_SIZE));
  });

  it("strict: behind the IOMMU the scattered pages merge into fewer segments than entries (one of 16 KiB)", async () => {
    const { table } = await runRustDma(quiet, { iommu: "strict" });
    expect(table!.entries).toBe(4);
    expect(table!.segments.length).toBeLessThan(table!.entries);
    expect(table!.segments).toEqual([{ dmaAddress: table!.segments[0]!.dmaAddress, length: SG_BYTES }]);
  });

  it.each(modes)("iommu %s: remove() checks the pairs and prints each segment; nothing is reported or left", async (iommu) => {
    const lines: string[] = [];
    const { machine, table } = await runRustDma((line) => lines.push(line), { iommu });
    expect(lines).toContain("Probe DMA test driver.");
    expect(lines).toContain("Unload DMA test driver.");
    expect(lines).toContain("check_dma: the 5 (h, b) pairs read back intact");
    const entries = lines.filter((l) => l.startsWith("Entry["));
    expect(entries).toEqual(table!.segments.map((s, i) => `Entry[${i}]: DMA address: 0x${s.dmaAddress.toString(16)}, length ${s.length}`));
    expectClean(machine);
    // The table and the pages were given back by remove(), not by devres at unbind.
    expect(machine.events.filter((e) => e.kind === "release").map((e) => e.resource)).toEqual(["coherent"]);
    expect(machine.memory.heap().highWater).toBe(SG_BYTES);
  });
});
