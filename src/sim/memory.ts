/**
 * The simulated coherent memory pool: the machine's DMA-able RAM.
 *
 * A fixed capacity in pages at a fixed physical base. Allocation is
 * address-ordered first fit over page extents (`internal/extents.ts`), so a
 * device with a narrow DMA mask gets the lowest free pages, and capacity costs
 * nothing until used: each allocation has its own zero-filled buffer, and the
 * free space is a handful of numbers however large the pool is.
 *
 * # Invariants
 * - `stats().bytesInUse` is the page-rounded size of the live blocks, exactly.
 * - A failed allocation changes nothing.
 * - A freed block's buffer is detached: no view of it reads or writes.
 *
 * Kernel: the page allocator under `dma_alloc_coherent` (`alloc_pages`
 * below a zone limit, as `dma-direct` picks `ZONE_DMA32` for a 32-bit mask).
 *
 * @module
 */

import { fail } from "../internal/error.js";
import { Extents } from "../internal/extents.js";
import type { Site } from "../internal/site.js";
import { OrderedMap } from "../internal/sorted.js";
import { detach } from "./phys.js";
import type { Backing, PhysicalMemory } from "./phys.js";

/**
 * Options for the simulated pool (`new Machine({ memory })`).
 *
 * @example
 * ```ts
 * const machine = new Machine({ memory: { bytes: 1 << 20, pageSize: 4096 } });   // 256 pages
 * ```
 */
export interface MemoryOptions {
  /** Capacity in bytes, a whole number of pages. Default 64 MiB. */
  readonly bytes?: number;
  /** Page size in bytes, a power of two from 512 to 1 GiB. Default 4096. */
  readonly pageSize?: number;
  /**
   * The kernel heap that `kmalloc` and `vmalloc` take CPU memory from, in
   * bytes, a whole number of pages. It lies at 4 GiB, above a 32-bit DMA
   * mask, as most of a large machine's memory does. Default 64 MiB.
   */
  readonly heapBytes?: number;
  /**
   * The swiotlb bounce pool, in bytes, a whole number of 2 KiB slots. It lies
   * at 8 MiB, below any usual DMA mask. Default 4 MiB.
   */
  readonly swiotlbBytes?: number;
}

/**
 * What the pool holds now. Exact, not sampled.
 *
 * @example
 * ```ts
 * const nic: Device = machine.pci.devices[0]!;
 * await machine.pci.unplug(nic);
 * const { bytesInUse, highWater } = machine.memory.stats();
 * console.log(bytesInUse === 0 ? "nothing leaked" : `${bytesInUse} bytes leaked`, `peak ${highWater}`);
 * ```
 */
export interface MemoryStats {
  /** Capacity in bytes. */
  readonly capacity: number;
  /** Bytes held by live allocations, each rounded up to whole pages. */
  readonly bytesInUse: number;
  /** Live allocations. */
  readonly allocations: number;
  /** The largest `bytesInUse` seen since the machine started. */
  readonly highWater: number;
}

/**
 * What the kernel heap or the bounce pool holds now (`machine.memory.heap()`,
 * `machine.memory.swiotlb()`). Exact, not sampled.
 *
 * @example
 * ```ts
 * const { bytesInUse, allocations } = machine.memory.heap();
 * const bounce = machine.memory.swiotlb();
 * console.log(`${allocations} kmalloc buffers, ${bounce.bytesInUse} bytes bouncing`);
 * ```
 */
export interface ZoneStats {
  /** Capacity in bytes. */
  readonly capacity: number;
  /** Bytes held by live allocations, rounded up to the zone's unit (a slab size class, whole pages, or 2 KiB slots). */
  readonly bytesInUse: number;
  /** Live allocations. */
  readonly allocations: number;
  /** The largest `bytesInUse` seen since the machine started. */
  readonly highWater: number;
}

/**
 * The pool as users see it: `machine.memory`.
 *
 * @example
 * ```ts
 * const { bytesInUse, allocations } = machine.memory.stats();
 * ```
 */
export interface Memory {
  /** Capacity in bytes. */
  readonly capacity: number;
  /** Page size in bytes; every allocation is rounded up to it. */
  readonly pageSize: number;
  /** The physical address of the first byte of the pool. */
  readonly base: number;
  /** The pool's accounting now. */
  stats(): MemoryStats;
  /**
   * How broken up the free space is: the largest free run and all free
   * bytes. `largestFree / free` is 1 for an unfragmented pool.
   */
  fragmentation(): { readonly largestFree: number; readonly free: number };
  /** The kernel heap (`kmalloc`, `vmalloc`): not device-managed, so unbinding does not free it. */
  heap(): ZoneStats;
  /** The swiotlb bounce pool. */
  swiotlb(): ZoneStats;
}

export const DEFAULT_POOL_BYTES = 64 * 1024 * 1024;
export const DEFAULT_PAGE_SIZE = 4096;
/**
 * Where the pool starts in the physical address space: 1 GiB. Below 4 GiB, so
 * the default 32-bit DMA mask reaches the first 3 GiB of a large pool and a
 * 24-bit mask reaches none of it, as on a real machine.
 */
export const POOL_BASE = 0x4000_0000;

