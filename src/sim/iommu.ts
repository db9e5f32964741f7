/**
 * The IOMMU: one translation domain per device.
 *
 * In `strict` mode a device sees only what was mapped for it: each coherent
 * allocation and each streaming mapping maps its pages into the device's
 * domain at an IOVA below the device's DMA mask, and that IOVA is the bus
 * address the driver gets. Translation is page by page, with permissions: a
 * to-device mapping is read-only for the device, a from-device one
 * write-only (`dma_info_to_prot`). A device access to anything else (freed
 * memory, another device's memory, past the end of a mapping's pages, the
 * wrong way) is blocked and recorded as a fault.
 *
 * In `passthrough` mode the bus address is the physical address, as with no
 * IOMMU at all: a stray DMA lands in whatever occupies that memory now. The
 * DMA checker still sees it, because it knows each device's mappings.
 *
 * Kernel: `drivers/iommu` (`iommu_map`, `iommu_unmap`, the fault report) and,
 * for passthrough, `dma-direct`.
 *
 * # Invariants
 * - Under strict, a device reaches only what is mapped in its own domain, and
 *   every access outside is blocked and recorded as a fault.
 * - A mapping's IOVA range is free for reuse only once unmapped.
 * - Under strict, an access goes through only if every page it touches is
 *   mapped and permits it; then it goes through whole.
 *
 * @module
 */

import { Extents } from "../internal/extents.js";
import type { DmaDirection } from "../driver/ports.js";

/**
 * How the IOMMU translates device addresses.
 *
 * @example
 * ```ts
 * const machine = new Machine({ iommu: "strict" });   // each device sees only its own mappings
 * machine.iommu.mode;                                  // "strict"
 * ```
 */
export type IommuMode = "strict" | "passthrough";

/**
 * A device access the strict IOMMU blocked.
 *
 * @example
 * ```ts
 * const machine = new Machine({ iommu: "strict" });
 * // … a device DMAs outside what was mapped for it …
 * for (const f of machine.iommu.faults) console.log(f.device, f.direction, `0x${f.address.toString(16)}`, f.length);
 * ```
 */
export interface IommuFault {
  /** The device's name. */
  readonly device: string;
  /** The bus address it used. */
  readonly address: bigint;
  /** Bytes it tried to move. */
  readonly length: number;
  /** `read`: the device read memory; `write`: it wrote memory. */
  readonly direction: DmaDirection;
  /** Virtual time, ns. */
  readonly time: number;
}

/**
 * `machine.iommu`: its mode and the faults it recorded.
 *
 * @example
 * ```ts
 * const machine = new Machine({ iommu: "strict" });
 * // … a device DMAs to an address nobody mapped for it …
 * console.log(machine.iommu.faults[0]); // { device, address, length, direction, time }
 * ```
 */
export interface Iommu {
  readonly mode: IommuMode;
  /** Every blocked access, oldest first. Always empty in `passthrough`. */
  readonly faults: readonly IommuFault[];
}

/** The machine's IOMMU: its mode, one domain per device, and every fault. */
export class IommuUnit implements Iommu {
  readonly mode: IommuMode;
  readonly #faults: IommuFault[] = [];

  constructor(mode: IommuMode) {
    this.mode = mode;
  }

  get faults(): readonly IommuFault[] {
    return this.#faults;
  }

  /** A new device's translation domain. */
  domain(pageSize: number): Domain {
    return new Domain(this.mode, pageSize);
  }

  /** Records a blocked access (strict only). */
  fault(fault: IommuFault): void {
    this.#faults.push(Object.freeze(fault));
  }
}

/** A physical range to map. */
export interface PhysRange {
  readonly phys: number;
  readonly length: number;
}

/** What the device may do through a page: the kernel's `IOMMU_READ`/`IOMMU_WRITE` (`dma_info_to_prot`). */
export interface Prot {
  readonly read: boolean;
  readonly write: boolean;
}

