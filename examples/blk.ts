/**
 * blk: a block driver with a submission and a completion queue, registered
 * with the block layer, on the simulated device of models/blk-model.ts.
 *
 * What it shows:
 * - `registerBlockDevice(dev, { submit }, { sectors, queueDepth })`: the
 *   block layer hands each read or write to `submit` (in atomic context, as
 *   `queue_rq`), with a tag below the queue depth that the driver uses as
 *   the command id and as the slot of its DMA bounce buffer. The IRQ handler
 *   reaps the completion queue and completes each request with the token it
 *   was given (`request.complete(dev, status)`): nothing closes over the
 *   probe token.
 * - Unbind with requests in flight. remove() unregisters the disk first, as
 *   `del_gendisk` comes first in a kernel driver's remove: the block layer
 *   refuses new I/O at once, fails what it had queued, and waits while the
 *   device finishes the requests it holds. Only then does remove() halt the
 *   device, and devres free the queues. No request is lost, and the checker
 *   records nothing.
 * - A surprise unplug: nothing will complete the requests the device held,
 *   so remove() fails them itself before unregistering (as nvme kills its
 *   queues when the device is gone).
 */

import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, Machine, registerBlockDevice, requestIrq, setDmaMask } from "boundscope";
import type { AtomicDevice, BlockDevice, BlockRequest, BoundDevice, BoundscopeError, CoherentAllocation, DriverInstance, IoMapping, IommuMode, ProbeDevice } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import { BLK_CTRL_ENABLE, BLK_ID, BLK_OK, BLK_READ, BLK_REG, BLK_STATUS_RUNNING, BLK_WRITE, BlkModel, Cqe, MAX_SECTORS, SECTOR_SIZE, Sqe } from "./models/blk-model.js";

/** Entries per queue. */
export const QUEUE_DEPTH = 8;
/** Requests with the device at once: one queue entry stays empty, so the queues never overflow. */
const TAGS = QUEUE_DEPTH - 1;
/** Bytes of bounce buffer per tag: the most one command moves. */
const SLOT = MAX_SECTORS * SECTOR_SIZE;
/** What an MMIO read returns once the device is gone. */
const ALL_ONES = 0xffff_ffff;

/** The driver's accounting, kept as devres: released (and reported) at unbind. */
export interface BlkStats {
  /** Requests submitted to the device. */
  submitted: number;
  /** Completions reaped. */
  completed: number;
  /** Completions with an error status, and requests too long for one command. */
  failed: number;
  /** Completions reaped while the disk was being unregistered: the drain. */
  drained: number;
  /** Requests failed by remove() because the device was gone. */
  abandoned: number;
}

export interface BlkOptions {
  readonly narrate?: Narrate;
  /** Hears the final accounting when devres releases it. */
  readonly onRelease?: (stats: Readonly<BlkStats>) => void;
}

export function blkDriver(options: BlkOptions = {}) {
  return defineDriver({ name: "blk", ids: [BLK_ID], probe: (dev) => probe(dev, options) });
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: BlkOptions): Blk<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, BLK_REG.CTRL, 0); // a previous driver may have left it running
  const capacity = regs.read32(dev, BLK_REG.CAPACITY);
  const sq = allocCoherent(dev, Sqe.size * QUEUE_DEPTH);
  const cq = allocCoherent(dev, Cqe.size * QUEUE_DEPTH);
  const data = allocCoherent(dev, SLOT * TAGS);
  const empty: BlkStats = { submitted: 0, completed: 0, failed: 0, drained: 0, abandoned: 0 };
  const stats = Devres.new(dev, empty, (s) => options.onRelease?.({ ...s }));
  const blk = new Blk(regs, sq, cq, data, stats, options.narrate ?? (() => {}));
  requestIrq(dev, (dev) => blk.interrupt(dev));
  regs.write64(dev, BLK_REG.SQ_BASE, sq.dmaHandle);
  regs.write64(dev, BLK_REG.CQ_BASE, cq.dmaHandle);
  regs.write32(dev, BLK_REG.DEPTH, QUEUE_DEPTH);
  regs.write32(dev, BLK_REG.CTRL, BLK_CTRL_ENABLE);
  blk.disk = registerBlockDevice(dev, { submit: (dev, request) => blk.submit(dev, request) }, { sectors: capacity, sectorSize: SECTOR_SIZE, queueDepth: TAGS, name: "blk%d" });
  options.narrate?.(`probe(): ${capacity} sectors; queues of ${QUEUE_DEPTH} at 0x${sq.dmaHandle.toString(16)} (SQ) and 0x${cq.dmaHandle.toString(16)} (CQ); disk ${blk.disk.name} registered`);
  return blk;
}

