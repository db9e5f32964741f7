/**
 * CPU memory from the kernel heap: the buffers streaming mappings map.
 * Kernel: `kmalloc`/`kfree` (`include/linux/slab.h`) and `vmalloc`/`vfree`
 * (`include/linux/vmalloc.h`).
 *
 * A buffer is not device-managed: it is the CPU's, it belongs to no
 * binding, and it lives until freed, however many drivers bind and unbind
 * (as packet buffers travel up a network stack). So it carries no scope.
 * `kmalloc` takes the kernel's two context flags ({@link Gfp}): by default
 * (`GFP_KERNEL`) it may sleep, and a call from atomic context is reported
 * (`sleep-in-atomic`); with `"atomic"` (`GFP_ATOMIC`) any context
 * allocates. (The types take any token here, so that a helper generic in the
 * scope allocates with its `BoundDevice`; `vmalloc`, which has no atomic
 * form, refuses an `AtomicDevice`.)
 * `vmalloc` always may sleep. What a binding does with a buffer (a mapping)
 * is scoped and device-managed.
 *
 * # Invariants
 * - The CPU view is the CPU's only while no device owns any part of the
 *   buffer. Mapping it for a device, or handing it back with a sync for the
 *   device, detaches every view handed out before; taking a view while a
 *   device owns it is a checker violation (`cpu-access-device-owned`).
 * - A buffer still mapped cannot be freed (`EBUSY`); once freed, its views
 *   are dead and every use is `EINVAL`.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { captureSite } from "../internal/site.js";
import { liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { Gfp } from "./context.js";
import type { BoundDevice, NotAtomicDevice } from "./device.js";
import type { DevicePort, HeapMemory } from "./ports.js";

/**
 * A buffer of CPU memory from the kernel heap. Contiguous for the CPU; for
 * `kmalloc` physically contiguous too, for `vmalloc` page by page scattered.
 * `KernelBuffer` alone is either.
 *
 * @example
 * ```ts
 * const frame = kmalloc(dev, 60);
 * frame.bytes().set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);   // broadcast
 * const tx = mapSingle(dev, frame, "to-device");
 * ```
 */
export type KernelBuffer<Allocator extends "kmalloc" | "vmalloc" = "kmalloc" | "vmalloc"> = {
  /** The bytes asked for. */
  readonly size: number;
  /**
   * `kmalloc` or `vmalloc`. In the type too: only a `KernelBuffer<"kmalloc">`
   * is physically contiguous, so only it maps with `mapSingle`.
   */
  readonly allocator: Allocator;
  /** True once freed. */
  readonly freed: boolean;
  /**
   * The CPU's view: `size` bytes, zero-filled at allocation. Dead once a
   * device takes the buffer (a map, a sync for the device); take it again
   * after a sync for the CPU or the unmap. Taking it while a device owns the
   * buffer is reported (`cpu-access-device-owned`): on a non-coherent
   * machine, or bounced, it shows stale data. `EINVAL` once freed.
   */
  readonly bytes: () => Uint8Array;
  /** The same memory as a `DataView`, for little-endian field access. */
  readonly view: () => DataView;
  /** Frees it (`kfree`, `vfree`). `EBUSY` while mapped; `EINVAL` if already freed. */
  readonly free: () => void;
  /** The same as `free()`, for `using`. */
  readonly [Symbol.dispose]: () => void;
};

/**
 * Allocates `size` bytes of zero-filled, physically contiguous CPU memory
 * (`kmalloc(size, GFP_KERNEL)`): a slab object up to half a page, whole pages
 * above. `gfp` says whether it may sleep: `"kernel"` (the default) may, and
 * is reported in atomic context (`sleep-in-atomic`, a hard IRQ handler or a
 * Revocable access); `"atomic"` (`GFP_ATOMIC`) never sleeps, and any
 * context may call it. Not device-managed: free it with `free()`. `ENXIO`
 * for a dead token, `EINVAL` for a size that is not a positive safe integer
 * or an unknown `gfp`, `ENOMEM` when the heap is full.
 *
 * @example
 * ```ts
 * const header = kmalloc(dev, 12);
 * header.view().setUint16(10, 1, true);
 * header.free();
 * const onIrq = (irq: IrqDevice<Scope>) => kmalloc(irq, 64, "atomic").free();   // GFP_ATOMIC in a hard IRQ handler
 * ```
 */
export const kmalloc = <Scope>(dev: BoundDevice<Scope>, size: number, gfp?: Gfp): KernelBuffer<"kmalloc"> => allocate(dev, size, "kmalloc", gfp);

