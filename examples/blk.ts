/**
 * blk: a block driver with a submission and a completion queue, driven by
 * spawned async work, on the simulated device of models/blk-model.ts.
 *
 * What it shows:
 * - `spawn(dev, async (dev, signal) => …)`: work bound to the binding. The
 *   task writes batches of sectors, reads them back and checks them, awaiting
 *   each completion; the IRQ handler reaps the completion queue and wakes it.
 * - Unbind with requests in flight. remove() halts the device, so it posts
 *   nothing more and abandons what it had not finished. Then the core aborts
 *   the task's signal and waits for the task: it stops submitting, drains the
 *   completion queue one last time (completions the device posted but, with
 *   interrupts coalesced, had not signalled yet) and accounts for every
 *   request. Only then does devres free the queues. No completed request is
 *   lost, and the checker records nothing.
 */

import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, Machine, requestIrq, setDmaMask, spawn } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, IoMapping, IommuMode, ProbeDevice, TaskSignal } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import {
  BLK_CTRL_ENABLE,
  BLK_ID,
  BLK_OK,
  BLK_READ,
  BLK_REG,
  BLK_STATUS_RUNNING,
  BLK_WRITE,
  BlkModel,
  Cqe,
  SECTOR_SIZE,
  Sqe,
} from "./models/blk-model.js";

/** Entries per queue. */
export const QUEUE_DEPTH = 8;
/** Requests per batch: at most DEPTH - 1 in flight, so the queues never overflow. */
const BATCH = QUEUE_DEPTH - 1;
/** What an MMIO read returns once the device is gone. */
const ALL_ONES = 0xffff_ffff;

/** The driver's accounting, kept as devres: released (and reported) at unbind. */
export interface BlkStats {
  /** Requests submitted to the device. */
  submitted: number;
  /** Completions reaped, by the IRQ handler or the task's last drain. */
  completed: number;
  /** Completions with an error status. */
  failed: number;
  /** Sectors read back as written, and not. */
  verified: number;
  mismatched: number;
  /** Completions the task's last drain found, after the signal aborted. */
  drained: number;
  /** Requests never completed: the device was halted first. */
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
  const data = allocCoherent(dev, SECTOR_SIZE * BATCH);
  const empty: BlkStats = { submitted: 0, completed: 0, failed: 0, verified: 0, mismatched: 0, drained: 0, abandoned: 0 };
  const stats = Devres.new(dev, empty, (s) => options.onRelease?.({ ...s }));
  const blk = new Blk(regs, sq, cq, data, capacity, stats, options.narrate ?? (() => {}));
  requestIrq(dev, (dev) => blk.interrupt(dev));
  regs.write64(dev, BLK_REG.SQ_BASE, sq.dmaHandle);
  regs.write64(dev, BLK_REG.CQ_BASE, cq.dmaHandle);
  regs.write32(dev, BLK_REG.DEPTH, QUEUE_DEPTH);
  regs.write32(dev, BLK_REG.CTRL, BLK_CTRL_ENABLE);
  spawn(dev, (dev, signal) => blk.exercise(dev, signal));
  options.narrate?.(`probe(): ${capacity} sectors; queues of ${QUEUE_DEPTH} at 0x${sq.dmaHandle.toString(16)} (SQ) and 0x${cq.dmaHandle.toString(16)} (CQ); task spawned`);
  return blk;
}

