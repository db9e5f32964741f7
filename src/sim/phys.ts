/**
 * The machine's physical address space as a device sees it: which memory
 * lives at each physical address, and a device's reads and writes across it.
 *
 * Memory is placed in chunks: a coherent allocation's pages, a kmalloc
 * object's slot, a vmalloc page, a bounce slot. Each chunk is a window on a
 * {@link Backing}. A device transfer walks the chunks its bytes cover, so a
 * write that runs past one allocation lands in the next, as it does on
 * hardware, and bytes where nothing lives read as poison and write nowhere.
 *
 * Non-coherent DMA: a backing may have two copies, `cpu` (what the CPU sees,
 * through its cache) and `ram` (what memory holds). A device that does not
 * snoop the CPU's caches reads and writes `ram`; the CPU sees its writes only
 * after the cache lines are invalidated (sync-for-cpu), and its own writes
 * reach `ram` only when written back (sync-for-device). A snooping device
 * sees the CPU's copy and updates both. Coherent allocations and bounce slots
 * have one copy: they are uncached.
 *
 * Kernel: the physical memory map (`memblock`, `pfn_to_page`) and, for the
 * caches, `arch_sync_dma_for_device`/`arch_sync_dma_for_cpu`.
 *
 * # Invariants
 * - Chunks never overlap.
 * - A transfer moves exactly the bytes of the chunks it covers; gaps read as
 *   {@link POISON} and take no writes.
 *
 * @module
 */

import { OrderedMap } from "../internal/sorted.js";

/** What a read of memory where nothing lives returns (the kernel's slab poison). */
export const POISON = 0x6b;

/** The CPU's cache line in bytes: the granularity of cache maintenance. */
export const CACHE_LINE = 64;

/** The bytes behind one allocation: the CPU's copy and, once a non-snooping device maps it, memory's own. */
export interface Backing {
  /** What the CPU sees. Replaced (and the old one detached) when a device takes the memory. */
  cpu: ArrayBuffer;
  /** What memory holds, when it differs from the CPU's copy; `undefined` while they are one. */
  ram: ArrayBuffer | undefined;
}

/** A run of physical memory and the bytes behind it. */
export interface Chunk {
  readonly phys: number;
  readonly length: number;
  readonly backing: Backing;
  /** Where in the backing the chunk starts. */
  readonly offset: number;
}

export class PhysicalMemory {
  readonly #chunks = new OrderedMap<Chunk>();

  add(chunk: Chunk): void {
    this.#chunks.set(chunk.phys, chunk);
  }

  remove(phys: number): void {
    this.#chunks.delete(phys);
  }

  /** The chunk holding physical address `phys`, if any. */
  at(phys: number): Chunk | undefined {
    const chunk = this.#chunks.floor(phys);
    return chunk !== undefined && phys < chunk.phys + chunk.length ? chunk : undefined;
  }

  /**
   * Calls `visit` for each piece of `[phys, phys + length)`: the chunk it
   * lies in (or `undefined` for a gap), the offset into the chunk's backing,
   * the piece's offset into the transfer, and its length.
   */
  walk(phys: number, length: number, visit: (chunk: Chunk | undefined, at: number, done: number, size: number) => void): void {
    let done = 0;
    while (done < length) {
      const p = phys + done;
      const chunk = this.at(p);
      let size: number;
      if (chunk !== undefined) {
        size = Math.min(length - done, chunk.phys + chunk.length - p);
        visit(chunk, chunk.offset + (p - chunk.phys), done, size);
      } else {
        const next = this.#chunks.ceiling(p);
        size = next === undefined ? length - done : Math.min(length - done, next.phys - p);
        visit(undefined, 0, done, size);
      }
      done += size;
    }
  }

