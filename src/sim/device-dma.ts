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
  /** The window holding bus address `address` (the whole transfer, if one does). */
  windowAt(address: number, length: number): Window | undefined;
  /** True if a hold the device declared covers `address`. */
  holdsAddress(address: bigint): boolean;
}

/** What a blocked read returns, as a PCIe master abort does. */
const ALL_ONES = 0xff;

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
  if (typeof address !== "bigint" || address < 0n || address >= 1n << 64n) {
    throw fail("EINVAL", `${name}: ${core.describe()}: the bus address must be a bigint from 0 to 2**64-1, got ${describe(address)}.`);
  }
  // Covers lengths from arithmetic: `number` admits fractions, negatives and NaN.
  if (!Number.isSafeInteger(length) || length <= 0 || length > MAX_TRANSFER) {
    throw fail("EINVAL", `${name}: ${core.describe()}: the length must be a whole number from 1 to ${MAX_TRANSFER}, got ${describe(length)}.`);
  }
  const write = direction === "write";
  const blocked = (): Uint8Array => (write ? new Uint8Array(0) : fillInto(into, length, ALL_ONES));
  if (!core.present) return blocked();
  if (!core.busMaster) {
    core.emit({ kind: "dma-blocked", driver: core.bound(), direction, address, size: length, detail: `${direction} of ${length} bytes at 0x${address.toString(16)}: bus mastering is off` });
    return blocked();
  }
  const bus = Number(address);
  const error = check(core, address, bus, length, direction);
  const { hw } = core;
  const ranges = core.domain.translate(bus, length, write);
  let out: Uint8Array;
  if (ranges === undefined) {
    // Strict, and some page is unmapped or forbids the access: the IOMMU blocks all of it.
    hw.iommu.fault({ device: core.name, address, length, direction, time: hw.clock.now });
    core.emit({ kind: "iommu-fault", driver: core.driver(), direction, address, size: length, detail: `${direction} of ${length} bytes at 0x${address.toString(16)} blocked` });
    out = blocked();
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

function fillInto(into: Uint8Array | undefined, length: number, value: number): Uint8Array {
  return into === undefined ? new Uint8Array(length).fill(value) : into.fill(value);
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
