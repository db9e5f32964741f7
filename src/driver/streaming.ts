/**
 * Streaming DMA: CPU memory mapped for a device for a while, and handed back
 * and forth between the two. Kernel: `dma_map_single`, `dma_unmap_single`,
 * `dma_sync_single_for_cpu`, `dma_sync_single_for_device`
 * (`include/linux/dma-mapping.h`, `Documentation/core-api/dma-api.rst`).
 *
 * Ownership is a typestate. `mapSingle` gives the device the buffer and
 * returns a {@link DeviceOwned} handle; a sync for the CPU returns a
 * {@link CpuOwned} one, a sync for the device a `DeviceOwned` again, and each
 * handle has only the calls its state and direction allow:
 *
 * | direction       | device-owned                | CPU-owned                                |
 * | --------------- | --------------------------- | ---------------------------------------- |
 * | `to-device`     | `unmap`                     | (never: the device only reads it)        |
 * | `from-device`   | `syncForCpu`, `unmap`       | read-only `bytes`, `syncForDevice`, `unmap` |
 * | `bidirectional` | `syncForCpu`, `unmap`       | `bytes`, `syncForDevice`, `unmap`        |
 *
 * So a CPU sync of a to-device mapping, or a CPU write into memory the
 * device writes, does not compile. What the types cannot see (a handle kept
 * after it moved on, the buffer's own `bytes()` used while the device owns
 * it) is checked at run time: a stale handle is `EINVAL`, and the CPU taking
 * a view of memory the device owns is the checker's `cpu-access-device-owned`.
 *
 * For drivers that keep bus addresses rather than handles, the kernel's
 * calls take the address, a size and a direction: {@link unmapSingle},
 * {@link syncSingleForCpu}, {@link syncSingleForDevice}. Their address is a
 * {@link StreamingAddress} that carries its direction, so a different
 * direction does not compile; a different size, an address never mapped and
 * a sync out of range are the checker's.
 *
 * A mapping is device-managed: what is still mapped at unbind is unmapped by
 * devres and reported (`pending-at-unbind`).
 *
 * # Invariants
 * - A mapping has at most one current handle; every other handle of it is
 *   stale, and every call on a stale handle is `EINVAL`.
 * - While the device owns the memory, the CPU views handed out before are
 *   detached.
 * - A failed map, and a refused call, change nothing.
 *
 * @module
 */

import type { Invariant, memoryOfOneBindingOnly, syncedAndUnmappedInItsOwnDirection } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import { captureSite } from "../internal/site.js";
import type { Site } from "../internal/site.js";
import type { Binding, MappedRecord, Resource } from "./binding.js";
import { liveBinding } from "./binding.js";
import type { BoundDevice } from "./device.js";
import type { DmaAddress } from "./dma.js";
import { heapMemoryOf } from "./kmalloc.js";
import type { KernelBuffer } from "./kmalloc.js";
import type { DataDirection, DmaCallFact, DmaRegionFact, HeapMemory, StreamMapping } from "./ports.js";

/**
 * The bus address of a single streaming mapping: a {@link DmaAddress} of
 * kind `single` that also carries the direction it was mapped with.
 *
 * @example
 * ```ts
 * const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
 * const address: StreamingAddress<Scope, "from-device"> = rx.dmaAddress;
 * const plain: DmaAddress<Scope> = rx.dmaAddress;   // what a descriptor takes
 * ```
 */
export type StreamingAddress<Scope, Dir extends DataDirection> = DmaAddress<Scope, "single"> & {
  readonly [syncedAndUnmappedInItsOwnDirection]: Invariant<Dir>;
};

/**
 * A `Uint8Array` the CPU may only read: what a CPU-owned from-device mapping
 * gives, since the device is the one that writes it. A `subarray` of it is
 * the same memory, so it is read-only too; and it has no `buffer`, so no
 * writable view can be made over the memory beneath.
 *
 * @example
 * ```ts
 * declare const cpu: CpuOwnedFromDevice<Scope>;
 * const packet: ReadonlyBytes = cpu.bytes(dev);
 * const type = (packet[12]! << 8) | packet[13]!;
 * ```
 */
