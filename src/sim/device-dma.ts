/**
 * Device DMA: a model's transfer to or from machine memory by bus address.
 *
 * The path a real transfer takes: the device must be present and bus
 * mastering on; the address goes through the device's IOMMU domain page by
 * page; under `strict` a transfer that touches a page not mapped for this
 * device, or one that forbids the access (a write to a to-device mapping),
 * faults and moves nothing; in `passthrough` it lands in whatever the
 * physical addresses hold now, across allocations, as on hardware. A device
 * that does not snoop the CPU's caches reads and writes memory, not the
 * CPU's copy.
 *
 * The DMA checker sees every transfer against the device's windows (what
 * was allocated or mapped for it) and names what it hit: a freed or unmapped
 * mapping of its own (with the sites), another device's memory, the bytes
 * past the end of an allocation, a mapping the CPU owns now, or a mapping of
 * the other direction.
 *
 * Kernel: none (dma-debug cannot see the device); QEMU's `pci_dma_rw`
 * through `address_space_rw` is the closest model.
 *
 * # Invariants
 * - A transfer wholly inside one of the device's windows, in a state and
 *   direction that allow it, tells the checker nothing.
 * - A blocked read returns all-ones; a blocked write lands nowhere.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { DmaDirection, EventRecord, FactSubject, Report } from "../driver/ports.js";
import type { VirtualClock } from "./clock.js";
import type { Window } from "./dma-map.js";
import type { Domain, IommuUnit } from "./iommu.js";
import type { PhysicalMemory } from "./phys.js";

/** What a transfer needs of the device that makes it (`hardware.ts` implements it). */
export interface DmaTarget {
  readonly name: string;
  readonly present: boolean;
  readonly busMaster: boolean;
  readonly domain: Domain;
  /** True when the device snoops the CPU's caches. */
  readonly coherent: boolean;
  readonly hw: { readonly clock: VirtualClock; readonly phys: PhysicalMemory; readonly iommu: IommuUnit };
  readonly now: number;
  /** The virtual time of the last logged DMA read, and of the last logged write. */
  lastDmaRead: number;
  lastDmaWrite: number;
  describe(): string;
  /** The driver bound now, if any. */
  bound(): string | undefined;
  /** The driver bound now, or else the last one. */
  driver(): string | undefined;
  subject(): FactSubject;
  emit(event: Omit<EventRecord, "device">): void;
  readonly report: Report;
  /** The window holding bus address `address` (the whole transfer, if one does). */
  windowAt(address: number, length: number): Window | undefined;
  /** True if a hold the device declared covers `address`. */
  holdsAddress(address: bigint): boolean;
}

/** What a blocked read returns, as a PCIe master abort does. */
const ALL_ONES = 0xff;

/** One past the largest bus address: 2**64. A constant, so a transfer does not compute it. */
const BUS_LIMIT = 1n << 64n;

/** The largest single transfer a model may ask for. */
export const MAX_TRANSFER = 1 << 30;

/**
 * Moves `length` bytes at bus address `address`. A read returns the bytes,
 * in `into` when given (no allocation: the path bulk transfers take); a
 * write returns `data` if it landed (wholly or in part), or an empty array
 * if nothing was written.
 */
