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
import type { Subsystems } from "./subsystems.js";

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
  | "irq-disabled"
  | "task-failed"
  | "teardown-failed"
  | "dma-blocked"
  | "iommu-fault"
  | "alloc"
  | "free"
  | "revoke"
  | "irq"
  | "dma"
  | "violation"
  | "model-failed"
  /** A function-level reset of the device began: it stopped, and its model went back to power-on. */
  | "pci-reset"
  /** The watchdog's time ran out on a wait of the core (`waitsOn`, `waitedNs`); the core went on. */
  | "hung"
  /** A wait reported `hung` finished after all (`waitsOn`, `waitedNs`: since the wait began). */
  | "finished-late"
  | "subsys-register"
  | "subsys-unregister"
  | "subsys-failed"
  /** A device was removed from its bus by software (`bus.remove`); its hardware stays, for a rescan. */
  | "device-remove"
  /** `bus.rescan()` found hardware again (`device` is each one found, `parent` its parent). */
  | "rescan"
  /** A driver created an auxiliary device (`device`; `parent`: the device it sits under). */
  | "aux-add"
  /** An auxiliary device was deleted, by its parent's unbind or early. */
  | "aux-del"
  /** A device link was made (`device`: the consumer; `supplier`). */
  | "link-add"
  /** A device link was dropped. */
  | "link-remove"
  /** A probe waits: a supplier of the device is not bound (`supplier`: the first such). */
  | "probe-deferred";

/**
 * Why a binding ended: `probe failed`, `unbound` (`bus.unbind`), `unplugged`
 * (`bus.unplug`, or an ancestor's), `driver unregistered`
 * (`bus.unregister`), `removed` (`bus.remove`, or an auxiliary device
 * deleted by its parent) or `supplier unbound` (a device link's supplier
 * unbinds first).
 *
 * @example
 * ```ts
 * declare const machine: Machine;
 * const surprise = machine.events.filter((e) => e.kind === "remove-start" && e.reason === "unplugged");
 * ```
 */
export type EndReason = "probe failed" | "unbound" | "unplugged" | "driver unregistered" | "removed" | "supplier unbound";

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
 * Which way the data of a streaming mapping flows, seen from the driver: the
 * kernel's `enum dma_data_direction` (`DMA_TO_DEVICE`, `DMA_FROM_DEVICE`,
 * `DMA_BIDIRECTIONAL`), Rust-for-Linux's `DataDirection`. It decides which
 * syncs a mapping has, what the CPU may do with it, and what the device may
 * do: it reads a `to-device` mapping and writes a `from-device` one.
 *
 * @example
 * ```ts
 * const tx: DataDirection = "to-device";     // the device reads it: a packet to send
 * const rx: DataDirection = "from-device";   // the device writes it: a packet received
 * ```
 */
export type DataDirection = "to-device" | "from-device" | "bidirectional";

/**
 * How a bus address was obtained, and so which call gives it back:
 * `coherent` (`allocCoherent`/`freeCoherent`), `single` (`mapSingle`/
 * `unmapSingle`), `sg` (`mapSg`/`unmapSg`) or `pool` (`DmaPool.alloc`/`free`).
 *
 * @example
 * ```ts
 * const wrong = machine.dmaDebug.violations.filter((v) => v.kind === "wrong-function");
 * ```
 */
export type DmaMappingKind = "coherent" | "single" | "sg" | "pool";

/**
 * What kind of device-managed resource a `release`, `release-failed` or
 * `revoke` event is about; `alloc` and `free` events are always `coherent`.
 *
 * @example
 * ```ts
 * const unmapped = machine.events.filter((e) => e.kind === "release" && e.resource === "mmio").length;
 * ```
 */
export type ResourceKind = "coherent" | "devres" | "mmio" | "irq" | "irq-vectors" | "bus-master" | "pci-enable" | "streaming" | "dma-pool";

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
  /** `hung`, `finished-late`: what the core waited on (`task #2`, `remove() of driver "nic"`). */
  readonly waitsOn?: string | undefined;
  /** `hung`, `finished-late`: virtual ns since the wait began. */
  readonly waitedNs?: number | undefined;
  /** `plug`, `rescan`, `aux-add`: the device the new one sits under. */
  readonly parent?: string | undefined;
  /** `link-add`, `link-remove`, `probe-deferred`: the supplier. */
  readonly supplier?: string | undefined;
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
  /** The bus address of the first byte, as the model gave it to `hold()`. */
  readonly address: bigint;
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