class Blk<Scope> implements DriverInstance<Scope> {
  #sqTail = 0;
  #cqHead = 0;
  /** The phase bit of new completions on this pass around the CQ. */
  #phase = 1;
  /** Requests in flight, by command id: how to wake their submitter with the status. */
  readonly #waiting = new Map<number, (status: number) => void>();

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly sq: CoherentAllocation<Scope>,
    private readonly cq: CoherentAllocation<Scope>,
    private readonly data: CoherentAllocation<Scope>,
    private readonly capacity: number,
    private readonly stats: Devres<Scope, BlkStats>,
    private readonly narrate: Narrate,
  ) {}

  /** The IRQ handler: acknowledge, then reap the completion queue. */
  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, BLK_REG.ISR);
    if (cause === ALL_ONES) return; // surprise-removed
    this.regs.write32(dev, BLK_REG.ISR, cause);
    this.#reap(dev);
  }

  remove(dev: ProbeDevice<Scope>): void {
    const unreaped = this.#waiting.size;
    this.regs.write32(dev, BLK_REG.CTRL, 0);
    // The read flushes the posted write; the model stops at once.
    const status = this.regs.read32(dev, BLK_REG.STATUS);
    if (status === ALL_ONES) {
      this.narrate(`remove(): STATUS reads all-ones: the device is gone, ${unreaped} requests not reaped yet`);
      return;
    }
    if ((status & BLK_STATUS_RUNNING) !== 0) throw new Error("blk: the device did not stop; its queues cannot be freed safely");
    this.narrate(`remove(): device halted, ${unreaped} requests not reaped yet; the core cancels the task next`);
  }

  /**
   * The spawned work: rounds of writes, then reads of the same sectors,
   * checked. It stops when the signal aborts, and accounts for every request
   * before it returns, while its token is still live.
   */
  async exercise(dev: BoundDevice<Scope>, signal: TaskSignal): Promise<void> {
    const stats = this.stats.access(dev);
    for (let round = 0; !signal.aborted; round++) {
      const sectors = Array.from({ length: BATCH }, (_, slot) => (round * BATCH + slot) % this.capacity);
      const data = this.data.bytes(dev);
      sectors.forEach((sector, slot) => fillSector(data.subarray(slot * SECTOR_SIZE, (slot + 1) * SECTOR_SIZE), round, sector));
      if (!(await this.#batch(dev, signal, BLK_WRITE, sectors))) break;
      data.fill(0);
      if (!(await this.#batch(dev, signal, BLK_READ, sectors))) break;
      sectors.forEach((sector, slot) => {
        if (sectorIntact(data.subarray(slot * SECTOR_SIZE, (slot + 1) * SECTOR_SIZE), round, sector)) stats.verified++;
        else stats.mismatched++;
      });
    }
    // Aborted: submit nothing more. remove() halted the device, so the CQ
    // holds every completion it will ever post; take them all.
    stats.drained = this.#reap(dev);
    stats.abandoned = this.#waiting.size;
    this.#waiting.clear();
    this.narrate(
      `task: signal aborted, stopped submitting; drained ${stats.drained} completions the device had posted; ` +
        `${stats.completed} of ${stats.submitted} requests completed, ${stats.abandoned} abandoned by the halt; ${stats.verified} sectors verified`,
    );
  }

  /** Submits one request per sector, rings the doorbell once, and waits for them all, or for the signal. */
  async #batch(dev: BoundDevice<Scope>, signal: TaskSignal, opcode: number, sectors: readonly number[]): Promise<boolean> {
    const done = sectors.map((sector, slot) => this.#submit(dev, slot, opcode, sector));
    this.regs.write32(dev, BLK_REG.SQ_TAIL, this.#sqTail);
    const finished = await Promise.race([Promise.all(done).then(() => true), signal.whenAborted.then(() => false)]);
    return finished && !signal.aborted;
  }

  /** Queues one single-sector request in slot `slot`; resolves with its status. */
  #submit(dev: BoundDevice<Scope>, slot: number, opcode: number, sector: number): Promise<number> {
    Sqe.write(this.sq.view(dev), this.#sqTail, {
      addr: this.data.dmaHandle + BigInt(slot * SECTOR_SIZE),
      sector: BigInt(sector),
      id: slot,
      opcode,
      sectors: 1,
    });
    this.#sqTail = (this.#sqTail + 1) % QUEUE_DEPTH;
    this.stats.access(dev).submitted++;
    return new Promise((resolve) => this.#waiting.set(slot, resolve));
  }

  /** Takes every new completion off the CQ and wakes its submitter. Returns how many. */
  #reap(dev: BoundDevice<Scope>): number {
    const cq = this.cq.view(dev);
    const stats = this.stats.access(dev);
    let reaped = 0;
    while (Cqe.get(cq, this.#cqHead, "phase") === this.#phase) {
      const { id, status } = Cqe.read(cq, this.#cqHead);
      this.#cqHead = (this.#cqHead + 1) % QUEUE_DEPTH;
      if (this.#cqHead === 0) this.#phase ^= 1;
      stats.completed++;
      if (status !== BLK_OK) stats.failed++;
      const wake = this.#waiting.get(id);
      this.#waiting.delete(id);
      wake?.(status);
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

export interface BlkRun {
  readonly machine: Machine;
  readonly model: BlkModel;
  /** The accounting devres released at the end. */
  readonly stats: Readonly<BlkStats> | undefined;
  /** Commands the device had in flight when the unbind began. */
  readonly inFlight: number;
}

/** The task runs for `runNs` of virtual time; then the device is unbound with requests in flight. */
export async function runBlk(
  narrate: Narrate,
  { iommu = "passthrough", runNs = 120_000 }: { iommu?: IommuMode; runNs?: number } = {},
): Promise<BlkRun> {
  const machine = new Machine({ iommu });
  const stop = follow(machine, narrate);
  let stats: Readonly<BlkStats> | undefined;
  await machine.pci.register(blkDriver({ narrate, onRelease: (s) => (stats = s) }));
  const model = new BlkModel({ name: "0000:00:07.0" });
  const dev = machine.pci.plug(model);
  await machine.settled();
  await machine.run(runNs);
  const inFlight = model.inFlight;
  narrate(`after ${runNs / 1000} µs: the device completed ${model.completed} requests, ${inFlight} in flight; unbind ${dev.name}`);
  await machine.pci.unbind(dev);
  stop();
  if (stats !== undefined) {
    narrate(`devres released the accounting: ${stats.completed} completions reaped, the device posted ${model.completed}; ${stats.submitted} submitted = ${stats.completed} completed + ${stats.abandoned} abandoned`);
  }
  return { machine, model, stats, inFlight };
}
