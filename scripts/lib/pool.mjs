// Running many child processes, a few at a time.
import { availableParallelism } from "node:os";

/** How many jobs the scripts run at once by default: two (CI has 2 cores), one on a one-core machine. */
export const parallelism = Math.max(1, Math.min(2, availableParallelism()));

/**
 * Runs `jobs` (functions returning promises) at most `limit` at a time, each
 * started in list order as a slot frees up; resolves with their results in
 * list order. A job that rejects rejects the whole pool.
 */
export async function pool(jobs, limit = parallelism) {
  const results = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
