/**
 * Device DMA: a model's transfer to or from machine memory by bus address.
 *
 * The path a real transfer takes: the device must be present and bus
 * mastering on; the address goes through the device's IOMMU domain; in
 * `strict` mode anything not mapped for this device faults, in `passthrough`
 * it lands in whatever the physical address holds now. The DMA checker sees
 * every transfer and names what it hit: a freed mapping of the device's own
 * (with the allocation and free sites), another device's memory, or the
 * bytes past the end of an allocation.
 *
 * @module
 */

import type { DeviceCore } from "./device.js";
import { sites } from "./dma-debug.js";
import type { DmaViolationKind } from "./dma-debug.js";
import { describe, fail } from "./error.js";
import type { DmaDirection } from "./iommu.js";
import type { Hardware } from "./internal/hardware.js";
import type { Block } from "./memory.js";

/** What a blocked read returns, as a PCIe master abort does. */
const ALL_ONES = 0xff;
/** What a read of freed, unbacked memory returns (the kernel's slab poison). */
const POISON = 0x6b;

/** The largest single transfer a model may ask for. */
export const MAX_TRANSFER = 1 << 30;

/**
 * Moves `length` bytes at bus address `address`. A read returns the bytes,
 * in `into` when given (no allocation on the device's own mappings, the path
 * bulk transfers take); a write returns `data` if it landed (wholly or in
 * part), or an empty array if nothing was written.
 */
export function deviceDma(
  core: DeviceCore,
  hw: Hardware,
  address: bigint,
  length: number,
  direction: DmaDirection,
  data: Uint8Array | undefined,
  into?: Uint8Array,
): Uint8Array {
  const out = move(core, hw, address, length, direction, data, into);
  if (into === undefined || out === into) return out;
  into.set(out);
  return into;
}

