/**
 * The simulated machine: a coherent memory pool, a PCI bus with hot-plug, an
 * IOMMU, a virtual clock, and the DMA checker. Drivers run on it as they
 * would on hardware. This file only wires the layers together: the checker
 * and the event log hear what the hardware and the driver core say.
 *
 * # Invariants
 * - One clock, pool, IOMMU, checker and event log per machine; nothing is
 *   shared between machines.
 * - `memory`, `iommu` and `dmaDebug` are read-only faces: allocation, faults
 *   and reports stay with the machine's own parts.
 *
 * Kernel: none; this is the computer the kernel would run on, as QEMU
 * provides one.
 *
 * @module
 */

import { describe, fail } from "./internal/error.js";
import type { Report } from "./driver/ports.js";
import { VirtualClock } from "./sim/clock.js";
import type { Clock } from "./sim/clock.js";
import { Hardware } from "./sim/hardware.js";
import { IommuUnit } from "./sim/iommu.js";
import type { Iommu, IommuMode } from "./sim/iommu.js";
import { DEFAULT_HEAP_BYTES, KernelHeap } from "./sim/heap.js";
import { CoherentPool } from "./sim/memory.js";
import { PhysicalMemory } from "./sim/phys.js";
import { DEFAULT_SWIOTLB_BYTES, SLOT, Swiotlb } from "./sim/swiotlb.js";
import type { Memory, MemoryOptions } from "./sim/memory.js";
import { PciBus } from "./sim/pci.js";
import { BlockLayer } from "./subsys/block.js";
import type { Block } from "./subsys/block.js";
import { NetworkStack } from "./subsys/net.js";
import type { Net } from "./subsys/net.js";
import { DEFAULT_WATCHDOG_NS } from "./sim/watchdog.js";
import { Injector } from "./sim/fault-inject.js";
import type { FaultInjection } from "./sim/fault-inject.js";
import type { Bus } from "./sim/pci.js";
import { AuxiliaryBusCore } from "./core/auxiliary.js";
import type { AuxiliaryBus } from "./core/auxiliary.js";
import { DeviceLinks } from "./core/device-link.js";
import type { Links } from "./core/device-link.js";
import { DmaChecker } from "./observe/dma-debug.js";
import type { DmaDebug, DmaDebugMode } from "./observe/dma-debug.js";
import { EventLog } from "./observe/events.js";
import type { EventListener, MachineEvent } from "./observe/events.js";
import { traceOf } from "./observe/trace.js";
import type { Trace } from "./observe/trace.js";

/**
 * What `new Machine()` takes. Every field is optional.
 *
 * @example
 * ```ts
 * const options: MachineOptions = { memory: { bytes: 16 << 20 }, iommu: "strict", dmaDebug: "throw" };
 * const machine = new Machine(options);
 * ```
 */
export interface MachineOptions {
  /** The coherent pool: 64 MiB of 4 KiB pages unless told otherwise. */
  readonly memory?: MemoryOptions;
  /** Default `"passthrough"`: bus addresses are physical, as with no IOMMU. `"strict"` gives each device its own IOVA space and blocks stray DMA. */
  readonly iommu?: IommuMode;
  /** Default `"report"`: violations are recorded, not thrown. */
  readonly dmaDebug?: DmaDebugMode;
  /**
   * Default `true`: devices snoop the CPU's caches, so a missing sync changes
   * nothing you can see (the checker still names it). `false`: a machine
   * whose DMA is not cache-coherent, as many Arm and RISC-V systems: the
   * device sees the CPU's writes only after sync-for-device, and the CPU sees
   * the device's only after sync-for-cpu. A device model may say otherwise
   * for itself (`DeviceModelSpec.dmaCoherent`).
   */
  readonly dmaCoherent?: boolean;
  /**
   * Default 10 s (`10_000_000_000`): how long, in virtual ns, the driver core
   * waits for a `remove()`, a task, a devres release or a subsystem call in
   * flight before the watchdog reports it (violation `hung`) and the core
   * goes on without it. When nothing else moves time, the watchdog does,
   * once the machine has been idle for 100 ms of real time. A positive whole
   * number of ns (`EINVAL` otherwise).
   */
  readonly watchdogNs?: number;
  /**
   * The platform's DMA addressing limit, in bits (the kernel's
   * `bus_dma_limit`: an interconnect narrower than the device). Every
   * driver's DMA mask is capped to it, so memory above it is reached through
   * swiotlb bounce slots, or an IOVA below it under a strict IOMMU. Default:
   * none (64). A whole number from 24 to 64 (`EINVAL` otherwise).
   */
  readonly dmaLimitBits?: number;
  /**
   * A test harness's say in the machine: which allocations, mappings and IRQ
   * requests fail, and the scheduling points where it may step in
   * (`boundscope/testing`'s explorer uses it). See {@link FaultInjection}.
   */
  readonly faultInjection?: FaultInjection;
}

