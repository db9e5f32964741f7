/**
 * Simulated hardware: a PCI function with BARs of MMIO registers, an IRQ line,
 * a DMA port and a config space (`config-space.ts`). Subclass
 * {@link DeviceModel} to write one; plug an instance with
 * `machine.pci.plug(model)`.
 *
 * The model's DMA port reads and writes machine memory by bus address, through
 * the device's IOMMU domain, and only while the driver has bus mastering on.
 * Every transfer is watched by the DMA checker. On surprise removal the model
 * stops: its timers are cancelled, MMIO reads return all-ones, writes are
 * dropped, and its DMA port is dead.
 *
 * Kernel: none; this stands where the hardware would. QEMU's `PCIDevice`
 * with `pci_dma_read`/`pci_dma_write` and `pci_set_irq` is the closest model.
 *
 * # Invariants
 * - A model is connected to one device, once, by the machine only
 *   (`connectModel`). The connection is private state: a subclass cannot
 *   override or read it, so a model never reaches a binding or its token.
 * - After surprise removal the model's timers never fire.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { isId } from "../driver/driver.js";
import type { DmaDirection, MmioWidth } from "../driver/ports.js";
import type { Timer } from "./clock.js";
import { checkCapabilities } from "./config-space.js";
import type { ConfigWidth, PciCapabilitySpec } from "./config-space.js";

/** What a model reaches of its device: the machine's per-device hardware implements it. */
export interface ModelHost {
  readonly name: string;
  describe(): string;
  readonly now: number;
  readonly busMaster: boolean;
  readonly present: boolean;
  /** Schedules `run` on the machine's clock. */
  after(ns: number, run: () => void): Timer;
  /** A clock event of this device threw: keep the error for whoever runs the clock. */
  failed(error: unknown): void;
  /** A device transfer (see `device-dma.ts`). */
  dma(address: bigint, length: number, direction: DmaDirection, data: Uint8Array | undefined, into?: Uint8Array): Uint8Array;
  raiseIrq(): void;
  /** Raises MSI/MSI-X vector `vector` (already checked against the table size). */
  raiseMsi(vector: number): void;
  hold(address: bigint, length: number, what: string): void;
  unhold(address: bigint, length?: number): void;
}

/** What the machine can do to a connected model. */
export interface ModelControl {
  /** Surprise removal: cancels its timers and tells it, once. */
  remove(): void;
  /** A function-level reset: cancels its timers (the caller then calls `reset()`). */
  stopTimers(): void;
}

let connect: (model: DeviceModel, host: ModelHost) => ModelControl;

/** A model's list of timers is swept of fired ones at this length, or at twice what the last sweep kept. */
const TIMER_SWEEP_MIN = 64;

/**
 * Connects `model` to its device, once. Only the machine calls it (it is not
 * exported from the package); `EBUSY` if the model is plugged in already.
 */
