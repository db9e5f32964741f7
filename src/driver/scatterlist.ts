/**
 * Scatter-gather mappings: several buffers, or one scattered one, mapped for
 * a device at once. Kernel: `struct sg_table`, `dma_map_sgtable`,
 * `dma_unmap_sg`, `dma_sync_sg_for_cpu`/`_for_device`, and the device's
 * segment limits `dma_set_max_seg_size`, `dma_set_seg_boundary`
 * (`include/linux/scatterlist.h`, `include/linux/dma-mapping.h`);
 * Rust-for-Linux's `SGTable`.
 *
 * The table's entries are what the driver passed (a `vmalloc` buffer gives
 * one per page); its segments are what the device is given. Behind a strict
 * IOMMU, entries contiguous in IOVA merge into one segment, within the
 * device's maximum segment size and boundary; in passthrough each entry is a
 * segment of its own. Ownership works as for single mappings: `SgTable` is
 * device-owned, {@link CpuOwnedSgTable} CPU-owned, and the CPU reads the
 * buffers themselves while it owns them. A to-device table has no sync for
 * the CPU.
 *
 * # Invariants
 * - `entries` (the count passed) never changes; an unmap or sync that names
 *   another count is `wrong-sg-count`.
 * - A segment longer than the device's maximum, or across its boundary, is
 *   reported when mapped (`sg-segment-too-long`, `sg-segment-boundary`).
 * - Device-managed, as single mappings are.
 *
 * @module
 */