/**
 * What `boundscope/testing` (src/testing/, the layer above) reads of a
 * machine that its public faces do not show: the hardware (interrupt lines,
 * the clock's internals). Not exported from the package entry.
 *
 * @internal
 */
export interface MachineInternals {
  readonly hw: Hardware;
}

const internals = new WeakMap<Machine, MachineInternals>();

/**
 * The internals of a machine, for `src/testing/` only.
 *
 * @internal
 */
export function machineInternals(machine: Machine): MachineInternals {
  const found = internals.get(machine);
  // Covers a value that is not a Machine, from `any` or a cast in a test.
  if (found === undefined) throw fail("EINVAL", `boundscope/testing: expected a Machine, got ${describe(machine)}.`);
  return found;
}

/**
 * A simulated machine.
 *
 * @example
 * ```ts
 * const driver = defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe: () => ({}) });
 * const machine = new Machine({ memory: { bytes: 16 << 20 } });
 * await machine.pci.register(driver);
 * const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * await machine.settled();
 * console.log(dev.state, machine.memory.stats());
 * ```
 */
export class Machine {
  readonly memory: Memory;
  readonly pci: Bus;
  /** The auxiliary bus: devices drivers create in probe, and the drivers that bind to them. */
  readonly auxiliary: AuxiliaryBus;
  /** Device links: a consumer probed only after, and unbound before, its supplier. */
  readonly links: Links;
  readonly #pciBus: PciBus;
  readonly #auxBus: AuxiliaryBusCore;
  /** The network stack: the interfaces drivers registered, and packet sockets on them. */
  readonly net: Net;
  /** The block layer: the disks drivers registered. */
  readonly block: Block;
  readonly dmaDebug: DmaDebug;
  /** The IOMMU's mode and the faults it recorded. */
  readonly iommu: Iommu;
  /** Virtual time. Device models schedule on it; `run` advances it. */
  readonly clock: Clock;
  readonly #clock = new VirtualClock();
  readonly #log = new EventLog(() => this.#clock.now);
  readonly #hw: Hardware;

