/**
 * DMA, as the driver sees it: bus addresses, directions, the DMA mask, and
 * coherent memory. Kernel: `include/linux/dma-mapping.h`
 * (`dma_set_mask`, `dma_alloc_coherent`, `dma_free_coherent`); shaped like
 * Rust-for-Linux's `dma.rs` (`DmaAddress`, `DataDirection`, `DmaMask`,
 * `CoherentAllocation<T>`), which keeps the four together as this file does.
 *
 * An allocation belongs to one binding. It takes a {@link BoundDevice}, so
 * allocating for a device that is not bound does not compile, and at run time
 * a dead or forged token is refused before anything is allocated. It is
 * device-managed: whatever the driver did not free is freed after `remove()`,
 * last in first out with the binding's other resources. The memory itself,
 * its mapping and the check that the device no longer holds it at a free
 * are the platform's (`DevicePort`, implemented by `sim/hardware.ts`).
 *
 * # Invariants
 * - The CPU view (`bytes`, `view`) is handed out only to the live token of the
 *   owning binding.
 * - Once freed, the memory is dead to the CPU: views handed out before can
 *   neither read nor write it (the backing buffer is detached).
 * - `dmaHandle` fits in the binding's DMA mask at allocation time.
 * - The DMA mask is a whole number of bits from 1 to 64.
 *
 * @module
 */

import type { busAddressOfOneBindingOnly, givenBackOnlyByTheCallThatMadeIt, Invariant, memoryOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import { captureSite } from "../internal/site.js";
import type { Site } from "../internal/site.js";
import type { Binding, Resource } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { Gfp } from "./context.js";
import type { BoundDevice, ProbeDevice } from "./device.js";
import type { DmaMappingKind, DmaMemory, DmaRegionFact, FactSource, FactSubject } from "./ports.js";

export type { DataDirection, DmaDirection, DmaMappingKind } from "./ports.js";

/**
 * A bus address the hardware uses to reach an allocation (the kernel's
 * `dma_addr_t`), valid in the scope of the binding that got it. Branded: a
 * plain number or bigint is not one, so an address can only come from an
 * allocation; and one binding's address is not another's, so
 * `freeCoherent(devB, allocationOfA.dmaHandle)` does not compile. It is
 * still a bigint: write it into a descriptor as one.
 *
 * `Kind` says which calls made it (`coherent`, `single`, `sg`, `pool`), so
 * only the matching call gives it back: `freeCoherent` takes a
 * `DmaAddress<Scope, "coherent">`, and a streaming address passed to it does
 * not compile (dma-debug's "frees DMA memory with wrong function"). The
 * default, every kind, is what a descriptor or a register takes.
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 4096);
 * const base: DmaAddress<Scope> = ring.dmaHandle;              // any kind
 * const own: DmaAddress<Scope, "coherent"> = ring.dmaHandle;   // what freeCoherent takes
 * const lo = Number(base & 0xffff_ffffn);   // still a bigint underneath
 * ```
 */
export type DmaAddress<Scope, Kind extends DmaMappingKind = DmaMappingKind> = bigint & {
  readonly [busAddressOfOneBindingOnly]: Invariant<Scope>;
  readonly [givenBackOnlyByTheCallThatMadeIt]: Kind;
};

/**
 * What a 64-bit register takes: any bigint, this binding's bus addresses
 * included, but not another binding's `DmaAddress`. (The optional brand
 * refuses an address of another scope; `toString` keeps a plain bigint, which
 * has no brand, from reading as unrelated.)
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     const ring = allocCoherent(dev, 4096);
 *     const base: RegisterValue<typeof dev extends ProbeDevice<infer S> ? S : never> = ring.dmaHandle;
 *     regs.write64(dev, 0x10, base);      // this binding's address: fine
 *     regs.write64(dev, 0x18, 0x1000n);   // any plain bigint: fine
 *     return {};
 *   },
 * });
 * ```
 */
export type RegisterValue<Scope> = bigint & {
  /** Absent on a plain bigint; on a bus address, its binding's scope. */
  readonly [busAddressOfOneBindingOnly]?: Invariant<Scope>;
  /** A bigint's own `toString`: shared with every bigint, so a plain one fits. */
  toString(radix?: number): string;
};

/**
 * The CPU's view of one binding's coherent memory: a `DataView` that knows
 * its binding, so a descriptor struct written through it takes only that
 * binding's bus addresses (see `descriptor.ts`). Still a `DataView`.
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 4096);
 * const view: ScopedView<Scope> = ring.view(dev);
 * view.setUint32(0, 1, true);
 * ```
 */
export type ScopedView<Scope> = DataView & { readonly [memoryOfOneBindingOnly]: Invariant<Scope> };

/**
 * Coherent DMA memory owned by one binding, in the scope `Scope`.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "sample",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const buf = allocCoherent(dev, 64);
 *     buf.view(dev).setUint32(0, 0xdeadbeef, true);
 *     return { remove: (dev) => console.log(buf.view(dev).getUint32(0, true)) };
 *   },
 * });
 * ```
 */
export type CoherentAllocation<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [memoryOfOneBindingOnly]: Invariant<Scope>;
  /** Size in bytes, as asked for. The pool rounds it up to pages. */
  readonly size: number;
  /** The bus address the hardware uses. */
  readonly dmaHandle: DmaAddress<Scope, "coherent">;
  /** True once freed, early or by devres. */
  readonly freed: boolean;
  /**
   * The CPU's view of the memory: `size` bytes, zero-filled at allocation.
   * Throws `ENXIO` for a dead token, `EINVAL` for a token of another binding
   * or a freed allocation. Dead once freed.
   */
  readonly bytes: (dev: BoundDevice<Scope>) => Uint8Array;
  /** The same memory as a `DataView`, for little-endian field access. */
  readonly view: (dev: BoundDevice<Scope>) => ScopedView<Scope>;
  /** Frees the memory now. Throws `EINVAL` if it was already freed. */
  free(): void;
  /** The same as `free()`, for `using`. */
  [Symbol.dispose](): void;
};

