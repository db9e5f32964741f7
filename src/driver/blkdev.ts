/**
 * Block devices as a driver registers them: a disk whose requests the block
 * layer hands to the driver's `submit`, and which the driver completes.
 *
 * Kernel: `blk_mq_alloc_disk`/`add_disk`/`del_gendisk`, `blk_mq_ops.queue_rq`
 * (`BLK_STS_OK`, `BLK_STS_RESOURCE`), the request's tag, and
 * `blk_mq_end_request`.
 *
 * `submit` runs in atomic context with an `AtomicDevice`, as `queue_rq`
 * does: it hands the request to the device and returns. The driver
 * completes it later (`request.complete(dev, status)`, usually from its IRQ
 * handler), or returns a promise that settles when it is done. A request
 * the driver took is in flight until completed: unregistering
 * (`del_gendisk`, which drains the queue) waits for it, under the
 * machine's watchdog; if the watchdog gives up, the block layer fails it.
 *
 * # Invariants
 * - Registered only in `probe()`; unregistered once, by `unregister()` or
 *   by the driver core at unbind, after `remove()`, before devres release.
 * - `submit` runs only while registered. A request completes once; only its
 *   own binding's live token completes it.
 * - At most `queueDepth` requests are with the driver at once, each with a
 *   tag below `queueDepth` that no other of them has.
 *
 * @module
 */

import type { Invariant, registrationOfOneBindingOnly, requestOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import { isThenable } from "./context.js";
import type { AtomicDevice, BoundDevice, ProbeDevice } from "./device.js";
import { OP_FAILED, Registration } from "./registration.js";
import type { BlockEndpoint, BlockLink, BlockRequestRecord } from "./subsystems.js";

/**
 * How a request ended, as the driver says: `"ok"` or `"error"` (an I/O
 * error: the block layer fails the read or write with it).
 *
 * @example
 * ```ts
 * const DEVICE_OK = 0;
 * const statusOf = (code: number): BlockStatus => (code === DEVICE_OK ? "ok" : "error");
 * ```
 */
export type BlockStatus = "ok" | "error";

/**
 * One request, as `submit` receives it (`struct request`). Complete it once,
 * with the binding's token, when the device is done.
 *
 * @example
 * ```ts
 * function finish<Scope>(dev: IrqDevice<Scope>, request: BlockRequest<Scope>, deviceStatus: number): void {
 *   request.complete(dev, deviceStatus === 0 ? "ok" : "error");
 * }
 * ```
 */
export type BlockRequest<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [requestOfOneBindingOnly]: Invariant<Scope>;
  readonly op: "read" | "write";
  /** The first sector. */
  readonly sector: number;
  /** Sectors to move, at least 1. */
  readonly count: number;
  /** `count * sectorSize` bytes: what to write, or where a read puts what it read. */
  readonly data: Uint8Array;
  /** Below the disk's `queueDepth`, and no other request with the driver has it: use it as the command id. */
  readonly tag: number;
  /** True once completed (by the driver, or failed by the block layer when the disk went away). */
  readonly completed: boolean;
  /** Ends the request (`blk_mq_end_request`). `EINVAL` if already completed. */
  complete(dev: BoundDevice<Scope>, status?: BlockStatus): void;
};

/**
 * A block device's ops (`struct blk_mq_ops`), generic in the scope like
 * `probe`.
 *
 * @example
 * ```ts
 * function diskOps<Scope>(regs: IoMapping<Scope>, pending: Map<number, BlockRequest<Scope>>): BlockDeviceOps<Scope> {
 *   return {
 *     submit: (dev, request) => {
 *       pending.set(request.tag, request);                 // the IRQ handler completes it
 *       regs.write32(dev, 0x24, request.tag);              // ring the doorbell
 *     },
 *   };
 * }
 * ```
 */
export type BlockDeviceOps<Scope> = {
  /**
   * `queue_rq`, in atomic context: hand `request` to the device. Answer
   * `"busy"` if the device cannot take it now (`BLK_STS_RESOURCE`): the
   * block layer tries again after the next completion. A promise returned
   * completes the request when it settles (rejected: an I/O error).
   */
  readonly submit: (dev: AtomicDevice<Scope>, request: BlockRequest<Scope>) => void | "busy" | Promise<void>;
};

/**
 * The disk's geometry and name, for `registerBlockDevice`.
 *
 * @example
 * ```ts
 * const options: BlockDeviceOptions = { sectors: 2048, sectorSize: 512, queueDepth: 8, name: "vd%d" };
 * ```
 */
