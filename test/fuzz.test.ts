/**
 * Model-based lifecycle fuzzing (test/fuzz/): random sequences of plug,
 * unplug, unbind, register and unregister; async probes that succeed or fail
 * at a random step, probes and remove()s held at a gate across later
 * commands; allocations,
 * frees and devres entries with sync and async releases; escaped tokens,
 * handles and views used at random later times; IRQs, spawned tasks and
 * device DMA on the virtual clock. After every command the machine is
 * checked against the reference model (see test/fuzz/lifecycle.ts for the
 * invariants). A fixed seed keeps `npm test` deterministic; `npm run fuzz`
 * runs long campaigns with the same property.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Command } from "./fuzz/commands.js";
import { lifecycleProperty, resetStats, stats } from "./fuzz/lifecycle.js";

const SEED = 20_251_125;
const RUNS = 3_000;

describe("lifecycle fuzzing", () => {
  it(`${RUNS} random lifecycles over three device models and four drivers keep every invariant (seed ${SEED})`, async () => {
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
    for (const seen of [
      "runs with dmaDebug report",
      "runs with dmaDebug throw",
      "runs with dmaDebug off",
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
    ]) {
      expect(stats.seen[seen], seen).toBeGreaterThan(RUNS / 100);
    }
    // Rare by nature: an unbind reaching an entry whose early release is in
    // flight; a throwing probe with drivers still to try.
    for (const seen of ["devres walks waiting for an early release", "throw: candidates cut short"]) {
      expect(stats.seen[seen], seen).toBeGreaterThan(0);
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
