/**
 * accel-model: a PCI accelerator with one DMA engine, for
 * examples/aux-parent.ts. The driver points the engine at a buffer, sets a
 * key and rings the doorbell; 20 µs later the engine has read the buffer,
 * XORed each byte with the key and written it back, STATUS reads DONE, and
 * it raises its interrupt.
 * While a job runs the engine holds the buffer, as a real engine would.
 */

import { DeviceModel } from "boundscope";
import type { MmioWidth } from "boundscope";

export const ACCEL_ID = { vendor: 0x1b36, device: 0x0042 } as const;

/** BAR 0 registers. */
export const ACCEL_REG = {
  /** Bus address of the buffer (64-bit). */
  SRC: 0x00,
  /** Its length in bytes. */
  LEN: 0x08,
  /** The byte each data byte is XORed with. */
  KEY: 0x0c,
  /** Write 1: start a job. */
  DOORBELL: 0x10,
  /** IDLE, BUSY or DONE. */
  STATUS: 0x14,
  /** 1: the engine runs; 0: halted (a running job is dropped). */
  CTRL: 0x18,
} as const;

export const ACCEL_STATUS = { IDLE: 0, BUSY: 1, DONE: 2 } as const;

/** How long one job takes, ns. */
export const ACCEL_JOB_NS = 20_000;

export class AccelModel extends DeviceModel {
  #src = 0n;
  #len = 0;
  #key = 0;
  #status: number = ACCEL_STATUS.IDLE;
  #enabled = false;
  /** Jobs the engine finished. */
  jobs = 0;

  constructor(name?: string) {
    super({ ...ACCEL_ID, ...(name === undefined ? {} : { name }), bars: [0x1000] });
  }

  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number | bigint {
    if (offset === ACCEL_REG.STATUS) return this.#status;
    if (offset === ACCEL_REG.CTRL) return this.#enabled ? 1 : 0;
    return 0;
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    if (offset === ACCEL_REG.SRC) this.#src = BigInt(value);
    else if (offset === ACCEL_REG.LEN) this.#len = Number(value);
    else if (offset === ACCEL_REG.KEY) this.#key = Number(value) & 0xff;
    else if (offset === ACCEL_REG.CTRL) this.#control(Number(value) === 1);
    else if (offset === ACCEL_REG.DOORBELL && this.#enabled && this.#status !== ACCEL_STATUS.BUSY) this.#start();
  }

  #control(enable: boolean): void {
    this.#enabled = enable;
    if (!enable && this.#status === ACCEL_STATUS.BUSY) {
      // Halted mid-job: the job is dropped and the buffer let go at once.
      this.unhold(this.#src, this.#len);
      this.#status = ACCEL_STATUS.IDLE;
    }
  }

  #start(): void {
    const src = this.#src;
    const len = this.#len;
    const key = this.#key;
    this.#status = ACCEL_STATUS.BUSY;
    this.hold(src, len, "accel job buffer");
    this.after(ACCEL_JOB_NS, () => {
      if (this.#status !== ACCEL_STATUS.BUSY || this.#src !== src) return;
      const data = this.dmaRead(src, len);
      for (let i = 0; i < data.length; i++) data[i] = data[i]! ^ key;
      this.dmaWrite(src, data);
      this.unhold(src, len);
      this.#status = ACCEL_STATUS.DONE;
      this.jobs++;
      this.raiseIrq();
    });
  }
}
