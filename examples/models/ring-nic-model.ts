/**
 * ring-nic-model: the simulated NIC behind examples/ring-nic.ts, and, with
 * `{ msix: true }`, behind examples/net-nic.ts (two MSI-X vectors instead of
 * the one legacy line).
 *
 * A TX and an RX descriptor ring in host memory, doorbell registers in BAR 0,
 * one interrupt, and a DMA engine on the virtual clock. The MAC is in
 * loopback: every frame the engine transmits comes back on the receive side.
 *
 * The engine works as a real NIC's does:
 * - A doorbell write (TX_TAIL, RX_TAIL) makes the device fetch the newly
 *   posted descriptors by DMA into its descriptor cache.
 * - Every TICK_NS while it has work, it receives the frame that came back on
 *   the loopback into the next cached RX buffer, and transmits one frame: it
 *   reads the packet buffer by DMA and puts it on the loopback. Each finished
 *   descriptor is written back with DESC_DONE, and the IRQ raised with the
 *   cause in ISR.
 * - CTRL=0 stops it between two frames, dropping what it had cached; STATUS
 *   says whether it runs. While it runs, the device holds both ring bases.
 */

import { defineStruct, DeviceModel } from "boundscope";
import type { MmioWidth, Timer } from "boundscope";

export const RING_NIC_ID = { vendor: 0x1234, device: 0x10e1 } as const;
/** The MSI-X variant (`new RingNicModel(name, { msix: true })`), driven by examples/net-nic.ts. */
export const NET_NIC_ID = { vendor: 0x1234, device: 0x10e2 } as const;
/** Its MSI-X vectors: one per direction. */
export const MSIX_RX = 0;
export const MSIX_TX = 1;

/** BAR 0 registers: 32-bit, but for the two 64-bit ring bases. */
export const NIC_REG = {
  /** CTRL_ENABLE starts the engine; 0 stops it. */
  CTRL: 0x00,
  /** STATUS_RUNNING while the engine runs. */
  STATUS: 0x04,
  /** Interrupt cause, ISR_TX | ISR_RX; write ones to clear. */
  ISR: 0x08,
  /** Bus address of the TX ring (64-bit). Writing it resets the ring's indices. */
  TX_RING: 0x10,
  /** Descriptors in the TX ring. */
  TX_SIZE: 0x18,
  /** Doorbell: the driver posted TX descriptors up to here (exclusive). */
  TX_TAIL: 0x1c,
  /** The next TX descriptor the device will finish. */
  TX_HEAD: 0x20,
  RX_RING: 0x28,
  RX_SIZE: 0x30,
  RX_TAIL: 0x34,
  RX_HEAD: 0x38,
} as const;

export const CTRL_ENABLE = 1;
export const STATUS_RUNNING = 1;
export const ISR_TX = 1;
export const ISR_RX = 2;

/** One descriptor, TX or RX: the driver's and the device's shared layout. */
export const NicDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
/** Set in `status` by the device when it has finished with the descriptor. */
export const DESC_DONE = 1;

/** How long the engine takes for one frame each way, ns. */
export const TICK_NS = 500;
/** The longest frame the MAC handles; longer descriptors are cut short. */
export const MAX_FRAME = 9018;

interface Cached {
  readonly index: number;
  readonly addr: bigint;
  readonly len: number;
}

class Ring {
  base = 0n;
  size = 0;
  head = 0;
  tail = 0;
  /** Descriptors up to here (exclusive) are in the cache or done. */
  fetched = 0;
  readonly cache: Cached[] = [];

  reset(): void {
    this.head = this.tail = this.fetched = 0;
    this.cache.length = 0;
  }
  next(index: number): number {
    return (index + 1) % this.size;
  }
  descriptor(index: number): bigint {
    return this.base + BigInt(index * NicDesc.size);
  }
}

export class RingNicModel extends DeviceModel {
  #running = false;
  #isr = 0;
  #tick: Timer | undefined;
  readonly #tx = new Ring();
  readonly #rx = new Ring();
  /** Frames on the loopback, transmitted and not yet received. */
  readonly #loopback: Uint8Array[] = [];
  /** Frames the engine transmitted. */
  sent = 0;
  /** Frames it received into an RX buffer. */
  received = 0;
  /** Frames it dropped for want of an RX buffer. */
  missed = 0;

  /** True when the device signals by MSI-X: vector 0 for RX, vector 1 for TX (see net-nic.ts). */
  readonly msixVectors: boolean;

  /**
   * `msix: true`: the same NIC with a 2-entry MSI-X table and its own ids
   * (`NET_NIC_ID`), one vector per direction. `intx`: the legacy line it
   * raises, shared with every device plugged with the same one.
   */
  constructor(name?: string, { msix = false, intx }: { msix?: boolean; intx?: number } = {}) {
    super({ ...(msix ? NET_NIC_ID : RING_NIC_ID), ...(name === undefined ? {} : { name }), bars: [0x100], ...(msix ? { msix: 2 } : {}), ...(intx === undefined ? {} : { intx }) });
    this.msixVectors = msix;
  }

