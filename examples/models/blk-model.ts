/**
 * blk-model: the simulated block device behind examples/blk.ts, after NVMe:
 * a submission queue (SQ) and a completion queue (CQ) in host memory,
 * doorbells in BAR 0, one interrupt, and a store of 512-byte sectors inside
 * the device.
 *
 * - A write of SQ_TAIL makes the device fetch the new commands by DMA. Each
 *   takes its own time on the media, so they finish out of order. Then the
 *   device moves the data by DMA and posts a completion entry, whose phase bit
 *   flips on each pass around the CQ.
 * - Interrupts are coalesced: one per COALESCE completions, or COALESCE_NS
 *   after the first completion not yet signalled.
 * - CTRL=0 stops the device at once, as a controller reset does: commands not
 *   yet completed are abandoned and nothing more is posted. STATUS says
 *   whether it runs. While it runs, the device holds both queues, and the
 *   data buffer of each command in flight.
 */

import { defineStruct, DeviceModel } from "boundscope";
import type { MmioWidth, Timer } from "boundscope";

export const BLK_ID = { vendor: 0x1234, device: 0xb10c } as const;

/** BAR 0 registers: 32-bit, but for the two 64-bit queue bases. */
export const BLK_REG = {
  /** BLK_CTRL_ENABLE starts the device and resets both queues; 0 stops it. */
  CTRL: 0x00,
  /** BLK_STATUS_RUNNING while it runs. */
  STATUS: 0x04,
  /** Interrupt cause, BLK_ISR_CQ; write ones to clear. */
  ISR: 0x08,
  /** Read-only: the capacity in sectors. */
  CAPACITY: 0x0c,
  /** Bus address of the SQ (64-bit). */
  SQ_BASE: 0x10,
  /** Bus address of the CQ (64-bit). */
  CQ_BASE: 0x18,
  /** Entries in each queue. */
  DEPTH: 0x20,
  /** Doorbell: commands are posted up to here (exclusive). */
  SQ_TAIL: 0x24,
  /** Doorbell: the driver consumed completions up to here (exclusive). */
  CQ_HEAD: 0x28,
} as const;

export const BLK_CTRL_ENABLE = 1;
export const BLK_STATUS_RUNNING = 1;
export const BLK_ISR_CQ = 1;

export const SECTOR_SIZE = 512;
/** The most sectors one command moves. */
export const MAX_SECTORS = 8;

export const BLK_READ = 1;
export const BLK_WRITE = 2;

/** Completion status: done; sectors out of range; a malformed command. */
export const BLK_OK = 0;
export const BLK_ERANGE = 1;
export const BLK_EINVAL = 2;

/** A submission queue entry. */
export const Sqe = defineStruct({ addr: "u64", sector: "u64", id: "u16", opcode: "u8", sectors: "u8" });
/** A completion queue entry. `phase` is new when it differs from the last pass's. */
export const Cqe = defineStruct({ id: "u16", status: "u8", phase: "u8" });

/** Completions per interrupt, and the longest a completion waits for one, ns. */
export const COALESCE = 4;
export const COALESCE_NS = 8_000;

interface Command {
  readonly id: number;
  readonly opcode: number;
  readonly sector: number;
  readonly sectors: number;
  readonly addr: bigint;
  readonly status: number;
}

export class BlkModel extends DeviceModel {
  readonly capacity: number;
  readonly #store: Uint8Array;
  #running = false;
  #isr = 0;
  #depth = 0;
  #sqBase = 0n;
  #sqHead = 0;
  #cqBase = 0n;
  #cqTail = 0;
  #phase = 1;
  readonly #inFlight = new Map<Command, Timer>();
  #unsignalled = 0;
  #coalesce: Timer | undefined;
  /** Commands fetched from the SQ. */
  fetched = 0;
  /** Completions posted to the CQ. */
  completed = 0;
  /** Commands dropped unfinished by a stop. */
  abandoned = 0;

  constructor({ name, sectors = 2048 }: { name?: string; sectors?: number } = {}) {
    super({ ...BLK_ID, ...(name === undefined ? {} : { name }), bars: [0x100] });
    this.capacity = sectors;
    this.#store = new Uint8Array(sectors * SECTOR_SIZE);
  }

