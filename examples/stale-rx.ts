/**
 * stale-rx: streaming-nic with the RX sync for the CPU forgotten, on a
 * machine whose DMA is not cache-coherent: the CPU reads stale packet data,
 * and the checker names the missing sync.
 *
 * Concept: on a machine whose caches the device does not snoop, a device
 * write goes to memory and the CPU goes on reading the lines it has cached;
 * only the sync for the CPU (an invalidate) makes it read what the device
 * wrote. On a coherent machine the same bug reads the right bytes by luck, so
 * it stays invisible there, until the driver runs on an Arm or RISC-V board.
 *
 * Kernel counterpart: Rust-for-Linux issue #1020, where rust-e1000 dropped
 * received packets because its abstractions had no
 * `dma_sync_single_for_cpu`; in C, an RX clean-up that reads `skb->data`
 * before syncing. The kernel's dma-debug cannot see this: the CPU's load is
 * no DMA API call. boundscope can: the buffer knows a device owns it.
 *
 * What it shows:
 * - The driver is streaming-nic's own code with `syncRx: false`: in its RX
 *   clean-up it reads `buffer.bytes()` where it should call `syncForCpu`.
 *   The handle's types offer no way to read device-owned memory; the
 *   buffer's own view, kept from allocation, is how the bug gets in.
 * - On `new Machine({ dmaCoherent: false })` the bytes the CPU reads differ
 *   from what the device wrote (they are the zeros the buffer held when it
 *   was mapped), so every frame reads as damaged.
 * - The checker reports `cpu-access-device-owned` for each buffer read that
 *   way: the message says a sync-for-cpu is missing, and names where the
 *   buffer was handed to the device (`allocSite`: the `mapSingle` call) and
 *   where the CPU read it (`callSite`).
 * - With the sync (`syncRx: true`) the same machine delivers every frame
 *   intact, with no violation.
 */

import type { DmaViolation, IommuMode } from "boundscope";
import type { Narrate } from "./narrate.js";
import { hex, runStreamingNic } from "./streaming-nic.js";
import type { StreamingNicRun } from "./streaming-nic.js";

export interface StaleRxRun extends StreamingNicRun {
  /** Every `cpu-access-device-owned` the checker recorded. */
  readonly missingSyncs: readonly DmaViolation[];
  /** The first frame: what the device wrote, and what the CPU read. */
  readonly first: { readonly written: Uint8Array; readonly read: Uint8Array } | undefined;
}

/**
 * Sends `frames` frames through the NIC with the RX sync forgotten (or, with
 * `syncRx: true`, not), then unbinds. Tells the first missing-sync violation
 * in full, and counts the rest.
 */
export async function runStaleRx(
  narrate: Narrate,
  { dmaCoherent = false, syncRx = false, iommu = "passthrough", frames = 4 }: { dmaCoherent?: boolean; syncRx?: boolean; iommu?: IommuMode; frames?: number } = {},
): Promise<StaleRxRun> {
  let missing = 0;
  const tell: Narrate = (line) => {
    if (line.startsWith("!! cpu-access-device-owned") && missing++ > 0) return;
    narrate(line);
  };
  const run = await runStreamingNic(tell, { name: "stale-rx", iommu, dmaCoherent, syncRx, frames });
  if (missing > 1) narrate(`(and ${missing - 1} more cpu-access-device-owned like it: one for each RX buffer read without a sync)`);
  const written = run.model.written[0];
  const read = run.frames[0]?.bytes;
  const first = written === undefined || read === undefined ? undefined : { written, read };
  if (first !== undefined) {
    narrate(`frame 0 as the device wrote it: ${hex(first.written)} …`);
    narrate(`frame 0 as the CPU read it:     ${hex(first.read)} …${run.frames[0]!.intact ? "" : " (stale)"}`);
  }
  const missingSyncs = run.machine.dmaDebug.violations.filter((v) => v.kind === "cpu-access-device-owned");
  return { ...run, missingSyncs, first };
}
