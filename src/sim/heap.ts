/**
 * The kernel heap: CPU memory a device can reach, for streaming mappings to
 * map. `kmalloc` hands out physically contiguous objects from slabs of size
 * classes (64 bytes up to half a page) or, for larger sizes, whole pages;
 * `vmalloc` hands out memory that is contiguous for the CPU and scattered in
 * physical pages, so an sg table of it has one entry per page until an IOMMU
 * merges them. Neither is device-managed: a buffer lives until freed.
 *
 * The heap lies at 4 GiB: above a 32-bit DMA mask, as most memory of a large
 * machine does. A device that keeps the default 32-bit mask and has no IOMMU
 * translating for it bounces every streaming mapping through swiotlb.
 *
 * Kernel: `mm/slub.c` (`kmalloc`, `kfree`, the `kmalloc-64` … caches,
 * `ARCH_DMA_MINALIGN`) and `mm/vmalloc.c` (`vmalloc`, `vfree`).
 *
 * # Invariants
 * - Every object starts on a cache line: two kmalloc buffers never share one.
 * - `stats().bytesInUse` is the sum of the live objects' slot sizes (slab
 *   objects) and whole pages (page allocations and vmalloc).
 * - A freed object's CPU view is detached, and its chunks leave the
 *   physical map; a failed allocation changes nothing.
 * - An object still mapped for a device cannot be freed (`EBUSY`).
 *
 * @module
 */

import { fail } from "../internal/error.js";
import { Extents } from "../internal/extents.js";
import type { Site } from "../internal/site.js";
import type { HeapMemory, PhysRun, Report, StreamMapping } from "../driver/ports.js";
import type { ZoneStats } from "./memory.js";
import { CACHE_LINE, detach } from "./phys.js";
import type { Backing, PhysicalMemory } from "./phys.js";

export const DEFAULT_HEAP_BYTES = 64 * 1024 * 1024;
/** Where the heap starts: 4 GiB, above a 32-bit mask (or above the coherent zone, if that is larger). */
export const HEAP_BASE = 0x1_0000_0000;

/** A slab page of one size class. */
interface Slab {
  readonly page: number;
  readonly size: number;
  /** Slots given back, to hand out first. */
  readonly free: number[];
  /** The lowest slot never handed out. */
  fresh: number;
  /** Slots in use. */
  used: number;
}

/** One heap allocation. */
export class HeapObject implements HeapMemory {
  readonly bytes: number;
  readonly runs: readonly PhysRun[];
  readonly allocator: "kmalloc" | "vmalloc";
  readonly allocTime: number;
  readonly backing: Backing;
  live = true;
  readonly mappings = new Set<StreamMapping>();
  /** Bytes the zone counts for it. */
  readonly footprint: number;
  /** How to give its memory back to the zone. */
  readonly giveBack: () => void;
  /** The heap it came from: a machine maps only its own memory. */
  readonly heap: object;
  readonly #report: (mapping: StreamMapping, site: Site | undefined) => Error | undefined;

  constructor(init: {
    bytes: number;
    runs: readonly PhysRun[];
    allocator: "kmalloc" | "vmalloc";
    allocTime: number;
    backing: Backing;
    footprint: number;
    giveBack: () => void;
    heap: object;
    report: (mapping: StreamMapping, site: Site | undefined) => Error | undefined;
  }) {
    this.bytes = init.bytes;
    this.runs = init.runs;
    this.allocator = init.allocator;
    this.allocTime = init.allocTime;
    this.backing = init.backing;
    this.footprint = init.footprint;
    this.giveBack = init.giveBack;
    this.heap = init.heap;
    this.#report = init.report;
  }

  get label(): string {
    return `${this.allocator} buffer of ${this.bytes} bytes at 0x${this.runs[0]!.phys.toString(16)}`;
  }

  access(site: () => Site | undefined): ArrayBuffer {
    // Covers what no type can: the buffer's handle kept, and used, after a mapping gave the memory to the device.
    for (const mapping of this.mappings) {
      if (mapping.owner !== "device") continue;
      const error = this.#report(mapping, site());
      if (error !== undefined) throw error;
      break;
    }
    return this.backing.cpu;
  }
}

/** The kernel heap of one machine. */
export class KernelHeap {
  readonly capacity: number;
  /** {@link HEAP_BASE}, or the first page above the coherent zone if that reaches further. */
  readonly base: number;
  readonly #pageSize: number;
  readonly #pages: Extents;
  readonly #phys: PhysicalMemory;
  /** Slabs with a free slot, per size class. */
  readonly #partial = new Map<number, Set<Slab>>();
  #inUse = 0;
  #allocations = 0;
  #highWater = 0;

  constructor(bytes: number, pageSize: number, phys: PhysicalMemory, below: number) {
    this.capacity = bytes;
    this.base = Math.max(HEAP_BASE, Math.ceil(below / pageSize) * pageSize);
    this.#pageSize = pageSize;
    this.#pages = new Extents(0, bytes / pageSize);
    this.#phys = phys;
  }

