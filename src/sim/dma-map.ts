/**
 * Streaming DMA as the platform does it: mapping CPU memory for one device,
 * handing it back and forth between the CPU and the device, and unmapping
 * it. Behind a strict IOMMU a mapping is an IOVA range (an sg table's
 * entries merged into as few segments as the device's limits allow); in
 * passthrough it is the physical address, or swiotlb bounce slots when the
 * memory lies beyond the device's DMA mask; for a device that does not snoop
 * the CPU's caches, every handover does cache maintenance, by the usual rule:
 *
 * |               | map, for-device | for-cpu, unmap |
 * | ------------- | --------------- | -------------- |
 * | to-device     | write back      | nothing        |
 * | from-device   | invalidate      | invalidate     |
 * | bidirectional | write back      | invalidate     |
 *
 * Kernel: `kernel/dma/mapping.c` (`dma_map_page_attrs`, `dma_map_sg_attrs`,
 * the `dma_sync_*` calls), `kernel/dma/direct.c`, `drivers/iommu/dma-iommu.c`
 * (`iommu_dma_map_sg` merges segments under `dma_get_max_seg_size` and
 * `dma_get_seg_boundary`), `kernel/dma/swiotlb.c`.
 *
 * # Invariants
 * - A live mapping's memory is in its heap objects' `mappings`, and its
 *   segments are windows of its device. Unmapping undoes both.
 * - Handing memory to the device detaches every CPU view handed out before.
 * - A failed map changes nothing.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import type { Site } from "../internal/site.js";
import type { DataDirection, DmaRegionFact, DmaSegment, FactSubject, MapPiece, Report, SegmentLimits, StreamMapping } from "../driver/ports.js";
import type { Domain, PhysRange, Prot } from "./iommu.js";
import type { HeapObject } from "./heap.js";
import { CACHE_LINE, cacheSync, transferBuffer } from "./phys.js";
import type { Swiotlb } from "./swiotlb.js";

/** One physically contiguous part of a mapping, and where the device reaches it. */
interface Part {
  readonly object: HeapObject;
  /** Offset into the object. */
  readonly at: number;
  readonly phys: number;
  readonly length: number;
  /** The bus address of its first byte. */
  readonly bus: number;
  /** The bounce slot, when bounced. */
  readonly slot: number | undefined;
}

/** A span of bus addresses the device may use, and the mapping it belongs to. */
export interface Window {
  readonly address: number;
  readonly length: number;
  /** Bytes from `address` the device can reach without leaving what was allocated for it (a coherent allocation's whole pages). */
  readonly span: number;
  /** The streaming mapping, if it is one. */
  readonly stream: StreamMap | undefined;
  region(): DmaRegionFact;
}

/** What a mapping needs of its device (`hardware.ts` implements it). */
export interface MapHost {
  readonly domain: Domain;
  readonly swiotlb: Swiotlb;
  /** True when the device snoops the CPU's caches. */
  readonly coherent: boolean;
  readonly now: number;
  readonly report: Report;
  /** True unless the checker is off: facts are worth building. */
  readonly checking: boolean;
  addWindow(window: Window): void;
  removeWindow(window: Window): void;
}

let nextSerial = 1;

const PROT: Record<DataDirection, Prot> = {
  "to-device": { read: true, write: false },
  "from-device": { read: false, write: true },
  bidirectional: { read: true, write: true },
};

export class StreamMap implements StreamMapping {
  readonly kind: "single" | "sg";
  readonly direction: DataDirection;
  readonly pieces: readonly MapPiece[];
  readonly segments: readonly DmaSegment[];
  readonly size: number;
  readonly bounced: boolean;
  readonly mapSite: Site | undefined;
  readonly mapTime: number;
  owner: "cpu" | "device" = "device";
  ownerSite: Site | undefined;
  ownerTime: number;
  live = true;
  /** Tells mappings made at one instant apart, for the checker's repeat keys. */
  readonly serial = nextSerial++;
  readonly #parts: readonly Part[];
  readonly #host: MapHost;
  readonly #windows: Window[] = [];
  readonly subject: () => FactSubject;

