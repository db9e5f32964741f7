/**
 * Model-based lifecycle fuzzing (test/fuzz/): random sequences of plug,
 * unplug, unbind, register and unregister; async probes that succeed or fail
 * at a random step, probes and remove()s held at a gate across later
 * commands; allocations,
 * frees and devres entries with sync and async releases; escaped tokens,
 * handles and views used at random later times; IRQs, spawned tasks and
 * device DMA on the virtual clock; and streaming DMA: kernel buffers,
 * single and sg mappings synced and unmapped by handle or by address, DMA
 * pools, bounce buffers through a swiotlb pool that runs out, non-coherent
 * machines, and the device reading and writing what it was given. After
 * every command the machine is checked against the reference model (see
 * test/fuzz/lifecycle.ts for the invariants). A fixed seed keeps
 * `npm test` deterministic; `npm run fuzz` runs long campaigns with the
 * same property.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command, FuzzConfig } from "./fuzz/commands.js";
import { lifecycleProperty, resetStats, runLifecycle, stats } from "./fuzz/lifecycle.js";

const SEED = 20_251_125;
/**
 * As many runs as the lifecycle-only fuzzer had, in about its time: the
 * streaming commands share the budget (a third of the runs are about
 * streaming DMA, and they make most commands of a run count).
 */
const RUNS = 3_000;

