/**
 * The driver model's ports: what it asks of the device beneath it, and how it
 * says what happened. Types only.
 *
 * Kernel: a `struct device` reaches its hardware through its bus and its DMA
 * ops (`struct bus_type`, `struct dma_map_ops`), and says what happened
 * through tracepoints and dma-debug. Here those are two interfaces the layers
 * above implement: the simulated machine (`src/sim`) implements
 * {@link DevicePort}; the checker and the event log (`src/observe`) hear every
 * {@link DmaFact} and {@link EventRecord}. So the driver model never imports
 * the machine, and the machine never imports the checker: each says facts,
 * and the layer that owns a decision makes it.
 *
 * # Invariants
 * - A fact says what was seen, never what it means: which violation kind it
 *   is, and the words of its message, are the checker's (`observe/dma-debug.ts`).
 * - An event carries structured fields; `detail` is for people, and no code
 *   reads it.
 *
 * @module
 */

import type { Site } from "../internal/site.js";
import type { DeviceState } from "./device.js";

// ---------------------------------------------------------------- events

/**
 * What happened.
 *
 * @example
 * ```ts
 * const probes: readonly MachineEventKind[] = ["probe-start", "probe-end", "probe-failed"];
 * const history = machine.events.filter((e) => probes.includes(e.kind));
 * ```
 */
export type MachineEventKind =
  | "plug"
  | "unplug"
  | "register"
  | "unregister"
  | "state"
  | "probe-start"
  | "probe-end"
  | "probe-failed"
  | "remove-start"
  | "remove-end"
  | "remove-failed"
  | "release"
  | "release-failed"
  | "irq-failed"
  | "irq-unhandled"
  | "task-failed"
  | "dma-blocked"
  | "iommu-fault"
  | "alloc"
  | "free"
  | "revoke"
  | "irq"
  | "dma"
  | "violation"
  | "model-failed";

/**
 * Why a binding ended: `probe failed`, `unbound` (`bus.unbind`), `unplugged`
 * (`bus.unplug`) or `driver unregistered` (`bus.unregister`).
 *
 * @example
 * ```ts
 * declare const machine: Machine;
 * const surprise = machine.events.filter((e) => e.kind === "remove-start" && e.reason === "unplugged");
 * ```
 */
export type EndReason = "probe failed" | "unbound" | "unplugged" | "driver unregistered";

/**
 * Which way a transfer goes, seen from the device: it `read`s memory or
 * `write`s it.
 *
 * @example
 * ```ts
 * const writes = machine.iommu.faults.filter((f) => f.direction === "write");   // the device wrote memory
 * ```
 */
export type DmaDirection = "read" | "write";

/**
 * What kind of device-managed resource a `release`, `release-failed` or
 * `revoke` event is about; `alloc` and `free` events are always `coherent`.
 *
 * @example
 * ```ts
 * const unmapped = machine.events.filter((e) => e.kind === "release" && e.resource === "mmio").length;
 * ```
 */
export type ResourceKind = "coherent" | "devres" | "mmio" | "irq" | "bus-master";

/** The fields an event may carry, as its emitter gives them. */
export interface EventRecord {
  readonly kind: MachineEventKind;
  /** The device's name. */
  readonly device?: string | undefined;
  /** The driver's name. */
  readonly driver?: string | undefined;
  /** For people only: a label, an error's message. */
  readonly detail?: string | undefined;
  /** The error a driver callback or model hook threw, for `*-failed` events. */
  readonly error?: unknown;
  /** `alloc`, `free`, `dma`, `dma-blocked`, `iommu-fault`, `violation`, and `release` of coherent memory: the bus address. */
  readonly address?: bigint | undefined;
  /** The bytes involved, with `address`. */
  readonly size?: number | undefined;
  /** `dma`, `dma-blocked`, `iommu-fault`: which way. */
  readonly direction?: DmaDirection | undefined;
  /** `state`: the state left. */
  readonly from?: DeviceState | undefined;
  /** `state`: the state entered. */
  readonly to?: DeviceState | undefined;
  /** `remove-start`, `remove-end`: why the binding ends. */
  readonly reason?: EndReason | undefined;
  /** `release`, `release-failed`, `revoke`, `alloc`, `free`: what kind of resource. */
  readonly resource?: ResourceKind | undefined;
  /** `release`, `release-failed` of an MMIO mapping: its BAR. */
  readonly bar?: number | undefined;
}

/**
 * Where events go. `device` and `driver`, when given, stand for the record's
 * own fields: passing them beside the record spares each layer a copy of it.
 */
export type Emit = (event: EventRecord, device?: string, driver?: string) => void;

// ---------------------------------------------------------------- facts for the checker

/**
 * An address range the device holds, e.g. a ring base in a running engine.
 * A model declares one with its protected `hold()`; the DMA checker reports
 * memory freed while held, and holds left after unbind.
 *
 * @example
 * ```ts
 * declare const machine: Machine;
 * declare const hold: Hold;
 * console.log(`the device holds ${hold.what}: ${hold.length} bytes at 0x${hold.address.toString(16)}`);
 * ```
 */
export interface Hold {
  readonly address: number;
  readonly length: number;
  readonly what: string;
}

/** Who a fact is about: the device, by name and identity, and the driver, if any. */
export interface FactSubject {
  /** The device's name. */
  readonly device: string;
  /** The device's identity: names can be reused after an unplug. */
  readonly instance: object;
  /** The driver bound (or last bound). */
  readonly driver: string | undefined;
  /** `device 0000:00:01.0 (1af4:1000), driver "nic" (binding #3)`, for messages. */
  readonly who: string;
}