  /** True while the engine runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Frames the device has taken and not finished: cached for TX, or on the loopback. */
  get inFlight(): number {
    return this.#tx.cache.length + this.#loopback.length;
  }

  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number | bigint {
    switch (offset) {
      case NIC_REG.STATUS:
        return this.#running ? STATUS_RUNNING : 0;
      case NIC_REG.ISR:
        return this.#isr;
      case NIC_REG.TX_HEAD:
        return this.#tx.head;
      case NIC_REG.RX_HEAD:
        return this.#rx.head;
      default:
        return 0;
    }
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    const n = Number(value);
    switch (offset) {
      case NIC_REG.CTRL:
        return (n & CTRL_ENABLE) !== 0 ? this.#start() : this.#stop();
      case NIC_REG.ISR:
        this.#isr &= ~n;
        return;
      case NIC_REG.TX_RING:
      case NIC_REG.RX_RING: {
        if (this.#running) return; // ignored while the engine runs
        const ring = offset === NIC_REG.TX_RING ? this.#tx : this.#rx;
        ring.base = BigInt(value);
        ring.reset();
        return;
      }
      case NIC_REG.TX_SIZE:
      case NIC_REG.RX_SIZE:
        if (!this.#running) (offset === NIC_REG.TX_SIZE ? this.#tx : this.#rx).size = n;
        return;
      case NIC_REG.TX_TAIL:
      case NIC_REG.RX_TAIL:
        return this.#doorbell(offset === NIC_REG.TX_TAIL ? this.#tx : this.#rx, n);
    }
  }

  override removed(): void {
    this.#running = false;
  }

  #start(): void {
    if (this.#running || this.#tx.size === 0 || this.#rx.size === 0) return;
    this.#running = true;
    this.hold(this.#tx.base, this.#tx.size * NicDesc.size, "the TX descriptor ring");
    this.hold(this.#rx.base, this.#rx.size * NicDesc.size, "the RX descriptor ring");
    this.#fetch(this.#tx);
    this.#fetch(this.#rx);
    this.#kick();
  }

  #stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#tick?.cancel();
    this.#tick = undefined;
    this.unhold(this.#tx.base);
    this.unhold(this.#rx.base);
    for (const ring of [this.#tx, this.#rx]) {
      ring.cache.length = 0;
      ring.fetched = ring.head;
    }
    this.#loopback.length = 0;
  }

  #doorbell(ring: Ring, tail: number): void {
    if (ring.size === 0) return;
    ring.tail = tail % ring.size;
    if (!this.#running) return;
    this.#fetch(ring);
    this.#kick();
  }

  /** Reads every newly posted descriptor into the cache. */
  #fetch(ring: Ring): void {
    while (ring.fetched !== ring.tail) {
      const bytes = this.dmaRead(ring.descriptor(ring.fetched), NicDesc.size);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      ring.cache.push({ index: ring.fetched, addr: NicDesc.get(view, 0, "addr"), len: Math.min(NicDesc.get(view, 0, "len"), MAX_FRAME) });
      ring.fetched = ring.next(ring.fetched);
    }
  }

  #kick(): void {
    if (!this.#running || this.#tick !== undefined || this.inFlight === 0) return;
    this.#tick = this.after(TICK_NS, () => {
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
      const buffer = this.#rx.cache.shift();
      if (buffer === undefined) {
        this.missed++;
      } else {
        const len = Math.min(frame.length, buffer.len);
        if (len > 0) this.dmaWrite(buffer.addr, frame.subarray(0, len));
        this.#finish(this.#rx, buffer, len);
        this.received++;
        cause |= ISR_RX;
      }
    }
    const out = this.#tx.cache.shift();
    if (out !== undefined) {
      if (out.len > 0) this.#loopback.push(this.dmaRead(out.addr, out.len));
      this.#finish(this.#tx, out, out.len);
      this.sent++;
      cause |= ISR_TX;
    }
    if (cause === 0) return;
    this.#isr |= cause;
    if (!this.msixVectors) return this.raiseIrq();
    // MSI-X: one message per cause, on its own vector; nothing to acknowledge.
    this.#isr = 0;
    if ((cause & ISR_RX) !== 0) this.raiseMsi(MSIX_RX);
    if ((cause & ISR_TX) !== 0) this.raiseMsi(MSIX_TX);
  }

  /** Writes a finished descriptor back with DESC_DONE. */
  #finish(ring: Ring, entry: Cached, len: number): void {
    const bytes = new Uint8Array(NicDesc.size);
    NicDesc.write(new DataView(bytes.buffer), 0, { addr: entry.addr, len, flags: 0, status: DESC_DONE });
    this.dmaWrite(ring.descriptor(entry.index), bytes);
    ring.head = ring.next(entry.index);
  }
}
