// Shared bench plumbing: paths, statistics, a seeded PRNG, and child runs.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = fileURLToPath(new URL("../../", import.meta.url));

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** xorshift32: the same seed gives the same sequence on every run. */
export function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

/** Nanoseconds since an arbitrary origin, as a number. */
export function now() {
  return Number(process.hrtime.bigint());
}

/**
 * Times `baseline` and `subject` in alternating order for `rounds` rounds
 * after `warmup` untimed rounds of each. Each function runs its whole batch
 * and returns how many operations it did. Returns per-op medians (ns) and the
 * median of the per-round ratios subject/baseline. With `--expose-gc`, each
 * batch starts after a full collection.
 */
export async function interleave({ baseline, subject, rounds, warmup = 2 }) {
  for (let i = 0; i < warmup; i++) {
    await baseline();
    await subject();
  }
  const base = [];
  const subj = [];
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const pair = {};
    const order = r % 2 === 0 ? ["b", "s"] : ["s", "b"];
    for (const which of order) {
      const run = which === "b" ? baseline : subject;
      // Collect the previous batch's garbage first, so neither side pays for the other's.
      globalThis.gc?.();
      const start = now();
      const ops = await run();
      pair[which] = (now() - start) / ops;
    }
    base.push(pair.b);
    subj.push(pair.s);
    ratios.push(pair.s / pair.b);
  }
  return { baselineNs: median(base), subjectNs: median(subj), costRatio: median(ratios) };
}

/** Runs `node args…` and parses the last line of its stdout as JSON. */
export async function nodeJson(args) {
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: "utf8", cwd: root, maxBuffer: 64 << 20 });
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}
