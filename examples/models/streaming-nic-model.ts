/**
 * streaming-nic-model: the simulated NIC behind examples/streaming-nic.ts and
 * examples/stale-rx.ts.
 *
 * Unlike ring-nic's, this NIC keeps no descriptor ring in host memory. The
 * driver posts one descriptor at a time: it writes the descriptor's bus
 * address to a doorbell (TX_POST or RX_POST), and the device fetches the
 * 16-byte descriptor by DMA into its queue for that direction. The
 * descriptors live in small DMA-pool blocks; the packet buffers they point at
 * are the driver's own streaming mappings. The MAC is in loopback: every
 * frame transmitted comes back on the receive side.
 *
 * The engine works as a real NIC's does:
 * - Every TICK_NS while it has work, it receives the frame that came back on
 *   the loopback into the buffer of the oldest RX descriptor (a DMA write),
 *   and transmits one frame: it reads the TX buffer by DMA and puts it on the
 *   loopback. Each finished descriptor is written back by DMA with its length
 *   and DESC_DONE, and the IRQ raised with the cause in ISR. Descriptors
 *   finish in the order they were posted.
 * - While a descriptor is queued, the device holds it and its buffer: it may
 *   DMA there at any time.
 * - CTRL=0 stops it between two frames, dropping (and no longer holding)
 *   what it had queued; STATUS says whether it runs. A descriptor posted
 *   while it is stopped is dropped.
 *
 * For the examples' checks the model keeps a copy of every frame it wrote
 * into an RX buffer (`written`): what the CPU should read after its sync.
 */

import { defineStruct, DeviceModel } from "boundscope";
import type { MmioWidth, Timer } from "boundscope";

export const STREAMING_NIC_ID = { vendor: 0x1234, device: 0x10f5 } as const;

/** BAR 0 registers: 32-bit, but for the two 64-bit doorbells. */
export const SNIC_REG = {
  /** SNIC_CTRL_ENABLE starts the engine; 0 stops it. */
  CTRL: 0x00,
  /** SNIC_STATUS_RUNNING while the engine runs. */
  STATUS: 0x04,
  /** Interrupt cause, SNIC_ISR_TX | SNIC_ISR_RX; write ones to clear. */
  ISR: 0x08,
  /** Doorbell (64-bit): the bus address of a TX descriptor to fetch. */
  TX_POST: 0x10,
  /** Doorbell (64-bit): the bus address of an RX descriptor to fetch. */
  RX_POST: 0x18,
} as const;

export const SNIC_CTRL_ENABLE = 1;
export const SNIC_STATUS_RUNNING = 1;
export const SNIC_ISR_TX = 1;
export const SNIC_ISR_RX = 2;

/** One descriptor, TX or RX: the driver's and the device's shared layout. */
export const SnicDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
/** Set in `status` by the device when it has finished with the descriptor. */
export const SNIC_DESC_DONE = 1;

/** How long the engine takes for one frame each way, ns. */
export const SNIC_TICK_NS = 500;
/** The longest frame the MAC handles; longer descriptors are cut short. */
export const SNIC_MAX_FRAME = 9018;

/** A descriptor the device fetched and has not finished. */
interface Queued {
  /** The descriptor's own bus address, to write it back. */
  readonly desc: bigint;
  /** The buffer it points at. */
  readonly addr: bigint;
  readonly len: number;
}

export class StreamingNicModel extends DeviceModel {
  #running = false;
  #isr = 0;
  #tick: Timer | undefined;
  readonly #tx: Queued[] = [];
  readonly #rx: Queued[] = [];
  /** Frames on the loopback, transmitted and not yet received. */
  readonly #loopback: Uint8Array[] = [];
  /** Frames the engine transmitted. */
  sent = 0;
  /** Frames it received into an RX buffer. */
  received = 0;
  /** Frames it dropped for want of an RX buffer. */
  missed = 0;
  /** A copy of each frame written into an RX buffer, in order: what the CPU should read. */
  readonly written: Uint8Array[] = [];

