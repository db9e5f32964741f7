/**
 * DMA pools: small fixed-size blocks of coherent memory, for descriptors and
 * headers a page would waste. Kernel: `dma_pool_create`, `dmam_pool_create`,
 * `dma_pool_zalloc`, `dma_pool_free`, `dma_pool_destroy`
 * (`include/linux/dmapool.h`, `mm/dmapool.c`).
 *
 * A pool carves its blocks from coherent allocations of the binding (a page
 * each, or one block if larger), aligned as asked and never across the
 * boundary asked. It is device-managed, like `dmam_pool_create`: destroyed
 * at unbind, after what was allocated from it later; blocks still allocated
 * then are reported (`pending-at-unbind`).
 *
 * # Invariants
 * - Every live block lies in one of the pool's coherent allocations, starts
 *   on a multiple of the alignment, and does not cross a multiple of the
 *   boundary.
 * - A block's CPU view is handed only to its binding's live token, and
 *   refused once the block is freed.
 * - `destroy()` with blocks outstanding is `EBUSY`, and changes nothing.
 *
 * @module
 */

import type { Invariant, memoryOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import { captureSite } from "../internal/site.js";
import type { Site } from "../internal/site.js";
import type { Binding, MappedRecord, Resource } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { Gfp } from "./context.js";
import type { BoundDevice, ProbeDevice } from "./device.js";
import type { DmaAddress, ScopedView } from "./dma.js";
import type { DmaMemory, DmaRegionFact, FactSource, FactSubject } from "./ports.js";

/**
 * One block of a DMA pool.
 *
 * @example
 * ```ts
 * declare const pool: DmaPool<Scope>;
 * declare const post: (address: DmaAddress<Scope>) => void;   // the driver's ring
 * const desc = pool.alloc(dev);
 * desc.view(dev).setUint32(0, 1, true);
 * post(desc.dmaHandle);
 * ```
 */
export type PoolBlock<Scope> = {
  /** The scope brand (type-level only). */
  readonly [memoryOfOneBindingOnly]: Invariant<Scope>;
  /** The bus address: given back only through the pool. */
  readonly dmaHandle: DmaAddress<Scope, "pool">;
  /** The pool's block size. */
  readonly size: number;
  readonly freed: boolean;
  /** The CPU's view, zero-filled at allocation. `EINVAL` once freed. */
  readonly bytes: (dev: BoundDevice<Scope>) => Uint8Array;
  /** The same memory as a `DataView` that knows its binding, for descriptor structs. */
  readonly view: (dev: BoundDevice<Scope>) => ScopedView<Scope>;
  /** `dma_pool_free`. `EINVAL` if already freed. */
  readonly free: () => void;
  /** The same as `free()`, for `using`. */
  readonly [Symbol.dispose]: () => void;
};

/**
 * A pool of fixed-size coherent blocks.
 *
 * @example
 * ```ts
 * const headers = createDmaPool(dev, "virtio-net-hdr", 12, 16);
 * const hdr = headers.alloc(dev);
 * hdr.free();
 * ```
 */
export type DmaPool<Scope> = {
  /** The scope brand (type-level only). */
  readonly [memoryOfOneBindingOnly]: Invariant<Scope>;
  readonly name: string;
  /** Block size in bytes. */
  readonly size: number;
  readonly align: number;
  /** No block crosses a multiple of this (0: no boundary). */
  readonly boundary: number;
  /** Blocks allocated now. */
  readonly inUse: number;
  /**
   * `dma_pool_zalloc`: a zero-filled block. `gfp` says whether it may sleep:
   * `"kernel"` (the default) may, and is reported in atomic context
   * (`sleep-in-atomic`); `"atomic"` (`GFP_ATOMIC`) never sleeps, and any
   * context may call it. `ENOMEM` when the coherent pool is full.
   */
  readonly alloc: (dev: BoundDevice<Scope>, gfp?: Gfp) => PoolBlock<Scope>;
  /** `dma_pool_free(pool, vaddr, handle)`, for drivers that keep addresses: `cpu` is the block's view. */
  readonly free: (dev: BoundDevice<Scope>, cpu: Uint8Array | undefined, handle: DmaAddress<Scope, "pool">) => void;
  /** `dma_pool_destroy`: frees the pool's memory now. `EBUSY` while blocks are allocated. */
  readonly destroy: () => void;
};

/**
 * Creates a pool of `size`-byte blocks, each aligned to `align` (a power of
 * two, default 8) and not crossing a multiple of `boundary` (a power of two
 * at least `size`, or 0 for none) (`dmam_pool_create`). Core-only, and
 * sleeps: called in an atomic section of probe (a Revocable access), it is
 * reported (`sleep-in-atomic`).
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const descriptors = createDmaPool(dev, "tx-desc", 16, 16, 4096);
 *     const first = descriptors.alloc(dev);
 *     return { remove: () => first.free() };
 *   },
 * });
 * ```
 */
export const createDmaPool = <Scope>(dev: ProbeDevice<Scope>, name: string, size: number, align = 8, boundary = 0): DmaPool<Scope> => {
  const binding = coreBinding(dev, "createDmaPool");
  // Covers arguments from `any` or arithmetic: the types say string and number.
  if (typeof name !== "string" || name === "") throw fail("EINVAL", `createDmaPool(${describe(name)}): ${binding.describe()}: the pool's name is a non-empty string.`);
  if (!Number.isSafeInteger(size) || size <= 0 || size > 1 << 20) {
    throw fail("EINVAL", `createDmaPool("${name}", ${describe(size)}): ${binding.describe()}: the block size is a whole number of bytes from 1 to 1 MiB.`);
  }
  if (!Number.isSafeInteger(align) || align <= 0 || (align & (align - 1)) !== 0 || align > 1 << 20) {
    throw fail("EINVAL", `createDmaPool("${name}"): ${binding.describe()}: the alignment is a power of two up to 1 MiB, got ${describe(align)}.`);
  }
  const blockSize = Math.ceil(size / align) * align;
  if (!Number.isSafeInteger(boundary) || boundary < 0 || (boundary !== 0 && ((boundary & (boundary - 1)) !== 0 || boundary < blockSize || boundary > 1 << 30))) {
    throw fail("EINVAL", `createDmaPool("${name}"): ${binding.describe()}: the boundary is 0 or a power of two of at least the block size (${blockSize}), got ${describe(boundary)}.`);
  }
  // Covers a core token used inside an atomic section of probe (a Revocable access): dma_pool_create sleeps.
  mightSleep(binding, "createDmaPool");
  // Safe: Pool implements DmaPool<unknown> but the brand, which is type-level only; this binding's scope is `Scope`.
  return new Pool(binding, name, size, align, boundary) as unknown as DmaPool<Scope>;
};

/** A coherent allocation the pool carves, and its free block offsets. */
interface Chunk {
  readonly memory: DmaMemory;
  readonly free: number[];
  used: number;
}

class Pool implements Resource, FactSource {
  readonly kind = "dma-pool";
  readonly #binding: Binding;
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly boundary: number;
  readonly #stride: number;
  readonly #chunkBytes: number;
  readonly #chunks: Chunk[] = [];
  readonly #blocks = new Set<Block>();
  #destroyed = false;

  constructor(binding: Binding, name: string, size: number, align: number, boundary: number) {
    this.#binding = binding;
    this.name = name;
    this.size = size;
    this.align = align;
    this.boundary = boundary;
    this.#stride = Math.ceil(size / align) * align;
    this.#chunkBytes = Math.max(4096, this.#stride, boundary);
    binding.devres.add(this);
  }

  get label(): string {
    return `DMA pool "${this.name}" of ${this.size}-byte blocks`;
  }

  get inUse(): number {
    return this.#blocks.size;
  }

  subject(): FactSubject {
    return this.#binding.subject();
  }

  readonly alloc = (dev: unknown, gfp?: Gfp): Block => {
    const binding = liveBinding(dev, "DmaPool.alloc");
    if (binding !== this.#binding) throw fail("EINVAL", `DmaPool.alloc: the token is for ${binding.describe()}, but ${this.label} belongs to ${this.#binding.describe()}.`);
    // Covers a pool kept after destroy(): no type forgets a variable.
    if (this.#destroyed) throw fail("EINVAL", `DmaPool.alloc: ${this.label} of ${binding.describe()} was destroyed.`);
    // Covers a flag from `any` or JavaScript: the types say "kernel" or "atomic".
    if (gfp !== undefined && gfp !== "kernel" && gfp !== "atomic") {
      throw fail("EINVAL", `DmaPool.alloc(${describe(gfp)}): ${binding.describe()}: the flag is "kernel" (GFP_KERNEL, may sleep) or "atomic" (GFP_ATOMIC).`);
    }
    // Covers what the types let through: a helper's BoundDevice, or a token through `any`, in atomic context.
    if (gfp !== "atomic") mightSleep(binding, "DmaPool.alloc (GFP_KERNEL)");
    let chunk = this.#chunks.find((c) => c.free.length > 0);
    if (chunk === undefined) {
      const { port } = binding;
      const memory = port.allocCoherent(binding, this.#chunkBytes, binding.dmaMaskBits, port.checking ? captureSite(1) : undefined);
      chunk = { memory, free: this.#offsets(memory.handle).reverse(), used: 0 };
      this.#chunks.push(chunk);
    }
    const offset = chunk.free.pop()!;
    chunk.used++;
    new Uint8Array(chunk.memory.buffer, offset, this.size).fill(0);
    const block = new Block(this, binding, chunk, offset, binding.port.checking ? captureSite(1) : undefined);
    this.#blocks.add(block);
    return block;
  };

  readonly free = (dev: unknown, cpu: unknown, handle: unknown): void => {
    const binding = liveBinding(dev, "DmaPool.free");
    // Covers a token of another binding (after a cast), as alloc does: its blocks are not that binding's to free.
    if (binding !== this.#binding) throw fail("EINVAL", `DmaPool.free: the token is for ${binding.describe()}, but ${this.label} belongs to ${this.#binding.describe()}.`);
    // Covers an address from `any`.
    if (typeof handle !== "bigint") throw fail("EINVAL", `DmaPool.free(${describe(handle)}): ${binding.describe()}: the handle is a bus address from this pool.`);
    const site = binding.port.checking ? captureSite(1) : undefined;
    const found = binding.streams.get(Number(handle))?.find((b) => b instanceof Block && b.pool === this);
    const block = found instanceof Block ? found : undefined;
    if (block === undefined) {
      const call = { call: "DmaPool.free", kind: "pool" as const, address: handle, site };
      const region = binding.streams.get(Number(handle))?.[0]?.region() ?? binding.allocations.get(Number(handle))?.region();
      const error = binding.port.report(region === undefined ? { ...binding.subject(), seen: "unmap-unknown", call } : { ...binding.subject(), seen: "unmap-mismatch", region, call });
      throw error ?? fail("EINVAL", `DmaPool.free(0x${handle.toString(16)}): ${binding.describe()}: no live block of ${this.label} has this bus address.`);
    }
    const otherCpuAddress = cpu !== undefined && !block.owns(cpu);
    const error = otherCpuAddress
      ? binding.port.report({ ...binding.subject(), seen: "unmap-mismatch", region: block.region(), call: { call: "DmaPool.free", kind: "pool", address: handle, otherCpuAddress, site } })
      : undefined;
    block.free();
    if (error !== undefined) throw error;
  };

  readonly destroy = (): void => {
    if (this.#destroyed) throw fail("EINVAL", `DmaPool.destroy: ${this.label} of ${this.#binding.describe()} was already destroyed.`);
    // Covers what no type tracks: blocks still out. The kernel warns and leaks; here nothing changes.
    if (this.#blocks.size > 0) {
      throw fail("EBUSY", `DmaPool.destroy: ${this.label} of ${this.#binding.describe()} still has ${this.#blocks.size} blocks allocated. Free them first.`);
    }
    this.#binding.devres.forget(this);
    const error = this.#teardown();
    if (error !== undefined) throw error;
  };

  /** Called by the devres walk: blocks still out are reported, and everything freed. */
  release(): void {
    for (const block of this.#blocks) this.#binding.pending.push(block.region());
    for (const block of [...this.#blocks]) block.forget();
    this.#binding.keep(this.#teardown());
  }

  /** Frees the pool's coherent memory; the first checker error, in throw mode. */
  #teardown(): Error | undefined {
    this.#destroyed = true;
    const { port } = this.#binding;
    const site = port.checking ? captureSite() : undefined;
    let first: Error | undefined;
    for (const chunk of this.#chunks.splice(0)) first ??= port.freeCoherent(chunk.memory, this, site);
    return first;
  }

  /** A block went back. */
  released(block: Block, chunk: Chunk, offset: number): void {
    this.#blocks.delete(block);
    chunk.free.push(offset);
    chunk.used--;
  }

  /** Block offsets in a chunk at bus address `base`: aligned, and none across the boundary. */
  #offsets(base: number): number[] {
    const out: number[] = [];
    for (let at = 0; at + this.#stride <= this.#chunkBytes; at += this.#stride) {
      const start = base + at;
      if (this.boundary !== 0 && Math.floor(start / this.boundary) !== Math.floor((start + this.size - 1) / this.boundary)) continue;
      out.push(at);
    }
    return out;
  }
}

/** The run-time block. */
class Block implements MappedRecord {
  readonly mapKind = "pool";
  readonly #pool: Pool;
  readonly #binding: Binding;
  readonly #chunk: Chunk;
  readonly #offset: number;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #site: Site | undefined;
  readonly #time: number;
  readonly dmaHandle: bigint;
  #freed = false;

  constructor(pool: Pool, binding: Binding, chunk: Chunk, offset: number, site: Site | undefined) {
    this.#pool = pool;
    this.#binding = binding;
    this.#chunk = chunk;
    this.#offset = offset;
    this.#bytes = new Uint8Array(chunk.memory.buffer, offset, pool.size);
    this.#view = new DataView(chunk.memory.buffer, offset, pool.size);
    this.#site = site;
    this.#time = binding.port.now;
    this.dmaHandle = BigInt(chunk.memory.handle + offset);
    const key = chunk.memory.handle + offset;
    const list = binding.streams.get(key);
    if (list === undefined) binding.streams.set(key, [this]);
    else list.push(this);
  }

  get size(): number {
    return this.#pool.size;
  }

  /** The pool it came from. */
  get pool(): object {
    return this.#pool;
  }

  get freed(): boolean {
    return this.#freed;
  }

  region(): DmaRegionFact {
    return {
      kind: "pool",
      address: this.dmaHandle,
      size: this.#pool.size,
      span: this.#pool.size,
      label: `block of ${this.#pool.size} bytes at bus address 0x${this.dmaHandle.toString(16)} of ${this.#pool.label}`,
      allocSite: this.#site,
      allocTime: this.#time,
    };
  }

  owns(cpu: unknown): boolean {
    return cpu === this.#bytes || (cpu instanceof Uint8Array && cpu.buffer === this.#chunk.memory.buffer && cpu.byteOffset === this.#offset);
  }

  readonly bytes = (dev: unknown): Uint8Array => {
    this.#check(dev, "bytes");
    return this.#bytes;
  };

  readonly view = (dev: unknown): DataView => {
    this.#check(dev, "view");
    return this.#view;
  };

  readonly free = (): void => {
    // Covers what no type tracks: a second free of the same block.
    if (this.#freed) throw fail("EINVAL", `free: ${this.region().label} of ${this.#binding.describe()}: double free.`);
    if (this.#binding.port.checking) {
      this.#binding.port.report({ ...this.#binding.subject(), seen: "freed", region: { ...this.region(), freeSite: captureSite(), freeTime: this.#binding.port.now } });
    }
    this.forget();
  };

  readonly [Symbol.dispose] = (): void => this.free();

  /** Marks it free and gives the slot back, without a report (the pool's unbind reports what was left). */
  forget(): void {
    this.#freed = true;
    const key = Number(this.dmaHandle);
    const list = this.#binding.streams.get(key);
    if (list !== undefined) {
      list.splice(list.indexOf(this), 1);
      if (list.length === 0) this.#binding.streams.delete(key);
    }
    this.#pool.released(this, this.#chunk, this.#offset);
  }

  /** Covers a dead, forged or foreign token (the types miss an escaped one), and a use after free. */
  #check(dev: unknown, operation: string): void {
    const binding = liveBinding(dev, operation);
    if (binding !== this.#binding) throw fail("EINVAL", `${operation}: the token is for ${binding.describe()}, but this block belongs to ${this.#binding.describe()}.`);
    if (this.#freed) throw fail("EINVAL", `${operation}: ${this.region().label} of ${binding.describe()} was freed. Do not use memory after free().`);
  }
}