/** A mapping (coherent, streaming, sg entry or pool block) as facts name it, with when and where it was made and ended. */
export interface DmaRegionFact {
  /** How it was obtained; coherent when absent. */
  readonly kind?: DmaMappingKind | undefined;
  /** For a streaming mapping: its direction. */
  readonly direction?: DataDirection | undefined;
  /** For a streaming mapping: true when it went through swiotlb bounce slots. */
  readonly bounced?: boolean | undefined;
  /** For an sg mapping: the entry count it was mapped with. */
  readonly entries?: number | undefined;
  /** For a streaming mapping: a number of its own, so two mappings made at one instant are told apart. */
  readonly serial?: number | undefined;
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
  | (FactSubject & { readonly seen: "free-handle"; readonly address: bigint; readonly site: Site | undefined })
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
      /** Whether a hold the device declared covers the address (it kept it), or it came from elsewhere (a descriptor). */
      readonly held: boolean;
    })
  /**
   * A device transfer wholly inside one of its live streaming mappings, which
   * the mapping's state forbids: the CPU owns it now (`owner: "cpu"`, since
   * `ownerSite`), or its direction does not allow the transfer.
   */
  | (FactSubject & {
      readonly seen: "device-dma-state";
      readonly address: bigint;
      readonly length: number;
      readonly direction: DmaDirection;
      readonly within: DmaRegionFact;
      readonly owner: "cpu" | "device";
      readonly ownerSite: Site | undefined;
      readonly ownerTime: number;
    })
  /** The CPU asked for a view of memory the device owns (a missing sync-for-cpu or unmap). */
  | (FactSubject & {
      readonly seen: "cpu-access";
      readonly region: DmaRegionFact;
      readonly ownerSite: Site | undefined;
      readonly ownerTime: number;
      readonly site: Site | undefined;
    })
  /**
   * An unmap or free (`call`) whose address matched a live mapping (`region`)
   * but not in every argument: what it passed is in `call`.
   */
  | (FactSubject & {
      readonly seen: "unmap-mismatch";
      readonly region: DmaRegionFact;
      readonly call: DmaCallFact;
    })
  /** An unmap, free or sync of a bus address with no live mapping of this binding. */
  | (FactSubject & { readonly seen: "unmap-unknown"; readonly call: DmaCallFact })
  /** A sync of a live mapping: `call` says what was asked, which the checker compares with `region`. */
  | (FactSubject & { readonly seen: "sync"; readonly region: DmaRegionFact; readonly call: DmaCallFact; readonly forCpu: boolean })
  /** A new mapping shares a cache line with a live one, and at least one of them lets the device write. */
  | (FactSubject & { readonly seen: "cacheline-overlap"; readonly region: DmaRegionFact; readonly other: DmaRegionFact; readonly line: number })
  /** An sg segment the device cannot take: longer than its maximum, or across its boundary. */
  | (FactSubject & {
      readonly seen: "sg-segment";
      readonly address: bigint;
      readonly length: number;
      readonly maxSegment: number;
      readonly boundary: bigint;
      readonly site: Site | undefined;
    })
  /** At unbind, mappings were still live; devres unmapped them. */
  | (FactSubject & { readonly seen: "pending-at-unbind"; readonly regions: readonly DmaRegionFact[] })
  /** The core waited the watchdog's time (`waitedNs` of virtual time) for `waitsOn`, which has not finished; it went on without it. */
  | (FactSubject & { readonly seen: "hung"; readonly waitsOn: string; readonly waitedNs: number })
  /**
   * An operation that may sleep (`operation`: `sleep`, `kmalloc (GFP_KERNEL)`)
   * was called at `site` inside the atomic section `section` (`hard IRQ
   * handler of …`, `Revocable access`): the kernel's `might_sleep()`. With
   * `returnedPromise`, `operation` names a callback run in the section that
   * returned a promise (it awaits), and there is no site.
   */
  | (FactSubject & { readonly seen: "might-sleep"; readonly operation: string; readonly section: string; readonly site: Site | undefined; readonly returnedPromise: boolean })
  /**
   * Of the last 100,000 interrupts on line `irq`, nearly all were handled by
   * no handler (the kernel's `note_interrupt`): the line is disabled now.
   * `handlers` names each handler on it; the subject is the device whose
   * raise tipped the count.
   */
  | (FactSubject & { readonly seen: "irq-nobody-cared"; readonly irq: number; readonly unhandled: number; readonly handlers: readonly string[] })
  /**
   * An IRQ requested without devres (`request_irq`) was still requested when
   * the binding ended (`reason`): the driver never freed it. `what` names the
   * line (`irq 17 "rx"`), `handler` the handler function, if named; `site`
   * and `time` say where and when it was requested.
   */
  | (FactSubject & {
      readonly seen: "irq-leaked";
      readonly irq: number;
      readonly what: string;
      readonly handler: string | undefined;
      readonly site: Site | undefined;
      readonly time: number;
      readonly reason: EndReason;
    });

