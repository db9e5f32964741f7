/**
 * The simulated hardware the lifecycle fuzzer plugs in: a small DMA engine in
 * two flavours, and a device with no registers at all.
 *
 * The engine has one BAR of 32-bit registers (and a 64-bit ring base). Once
 * started it holds its ring and, every `period` ns, does one DMA transfer and
 * raises its IRQ: the "tick" engine writes a counter into the ring, the "copy"
 * engine reads the ring's first half and writes it into the second. CTRL=0
 * stops it and releases the ring. Nothing resets it but CTRL=0 or a surprise
 * removal, so an engine a driver forgot to halt keeps running into the next
 * binding, as real hardware does.
 *
 * Every kind, the plain one too, also does the DMA the fuzzer asks of it
 * directly ({@link FuzzDevice}): reads and writes at the bus addresses of
 * the streaming mappings its driver made.
 */

import { DeviceModel } from "../../src/index.js";
import type { MmioWidth, Timer } from "../../src/index.js";

/** The kinds of device the fuzzer plugs. */
export type DeviceKind = "tick" | "copy" | "plain";

/** PCI ids by kind: one vendor, one device id per kind. */
export const FUZZ_IDS: Readonly<Record<DeviceKind, { readonly vendor: number; readonly device: number }>> = {
  tick: { vendor: 0xf022, device: 0x0001 },
  copy: { vendor: 0xf022, device: 0x0002 },
  plain: { vendor: 0xf022, device: 0x0003 },
};

/** True for the kinds with an engine (and BAR 0). */
export function hasEngine(kind: DeviceKind): boolean {
  return kind !== "plain";
}

/** BAR 0 of the engine. */
export const ENGINE_REG = {
  /** Bus address of the ring (64-bit). Ignored while the engine runs. */
  RING: 0x00,
  /** Ring length in bytes. Ignored while the engine runs. */
  LEN: 0x08,
  /** ENGINE_RUN starts the engine; 0 stops it. */
  CTRL: 0x0c,
  /** 1 while the engine runs. */
  STATUS: 0x10,
  /** Interrupt cause; write ones to clear. */
  ISR: 0x14,
  /** Transfers done since plug. */
  COUNT: 0x18,
} as const;

export const ENGINE_RUN = 1;
export const ENGINE_BAR_BYTES = 64;
/** The ring a driver gives its engine, in bytes. */
export const RING_BYTES = 256;
/** How often each engine flavour does a transfer, ns. */
export const ENGINE_PERIOD: Readonly<Record<"tick" | "copy", number>> = { tick: 700, copy: 1_100 };

/** A device whose DMA the fuzzer drives by hand: what a NIC does with the buffers its driver posted. */
export class FuzzDevice extends DeviceModel {
  /** The device writes `data` at `address`; false when blocked. */
  writeAt(address: bigint, data: Uint8Array): boolean {
    return this.dmaWrite(address, data);
  }

  /** The device reads `length` bytes at `address` (all-ones where blocked). */
  readAt(address: bigint, length: number): Uint8Array {
    return this.dmaRead(address, length);
  }
}

/** The plain kind: no registers, DMA only when asked. */
export function plainDevice(): FuzzDevice {
  return new FuzzDevice({ ...FUZZ_IDS.plain });
}

export class FuzzEngine extends FuzzDevice {
  #running = false;
  #base = 0n;
  #length = 0;
  #timer: Timer | undefined;
  #isr = 0;
  /** Transfers done. */
  transfers = 0;

  constructor(readonly flavour: "tick" | "copy") {
    super({ ...FUZZ_IDS[flavour], bars: [ENGINE_BAR_BYTES] });
  }

  get running(): boolean {
    return this.#running;
  }

  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number | bigint {
    switch (offset) {
      case ENGINE_REG.STATUS:
        return this.#running ? 1 : 0;
      case ENGINE_REG.ISR:
        return this.#isr;
      case ENGINE_REG.COUNT:
        return this.transfers >>> 0;
      default:
        return 0;
    }
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    switch (offset) {
      case ENGINE_REG.RING:
        if (!this.#running) this.#base = BigInt(value);
        return;
      case ENGINE_REG.LEN:
        if (!this.#running) this.#length = Number(value);
        return;
      case ENGINE_REG.CTRL:
        return (Number(value) & ENGINE_RUN) !== 0 ? this.#start() : this.#stop();
      case ENGINE_REG.ISR:
        this.#isr &= ~Number(value);
        return;
    }
  }

  override removed(): void {
    // The bus cancelled the timers and dropped the holds.
    this.#running = false;
    this.#timer = undefined;
  }

  #start(): void {
    if (this.#running || this.#length === 0) return;
    this.#running = true;
    this.hold(this.#base, this.#length, "the engine's ring");
    this.#schedule();
  }

  #stop(): void {
    if (!this.#running) return;
    this.#running = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    this.unhold(this.#base);
  }

  #schedule(): void {
    this.#timer = this.after(ENGINE_PERIOD[this.flavour], () => {
      // The next transfer first: under dmaDebug "throw" a bad DMA throws out
      // of this one, and hardware does not stop because a checker complained.
      this.#schedule();
      this.#transfer();
    });
  }

  #transfer(): void {
    this.transfers++;
    if (this.flavour === "tick") {
      const at = BigInt((this.transfers * 4) % this.#length);
      const word = new Uint8Array(4);
      new DataView(word.buffer).setUint32(0, this.transfers >>> 0, true);
      this.dmaWrite(this.#base + at, word);
    } else {
      const half = this.#length / 2;
      this.dmaWrite(this.#base + BigInt(half), this.dmaRead(this.#base, half));
    }
    this.#isr |= 1;
    this.raiseIrq();
  }
}