/**
 * Sets the device's DMA mask (`dma_set_mask_and_coherent`): every later bus
 * address handed to this binding fits in `bits` bits, or the allocation fails
 * with `ENOMEM`. `bits` is an integer from 1 to 64. A binding starts with the
 * PCI default of 32. Core-only: it takes the core context, and at run time
 * works only while `probe()` or `remove()` runs (`EPERM` otherwise).
 *
 * @example
 * ```ts
 * defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe(dev) { setDmaMask(dev, 64); return {}; } });
 * ```
 */
export const setDmaMask = <Scope>(dev: ProbeDevice<Scope>, bits: number): void => {
  const binding = coreBinding(dev, "setDmaMask");
  // Covers a mask from `any` or a computed number: the type says `number`, not which ones.
  if (typeof bits !== "number" || !Number.isInteger(bits) || bits < 1 || bits > 64) {
    throw fail("EINVAL", `${binding.describe()}: setDmaMask(${describe(bits)}): the mask is a whole number of bits from 1 to 64.`);
  }
  // The platform's limit (bus_dma_limit) caps what the driver asks for: addresses above it cannot reach the device.
  binding.dmaMaskBits = Math.min(bits, binding.port.dmaLimitBits);
};

/**
 * Lets the device master the bus (`pci_set_master`): its DMA works from now
 * on. Device-managed: turned off at unbind, and since a driver takes it
 * first, released last. Core-only. `EBUSY` if already on.
 *
 * @example
 * ```ts
 * defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe(dev) { enableBusMaster(dev); return {}; } });
 * ```
 */
export const enableBusMaster = <Scope>(dev: ProbeDevice<Scope>): void => {
  const binding = coreBinding(dev, "enableBusMaster");
  const { port } = binding;
  if (port.busMaster) {
    throw fail("EBUSY", `enableBusMaster: ${binding.describe()}: bus mastering is already on.`);
  }
  port.setBusMaster(true);
  binding.devres.add({ label: "bus mastering", kind: "bus-master", release: () => port.setBusMaster(false) });
};

/**
 * Allocates `size` bytes of zero-filled coherent DMA memory for the device
 * behind `dev`, in the binding's scope.
 *
 * `gfp` says whether it may sleep: `"kernel"` (`GFP_KERNEL`, the default)
 * may, and is reported in atomic context (`sleep-in-atomic`: a hard IRQ
 * handler, a Revocable access); `"atomic"` (`GFP_ATOMIC`) never sleeps, and
 * any context may call it.
 *
 * Throws `ENXIO` for a dead token, `EPERM` for a forged one, `EINVAL` for a
 * size that is not a positive safe integer or an unknown `gfp`, and `ENOMEM`
 * when the pool has no room below the device's DMA mask. A failure allocates
 * nothing.
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 16 * 256);  // 256 descriptors of 16 bytes
 * const onIrq = (irq: IrqDevice<Scope>) => allocCoherent(irq, 64, "atomic");   // GFP_ATOMIC in a hard IRQ handler
 * ```
 */