/** One live allocation's memory. */
export interface Block {
  /** Physical address of the first byte. */
  readonly phys: number;
  /** Requested size in bytes. */
  readonly bytes: number;
  /** Size in pages. */
  readonly pages: number;
  /** The CPU's view of the memory, all its pages; detached when the block is freed. */
  readonly buffer: ArrayBuffer;
  /** The same, as physical memory holds it (one copy: coherent memory is uncached). */
  readonly backing: Backing;
  /** Where the driver allocated it (when the checker is on). */
  readonly allocSite: Site | undefined;
  /** Virtual time of the allocation, ns. */
  readonly allocTime: number;
}

/** The coherent zone: page-granular, device-managed allocations (`allocCoherent`). */
export class CoherentPool {
  readonly capacity: number;
  readonly pageSize: number;
  readonly base = POOL_BASE;
  readonly #extents: Extents;
  readonly #totalPages: number;
  /** Live blocks sorted by physical address, for device DMA by address. */
  readonly #live = new OrderedMap<Block>();
  #usedPages = 0;
  #allocations = 0;
  #highWaterPages = 0;

  readonly #phys: PhysicalMemory;

  constructor(options: MemoryOptions, phys: PhysicalMemory) {
    this.#phys = phys;
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    // Covers options from JavaScript or arithmetic: `number` cannot say power of two.
    if (typeof pageSize !== "number" || !Number.isInteger(pageSize) || pageSize < 512 || pageSize > 2 ** 30 || (pageSize & (pageSize - 1)) !== 0) {
      throw fail("EINVAL", `Machine: memory.pageSize must be a power of two from 512 to 1 GiB, got ${String(pageSize)}.`);
    }
    const bytes = options.bytes ?? DEFAULT_POOL_BYTES;
    // Covers a capacity that is not a whole number of pages, which `number` admits.
    if (typeof bytes !== "number" || !Number.isSafeInteger(bytes) || bytes <= 0 || bytes % pageSize !== 0) {
      throw fail("EINVAL", `Machine: memory.bytes must be a positive whole number of ${pageSize}-byte pages, got ${String(bytes)}.`);
    }
    this.pageSize = pageSize;
    this.capacity = bytes;
    this.#totalPages = bytes / pageSize;
    this.#extents = new Extents(0, this.#totalPages);
  }

  stats(): MemoryStats {
    return {
      capacity: this.capacity,
      bytesInUse: this.#usedPages * this.pageSize,
      allocations: this.#allocations,
      highWater: this.#highWaterPages * this.pageSize,
    };
  }

  /** The largest free run of pages, in bytes, and the free bytes in all. */
  fragmentation(): { largestFree: number; free: number } {
    return { largestFree: this.#extents.largest * this.pageSize, free: this.#extents.free * this.pageSize };
  }

  /**
   * Allocates `bytes` (already validated as a positive safe integer) below
   * `2 ** maskBits`. Throws `ENOMEM`, naming `owner`, and changes nothing when
   * it cannot.
   */
  allocate(owner: { describe(): string }, bytes: number, maskBits: number, allocSite?: Site, allocTime = 0): Block {
    const pages = Math.ceil(bytes / this.pageSize);
    // Built only on failure: describing the owner costs more than the allocation.
    const where = (): string => `allocCoherent(${bytes}): ${owner.describe()}`;
    if (pages > this.#totalPages) {
      throw fail("ENOMEM", `${where()}: larger than the whole pool (${this.capacity} bytes).`);
    }
    const limit = Math.floor((2 ** maskBits - this.base) / this.pageSize);
    const first = this.#extents.take(pages, limit);
    if (first === undefined) {
      const free = this.#extents.free * this.pageSize;
      const reason =
        limit < pages
          ? `no memory of the pool lies below its ${maskBits}-bit DMA mask; raise it with setDmaMask() in probe()`
          : this.#extents.largest >= pages
            ? `no free run of ${pages} pages lies below its ${maskBits}-bit DMA mask; raise it with setDmaMask() in probe()`
            : `the pool has ${free} bytes free, and no free run of ${pages} pages; free what you no longer need`;
      throw fail("ENOMEM", `${where()}: ${reason}.`);
    }
    let buffer: ArrayBuffer;
    try {
      // Whole pages: a device write past the allocation lands in its page's tail, as on hardware.
      buffer = new ArrayBuffer(pages * this.pageSize);
    } catch (error) {
      this.#extents.give(first, pages);
      throw fail("ENOMEM", `${where()}: the host could not back ${bytes} bytes.`, error);
    }
    this.#usedPages += pages;
    this.#allocations++;
    if (this.#usedPages > this.#highWaterPages) this.#highWaterPages = this.#usedPages;
    const backing: Backing = { cpu: buffer, ram: undefined };
    const block = { phys: this.base + first * this.pageSize, bytes, pages, buffer, backing, allocSite, allocTime };
    this.#live.set(block.phys, block);
    this.#phys.add({ phys: block.phys, length: pages * this.pageSize, backing, offset: 0 });
    return block;
  }

  /**
   * Returns `block` to the pool and detaches its buffer, so every view of it
   * handed out before reads nothing and writes nowhere. The caller guarantees
   * the block is live (double frees are caught a level up).
   */
  release(block: Block): void {
    this.#extents.give((block.phys - this.base) / this.pageSize, block.pages);
    this.#usedPages -= block.pages;
    this.#allocations--;
    this.#live.delete(block.phys);
    this.#phys.remove(block.phys);
    detach(block.buffer);
  }

  /** The live block whose pages hold physical address `phys`, if any. */
  blockAt(phys: number): Block | undefined {
    const block = this.#live.floor(phys);
    return block !== undefined && phys < block.phys + block.pages * this.pageSize ? block : undefined;
  }
}
