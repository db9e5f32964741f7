/**
 * Seeded bug 1: an error path in probe that leaks the IRQ when a later
 * allocation fails.
 *
 * Clean original: examples/blk.ts, whose IRQ is device-managed
 * (`devm_request_irq`) and requested after its queues, so nothing can leak.
 * This copy is that driver as it would be ported from C with the plain
 * `request_irq` (`requestIrq(dev, …, { managed: false })`), requested
 * before the queues, with the goto-ladder unwinding C drivers write: its
 * remove() frees the IRQ (`free_irq`), and its probe's error path frees the
 * queues it got. The bug: that error path forgets `irq.free()`. When an
 * allocation after the request fails (ENOMEM), probe fails with the IRQ
 * still requested: the core reports `irq-leaked` (naming the line, the
 * handler and where it was requested) and frees it.
 *
 * Found by: `fail-alloc#1` (the first allocation, the first after the
 * request): the first schedule after the four clean runs.
 */

import { allocCoherent, defineDriver, enableBusMaster, iomap, registerBlockDevice, requestIrq, setDmaMask } from "boundscope";
import type { AtomicDevice, BlockDevice, BlockRequest, BoundDevice, CoherentAllocation, DriverInstance, IoMapping, IrqHandle, ProbeDevice } from "boundscope";
import { BLK_CTRL_ENABLE, BLK_ID, BLK_OK, BLK_READ, BLK_REG, BLK_STATUS_RUNNING, BLK_WRITE, Cqe, MAX_SECTORS, SECTOR_SIZE, Sqe } from "../../examples/models/blk-model.js";

const QUEUE_DEPTH = 8;
const TAGS = QUEUE_DEPTH - 1;
const SLOT = MAX_SECTORS * SECTOR_SIZE;
const ALL_ONES = 0xffff_ffff;

export interface IrqLeakBlkOptions {
  /** True: the error path frees the IRQ too (the fix). Default false: the seeded bug. */
  readonly fixed?: boolean;
}

export function irqLeakBlkDriver(options: IrqLeakBlkOptions = {}) {
  return defineDriver({ name: "blk-irq-leak", ids: [BLK_ID], probe: (dev) => probe(dev, options) });
}

interface Queues<Scope> {
  readonly sq: CoherentAllocation<Scope>;
  readonly cq: CoherentAllocation<Scope>;
  readonly data: CoherentAllocation<Scope>;
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: IrqLeakBlkOptions): Blk<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, BLK_REG.CTRL, 0);
  const capacity = regs.read32(dev, BLK_REG.CAPACITY);
  const blk = new Blk(regs);
  // request_irq early, as the C driver did: the handler finds no queues until they exist.
  const irq = requestIrq(dev, (dev) => blk.interrupt(dev), { managed: false, name: "blk" });
  let sq: CoherentAllocation<Scope> | undefined;
  let cq: CoherentAllocation<Scope> | undefined;
  try {
    sq = allocCoherent(dev, Sqe.size * QUEUE_DEPTH);
    cq = allocCoherent(dev, Cqe.size * QUEUE_DEPTH);
    const data = allocCoherent(dev, SLOT * TAGS);
    blk.queues = { sq, cq, data };
  } catch (error) {
    // err_free_cq: / err_free_sq: in reverse order of allocation.
    cq?.free();
    sq?.free();
    // SEEDED BUG: the ladder stops here; the fix frees the IRQ too (err_free_irq:).
    if (options.fixed === true) void irq.free();
    throw error;
  }
  blk.irq = irq;
  regs.write64(dev, BLK_REG.SQ_BASE, sq.dmaHandle);
  regs.write64(dev, BLK_REG.CQ_BASE, cq.dmaHandle);
  regs.write32(dev, BLK_REG.DEPTH, QUEUE_DEPTH);
  regs.write32(dev, BLK_REG.CTRL, BLK_CTRL_ENABLE);
  blk.disk = registerBlockDevice(dev, { submit: (dev, request) => blk.submit(dev, request) }, { sectors: capacity, sectorSize: SECTOR_SIZE, queueDepth: TAGS, name: "blk%d" });
  return blk;
}

class Blk<Scope> implements DriverInstance<Scope> {
  disk!: BlockDevice<Scope>;
  queues: Queues<Scope> | undefined;
  irq!: IrqHandle<Scope>;
  #sqTail = 0;
  #cqHead = 0;
  #phase = 1;
  readonly #pending = new Map<number, BlockRequest<Scope>>();

  constructor(private readonly regs: IoMapping<Scope>) {}

  submit(dev: AtomicDevice<Scope>, request: BlockRequest<Scope>): void {
    const { sq, data } = this.queues!;
    if (request.count > MAX_SECTORS) {
      request.complete(dev, "error");
      return;
    }
    const slot = request.tag * SLOT;
    if (request.op === "write") data.bytes(dev).set(request.data, slot);
    Sqe.write(sq.view(dev), this.#sqTail, {
      addr: data.dmaHandle + BigInt(slot),
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
    if (cause === ALL_ONES || this.queues === undefined) return;
    this.regs.write32(dev, BLK_REG.ISR, cause);
    this.#reap(dev, this.queues);
  }

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    if (this.regs.read32(dev, BLK_REG.STATUS) === ALL_ONES) {
      for (const request of this.#pending.values()) request.complete(dev, "error");
      this.#pending.clear();
      await this.disk.unregister();
    } else {
      await this.disk.unregister();
      this.regs.write32(dev, BLK_REG.CTRL, 0);
      if ((this.regs.read32(dev, BLK_REG.STATUS) & BLK_STATUS_RUNNING) !== 0) throw new Error("blk: the device did not stop");
    }
    // free_irq: nothing else frees an IRQ requested without devres.
    await this.irq.free();
  }

  #reap(dev: BoundDevice<Scope>, { cq, data }: Queues<Scope>): void {
    const view = cq.view(dev);
    let reaped = 0;
    while (Cqe.get(view, this.#cqHead, "phase") === this.#phase) {
      const { id, status } = Cqe.read(view, this.#cqHead);
      this.#cqHead = (this.#cqHead + 1) % QUEUE_DEPTH;
      if (this.#cqHead === 0) this.#phase ^= 1;
      const request = this.#pending.get(id);
      this.#pending.delete(id);
      if (request !== undefined) {
        if (request.op === "read" && status === BLK_OK) request.data.set(data.bytes(dev).subarray(id * SLOT, id * SLOT + request.data.length));
        request.complete(dev, status === BLK_OK ? "ok" : "error");
      }
      reaped++;
    }
    if (reaped > 0) this.regs.write32(dev, BLK_REG.CQ_HEAD, this.#cqHead);
  }
}
