/**
 * The block layer: the disks drivers register (`driver/blkdev.ts`), each
 * with a request queue and a tag set, and reads and writes that go through
 * them (`machine.block`).
 *
 * Kernel: `block/blk-mq.c` (a software queue in front of the driver's
 * `queue_rq`, tags below the queue depth, `BLK_STS_RESOURCE` requeueing,
 * `blk_mq_end_request`) and `del_gendisk`, which refuses new I/O and drains
 * what the driver holds.
 *
 * Kernel software, not hardware: in `src/subsys/` with the network stack
 * (see `net.ts` for why).
 *
 * - `disk.read(sector, count)` and `disk.write(sector, data)` queue a
 *   request and dispatch at once while the driver has room (a free tag);
 *   each resolves when the driver completes it. A completion dispatches the
 *   next in a microtask, not inside the driver's completion call.
 * - A driver's I/O error, or a disk that went away with the request
 *   unfinished, rejects with `ENXIO` (the kernel's `EIO`; boundscope has
 *   no code of its own for it).
 *
 * # Invariants
 * - A disk is in `disks` from registration until its unregistration is over;
 *   its name is unique among them.
 * - At most `queueDepth` requests are with the driver, each with its own tag.
 * - Every read or write settles: completed by the driver, refused, or failed
 *   when the disk goes.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { BlockEndpoint, BlockLayerPort, BlockLink, BlockRequestRecord } from "../driver/subsystems.js";
import { pickName } from "./names.js";

declare function setImmediate(callback: () => void): unknown;
declare function queueMicrotask(callback: () => void): void;

/** The most sectors one read or write moves. */
export const MAX_REQUEST_SECTORS = 2048;

/**
 * A disk's counters, as `/sys/block/<disk>/stat` keeps them.
 *
 * @example
 * ```ts
 * const { reads, writes, errors } = machine.block.disk("disk0").stats;
 * ```
 */
export interface DiskStats {
  /** Reads and writes completed `ok`, and the sectors they moved. */
  readonly reads: number;
  readonly writes: number;
  readonly sectorsRead: number;
  readonly sectorsWritten: number;
  /** Requests failed: an I/O error from the driver, or the disk went away. */
  readonly errors: number;
  /** Times the driver answered `busy`. */
  readonly busy: number;
}

/**
 * One disk a driver registered.
 *
 * @example
 * ```ts
 * const disk = machine.block.disk("disk0");
 * const written = disk.write(0, new Uint8Array(disk.sectorSize).fill(7));
 * await machine.run(50_000);               // the device does the work in virtual time
 * await written;
 * ```
 */
export interface Disk {
  readonly name: string;
  /** The device behind it, and its driver. */
  readonly device: string;
  readonly driver: string;
  /** Capacity in sectors, and bytes per sector. */
  readonly sectors: number;
  readonly sectorSize: number;
  /** False once unregistering began: new I/O is refused. */
  readonly registered: boolean;
  /** Requests with the driver now, and queued behind them. */
  readonly inFlight: number;
  readonly queued: number;
  readonly stats: DiskStats;
  /**
   * Reads `count` sectors from `sector`: resolves with their bytes once the
   * driver completes the request. `EINVAL` for a range off the disk;
   * `ENXIO` if the disk is gone or the driver failed the request.
   */
  read(sector: number, count: number): Promise<Uint8Array>;
  /** Writes `data` (whole sectors, copied at once) from `sector`. Errors as for `read`. */
  write(sector: number, data: Uint8Array): Promise<void>;
}

/**
 * The machine's block layer: `machine.block`.
 *
 * @example
 * ```ts
 * for (const disk of machine.block.disks) console.log(disk.name, disk.sectors * disk.sectorSize, "bytes");
 * ```
 */
export interface Block {
  /** The disks registered now, in registration order. */
  readonly disks: readonly Disk[];
  /** The disk named `name`; `ENXIO` if there is none. */
  disk(name: string): Disk;
}

