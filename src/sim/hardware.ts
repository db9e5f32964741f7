/**
 * The simulated hardware: what the machine's parts share ({@link Hardware})
 * and each device's own state ({@link DeviceHardware}): present or gone, bus
 * mastering, the addresses it holds, its interrupt line, its IOMMU domain and
 * the DMA memory mapped for it. This is the platform beneath the driver
 * model: `DeviceHardware` implements the driver core's `HostDevice` (and so
 * the driver model's `DevicePort`) and the model's `ModelHost`.
 *
 * Kernel: the PCI function itself (`struct pci_dev`'s hardware side), and
 * the DMA ops that allocate and map for it (`dma_direct_alloc`,
 * `iommu_dma_alloc`).
 *
 * # Invariants
 * - Once `present` is false it stays false: MMIO and DMA find no device.
 * - A device's DMA works only with bus mastering on. Bus mastering is the
 *   command register's bus-master bit of its config space
 *   (`config-space.ts`): there is no other copy of it.
 * - A function-level reset stops the device at once: its model's timers are
 *   cancelled and it holds nothing any more.
 * - Every live coherent allocation of the device is in `#regions` with its
 *   owner, until freed or reclaimed; its pages are mapped in `domain`.
 * - Holds are kept only while present, counted per range: with two in-flight
 *   uses of one buffer, the first unhold leaves the other.
 * - Every live coherent allocation and streaming segment of the device is a
 *   window: what the checker compares each device transfer with.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import type { Site } from "../internal/site.js";
import { OrderedMap } from "../internal/sorted.js";
import { hex4 } from "../driver/device.js";
import type {
  DataDirection,
  DmaDirection,
  DmaMemory,
  DmaRegionFact,
  Emit,
  EventRecord,
  FactSource,
  FactSubject,
  HeapMemory,
  Hold,
  IrqLine,
  MapPiece,
  MmioWidth,
  Report,
  SegmentLimits,
  StreamMapping,
} from "../driver/ports.js";
import type { Subsystems } from "../driver/subsystems.js";
import type { HostDevice } from "../core/device.js";
import type { Timer, VirtualClock } from "./clock.js";
import { ConfigSpace } from "./config-space.js";
import type { ConfigWidth } from "./config-space.js";
import { deviceDma } from "./device-dma.js";
import { IrqChip } from "./irq-chip.js";
import type { DmaTarget } from "./device-dma.js";
import { mapStreaming, StreamMap } from "./dma-map.js";
import type { MapHost, Window } from "./dma-map.js";
import type { HeapObject, KernelHeap } from "./heap.js";
import type { Domain, IommuUnit } from "./iommu.js";
import type { Block, CoherentPool } from "./memory.js";
import type { DeviceModel, ModelControl, ModelHost } from "./model.js";
import { connectModel } from "./model.js";
import type { PhysicalMemory } from "./phys.js";
import type { Swiotlb } from "./swiotlb.js";
import { DEFAULT_WATCHDOG_NS, Watchdog } from "./watchdog.js";
import { Injector } from "./fault-inject.js";

/** What one machine's parts share. */
export class Hardware {
  /** Errors device models raised in clock events, not yet handed to anyone. */
  readonly #deviceErrors: { device: object; error: unknown }[] = [];
  /** Bindings made on this machine so far: the last one's number (`DevicePort.nextBindingSerial`). */
  bindings = 0;
  /** The interrupt controller: every line and vector of the machine. */
  readonly irqChip = new IrqChip();

  constructor(
    readonly clock: VirtualClock,
    readonly phys: PhysicalMemory,
    readonly pool: CoherentPool,
    readonly heap: KernelHeap,
    readonly swiotlb: Swiotlb,
    readonly iommu: IommuUnit,
    readonly emit: Emit,
    readonly report: Report,
    /** True unless the checker is off. */
    readonly checking: boolean,
    /** Whether devices snoop the CPU's caches unless their model says otherwise. */
    readonly dmaCoherent: boolean,
    /** Virtual ns a wait of the core may take before the watchdog reports it. */
    watchdogNs: number = DEFAULT_WATCHDOG_NS,
    /** A count that grows with everything the machine does (events logged): the watchdog's sign of progress. */
    activity: () => number = () => 0,
    /** The test harness's say: injected failures and scheduling points (`fault-inject.ts`). */
    readonly injector: Injector = new Injector(undefined, () => clock.now),
    /** The platform's DMA addressing limit in bits; 64 for none. */
    readonly dmaLimitBits: number = 64,
  ) {
    this.watchdog = new Watchdog(clock, watchdogNs, activity);
    if (injector.listening) clock.onFire = () => injector.point("event", `device event #${clock.fired}`, undefined);
  }