export type ReadonlyBytes = Omit<Readonly<Uint8Array>, "set" | "fill" | "copyWithin" | "reverse" | "sort" | "subarray" | "buffer"> & {
  /** Bytes `begin` to `end` of the same memory: read-only too. */
  subarray(begin?: number, end?: number): ReadonlyBytes;
};

/**
 * What every handle of a single mapping has, whatever its state: what a
 * generic helper can rely on.
 *
 * @example
 * ```ts
 * function release<S, D extends DataDirection>(dev: BoundDevice<S>, m: StreamingMapping<S, D>): void {
 *   if (m.state !== "unmapped") m.unmap(dev);
 * }
 * ```
 */
export type StreamingMapping<Scope, Dir extends DataDirection> = {
  /** The scope brand (type-level only). */
  readonly [memoryOfOneBindingOnly]: Invariant<Scope>;
  /** The bus address to give the device. */
  readonly dmaAddress: StreamingAddress<Scope, Dir>;
  /** Bytes mapped. */
  readonly size: number;
  /** The direction it was mapped with. */
  readonly direction: Dir;
  /** True when the data goes through swiotlb bounce slots (the buffer lies beyond the device's mask, with no IOMMU). */
  readonly bounced: boolean;
  /** The mapping's state now: `device`, `cpu`, or `unmapped`. This handle may be stale even when it matches its own type. */
  readonly state: "device" | "cpu" | "unmapped";
  /** The buffer mapped. */
  readonly buffer: KernelBuffer;
  /** `dma_unmap_single`: the buffer is the CPU's again (with what the device wrote, for from-device and bidirectional). */
  readonly unmap: (dev: BoundDevice<Scope>) => void;
};

/**
 * A to-device mapping: the device reads it, and owns it until it is
 * unmapped. There is no sync for the CPU.
 *
 * @example
 * ```ts
 * const frame = kmalloc(dev, 60);
 * const tx: DeviceOwnedToDevice<Scope> = mapSingle(dev, frame, "to-device");
 * tx.unmap(dev);   // once the device has sent it
 * ```
 */
export type DeviceOwnedToDevice<Scope> = StreamingMapping<Scope, "to-device"> & {
  readonly owner: "device";
};

/**
 * A from-device mapping the device owns: it may write it now.
 *
 * @example
 * ```ts
 * const rx: DeviceOwnedFromDevice<Scope> = mapSingle(dev, kmalloc(dev, 1536), "from-device");
 * const cpu = rx.syncForCpu(dev, 0, 60);   // after the device said it wrote 60 bytes
 * ```
 */
export type DeviceOwnedFromDevice<Scope> = StreamingMapping<Scope, "from-device"> & {
  readonly owner: "device";
  /** `dma_sync_single_for_cpu`: hands `[offset, offset + length)` (default all) to the CPU, which reads what the device wrote. */
  readonly syncForCpu: (dev: BoundDevice<Scope>, offset?: number, length?: number) => CpuOwnedFromDevice<Scope>;
};

/**
 * A bidirectional mapping the device owns.
 *
 * @example
 * ```ts
 * const cmd: DeviceOwnedBidirectional<Scope> = mapSingle(dev, kmalloc(dev, 64), "bidirectional");
 * ```
 */
export type DeviceOwnedBidirectional<Scope> = StreamingMapping<Scope, "bidirectional"> & {
  readonly owner: "device";
  /** `dma_sync_single_for_cpu`. */
  readonly syncForCpu: (dev: BoundDevice<Scope>, offset?: number, length?: number) => CpuOwnedBidirectional<Scope>;
};

/**
 * A from-device mapping the CPU owns, after a sync for the CPU: it may read
 * what the device wrote, not write it.
 *
 * @example
 * ```ts
 * declare const rx: DeviceOwnedFromDevice<Scope>;
 * const cpu: CpuOwnedFromDevice<Scope> = rx.syncForCpu(dev);
 * const first = cpu.bytes(dev)[0];
 * const again = cpu.syncForDevice(dev);   // the device may write it again
 * ```
 */
export type CpuOwnedFromDevice<Scope> = StreamingMapping<Scope, "from-device"> & {
  readonly owner: "cpu";
  /** The bytes synced for the CPU, read-only. */
  readonly bytes: (dev: BoundDevice<Scope>) => ReadonlyBytes;
  /** `dma_sync_single_for_device`: hands `[offset, offset + length)` (default all) back to the device. */
  readonly syncForDevice: (dev: BoundDevice<Scope>, offset?: number, length?: number) => DeviceOwnedFromDevice<Scope>;
};