class Blk<Scope> implements DriverInstance<Scope> {
  /** Set right after construction, in probe(). */
  disk!: BlockDevice<Scope>;
  #sqTail = 0;
  #cqHead = 0;
  /** The phase bit of new completions on this pass around the CQ. */
  #phase = 1;
  /** Requests with the device, by tag (the command id). */
  readonly #pending = new Map<number, BlockRequest<Scope>>();

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly sq: CoherentAllocation<Scope>,
    private readonly cq: CoherentAllocation<Scope>,
    private readonly data: CoherentAllocation<Scope>,
    private readonly stats: Devres<Scope, BlkStats>,
    private readonly narrate: Narrate,
  ) {}

  /** `queue_rq`: one command in the SQ, its data in the tag's bounce slot, then the doorbell. */
  submit(dev: AtomicDevice<Scope>, request: BlockRequest<Scope>): void {
    const stats = this.stats.access(dev);
    if (request.count > MAX_SECTORS) {
      stats.failed++;
      request.complete(dev, "error"); // a real driver would set max_hw_sectors so the block layer splits it
      return;
    }
    const slot = request.tag * SLOT;
    if (request.op === "write") this.data.bytes(dev).set(request.data, slot);
    Sqe.write(this.sq.view(dev), this.#sqTail, {
      addr: this.data.dmaHandle + BigInt(slot),
      sector: BigInt(request.sector),
      id: request.tag,
      opcode: request.op === "write" ? BLK_WRITE : BLK_READ,
      sectors: request.count,
    });
    this.#sqTail = (this.#sqTail + 1) % QUEUE_DEPTH;
    this.#pending.set(request.tag, request);
    stats.submitted++;
    this.regs.write32(dev, BLK_REG.SQ_TAIL, this.#sqTail);
  }

  /** The IRQ handler: acknowledge, then reap the completion queue. */
  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, BLK_REG.ISR);
    if (cause === ALL_ONES) return; // surprise-removed
    this.regs.write32(dev, BLK_REG.ISR, cause);
    this.#reap(dev);
  }

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    const stats = this.stats.access(dev);
    const held = this.#pending.size;
    if (this.regs.read32(dev, BLK_REG.STATUS) === ALL_ONES) {
      // Gone: nothing will complete what the device held. Fail it, so the drain has nothing to wait for.
      for (const request of this.#pending.values()) request.complete(dev, "error");
      stats.abandoned = this.#pending.size;
      this.#pending.clear();
      await this.disk.unregister();
      this.narrate(`remove(): STATUS reads all-ones: the device is gone; ${stats.abandoned} requests it held failed, ${this.disk.name} unregistered`);
      return;
    }
    // del_gendisk first, while the device still works: the block layer waits for the requests it holds.
    await this.disk.unregister();
    this.regs.write32(dev, BLK_REG.CTRL, 0);
    // The read flushes the posted write; the model stops at once.
    if ((this.regs.read32(dev, BLK_REG.STATUS) & BLK_STATUS_RUNNING) !== 0) throw new Error("blk: the device did not stop; its queues cannot be freed safely");
    this.narrate(`remove(): ${this.disk.name} unregistered: ${held} requests in flight drained (${stats.drained} completions), then device halted`);
  }

  /** Takes every new completion off the CQ and completes its request. Returns how many. */
  #reap(dev: BoundDevice<Scope>): number {
    const cq = this.cq.view(dev);
    const stats = this.stats.access(dev);
    let reaped = 0;
    while (Cqe.get(cq, this.#cqHead, "phase") === this.#phase) {
      const { id, status } = Cqe.read(cq, this.#cqHead);
      this.#cqHead = (this.#cqHead + 1) % QUEUE_DEPTH;
      if (this.#cqHead === 0) this.#phase ^= 1;
      stats.completed++;
      if (!this.disk.registered) stats.drained++;
      if (status !== BLK_OK) stats.failed++;
      const request = this.#pending.get(id);
      this.#pending.delete(id);
      if (request !== undefined) {
        if (request.op === "read" && status === BLK_OK) request.data.set(this.data.bytes(dev).subarray(id * SLOT, id * SLOT + request.data.length));
        request.complete(dev, status === BLK_OK ? "ok" : "error");
      }
      reaped++;
    }
    if (reaped > 0) this.regs.write32(dev, BLK_REG.CQ_HEAD, this.#cqHead);
    return reaped;
  }
}

function fillSector(sector: Uint8Array, round: number, lba: number): void {
  for (let i = 0; i < sector.length; i++) sector[i] = (round * 31 + lba * 7 + i) & 0xff;
}

function sectorIntact(sector: Uint8Array, round: number, lba: number): boolean {
  return sector.every((byte, i) => byte === ((round * 31 + lba * 7 + i) & 0xff));
}

/** What the user side did: requests issued, and how each ended. */
export interface BlkWorkload {
  issued: number;
  completed: number;
  /** Refused with ENXIO: the disk was going, so they never reached the driver, or the device was gone. */
  refused: number;
  verified: number;
  mismatched: number;
}

/**
 * The user side: rounds of writes to a batch of sectors, then reads of the
 * same sectors, checked, until the disk goes away.
 */
export async function exerciseDisk(machine: Machine, name: string, work: BlkWorkload): Promise<void> {
  const disk = machine.block.disk(name);
  const batch = TAGS;
  const settle = async <Value>(promise: Promise<Value>): Promise<Value | undefined> => {
    work.issued++;
    try {
      const value = await promise;
      work.completed++;
      return value;
    } catch (error) {
      if ((error as BoundscopeError).code !== "ENXIO") throw error;
      work.refused++;
      return undefined;
    }
  };
  for (let round = 0; disk.registered; round++) {
    const sectors = Array.from({ length: batch }, (_, i) => ((round * batch + i) * 2) % (disk.sectors - 1));
    const writes = await Promise.all(
      sectors.map((lba) => {
        const data = new Uint8Array(2 * SECTOR_SIZE);
        fillSector(data, round, lba);
        return settle(disk.write(lba, data));
      }),
    );
    if (writes.length === 0 || !disk.registered) break;
    const reads = await Promise.all(sectors.map((lba) => settle(disk.read(lba, 2))));
    reads.forEach((data, i) => {
      if (data === undefined) return;
      if (sectorIntact(data, round, sectors[i]!)) work.verified++;
      else work.mismatched++;
    });
  }
}

export interface BlkRun {
  readonly machine: Machine;
  readonly model: BlkModel;
  /** The accounting devres released at the end. */
  readonly stats: Readonly<BlkStats> | undefined;
  /** What the user side did. */
  readonly work: BlkWorkload;
  /** Commands the device had in flight when the unbind began. */
  readonly inFlight: number;
}

/** The workload runs for `runNs` of virtual time; then the device is unbound (or unplugged) with requests in flight. */
export async function runBlk(
  narrate: Narrate,
  { iommu = "passthrough", runNs = 120_000, end = "unbind" }: { iommu?: IommuMode; runNs?: number; end?: "unbind" | "unplug" } = {},
): Promise<BlkRun> {
  const machine = new Machine({ iommu });
  const stop = follow(machine, narrate);
  let stats: Readonly<BlkStats> | undefined;
  await machine.pci.register(blkDriver({ narrate, onRelease: (s) => (stats = s) }));
  const model = new BlkModel({ name: "0000:00:07.0" });
  const dev = machine.pci.plug(model);
  await machine.settled();
  const work: BlkWorkload = { issued: 0, completed: 0, refused: 0, verified: 0, mismatched: 0 };
  const exercised = exerciseDisk(machine, machine.block.disks[0]!.name, work);
  await machine.run(runNs);
  const inFlight = model.inFlight;
  narrate(`after ${runNs / 1000} µs: the device completed ${model.completed} requests, ${inFlight} in flight; ${end} ${dev.name}`);
  if (end === "unbind") await machine.pci.unbind(dev);
  else await machine.pci.unplug(dev);
  await exercised;
  stop();
  narrate(`the user side issued ${work.issued} requests: ${work.completed} completed, ${work.refused} refused with ENXIO; ${work.verified} reads verified`);
  if (stats !== undefined) {
    narrate(`devres released the accounting: ${stats.submitted} submitted, ${stats.completed} completed (${stats.drained} while draining), ${stats.abandoned} failed because the device was gone`);
  }
  return { machine, model, stats, work, inFlight };
}