export interface BlockDeviceOptions {
  /** Capacity in sectors. */
  readonly sectors: number;
  /** Bytes per sector: 512 (default) to 4096, a power of two. */
  readonly sectorSize?: number;
  /** Requests with the driver at once (the tag set's depth). Default 32. */
  readonly queueDepth?: number;
  /** The disk's name; a `%d` is replaced by the first free number. Default `"disk%d"`. */
  readonly name?: string;
}

/**
 * A registered block device: what the driver keeps.
 *
 * @example
 * ```ts
 * class Disk<Scope> {
 *   constructor(readonly disk: BlockDevice<Scope>) {}
 *   async remove(): Promise<void> {
 *     await this.disk.unregister();    // del_gendisk: waits for the requests in flight
 *   }
 * }
 * ```
 */
export type BlockDevice<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [registrationOfOneBindingOnly]: Invariant<Scope>;
  /** The disk's name: `disk0`. */
  readonly name: string;
  readonly registered: boolean;
  /** Requests with the driver, not yet completed. */
  readonly inFlight: number;
  /**
   * Unregisters (`del_gendisk`): new requests are refused at once, queued
   * ones failed (`ENXIO`), and those with the driver waited for. Call it in
   * `remove()` while the device still works; the driver core does it after
   * `remove()` otherwise. Idempotent.
   */
  unregister(): Promise<void>;
};

/**
 * Registers a disk with the machine's block layer (`add_disk`). Core-only.
 * The block layer calls `ops.submit` only while registered. `EBUSY` if the
 * name is taken; `EINVAL` for bad ops or geometry.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "ramdisk",
 *   ids: [{ vendor: 0x1af4, device: 0x1001 }],
 *   probe(dev) {
 *     const store = new Uint8Array(64 * 512);
 *     const disk = registerBlockDevice(dev, {
 *       submit: (dev, request) => {
 *         const at = request.sector * 512;
 *         if (request.op === "write") store.set(request.data, at);
 *         else request.data.set(store.subarray(at, at + request.data.length));
 *         request.complete(dev, "ok");
 *       },
 *     }, { sectors: 64 });
 *     return { remove: () => disk.unregister() };
 *   },
 * });
 * ```
 */
export const registerBlockDevice = <Scope>(dev: ProbeDevice<Scope>, ops: BlockDeviceOps<Scope>, options: BlockDeviceOptions): BlockDevice<Scope> => {
  const binding = coreBinding(dev, "registerBlockDevice");
  // Covers `any` and JavaScript: BlockDeviceOptions is a required object.
  if (typeof options !== "object" || options === null) {
    throw fail("EINVAL", `registerBlockDevice: ${binding.describe()}: options must be an object with sectors, got ${describe(options)}.`);
  }
  const { sectors, sectorSize = 512, queueDepth = 32, name = "disk%d" } = options;
  // Covers sizes from arithmetic: `number` admits fractions, NaN and negatives.
  if (typeof sectors !== "number" || !Number.isSafeInteger(sectors) || sectors < 1 || sectors > 2 ** 40) {
    throw fail("EINVAL", `registerBlockDevice: ${binding.describe()}: sectors must be a whole number from 1 to 2^40, got ${describe(sectors)}.`);
  }
  if (typeof sectorSize !== "number" || ![512, 1024, 2048, 4096].includes(sectorSize)) {
    throw fail("EINVAL", `registerBlockDevice: ${binding.describe()}: sectorSize must be 512, 1024, 2048 or 4096, got ${describe(sectorSize)}.`);
  }
  if (typeof queueDepth !== "number" || !Number.isSafeInteger(queueDepth) || queueDepth < 1 || queueDepth > 1024) {
    throw fail("EINVAL", `registerBlockDevice: ${binding.describe()}: queueDepth must be a whole number from 1 to 1024, got ${describe(queueDepth)}.`);
  }
  // Covers `any` and JavaScript: the name is typed as a string.
  if (typeof name !== "string") throw fail("EINVAL", `registerBlockDevice: ${binding.describe()}: the name must be a string, got ${describe(name)}.`);
  const disk = new BlockRegistration(binding, ops, name, sectors, sectorSize, queueDepth);
  // Safe: BlockRegistration implements BlockDevice<unknown> but for the brand, which is type-level only; the binding's scope is `Scope`.
  return disk as unknown as BlockDevice<Scope>;
};

class BlockRegistration implements BlockEndpoint, Omit<BlockDevice<unknown>, typeof registrationOfOneBindingOnly> {
  readonly #reg: Registration;
  readonly #link: BlockLink;
  readonly requestedName: string;
  readonly sectors: number;
  readonly sectorSize: number;
  readonly queueDepth: number;
  /** Requests the driver took and has not completed. */
  readonly #taken = new Set<Request>();
  readonly #section: string;

