/**
 * Simulated hardware: a PCI function with BARs of MMIO registers, an IRQ line
 * and a DMA port. Subclass {@link DeviceModel} to write one; plug an instance
 * with `machine.pci.plug(model)`.
 *
 * The model's DMA port reads and writes machine memory by bus address, through
 * the device's IOMMU domain, and only while the driver has bus mastering on.
 * Every transfer is watched by the DMA checker. On surprise removal the model
 * stops: its timers are cancelled, MMIO reads return all-ones, writes are
 * dropped, and its DMA port is dead.
 *
 * @module
 */

import type { Timer } from "./clock.js";
import type { DeviceCore } from "./device.js";
import { deviceDma } from "./dma.js";
import { describe, fail } from "./error.js";
import { isId } from "./driver.js";
import type { Hardware } from "./internal/hardware.js";

/**
 * An MMIO access width in bytes.
 *
 * @example
 * ```ts
 * class Regs extends DeviceModel {
 *   override mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint {
 *     return width === 8 ? 0xffff_0000_0000n : 1;   // read64 gets a bigint
 *   }
 * }
 * ```
 */
export type MmioWidth = 1 | 2 | 4 | 8;

/**
 * What a model is: its ids, an optional name, and its BAR sizes in bytes.
 *
 * @example
 * ```ts
 * const spec: DeviceModelSpec = { vendor: 0x1af4, device: 0x1000, name: "nic0", bars: [0x1000] };
 * const dev = machine.pci.plug(new DeviceModel(spec));   // BAR 0: 4 KiB of registers reading zero
 * ```
 */
export interface DeviceModelSpec {
  readonly vendor: number;
  readonly device: number;
  readonly name?: string;
  /** BAR sizes in bytes (powers of two, at least 16); `bars[i]` is BAR i. Default none. */
  readonly bars?: readonly number[];
}

/**
 * An address range the device holds, e.g. a ring base in a running engine.
 * A model declares one with its protected `hold()`; the DMA checker reports
 * memory freed while held, and holds left after unbind.
 *
 * @example
 * ```ts
 * class Engine extends DeviceModel {
 *   override mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void {
 *     if (offset === 0x10) this.hold(BigInt(value), 4096, "tx ring");   // the engine DMAs there now
 *     if (offset === 0x14) this.unhold(BigInt(value));
 *   }
 * }
 * ```
 */
export interface Hold {
  readonly address: number;
  readonly length: number;
  readonly what: string;
}

/** A power of two of at least 16 bytes; tested on bigints, since `&` truncates numbers to 32 bits. */
function isBarSize(size: unknown): size is number {
  return Number.isSafeInteger(size) && (size as number) >= 16 && (BigInt(size as number) & (BigInt(size as number) - 1n)) === 0n;
}

/**
 * A simulated PCI function. Override `mmioRead`/`mmioWrite` to give it
 * registers; use the protected services (`after`, `dmaRead`, `dmaWrite`,
 * `raiseIrq`, `hold`) to make it work.
 *
 * @example
 * ```ts
 * class Timer0 extends DeviceModel {
 *   #count = 0;
 *   constructor() { super({ vendor: 0x1234, device: 0x0001, bars: [0x100] }); }
 *   override mmioRead(bar: number, offset: number): number { return this.#count; }
 *   override mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void {
 *     this.after(1_000, () => { this.#count++; this.raiseIrq(); });
 *   }
 * }
 * const dev = machine.pci.plug(new Timer0());
 * ```
 */
export class DeviceModel {
  readonly vendor: number;
  readonly device: number;
  readonly name: string | undefined;
  readonly bars: readonly number[];
  #host: { core: DeviceCore; hw: Hardware } | undefined;
  readonly #timers = new Set<Timer>();

  constructor(spec: DeviceModelSpec) {
    if (typeof spec !== "object" || spec === null) {
      throw fail("EINVAL", `DeviceModel: expected { vendor, device, name?, bars? }, got ${describe(spec)}.`);
    }
    const { vendor, device, name, bars = [] } = spec;
    if (!isId(vendor) || !isId(device)) {
      throw fail("EINVAL", `DeviceModel: vendor and device must be whole numbers from 0 to 0xffff, got ${describe(vendor)} and ${describe(device)}.`);
    }
    if (name !== undefined && (typeof name !== "string" || name.trim() === "")) {
      throw fail("EINVAL", `DeviceModel: the name must be a non-empty string, got ${describe(name)}.`);
    }
    // Checked on a dense copy: every() skips the holes of a sparse array.
    const sizes: unknown[] = Array.isArray(bars) ? Array.from(bars) : [];
    if (!Array.isArray(bars) || sizes.length > 6 || !sizes.every(isBarSize)) {
      throw fail("EINVAL", `DeviceModel: bars must be at most 6 sizes, each a power of two of at least 16 bytes.`);
    }
    this.vendor = vendor;
    this.device = device;
    this.name = name;
    this.bars = Object.freeze(sizes as number[]);
  }

  /** Handles a driver's MMIO read. Default: reads as zero. */
  mmioRead(_bar: number, _offset: number, _width: MmioWidth): number | bigint {
    return 0;
  }