/**
 * A bidirectional mapping the CPU owns: it may read and write it.
 *
 * @example
 * ```ts
 * const cmd = mapSingle(dev, kmalloc(dev, 64), "bidirectional");
 * const cpu: CpuOwnedBidirectional<Scope> = cmd.syncForCpu(dev);
 * cpu.bytes(dev)[0] = 0x01;
 * cpu.syncForDevice(dev);
 * ```
 */
export type CpuOwnedBidirectional<Scope> = StreamingMapping<Scope, "bidirectional"> & {
  readonly owner: "cpu";
  /** The bytes synced for the CPU. */
  readonly bytes: (dev: BoundDevice<Scope>) => Uint8Array;
  /** `dma_sync_single_for_device`. */
  readonly syncForDevice: (dev: BoundDevice<Scope>, offset?: number, length?: number) => DeviceOwnedBidirectional<Scope>;
};

/**
 * A streaming mapping the device owns, by direction.
 *
 * @example
 * ```ts
 * const rx: DeviceOwned<Scope, "from-device"> = mapSingle(dev, kmalloc(dev, 1536), "from-device");
 * ```
 */
export type DeviceOwned<Scope, Dir extends DataDirection> = Dir extends "to-device"
  ? DeviceOwnedToDevice<Scope>
  : Dir extends "from-device"
    ? DeviceOwnedFromDevice<Scope>
    : DeviceOwnedBidirectional<Scope>;

/**
 * A streaming mapping the CPU owns, by direction. A to-device mapping never
 * is one.
 *
 * @example
 * ```ts
 * const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
 * const cpu: CpuOwned<Scope, "from-device"> = rx.syncForCpu(dev);
 * ```
 */
export type CpuOwned<Scope, Dir extends "from-device" | "bidirectional"> = Dir extends "from-device"
  ? CpuOwnedFromDevice<Scope>
  : CpuOwnedBidirectional<Scope>;

/**
 * Maps `length` bytes of `buffer` from `offset` (default: all of it) for the
 * device (`dma_map_single`), which owns them from now on. Any context may
 * map. The bus address fits the binding's DMA mask: an IOVA under a strict
 * IOMMU, the physical address in passthrough, or a swiotlb bounce slot when
 * the buffer lies beyond the mask (then `bounced` is true).
 *
 * `ENXIO` for a dead token; `EINVAL` for something that is not a
 * `KernelBuffer`, a freed one, a `vmalloc` buffer (not physically
 * contiguous: use `mapSg`; it does not compile either), an unknown
 * direction or a range outside the buffer; `ENOMEM` when no IOVA range or bounce slot is free. A failure maps
 * nothing.
 *
 * @example
 * ```ts
 * const frame = kmalloc(dev, 60);
 * frame.bytes().fill(0xaa);
 * const tx = mapSingle(dev, frame, "to-device");
 * declare const post: (address: DmaAddress<Scope>, length: number) => void;   // the driver's ring
 * post(tx.dmaAddress, 60);
 * ```
 */
export const mapSingle = <Scope, Dir extends DataDirection>(
  dev: BoundDevice<Scope>,
  buffer: KernelBuffer<"kmalloc">,
  direction: Dir,
  offset?: number,
  length?: number,
): DeviceOwned<Scope, Dir> => {
  const binding = liveBinding(dev, "mapSingle");
  const memory = bufferMemory(binding, buffer, "mapSingle");
  checkDirection(binding, direction, "mapSingle");
  if (memory.allocator === "vmalloc") {
    throw fail("EINVAL", `mapSingle: ${binding.describe()}: ${memory.label} is not physically contiguous (dma-debug: "device driver maps memory from vmalloc area"). Map it with mapSg, one entry per page.`);
  }
  const from = offset ?? 0;
  const size = length ?? memory.bytes - from;
  checkRange(binding, "mapSingle", from, size, memory.bytes, memory);
  const { port } = binding;
  const site = port.checking ? captureSite(1) : undefined;
  const mapping = port.mapStreaming(binding, "single", [{ memory, offset: from, length: size }], direction, binding.dmaMaskBits, limitsOf(binding), site);
  const stream = new Streaming(binding, mapping, buffer, memory, (s) => new Handle(s));
  // Safe: a fresh mapping is device-owned in `direction`, which is what DeviceOwned<Scope, Dir> describes; the scope is type-level only.
  return stream.current as unknown as DeviceOwned<Scope, Dir>;
};