  constructor(host: MapHost, init: { kind: "single" | "sg"; direction: DataDirection; pieces: readonly MapPiece[]; segments: DmaSegment[]; parts: Part[]; site: Site | undefined; subject: () => FactSubject }) {
    this.#host = host;
    this.kind = init.kind;
    this.direction = init.direction;
    this.pieces = init.pieces;
    this.segments = Object.freeze(init.segments);
    this.#parts = init.parts;
    this.size = init.pieces.reduce((n, p) => n + p.length, 0);
    this.bounced = init.parts.some((p) => p.slot !== undefined);
    this.mapSite = init.site;
    this.ownerSite = init.site;
    this.mapTime = host.now;
    this.ownerTime = this.mapTime;
    this.subject = init.subject;
  }

  get label(): string {
    const what = this.kind === "single" ? "streaming mapping" : `sg mapping of ${this.pieces.length} entries`;
    return `${what} (${this.direction}) of ${this.size} bytes at bus address 0x${this.segments[0]!.address.toString(16)}${this.bounced ? ", bounced through swiotlb" : ""}`;
  }

  region(): DmaRegionFact {
    const first = this.segments[0]!;
    return new Region(this, first.address, this.size);
  }

  /** Hands `[offset, offset + length)` to the CPU or to the device. */
  sync(forCpu: boolean, offset: number, length: number, site: Site | undefined): void {
    const dir = this.direction;
    this.#eachPart(offset, length, (part, at, size) => {
      if (part.slot !== undefined) {
        // swiotlb_sync_single_for_cpu bounces out what the device may have written; for_device bounces in what the CPU wrote.
        if (forCpu ? dir !== "to-device" : dir !== "from-device") this.#bounce(part, at, size, forCpu);
      } else if (!this.#host.coherent) {
        if (forCpu) {
          if (dir !== "to-device") cacheSync(part.object.backing, part.object.runs[0]!.phys, part.at + at, size, "invalidate");
        } else {
          // Handing memory to the device: written back, except memory only the device writes, whose lines are dropped.
          cacheSync(part.object.backing, part.object.runs[0]!.phys, part.at + at, size, dir === "from-device" ? "invalidate" : "writeback");
        }
      }
    });
    this.owner = forCpu ? "cpu" : "device";
    this.ownerSite = site;
    this.ownerTime = this.#host.now;
    if (!forCpu) takeFromCpu(this.pieces);
  }

  /** Unmaps: the CPU owns the memory again, and the device reaches none of it. */
  unmap(site: Site | undefined): void {
    if (this.owner === "device") this.sync(true, 0, this.size, site);
    const host = this.#host;
    this.live = false;
    for (const part of this.#parts) {
      if (part.slot !== undefined) host.swiotlb.give(part.slot, part.length);
    }
    if (host.domain.mode === "strict") {
      for (const run of iovaRuns(this.#parts, host.domain)) host.domain.unmap(run.start, run.pages);
    }
    for (const window of this.#windows) host.removeWindow(window);
    for (const piece of this.pieces) objectOf(piece).mappings.delete(this);
    // Remembered to name a device DMA after the unmap: the bounce slots too, which the device may still use.
    if (host.checking) {
      const subject = this.subject();
      for (const window of this.#windows) host.report({ ...subject, seen: "freed", region: new Region(this, BigInt(window.address), window.length, site, host.now) });
    }
  }


  /** Copies between the CPU's memory and a bounce slot: out of the slot for the CPU, into it for the device. */
  #bounce(part: Part, at: number, size: number, out: boolean): void {
    const slot = this.#host.swiotlb.bytes(part.slot! + at, size);
    const cpu = new Uint8Array(part.object.backing.cpu, part.at + at, size);
    if (out) cpu.set(slot);
    else slot.set(cpu);
  }

  /** Calls `visit` for each part's share of mapping bytes `[offset, offset + length)`. */
  #eachPart(offset: number, length: number, visit: (part: Part, at: number, size: number) => void): void {
    let start = 0;
    for (const part of this.#parts) {
      const from = Math.max(offset, start);
      const to = Math.min(offset + length, start + part.length);
      if (from < to) visit(part, from - start, to - from);
      start += part.length;
    }
  }

  /**
   * Registers the windows of a new mapping, and returns a cache line it
   * shares with another live mapping, if any. dma-debug tracks the active
   * cache lines of the mappings a device may write (a to-device one cannot
   * make the CPU read stale data). Two heap objects never share a line
   * (each starts on one, and a slab slot is whole lines), so only mappings
   * of the same objects can: those are the objects' own `mappings`, and no
   * table of lines is kept.
   */
  install(): { other: StreamMap; line: number } | undefined {
    const host = this.#host;
    let overlap: { other: StreamMap; line: number } | undefined;
    if (this.direction !== "to-device") {
      for (const part of this.#parts) {
        for (const mapping of part.object.mappings) {
          // Safe: a heap object is mapped only by mapStreaming, below, which makes StreamMaps.
          const other = mapping as StreamMap;
          if (other === this || !other.live || other.direction === "to-device") continue;
          const line = other.#sharedLine(part);
          if (line !== undefined) {
            overlap = { other, line };
            break;
          }
        }
        if (overlap !== undefined) break;
      }
    }
    for (const segment of this.segments) {
      const region = (): DmaRegionFact => new Region(this, segment.address, segment.length);
      const window: Window = { address: Number(segment.address), length: segment.length, span: segment.length, stream: this, region };
      this.#windows.push(window);
      host.addWindow(window);
    }
    for (const piece of this.pieces) objectOf(piece).mappings.add(this);
    return overlap;
  }

  /** The physical address of the first cache line one of this mapping's parts shares with `part`, if any. */
  #sharedLine(part: Part): number | undefined {
    const first = Math.floor(part.phys / CACHE_LINE);
    const last = Math.floor((part.phys + part.length - 1) / CACHE_LINE);
    for (const mine of this.#parts) {
      if (mine.object !== part.object) continue;
      const from = Math.max(first, Math.floor(mine.phys / CACHE_LINE));
      const to = Math.min(last, Math.floor((mine.phys + mine.length - 1) / CACHE_LINE));
      if (from <= to) return from * CACHE_LINE;
    }
    return undefined;
  }
}

