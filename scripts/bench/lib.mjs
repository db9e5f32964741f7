// Shared bench plumbing: statistics, timing, and child runs that answer in JSON.
// The repository root, the seeded PRNG and the job pool are in scripts/lib/.
import { collect } from "../lib/child.mjs";
import { root } from "../lib/paths.mjs";

/** The median of `values` (numbers), the mean of the middle two for an even count. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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

/** Runs `node args…` from the root and parses the last line of its stdout as JSON; throws if it fails. */
export async function nodeJson(args) {
  const run = await collect(process.execPath, args, { cwd: root });
  if (run.status !== 0) throw new Error(`Command failed: ${[process.execPath, ...args].join(" ")}\n${run.stderr}`);
  const lines = run.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}
