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
import { sites } from "./dma-debug.js";
import type { Binding, Resource } from "./internal/binding.js";
import type { allocationBrand, DmaAddressBrand, Invariant } from "./internal/brand.js";
import { captureSite } from "./internal/site.js";
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
export interface CoherentAllocation<in out Scope> {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [allocationBrand]: Invariant<Scope>;
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
  const { hw } = binding;
  const strict = hw.iommu === "strict";
  // Behind a strict IOMMU the mask bounds the IOVA, not the physical page.
  const block = hw.pool.allocate(binding, size, strict ? 64 : binding.dmaMaskBits, hw.debug.enabled ? captureSite() : undefined, hw.clock.now);
  const iova = binding.device.domain.map(block, binding.dmaMaskBits);
  if (iova === undefined) {
    hw.pool.release(block);
    throw fail("ENOMEM", `allocCoherent(${size}): ${binding.describe()}: no free IOVA range of ${block.pages} pages lies below its ${binding.dmaMaskBits}-bit DMA mask.`);
  }
  hw.log.add("alloc", binding.device, binding.driver.name, `${size} bytes`, undefined, { address: BigInt(iova), size });
  return new Coherent(binding, block, iova) as unknown as CoherentAllocation<Scope>;
}

/**
 * Frees the allocation whose bus address is `handle`, like
 * `dma_free_coherent(dev, size, cpu_addr, handle)`. For drivers that keep
 * handles rather than allocation objects.
 *
 * Throws `ENXIO` for a dead token; `EINVAL`, and a checker violation, for an
 * address this binding never had (`free-unknown`) or already freed
 * (`double-free`).
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 4096);
 * freeCoherent(dev, ring.dmaHandle);
 * ```
 */
export function freeCoherent<Scope>(dev: BoundDevice<Scope>, handle: DmaAddress): void {
  const binding = liveBinding(dev, "freeCoherent");
  if (typeof handle !== "bigint") {
    throw fail("EINVAL", `freeCoherent(${describe(handle)}): ${binding.describe()}: the handle is a DmaAddress (a bigint) from allocCoherent.`);
  }
  const mapping = binding.device.domain.lookup(Number(handle));
  if (mapping !== undefined && mapping.iova === Number(handle) && mapping.block.owner === binding) {
    binding.allocations.get(mapping.iova)!.free();
    return;
  }
  const { hw } = binding;
  const freed = hw.debug.freedAt(binding.device, Number(handle));
  const error = hw.violation({
    kind: freed === undefined ? "free-unknown" : "double-free",
    device: binding.device.name,
    driver: binding.driver.name,
    address: handle,
    ...(freed === undefined ? {} : { size: freed.size, ...sites(freed) }),
    message:
      freed === undefined
        ? `${binding.describe()}: freeCoherent(0x${handle.toString(16)}): the device has no allocation at this bus address. Pass the dmaHandle of one of this binding's allocations.`
        : `${binding.describe()}: freeCoherent(0x${handle.toString(16)}): double free of ${freed.size} bytes, allocated at ${sites(freed).allocSite} and already freed at ${sites(freed).freeSite}.`,
  });
  throw error ?? fail("EINVAL", `freeCoherent(0x${handle.toString(16)}): ${binding.describe()}: ${freed === undefined ? "no allocation at this bus address" : "already freed"}.`);
}

/** The run-time allocation. The scope brand is type-level only. */
class Coherent implements Resource {
  readonly #binding: Binding;
  readonly #block: Block;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly dmaHandle: DmaAddress;
  readonly #iova: number;
  #freed = false;
  #freeSite: Error | undefined;

  constructor(binding: Binding, block: Block, iova: number) {
    this.#binding = binding;
    this.#block = block;
    this.#iova = iova;
    this.#bytes = new Uint8Array(block.buffer);
    this.#view = new DataView(block.buffer);
    this.dmaHandle = BigInt(iova) as DmaAddress;
    binding.add(this);
    binding.allocations.set(iova, this);
  }