import type { Invariant, memoryOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import { captureSite } from "../internal/site.js";
import type { Binding } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import type { BoundDevice, ProbeDevice } from "./device.js";
import type { DmaAddress } from "./dma.js";
import type { KernelBuffer } from "./kmalloc.js";
import type { DataDirection, DmaCallFact, MapPiece } from "./ports.js";
import { bufferMemory, checkDirection, checkRange, find, limitsOf, MappingHandle, mismatch, Streaming, streamOf } from "./streaming.js";

/**
 * One DMA segment of an sg table: what the device is given.
 *
 * @example
 * ```ts
 * declare const table: SgTable<Scope, "to-device">;
 * declare const post: (address: DmaAddress<Scope>, length: number) => void;   // the driver's ring
 * for (const { dmaAddress, length } of table.segments) post(dmaAddress, length);
 * ```
 */
export type SgSegment<Scope> = {
  readonly dmaAddress: DmaAddress<Scope, "sg">;
  readonly length: number;
};

/**
 * A piece of a buffer to put in an sg table.
 *
 * @example
 * ```ts
 * const header = kmalloc(dev, 12);
 * const payload = kmalloc(dev, 1500);
 * const pieces: SgPiece[] = [{ buffer: header, offset: 0, length: 12 }, { buffer: payload, offset: 0, length: 1500 }];
 * ```
 */
export type SgPiece = {
  readonly buffer: KernelBuffer;
  readonly offset: number;
  readonly length: number;
};

/**
 * What every handle of an sg table has, whatever its state.
 *
 * @example
 * ```ts
 * function bytesMapped<S, D extends DataDirection>(table: SgMapping<S, D>): number {
 *   return table.segments.reduce((n, s) => n + s.length, 0);
 * }
 * ```
 */
export type SgMapping<Scope, Dir extends DataDirection> = {
  /** The scope brand (type-level only). */
  readonly [memoryOfOneBindingOnly]: Invariant<Scope>;
  /** The DMA segments, in order: fewer than `entries` where the IOMMU merged. */
  readonly segments: readonly SgSegment<Scope>[];
  /** The entries mapped (`nents` as passed): what `unmapSg` and the syncs take. */
  readonly entries: number;
  /** All bytes mapped. */
  readonly size: number;
  readonly direction: Dir;
  /** True when some entry goes through swiotlb bounce slots. */
  readonly bounced: boolean;
  /** The table's state now: `device`, `cpu`, or `unmapped`. */
  readonly state: "device" | "cpu" | "unmapped";
  /** The buffers mapped, in order. */
  readonly buffers: readonly KernelBuffer[];
  /** `dma_unmap_sgtable`: every buffer is the CPU's again. */
  readonly unmap: (dev: BoundDevice<Scope>) => void;
};

/**
 * An sg table the device owns. A to-device one has no `syncForCpu`.
 *
 * @example
 * ```ts
 * const [a, b] = [kmalloc(dev, 2048), kmalloc(dev, 2048)];
 * const table: SgTable<Scope, "from-device"> = mapSg(dev, [a, b], "from-device");
 * const cpu = table.syncForCpu(dev);
 * ```
 */
export type SgTable<Scope, Dir extends DataDirection> = SgMapping<Scope, Dir> & {
  readonly owner: "device";
} & (Dir extends "to-device"
    ? unknown
    : {
        /** `dma_sync_sgtable_for_cpu`: the CPU may read the buffers now. */
        readonly syncForCpu: (dev: BoundDevice<Scope>) => CpuOwnedSgTable<Scope, Dir>;
      });

/**
 * An sg table the CPU owns: read (or, bidirectional, write) the buffers, then
 * hand it back.
 *
 * @example
 * ```ts
 * declare const table: SgTable<Scope, "from-device">;
 * const cpu: CpuOwnedSgTable<Scope, "from-device"> = table.syncForCpu(dev);
 * const first = cpu.buffers[0]!.bytes()[0];
 * const again = cpu.syncForDevice(dev);
 * ```
 */
export type CpuOwnedSgTable<Scope, Dir extends DataDirection> = SgMapping<Scope, Dir> & {
  readonly owner: "cpu";
  /** `dma_sync_sgtable_for_device`. */
  readonly syncForDevice: (dev: BoundDevice<Scope>) => SgTable<Scope, Dir>;
};

/**
 * Maps an sg table for the device (`dma_map_sgtable`): one buffer (a
 * `vmalloc` one gives an entry per page), or a list of buffers and pieces
 * of buffers, one entry each. Any context may map.
 *
 * `EINVAL` for an empty list, something that is not a buffer, a freed one, a
 * piece outside its buffer or an unknown direction; `ENOMEM` when no IOVA
 * range or bounce slot is free. A failure maps nothing.
 *
 * @example
 * ```ts
 * const table = mapSg(dev, vmalloc(dev, 16 * 1024), "to-device");
 * console.log(table.entries, table.segments.length);   // 4, and 1 behind a strict IOMMU
 * ```
 */
export const mapSg = <Scope, Dir extends DataDirection>(
  dev: BoundDevice<Scope>,
  source: KernelBuffer | readonly (KernelBuffer | SgPiece)[],
  direction: Dir,
): SgTable<Scope, Dir> => {
  const binding = liveBinding(dev, "mapSg");
  checkDirection(binding, direction, "mapSg");
  const pieces = piecesOf(binding, source);
  const { port } = binding;
  const site = port.checking ? captureSite(1) : undefined;
  const mapping = port.mapStreaming(binding, "sg", pieces, direction, binding.dmaMaskBits, limitsOf(binding), site);
  const buffers = Array.isArray(source) ? source.map((p) => ("buffer" in p ? p.buffer : p)) : [source];
  const stream = new Streaming(binding, mapping, Object.freeze(buffers), undefined, (s) => new SgHandle(s));
  // dma-debug's check_sg_segment, on each segment the device is given.
  if (port.checking) {
    const { maxSegment, boundary } = limitsOf(binding);
    for (const segment of mapping.segments) {
      const crosses = (segment.address & ~boundary) !== ((segment.address + BigInt(segment.length) - 1n) & ~boundary);
      if (segment.length > maxSegment || crosses) {
        const error = port.report({ ...binding.subject(), seen: "sg-segment", address: segment.address, length: segment.length, maxSegment, boundary, site });
        if (error !== undefined) {
          stream.unmap(site);
          throw error;
        }
      }
    }
  }
  const handle = stream.current!;
  // Safe: a fresh table is device-owned in `direction`, which SgTable<Scope, Dir> describes; the scope is type-level only.
  return handle as unknown as SgTable<Scope, Dir>;
};

/**
 * `dma_unmap_sg(dev, sg, nents, direction)`: unmaps `table` (any handle of
 * it), for drivers that keep the count and direction. `entries` must be the
 * count mapped, not the segments returned (`wrong-sg-count` otherwise); the
 * direction the one mapped (a different one does not compile). The table is
 * unmapped all the same, as the kernel does.
 *
 * @example
 * ```ts
 * declare const table: SgTable<Scope, "to-device">;
 * unmapSg(dev, table, table.entries, "to-device");
 * ```
 */
export const unmapSg = <Scope, Dir extends DataDirection>(
  dev: BoundDevice<Scope>,
  table: SgTable<Scope, Dir> | CpuOwnedSgTable<Scope, Dir>,
  entries: number,
  direction: NoInfer<Dir>,
): void => {
  const binding = liveBinding(dev, "unmapSg");
  const stream = tableOf(binding, table, "unmapSg");
  checkDirection(binding, direction, "unmapSg");
  checkEntries(binding, entries, "unmapSg");
  const site = binding.port.checking ? captureSite(1) : undefined;
  const call: DmaCallFact = { call: "unmapSg", kind: "sg", address: stream.mapping.segments[0]!.address, entries, direction, site };
  const found = find(binding, call, "unmapSg");
  const error = mismatch(binding, found.region(), call, "sg");
  found.unmap(site);
  if (error !== undefined) throw error;
};

/**
 * `dma_sync_sg_for_cpu(dev, sg, nents, direction)`: the CPU may read the
 * buffers of `table`. Every handle goes stale. Not for a to-device table.
 *
 * @example
 * ```ts
 * declare const table: SgTable<Scope, "from-device">;
 * syncSgForCpu(dev, table, table.entries, "from-device");
 * ```
 */
export const syncSgForCpu = <Scope, Dir extends "from-device" | "bidirectional">(
  dev: BoundDevice<Scope>,
  table: SgTable<Scope, Dir> | CpuOwnedSgTable<Scope, Dir>,
  entries: number,
  direction: NoInfer<Dir>,
): void => syncTable(dev, table, entries, direction, true);

/**
 * `dma_sync_sg_for_device(dev, sg, nents, direction)`: hands `table` back to
 * the device. Every handle goes stale.
 *
 * @example
 * ```ts
 * declare const table: CpuOwnedSgTable<Scope, "from-device">;
 * syncSgForDevice(dev, table, table.entries, "from-device");
 * ```
 */
export const syncSgForDevice = <Scope, Dir extends DataDirection>(
  dev: BoundDevice<Scope>,
  table: SgTable<Scope, Dir> | CpuOwnedSgTable<Scope, Dir>,
  entries: number,
  direction: NoInfer<Dir>,
): void => syncTable(dev, table, entries, direction, false);

/**
 * Sets the longest segment the device takes (`dma_set_max_seg_size`):
 * sg mappings merge no further, and a longer entry is reported. A positive
 * whole number of bytes; default 64 KiB. Core-only.
 *
 * @example
 * ```ts
 * defineDriver({ name: "nvme", ids: [{ vendor: 0x144d, device: 0xa808 }], probe(dev) { setMaxSegmentSize(dev, 4096); return {}; } });
 * ```
 */
export const setMaxSegmentSize = <Scope>(dev: ProbeDevice<Scope>, bytes: number): void => {
  const binding = coreBinding(dev, "setMaxSegmentSize");
  // Covers a size from `any` or arithmetic.
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw fail("EINVAL", `setMaxSegmentSize(${describe(bytes)}): ${binding.describe()}: the size is a positive whole number of bytes.`);
  }
  binding.maxSegment = bytes;
};