export function connectModel(model: DeviceModel, host: ModelHost): ModelControl {
  return connect(model, host);
}

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
  /**
   * Whether the device snoops the CPU's caches (`dev->dma_coherent`).
   * Default: the machine's `dmaCoherent`. A non-coherent device sees the
   * CPU's writes only after sync-for-device, and the CPU sees its writes
   * only after sync-for-cpu.
   */
  readonly dmaCoherent?: boolean;
  /**
   * The MSI-X table size (1 to 2048): the device can raise that many vectors
   * with `raiseMsi(i)` once a driver allocated them (`allocIrqVectors`).
   * Default: no MSI-X capability.
   */
  readonly msix?: number;
  /** The MSI vectors the device can raise (a power of two from 1 to 32). Default: no MSI capability. */
  readonly msi?: number;
  /**
   * The legacy (INTx) interrupt line, 0 to 255: devices plugged with the
   * same line share it, and their drivers must request it `shared`.
   * Default: a line of its own, which no other device shares.
   */
  readonly intx?: number;
  /** The revision id in config space, 0 to 0xff. Default 0. */
  readonly revision?: number;
  /** The 24-bit class code in config space (base class, subclass, programming interface): 0x020000 for an Ethernet controller. Default 0. */
  readonly classCode?: number;
  /**
   * Vendor-specific capabilities for the config space's capability list,
   * after the PCI Express and MSI-X ones: each `{ id: 0x09, bytes }`, the
   * bytes after its 3-byte header. They must fit below 0x100. Read-only to
   * drivers unless the model overrides `configRead`/`configWrite`.
   */
  readonly capabilities?: readonly PciCapabilitySpec[];
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
  /** Whether it snoops the CPU's caches; `undefined`: as the machine says. */
  readonly dmaCoherent: boolean | undefined;
  /** The MSI-X table size; 0 without MSI-X. */
  readonly msix: number;
  /** The MSI vectors it can raise; 0 without MSI. */
  readonly msi: number;
  /** The shared legacy line it was given, if any. */
  readonly intx: number | undefined;
  /** The revision id in config space. */
  readonly revision: number;
  /** The 24-bit class code in config space. */
  readonly classCode: number;
  /** Its vendor-specific capabilities (a frozen copy of the spec's). */
  readonly capabilities: readonly PciCapabilitySpec[];
  #host: ModelHost | undefined;
  /**
   * Its timers that may not have fired yet, cancelled all at once when the
   * device goes. Fired ones are swept out when the list doubles, not one by
   * one as they fire: a set's add and delete on every timer cost the
   * simulator more than the timers themselves.
   */
  #timers: Timer[] = [];
  /** The length at which the next sweep runs. */
  #sweepAt = TIMER_SWEEP_MIN;

  static {
    connect = (model, host) => {
      if (model.#host !== undefined) {
        throw fail("EBUSY", `plug: this ${model.constructor.name} is already plugged in as ${model.#host.name}. Make a new model for each device.`);
      }
      model.#host = host;
      const stopTimers = (): void => {
        // Cancelling a timer that fired already changes nothing.
        for (const timer of model.#timers) timer.cancel();
        model.#timers = [];
        model.#sweepAt = TIMER_SWEEP_MIN;
      };
      return { remove: stopTimers, stopTimers };
    };
  }

  constructor(spec: DeviceModelSpec) {
    // Covers a spec from JavaScript or `any`: DeviceModelSpec is an object type only.
    if (typeof spec !== "object" || spec === null) {
      throw fail("EINVAL", `DeviceModel: expected { vendor, device, name?, bars? }, got ${describe(spec)}.`);
    }
    const { vendor, device, name, bars = [], dmaCoherent, msix, msi, intx, revision = 0, classCode = 0, capabilities } = spec;
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
    // Covers a spec from JavaScript: the type says boolean.
    if (dmaCoherent !== undefined && typeof dmaCoherent !== "boolean") {
      throw fail("EINVAL", `DeviceModel: dmaCoherent must be true or false, got ${describe(dmaCoherent)}.`);
    }
    // Covers a spec from JavaScript or arithmetic: `number` admits fractions, negatives and NaN.
    if (msix !== undefined && !(Number.isInteger(msix) && msix >= 1 && msix <= 2048)) {
      throw fail("EINVAL", `DeviceModel: msix is the MSI-X table size, a whole number from 1 to 2048, got ${describe(msix)}.`);
    }
    if (msi !== undefined && ![1, 2, 4, 8, 16, 32].includes(msi)) {
      throw fail("EINVAL", `DeviceModel: msi is the number of MSI vectors, a power of two from 1 to 32, got ${describe(msi)}.`);
    }
    if (intx !== undefined && !(Number.isInteger(intx) && intx >= 0 && intx <= 255)) {
      throw fail("EINVAL", `DeviceModel: intx is a legacy interrupt line, a whole number from 0 to 255, got ${describe(intx)}.`);
    }
    // Covers a spec from JavaScript or arithmetic: the config space has one byte and three bytes for them.
    if (!(Number.isInteger(revision) && revision >= 0 && revision <= 0xff) || !(Number.isInteger(classCode) && classCode >= 0 && classCode <= 0xff_ffff)) {
      throw fail("EINVAL", `DeviceModel: revision is a whole number from 0 to 0xff and classCode one from 0 to 0xffffff, got ${describe(revision)} and ${describe(classCode)}.`);
    }
    this.capabilities = checkCapabilities(capabilities, msix ?? 0);
    this.revision = revision;
    this.classCode = classCode;
    this.msix = msix ?? 0;
    this.msi = msi ?? 0;
    this.intx = intx;
    this.vendor = vendor;
    this.device = device;
    this.name = name;
    this.dmaCoherent = dmaCoherent;
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

  /**
   * Told at a function-level reset (`pciResetFunction`): go back to the
   * power-on state, forgetting rings and registers. Its timers are already
   * cancelled, bus mastering is off and it holds no memory.
   */
  reset(): void {}

  /**
   * Answers a config read that touches the body of one of its vendor
   * capabilities, or extended config space (0x100 up). `stored` is what
   * config space holds there: the capability's bytes, zero in extended
   * space. Only the bytes inside those areas are taken from the answer.
   * Default: `stored`.
   */
  configRead(_offset: number, _width: ConfigWidth, stored: number): number {
    return stored;
  }

  /** Told of a config write that touches the body of a vendor capability, or extended space. Default: ignored (read-only). */
  configWrite(_offset: number, _width: ConfigWidth, _value: number): void {}

  /** Virtual time now, ns. */
  protected get now(): number {
    return this.#attached("now").now;
  }

  /** True while bus mastering is on: DMA works only then. */
  protected get busMaster(): boolean {
    return this.#attached("busMaster").busMaster;
  }

  /** False once the device was unplugged. */
  protected get present(): boolean {
    return this.#attached("present").present;
  }

  /** Runs `work` `ns` from now, unless the device is removed first. */
  protected after(ns: number, work: () => void): Timer {
    const host = this.#attached("after");
    // Checked now: the wrapper below is always a function, so the clock cannot see a bad `work`.
    // Covers JavaScript models: `work` is typed as a function.
    if (typeof work !== "function") throw fail("EINVAL", `DeviceModel.after: expected a function, got ${describe(work)}.`);
    const timer = host.after(ns, () => {
      try {
        work();
      } catch (error) {
        host.failed(error);
      }
    });
    this.#timers.push(timer);
    if (this.#timers.length >= this.#sweepAt) {
      // Time never goes back, and events fire in time order: a timer due before now has fired or was cancelled.
      const now = host.now;
      this.#timers = this.#timers.filter((t) => t.at >= now);
      this.#sweepAt = Math.max(TIMER_SWEEP_MIN, 2 * this.#timers.length);
    }
    return timer;
  }

  /** Reads `length` bytes at bus address `address` (all-ones where blocked). */
  protected dmaRead(address: bigint, length: number): Uint8Array {
    return this.#attached("dmaRead").dma(address, length, "read", undefined);
  }

  /**
   * Reads `into.length` bytes at bus address `address` into `into`, and
   * returns it (all-ones where blocked). The same as `dmaRead`, without
   * allocating: for models that move bulk data.
   */
  protected dmaReadInto(address: bigint, into: Uint8Array): Uint8Array {
    return this.#attached("dmaReadInto").dma(address, into.length, "read", undefined, into);
  }

  /** Writes `data` at bus address `address`; false when blocked. */
  protected dmaWrite(address: bigint, data: Uint8Array): boolean {
    const host = this.#attached("dmaWrite");
    // Covers a model written in JavaScript, or one that passes an ArrayBuffer or array.
    if (!(data instanceof Uint8Array)) {
      throw fail("EINVAL", `dmaWrite: ${host.describe()}: the data must be a Uint8Array, got ${describe(data)}.`);
    }
    return host.dma(address, data.length, "write", data).length > 0;
  }

  /**
   * Raises the device's legacy interrupt line: the handlers on it run now, if
   * any are requested. While MSI or MSI-X is enabled the device does not use
   * its legacy line, and the raise is dropped.
   */
  protected raiseIrq(): void {
    this.#attached("raiseIrq").raiseIrq();
  }

  /**
   * Sends MSI-X (or MSI) vector `vector`: its handler runs now, if the driver
   * allocated the vector and requested it. While MSI-X is not enabled, or
   * for a vector the driver did not allocate, the message is dropped (and
   * logged as `irq-unhandled` while a driver is bound). `EINVAL` for a vector
   * outside the device's table.
   */
  protected raiseMsi(vector: number): void {
    const host = this.#attached("raiseMsi");
    const size = Math.max(this.msix, this.msi);
    // Covers a model's arithmetic: the index must name an entry of its own table.
    if (!Number.isInteger(vector) || vector < 0 || vector >= size) {
      throw fail(
        "EINVAL",
        size === 0
          ? `raiseMsi: ${host.describe()}: the device has no MSI-X or MSI capability. Give its model \`msix\` (the table size) in its spec.`
          : `raiseMsi: ${host.describe()}: vector must be a whole number from 0 to ${size - 1} (the device's table), got ${describe(vector)}.`,
      );
    }
    host.raiseMsi(vector);
  }

  /**
   * Declares that the device holds `[address, address + length)`: it may DMA
   * there at any time (a ring base loaded into a running engine). Freeing that
   * memory while bus mastering is on is a violation.
   */
  protected hold(address: bigint, length: number, what: string): void {
    const host = this.#attached("hold");
    // A bad hold would surface only at unbind, where the checker turns it into a
    // bigint: catch it here, where the model made it.
    // Covers a model in JavaScript, or addresses computed as numbers: the parameter type says bigint.
    if (typeof address !== "bigint" || address < 0n || address >= 1n << 64n) {
      throw fail("EINVAL", `hold: ${host.describe()}: the bus address must be a bigint from 0 to 2**64-1, got ${describe(address)}.`);
    }
    // Covers lengths from arithmetic: `number` admits fractions, negatives and NaN.
    if (!Number.isSafeInteger(length) || length <= 0) {
      throw fail("EINVAL", `hold: ${host.describe()}: the length must be a positive whole number of bytes, got ${describe(length)}.`);
    }
    if (typeof what !== "string") {
      throw fail("EINVAL", `hold: ${host.describe()}: what the device holds is named by a string, got ${describe(what)}.`);
    }
    host.hold(address, length, what);
  }

  /**
   * One in-flight use of the range at `address` ended. Holds are counted: a
   * range held twice (two transfers in flight on one buffer) stays held
   * until both are unheld. With `length`, only a hold of that length.
   */
  protected unhold(address: bigint, length?: number): void {
    this.#attached("unhold").unhold(address, length);
  }

  #attached(operation: string): ModelHost {
    if (this.#host === undefined) {
      throw fail("EINVAL", `DeviceModel.${operation}: the model is not plugged in yet.`);
    }
    return this.#host;
  }
}
