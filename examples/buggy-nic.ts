/**
 * buggy-nic: ring-nic with the halt forgotten, and the DMA checker catching
 * the use-after-free that follows.
 *
 * The driver is ring-nic's own code with `halt: false`: its remove() neither
 * unregisters the netdev nor halts the engine, and its stop() does not halt
 * it either. Unbound with traffic flowing, remove() returns while the engine
 * runs; the core then unregisters the netdev (the stack stops sending), but
 * the engine goes on with what it had fetched. Devres then frees the
 * packet buffers and the rings, last in first out, and the engine, which
 * still holds their addresses, goes on receiving into them and writing
 * descriptors back. No type can see that the device was never stopped; the
 * simulator does. The checker reports, with allocation and free sites:
 * - `dma-after-remove`: remove() returned with the device still running;
 * - `dma-after-free`: the device DMA'd into memory that was freed;
 * - `free-while-held`: a ring was freed while the device held its base;
 * - `held-after-unbind`: the device still holds the rings after unbind.
 * Under `iommu: "strict"` each stray access is also blocked as an IOMMU fault;
 * under `"passthrough"` it lands in the freed memory, and the checker still
 * sees it.
 *
 * The cure is ring-nic's remove(): write CTRL=0 and check STATUS.
 */

import { Machine } from "boundscope";
import type { DmaViolation, IommuFault, IommuMode } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import { RingNicModel } from "./models/ring-nic-model.js";
import { ringNicDriver, startTraffic } from "./ring-nic.js";

/** ring-nic, with the halt in stop() and remove() forgotten. */
export function buggyNicDriver(narrate?: Narrate) {
  return ringNicDriver({ name: "buggy-nic", halt: false, ...(narrate === undefined ? {} : { narrate }) });
}

export interface BuggyNicRun {
  readonly machine: Machine;
  readonly violations: readonly DmaViolation[];
  readonly faults: readonly IommuFault[];
}

/** Traffic for `trafficNs`, then an orderly unbind with the engine running. */
export async function runBuggyNic(
  narrate: Narrate,
  { iommu = "passthrough", trafficNs = 50_000 }: { iommu?: IommuMode; trafficNs?: number } = {},
): Promise<BuggyNicRun> {
  const machine = new Machine({ iommu });
  const stop = follow(machine, narrate);
  await machine.pci.register(buggyNicDriver(narrate));
  const model = new RingNicModel("0000:00:06.0");
  const dev = machine.pci.plug(model);
  await machine.settled();
  await startTraffic(machine, dev);
  await machine.run(trafficNs);
  narrate(`after ${trafficNs / 1000} µs of traffic: ${model.sent} frames sent, ${model.received} received, ${model.inFlight} in flight; unbind ${dev.name}`);
  await machine.pci.unbind(dev);
  await machine.run(20_000); // the engine drains what it had cached, into freed memory
  stop();
  return { machine, violations: machine.dmaDebug.violations, faults: machine.iommu.faults };
}