/** What an unmap, free or sync call passed, for the checker to compare with the mapping. */
export interface DmaCallFact {
  /** The call, as a driver author wrote it: `unmapSingle`, `freeCoherent`, `syncSingleForCpu`, … */
  readonly call: string;
  /** The function family it belongs to. */
  readonly kind: DmaMappingKind;
  readonly address: bigint;
  /** The size passed, if the call takes one. */
  readonly size?: number | undefined;
  /** The offset into the mapping, for a sync. */
  readonly offset?: number | undefined;
  /** The direction passed, if the call takes one. */
  readonly direction?: DataDirection | undefined;
  /** For `unmapSg`: the entry count passed. */
  readonly entries?: number | undefined;
  /** For an sg mapping: the entry count it was mapped with. */
  readonly mappedEntries?: number | undefined;
  /** True when a CPU address was passed and it is not the mapping's. */
  readonly otherCpuAddress?: boolean | undefined;
  readonly site: Site | undefined;
}

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

/** A physically contiguous run of a heap buffer: its physical address, where it starts in the buffer, and its length. */
export interface PhysRun {
  readonly phys: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * CPU memory from the machine's kernel heap (`kmalloc`, `vmalloc`). Not
 * device-managed: it lives until freed, whatever binds or unbinds.
 */
export interface HeapMemory {
  /** The bytes asked for. */
  readonly bytes: number;
  /** Its physically contiguous runs, in CPU order: one for kmalloc, one per scattered page for vmalloc. */
  readonly runs: readonly PhysRun[];
  /** `kmalloc` or `vmalloc`. */
  readonly allocator: "kmalloc" | "vmalloc";
  readonly allocTime: number;
  /** False once freed. */
  readonly live: boolean;
  /** Live streaming mappings of it, in any device's domain. */
  readonly mappings: ReadonlySet<StreamMapping>;
  /**
   * The CPU's view, for the CPU to touch now. If a device owns any part of
   * the memory, that is a fact for the checker (a missing sync-for-cpu):
   * reported, and in `dmaDebug: "throw"` mode thrown. `site` captures the
   * access, called only for a report.
   */
  access(site: () => Site | undefined): ArrayBuffer;
  /** `kmalloc buffer of 60 bytes at 0x…`. */
  readonly label: string;
}

/** A piece of a heap buffer to map. */
export interface MapPiece {
  readonly memory: HeapMemory;
  readonly offset: number;
  readonly length: number;
}

/** What bounds the segments of a device's sg mappings (`dma_set_max_seg_size`, `dma_set_seg_boundary`). */
export interface SegmentLimits {
  readonly maxSegment: number;
  /** A segment must not cross a multiple of `boundary + 1`: the kernel's boundary mask. */
  readonly boundary: bigint;
}

/** One DMA segment of a mapping: what the device is given. */
export interface DmaSegment {
  readonly address: bigint;
  readonly length: number;
}

/** A streaming (single or sg) mapping, as the platform made it for one binding. */
export interface StreamMapping {
  readonly kind: "single" | "sg";
  readonly direction: DataDirection;
  /** The pieces of CPU memory mapped, in order. */
  readonly pieces: readonly MapPiece[];
  /** The DMA segments the device is given, in order. */
  readonly segments: readonly DmaSegment[];
  /** All bytes mapped. */
  readonly size: number;
  /** True when the data goes through swiotlb bounce slots. */
  readonly bounced: boolean;
  readonly mapSite: Site | undefined;
  readonly mapTime: number;
  /** Who may touch the memory now. */
  readonly owner: "cpu" | "device";
  /**
   * Where ownership last moved: the map's site, or a sync's when the call
   * captured one (the address-taking calls do; a handle's sync is named by
   * its time only, since a site costs as much as the rest of a packet).
   */
  readonly ownerSite: Site | undefined;
  /** When ownership last moved, ns. */
  readonly ownerTime: number;
  /** False once unmapped. */
  readonly live: boolean;
  /** `streaming mapping (to-device) of 60 bytes at bus address 0x…`. */
  readonly label: string;
  /** The mapping as facts name it. */
  region(): DmaRegionFact;
}

/**
 * What a hard interrupt handler says (`irqreturn_t`): `handled` (the
 * interrupt was its device's, and it dealt with it), `none` (not its
 * device's: on a shared line another handler's turn) or `wake-thread` (run
 * the threaded part).
 *
 * @example
 * ```ts
 * const STATUS = 0x10;
 * function ours<Scope>(regs: IoMapping<Scope>) {
 *   return (dev: IrqDevice<Scope>): IrqReturn => (regs.read32(dev, STATUS) === 0 ? "none" : "handled");
 * }
 * ```
 */
export type IrqReturn = "handled" | "none" | "wake-thread";

/**
 * How a device interrupts: MSI-X, MSI, or its legacy (INTx) line.
 *
 * @example
 * ```ts
 * declare const vectors: IrqVectors<Scope>;
 * const perQueue: boolean = vectors.kind !== "legacy";
 * ```
 */
export type IrqKind = "msix" | "msi" | "legacy";

/** One handler on a line, as the interrupt controller calls it (`struct irqaction`). */
export interface IrqAction {
  /** `IRQF_SHARED`: it agrees to share the line. */
  readonly shared: boolean;
  /** `IRQF_ONESHOT`: the line stays masked while its thread runs. */
  readonly oneshot: boolean;
  /** Who it is, for messages: `driver "nic" on device 0000:00:01.0`. */
  readonly label: string;
  /** Runs the hard part and says what it did; never throws. */
  hard(): IrqReturn;
}

/**
 * One interrupt line or vector (`struct irq_desc`), as the driver model
 * holds it. Its handlers run one after the other, each raise once; a raise
 * while the line runs, is disabled or masked is kept pending and delivered
 * when it can be.
 */
export interface IrqLine {
  /** The interrupt number, for messages: `irq 17`. */
  readonly irq: number;
  readonly kind: IrqKind;
  /**
   * Adds `action`, or says what stands in the way (and changes nothing):
   * the line is taken by a handler that does not share it, or this one
   * does not (`exclusive`), or they disagree on `oneshot`.
   */
  request(action: IrqAction): "exclusive" | "oneshot" | undefined;
  /** Removes `action`: no hard part of it runs after this returns. The line resets once it has none. */
  release(action: IrqAction): void;
  /** `disable_irq_nosync`: one level deeper; raises are kept pending until the depth is back at zero. */
  disable(): void;
  /** `enable_irq`: one level shallower; at zero, a pending raise is delivered. */
  enable(): void;
  /** Masks the line while a oneshot thread runs. */
  mask(): void;
  /** Unmasks it: at zero masks and depth, a pending raise is delivered. */
  unmask(): void;
  /** True once the line was disabled for "nobody cared"; it stays so until its last handler goes. */
  readonly broken: boolean;
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
  /** Reads `width` bytes of config space at `offset` (aligned, inside the 4 KiB: the caller checked). Only while present. */
  configRead(offset: number, width: 1 | 2 | 4): number;
  /** Writes config space (offset and value checked by the caller); read-only bits ignore it. Only while present. */
  configWrite(offset: number, width: 1 | 2 | 4, value: number): void;
  /** Busy-waits `ns` of virtual time without yielding (`udelay`): device events due meanwhile fire before it returns. */
  busyWait(ns: number): void;
  /** The device's legacy (INTx) line: its own, or one it shares with the devices plugged with the same `intx`. */
  readonly legacyIrq: IrqLine;
  /** How many vectors the device can raise of `kind`: its MSI-X table size, its MSI vectors; 0 without the capability. */
  irqCapacity(kind: "msix" | "msi"): number;
  /** The vectors enabled now (`allocIrqVectors`), or `undefined`. */
  readonly msiVectors: readonly IrqLine[] | undefined;
  /** Enables MSI-X (or MSI) with `count` vectors, each a line of its own; the legacy line falls silent. Only while none are enabled. */
  enableMsi(kind: "msix" | "msi", count: number): readonly IrqLine[];
  /** Disables MSI-X or MSI: the vectors are gone, and raising one is dropped. */
  disableMsi(): void;
  /** True unless the checker is off: call sites are worth capturing. */
  readonly checking: boolean;
  /**
   * The platform's DMA addressing limit in bits (a bus or interconnect
   * narrower than 64 bits, the kernel's `bus_dma_limit`): a driver's DMA
   * mask is capped to it. 64 when the platform has none.
   */
  readonly dmaLimitBits: number;
  /**
   * Fault injection (`sim/fault-inject.ts`): the error to throw, before
   * anything is done, if the machine's harness says the `kind` operation
   * `what` about to happen fails; `undefined` to go on. Allocations and
   * mappings made through this port ask for themselves; the driver model
   * asks for IRQ requests.
   */
  injectedFailure(kind: "alloc" | "map" | "irq", what: string): Error | undefined;
  /**
   * A scheduling point (`sim/fault-inject.ts`): driver code is about to wait
   * in the sleeping operation `what` (`"sleep"`), or is being called
   * (`"callback"`: `probe() by "nic"`). Free when nobody listens.
   */
  schedulePoint(kind: "sleep" | "callback", what: string): void;
  /**
   * The next binding number of the machine (`binding #3` in messages), from
   * 1: counted per machine, so a schedule replayed on a fresh machine tells
   * the same story.
   */
  nextBindingSerial(): number;
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
  /**
   * Allocates `size` bytes of zero-filled CPU memory from the kernel heap:
   * physically contiguous (`kmalloc`), or page by page (`vmalloc`). Throws
   * `ENOMEM` and changes nothing when it cannot.
   */
  heapAlloc(owner: { describe(): string }, size: number, allocator: "kmalloc" | "vmalloc"): HeapMemory;
  /** Frees heap memory. `EBUSY`, and nothing changes, while a device has it mapped. */
  heapFree(memory: HeapMemory): void;
  /**
   * Maps `pieces` for the device: an IOVA range under a strict IOMMU (one
   * segment for an sg table where the limits allow), the physical address in
   * passthrough, or swiotlb bounce slots when a piece lies beyond the mask.
   * The device owns the memory from now on. Throws `ENOMEM` (naming the
   * owner) and changes nothing when it cannot.
   */
  mapStreaming(
    owner: { describe(): string; readonly driver: string; readonly subject: () => FactSubject },
    kind: "single" | "sg",
    pieces: readonly MapPiece[],
    direction: DataDirection,
    maskBits: number,
    limits: SegmentLimits,
    site: Site | undefined,
  ): StreamMapping;
  /**
   * Hands `[offset, offset + length)` of the mapping to the CPU (`forCpu`) or
   * back to the device: bounce copies and cache maintenance as the direction
   * asks, widened to cache lines. The mapping's owner becomes the side named.
   */
  syncStreaming(mapping: StreamMapping, forCpu: boolean, offset: number, length: number, site: Site | undefined): void;
  /** Unmaps: the last copy out of a bounce slot, the last invalidate; the CPU owns the memory again. */
  unmapStreaming(mapping: StreamMapping, site: Site | undefined): void;
  /** Virtual time now, ns. */
  readonly now: number;
  /** Resolves once `ns` of virtual time has passed. */
  sleep(ns: number): Promise<void>;
  /**
   * Waits for `work` under the machine's watchdog: resolves `true` once it
   * settles (fulfilled or rejected), or `false` when the watchdog's time ran
   * out first, after reporting the hang with `waitsOn` (what the core waits
   * for: `remove() of driver "nic"`, `task #2`, `transmit on netdev "eth0"`).
   */
  watch(work: Promise<unknown>, waitsOn: string, subject: FactSubject): Promise<boolean>;
  /** The machine's subsystems a driver registers with: the network stack, the block layer (`subsystems.ts`). */
  readonly subsystems: Subsystems;
  /** Logs an event about this device (and `driver`, if given). */
  emit(event: Omit<EventRecord, "device">, driver?: string): void;
  /** Tells the checker. */
  report: Report;
}