/** One IOMMU page table entry. */
interface Pte extends Prot {
  /** The physical page number. */
  readonly page: number;
}

/** IOVAs start at 1 MiB, so a zero or small bogus address never hits a mapping. */
export const IOVA_BASE = 0x10_0000;
/** A 48-bit IOVA space, as on x86 IOMMUs. */
const IOVA_BITS = 48;

/**
 * One device's translation domain. Under strict it is a page table:
 * translation is page by page, so a transfer across two pages both mapped
 * for the device goes through, and each page says whether the device may
 * read it, write it, or both. In passthrough a bus address is physical.
 */
export class Domain {
  readonly mode: IommuMode;
  readonly #pageSize: number;
  /** Free IOVA pages (strict only). */
  readonly #space: Extents | undefined;
  /** IOVA page number to entry (strict only). */
  readonly #ptes = new Map<number, Pte>();

  constructor(mode: IommuMode, pageSize: number) {
    this.mode = mode;
    this.#pageSize = pageSize;
    this.#space =
      mode === "strict" ? new Extents(IOVA_BASE / pageSize, 2 ** IOVA_BITS / pageSize - IOVA_BASE / pageSize) : undefined;
  }

  /** The pages `range` touches. */
  pagesOf(range: PhysRange): number {
    const page = this.#pageSize;
    return Math.ceil((range.phys + range.length) / page) - Math.floor(range.phys / page);
  }

  /**
   * Maps `ranges` one after another in one IOVA range below `2 ** maskBits`,
   * each over whole pages, and returns the bus address of each range's first
   * byte; or `undefined`, mapping nothing, when no IOVA range fits. In
   * passthrough the bus addresses are the physical ones, whatever the mask.
   */
  map(ranges: readonly PhysRange[], maskBits: number, prot: Prot): number[] | undefined {
    if (this.#space === undefined) return ranges.map((r) => r.phys);
    const page = this.#pageSize;
    const total = ranges.reduce((n, r) => n + this.pagesOf(r), 0);
    const limit = Math.floor(Math.min(2 ** maskBits, 2 ** IOVA_BITS) / page);
    const first = this.#space.take(total, limit);
    if (first === undefined) return undefined;
    const addresses: number[] = [];
    let next = first;
    for (const range of ranges) {
      const physPage = Math.floor(range.phys / page);
      const count = this.pagesOf(range);
      for (let i = 0; i < count; i++) this.#ptes.set(next + i, { page: physPage + i, read: prot.read, write: prot.write });
      addresses.push(next * page + (range.phys - physPage * page));
      next += count;
    }
    return addresses;
  }

  /** Unmaps the `pages` pages from the one holding `address`; their IOVAs are free for reuse. No-op in passthrough. */
  unmap(address: number, pages: number): void {
    if (this.#space === undefined) return;
    const first = Math.floor(address / this.#pageSize);
    for (let i = 0; i < pages; i++) this.#ptes.delete(first + i);
    this.#space.give(first, pages);
  }

  /**
   * The physical ranges behind `[address, address + length)` for a device
   * read or write, or `undefined` if any page of it is unmapped or forbids
   * the access (strict only: in passthrough the address is physical).
   */
  translate(address: number, length: number, write: boolean): PhysRange[] | undefined {
    if (this.#space === undefined) return [{ phys: address, length }];
    const page = this.#pageSize;
    const out: { phys: number; length: number }[] = [];
    let done = 0;
    while (done < length) {
      const at = address + done;
      const iovaPage = Math.floor(at / page);
      const pte = this.#ptes.get(iovaPage);
      if (pte === undefined || !(write ? pte.write : pte.read)) return undefined;
      const size = Math.min(length - done, (iovaPage + 1) * page - at);
      const phys = pte.page * page + (at - iovaPage * page);
      const last = out[out.length - 1];
      if (last !== undefined && last.phys + last.length === phys) last.length += size;
      else out.push({ phys, length: size });
      done += size;
    }
    return out;
  }
}
