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
 * Kernel: none (dma-debug cannot see the device); QEMU's `pci_dma_rw`
 * through `address_space_rw` is the closest model.
 *
 * # Invariants
 * - A transfer wholly inside one of the device's live mappings moves its
 *   bytes; anything else is a fact for the checker, and under strict a fault.
 * - A blocked read returns all-ones; a blocked write lands nowhere.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { DmaDirection, DmaRegionFact, EventRecord, FactSubject, Report } from "../driver/ports.js";
import type { VirtualClock } from "./clock.js";
import type { Domain, IommuUnit, Mapping } from "./iommu.js";
import type { CoherentPool } from "./memory.js";

/** What a transfer needs of the device that makes it (`hardware.ts` implements it). */
export interface DmaTarget {
  readonly name: string;
  readonly present: boolean;
  readonly busMaster: boolean;
  readonly domain: Domain;
  readonly hw: { readonly clock: VirtualClock; readonly pool: CoherentPool; readonly iommu: IommuUnit };
  readonly now: number;
  /** When and which way the last logged DMA went. */
  lastDmaTime: number;
  lastDmaDirection: DmaDirection | undefined;
  describe(): string;
  /** The driver bound now, if any. */
  bound(): string | undefined;
  /** The driver bound now, or else the last one. */
  driver(): string | undefined;
  subject(): FactSubject;
  emit(event: Omit<EventRecord, "device">): void;
  readonly report: Report;
}

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
  core: DmaTarget,
  address: bigint,
  length: number,
  direction: DmaDirection,
  data: Uint8Array | undefined,
  into?: Uint8Array,
): Uint8Array {
  const out = move(core, address, length, direction, data, into);
  if (into === undefined || out === into) return out;
  into.set(out);
  return into;
}

function move(
  core: DmaTarget,
  address: bigint,
  length: number,
  direction: DmaDirection,
  data: Uint8Array | undefined,
  into: Uint8Array | undefined,
): Uint8Array {
  // Covers a model in JavaScript, or addresses computed as numbers: the parameter type says bigint.
  if (typeof address !== "bigint" || address < 0n || address >= 1n << 64n) {
    throw fail("EINVAL", `dma${direction === "read" ? "Read" : "Write"}: ${core.describe()}: the bus address must be a bigint from 0 to 2**64-1, got ${describe(address)}.`);
  }
  // Covers lengths from arithmetic: `number` admits fractions, negatives and NaN.
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_TRANSFER) {
    throw fail("EINVAL", `dma${direction === "read" ? "Read" : "Write"}: ${core.describe()}: the length must be a whole number from 1 to ${MAX_TRANSFER}, got ${describe(length)}.`);
  }
  const blocked = (): Uint8Array => (direction === "read" ? new Uint8Array(length).fill(ALL_ONES) : new Uint8Array(0));
  if (!core.present) return blocked();
  const { hw } = core;
  if (!core.busMaster) {
    core.emit({ kind: "dma-blocked", driver: core.bound(), direction, address, size: length, detail: `${direction} of ${length} bytes at 0x${address.toString(16)}: bus mastering is off` });
    return blocked();
  }
  const bus = Number(address);
  const domain = core.domain;
  const mapping = domain.lookup(bus);
  // Only what the checker may need to word: the mapping the transfer started in.
  const report = (within: Mapping | undefined): Error | undefined =>
    core.report({ ...core.subject(), seen: "device-dma", address, length, direction, within: within === undefined ? undefined : regionOf(within, domain.end(within) - within.iova) });

  if (mapping !== undefined && bus + length <= domain.end(mapping)) {
    // The device's own mapping. Bytes past the allocation's size but inside
    // its last page reach no buffer: the IOMMU maps pages, dma-debug sizes.
    const offset = bus - mapping.iova;
    const { block } = mapping;
    const error = offset + length > block.bytes ? report(mapping) : undefined;
    const out = transfer(block.buffer, offset, length, direction, data, into);
    record(core, address, direction, length);
    if (error !== undefined) throw error;
    return out;
  }

  // Not wholly inside one of the device's mappings: the checker names what it hit.
  const error = report(mapping);
  let out: Uint8Array;
  if (hw.iommu.mode === "strict") {
    hw.iommu.fault({ device: core.name, address, length, direction, time: hw.clock.now });
    core.emit({ kind: "iommu-fault", driver: core.driver(), direction, address, size: length, detail: `${direction} of ${length} bytes at 0x${address.toString(16)} blocked` });
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
    record(core, address, direction, length);
  }
  if (error !== undefined) throw error;
  return out;
}

/** A mapping as a fact names it. */
function regionOf(mapping: Mapping, span: number): DmaRegionFact {
  const { block } = mapping;
  return {
    address: BigInt(mapping.iova),
    size: block.bytes,
    span,
    label: `coherent allocation of ${block.bytes} bytes at bus address 0x${mapping.iova.toString(16)}`,
    allocSite: block.allocSite,
    allocTime: block.allocTime,
  };
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

function record(core: DmaTarget, address: bigint, direction: DmaDirection, length: number): void {
  // One event per device, direction and instant of virtual time, naming the
  // burst's first transfer: DMA traffic neither costs an event per transfer
  // nor pushes the lifecycle out of the bounded log.
  const now = core.now;
  if (core.lastDmaTime === now && core.lastDmaDirection === direction) return;
  core.lastDmaTime = now;
  core.lastDmaDirection = direction;
  core.emit({ kind: "dma", driver: core.bound(), direction, address, size: length, detail: direction });
}