export const allocCoherent = <Scope>(dev: BoundDevice<Scope>, size: number, gfp?: Gfp): CoherentAllocation<Scope> => {
  // The token first: a dead token is ENXIO whatever else is wrong.
  const binding = liveBinding(dev, "allocCoherent");
  // Covers a size from `any` or arithmetic: `number` admits NaN, fractions and negatives.
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0) {
    throw fail(
      "EINVAL",
      `allocCoherent(${describe(size)}): ${binding.describe()}: the size is a positive whole number of bytes, at most Number.MAX_SAFE_INTEGER.`,
    );
  }
  // Covers a flag from `any` or JavaScript: the types say "kernel" or "atomic".
  if (gfp !== undefined && gfp !== "kernel" && gfp !== "atomic") {
    throw fail("EINVAL", `allocCoherent(${size}, ${describe(gfp)}): ${binding.describe()}: the flag is "kernel" (GFP_KERNEL, may sleep) or "atomic" (GFP_ATOMIC).`);
  }
  // Covers what the types let through: a helper's BoundDevice, or a token through `any`, in atomic context.
  if (gfp !== "atomic") mightSleep(binding, "allocCoherent (GFP_KERNEL)");
  const { port } = binding;
  const memory = port.allocCoherent(binding, size, binding.dmaMaskBits, port.checking ? captureSite(1) : undefined);
  // Safe: Coherent implements CoherentAllocation<unknown>; the scope is type-level only, and this binding's scope is `Scope`.
  return new Coherent(binding, memory) as unknown as CoherentAllocation<Scope>;
};

/**
 * Frees the allocation whose bus address is `handle`, like
 * `dma_free_coherent(dev, size, cpu_addr, handle)`. For drivers that keep
 * handles rather than allocation objects. `size` and `cpu` (the view
 * `bytes(dev)` gave), when passed, must be the allocation's.
 *
 * Throws `ENXIO` for a dead token; `EINVAL`, and a checker violation, for an
 * address this binding never had (`free-unknown`) or already freed
 * (`double-free`), or one that is not a coherent allocation's
 * (`wrong-function`). A wrong `size` (`wrong-size`) or `cpu`
 * (`wrong-cpu-address`) is reported, and the allocation freed all the same,
 * as the kernel does; in `dmaDebug: "throw"` mode the violation is thrown
 * after the free.
 *
 * @example
 * ```ts
 * const ring = allocCoherent(dev, 4096);
 * freeCoherent(dev, ring.dmaHandle, 4096, ring.bytes(dev));
 * ```
 */
export const freeCoherent = <Scope>(dev: BoundDevice<Scope>, handle: DmaAddress<Scope, "coherent">, size?: number, cpu?: Uint8Array): void => {
  const binding = liveBinding(dev, "freeCoherent");
  // Covers a handle from `any`: the DmaAddress brand refuses plain numbers in the types.
  if (typeof handle !== "bigint") {
    throw fail("EINVAL", `freeCoherent(${describe(handle)}): ${binding.describe()}: the handle is a DmaAddress (a bigint) from allocCoherent.`);
  }
  const site = binding.port.checking ? captureSite(1) : undefined;
  const allocation = binding.allocations.get(Number(handle));
  if (allocation !== undefined && handle === allocation.dmaHandle) {
    // Covers a size or view from `any` or from another allocation: `number` and `Uint8Array` cannot say which.
    const otherCpuAddress = cpu !== undefined && !allocation.owns(cpu);
    const error =
      (size !== undefined && size !== allocation.size) || otherCpuAddress
        ? binding.port.report({
            ...binding.subject(),
            seen: "unmap-mismatch",
            region: allocation.region(),
            call: { call: "freeCoherent", kind: "coherent", address: handle, size, otherCpuAddress, site },
          })
        : undefined;
    allocation.free();
    if (error !== undefined) throw error;
    return;
  }
  // A streaming mapping or pool block of this binding at that address: the wrong function.
  const other = binding.streams.get(Number(handle))?.[0];
  if (other !== undefined) {
    const error = binding.port.report({
      ...binding.subject(),
      seen: "unmap-mismatch",
      region: other.region(),
      call: { call: "freeCoherent", kind: "coherent", address: handle, size, site },
    });
    throw error ?? fail("EINVAL", `freeCoherent(0x${handle.toString(16)}): ${binding.describe()}: this bus address is a streaming mapping's, not a coherent allocation's. Give it back with the call that made it.`);
  }
  // Not a live allocation of this binding: the checker tells an unknown address from a double free.
  const error = binding.port.report({ ...binding.subject(), seen: "free-handle", address: handle, site });
  throw error ?? fail("EINVAL", `freeCoherent(0x${handle.toString(16)}): ${binding.describe()}: no live allocation of this binding has this bus address.`);
};