/** A mapping, or one segment of it, as facts name it: the label is worded only if a message needs it. */
class Region implements DmaRegionFact {
  readonly kind: "single" | "sg";
  readonly direction: DataDirection;
  readonly bounced: boolean;
  readonly entries: number;
  readonly span: number;
  readonly allocSite: Site | undefined;
  readonly allocTime: number;
  readonly serial: number;
  readonly #mapping: StreamMap;

  constructor(
    mapping: StreamMap,
    readonly address: bigint,
    readonly size: number,
    readonly freeSite?: Site,
    readonly freeTime?: number,
  ) {
    this.#mapping = mapping;
    this.kind = mapping.kind;
    this.direction = mapping.direction;
    this.bounced = mapping.bounced;
    this.entries = mapping.pieces.length;
    this.span = size;
    this.allocSite = mapping.mapSite;
    this.allocTime = mapping.mapTime;
    this.serial = mapping.serial;
  }

  get label(): string {
    return this.#mapping.label;
  }
}

/**
 * Maps `pieces` for a device. Throws `ENOMEM`, changing nothing, when the
 * IOMMU has no IOVA range below the mask or swiotlb no slots.
 */
export function mapStreaming(
  host: MapHost,
  owner: { describe(): string; readonly subject: () => FactSubject },
  kind: "single" | "sg",
  pieces: readonly MapPiece[],
  direction: DataDirection,
  maskBits: number,
  limits: SegmentLimits,
  site: Site | undefined,
): StreamMap {
  const { domain, swiotlb } = host;
  const ranges: { object: HeapObject; at: number; phys: number; length: number; piece: number }[] = [];
  pieces.forEach((piece, index) => {
    const object = objectOf(piece);
    for (const run of object.runs) {
      const from = Math.max(piece.offset, run.offset);
      const to = Math.min(piece.offset + piece.length, run.offset + run.length);
      if (from < to) ranges.push({ object, at: from, phys: run.phys + (from - run.offset), length: to - from, piece: index });
    }
  });
  const what = (): string => `${kind === "single" ? "mapSingle" : "mapSg"}: ${owner.describe()}`;
  const parts: Part[] = [];
  const segments: DmaSegment[] = [];
  if (domain.mode === "strict") {
    const buses = domain.map(ranges, maskBits, PROT[direction]);
    if (buses === undefined) throw fail("ENOMEM", `${what()}: no free IOVA range of ${ranges.reduce((n, r) => n + domain.pagesOf(r), 0)} pages lies below its ${maskBits}-bit DMA mask.`);
    ranges.forEach((r, i) => parts.push({ object: r.object, at: r.at, phys: r.phys, length: r.length, bus: buses[i]!, slot: undefined }));
    // iommu_dma_map_sg: parts contiguous in IOVA merge into one segment, within the device's limits.
    for (const part of parts) {
      const last = segments[segments.length - 1];
      if (last !== undefined && kind === "sg" && canMerge(last, part, limits)) {
        segments[segments.length - 1] = { address: last.address, length: last.length + part.length };
      } else {
        segments.push({ address: BigInt(part.bus), length: part.length });
      }
    }
  } else {
    const limit = 2 ** maskBits;
    const taken: Part[] = [];
    for (const r of ranges) {
      let slot: number | undefined;
      if (r.phys + r.length > limit) {
        slot = swiotlb.take(r.length, maskBits);
        if (slot === undefined) {
          for (const t of taken) if (t.slot !== undefined) swiotlb.give(t.slot, t.length);
          throw fail("ENOMEM", `${what()}: ${r.object.label} lies beyond its ${maskBits}-bit DMA mask and must bounce, but ${swiotlb.why(r.length, maskBits)}.`);
        }
      }
      const part: Part = { object: r.object, at: r.at, phys: r.phys, length: r.length, bus: slot ?? r.phys, slot };
      taken.push(part);
      parts.push(part);
      // dma-direct: one segment per part, never merged.
      segments.push({ address: BigInt(part.bus), length: part.length });
    }
  }
  const mapping = new StreamMap(host, { kind, direction, pieces, segments, parts, site, subject: owner.subject });
  // The handover to the device: swiotlb always copies in (so a partial device write leaks nothing stale); caches are written back.
  for (const part of parts) {
    const { backing } = part.object;
    if (part.slot !== undefined) {
      swiotlb.bytes(part.slot, part.length).set(new Uint8Array(backing.cpu, part.at, part.length));
    } else if (!host.coherent) {
      backing.ram ??= backing.cpu.slice(0);
      cacheSync(backing, part.object.runs[0]!.phys, part.at, part.length, direction === "from-device" ? "invalidate" : "writeback");
    }
  }
  const overlap = mapping.install();
  takeFromCpu(pieces);
  if (overlap !== undefined) {
    const error = host.report({ ...owner.subject(), seen: "cacheline-overlap", region: mapping.region(), other: overlap.other.region(), line: overlap.line });
    if (error !== undefined) {
      mapping.unmap(site);
      throw error;
    }
  }
  return mapping;
}