function move(
  core: DeviceCore,
  hw: Hardware,
  address: bigint,
  length: number,
  direction: DmaDirection,
  data: Uint8Array | undefined,
  into: Uint8Array | undefined,
): Uint8Array {
  if (typeof address !== "bigint" || address < 0n || address >= 1n << 64n) {
    throw fail("EINVAL", `dma${direction === "read" ? "Read" : "Write"}: ${core.describe()}: the bus address must be a bigint from 0 to 2**64-1, got ${describe(address)}.`);
  }
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_TRANSFER) {
    throw fail("EINVAL", `dma${direction === "read" ? "Read" : "Write"}: ${core.describe()}: the length must be a whole number from 1 to ${MAX_TRANSFER}, got ${describe(length)}.`);
  }
  const blocked = (): Uint8Array => (direction === "read" ? new Uint8Array(length).fill(ALL_ONES) : new Uint8Array(0));
  if (!core.present) return blocked();
  if (!core.busMaster) {
    hw.log.add("dma-blocked", core, core.binding?.driver.name, `${direction} of ${length} bytes at 0x${address.toString(16)}: bus mastering is off`);
    return blocked();
  }
  const bus = Number(address);
  const domain = core.domain;
  const mapping = domain.lookup(bus);
  const driver = core.binding?.driver.name ?? core.lastDriver;
  const what = `${core.describe()} did a DMA ${direction} of ${length} bytes at 0x${address.toString(16)}`;
  const report = (kind: DmaViolationKind, key: string, message: string, at?: ReturnType<typeof sites>): Error | undefined =>
    hw.violation({ kind, device: core.name, driver, address, size: length, direction, ...at, message }, `${kind}:${core.name}:${key}`);
  const pastEnd = (block: Block, iova: number, message: string): Error | undefined => {
    const at = sites({ allocSite: block.allocSite, allocTime: block.allocTime });
    return report("dma-outside-mapping", `past-end:${iova}:${block.allocTime}`, `${message} (allocated at ${at.allocSite}). Check the length the driver programs into the device.`, at);
  };

  if (mapping !== undefined && bus + length <= domain.end(mapping)) {
    // The device's own mapping. Bytes past the allocation's size but inside
    // its last page reach no buffer: the IOMMU maps pages, dma-debug sizes.
    const offset = bus - mapping.iova;
    const { block } = mapping;
    const error =
      offset + length > block.bytes
        ? pastEnd(block, mapping.iova, `${what}, which runs ${offset + length - block.bytes} bytes past the end of its ${block.bytes}-byte allocation`)
        : undefined;
    const out = transfer(block.buffer, offset, length, direction, data, into);
    record(core, hw, address, direction, length);
    if (error !== undefined) throw error;
    return out;
  }

  // Not the device's own mapping: name what it hit. A transfer that starts in
  // a live mapping is named by it, not by a freed one that had its address before.
  const freed = mapping === undefined ? hw.debug.freedAt(core, bus) : undefined;
  let error: Error | undefined;
  if (freed !== undefined) {
    const at = sites(freed);
    error = report(
      "dma-after-free",
      `${freed.address}:${freed.freeTime}`,
      `${what}, inside memory it had been given and that was freed: ${freed.size} bytes at 0x${freed.address.toString(16)}, allocated at ${at.allocSite} (t=${freed.allocTime} ns), freed at ${at.freeSite} (t=${freed.freeTime} ns). The device still held the address: halt it in remove() (stop its engine, wait for it to go idle) before the memory is freed.`,
      at,
    );
  } else if (mapping !== undefined) {
    error = pastEnd(
      mapping.block,
      mapping.iova,
      `${what}, which starts in its ${mapping.block.bytes}-byte allocation at 0x${mapping.iova.toString(16)} and runs ${bus + length - domain.end(mapping)} bytes past the end of its pages`,
    );
  } else {
    error = report(
      "dma-outside-mapping",
      `${bus}`,
      `${what}, which was never mapped for it: another device's memory, or no memory at all. Program the device only with dmaHandle values of its own allocations.`,
    );
  }

  let out: Uint8Array;
  if (hw.iommu === "strict") {
    hw.faults.push(Object.freeze({ device: core.name, address, length, direction, time: hw.clock.now }));
    hw.log.add("iommu-fault", core, driver, `${direction} of ${length} bytes at 0x${address.toString(16)} blocked`);
    out = blocked();
  } else {
    // Passthrough: the bus address is physical, and lands where it lands.
    const block = hw.pool.blockAt(bus);
    if (block === undefined) {
      out = direction === "read" ? new Uint8Array(length).fill(POISON) : new Uint8Array(0);
    } else {
      const offset = bus - block.phys;
      out = transfer(block.buffer, offset, Math.min(length, block.pages * hw.pool.pageSize - offset), direction, data);
      if (direction === "read" && out.length < length) out = padded(out, length);
    }
    record(core, hw, address, direction, length);
  }
  if (error !== undefined) throw error;
  return out;
}

/** Copies between the device and a block's buffer; bytes past the buffer read as zero and write nowhere. */
function transfer(buffer: ArrayBuffer, offset: number, length: number, direction: DmaDirection, data: Uint8Array | undefined, into?: Uint8Array): Uint8Array {
  const backed = Math.max(0, Math.min(length, buffer.byteLength - offset));
  if (direction === "read") {
    const out = into ?? new Uint8Array(length);
    if (backed > 0) out.set(new Uint8Array(buffer, offset, backed));
    if (into !== undefined && backed < length) into.fill(0, backed);
    return out;
  }
  if (backed > 0) new Uint8Array(buffer, offset, backed).set(data!.subarray(0, backed));
  return data!;
}

function padded(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length).fill(POISON);
  out.set(bytes);
  return out;
}

function record(core: DeviceCore, hw: Hardware, address: bigint, direction: DmaDirection, length: number): void {
  // One event per device, direction and instant of virtual time, naming the
  // burst's first transfer: DMA traffic neither costs an event per transfer
  // nor pushes the lifecycle out of the bounded log.
  const now = hw.clock.now;
  if (core.lastDmaTime === now && core.lastDmaDirection === direction) return;
  core.lastDmaTime = now;
  core.lastDmaDirection = direction;
  hw.log.add("dma", core, core.binding?.driver.name, direction, undefined, { address, size: length });
}