export function deviceDma(
  core: DmaTarget,
  address: bigint,
  length: number,
  direction: DmaDirection,
  data: Uint8Array | undefined,
  into?: Uint8Array,
): Uint8Array {
  const name = direction === "read" ? "dmaRead" : "dmaWrite";
  // Covers a model in JavaScript, or addresses computed as numbers: the parameter type says bigint.
  if (typeof address !== "bigint" || address < 0n || address >= BUS_LIMIT) {
    throw fail("EINVAL", `${name}: ${core.describe()}: the bus address must be a bigint from 0 to 2**64-1, got ${describe(address)}.`);
  }
  // Covers lengths from arithmetic: `number` admits fractions, negatives and NaN.
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_TRANSFER) {
    throw fail("EINVAL", `${name}: ${core.describe()}: the length must be a whole number from 1 to ${MAX_TRANSFER}, got ${describe(length)}.`);
  }
  const write = direction === "write";
  if (!core.present) return blocked(write, into, length);
  if (!core.busMaster) {
    core.emit({ kind: "dma-blocked", driver: core.bound(), direction, address, size: length, detail: `${direction} of ${length} bytes at 0x${address.toString(16)}: bus mastering is off` });
    return blocked(write, into, length);
  }
  const bus = Number(address);
  const error = check(core, address, bus, length, direction);
  const { hw, domain } = core;
  // In passthrough the bus address is the physical one: one range, with no translation to build.
  const ranges = domain.mode === "passthrough" ? undefined : domain.translate(bus, length, write);
  const contiguous = domain.mode === "passthrough" ? bus : ranges?.length === 1 ? ranges[0]!.phys : undefined;
  let out: Uint8Array;
  if (contiguous !== undefined) {
    // One physically contiguous range, the common case: the transfer moves whole, with no view per piece.
    if (write) out = hw.phys.write(contiguous, data!, core.coherent) > 0 ? data! : new Uint8Array(0);
    else hw.phys.read(contiguous, (out = into ?? new Uint8Array(length)), core.coherent);
    record(core, address, direction, length);
  } else if (ranges === undefined) {
    // Strict, and some page is unmapped or forbids the access: the IOMMU blocks all of it.
    hw.iommu.fault({ device: core.name, address, length, direction, time: hw.clock.now });
    core.emit({ kind: "iommu-fault", driver: core.driver(), direction, address, size: length, detail: `${direction} of ${length} bytes at 0x${address.toString(16)} blocked` });
    out = blocked(write, into, length);
  } else if (write) {
    let landed = 0;
    let done = 0;
    for (const range of ranges) {
      landed += hw.phys.write(range.phys, data!.subarray(done, done + range.length), core.coherent);
      done += range.length;
    }
    out = landed > 0 ? data! : new Uint8Array(0);
    record(core, address, direction, length);
  } else {
    out = into ?? new Uint8Array(length);
    let done = 0;
    for (const range of ranges) {
      hw.phys.read(range.phys, out.subarray(done, done + range.length), core.coherent);
      done += range.length;
    }
    record(core, address, direction, length);
  }
  if (error !== undefined) throw error;
  return out;
}

/** Tells the checker what the transfer hit, if it is not simply inside a window that allows it. */
function check(core: DmaTarget, address: bigint, bus: number, length: number, direction: DmaDirection): Error | undefined {
  const window = core.windowAt(bus, length);
  if (window !== undefined && bus + length <= window.address + window.length) {
    const stream = window.stream;
    if (stream === undefined) return undefined;
    const allowed = direction === "read" ? stream.direction !== "from-device" : stream.direction !== "to-device";
    if (stream.owner === "device" && allowed) return undefined;
    return core.report({ ...core.subject(), seen: "device-dma-state", address, length, direction, within: window.region(), owner: stream.owner, ownerSite: stream.ownerSite, ownerTime: stream.ownerTime });
  }
  return core.report({ ...core.subject(), seen: "device-dma", address, length, direction, within: window?.region(), held: core.holdsAddress(address) });
}

/** What a blocked transfer gives back: nothing written, or all-ones read. */
function blocked(write: boolean, into: Uint8Array | undefined, length: number): Uint8Array {
  if (write) return new Uint8Array(0);
  return into === undefined ? new Uint8Array(length).fill(ALL_ONES) : into.fill(ALL_ONES);
}

function record(core: DmaTarget, address: bigint, direction: DmaDirection, length: number): void {
  // One event per device, direction and instant of virtual time, naming the
  // burst's first transfer: DMA traffic neither costs an event per transfer
  // nor pushes the lifecycle out of the bounded log.
  // Kept per direction: a device that reads and writes in turn at one instant
  // (a packet in, its descriptor back) still logs one event each way.
  const now = core.now;
  if (direction === "read") {
    if (core.lastDmaRead === now) return;
    core.lastDmaRead = now;
  } else {
    if (core.lastDmaWrite === now) return;
    core.lastDmaWrite = now;
  }
  core.emit({ kind: "dma", driver: core.bound(), direction, address, size: length, detail: direction });
}
