/**
 * The swiotlb bounce pool: low memory every device can reach, through which
 * a streaming mapping goes when its buffer lies beyond the device's DMA mask
 * and no IOMMU translates for the device. A to-device mapping copies the
 * buffer in when mapped (and at each sync-for-device); a from-device mapping
 * copies it out at each sync-for-cpu and at unmap. The pool is small and can
 * run out, as the kernel's does ("swiotlb buffer is full").
 *
 * Kernel: `kernel/dma/swiotlb.c` (`swiotlb_tbl_map_single`,
 * `swiotlb_tbl_unmap_single`, `swiotlb_sync_single_for_cpu`), with its 2 KiB
 * slots (`IO_TLB_SIZE`) and at most 128 contiguous slots per mapping
 * (`IO_TLB_SEGSIZE`).
 *
 * # Invariants
 * - A slot belongs to at most one live mapping.
 * - `stats().bytesInUse` is the bytes of taken slots, exactly.
 * - The pool's memory is allocated on first use: a machine that never
 *   bounces pays nothing for it.
 *
 * @module
 */

import { Extents } from "../internal/extents.js";
import type { ZoneStats } from "./memory.js";
import type { Backing, PhysicalMemory } from "./phys.js";

/** Bytes per slot (`IO_TLB_SIZE`). */
export const SLOT = 2048;
/** The most slots one mapping may take (`IO_TLB_SEGSIZE`): 256 KiB. */
export const MAX_SLOTS = 128;
export const DEFAULT_SWIOTLB_BYTES = 4 * 1024 * 1024;
/** Where the pool lies: 8 MiB, below even a 24-bit mask. */
export const SWIOTLB_BASE = 0x80_0000;

export class Swiotlb {
  readonly capacity: number;
  readonly base = SWIOTLB_BASE;
  readonly #slots: Extents;
  readonly #phys: PhysicalMemory;
  #backing: Backing | undefined;
  #inUse = 0;
  #allocations = 0;
  #highWater = 0;

  constructor(bytes: number, phys: PhysicalMemory) {
    this.capacity = bytes;
    this.#slots = new Extents(0, bytes / SLOT);
    this.#phys = phys;
  }

  stats(): ZoneStats {
    return { capacity: this.capacity, bytesInUse: this.#inUse, allocations: this.#allocations, highWater: this.#highWater };
  }

  /** The largest mapping the pool takes, in bytes. */
  get maxMapping(): number {
    return Math.min(MAX_SLOTS * SLOT, this.capacity);
  }

  /** Takes slots for `length` bytes, below `2 ** maskBits`; their physical address, or `undefined`. */
  take(length: number, maskBits: number): number | undefined {
    const count = Math.ceil(length / SLOT);
    if (count > MAX_SLOTS) return undefined;
    const limit = Math.floor((2 ** maskBits - this.base) / SLOT);
    const first = this.#slots.take(count, limit);
    if (first === undefined) return undefined;
    if (this.#backing === undefined) {
      this.#backing = { cpu: new ArrayBuffer(this.capacity), ram: undefined };
      this.#phys.add({ phys: this.base, length: this.capacity, backing: this.#backing, offset: 0 });
    }
    this.#inUse += count * SLOT;
    this.#allocations++;
    if (this.#inUse > this.#highWater) this.#highWater = this.#inUse;
    return this.base + first * SLOT;
  }

  /** Gives back the slots taken for `length` bytes at `phys`. */
  give(phys: number, length: number): void {
    const count = Math.ceil(length / SLOT);
    this.#slots.give((phys - this.base) / SLOT, count);
    this.#inUse -= count * SLOT;
    this.#allocations--;
  }

  /** The pool's bytes at `phys`, for the CPU's bounce copies. */
  bytes(phys: number, length: number): Uint8Array {
    return new Uint8Array(this.#backing!.cpu, phys - this.base, length);
  }

  /** Why nothing could be taken for `length` bytes below `maskBits`, for the ENOMEM message. */
  why(length: number, maskBits: number): string {
    if (Math.ceil(length / SLOT) > MAX_SLOTS) return `a bounced mapping is at most ${MAX_SLOTS * SLOT} bytes, and this one is ${length}`;
    if (2 ** maskBits <= this.base) return `the bounce pool at 0x${this.base.toString(16)} lies beyond the device's ${maskBits}-bit DMA mask`;
    return `the swiotlb bounce pool is full (${this.#inUse} of ${this.capacity} bytes in use): unmap what the device is done with`;
  }
}