  /** Handles a driver's MMIO write. Default: ignored. */
  mmioWrite(_bar: number, _offset: number, _width: MmioWidth, _value: number | bigint): void {}

  /** Told when the driver turns bus mastering on or off. */
  busMasterChanged(_enabled: boolean): void {}

  /** Told once, when the device is surprise-removed; its timers are already cancelled. */
  removed(): void {}

  /** Virtual time now, ns. */
  protected get now(): number {
    return this.#attached("now").hw.clock.now;
  }

  /** True while bus mastering is on: DMA works only then. */
  protected get busMaster(): boolean {
    return this.#attached("busMaster").core.busMaster;
  }

  /** False once the device was unplugged. */
  protected get present(): boolean {
    return this.#attached("present").core.present;
  }

  /** Runs `work` `ns` from now, unless the device is removed first. */
  protected after(ns: number, work: () => void): Timer {
    const { hw } = this.#attached("after");
    // Checked now: the wrapper below is always a function, so the clock cannot see a bad `work`.
    if (typeof work !== "function") throw fail("EINVAL", `DeviceModel.after: expected a function, got ${describe(work)}.`);
    const timer = hw.clock.after(ns, () => {
      this.#timers.delete(timer);
      try {
        work();
      } catch (error) {
        hw.deviceError(this.#attached("after").core, error);
      }
    });
    this.#timers.add(timer);
    return timer;
  }

  /** Reads `length` bytes at bus address `address` (all-ones where blocked). */
  protected dmaRead(address: bigint, length: number): Uint8Array {
    const { core, hw } = this.#attached("dmaRead");
    return deviceDma(core, hw, address, length, "read", undefined);
  }

  /**
   * Reads `into.length` bytes at bus address `address` into `into`, and
   * returns it (all-ones where blocked). The same as `dmaRead`, without
   * allocating: for models that move bulk data.
   */
  protected dmaReadInto(address: bigint, into: Uint8Array): Uint8Array {
    const { core, hw } = this.#attached("dmaReadInto");
    return deviceDma(core, hw, address, into.length, "read", undefined, into);
  }

  /** Writes `data` at bus address `address`; false when blocked. */
  protected dmaWrite(address: bigint, data: Uint8Array): boolean {
    const { core, hw } = this.#attached("dmaWrite");
    if (!(data instanceof Uint8Array)) {
      throw fail("EINVAL", `dmaWrite: ${core.describe()}: the data must be a Uint8Array, got ${describe(data)}.`);
    }
    return deviceDma(core, hw, address, data.length, "write", data).length > 0;
  }

  /** Raises the device's interrupt: the driver's handler runs now, if one is registered. */
  protected raiseIrq(): void {
    this.#attached("raiseIrq").core.raiseIrq();
  }

  /**
   * Declares that the device holds `[address, address + length)`: it may DMA
   * there at any time (a ring base loaded into a running engine). Freeing that
   * memory while bus mastering is on is a violation.
   */
  protected hold(address: bigint, length: number, what: string): void {
    const { core } = this.#attached("hold");
    // A bad hold would surface only at unbind, where the checker turns it into a
    // bigint: catch it here, where the model made it.
    if (typeof address !== "bigint" || address < 0n || address >= 1n << 64n) {
      throw fail("EINVAL", `hold: ${core.describe()}: the bus address must be a bigint from 0 to 2**64-1, got ${describe(address)}.`);
    }
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw fail("EINVAL", `hold: ${core.describe()}: the length must be a positive whole number of bytes, got ${describe(length)}.`);
    }
    if (typeof what !== "string") {
      throw fail("EINVAL", `hold: ${core.describe()}: what the device holds is named by a string, got ${describe(what)}.`);
    }
    core.holds.set(Number(address), { address: Number(address), length, what });
  }

  /** The device no longer holds the range that starts at `address`. */
  protected unhold(address: bigint): void {
    this.#attached("unhold").core.holds.delete(Number(address));
  }

  /**
   * Connects the model to its device. Once only.
   *
   * @internal `bus.plug` calls it; models and drivers never do.
   */
  attach(core: DeviceCore, hw: Hardware): void {
    if (this.#host !== undefined) {
      throw fail("EBUSY", `plug: this ${this.constructor.name} is already plugged in as ${this.#host.core.name}. Make a new model for each device.`);
    }
    this.#host = { core, hw };
  }

  /** Stops the model for good: surprise removal. */
  detach(): void {
    for (const timer of this.#timers) timer.cancel();
    this.#timers.clear();
    this.notify("removed", () => this.removed());
  }

  /**
   * Calls one of the model's own hooks. A model that throws from a hook is a
   * broken simulation, not a broken driver: it is logged, and the core goes on.
   * @internal
   */
  notify(hook: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      const host = this.#host;
      host?.hw.log.add("model-failed", host.core, host.core.binding?.driver.name, `${this.constructor.name}.${hook}: ${error instanceof Error ? error.message : String(error)}`, error);
    }
  }

  #attached(operation: string): { core: DeviceCore; hw: Hardware } {
    if (this.#host === undefined) {
      throw fail("EINVAL", `DeviceModel.${operation}: the model is not plugged in yet.`);
    }
    return this.#host;
  }
}