/**
 * `dma_unmap_single(dev, address, size, direction)`: unmaps the single
 * mapping at `address`, for drivers that keep the address rather than the
 * handle. The direction must be the one it was mapped with (a different one
 * does not compile). A different `size` is reported (`wrong-size`), and the
 * mapping unmapped all the same, as the kernel does; an address with no live
 * single mapping is `EINVAL` and reported (`free-unknown`, `double-free`,
 * `wrong-function`).
 *
 * @example
 * ```ts
 * const frame = kmalloc(dev, 60);
 * const address = mapSingle(dev, frame, "to-device").dmaAddress;
 * unmapSingle(dev, address, frame.size, "to-device");
 * ```
 */
export const unmapSingle = <Scope, Dir extends DataDirection>(
  dev: BoundDevice<Scope>,
  address: StreamingAddress<Scope, Dir>,
  size: number,
  direction: NoInfer<Dir>,
): void => {
  const binding = liveBinding(dev, "unmapSingle");
  checkDirection(binding, direction, "unmapSingle");
  // Covers a size from `any` or arithmetic: one that is no size at all is refused, not compared with the mapping's.
  if (!Number.isSafeInteger(size) || size <= 0) throw fail("EINVAL", `unmapSingle(${describe(size)}): ${binding.describe()}: the size is a positive whole number of bytes.`);
  const site = binding.port.checking ? captureSite(1) : undefined;
  const call: DmaCallFact = { call: "unmapSingle", kind: "single", address, size, direction, site };
  const stream = find(binding, call, "unmapSingle");
  const error = mismatch(binding, stream.region(), call, stream.mapKind);
  stream.unmap(site);
  if (error !== undefined) throw error;
};

/**
 * `dma_sync_single_for_cpu(dev, address + offset, size, direction)`: hands
 * `[offset, offset + size)` of the single mapping at `address` to the CPU,
 * which then reads it through the buffer's `bytes()`. Every handle of the
 * mapping goes stale. Not for a to-device mapping (it does not compile). A
 * range outside the mapping is reported (`sync-outside-mapping`) and
 * `EINVAL`; an unmapped address `sync-unmapped` and `EINVAL`.
 *
 * @example
 * ```ts
 * const rxBuffer = kmalloc(dev, 1536);
 * const rxAddress = mapSingle(dev, rxBuffer, "from-device").dmaAddress;
 * syncSingleForCpu(dev, rxAddress, 60, "from-device");
 * const packet = rxBuffer.bytes().subarray(0, 60);
 * ```
 */
export const syncSingleForCpu = <Scope, Dir extends "from-device" | "bidirectional">(
  dev: BoundDevice<Scope>,
  address: StreamingAddress<Scope, Dir>,
  size: number,
  direction: NoInfer<Dir>,
  offset?: number,
): void => syncByAddress(dev, address, size, direction, offset ?? 0, true);

/**
 * `dma_sync_single_for_device(dev, address + offset, size, direction)`:
 * hands `[offset, offset + size)` of the single mapping at `address` back to
 * the device. Every handle of the mapping goes stale.
 *
 * @example
 * ```ts
 * declare const rxAddress: StreamingAddress<Scope, "from-device">;
 * syncSingleForDevice(dev, rxAddress, 1536, "from-device");   // the buffer goes back on the ring
 * ```
 */
export const syncSingleForDevice = <Scope, Dir extends DataDirection>(
  dev: BoundDevice<Scope>,
  address: StreamingAddress<Scope, Dir>,
  size: number,
  direction: NoInfer<Dir>,
  offset?: number,
): void => syncByAddress(dev, address, size, direction, offset ?? 0, false);