  get size(): number {
    return this.#block.bytes;
  }

  get freed(): boolean {
    return this.#freed;
  }

  get label(): string {
    return `coherent allocation of ${this.#block.bytes} bytes at bus address 0x${this.#iova.toString(16)}`;
  }

  bytes(dev: unknown): Uint8Array {
    // Fast path: a binding has exactly one token object, so identity with it
    // proves the token genuine; then only liveness and the free remain.
    const owner = this.#binding;
    if (dev !== owner.token || !owner.live || this.#freed) this.#check(dev, "bytes");
    return this.#bytes;
  }

  view(dev: unknown): DataView {
    const owner = this.#binding;
    if (dev !== owner.token || !owner.live || this.#freed) this.#check(dev, "view");
    return this.#view;
  }

  free(): void {
    const binding = this.#binding;
    if (this.#freed) {
      const at = sites({ allocSite: this.#block.allocSite, freeSite: this.#freeSite, allocTime: this.#block.allocTime });
      const message = `free: ${this.label} of ${binding.describe()}: double free. It was allocated at ${at.allocSite} and already freed${binding.live ? "" : " (by devres, when the binding ended)"} at ${at.freeSite}.`;
      throw (
        binding.hw.violation({ kind: "double-free", device: binding.device.name, driver: binding.driver.name, address: this.dmaHandle, size: this.#block.bytes, ...at, message }) ??
        fail("EINVAL", message)
      );
    }
    binding.forget(this);
    const error = this.#release();
    if (error !== undefined) throw error;
  }

  [Symbol.dispose](): void {
    this.free();
  }

  /**
   * Called by the binding's devres walk, or by `free()`. The device must not
   * hold the memory any more: the kernel's rule that hardware is halted
   * before its DMA memory is freed, which only the simulator can check.
   */
  release(): void {
    // At unbind the walk goes on; the error is thrown once the device is at
    // rest. Freed first: `??=` would skip the free once an error is deferred.
    const error = this.#release();
    this.#binding.deferred ??= error;
  }

  /** Frees the memory; returns the checker's error in "throw" mode. */
  #release(): Error | undefined {
    const binding = this.#binding;
    const { hw, device: core } = binding;
    const block = this.#block;
    const end = this.#iova + block.pages * hw.pool.pageSize;
    const freeSite = hw.debug.enabled ? captureSite() : undefined;
    const held = core.activeHolds().filter((h) => h.address < end && h.address + h.length > this.#iova);
    let error: Error | undefined;
    if (held.length > 0) {
      const at = sites({ allocSite: block.allocSite, freeSite, allocTime: block.allocTime, freeTime: hw.clock.now });
      error = hw.violation({
        kind: "free-while-held",
        device: core.name,
        driver: binding.driver.name,
        address: this.dmaHandle,
        size: block.bytes,
        ...at,
        message: `${binding.describe()}: ${this.label} is being freed while the device still holds it as ${held.map((h) => h.what).join(", ")}, with bus mastering on. It was allocated at ${at.allocSite} and is freed at ${at.freeSite}. The device can DMA into it after the free: halt the device (in remove(), before devres frees its memory) first.`,
      });
    }
    this.#freed = true;
    this.#freeSite = freeSite;
    binding.allocations.delete(this.#iova);
    core.domain.unmap(this.#iova);
    hw.pool.release(block);
    hw.log.add("free", core, binding.driver.name, `${block.bytes} bytes`, undefined, { address: this.dmaHandle, size: block.bytes });
    hw.debug.remember(core, {
      address: this.#iova,
      size: block.bytes,
      span: block.pages * hw.pool.pageSize,
      allocSite: block.allocSite,
      freeSite,
      allocTime: block.allocTime,
      freeTime: hw.clock.now,
    });
    return error;
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