  /** True while the device runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Commands fetched and not yet completed. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number {
    switch (offset) {
      case BLK_REG.STATUS:
        return this.#running ? BLK_STATUS_RUNNING : 0;
      case BLK_REG.ISR:
        return this.#isr;
      case BLK_REG.CAPACITY:
        return this.capacity;
      default:
        return 0;
    }
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    const n = Number(value);
    switch (offset) {
      case BLK_REG.CTRL:
        return (n & BLK_CTRL_ENABLE) !== 0 ? this.#start() : this.#stop();
      case BLK_REG.ISR:
        this.#isr &= ~n;
        return;
      case BLK_REG.SQ_BASE:
        if (!this.#running) this.#sqBase = BigInt(value);
        return;
      case BLK_REG.CQ_BASE:
        if (!this.#running) this.#cqBase = BigInt(value);
        return;
      case BLK_REG.DEPTH:
        if (!this.#running) this.#depth = n;
        return;
      case BLK_REG.SQ_TAIL:
        return this.#fetch(n);
      // CQ_HEAD: the driver never has more than DEPTH - 1 commands out, so
      // the CQ cannot overflow and the device need not watch it.
    }
  }

  override removed(): void {
    this.#running = false;
  }

  #start(): void {
    if (this.#running || this.#depth === 0) return;
    this.#running = true;
    this.#sqHead = this.#cqTail = 0;
    this.#phase = 1;
    this.hold(this.#sqBase, this.#depth * Sqe.size, "the submission queue");
    this.hold(this.#cqBase, this.#depth * Cqe.size, "the completion queue");
  }

  #stop(): void {
    if (!this.#running) return;
    this.#running = false;
    for (const [command, timer] of this.#inFlight) {
      timer.cancel();
      this.unhold(command.addr);
    }
    this.abandoned += this.#inFlight.size;
    this.#inFlight.clear();
    this.#coalesce?.cancel();
    this.#coalesce = undefined;
    this.#unsignalled = 0;
    this.unhold(this.#sqBase);
    this.unhold(this.#cqBase);
  }

  /** Fetches every command posted up to `tail` and starts it on the media. */
  #fetch(tail: number): void {
    if (!this.#running) return;
    tail %= this.#depth;
    while (this.#sqHead !== tail) {
      const bytes = this.dmaRead(this.#sqBase + BigInt(this.#sqHead * Sqe.size), Sqe.size);
      const sqe = Sqe.read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
      this.#sqHead = (this.#sqHead + 1) % this.#depth;
      this.fetched++;
      const sector = Number(sqe.sector);
      const status =
        (sqe.opcode !== BLK_READ && sqe.opcode !== BLK_WRITE) || sqe.sectors < 1 || sqe.sectors > MAX_SECTORS
          ? BLK_EINVAL
          : sector + sqe.sectors > this.capacity
            ? BLK_ERANGE
            : BLK_OK;
      const command: Command = { id: sqe.id, opcode: sqe.opcode, sector, sectors: sqe.sectors, addr: sqe.addr, status };
      if (status === BLK_OK) this.hold(command.addr, command.sectors * SECTOR_SIZE, `the data buffer of command ${command.id}`);
      // Media time depends on where the sector is, so commands finish out of order.
      const latency = 2_000 + (sector % 4) * 1_500;
      this.#inFlight.set(command, this.after(latency, () => this.#complete(command)));
    }
  }

  #complete(command: Command): void {
    this.#inFlight.delete(command);
    if (command.status === BLK_OK) {
      const at = command.sector * SECTOR_SIZE;
      const length = command.sectors * SECTOR_SIZE;
      if (command.opcode === BLK_WRITE) this.#store.set(this.dmaRead(command.addr, length), at);
      else this.dmaWrite(command.addr, this.#store.subarray(at, at + length));
      this.unhold(command.addr);
    }
    const entry = new Uint8Array(Cqe.size);
    Cqe.write(new DataView(entry.buffer), 0, { id: command.id, status: command.status, phase: this.#phase });
    this.dmaWrite(this.#cqBase + BigInt(this.#cqTail * Cqe.size), entry);
    this.#cqTail = (this.#cqTail + 1) % this.#depth;
    if (this.#cqTail === 0) this.#phase ^= 1;
    this.completed++;
    if (++this.#unsignalled >= COALESCE) this.#signal();
    else this.#coalesce ??= this.after(COALESCE_NS, () => this.#signal());
  }

  #signal(): void {
    this.#coalesce?.cancel();
    this.#coalesce = undefined;
    this.#unsignalled = 0;
    this.#isr |= BLK_ISR_CQ;
    this.raiseIrq();
  }
}