function syncByAddress(dev: unknown, address: bigint, size: number, direction: DataDirection, offset: number, forCpu: boolean): void {
  const name = forCpu ? "syncSingleForCpu" : "syncSingleForDevice";
  const binding = liveBinding(dev, name);
  // This function and the public one that called it.
  const site = binding.port.checking ? captureSite(2) : undefined;
  const call: DmaCallFact = { call: name, kind: "single", address, size, offset, direction, site };
  const stream = find(binding, call, name);
  checkDirection(binding, direction, name);
  // Covers numbers from `any` or arithmetic: the types say `number`.
  const inRange = Number.isSafeInteger(offset) && Number.isSafeInteger(size) && offset >= 0 && size > 0 && offset + size <= stream.size;
  const error = binding.port.report({ ...binding.subject(), seen: "sync", region: stream.region(), call, forCpu });
  if (!inRange) {
    throw error ?? fail("EINVAL", `${name}: ${binding.describe()}: bytes ${describe(offset)} to ${describe(offset + size)} are not inside the ${stream.size} bytes mapped at 0x${address.toString(16)}.`);
  }
  stream.sync(forCpu, offset, size, site, undefined);
  if (error !== undefined) throw error;
}

/** The segment limits a binding's sg mappings obey. */
export function limitsOf(binding: Binding): { maxSegment: number; boundary: bigint } {
  return { maxSegment: binding.maxSegment, boundary: binding.segmentBoundary };
}

/** The heap memory behind `buffer`, checked live. Covers `any`: the type says KernelBuffer, but anything can arrive. */
export function bufferMemory(binding: Binding, buffer: unknown, operation: string): HeapMemory {
  const memory = heapMemoryOf(buffer);
  if (memory === undefined) {
    throw fail("EINVAL", `${operation}: ${binding.describe()}: expected a KernelBuffer from kmalloc or vmalloc, got ${describe(buffer)}.`);
  }
  if (!memory.live) throw fail("EINVAL", `${operation}: ${binding.describe()}: ${memory.label} was freed.`);
  return memory;
}

/** Covers a direction from `any` or a computed string: the type names three. */
export function checkDirection(binding: Binding, direction: unknown, operation: string): asserts direction is DataDirection {
  if (direction !== "to-device" && direction !== "from-device" && direction !== "bidirectional") {
    throw fail("EINVAL", `${operation}: ${binding.describe()}: the direction is "to-device", "from-device" or "bidirectional", got ${describe(direction)}.`);
  }
}

/** Covers offsets and lengths from `any` or arithmetic: `number` admits fractions, negatives and NaN. */
export function checkRange(binding: Binding, operation: string, offset: unknown, length: unknown, size: number, what: { readonly label: string }): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || (offset as number) < 0 || (length as number) <= 0 || (offset as number) + (length as number) > size) {
    throw fail("EINVAL", `${operation}: ${binding.describe()}: offset ${describe(offset)} and length ${describe(length)} must name bytes inside ${what.label} (${size} bytes).`);
  }
}

/**
 * The live streaming mapping of `binding` at the call's address, of the
 * call's kind if there are several. Throws `EINVAL`, after telling the
 * checker, when there is none, or only a mapping another call must give back.
 */
export function find(binding: Binding, call: DmaCallFact, operation: string): Streaming {
  // Covers an address from `any`: the brand refuses plain numbers in the types.
  if (typeof call.address !== "bigint") {
    throw fail("EINVAL", `${operation}(${describe(call.address)}): ${binding.describe()}: the address is a bus address (a bigint) this binding mapped.`);
  }
  const list = binding.streams.get(Number(call.address));
  const found = list?.find((s) => s.mapKind === call.kind && (call.size === undefined || s.size === call.size)) ?? list?.find((s) => s.mapKind === call.kind) ?? list?.[0];
  if (found instanceof Streaming && found.mapKind === call.kind) return found;
  const region = found?.region() ?? binding.allocations.get(Number(call.address))?.region();
  const error = region === undefined ? binding.port.report({ ...binding.subject(), seen: "unmap-unknown", call }) : binding.port.report({ ...binding.subject(), seen: "unmap-mismatch", region, call });
  throw (
    error ??
    fail(
      "EINVAL",
      region === undefined
        ? `${operation}(0x${call.address.toString(16)}): ${binding.describe()}: no live ${call.kind === "sg" ? "sg" : "single"} mapping of this binding has this bus address.`
        : `${operation}(0x${call.address.toString(16)}): ${binding.describe()}: this bus address is ${region.label}; give it back with the call that made it.`,
    )
  );
}