/** The run-time allocation. The scope brand is type-level only. */
class Coherent implements Resource, FactSource, Omit<CoherentAllocation<unknown>, typeof memoryOfOneBindingOnly> {
  readonly kind = "coherent";
  readonly #binding: Binding;
  readonly #memory: DmaMemory;
  readonly #bytes: Uint8Array;
  readonly #view: ScopedView<unknown>;
  readonly dmaHandle: DmaAddress<unknown, "coherent">;
  #freed = false;
  #freeSite: Site | undefined;

  constructor(binding: Binding, memory: DmaMemory) {
    this.#binding = binding;
    this.#memory = memory;
    this.#bytes = new Uint8Array(memory.buffer, 0, memory.bytes);
    // Safe: the brand is type-level only; this view is of this binding's memory.
    this.#view = new DataView(memory.buffer, 0, memory.bytes) as ScopedView<unknown>;
    // Safe: a bus address the platform mapped for this binding is what DmaAddress stands for.
    this.dmaHandle = BigInt(memory.handle) as DmaAddress<unknown, "coherent">;
    binding.devres.add(this);
    binding.allocations.set(memory.handle, this);
  }

  get size(): number {
    return this.#memory.bytes;
  }

  get freed(): boolean {
    return this.#freed;
  }

  /** For the event log: which memory a `release` event is about. */
  get extent(): { readonly address: bigint; readonly size: number } {
    return { address: this.dmaHandle, size: this.#memory.bytes };
  }

  /** Who a fact about this memory is about (built only when a fact is told). */
  subject(): FactSubject {
    return this.#binding.subject();
  }

  get label(): string {
    return `coherent allocation of ${this.#memory.bytes} bytes at bus address 0x${this.#memory.handle.toString(16)}`;
  }

  bytes(dev: unknown): Uint8Array {
    // Fast path: a binding has exactly one token object, so identity with it
    // proves the token genuine; then only liveness and the free remain.
    const owner = this.#binding;
    if (dev !== owner.token || !owner.live || this.#freed) this.#check(dev, "bytes");
    return this.#bytes;
  }

  view(dev: unknown): ScopedView<unknown> {
    const owner = this.#binding;
    if (dev !== owner.token || !owner.live || this.#freed) this.#check(dev, "view");
    return this.#view;
  }

  free(): void {
    const binding = this.#binding;
    if (this.#freed) {
      // Covers what no type can: a second free() of the same object.
      const error = binding.port.report({ ...binding.subject(), seen: "free-again", region: this.#region(), byDevres: !binding.live });
      throw error ?? fail("EINVAL", `free: ${this.label} of ${binding.describe()}: double free.`);
    }
    binding.devres.forget(this);
    const error = this.#release();
    if (error !== undefined) throw error;
  }

  [Symbol.dispose](): void {
    this.free();
  }

  /**
   * Called by the devres walk. The device must not hold the memory any more:
   * the kernel's rule that hardware is halted before its DMA memory is freed,
   * which only the simulator can check. A violation in "throw" mode has no
   * caller to throw to here, so the binding keeps it for the unbind.
   */
  release(): void {
    this.#binding.keep(this.#release());
  }

  /** Frees the memory; returns the checker's error in "throw" mode. */
  #release(): Error | undefined {
    const binding = this.#binding;
    const freeSite = binding.port.checking ? captureSite() : undefined;
    this.#freed = true;
    this.#freeSite = freeSite;
    binding.allocations.delete(this.#memory.handle);
    return binding.port.freeCoherent(this.#memory, this, freeSite);
  }

  /** True if `cpu` is the CPU view this allocation handed out (`dma_free_coherent`'s `cpu_addr`). */
  owns(cpu: unknown): boolean {
    return cpu === this.#bytes || (cpu instanceof Uint8Array && cpu.buffer === this.#memory.buffer && cpu.byteOffset === 0);
  }

  region(): DmaRegionFact {
    return this.#region();
  }

  #region(): DmaRegionFact {
    const memory = this.#memory;
    return {
      address: this.dmaHandle,
      size: memory.bytes,
      span: memory.span,
      label: this.label,
      allocSite: memory.allocSite,
      allocTime: memory.allocTime,
      freeSite: this.#freeSite,
    };
  }

  /**
   * Covers, in order: a forged token (EPERM) or a dead one (ENXIO), which the
   * types miss when a token escaped through a closure or `any`; a token of
   * another binding, which the types miss after a cast; and a use after free,
   * which no type tracks.
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
