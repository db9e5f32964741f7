/**
 * `npm run demo`: the example drivers on a simulated machine, narrated.
 */

import type { Machine } from "boundscope";
import { runBlk } from "./blk.js";
import { runBuggyNic } from "./buggy-nic.js";
import { runDmaSample } from "./dma-sample.js";
import { runEscape } from "./escape.js";
import { shortPaths } from "./narrate.js";
import { runRingNic } from "./ring-nic.js";
import { runUsing } from "./using.js";
import { runTimelineScenario, writeTimeline } from "./timeline.js";

const say = (line: string): void => console.log(`  ${line}`);
const quiet = (): void => {};

/** What the checker and the pool say at the end of a run. */
function verdict(machine: Machine): string {
  const { violations } = machine.dmaDebug;
  const checker = violations.length === 0 ? "no violations" : `${violations.length} violations (${[...new Set(violations.map((v) => v.kind))].join(", ")})`;
  return `checker: ${checker}; IOMMU faults: ${machine.iommu.faults.length}; pool: ${machine.memory.stats().bytesInUse} bytes in use`;
}

console.log("dma-sample: probe writes five structs to coherent memory, remove reads them back");
await runDmaSample(say);

console.log("\nescape: a token smuggled out of probe through a closure");
await runEscape(say);

console.log("\nusing: `await using` a machine, `using` an allocation and an MMIO mapping in probe()");
await runUsing(say);

console.log("\nring-nic: TX and RX rings, doorbells, an IRQ; traffic flows, then a hot-unplug mid-traffic");
say(verdict((await runRingNic(say, { end: "unplug" })).machine));
console.log("\nring-nic: the same traffic, then an orderly unbind: remove() halts the engine first");
for (const iommu of ["passthrough", "strict"] as const) {
  const { machine, stats } = await runRingNic(quiet, { end: "unbind", iommu });
  say(`iommu ${iommu}: ${stats?.sent} frames sent, ${stats?.received} received intact; ${verdict(machine)}`);
}

console.log("\nbuggy-nic: ring-nic with the halt in remove() forgotten, unbound with traffic flowing");
say("the lesson: no type can see that remove() left the engine running; the DMA checker sees what it does next");
say(verdict((await runBuggyNic(say, { iommu: "passthrough" })).machine));
{
  const { machine, faults } = await runBuggyNic(quiet, { iommu: "strict" });
  say(`the same under iommu "strict": ${verdict(machine)}`);
  const first = faults[0];
  if (first !== undefined) say(`first IOMMU fault: ${first.device} ${first.direction} of ${first.length} bytes at 0x${first.address.toString(16)}, t=${first.time} ns, blocked`);
  const afterFree = machine.dmaDebug.violations.find((v) => v.kind === "dma-after-free");
  if (afterFree !== undefined) say(`first dma-after-free: allocated at ${shortPaths(afterFree.allocSite ?? "?")}, freed at ${afterFree.freeSite}`);
}
say("the cure is ring-nic's remove(): write CTRL=0 and check STATUS before devres frees the rings");

console.log("\nblk: submission and completion queues, driven by a spawned task; unbind with requests in flight");
say(verdict((await runBlk(say)).machine));

console.log("\ntrace: three devices on one machine (edu hot-unplugged; a NIC unbound, rebound by buggy-nic and unbound; a NIC hot-unplugged)");
const scenario = await runTimelineScenario();
say(verdict(scenario));
for (const file of await writeTimeline(scenario, "demo-out")) say(`wrote ${file}`);
