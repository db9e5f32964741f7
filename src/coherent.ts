/**
 * Coherent DMA memory: the kernel's `dma_alloc_coherent` /
 * `dma_free_coherent`, as Rust-for-Linux's `CoherentAllocation<T>` shapes it.
 *
 * An allocation belongs to one binding. It takes a {@link BoundDevice}, so
 * allocating for a device that is not bound does not compile, and at run time
 * a dead or forged token is refused before anything is allocated. It is
 * device-managed: whatever the driver did not free is freed after `remove()`,
 * last in first out with the binding's other resources.
 *
 * # Invariants
 * - The CPU view (`bytes`, `view`) is handed out only to the live token of the
 *   owning binding.
 * - Once freed, the memory is dead to the CPU: views handed out before can
 *   neither read nor write it (the backing buffer is detached).
 * - `dmaHandle` fits in the device's DMA mask at allocation time.
 *
 * @module
 */

import { describe, fail } from "./error.js";
import type { BoundDevice } from "./device.js";
import { liveBinding } from "./device.js";
import type { Binding, Resource } from "./internal/binding.js";
import type { AllocationBrand, DmaAddressBrand } from "./internal/brand.js";
import type { Block } from "./memory.js";

/**
 * A bus address the hardware uses to reach an allocation (the kernel's
 * `dma_addr_t`). Branded: a plain number or bigint is not one, so an address
 * can only come from an allocation.
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 4096);
 * const base: DmaAddress = ring.dmaHandle;
 * const lo = Number(base & 0xffff_ffffn);   // still a bigint underneath
 * ```
 */
export type DmaAddress = bigint & DmaAddressBrand;

/**
 * Coherent DMA memory owned by one binding, in the scope `Scope`.
 *
 * @example
 * ```ts
 * probe(dev) {
 *   const buf = allocCoherent(dev, 64);
 *   buf.view(dev).setUint32(0, 0xdeadbeef, true);
 *   return { remove: (dev) => console.log(buf.view(dev).getUint32(0, true)) };
 * }
 * ```
 */
export interface CoherentAllocation<in out Scope> extends AllocationBrand<Scope> {
  /** Size in bytes, as asked for. The pool rounds it up to pages. */
  readonly size: number;
  /** The bus address the hardware uses. */
  readonly dmaHandle: DmaAddress;
  /** True once freed, early or by devres. */
  readonly freed: boolean;
  /**
   * The CPU's view of the memory: `size` bytes, zero-filled at allocation.
   * Throws `ENXIO` for a dead token, `EINVAL` for a token of another binding
   * or a freed allocation. Dead once freed.
   */
  bytes(dev: BoundDevice<Scope>): Uint8Array;
  /** The same memory as a `DataView`, for little-endian field access. */
  view(dev: BoundDevice<Scope>): DataView;
  /** Frees the memory now. Throws `EINVAL` if it was already freed. */
  free(): void;
  /** The same as `free()`, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Allocates `size` bytes of zero-filled coherent DMA memory for the device
 * behind `dev`, in the binding's scope.
 *
 * Throws `ENXIO` for a dead token, `EPERM` for a forged one, `EINVAL` for a
 * size that is not a positive safe integer, and `ENOMEM` when the pool has no
 * room below the device's DMA mask. A failure allocates nothing.
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 16 * 256);  // 256 descriptors of 16 bytes
 * ```
 */
export function allocCoherent<Scope>(dev: BoundDevice<Scope>, size: number): CoherentAllocation<Scope> {
  // The token first: a dead token is ENXIO whatever else is wrong.
  const binding = liveBinding(dev, "allocCoherent");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0) {
    throw fail(
      "EINVAL",
      `allocCoherent(${describe(size)}): ${binding.describe()}: the size is a positive whole number of bytes, at most Number.MAX_SAFE_INTEGER.`,
    );
  }
  const block = binding.pool.allocate(binding, size, binding.dmaMaskBits);
  return new Coherent(binding, block) as unknown as CoherentAllocation<Scope>;
}

/** The run-time allocation. The scope brand is type-level only. */
class Coherent implements Resource {
  readonly #binding: Binding;
  readonly #block: Block;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly dmaHandle: DmaAddress;
  #freed = false;

  constructor(binding: Binding, block: Block) {
    this.#binding = binding;
    this.#block = block;
    this.#bytes = new Uint8Array(block.buffer);
    this.#view = new DataView(block.buffer);
    this.dmaHandle = BigInt(block.phys) as DmaAddress;
    binding.add(this);
  }

  get size(): number {
    return this.#block.bytes;
  }

  get freed(): boolean {
    return this.#freed;
  }

  get label(): string {
    return `coherent allocation of ${this.#block.bytes} bytes at 0x${this.#block.phys.toString(16)}`;
  }

  bytes(dev: unknown): Uint8Array {
    this.#check(dev, "bytes");
    return this.#bytes;
  }

  view(dev: unknown): DataView {
    this.#check(dev, "view");
    return this.#view;
  }

  free(): void {
    if (this.#freed) {
      throw fail(
        "EINVAL",
        `free: ${this.label} of ${this.#binding.describe()}: double free. It was already freed${this.#binding.live ? "" : " (by devres, when the binding ended)"}.`,
      );
    }
    this.#binding.forget(this);
    this.release();
  }

  [Symbol.dispose](): void {
    this.free();
  }

  /** Called by the binding's devres walk, or by `free()`. */
  release(): void {
    this.#freed = true;
    this.#binding.pool.release(this.#block);
  }

  /**
   * Catches, in order: a forged token (EPERM) or a dead one (ENXIO), which the
   * types miss when a token escaped through a closure or `any`; a token of
   * another device, which the types miss after a cast; and a use after free.
   */
  #check(dev: unknown, operation: string): void {
    const binding = liveBinding(dev, operation);
    if (binding !== this.#binding) {
      throw fail(
        "EINVAL",
        `${operation}: the token is for ${binding.describe()}, but this ${this.label} belongs to ${this.#binding.describe()}. Use the owning binding's token.`,
      );
    }
    if (this.#freed) {
      throw fail("EINVAL", `${operation}: ${this.label} of ${binding.describe()} was freed. Do not use memory after free().`);
    }
  }
}