/** Tells the checker of an unmap whose arguments disagree with the mapping found; its error, in throw mode. */
export function mismatch(binding: Binding, region: DmaRegionFact, call: DmaCallFact, kind: "single" | "sg"): Error | undefined {
  const differs =
    (call.size !== undefined && call.size !== region.size) ||
    (call.direction !== undefined && call.direction !== region.direction) ||
    (call.entries !== undefined && call.entries !== region.entries) ||
    call.kind !== kind;
  return differs ? binding.port.report({ ...binding.subject(), seen: "unmap-mismatch", region, call }) : undefined;
}

/**
 * One streaming mapping of a binding (single or sg): the platform's mapping,
 * its current handle, and the devres entry that unmaps it at unbind.
 */
export class Streaming implements Resource, MappedRecord {
  /** For the event log. */
  readonly kind = "streaming";
  /** Which calls made it, and so give it back. */
  readonly mapKind: "single" | "sg";
  readonly binding: Binding;
  readonly mapping: StreamMapping;
  readonly buffer: unknown;
  readonly memory: HeapMemory | undefined;
  /** The handle calls are taken from now; `undefined` once none is (after an address-taking call, or the unmap). */
  current: object | undefined;
  /** The CPU's window after a sync for the CPU: offset and length into the mapping. */
  window = { offset: 0, length: 0 };

  constructor(binding: Binding, mapping: StreamMapping, buffer: unknown, memory: HeapMemory | undefined, handle: (stream: Streaming) => object) {
    this.binding = binding;
    this.mapping = mapping;
    this.mapKind = mapping.kind;
    this.buffer = buffer;
    this.memory = memory;
    this.current = handle(this);
    binding.devres.add(this);
    const key = Number(mapping.segments[0]!.address);
    const list = binding.streams.get(key);
    if (list === undefined) binding.streams.set(key, [this]);
    else list.push(this);
  }

  get size(): number {
    return this.mapping.size;
  }

  /** Built when asked for: a message or the event log. */
  get label(): string {
    return this.mapping.label;
  }

  get extent(): { readonly address: bigint; readonly size: number } {
    return { address: this.mapping.segments[0]!.address, size: this.mapping.size };
  }

  region(): DmaRegionFact {
    return this.mapping.region();
  }

  /** Hands `[offset, offset + length)` to the CPU or the device; a new current handle when `next` says so. */
  sync(forCpu: boolean, offset: number, length: number, site: Site | undefined, next: object | undefined): void {
    this.binding.port.syncStreaming(this.mapping, forCpu, offset, length, site);
    if (forCpu) this.window = { offset, length };
    this.current = next;
  }

  /** Unmaps now (by the driver). */
  unmap(site: Site | undefined): void {
    this.binding.devres.forget(this);
    this.#unmap(site);
  }

  /** Called by the devres walk: a mapping left at unbind is unmapped, and told to the checker with the others. */
  release(): void {
    this.binding.pending.push(this.mapping.region());
    this.#unmap(undefined);
  }

  #unmap(site: Site | undefined): void {
    const { binding } = this;
    binding.port.unmapStreaming(this.mapping, site);
    this.current = undefined;
    const key = Number(this.mapping.segments[0]!.address);
    const list = binding.streams.get(key);
    if (list !== undefined) {
      list.splice(list.indexOf(this), 1);
      if (list.length === 0) binding.streams.delete(key);
    }
  }
}

/** Every handle, single or sg, and its mapping: private to the library, as a private field would be, but shared with `scatterlist.ts`. */
const handles = new WeakMap<object, Streaming>();

/** The mapping behind a handle of any state (stale ones included); `undefined` for anything else. */
export function streamOf(handle: unknown): Streaming | undefined {
  return typeof handle === "object" && handle !== null ? handles.get(handle) : undefined;
}

/**
 * What every run-time handle has, single or sg: one class for every state
 * and direction; the types show each only the calls its state allows, and
 * the run-time checks below refuse the rest when a cast or `any` reaches
 * them.
 */
export class MappingHandle {
  constructor(stream: Streaming) {
    handles.set(this, stream);
  }

  get size(): number {
    return handles.get(this)!.mapping.size;
  }

  get direction(): DataDirection {
    return handles.get(this)!.mapping.direction;
  }

  get bounced(): boolean {
    return handles.get(this)!.mapping.bounced;
  }