  constructor(options: MachineOptions = {}) {
    // Covers JavaScript callers and `any`: MachineOptions is an object type only.
    if (typeof options !== "object" || options === null) {
      throw fail("EINVAL", `Machine: options must be an object, got ${describe(options)}.`);
    }
    const { memory = {}, iommu = "passthrough", dmaDebug = "report", dmaCoherent = true, watchdogNs = DEFAULT_WATCHDOG_NS, dmaLimitBits = 64, faultInjection } = options;
    if (iommu !== "strict" && iommu !== "passthrough") {
      throw fail("EINVAL", `Machine: iommu must be "strict" or "passthrough", got ${describe(iommu)}.`);
    }
    if (dmaDebug !== "report" && dmaDebug !== "throw" && dmaDebug !== "off") {
      throw fail("EINVAL", `Machine: dmaDebug must be "report", "throw" or "off", got ${describe(dmaDebug)}.`);
    }
    // Covers `memory: null` from JavaScript, which the optional type does not.
    if (typeof memory !== "object" || memory === null) {
      throw fail("EINVAL", `Machine: memory must be an object, got ${describe(memory)}.`);
    }
    if (typeof dmaCoherent !== "boolean") {
      throw fail("EINVAL", `Machine: dmaCoherent must be true or false, got ${describe(dmaCoherent)}.`);
    }
    // Covers times from JavaScript or arithmetic: `number` admits NaN, Infinity, fractions and negatives, and 0 would report every wait.
    if (typeof watchdogNs !== "number" || !Number.isSafeInteger(watchdogNs) || watchdogNs <= 0) {
      throw fail("EINVAL", `Machine: watchdogNs must be a positive whole number of ns of virtual time, got ${describe(watchdogNs)}.`);
    }
    // Covers JavaScript callers and arithmetic: `number` admits fractions and widths no bus has.
    if (typeof dmaLimitBits !== "number" || !Number.isInteger(dmaLimitBits) || dmaLimitBits < 24 || dmaLimitBits > 64) {
      throw fail("EINVAL", `Machine: dmaLimitBits must be a whole number of bits from 24 to 64, got ${describe(dmaLimitBits)}.`);
    }
    const injector = new Injector(faultInjection, () => this.#clock.now);
    const phys = new PhysicalMemory();
    const pool = new CoherentPool(memory, phys);
    const { heapBytes = Math.ceil(DEFAULT_HEAP_BYTES / pool.pageSize) * pool.pageSize, swiotlbBytes = DEFAULT_SWIOTLB_BYTES } = memory;
    // Covers sizes from JavaScript or arithmetic: `number` cannot say "whole pages".
    if (typeof heapBytes !== "number" || !Number.isSafeInteger(heapBytes) || heapBytes <= 0 || heapBytes % pool.pageSize !== 0 || heapBytes > 2 ** 40) {
      throw fail("EINVAL", `Machine: memory.heapBytes must be a positive whole number of ${pool.pageSize}-byte pages, at most 1 TiB, got ${describe(heapBytes)}.`);
    }
    if (typeof swiotlbBytes !== "number" || !Number.isSafeInteger(swiotlbBytes) || swiotlbBytes <= 0 || swiotlbBytes % SLOT !== 0 || swiotlbBytes > 0x3800_0000) {
      throw fail("EINVAL", `Machine: memory.swiotlbBytes must be a positive whole number of ${SLOT}-byte slots, below 896 MiB, got ${describe(swiotlbBytes)}.`);
    }
    const heap = new KernelHeap(heapBytes, pool.pageSize, phys, pool.base + pool.capacity);
    const swiotlb = new Swiotlb(swiotlbBytes, phys);
    // A read-only face: the pool's allocate and release stay with the core.
    this.memory = Object.freeze({
      capacity: pool.capacity,
      pageSize: pool.pageSize,
      base: pool.base,
      stats: () => pool.stats(),
      fragmentation: () => pool.fragmentation(),
      heap: () => heap.stats(),
      swiotlb: () => swiotlb.stats(),
    });
    const clock = this.#clock;
    // A read-only face: running the clock is the machine's (`run`), stopping it the hardware's.
    this.clock = Object.freeze({
      get now() {
        return clock.now;
      },
      get pending() {
        return clock.pending;
      },
      after: (ns: number, run: () => void) => clock.after(ns, run),
    });
    const checker = new DmaChecker(dmaDebug, () => clock.now, this.#log.add);
    // Read-only faces: what a user reaches through `machine` cannot report
    // facts or record faults, even through a cast.
    this.dmaDebug = Object.freeze({
      mode: checker.mode,
      enabled: checker.enabled,
      get violations() {
        return checker.violations;
      },
      get repeats() {
        return checker.repeats;
      },
    });
    const unit = new IommuUnit(iommu);
    this.iommu = Object.freeze({
      mode: unit.mode,
      get faults() {
        return unit.faults;
      },
    });
    const report: Report = checker.check;
    this.#hw = new Hardware(clock, phys, pool, heap, swiotlb, unit, this.#log.add, report, checker.enabled, dmaCoherent, watchdogNs, () => this.#log.events.at(-1)?.seq ?? 0, injector, dmaLimitBits);
    const net = new NetworkStack();
    const block = new BlockLayer();
    this.#hw.subsystems = { net, block };
    this.net = net.face;
    this.block = block.face;
    const links = new DeviceLinks(this.#log.add);
    this.#auxBus = new AuxiliaryBusCore(this.#log.add, links);
    this.#pciBus = new PciBus(this.#hw, links, this.#auxBus);
    this.pci = this.#pciBus;
    this.auxiliary = this.#auxBus.face;
    this.links = links.face;
    internals.set(this, { hw: this.#hw });
  }

  /**
   * Every event with its virtual and wall time, exportable to the Chrome
   * trace-event format and drawn as a lifecycle timeline.
   *
   * @example
   * ```ts
   * import { writeFileSync } from "node:fs";
 * writeFileSync("timeline.svg", machine.trace.toSvg());
   * ```
   */
  get trace(): Trace {
    return this.#trace;
  }

  readonly #trace: Trace = traceOf(() => this.#log.events);

  /** What the core did, oldest first (the newest 10,000 events). */
  get events(): readonly MachineEvent[] {
    return this.#log.events;
  }

  /**
   * Calls `listener` with every event from now on, as it happens. Returns the
   * function that stops it. A listener that throws is ignored.
   *
   * @example
   * ```ts
   * const stop = machine.subscribe((e) => e.kind === "state" && console.log(e.device, e.detail));
   * ```
   */
  subscribe(listener: EventListener): () => void {
    // Covers a listener from `any` that is not a function.
    if (typeof listener !== "function") {
      throw fail("EINVAL", `subscribe: expected a function, got ${describe(listener)}.`);
    }
    return this.#log.subscribe(listener);
  }

  /**
   * Advances virtual time by `ns`, firing device events in order and letting
   * driver code run between them.
   *
   * @example
   * ```ts
   * await machine.run(10_000);   // 10 µs of simulated time
   * ```
   */
  async run(ns: number): Promise<void> {
    await this.#clock.run(ns);
    this.#rethrow();
  }

  /**
   * Fires device events until none is left. `EBUSY` after `maxEvents` events
   * if a device keeps itself busy forever; use `run(ns)` for those.
   */
  async runUntilIdle(maxEvents?: number): Promise<void> {
    await this.#clock.runUntilIdle(maxEvents);
    this.#rethrow();
  }

  /** Throws the first error a device raised while the clock ran (the rest are dropped with it). */
  #rethrow(): void {
    const [first] = this.#hw.takeDeviceErrors();
    if (first !== undefined) throw first;
  }

  /**
   * Unplugs every device and waits until all is at rest, so `await using`
   * leaves nothing bound. Rejects with the first error an unplug gave
   * (in `dmaDebug: "throw"` mode, a violation), after all are done, or
   * with `ETIMEDOUT` if a device's queue never comes to rest (as `settled`).
   *
   * @example
   * ```ts
   * declare class NicModel extends DeviceModel { constructor(); }   // a model of your device
   * {
   *   await using machine = new Machine();
   *   machine.pci.plug(new NicModel());
   * } // every device unplugged here: remove(), devres release, zombie
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const stuck: unknown[] = [];
    await this.settled().catch((error: unknown) => stuck.push(error));
    // Roots only: a child goes with its parent (and auxiliary devices with their parent's driver).
    const unplugs = Promise.allSettled(this.pci.devices.filter((dev) => this.pci.parent(dev) === undefined).map((dev) => this.pci.unplug(dev)));
    const done = await this.#hw.watchdog.wait(unplugs, { patient: true });
    await this.settled().catch((error: unknown) => stuck.push(error));
    if (!done) throw this.#busy("asyncDispose");
    const failed = (await unplugs).find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    if (stuck.length > 0) throw stuck[0];
  }

  /**
   * Resolves once every queued probe and remove on every device has
   * finished. Every wait of a removal is watched (`watchdogNs`), so removals
   * always finish; a `probe()` that never returns would hold its device's
   * queue for good: once the watchdog's time has passed with no other wait
   * of the core pending, this rejects with `ETIMEDOUT`, naming the devices
   * still busy, rather than hang.
   *
   * @example
   * ```ts
   * machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
   * await machine.settled();   // its probe has finished
   * ```
   */
  async settled(): Promise<void> {
    if (await this.#hw.watchdog.wait(this.#rest(), { patient: true })) return;
    throw this.#busy("settled");
  }

  /** Resolves once neither bus has a state change queued or running (one may start the other's). */
  async #rest(): Promise<void> {
    do {
      await this.#pciBus.settled();
      await this.#auxBus.core.settled();
    } while (this.#pciBus.busy || this.#auxBus.core.busy);
  }

  /** The error of a wait for rest that the watchdog ended. */
  #busy(operation: string): Error {
    const busy = this.pci.devices.filter((dev) => dev.state === "probing" || dev.state === "unbinding").map((dev) => `${dev.name} (${dev.state})`);
    return fail(
      "ETIMEDOUT",
      `${operation}: the machine did not come to rest within ${this.#hw.watchdog.timeoutNs} ns of virtual time after the last wait of the driver core; still busy: ${busy.length > 0 ? busy.join(", ") : "an unplugged device"}. A probe() that never returns holds its device for good: make it finish, or fail, in bounded time.`,
    );
  }
}
