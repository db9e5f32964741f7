/**
 * The IOMMU: one translation domain per device.
 *
 * In `strict` mode a device sees only what was mapped for it: each coherent
 * allocation maps its pages into the owning device's domain at an IOVA below
 * the device's DMA mask, and that IOVA is the allocation's `dmaHandle`. A
 * device access to anything else (freed memory, another device's memory, past
 * the end of a mapping) is blocked and recorded as a fault.
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
 *
 * @module
 */

import { Extents } from "../internal/extents.js";
import { OrderedMap } from "../internal/sorted.js";
import type { DmaDirection } from "../driver/ports.js";
import type { Block } from "./memory.js";

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

/** One allocation as a device sees it. */
export interface Mapping {
  /** The bus address the device uses: an IOVA, or the physical address. */
  readonly iova: number;
  readonly block: Block;
}

/** IOVAs start at 1 MiB, so a zero or small bogus address never hits a mapping. */
export const IOVA_BASE = 0x10_0000;
/** A 48-bit IOVA space, as on x86 IOMMUs. */
const IOVA_BITS = 48;

/** One device's translation domain. */
export class Domain {
  readonly mode: IommuMode;
  readonly #pageSize: number;
  /** Free IOVA pages (strict only). */
  readonly #space: Extents | undefined;
  /** Live mappings sorted by IOVA. */
  readonly #mappings = new OrderedMap<Mapping>();

  constructor(mode: IommuMode, pageSize: number) {
    this.mode = mode;
    this.#pageSize = pageSize;
    this.#space =
      mode === "strict" ? new Extents(IOVA_BASE / pageSize, 2 ** IOVA_BITS / pageSize - IOVA_BASE / pageSize) : undefined;
  }

  /**
   * Maps `block` and returns its bus address, below `2 ** maskBits`, or
   * `undefined` when no IOVA range that fits is free. In passthrough the
   * address is the physical one, which the pool already placed below the mask.
   */
  map(block: Block, maskBits: number): number | undefined {
    let iova = block.phys;
    if (this.#space !== undefined) {
      const limit = Math.floor(Math.min(2 ** maskBits, 2 ** IOVA_BITS) / this.#pageSize);
      const page = this.#space.take(block.pages, limit);
      if (page === undefined) return undefined;
      iova = page * this.#pageSize;
    }
    this.#mappings.set(iova, { iova, block });
    return iova;
  }

  /** Removes the mapping at `iova`; its IOVA range is free for reuse. */
  unmap(iova: number): void {
    const mapping = this.#mappings.get(iova);
    if (mapping === undefined) return;
    this.#mappings.delete(iova);
    this.#space?.give(iova / this.#pageSize, mapping.block.pages);
  }

  /** The mapping whose pages hold bus address `address`, if any. */
  lookup(address: number): Mapping | undefined {
    const mapping = this.#mappings.floor(address);
    return mapping !== undefined && address < mapping.iova + mapping.block.pages * this.#pageSize ? mapping : undefined;
  }

  /** The end of `mapping`'s pages, as a bus address. */
  end(mapping: Mapping): number {
    return mapping.iova + mapping.block.pages * this.#pageSize;
  }
}