/** The heap object behind a piece. Safe: the platform made every HeapMemory the driver model holds (`heap.ts`). */
function objectOf(piece: MapPiece): HeapObject {
  return piece.memory as HeapObject;
}

/** Detaches the CPU's views of each object in `pieces`, once each: its bytes move to a fresh buffer. */
function takeFromCpu(pieces: readonly MapPiece[]): void {
  let last: HeapObject | undefined;
  for (const piece of pieces) {
    const object = objectOf(piece);
    if (object === last) continue;
    last = object;
    object.backing.cpu = transferBuffer(object.backing.cpu);
  }
}

/** Whether `part` can join the segment `last` ends with: contiguous, and within the device's limits. */
function canMerge(last: DmaSegment, part: Part, limits: SegmentLimits): boolean {
  if (Number(last.address) + last.length !== part.bus) return false;
  if (last.length + part.length > limits.maxSegment) return false;
  const mask = limits.boundary;
  return (last.address & ~mask) === ((BigInt(part.bus + part.length - 1)) & ~mask);
}

/** The IOVA page runs the parts occupy, for unmapping. */
function iovaRuns(parts: readonly Part[], domain: Domain): { start: number; pages: number }[] {
  const runs: { start: number; pages: number }[] = [];
  for (const part of parts) {
    const pages = domain.pagesOf({ phys: part.phys, length: part.length });
    const start = part.bus;
    runs.push({ start, pages });
  }
  return runs;
}

export type { PhysRange };
