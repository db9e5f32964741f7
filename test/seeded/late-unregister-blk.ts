/**
 * Seeded bug 4: a subsystem still served after its device stopped serving
 * it: the disk is unregistered late.
 *
 * The registration gate (src/driver/registration.ts) refuses every new call
 * once unregistering begins, and nothing reaches the driver after it ends.
 * What it lets through is what was already in flight: a call running, and
 * the block requests the driver took and has not completed. `unregister()`
 * waits for those, since the block layer cannot fail a request the device
 * may still be writing.
 *
 * Clean original: examples/blk.ts, whose remove() unregisters the disk
 * first (`del_gendisk`, while the device still works: the requests it holds
 * complete), and only then halts the device. This copy halts the device
 * first and unregisters after: the requests the device held are dropped
 * with it, nothing will ever complete them, and the unregister waits for
 * them until the watchdog reports it `hung` (the kernel's hung task in
 * `blk_mq_freeze_queue`), fails them and goes on.
 *
 * A hot-unplug takes the other path of remove() (the device is gone: fail
 * what it held, then unregister), so the explorer's own teardown passes.
 * Found by: `unbind` at a point where requests are in flight.
 */

import { allocCoherent, defineDriver, enableBusMaster, iomap, registerBlockDevice, requestIrq, setDmaMask } from "boundscope";
import type { AtomicDevice, BlockDevice, BlockRequest, BoundDevice, CoherentAllocation, DriverInstance, IoMapping, ProbeDevice } from "boundscope";
import { BLK_CTRL_ENABLE, BLK_ID, BLK_OK, BLK_READ, BLK_REG, BLK_STATUS_RUNNING, BLK_WRITE, Cqe, MAX_SECTORS, SECTOR_SIZE, Sqe } from "../../examples/models/blk-model.js";

const QUEUE_DEPTH = 8;
const TAGS = QUEUE_DEPTH - 1;
const SLOT = MAX_SECTORS * SECTOR_SIZE;
const ALL_ONES = 0xffff_ffff;

export interface LateUnregisterBlkOptions {
  /** True: unregister first, then halt (the fix). Default false: the seeded bug. */
  readonly fixed?: boolean;
}

export function lateUnregisterBlkDriver(options: LateUnregisterBlkOptions = {}) {
  return defineDriver({ name: "blk-late-unregister", ids: [BLK_ID], probe: (dev) => probe(dev, options) });
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: LateUnregisterBlkOptions): Blk<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, BLK_REG.CTRL, 0);
  const capacity = regs.read32(dev, BLK_REG.CAPACITY);
  const sq = allocCoherent(dev, Sqe.size * QUEUE_DEPTH);
  const cq = allocCoherent(dev, Cqe.size * QUEUE_DEPTH);
  const data = allocCoherent(dev, SLOT * TAGS);
  const blk = new Blk(regs, sq, cq, data, options);
  requestIrq(dev, (dev) => blk.interrupt(dev));
  regs.write64(dev, BLK_REG.SQ_BASE, sq.dmaHandle);
  regs.write64(dev, BLK_REG.CQ_BASE, cq.dmaHandle);
  regs.write32(dev, BLK_REG.DEPTH, QUEUE_DEPTH);
  regs.write32(dev, BLK_REG.CTRL, BLK_CTRL_ENABLE);
  blk.disk = registerBlockDevice(dev, { submit: (dev, request) => blk.submit(dev, request) }, { sectors: capacity, sectorSize: SECTOR_SIZE, queueDepth: TAGS, name: "blk%d" });
  return blk;
}

class Blk<Scope> implements DriverInstance<Scope> {
  disk!: BlockDevice<Scope>;
  #sqTail = 0;
  #cqHead = 0;
  #phase = 1;
  readonly #pending = new Map<number, BlockRequest<Scope>>();

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly sq: CoherentAllocation<Scope>,
    private readonly cq: CoherentAllocation<Scope>,
    private readonly data: CoherentAllocation<Scope>,
    private readonly options: LateUnregisterBlkOptions,
  ) {}

  submit(dev: AtomicDevice<Scope>, request: BlockRequest<Scope>): void {
    if (request.count > MAX_SECTORS) {
      request.complete(dev, "error");
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
    this.regs.write32(dev, BLK_REG.SQ_TAIL, this.#sqTail);
  }

  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, BLK_REG.ISR);
    if (cause === ALL_ONES) return;
    this.regs.write32(dev, BLK_REG.ISR, cause);
    this.#reap(dev);
  }

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    if (this.regs.read32(dev, BLK_REG.STATUS) === ALL_ONES) {
      for (const request of this.#pending.values()) request.complete(dev, "error");
      this.#pending.clear();
      await this.disk.unregister();
      return;
    }
    if (this.options.fixed === true) await this.disk.unregister();
    this.regs.write32(dev, BLK_REG.CTRL, 0);
    if ((this.regs.read32(dev, BLK_REG.STATUS) & BLK_STATUS_RUNNING) !== 0) throw new Error("blk: the device did not stop");
    // SEEDED BUG: del_gendisk after the device was halted: the requests it held never complete.
    if (this.options.fixed !== true) await this.disk.unregister();
  }

  #reap(dev: BoundDevice<Scope>): void {
    const cq = this.cq.view(dev);
    let reaped = 0;
    while (Cqe.get(cq, this.#cqHead, "phase") === this.#phase) {
      const { id, status } = Cqe.read(cq, this.#cqHead);
      this.#cqHead = (this.#cqHead + 1) % QUEUE_DEPTH;
      if (this.#cqHead === 0) this.#phase ^= 1;
      const request = this.#pending.get(id);
      this.#pending.delete(id);
      if (request !== undefined) {
        if (request.op === "read" && status === BLK_OK) request.data.set(this.data.bytes(dev).subarray(id * SLOT, id * SLOT + request.data.length));
        request.complete(dev, status === BLK_OK ? "ok" : "error");
      }
      reaped++;
    }
    if (reaped > 0) this.regs.write32(dev, BLK_REG.CQ_HEAD, this.#cqHead);
  }
}