  stats(): ZoneStats {
    return { capacity: this.capacity, bytesInUse: this.#inUse, allocations: this.#allocations, highWater: this.#highWater };
  }

  /**
   * Allocates `bytes` (a positive safe integer, checked by the caller).
   * `report` is told when the CPU touches the object while a device owns it.
   */
  allocate(
    owner: { describe(): string },
    bytes: number,
    allocator: "kmalloc" | "vmalloc",
    now: number,
    report: (mapping: StreamMapping, site: Site | undefined) => Error | undefined,
  ): HeapObject {
    const pageSize = this.#pageSize;
    const where = (): string => `${allocator}(${bytes}): ${owner.describe()}`;
    if (bytes > this.capacity) throw fail("ENOMEM", `${where()}: larger than the whole kernel heap (${this.capacity} bytes).`);
    let buffer: ArrayBuffer;
    const pages = Math.ceil(bytes / pageSize);
    const slotSize = allocator === "kmalloc" && bytes <= pageSize / 2 ? sizeClass(bytes) : undefined;
    try {
      buffer = new ArrayBuffer(slotSize ?? pages * pageSize);
    } catch (error) {
      throw fail("ENOMEM", `${where()}: the host could not back ${bytes} bytes.`, error);
    }
    const backing: Backing = { cpu: buffer, ram: undefined };
    let runs: PhysRun[];
    let giveBack: () => void;
    let footprint: number;
    if (slotSize !== undefined) {
      const slab = this.#slabWithRoom(slotSize);
      if (slab === undefined) throw fail("ENOMEM", `${where()}: the kernel heap has no free page for a kmalloc-${slotSize} slab.`);
      const slot = slab.free.pop() ?? slab.fresh++;
      slab.used++;
      if (slab.used === pageSize / slotSize) this.#partial.get(slotSize)!.delete(slab);
      const phys = this.base + slab.page * pageSize + slot * slotSize;
      runs = [{ phys, offset: 0, length: slotSize }];
      footprint = slotSize;
      giveBack = () => this.#freeSlot(slab, slot);
    } else if (allocator === "kmalloc") {
      const first = this.#pages.take(pages, Number.POSITIVE_INFINITY);
      if (first === undefined) throw fail("ENOMEM", `${where()}: the kernel heap has no free run of ${pages} pages.`);
      runs = [{ phys: this.base + first * pageSize, offset: 0, length: pages * pageSize }];
      footprint = pages * pageSize;
      giveBack = () => this.#pages.give(first, pages);
    } else {
      const taken = this.#scattered(pages);
      if (taken === undefined) throw fail("ENOMEM", `${where()}: the kernel heap has fewer than ${pages} free pages.`);
      runs = taken.map((page, i) => ({ phys: this.base + page * pageSize, offset: i * pageSize, length: pageSize }));
      footprint = pages * pageSize;
      giveBack = () => {
        for (const page of taken) this.#pages.give(page, 1);
      };
    }
    for (const run of runs) this.#phys.add({ phys: run.phys, length: run.length, backing, offset: run.offset });
    this.#inUse += footprint;
    this.#allocations++;
    if (this.#inUse > this.#highWater) this.#highWater = this.#inUse;
    return new HeapObject({
      bytes,
      runs,
      allocator,
      allocTime: now,
      backing,
      footprint,
      giveBack,
      heap: this,
      report,
    });
  }

  /** Frees `object`. `EBUSY`, and nothing changes, while it is mapped; `EINVAL` if already freed. */
  release(object: HeapObject, operation: string): void {
    if (!object.live) throw fail("EINVAL", `${operation}: ${object.label} was already freed.`);
    if (object.mappings.size > 0) {
      const [mapping] = object.mappings;
      throw fail("EBUSY", `${operation}: ${object.label} is still mapped for a device (${mapping!.label}). Unmap it first: the device could still DMA into it.`);
    }
    object.live = false;
    for (const run of object.runs) this.#phys.remove(run.phys);
    object.giveBack();
    this.#inUse -= object.footprint;
    this.#allocations--;
    detach(object.backing.cpu);
    if (object.backing.ram !== undefined) detach(object.backing.ram);
  }

  /** A slab of `size` with a free slot, carving a new page if none has one. */
  #slabWithRoom(size: number): Slab | undefined {
    let partial = this.#partial.get(size);
    if (partial === undefined) this.#partial.set(size, (partial = new Set()));
    for (const slab of partial) return slab;
    const page = this.#pages.take(1, Number.POSITIVE_INFINITY);
    if (page === undefined) return undefined;
    const slab: Slab = { page, size, free: [], fresh: 0, used: 0 };
    partial.add(slab);
    return slab;
  }

  #freeSlot(slab: Slab, slot: number): void {
    slab.free.push(slot);
    slab.used--;
    const partial = this.#partial.get(slab.size)!;
    if (slab.used === 0) {
      partial.delete(slab);
      this.#pages.give(slab.page, 1);
    } else {
      partial.add(slab);
    }
  }

  /**
   * `count` pages that are not physically contiguous where that can be had,
   * as vmalloc's pages rarely are: each is taken with the page after it, and
   * the spacers are given back at the end. `undefined`, with nothing taken,
   * when too few pages are free.
   */
  #scattered(count: number): number[] | undefined {
    if (this.#pages.free < count) return undefined;
    const taken: number[] = [];
    const spacers: number[] = [];
    for (let i = 0; i < count; i++) {
      const spare = this.#pages.free - (count - i) >= 1;
      const pair = spare ? this.#pages.take(2, Number.POSITIVE_INFINITY) : undefined;
      if (pair !== undefined) {
        taken.push(pair);
        spacers.push(pair + 1);
        continue;
      }
      const page = this.#pages.take(1, Number.POSITIVE_INFINITY);
      if (page === undefined) {
        for (const p of [...taken, ...spacers]) this.#pages.give(p, 1);
        return undefined;
      }
      taken.push(page);
    }
    for (const p of spacers) this.#pages.give(p, 1);
    return taken;
  }
}

/** The kmalloc size class for `bytes`: a power of two from one cache line up. */
function sizeClass(bytes: number): number {
  let size = CACHE_LINE;
  while (size < bytes) size *= 2;
  return size;
}