  get owner(): "device" | "cpu" {
    return handles.get(this)!.mapping.owner;
  }

  get state(): "device" | "cpu" | "unmapped" {
    const { mapping } = handles.get(this)!;
    return mapping.live ? mapping.owner : "unmapped";
  }

  readonly syncForCpu = (dev: unknown, offset?: number, length?: number): MappingHandle => this.#sync(dev, true, offset, length);

  readonly syncForDevice = (dev: unknown, offset?: number, length?: number): MappingHandle => this.#sync(dev, false, offset, length);

  readonly unmap = (dev: unknown): void => {
    const stream = checked(this, dev, "unmap");
    // A handle's unmap is named by its time, not its site (see StreamMapping.ownerSite).
    stream.unmap(undefined);
  };

  #sync(dev: unknown, forCpu: boolean, offset: number | undefined, length: number | undefined): MappingHandle {
    const operation = forCpu ? "syncForCpu" : "syncForDevice";
    const stream = checked(this, dev, operation);
    const { mapping, binding } = stream;
    const single = stream.mapKind === "single";
    // Covers a handle cast to a state or direction whose type has this call, which its own does not.
    if (forCpu && mapping.direction === "to-device") {
      throw fail(
        "EINVAL",
        `syncForCpu: ${stream.label} of ${binding.describe()}: the device only reads a to-device ${single ? "mapping" : "table"}, so there is nothing to sync for the CPU. Unmap it to give the ${single ? "buffer" : "buffers"} back.`,
      );
    }
    if (mapping.owner === (forCpu ? "cpu" : "device")) {
      throw fail("EINVAL", `${operation}: ${stream.label} of ${binding.describe()} is owned by the ${mapping.owner} already.`);
    }
    // An sg table is synced whole: its types take no range.
    const from = single ? (offset ?? 0) : 0;
    const size = single ? (length ?? mapping.size - from) : mapping.size;
    checkRange(binding, operation, from, size, mapping.size, stream);
    // Safe: every handle class takes the mapping as its one constructor argument.
    const next = new (this.constructor as new (stream: Streaming) => MappingHandle)(stream);
    // A handle's sync is named by its time, not its site (see StreamMapping.ownerSite).
    stream.sync(forCpu, from, size, undefined, next);
    return next;
  }
}

/**
 * The mapping behind `handle`, for `operation` with token `dev`. Covers, in
 * order: a dead or forged token (the types miss an escaped one), a token of
 * another binding (after a cast), and a stale handle, kept after a sync or
 * an unmap moved the mapping on: no type can forget a variable.
 */
export function checked(handle: MappingHandle, dev: unknown, operation: string): Streaming {
  const stream = handles.get(handle)!;
  const binding = liveBinding(dev, operation);
  if (binding !== stream.binding) {
    throw fail("EINVAL", `${operation}: the token is for ${binding.describe()}, but ${stream.label} belongs to ${stream.binding.describe()}.`);
  }
  if (stream.current !== handle) {
    const what = stream.mapKind === "single" ? "mapping" : "table";
    const why = stream.mapping.live ? `a sync moved the ${what} on; use the handle that sync returned` : `the ${what} was unmapped`;
    throw fail("EINVAL", `${operation}: this handle of ${stream.label} (${binding.describe()}) is stale: ${why}.`);
  }
  return stream;
}

/** A single mapping's handle. */
class Handle extends MappingHandle {
  get dmaAddress(): bigint {
    return handles.get(this)!.mapping.segments[0]!.address;
  }

  get buffer(): unknown {
    return handles.get(this)!.buffer;
  }

  readonly bytes = (dev: unknown): Uint8Array => {
    const stream = checked(this, dev, "bytes");
    // Covers a device-owned handle cast to a CPU-owned one: the type has no `bytes` there.
    if (stream.mapping.owner !== "cpu") {
      throw fail("EINVAL", `bytes: ${stream.label} of ${stream.binding.describe()} is owned by the device. Sync it for the CPU first.`);
    }
    const memory = stream.memory!;
    const piece = stream.mapping.pieces[0]!;
    const buffer = memory.access(stream.binding.port.checking ? captureSite : noSite);
    return new Uint8Array(buffer, piece.offset + stream.window.offset, stream.window.length);
  };
}

const noSite = (): undefined => undefined;