  constructor(name?: string) {
    super({ ...STREAMING_NIC_ID, ...(name === undefined ? {} : { name }), bars: [0x100] });
  }

  /** True while the engine runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Frames the device has taken and not finished: queued for TX, or on the loopback. */
  get inFlight(): number {
    return this.#tx.length + this.#loopback.length;
  }

  /** RX descriptors queued, waiting for a frame. */
  get rxQueued(): number {
    return this.#rx.length;
  }

  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number {
    switch (offset) {
      case SNIC_REG.STATUS:
        return this.#running ? SNIC_STATUS_RUNNING : 0;
      case SNIC_REG.ISR:
        return this.#isr;
      default:
        return 0;
    }
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    switch (offset) {
      case SNIC_REG.CTRL:
        return (Number(value) & SNIC_CTRL_ENABLE) !== 0 ? this.#start() : this.#stop();
      case SNIC_REG.ISR:
        this.#isr &= ~Number(value);
        return;
      case SNIC_REG.TX_POST:
      case SNIC_REG.RX_POST:
        return this.#post(offset === SNIC_REG.TX_POST ? this.#tx : this.#rx, BigInt(value), offset === SNIC_REG.TX_POST ? "TX" : "RX");
    }
  }

  override removed(): void {
    this.#running = false;
  }

  #start(): void {
    this.#running = true;
  }

  #stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#tick?.cancel();
    this.#tick = undefined;
    for (const queue of [this.#tx, this.#rx]) {
      for (const entry of queue.splice(0)) this.#release(entry);
    }
    this.#loopback.length = 0;
  }

  /** Fetches the descriptor at `desc` into `queue`, and holds it and its buffer. */
  #post(queue: Queued[], desc: bigint, what: "TX" | "RX"): void {
    if (!this.#running) return;
    const bytes = this.dmaRead(desc, SnicDesc.size);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const entry: Queued = { desc, addr: SnicDesc.get(view, 0, "addr"), len: Math.min(SnicDesc.get(view, 0, "len"), SNIC_MAX_FRAME) };
    this.hold(desc, SnicDesc.size, `a ${what} descriptor`);
    if (entry.len > 0) this.hold(entry.addr, entry.len, `a ${what} buffer`);
    queue.push(entry);
    this.#kick();
  }

  #release(entry: Queued): void {
    this.unhold(entry.desc, SnicDesc.size);
    if (entry.len > 0) this.unhold(entry.addr, entry.len);
  }

  #kick(): void {
    if (!this.#running || this.#tick !== undefined || this.inFlight === 0) return;
    this.#tick = this.after(SNIC_TICK_NS, () => {
      this.#tick = undefined;
      this.#step();
      this.#kick();
    });
  }

  /** One engine step: receive one frame from the loopback, transmit one. */
  #step(): void {
    let cause = 0;
    const frame = this.#loopback.shift();
    if (frame !== undefined) {
      const buffer = this.#rx.shift();
      if (buffer === undefined) {
        this.missed++;
      } else {
        const len = Math.min(frame.length, buffer.len);
        if (len > 0) this.dmaWrite(buffer.addr, frame.subarray(0, len));
        this.written.push(frame.slice(0, len));
        this.#finish(buffer, len);
        this.received++;
        cause |= SNIC_ISR_RX;
      }
    }
    const out = this.#tx.shift();
    if (out !== undefined) {
      if (out.len > 0) this.#loopback.push(this.dmaRead(out.addr, out.len));
      this.#finish(out, out.len);
      this.sent++;
      cause |= SNIC_ISR_TX;
    }
    if (cause !== 0) {
      this.#isr |= cause;
      this.raiseIrq();
    }
  }

  /** Writes a finished descriptor back with its length and DESC_DONE, and lets go of it. */
  #finish(entry: Queued, len: number): void {
    const bytes = new Uint8Array(SnicDesc.size);
    SnicDesc.write(new DataView(bytes.buffer), 0, { addr: entry.addr, len, flags: 0, status: SNIC_DESC_DONE });
    this.dmaWrite(entry.desc, bytes);
    this.#release(entry);
  }
}
