/**
 * `npm run demo`: the example drivers on a simulated machine, narrated.
 */

import type { Machine } from "boundscope";
import { runBlk } from "./blk.js";
import { runAuxParent } from "./aux-parent.js";
import { runBuggyNic } from "./buggy-nic.js";
import { runDmaSample } from "./dma-sample.js";
import { runEscape } from "./escape.js";
import { shortPaths } from "./narrate.js";
import { runNetNic } from "./net-nic.js";
import { runRingNic } from "./ring-nic.js";
import { runRustDma } from "./rust-dma.js";
import { runStaleRx } from "./stale-rx.js";
import { runStreamingNic } from "./streaming-nic.js";
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

/** verdict(), and the kernel heap and bounce pool the streaming examples use. */
function streamingVerdict(machine: Machine): string {
  return `${verdict(machine)}; heap: ${machine.memory.heap().bytesInUse} bytes in use; swiotlb: ${machine.memory.swiotlb().bytesInUse}`;
}

console.log("dma-sample: probe writes five structs to coherent memory, remove reads them back");
await runDmaSample(say);

console.log("\nescape: a token smuggled out of probe through a closure");
await runEscape(say);

console.log("\nusing: `await using` a machine, `using` an allocation and an MMIO mapping in probe()");
await runUsing(say);

console.log("\nring-nic: TX and RX rings, doorbells, an IRQ, registered with the network stack; a socket's traffic flows, then a hot-unplug mid-traffic");
say(verdict((await runRingNic(say, { end: "unplug" })).machine));
console.log("\nring-nic: the same traffic, then an orderly unbind: remove() halts the engine first");
for (const iommu of ["passthrough", "strict"] as const) {
  const { machine, stats } = await runRingNic(quiet, { end: "unbind", iommu });
  say(`iommu ${iommu}: ${stats?.sent} frames sent, ${stats?.received} received; ${verdict(machine)}`);
}

console.log("\nnet-nic: a NIC registered with the network stack, using MSI-X (one vector for RX, one for TX); hot-unplug mid-traffic");
say(verdict((await runNetNic(say, { end: "unplug" })).machine));
console.log("\nnet-nic: the same, then an orderly unbind: stop() waits for the frames on the TX ring, then halts");
say(verdict((await runNetNic(say, { end: "unbind", iommu: "strict" })).machine));

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

console.log("\nblk: submission and completion queues, registered with the block layer; unbind with requests in flight");
say(verdict((await runBlk(say)).machine));

console.log("\naux-parent: a PCI driver offers an auxiliary device to a second driver; the parent is hot-unplugged while the child is mid-call");
{
  const { machine, stats, order } = await runAuxParent(say);
  say(`${stats.roundTrips} round trips through the parent's engine; remove() order: ${order.join(", ")}; ${verdict(machine)}`);
}

console.log("\nstreaming-nic: each TX frame kmalloc'd and mapped to-device, RX buffers mapped from-device and synced, descriptors from a DMA pool");
say(streamingVerdict((await runStreamingNic(say)).machine));
for (const iommu of ["passthrough", "strict"] as const) {
  const { machine, stats, inFlight } = await runStreamingNic(quiet, { iommu, trafficNs: 20_000 });
  say(`iommu ${iommu}, unbound with ${inFlight} frames in flight: remove() halts the engine, then unmaps; ${stats?.sent} frames sent, ${stats?.received} received intact; ${streamingVerdict(machine)}`);
}
{
  const { machine, stats, bounceHighWater } = await runStreamingNic(quiet, { dmaMask: 32 });
  say(`the default 32-bit mask, no IOMMU: ${stats?.bounced} of ${stats?.mappings} mappings bounced through swiotlb (high water ${bounceHighWater} bytes); ${stats?.received} of ${stats?.sent} frames intact; ${streamingVerdict(machine)}`);
}
{
  const { machine, stats } = await runStreamingNic(quiet, { dmaCoherent: false });
  say(`a non-coherent machine: ${stats?.received} of ${stats?.sent} frames intact; ${streamingVerdict(machine)}`);
}

console.log("\nstale-rx: streaming-nic on a non-coherent machine, with the RX sync-for-cpu forgotten (rust-e1000's bug)");
{
  const { machine, stats, missingSyncs } = await runStaleRx(say);
  say(`${stats?.errors} of ${stats?.sent} frames read stale; ${streamingVerdict(machine)}`);
  const first = missingSyncs[0];
  if (first !== undefined) {
    // Its message is the "!! cpu-access-device-owned" line above, told where it happened.
    say(`the checker names the missing sync and both sites: handed to the device at ${shortPaths(first.allocSite ?? "?")}; read by the CPU at ${shortPaths(first.callSite ?? "?")}`);
  }
  const coherent = await runStaleRx(quiet, { dmaCoherent: true });
  say(`the same bug on a coherent machine: ${coherent.stats?.received} of ${coherent.stats?.sent} frames read right by luck, and the checker still reports ${coherent.missingSyncs.length} cpu-access-device-owned`);
  const cured = await runStaleRx(quiet, { syncRx: true });
  say(`the cure, syncForCpu before the read: ${cured.stats?.received} of ${cured.stats?.sent} frames intact; ${streamingVerdict(cured.machine)}`);
}

console.log("\nrust-dma: Rust-for-Linux's samples/rust/rust_dma.rs: a coherent array of (h, b) pairs, and an SGTable of four vmalloc pages");
await runRustDma(say);
{
  const { machine, table } = await runRustDma(quiet, { iommu: "strict" });
  say(`iommu strict: the ${table?.entries} scattered pages merge into ${table?.segments.length} segment(s): ${table?.segments.map((s) => `0x${s.dmaAddress.toString(16)}+${s.length}`).join(", ")}; ${streamingVerdict(machine)}`);
}

console.log("\ntrace: three devices on one machine (edu hot-unplugged; a NIC unbound, rebound by buggy-nic and unbound; a NIC hot-unplugged), then a tree: a bridge, an accelerator behind it with its auxiliary device, and an edu device linked to it as consumer; the bridge hot-unplugged");
const scenario = await runTimelineScenario();
say(verdict(scenario));
for (const file of await writeTimeline(scenario, "demo-out")) say(`wrote ${file}`);