  /** A device reads `into.length` bytes at `phys`; `snoop`: it sees the CPU's cache. */
  read(phys: number, into: Uint8Array, snoop: boolean): void {
    // The common case, a transfer inside one chunk, without a walk.
    const chunk = this.at(phys);
    if (chunk !== undefined && phys + into.length <= chunk.phys + chunk.length) {
      return readPiece(chunk.backing, chunk.offset + (phys - chunk.phys), into, snoop);
    }
    this.walk(phys, into.length, (chunk, at, done, size) => {
      if (chunk === undefined) into.fill(POISON, done, done + size);
      else readPiece(chunk.backing, at, into.subarray(done, done + size), snoop);
    });
  }

  /** A device writes `data` at `phys`; returns the bytes that landed somewhere. */
  write(phys: number, data: Uint8Array, snoop: boolean): number {
    // The common case, a transfer inside one chunk, without a walk.
    const chunk = this.at(phys);
    if (chunk !== undefined && phys + data.length <= chunk.phys + chunk.length) {
      writePiece(chunk.backing, chunk.offset + (phys - chunk.phys), data, snoop);
      return data.length;
    }
    let landed = 0;
    this.walk(phys, data.length, (chunk, at, done, size) => {
      if (chunk === undefined) return;
      writePiece(chunk.backing, at, data.subarray(done, done + size), snoop);
      landed += size;
    });
    return landed;
  }
}

/** A device reads `into.length` bytes at `at` of `backing`: through the CPU's cache if it snoops, else from memory. */
function readPiece(backing: Backing, at: number, into: Uint8Array, snoop: boolean): void {
  const source = snoop ? backing.cpu : (backing.ram ?? backing.cpu);
  into.set(new Uint8Array(source, at, into.length));
}

/** A device writes `piece` at `at` of `backing`: a snooping write updates the cache and memory, a plain one memory only. */
function writePiece(backing: Backing, at: number, piece: Uint8Array, snoop: boolean): void {
  if (backing.ram !== undefined) new Uint8Array(backing.ram, at, piece.length).set(piece);
  if (snoop || backing.ram === undefined) new Uint8Array(backing.cpu, at, piece.length).set(piece);
}

/**
 * Cache maintenance over `[at, at + length)` of `backing`, widened to whole
 * cache lines as the hardware does: `writeback` copies the CPU's lines to
 * memory (sync-for-device), `invalidate` drops them so the CPU reads memory
 * (sync-for-cpu). A no-op while the two are one. `lineBase` is the physical
 * address of byte 0 of the backing, so lines fall where the hardware has them.
 */
export function cacheSync(backing: Backing, lineBase: number, at: number, length: number, op: "writeback" | "invalidate"): void {
  const { ram, cpu } = backing;
  if (ram === undefined) return;
  const first = Math.max(0, Math.floor((lineBase + at) / CACHE_LINE) * CACHE_LINE - lineBase);
  const end = Math.min(cpu.byteLength, Math.ceil((lineBase + at + length) / CACHE_LINE) * CACHE_LINE - lineBase);
  if (end <= first) return;
  const [from, to] = op === "writeback" ? [cpu, ram] : [ram, cpu];
  new Uint8Array(to, first, end - first).set(new Uint8Array(from, first, end - first));
}

declare function structuredClone<T>(value: T, options: { transfer: ArrayBuffer[] }): T;

/** `ArrayBuffer.prototype.transfer` (Node 21 and later); Node 20 has only `structuredClone`'s transfer. */
const nativeTransfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;

/**
 * Moves `buffer`'s bytes to a new ArrayBuffer and detaches the old one, whose
 * every view goes dead (length 0). No copy: the backing store moves.
 */
export function transferBuffer(buffer: ArrayBuffer): ArrayBuffer {
  return nativeTransfer !== undefined ? nativeTransfer.call(buffer) : structuredClone(buffer, { transfer: [buffer] });
}

/** Detaches `buffer`: every typed array and DataView on it goes dead. */
export function detach(buffer: ArrayBuffer): void {
  transferBuffer(buffer);
}