/**
 * Sets the device's segment boundary (`dma_set_seg_boundary`): no segment
 * crosses a multiple of `mask + 1`. `mask` is one less than a power of two,
 * as a bigint; default `0xffffffffn` (4 GiB). Core-only.
 *
 * @example
 * ```ts
 * defineDriver({ name: "ahci", ids: [{ vendor: 0x8086, device: 0x2922 }], probe(dev) { setSegmentBoundary(dev, 0xffffn); return {}; } });
 * ```
 */
export const setSegmentBoundary = <Scope>(dev: ProbeDevice<Scope>, mask: bigint): void => {
  const binding = coreBinding(dev, "setSegmentBoundary");
  // Covers a mask from `any`, or one that is not a power of two less one, which `bigint` cannot say.
  if (typeof mask !== "bigint" || mask <= 0n || mask >= 1n << 64n || (mask & (mask + 1n)) !== 0n) {
    throw fail("EINVAL", `setSegmentBoundary(${describe(mask)}): ${binding.describe()}: the mask is one less than a power of two (like 0xffffn), as a bigint.`);
  }
  binding.segmentBoundary = mask;
};

/** The table behind any handle of it, stale ones included: the address-taking calls accept any. */
function tableOf(binding: Binding, table: unknown, operation: string): Streaming {
  // Covers `any`: the type says an sg table, but anything can arrive, a single mapping's handle included.
  const stream = streamOf(table);
  if (stream === undefined || stream.mapKind !== "sg") throw fail("EINVAL", `${operation}: ${binding.describe()}: expected an sg table from mapSg, got ${describe(table)}.`);
  if (stream.binding !== binding) throw fail("EINVAL", `${operation}: ${stream.label} belongs to ${stream.binding.describe()}, not ${binding.describe()}.`);
  return stream;
}