/** The block layer. The machine makes one; drivers reach it through their device's port. */
export class BlockLayer implements BlockLayerPort {
  readonly #disks = new Map<string, DiskQueue>();
  readonly face: Block;

  constructor() {
    const disks = this.#disks;
    this.face = Object.freeze({
      get disks(): readonly Disk[] {
        return Object.freeze([...disks.values()].map((disk) => disk.view));
      },
      disk: (name: string): Disk => {
        const disk = typeof name === "string" ? disks.get(name) : undefined;
        if (disk === undefined) throw fail("ENXIO", `block.disk(${describe(name)}): no such disk. Registered: ${[...disks.keys()].join(", ") || "none"}.`);
        return disk.view;
      },
    });
  }

  attach(endpoint: BlockEndpoint): BlockLink {
    const name = pickName(endpoint.requestedName, this.#disks, `registerBlockDevice: device ${endpoint.device}, driver "${endpoint.driver}"`, "disk");
    const disk = new DiskQueue(endpoint, name, () => this.#disks.delete(name));
    this.#disks.set(name, disk);
    return disk;
  }
}

/** One request from queueing to its end. */
class Pending implements BlockRequestRecord {
  tag = -1;
  constructor(
    readonly disk: DiskQueue,
    readonly op: "read" | "write",
    readonly sector: number,
    readonly count: number,
    readonly data: Uint8Array,
    readonly resolve: (data: Uint8Array) => void,
    readonly reject: (error: Error) => void,
  ) {}

  finish(status: "ok" | "error" | "gone"): void {
    this.disk.finished(this, status);
  }

  describe(): string {
    return `${this.op} of ${this.count} sector(s) at ${this.sector} on "${this.disk.name}"`;
  }
}

class DiskQueue implements BlockLink {
  readonly endpoint: BlockEndpoint;
  readonly name: string;
  readonly view: Disk;
  readonly stats = { reads: 0, writes: 0, sectorsRead: 0, sectorsWritten: 0, errors: 0, busy: 0 };
  /** Queued, not yet with the driver. */
  readonly #queue: Pending[] = [];
  /** Tags free now, the lowest last. */
  readonly #tags: number[];
  /** With the driver, by tag. */
  readonly #dispatched = new Set<Pending>();
  #going = false;
  #busy = false;
  #dispatchPending = false;
  readonly #forget: () => void;

  constructor(endpoint: BlockEndpoint, name: string, forget: () => void) {
    this.endpoint = endpoint;
    this.name = name;
    this.#forget = forget;
    this.#tags = Array.from({ length: endpoint.queueDepth }, (_, i) => endpoint.queueDepth - 1 - i);
    this.view = new DiskView(this);
  }

  get registered(): boolean {
    return !this.#going && this.endpoint.registered;
  }
  get inFlight(): number {
    return this.#dispatched.size;
  }
  get queued(): number {
    return this.#queue.length;
  }

  request(op: "read" | "write", sector: unknown, count: unknown, data: Uint8Array | undefined, operation: string): Promise<Uint8Array> {
    if (!this.registered) {
      return Promise.reject(fail("ENXIO", `${operation}: disk "${this.name}" (device ${this.endpoint.device}, driver "${this.endpoint.driver}") is gone: its driver unregistered it.`));
    }
    const { sectors } = this.endpoint;
    // Covers numbers from arithmetic or JavaScript: a sector range is whole numbers, on the disk.
    if (typeof sector !== "number" || !Number.isSafeInteger(sector) || sector < 0 || typeof count !== "number" || !Number.isSafeInteger(count) || count < 1 || count > MAX_REQUEST_SECTORS || sector + count > sectors) {
      return Promise.reject(
        fail("EINVAL", `${operation}: sectors ${describe(sector)} + ${describe(count)} are not a range on "${this.name}" (${sectors} sectors; at most ${MAX_REQUEST_SECTORS} per request).`),
      );
    }
    const bytes = data ?? new Uint8Array(count * this.endpoint.sectorSize);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#queue.push(new Pending(this, op, sector, count, bytes, resolve, reject));
      this.#dispatch();
    });
  }

