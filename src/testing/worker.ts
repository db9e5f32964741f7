/// <reference types="node" />
/**
 * One shard of a sharded exploration (`explore(…, { workers })`): a worker
 * thread that imports the scenario from its module and runs every Nth
 * schedule of the list the explorer made, in order, telling the explorer of
 * its first failure. Campaigns are CPU-bound; each shard is a thread of its
 * own, and each schedule a machine of its own, so shards share nothing.
 *
 * Kernel: none; syzkaller's VMs, as threads.
 *
 * # Invariants
 * - A shard runs only schedules with index ≡ shard (mod shards), in order.
 * - It stops at its first failure, and skips every schedule after a failure
 *   another shard found earlier in the list: the explorer reports the
 *   first failing schedule of the list, whichever shard ran it.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { scheduleFails } from "./explore.js";
import type { Scenario } from "./explore.js";

interface ShardData {
  readonly module: string;
  readonly exportName: string;
  readonly schedules: readonly string[];
  readonly shard: number;
  readonly shards: number;
}

// Safe: the explorer made workerData with exactly these fields (`sharded` in explore.ts).
const data = workerData as ShardData;
const port = parentPort!;
let before = Number.POSITIVE_INFINITY;
port.on("message", (message: { before: number }) => {
  before = Math.min(before, message.before);
});

async function main(): Promise<void> {
  let scenario: Scenario;
  try {
    const loaded = (await import(data.module)) as Record<string, unknown>;
    const found = loaded[data.exportName];
    // Covers a module that does not export what the caller named: only a scenario can be run.
    if (typeof found !== "object" || found === null || typeof (found as Scenario).setup !== "function") {
      throw new Error(`${data.module} has no scenario export named "${data.exportName}"`);
    }
    // Safe: checked just above to be an object with a setup function; explore checks the rest.
    scenario = found as Scenario;
  } catch (error) {
    port.postMessage({ error: error instanceof Error ? error.message : String(error) });
    return;
  }
  for (let index = data.shard; index < data.schedules.length && index < before; index += data.shards) {
    // Let the explorer's news of an earlier failure arrive between schedules.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (index >= before) break;
    if (await scheduleFails(scenario, data.schedules[index]!)) {
      port.postMessage({ failed: index });
      break;
    }
  }
  port.close();
}

await main();