  /** How long the core waits, in virtual time, for what a driver runs (`sim/watchdog.ts`). */
  readonly watchdog: Watchdog;

  /** The machine's network stack and block layer; the machine sets them once it has made them. */
  subsystems: Subsystems | undefined;

  /**
   * A device's clock event threw (a "throw"-mode violation, or a broken
   * model). The error belongs to whoever runs the machine or tears that
   * device down, not to another driver that happens to be driving the clock
   * (sleeping in its probe): keep it, and stop the clock at this instant.
   */
  deviceError(device: object, error: unknown): void {
    this.#deviceErrors.push({ device, error });
    this.clock.stop();
  }

  /** Takes the kept errors: those of `device`, or all when none is named. */
  takeDeviceErrors(device?: object): unknown[] {
    const taken: unknown[] = [];
    for (let i = this.#deviceErrors.length - 1; i >= 0; i--) {
      const entry = this.#deviceErrors[i]!;
      if (device !== undefined && entry.device !== device) continue;
      taken.unshift(entry.error);
      this.#deviceErrors.splice(i, 1);
    }
    return taken;
  }
}

/** A live coherent allocation of a device. */
export interface Region {
  readonly memory: DmaMemory;
  readonly block: Block;
  readonly owner: object;
  /** The owner's driver, for the event log. */
  readonly driver: string;
  /** What the device may reach of it. */
  readonly window: Window;
}

/** A range the device holds, and how many times it was declared. */
interface HoldEntry {
  readonly hold: Hold;
  count: number;
}

/** One simulated PCI function. */
export class DeviceHardware implements HostDevice, ModelHost, DmaTarget, MapHost {
  present = true;
  /** Its config space: the command register's bus-master bit is `busMaster`. */
  readonly config: ConfigSpace;
  readonly domain: Domain;
  /** True when the device snoops the CPU's caches (`dev->dma_coherent`). */
  readonly coherent: boolean;
  /** Address ranges the device holds, by start address and length, declared by its model, with a count of in-flight uses. */
  readonly #holds = new Map<string, HoldEntry>();
  /** What the device may reach, by bus address: coherent allocations and streaming segments. */
  readonly #windows = new OrderedMap<Window[]>();
  /** The widest span of any window added: how far below an address a window holding it may start. */
  #widest = 0;
  /** The legacy (INTx) line: its own, or shared by the devices plugged with the same `intx`. */
  readonly legacyIrq: IrqLine;
  /** The MSI-X or MSI vectors while enabled. */
  #vectors: readonly IrqLine[] | undefined;
  /** Live coherent allocations by bus address. */
  readonly #regions = new Map<number, Region>();
  /** When the last logged DMA read and write went (see `device-dma.ts`). */
  lastDmaRead = -1;
  lastDmaWrite = -1;
  readonly #control: ModelControl;

  constructor(
    readonly hw: Hardware,
    readonly name: string,
    readonly model: DeviceModel,
    /** Which driver is bound now, and which was last: the driver core knows. */
    readonly drivers: { readonly bound: () => string | undefined; readonly last: () => string | undefined },
  ) {
    this.domain = hw.iommu.domain(hw.pool.pageSize);
    this.coherent = model.dmaCoherent ?? hw.dmaCoherent;
    this.legacyIrq = hw.irqChip.legacyLine(model.intx);
    this.config = new ConfigSpace(model, {
      busMasterChanged: (on) => this.#notify("busMasterChanged", () => this.model.busMasterChanged(on)),
      functionReset: () => this.#functionReset(),
      // The model's own hooks: what they throw reaches the driver's access, as from mmioRead.
      hookRead: (offset, width, stored) => this.model.configRead(offset, width, stored),
      hookWrite: (offset, width, value) => this.model.configWrite(offset, width, value),
    });
    this.#control = connectModel(model, this);
  }