describe("lifecycle fuzzing", () => {
  it(`${RUNS} random lifecycles over three device models and four drivers, with streaming DMA, keep every invariant (seed ${SEED})`, async () => {
    resetStats();
    await fc.assert(lifecycleProperty(), { seed: SEED, numRuns: RUNS });
    expect(stats.commands).toBeGreaterThan(RUNS * 10);
    // The run reached what it claims to check: a fuzzer that never gets there proves nothing.
    for (const kind of ["plug", "unplug", "unbind", "register", "unregister", "gate", "run"]) {
      expect(stats.byKind[kind], kind).toBeGreaterThan(RUNS / 10);
    }
    for (const use of ["alloc", "free", "freeCoherent", "bytes", "write", "devres", "access", "release", "mask", "mmio"]) {
      expect(stats.byKind[`use:${use}`], use).toBeGreaterThan(RUNS / 100);
    }
    for (const use of ["use:kmalloc", "use:map", "use:mapSg", "use:sync", "use:unmap", "use:view", "use:kunmap", "use:ksync", "use:dma", "use:poolAlloc", "use:poolDestroy", "buf:free", "buf:read", "buf:write"]) {
      expect(stats.byKind[use], use).toBeGreaterThan(RUNS / 100);
    }
    for (const seen of [
      "runs with dmaDebug report",
      "runs with dmaDebug throw",
      "runs with dmaDebug off",
      "runs on a non-coherent machine",
      "runs with a small swiotlb pool",
      "probe-failed",
      "remove-failed",
      "release-failed",
      "dead handle refused",
      "dead tokens checked",
      "IRQ handler runs",
      "task iterations",
      "task drains after abort",
      "buggy: dma-after-remove",
      "buggy: free-while-held",
      "buggy: held-after-unbind",
      "buggy: dma-after-free",
      "probes held at a gate",
      "remove()s held at a gate",
      "devres releases held at a gate",
      "throw: an unbind or probe threw its violation",
      // Streaming: what the model predicts, reached.
      "bounced map",
      "pending at unbind",
      "buggy: pending-at-unbind",
      "CPU access to a device-owned buffer",
      "free of a mapped buffer refused",
      "stale handle refused",
      "partial sync",
      "sync-outside-mapping",
      "wrong-size",
      "overlapping cache line",
      "sg of several entries",
      "sg segments merged behind a strict IOMMU",
      "device writes",
      "device reads",
    ]) {
      expect(stats.seen[seen], seen).toBeGreaterThan(RUNS / 100);
    }
    // Rare by nature: an unbind reaching an entry whose early release is in
    // flight; a throwing probe with drivers still to try; and, in streaming,
    // the runs where a device wrote a buffer the CPU then read: through a
    // sync (bounced, past a non-coherent cache, or neither), or stale
    // without one; a swiotlb pool that runs out; calls by address that name
    // the wrong size, count or function, or an unmapped address; pools.
    for (const seen of [
      "devres walks waiting for an early release",
      "throw: candidates cut short",
      "device DMA through bounce slots",
      "device data bounced back to the CPU",
      "device data synced for the CPU",
      "device data synced past the CPU's cache",
      "stale data read: bounced",
      "stale data read: non-coherent cache",
      "swiotlb full",
      "swiotlb beyond the mask",
      "wrong-sg-count",
      "sg segment too long",
      "unmap of an unmapped address",
      "sync of an unmapped address",
      "pool destroy while blocks are out",
    ]) {
      expect(stats.seen[seen], seen).toBeGreaterThan(0);
    }
    for (const use of ["use:blockFree", "use:blockWrite", "use:blockRead", "use:poolFree"]) {
      expect(stats.byKind[use], use).toBeGreaterThan(0);
    }
  }, 60_000);

  it("refutes a model that trusts the buggy driver to halt its engine, and shrinks the counterexample to a few commands", async () => {
    const details = await fc.check(lifecycleProperty({ trustBuggy: true }), { seed: SEED, numRuns: RUNS });
    expect(details.failed).toBe(true);
    const [, commands] = details.counterexample!;
    expect(commands.length).toBeLessThanOrEqual(3);
    expect(commands.some((c: Command) => c.c === "register" && c.driver === "buggy")).toBe(true);
    expect(details.errorInstance).toBeInstanceOf(Error);
    expect((details.errorInstance as Error).message).toMatch(/unexpected violation [a-z-]+ on \S+ \(driver buggy\)/);
  }, 30_000);

  it("refutes a model that forgets the caches of a non-coherent machine: a byte read back differs, in a few commands", async () => {
    // Pinned to a non-coherent machine behind a strict IOMMU (nothing bounces), where only the caches explain the data, and to streaming runs.
    const details = await fc.check(lifecycleProperty({ ignoreCaches: true, machine: { dmaCoherent: false, iommu: "strict" }, focus: "streaming" }), { seed: SEED, numRuns: RUNS });
    expect(details.failed).toBe(true);
    const [config, commands] = details.counterexample!;
    expect(config.dmaCoherent).toBe(false);
    expect(commands.length).toBeLessThanOrEqual(6);
    expect((details.errorInstance as Error).message).toMatch(/byte \d+ of \d+ reads \d+; the model expected \d+/);
  }, 30_000);

  it("replays what the fuzzer found: a legal device write inside an sg entry that another entry of the table starts within", async () => {
    // Shrunk from a campaign (seed 7): in passthrough, the table's two entries are windows on the same bytes, and the
    // checker looked only at the windows starting nearest below the address, so it called this write dma-outside-mapping.
    const config: FuzzConfig = { iommu: "passthrough", pageSize: 4096, dmaDebug: "report", dmaCoherent: true, swiotlbBytes: 4 << 20 };
    const commands: Command[] = [
      { c: "register", driver: "plain" },
      { c: "plug", kind: "plain", plans: [{ steps: [{ t: "busMaster", mask64: true }], inRemove: [], remove: "sync" }] },
      { c: "use", binding: 32, op: { o: "kmalloc", size: 256, vm: false } },
      { c: "use", binding: 32, op: { o: "mapSg", items: [{ buf: 16, span: { off: 10, len: 3 } }], dir: "from-device", fresh: undefined, again: true } },
      { c: "use", binding: 32, op: { o: "dma", map: -1, at: 100, len: 4, value: 9, write: true } },
    ];
    const before = stats.seen["device DMA where windows overlap"] ?? 0;
    await runLifecycle(config, commands);
    expect(stats.seen["device DMA where windows overlap"]).toBe(before + 1);
  });

  it("replays a failure exactly from its seed and path", async () => {
    const found = await fc.check(lifecycleProperty({ trustBuggy: true }), { seed: SEED, numRuns: RUNS });
    const replayed = await fc.check(lifecycleProperty({ trustBuggy: true }), { seed: found.seed, path: found.counterexamplePath!, endOnFailure: true });
    expect(replayed.failed).toBe(true);
    expect(replayed.counterexample).toEqual(found.counterexample);
    // The same failure; binding serials count over the whole process, so they differ.
    const message = (details: typeof found): string => (details.errorInstance as Error).message.replace(/binding #\d+/g, "binding #N");
    expect(message(replayed)).toBe(message(found));
  }, 30_000);
});
