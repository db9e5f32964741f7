/**
 * edu-model: a trivial device model after QEMU's "edu" teaching device, for
 * examples/dma-sample.ts. One BAR of registers: an identification register
 * and a liveness check that returns the inverse of what was written. No DMA,
 * no interrupt: the sample only needs a real device to bind to.
 */

import { DeviceModel } from "boundscope";
import type { MmioWidth } from "boundscope";

/** The PCI ids of QEMU's edu device. */
export const EDU_ID = { vendor: 0x1234, device: 0x11e8 } as const;

/** BAR 0 registers. */
export const EDU_REG = {
  /** Read-only: 0xRRxx00ed, RR the major revision. */
  ID: 0x00,
  /** Write a value, read back its bitwise inverse. */
  LIVENESS: 0x04,
} as const;

/** What the identification register reads: revision 1.0 of the edu device. */
export const EDU_IDENT = 0x010000ed;

export class EduModel extends DeviceModel {
  #liveness = 0;

  constructor(name?: string) {
    super({ ...EDU_ID, ...(name === undefined ? {} : { name }), bars: [0x1000] });
  }

  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number {
    if (offset === EDU_REG.ID) return EDU_IDENT;
    if (offset === EDU_REG.LIVENESS) return ~this.#liveness >>> 0;
    return 0;
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    if (offset === EDU_REG.LIVENESS) this.#liveness = Number(value) >>> 0;
  }
}