  constructor(binding: Binding, ops: unknown, name: string, sectors: number, sectorSize: number, queueDepth: number) {
    this.#reg = new Registration(binding, `block device "${name}"`, ops, ["submit"], [], "registerBlockDevice");
    this.requestedName = name;
    this.sectors = sectors;
    this.sectorSize = sectorSize;
    this.queueDepth = queueDepth;
    this.#link = binding.port.subsystems.block.attach(this);
    this.#reg.label = `block device "${this.#link.name}"`;
    this.#section = `submit of ${this.#reg.label}`;
    const link = this.#link;
    this.#reg.register({
      shutdown: () => link.shutdown(),
      abandon: () => {
        for (const request of [...this.#taken]) request.end("gone");
      },
      closed: () => link.detach(),
    });
  }

  get device(): string {
    return this.#reg.binding.port.name;
  }
  get driver(): string {
    return this.#reg.binding.driver;
  }
  get name(): string {
    return this.#link.name;
  }
  get registered(): boolean {
    return this.#reg.registered;
  }
  get inFlight(): number {
    return this.#taken.size;
  }

  submit(record: BlockRequestRecord): "ok" | "busy" | "failed" {
    // Refused before anything is held: the block layer checks `registered` first, so this is a bug of its own.
    if (!this.#reg.registered) throw this.#reg.refused("submit");
    const request = new Request(this, record);
    // Held before the call: a request the driver completes inside submit is released inside it too.
    this.#taken.add(request);
    this.#reg.hold();
    const answer = this.#reg.callAtomic("submit", this.#section, request);
    if (answer === undefined) return "ok";
    if (answer === "busy" && !request.completed) {
      this.#untake(request);
      request.completed = true;
      return "busy";
    }
    if (answer !== OP_FAILED && isThenable(answer)) {
      answer.then(
        () => request.end("ok"),
        (error: unknown) => {
          this.#reg.failed("submit", error);
          request.end("error");
        },
      );
      return "ok";
    }
    if (answer !== OP_FAILED && answer !== "busy") {
      // Covers JavaScript and casts: submit answers nothing, "busy" or a promise.
      this.#reg.failed("submit", fail("EINVAL", `submit must return nothing, "busy" or a promise, got ${describe(answer)}; the request is failed.`));
    }
    request.end("error");
    return "failed";
  }

  /** The binding's live token, checked: only it completes this disk's requests. */
  check(dev: unknown, request: Request): void {
    const binding = liveBinding(dev, "request.complete");
    // Covers a token of another binding passed through a cast: the scope brand says it must be this one's.
    if (binding !== this.#reg.binding) {
      throw fail("EINVAL", `request.complete: ${binding.describe()}: this token is not of the binding that registered ${this.#reg.label}.`);
    }
    if (request.completed) {
      throw fail("EINVAL", `request.complete: ${this.#reg.label}: the ${request.op} of ${request.count} sector(s) at ${request.sector} (tag ${request.tag}) was already completed.`);
    }
  }

  /** A request ended: it is no longer with the driver. */
  untake(request: Request): void {
    this.#untake(request);
  }

  #untake(request: Request): void {
    if (this.#taken.delete(request)) this.#reg.release();
  }

  unregister(): Promise<void> {
    return this.#reg.unregister();
  }
}

class Request implements Omit<BlockRequest<unknown>, typeof requestOfOneBindingOnly> {
  completed = false;
  readonly #disk: BlockRegistration;
  readonly #record: BlockRequestRecord;

  constructor(disk: BlockRegistration, record: BlockRequestRecord) {
    this.#disk = disk;
    this.#record = record;
  }

  get op(): "read" | "write" {
    return this.#record.op;
  }
  get sector(): number {
    return this.#record.sector;
  }
  get count(): number {
    return this.#record.count;
  }
  get data(): Uint8Array {
    return this.#record.data;
  }
  get tag(): number {
    return this.#record.tag;
  }

  complete(dev: BoundDevice<unknown>, status: BlockStatus = "ok"): void {
    this.#disk.check(dev, this);
    // Covers JavaScript and casts: BlockStatus is "ok" or "error".
    if (status !== "ok" && status !== "error") {
      throw fail("EINVAL", `request.complete: the status must be "ok" or "error", got ${describe(status)}.`);
    }
    this.end(status);
  }

  /** Ends it once, whoever ends it. */
  end(status: "ok" | "error" | "gone"): void {
    if (this.completed) return;
    this.completed = true;
    this.#disk.untake(this);
    this.#record.finish(status);
  }
}