  /** Bus mastering: the command register's bus-master bit. */
  get busMaster(): boolean {
    return this.config.busMaster;
  }

  get swiotlb(): Swiotlb {
    return this.hw.swiotlb;
  }

  addWindow(window: Window): void {
    const list = this.#windows.get(window.address);
    if (list === undefined) this.#windows.set(window.address, [window]);
    else list.push(window);
    if (window.span > this.#widest) this.#widest = window.span;
  }

  removeWindow(window: Window): void {
    const list = this.#windows.get(window.address);
    if (list === undefined) return;
    const i = list.indexOf(window);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#windows.delete(window.address);
  }

  /**
   * The window that holds bus address `address`, preferring one that holds
   * the whole transfer: of those, the one starting nearest below the
   * address, and the newest there. Windows may overlap (memory mapped twice
   * in passthrough, an sg table of overlapping pieces), so a window starting
   * lower may hold the transfer when the nearest does not, or does not
   * reach the address at all.
   */
  windowAt(address: number, length: number): Window | undefined {
    let partial: Window | undefined;
    for (let list = this.#windows.floor(address); list !== undefined; ) {
      const start = list[0]!.address;
      // Nothing starting here or lower reaches the address.
      if (start + this.#widest <= address) break;
      for (let i = list.length - 1; i >= 0; i--) {
        const w = list[i]!;
        if (address + length <= w.address + w.span) return w;
        if (address < w.address + w.span) partial ??= w;
      }
      list = start > 0 ? this.#windows.floor(start - 1) : undefined;
    }
    return partial;
  }

  /** True if a hold the device declared covers `address`. */
  holdsAddress(address: bigint): boolean {
    for (const { hold } of this.#holds.values()) if (address >= hold.address && address < hold.address + BigInt(hold.length)) return true;
    return false;
  }

  /** The driver bound now, if any. */
  bound(): string | undefined {
    return this.drivers.bound();
  }

  /** The driver bound now, or else the last one: who answers for what the device does. */
  driver(): string | undefined {
    return this.drivers.bound() ?? this.drivers.last();
  }

  get vendor(): number {
    return this.model.vendor;
  }

  get device(): number {
    return this.model.device;
  }

  /** The subsystem ids and class code, as config space holds them: what id tables may also match on (`PciIdentity`). */
  get subvendor(): number {
    return this.config.read(0x2c, 2);
  }

  get subdevice(): number {
    return this.config.read(0x2e, 2);
  }

  get classCode(): number {
    return this.config.read(0x08, 4) >>> 8;
  }

  get bars(): readonly number[] {
    return this.model.bars;
  }

  get now(): number {
    return this.hw.clock.now;
  }

  get checking(): boolean {
    return this.hw.checking;
  }

  describe(): string {
    return `device ${this.name} (${hex4(this.vendor)}:${hex4(this.device)})`;
  }

  emit(event: Omit<EventRecord, "device">, driver?: string): void {
    this.hw.emit(event, this.name, driver);
  }

  readonly report: Report = (fact) => this.hw.report(fact);

  /** Who a fact about what the device itself did is about. */
  subject(): FactSubject {
    return { device: this.name, instance: this, driver: this.driver(), who: this.describe() };
  }

  // ------------------------------------------------------------ the driver's side

  mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint {
    // With memory decoding off the device does not answer: the read completes as all-ones.
    if (!this.config.memoryEnabled) return width === 8 ? 0xffff_ffff_ffff_ffffn : 2 ** (8 * width) - 1;
    return this.model.mmioRead(bar, offset, width);
  }

  mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void {
    if (!this.config.memoryEnabled) return;
    this.model.mmioWrite(bar, offset, width, value);
  }

  configRead(offset: number, width: ConfigWidth): number {
    return this.config.read(offset, width);
  }

  configWrite(offset: number, width: ConfigWidth, value: number): void {
    this.config.write(offset, width, value);
  }

  busyWait(ns: number): void {
    this.hw.clock.spin(ns);
  }

  setBusMaster(on: boolean): void {
    this.config.setBusMaster(on);
    this.#notify("busMasterChanged", () => this.model.busMasterChanged(on));
  }

  irqCapacity(kind: "msix" | "msi"): number {
    return kind === "msix" ? this.model.msix : this.model.msi;
  }

  get msiVectors(): readonly IrqLine[] | undefined {
    return this.#vectors;
  }

  enableMsi(kind: "msix" | "msi", count: number): readonly IrqLine[] {
    // Covers a caller that skipped the driver model's checks: the vectors are enabled once, within the table.
    if (this.#vectors !== undefined || !(count >= 1 && count <= this.irqCapacity(kind))) {
      throw fail("EINVAL", `enableMsi: ${this.describe()}: cannot enable ${count} ${kind} vectors now.`);
    }
    this.#vectors = this.hw.irqChip.vectors(kind, count);
    if (kind === "msix") this.config.setMsix(true, false);
    return this.#vectors;
  }

  disableMsi(): void {
    this.#vectors = undefined;
    this.config.setMsix(false, false);
  }

  get dmaLimitBits(): number {
    return this.hw.dmaLimitBits;
  }

  nextBindingSerial(): number {
    return ++this.hw.bindings;
  }

  injectedFailure(kind: "alloc" | "map" | "irq", what: string): Error | undefined {
    return this.hw.injector.fail(kind, what, this.name);
  }

  schedulePoint(kind: "sleep" | "callback", what: string): void {
    const { injector } = this.hw;
    if (injector.listening) injector.point(kind, what, this.name);
  }

  allocCoherent(owner: { describe(): string; readonly driver: string }, size: number, maskBits: number, site: Site | undefined): DmaMemory {
    const injected = this.hw.injector.fail("alloc", `allocCoherent(${size})`, this.name);
    if (injected !== undefined) throw injected;
    const { pool } = this.hw;
    const strict = this.domain.mode === "strict";
    // Behind a strict IOMMU the mask bounds the IOVA, not the physical page.
    const block = pool.allocate(owner, size, strict ? 64 : maskBits, site, this.now);
    const span = block.pages * pool.pageSize;
    const iova = this.domain.map([{ phys: block.phys, length: span }], maskBits, { read: true, write: true })?.[0];
    if (iova === undefined) {
      pool.release(block);
      throw fail("ENOMEM", `allocCoherent(${size}): ${owner.describe()}: no free IOVA range of ${block.pages} pages lies below its ${maskBits}-bit DMA mask.`);
    }
    const memory: DmaMemory = { handle: iova, buffer: block.buffer, bytes: size, span, allocSite: block.allocSite, allocTime: block.allocTime };
    const label = `coherent allocation of ${size} bytes at bus address 0x${iova.toString(16)}`;
    const window: Window = {
      address: iova,
      length: size,
      span,
      stream: undefined,
      region: () => ({ address: BigInt(iova), size, span, label, allocSite: block.allocSite, allocTime: block.allocTime }),
    };
    this.addWindow(window);
    this.#regions.set(iova, { memory, block, owner, driver: owner.driver, window });
    this.emit({ kind: "alloc", driver: owner.driver, resource: "coherent", detail: `${size} bytes`, address: BigInt(iova), size });
    return memory;
  }

  freeCoherent(memory: DmaMemory, about: FactSource, site: Site | undefined): Error | undefined {
    const region = this.#regions.get(memory.handle);
    // The facts are built only when someone hears them: the checker is on, or the device holds something.
    const start = BigInt(memory.handle);
    const end = start + BigInt(memory.span);
    const held = this.#holds.size === 0 ? [] : this.activeHolds().filter((h) => h.address < end && h.address + BigInt(h.length) > start);
    const fact = (): DmaRegionFact => ({ address: BigInt(memory.handle), size: memory.bytes, span: memory.span, label: about.label, allocSite: memory.allocSite, allocTime: memory.allocTime, freeSite: site, freeTime: this.now });
    const error = held.length > 0 ? this.report({ ...about.subject(), seen: "free-held", region: fact(), held }) : undefined;
    if (region !== undefined) this.#free(region);
    if (this.checking) this.report({ ...about.subject(), seen: "freed", region: fact() });
    return error;
  }

  heapAlloc(owner: { describe(): string }, size: number, allocator: "kmalloc" | "vmalloc"): HeapMemory {
    const { hw } = this;
    const injected = hw.injector.fail("alloc", `${allocator}(${size})`, this.name);
    if (injected !== undefined) throw injected;
    return hw.heap.allocate(owner, size, allocator, this.now, (mapping, at) => {
      // Safe: every mapping of a heap object is a StreamMap (mapStreaming below).
      const stream = mapping as StreamMap;
      return hw.report({ ...stream.subject(), seen: "cpu-access", region: stream.region(), ownerSite: stream.ownerSite, ownerTime: stream.ownerTime, site: at });
    });
  }

  heapFree(memory: HeapMemory): void {
    // Safe: the platform made every HeapMemory the driver model holds (heapAlloc above).
    this.hw.heap.release(memory as HeapObject, memory.allocator === "kmalloc" ? "kfree" : "vfree");
  }

  mapStreaming(
    owner: { describe(): string; readonly driver: string; readonly subject: () => FactSubject },
    kind: "single" | "sg",
    pieces: readonly MapPiece[],
    direction: DataDirection,
    maskBits: number,
    limits: SegmentLimits,
    site: Site | undefined,
  ): StreamMapping {
    // Covers what the types cannot see: KernelBuffer carries no machine, so one machine's buffer can reach another's driver.
    for (const piece of pieces) {
      // Safe: the platform made every HeapMemory the driver model holds (heapAlloc above, on some machine).
      if ((piece.memory as HeapObject).heap !== this.hw.heap) {
        throw fail("EINVAL", `${kind === "single" ? "mapSingle" : "mapSg"}: ${owner.describe()}: ${piece.memory.label} belongs to another machine's memory. A device maps only memory of its own machine.`);
      }
    }
    const injected = this.hw.injector.fail("map", kind === "single" ? "mapSingle" : "mapSg", this.name);
    if (injected !== undefined) throw injected;
    return mapStreaming(this, owner, kind, pieces, direction, maskBits, limits, site);
  }

  syncStreaming(mapping: StreamMapping, forCpu: boolean, offset: number, length: number, site: Site | undefined): void {
    // Safe: the platform made every StreamMapping the driver model holds (mapStreaming above).
    (mapping as StreamMap).sync(forCpu, offset, length, site);
  }

  unmapStreaming(mapping: StreamMapping, site: Site | undefined): void {
    // Safe: as above.
    (mapping as StreamMap).unmap(site);
  }

  sleep(ns: number): Promise<void> {
    return this.hw.clock.sleep(ns);
  }

  get subsystems(): Subsystems {
    // Covers a Hardware made without a machine around it: none is, so this is a bug in boundscope.
    if (this.hw.subsystems === undefined) throw new Error("boundscope internal error: the machine has no subsystems yet.");
    return this.hw.subsystems;
  }

  watch(work: Promise<unknown>, waitsOn: string, subject: FactSubject): Promise<boolean> {
    return this.hw.watchdog.wait(work, {
      hung: (waitedNs) => {
        this.emit({ kind: "hung", driver: subject.driver, waitsOn, waitedNs, detail: `${waitsOn}: not finished after ${waitedNs} ns` });
        const error = this.report({ ...subject, seen: "hung", waitsOn, waitedNs });
        // "throw" mode: no driver frame waits here; keep it for whoever tears the device down or runs the machine.
        if (error !== undefined) this.hw.deviceError(this, error);
      },
      late: (waitedNs) => this.emit({ kind: "finished-late", driver: subject.driver, waitsOn, waitedNs, detail: `${waitsOn}: finished ${waitedNs} ns after the wait began` }),
    });
  }

  // ------------------------------------------------------------ the driver core's side

  holds(): readonly Hold[] {
    return this.present ? [...this.#holds.values()].map((e) => e.hold) : [];
  }

  activeHolds(): readonly Hold[] {
    return this.present && this.busMaster ? this.holds() : [];
  }

  reclaim(owner: object): readonly { readonly address: bigint; readonly size: number }[] {
    const taken: { address: bigint; size: number }[] = [];
    for (const region of [...this.#regions.values()]) {
      if (region.owner !== owner) continue;
      taken.push({ address: BigInt(region.block.phys), size: region.block.bytes });
      this.#free(region);
    }
    return taken;
  }

  elapse(ns: number): Promise<void> {
    return this.hw.clock.elapse(ns);
  }

  takeErrors(): unknown[] {
    return this.hw.takeDeviceErrors(this);
  }

  remove(): void {
    this.present = false;
    this.#holds.clear();
    this.#control.remove();
    this.#notify("removed", () => this.model.removed());
  }

  // ------------------------------------------------------------ the model's side

  after(ns: number, run: () => void): Timer {
    return this.hw.clock.after(ns, run);
  }

  failed(error: unknown): void {
    this.hw.deviceError(this, error);
  }

  dma(address: bigint, length: number, direction: DmaDirection, data: Uint8Array | undefined, into?: Uint8Array): Uint8Array {
    return deviceDma(this, address, length, direction, data, into);
  }

  /** The device raised its legacy line: the chip runs the handlers on it. Silent while MSI or MSI-X is on. */
  raiseIrq(): void {
    if (!this.present || this.config.intxDisabled) return;
    if (this.#vectors !== undefined) return this.unclaimed(`the legacy line was raised while ${this.#vectors[0]!.kind === "msix" ? "MSI-X" : "MSI"} is enabled; the device may not use it then`);
    this.hw.irqChip.raise(this.legacyIrq, this);
  }

  /** The device sent MSI(-X) vector `vector`: dropped unless enabled and allocated. */
  raiseMsi(vector: number): void {
    if (!this.present) return;
    const vectors = this.#vectors;
    if (vectors === undefined) return this.unclaimed(`vector ${vector} was raised while MSI-X and MSI are disabled`);
    const line = vectors[vector];
    if (line === undefined) return this.unclaimed(`vector ${vector} was raised, but the driver allocated ${vectors.length}: the entry is masked`);
    if (line.kind === "msix" && (!this.config.msixEnabled || this.config.msixMasked)) return this.unclaimed(`vector ${vector} was raised while config space has MSI-X ${this.config.msixEnabled ? "masked" : "disabled"}`);
    this.hw.irqChip.raise(line, this);
  }

  /** A raise reached no handler. It only matters while a driver is bound; with none, it goes nowhere. */
  unclaimed(why: string): void {
    const bound = this.bound();
    if (bound !== undefined) this.emit({ kind: "irq-unhandled", driver: bound, detail: why });
  }

  /** The chip disabled a line nobody cared for. */
  lineDisabled(irq: number): void {
    this.emit({ kind: "irq-disabled", driver: this.driver(), detail: `irq ${irq}: nobody cared; the line is disabled` });
  }

  /** Declares one more in-flight use of `[address, address + length)`: each needs its own unhold. */
  hold(address: bigint, length: number, what: string): void {
    const key = `${address}:${length}`;
    const entry = this.#holds.get(key);
    if (entry !== undefined) entry.count++;
    else this.#holds.set(key, { hold: Object.freeze({ address, length, what }), count: 1 });
  }

  /** Ends one in-flight use of the range at `address` (of `length`, or the oldest there); the hold goes with its last use. */
  unhold(address: bigint, length?: number): void {
    for (const [key, entry] of this.#holds) {
      if (entry.hold.address !== address || (length !== undefined && entry.hold.length !== length)) continue;
      if (--entry.count === 0) this.#holds.delete(key);
      return;
    }
  }

  /** Unmaps and frees a region. */
  #free(region: Region): void {
    const { memory, block } = region;
    this.#regions.delete(memory.handle);
    this.removeWindow(region.window);
    this.domain.unmap(memory.handle, block.pages);
    this.hw.pool.release(block);
    this.emit({ kind: "free", driver: region.driver, resource: "coherent", detail: `${block.bytes} bytes`, address: BigInt(memory.handle), size: block.bytes });
  }

  /**
   * A function-level reset (config space is at its power-on values already):
   * the device stops, forgets what it held, and its model starts over.
   */
  #functionReset(): void {
    this.#holds.clear();
    this.#control.stopTimers();
    this.emit({ kind: "pci-reset", driver: this.bound() });
    this.#notify("reset", () => this.model.reset());
  }

  /**
   * Calls one of the model's own hooks. A model that throws from a hook is a
   * broken simulation, not a broken driver: it is logged, and the core goes on.
   */
  #notify(hook: string, call: () => void): void {
    try {
      call();
    } catch (error) {
      this.emit({ kind: "model-failed", driver: this.bound(), detail: `${this.model.constructor.name}.${hook}: ${error instanceof Error ? error.message : String(error)}`, error });
    }
  }
}