/**
 * Allocates `size` bytes of zero-filled CPU memory that is contiguous for
 * the CPU but not in physical memory (`vmalloc`): page by page. It cannot be
 * mapped with `mapSingle`, only as an sg table (`mapSg`), one entry per page.
 * It may sleep, and has no atomic form (as in the kernel): an `AtomicDevice`
 * does not compile, and a call from atomic context is reported
 * (`sleep-in-atomic`).
 *
 * @example
 * ```ts
 * const big = vmalloc(dev, 4 * 4096);
 * const table = mapSg(dev, big, "to-device");   // four entries; one segment behind a strict IOMMU
 * ```
 */
export const vmalloc = <Scope>(dev: NotAtomicDevice<Scope>, size: number): KernelBuffer<"vmalloc"> => allocate(dev, size, "vmalloc", "kernel");

function allocate<Allocator extends "kmalloc" | "vmalloc">(dev: unknown, size: number, allocator: Allocator, gfp: Gfp | undefined): KernelBuffer<Allocator> {
  const binding = liveBinding(dev, allocator);
  // Covers a size from `any` or arithmetic: `number` admits NaN, fractions and negatives.
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size <= 0) {
    throw fail("EINVAL", `${allocator}(${describe(size)}): ${binding.describe()}: the size is a positive whole number of bytes.`);
  }
  // Covers a flag from `any` or JavaScript: the types say "kernel" or "atomic".
  if (gfp !== undefined && gfp !== "kernel" && gfp !== "atomic") {
    throw fail("EINVAL", `${allocator}(${size}, ${describe(gfp)}): ${binding.describe()}: the flag is "kernel" (GFP_KERNEL, may sleep) or "atomic" (GFP_ATOMIC).`);
  }
  // Covers what the types let through: a helper's BoundDevice, or a token through `any`, in atomic context.
  if (gfp !== "atomic") mightSleep(binding, allocator === "vmalloc" ? "vmalloc" : "kmalloc (GFP_KERNEL)");
  const { port } = binding;
  // No call site is kept: no message names where CPU memory was allocated, only where it was mapped.
  const memory = port.heapAlloc(binding, size, allocator);
  // Safe: the memory was allocated by `allocator`, which is what the buffer's `allocator` reports.
  return new Buffer(port, memory) as unknown as KernelBuffer<Allocator>;
}

/** The memory behind a buffer, for mappings: `undefined` for anything that is not one. */
export function heapMemoryOf(value: unknown): HeapMemory | undefined {
  return Buffer.memory(value);
}

/** The run-time buffer. */
class Buffer implements KernelBuffer {
  readonly #port: DevicePort;
  readonly #memory: HeapMemory;
  /** The last view handed out, and the backing it is on: reused while the CPU keeps the buffer. */
  #cached: { buffer: ArrayBuffer; bytes: Uint8Array; view: DataView } | undefined;

  constructor(port: DevicePort, memory: HeapMemory) {
    this.#port = port;
    this.#memory = memory;
  }

  /** The memory behind a buffer; `undefined` for anything else, a look-alike made with `Object.create(buffer)` included (`instanceof` would pass it). */
  static memory(value: unknown): HeapMemory | undefined {
    return typeof value === "object" && value !== null && #memory in value ? value.#memory : undefined;
  }

  get size(): number {
    return this.#memory.bytes;
  }

  get allocator(): "kmalloc" | "vmalloc" {
    return this.#memory.allocator;
  }

  get freed(): boolean {
    return !this.#memory.live;
  }

  readonly bytes = (): Uint8Array => this.#views("bytes").bytes;

  readonly view = (): DataView => this.#views("view").view;

  readonly free = (): void => {
    // Covers what no type tracks: a second free, or a free of a buffer a device still has mapped.
    this.#port.heapFree(this.#memory);
    this.#cached = undefined;
  };

  readonly [Symbol.dispose] = (): void => this.free();

  #views(operation: string): { bytes: Uint8Array; view: DataView } {
    const memory = this.#memory;
    if (!memory.live) throw fail("EINVAL", `${operation}: ${memory.label} was freed. Do not use memory after free().`);
    const buffer = memory.access(this.#port.checking ? captureSite : noSite);
    const cached = this.#cached;
    if (cached !== undefined && cached.buffer === buffer) return cached;
    const fresh = { buffer, bytes: new Uint8Array(buffer, 0, memory.bytes), view: new DataView(buffer, 0, memory.bytes) };
    this.#cached = fresh;
    return fresh;
  }
}

const noSite = (): undefined => undefined;