function syncTable(dev: unknown, table: unknown, entries: number, direction: DataDirection, forCpu: boolean): void {
  const name = forCpu ? "syncSgForCpu" : "syncSgForDevice";
  const binding = liveBinding(dev, name);
  const stream = tableOf(binding, table, name);
  checkDirection(binding, direction, name);
  checkEntries(binding, entries, name);
  // This function and the public one that called it.
  const site = binding.port.checking ? captureSite(2) : undefined;
  const address = stream.mapping.segments[0]!.address;
  if (!stream.mapping.live) {
    const error = binding.port.report({ ...binding.subject(), seen: "unmap-unknown", call: { call: name, kind: "sg", address, entries, direction, site } });
    throw error ?? fail("EINVAL", `${name}: ${stream.label} of ${binding.describe()} was unmapped.`);
  }
  const call: DmaCallFact = { call: name, kind: "sg", address, size: stream.size, offset: 0, direction, entries, site };
  const errors = [
    binding.port.report({ ...binding.subject(), seen: "sync", region: stream.region(), call, forCpu }),
    entries !== stream.mapping.pieces.length ? binding.port.report({ ...binding.subject(), seen: "unmap-mismatch", region: stream.region(), call: { ...call, direction: undefined } }) : undefined,
  ];
  stream.sync(forCpu, 0, stream.size, site, undefined);
  const error = errors.find((e) => e !== undefined);
  if (error !== undefined) throw error;
}

/** Covers a count from `any` or arithmetic: one that is no count at all is refused, not compared with the table's. */
function checkEntries(binding: Binding, entries: unknown, operation: string): void {
  if (!Number.isSafeInteger(entries) || (entries as number) <= 0) {
    throw fail("EINVAL", `${operation}(${describe(entries)}): ${binding.describe()}: the entry count is a positive whole number, as mapSg was given.`);
  }
}

/** The pieces of an sg source, checked. */
function piecesOf(binding: Binding, source: unknown): MapPiece[] {
  const items: unknown[] = Array.isArray(source) ? [...(source as unknown[])] : [source];
  if (items.length === 0) throw fail("EINVAL", `mapSg: ${binding.describe()}: an sg table needs at least one buffer.`);
  const pieces: MapPiece[] = [];
  for (const item of items) {
    const isPiece = typeof item === "object" && item !== null && "buffer" in item;
    // Safe: an object with a `buffer` is taken for an SgPiece; its fields are checked just below.
    const buffer = isPiece ? (item as SgPiece).buffer : item;
    const memory = bufferMemory(binding, buffer, "mapSg");
    const offset = isPiece ? (item as SgPiece).offset : 0;
    const length = isPiece ? (item as SgPiece).length : memory.bytes;
    checkRange(binding, "mapSg", offset, length, memory.bytes, memory);
    if (memory.allocator === "vmalloc") {
      // One entry per page, as sg_alloc_table_from_pages gives for vmalloc memory.
      for (const run of memory.runs) {
        const from = Math.max(offset, run.offset);
        const to = Math.min(offset + length, run.offset + run.length);
        if (from < to) pieces.push({ memory, offset: from, length: to - from });
      }
    } else {
      pieces.push({ memory, offset, length });
    }
  }
  return pieces;
}

/** An sg table's handle; the syncs, the unmap and their checks are every handle's (`MappingHandle`). */
class SgHandle extends MappingHandle {
  get segments(): readonly { dmaAddress: bigint; length: number }[] {
    return streamOf(this)!.mapping.segments.map((s) => ({ dmaAddress: s.address, length: s.length }));
  }

  get entries(): number {
    return streamOf(this)!.mapping.pieces.length;
  }

  get buffers(): unknown {
    return streamOf(this)!.buffer;
  }
}