  /** Hands queued requests to the driver while it has free tags and is not busy. */
  #dispatch(): void {
    const endpoint = this.endpoint;
    while (this.#queue.length > 0 && this.#tags.length > 0 && !this.#busy && this.registered) {
      const pending = this.#queue.shift()!;
      pending.tag = this.#tags.pop()!;
      this.#dispatched.add(pending);
      const outcome = endpoint.submit(pending);
      if (outcome === "busy") {
        // Back to the front of the line; tried again after the next completion.
        this.#dispatched.delete(pending);
        this.#tags.push(pending.tag);
        pending.tag = -1;
        this.#queue.unshift(pending);
        this.stats.busy++;
        // With nothing in flight no completion will come: try again in the next macrotask.
        this.#busy = this.#dispatched.size > 0;
        if (!this.#busy) setImmediate(() => this.#dispatch());
        return;
      }
    }
  }

  /** Dispatches again in a microtask: not inside the driver's completion. */
  #later(): void {
    if (this.#dispatchPending) return;
    this.#dispatchPending = true;
    queueMicrotask(() => {
      this.#dispatchPending = false;
      this.#dispatch();
    });
  }

  /** A request ended, by the driver or because the disk went. */
  finished(pending: Pending, status: "ok" | "error" | "gone"): void {
    if (this.#dispatched.delete(pending)) this.#tags.push(pending.tag);
    if (status === "ok") {
      if (pending.op === "read") {
        this.stats.reads++;
        this.stats.sectorsRead += pending.count;
      } else {
        this.stats.writes++;
        this.stats.sectorsWritten += pending.count;
      }
      pending.resolve(pending.data);
    } else {
      this.stats.errors++;
      pending.reject(
        status === "error"
          ? fail("ENXIO", `${pending.describe()}: the driver completed it with an I/O error.`)
          : fail("ENXIO", `${pending.describe()}: the disk went away with the request unfinished.`),
      );
    }
    this.#busy = false;
    if (this.#queue.length > 0) this.#later();
  }

  shutdown(): void {
    this.#going = true;
    for (const pending of this.#queue.splice(0)) {
      this.stats.errors++;
      pending.reject(fail("ENXIO", `${pending.describe()}: the disk is being unregistered; the request never reached the driver.`));
    }
  }

  detach(): void {
    this.#going = true;
    this.#forget();
  }
}

class DiskView implements Disk {
  readonly #disk: DiskQueue;

  constructor(disk: DiskQueue) {
    this.#disk = disk;
  }

  get name(): string {
    return this.#disk.name;
  }
  get device(): string {
    return this.#disk.endpoint.device;
  }
  get driver(): string {
    return this.#disk.endpoint.driver;
  }
  get sectors(): number {
    return this.#disk.endpoint.sectors;
  }
  get sectorSize(): number {
    return this.#disk.endpoint.sectorSize;
  }
  get registered(): boolean {
    return this.#disk.registered;
  }
  get inFlight(): number {
    return this.#disk.inFlight;
  }
  get queued(): number {
    return this.#disk.queued;
  }
  get stats(): DiskStats {
    return { ...this.#disk.stats };
  }

  read(sector: number, count: number): Promise<Uint8Array> {
    return this.#disk.request("read", sector, count, undefined, `${this.#disk.name}.read`);
  }

  async write(sector: number, data: Uint8Array): Promise<void> {
    const size = this.#disk.endpoint.sectorSize;
    // Covers `any` and JavaScript: the data is typed as bytes, and must be whole sectors.
    if (!(data instanceof Uint8Array) || data.length === 0 || data.length % size !== 0) {
      throw fail("EINVAL", `${this.#disk.name}.write: the data must be whole ${size}-byte sectors, got ${data instanceof Uint8Array ? `${data.length} bytes` : describe(data)}.`);
    }
    await this.#disk.request("write", sector, data.length / size, data.slice(), `${this.#disk.name}.write`);
  }
}