/** A coherent allocation as facts name it, with when and where it was allocated and freed. */
export interface DmaRegionFact {
  readonly allocSite: Site | undefined;
  readonly allocTime: number;
  readonly freeSite?: Site | undefined;
  readonly freeTime?: number | undefined;
  /** Its bus address. */
  readonly address: bigint;
  /** The bytes asked for. */
  readonly size: number;
  /** The bytes of whole pages the device could reach. */
  readonly span: number;
  /** `coherent allocation of 4096 bytes at bus address 0x…`. */
  readonly label: string;
}

/**
 * What the driver model, the driver core and the machine tell the checker.
 * Each says what was seen; `observe/dma-debug.ts` decides what it is.
 */
export type DmaFact =
  /** Memory was freed while the device, bus mastering, held part of it. */
  | (FactSubject & { readonly seen: "free-held"; readonly region: DmaRegionFact; readonly held: readonly Hold[] })
  /** `free()` of an allocation already freed (by the driver or by devres). */
  | (FactSubject & { readonly seen: "free-again"; readonly region: DmaRegionFact; readonly byDevres: boolean })
  /** `freeCoherent(handle)` of a bus address with no live allocation of this binding. */
  | (FactSubject & { readonly seen: "free-handle"; readonly address: bigint })
  /** Memory of the device was freed: remembered to name later misuse of it. */
  | (FactSubject & { readonly seen: "freed"; readonly region: DmaRegionFact })
  /** `remove()` returned while the device, bus mastering, still held memory. */
  | (FactSubject & { readonly seen: "remove-returned-holding"; readonly held: readonly Hold[] })
  /** After devres release, the device still held memory. */
  | (FactSubject & { readonly seen: "held-after-release"; readonly held: readonly Hold[] })
  /** After devres release, the pool still held memory for the binding. */
  | (FactSubject & { readonly seen: "left-over"; readonly address: bigint; readonly size: number })
  /**
   * A device transfer that was not wholly inside one of its live mappings:
   * `within` is the mapping it started in, if any, and `end` that mapping's
   * page end; a transfer inside its pages but past the allocation is reported
   * with `within` and `end` beyond the transfer.
   */
  | (FactSubject & {
      readonly seen: "device-dma";
      readonly address: bigint;
      readonly length: number;
      readonly direction: DmaDirection;
      readonly within: DmaRegionFact | undefined;
    });

/**
 * What a fact about some memory would name, built only if a fact is told:
 * describing a binding builds strings, which a free that violates nothing
 * must not pay for.
 */
export interface FactSource {
  subject(): FactSubject;
  /** `coherent allocation of 4096 bytes at bus address 0x…`. */
  readonly label: string;
}

/** Where facts go: returns the error to throw in `dmaDebug: "throw"` mode. */
export type Report = (fact: DmaFact) => Error | undefined;

// ---------------------------------------------------------------- the device beneath

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

/** Coherent memory the platform allocated and mapped for one binding. */
export interface DmaMemory {
  /** Its bus address: an IOVA under a strict IOMMU, else the physical one. */
  readonly handle: number;
  /** The CPU's view; detached once freed. */
  readonly buffer: ArrayBuffer;
  /** The bytes asked for. */
  readonly bytes: number;
  /** Whole pages the device can reach, in bytes. */
  readonly span: number;
  readonly allocSite: Site | undefined;
  readonly allocTime: number;
}

/**
 * One device as the driver model reaches it. The simulated machine's
 * per-device hardware (`sim/hardware.ts`) implements it.
 */
export interface DevicePort {
  readonly name: string;
  readonly vendor: number;
  readonly device: number;
  /** `device 0000:00:01.0 (1af4:1000)`. */
  describe(): string;
  /** False once unplugged: the hardware is gone. */
  readonly present: boolean;
  /** BAR sizes in bytes. */
  readonly bars: readonly number[];
  /** The device's answer to an MMIO read, as its model gave it (a JavaScript model may give anything). Only while present. */
  mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint;
  /** Hands an MMIO write to the device. Only while present. */
  mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void;
  /** Bus mastering: the device's DMA works only while it is on. */
  readonly busMaster: boolean;
  setBusMaster(on: boolean): void;
  /** Connects `handler` to the device's interrupt; false if one is connected already. */
  requestIrq(handler: () => void): boolean;
  /** Disconnects `handler`, if it is the one connected. */
  freeIrq(handler: () => void): void;
  /** True unless the checker is off: call sites are worth capturing. */
  readonly checking: boolean;
  /**
   * Allocates `size` bytes of zero-filled coherent memory for `owner` and maps
   * it for the device, below `2 ** maskBits`. Throws `ENOMEM` (naming the
   * owner) and changes nothing when it cannot.
   */
  allocCoherent(owner: { describe(): string; readonly driver: string }, size: number, maskBits: number, site: Site | undefined): DmaMemory;
  /**
   * Unmaps and frees `memory`. The platform checks that the device no longer
   * holds it; returns the checker's error in `dmaDebug: "throw"` mode.
   */
  freeCoherent(memory: DmaMemory, about: FactSource, site: Site | undefined): Error | undefined;
  /** Virtual time now, ns. */
  readonly now: number;
  /** Resolves once `ns` of virtual time has passed. */
  sleep(ns: number): Promise<void>;
  /** Logs an event about this device (and `driver`, if given). */
  emit(event: Omit<EventRecord, "device">, driver?: string): void;
  /** Tells the checker. */
  report: Report;
}
