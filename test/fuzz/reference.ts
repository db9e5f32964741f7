/**
 * The reference model: what the lifecycle fuzzer expects the machine to do,
 * written from the contract (README, API.md), not from src/.
 *
 * For every command it predicts, per device, the exact sequence of lifecycle
 * events and their structured fields (state changes, probe and remove with
 * their reason and error, each devres release by resource, in last-in
 * first-out order), the devices' states, the outcome of each bus call
 * and escaped-handle use, each binding's release callbacks in order, the live
 * allocations (for the pool's accounting), and the DMA checker's violations:
 * none from a correct driver, and from the buggy one the ones an engine left
 * running must cause.
 *
 * The model knows the contract's rules and nothing of how src/ meets them:
 * - state changes of one device run one at a time in the order asked for;
 *   whatever is queued behind one that waits (at a gate) waits too;
 * - `plug` queues a probe by the drivers registered then, in registration
 *   order, the first that binds wins; `register` queues one probe per
 *   present matching device; a device unbound by hand is not re-probed;
 *   `unregister` waits for the devices bound to the driver and those whose
 *   queued probe may yet bind it, not for other drivers' probes;
 * - unbind order: remove() with the live token, then the token dies, then
 *   devres release last in first out, then the leak check;
 * - a failed probe releases everything it took and leaves `no-driver`;
 * - a devres entry released early stays on the stack until its release is
 *   done: an unbind that reaches it waits for it;
 * - with dmaDebug "throw", an unbind (or a failed probe) whose checks found
 *   a violation throws once the device is at rest: the call that asked for
 *   it rejects with EINVAL, and a probe that throws ends its candidate loop;
 *   with "off", nothing is reported;
 * - surprise removal takes the hardware away at once.
 *
 * Each device's state changes are generators that yield the gate they wait
 * at, so a probe, a remove() or a devres walk can stop mid-way across
 * commands and go on when the fuzzer opens the gate.
 *
 * Addresses are observations, not predictions: the model asks the rig for an
 * allocation's bus address when it needs one (to tell which allocation a
 * release freed, a free by handle), and a mapping's segments and the time it
 * was made (where a device transfer lands, a call by address, the key the
 * checker reports a repeat under).
 *
 * Streaming DMA, from the contract (README, the module docs of
 * `src/driver/streaming.ts`, `scatterlist.ts`, `dma-pool.ts`, `kmalloc.ts`):
 * - kernel buffers are no binding's: they outlive every unbind, and cannot be
 *   freed while mapped (`EBUSY`); the heap counts a slab slot (a power of two
 *   from 64 bytes, up to half a page) or whole pages (vmalloc: always pages);
 * - a mapping is device-owned when made; a sync hands (a range of) it to the
 *   CPU or back, the handle the sync returns is the only current one, and a
 *   call by address leaves none current; unmapping gives it back for good;
 *   what is still mapped at unbind is unmapped by devres, after the entries
 *   made later, and the binding's end reports one `pending-at-unbind` for all
 *   of it (pool blocks still out included);
 * - in passthrough, memory beyond the device's mask (the heap lies at 4 GiB)
 *   bounces through 2 KiB swiotlb slots taken first fit, one run per
 *   physically contiguous part: copied in at map and at a sync for the
 *   device (unless from-device), out at a sync for the CPU and the unmap
 *   (unless to-device); no slots, `ENOMEM`, nothing taken. Behind a strict
 *   IOMMU nothing bounces, and a mask of 20 bits or less reaches no IOVA;
 * - on a machine whose DMA is not coherent, memory has a CPU copy and a RAM
 *   copy: the device reads and writes RAM. Cache maintenance works on whole
 *   64-byte lines: a map and a sync for the device write the CPU's lines
 *   back, or (from-device: memory only the device writes) drop them; a sync
 *   for the CPU and the unmap drop them, unless to-device. Bounce slots are
 *   uncached;
 * - a mapping the device may write (not to-device) that shares a 64-byte
 *   line with another live one of the same buffer is
 *   `overlapping-cacheline`. The CPU touching a buffer while one of its
 *   mappings is device-owned is `cpu-access-device-owned`, once per mapping
 *   (device, address, time made) and call site;
 * - a DMA pool carves blocks (lowest offset first, the last freed first)
 *   from coherent chunks of `max(4096, stride, boundary)` bytes it takes one
 *   at a time and gives back only when destroyed.
 *
 * @module
 */

import type { DataDirection, DeviceState, DmaViolationKind, EndReason, ErrorCode, MachineEventKind, ResourceKind } from "../../src/index.js";
import type { BufOp, Command, DmaOp, DriverName, FuzzConfig, ProbePlan, ReleaseKind, Span, Step, UseOp } from "./commands.js";
import { dmaWindow, DRIVER_KINDS, drivesHardware, isDmaOp, pattern } from "./commands.js";
import type { DeviceKind } from "./models.js";
import { hasEngine, RING_BYTES } from "./models.js";

/** Messages of the errors the fuzzed drivers throw on purpose: for people. */
export const MESSAGES = {
  planned: "fuzz: planned probe failure",
  removeThrew: "fuzz: remove() threw",
  removeRejected: "fuzz: remove() rejected",
  releaseThrew: "fuzz: release threw",
  releaseRejected: "fuzz: release rejected",
} as const;

/** Which error a fuzzed driver throws on purpose. */
export type Planned = keyof typeof MESSAGES;

/** An error a fuzzed driver throws on purpose: told apart by its `plan`, never by its message. */
export class PlannedError extends Error {
  constructor(readonly plan: Planned) {
    super(MESSAGES[plan]);
    this.name = "PlannedError";
  }
}

/** One coherent allocation a binding made: in a probe step, by a use, in remove(), or the engine's ring. */
export interface MAlloc {
  readonly owner: MBinding;
  /** Position in the owner's `allocs`, or -1 for the ring. */
  readonly index: number;
  readonly size: number;
  freed: boolean;
  /** Bytes written through a view, by offset; the rest reads zero. */
  readonly written: Map<number, number>;
}

export interface MDevres {
  readonly owner: MBinding;
  /** `<binding key>/d<n>`: what its release callback logs, and the gate a gated one waits at. */
  readonly id: string;
  readonly release: ReleaseKind;
  /** `releasing`: a gated release callback waits at its gate. */
  state: "live" | "releasing" | "released";
  /** Early `release()` calls waiting for a gated release to finish. */
  readonly waiters: number[];
}

/** A kernel buffer (kmalloc, vmalloc): no binding's, live until freed. */
export class MBuffer {
  freed = false;
  /** Its live mappings, in the order they were made: the CPU touching it is checked against the first device-owned one. */
  readonly maps: MMapping[] = [];
  /** What the CPU sees: the whole backing (a slab slot, or whole pages). */
  readonly cpu: Uint8Array;
  /** What RAM holds, once a non-coherent device mapped it without bouncing; until then RAM is the CPU's copy. */
  ram: Uint8Array | undefined;

  constructor(
    /** Position in the model's `buffers`: the order the model made them in. */
    readonly index: number,
    /**
     * What the rig knows it by: `u<op>` for a use, `<binding>/m<n>` for a
     * probe's n-th map step. Probes of several devices run side by side, so
     * the rig may allocate in another order than the model.
     */
    readonly id: string,
    readonly size: number,
    readonly vm: boolean,
    /** Bytes behind it: what cache maintenance is clipped to. */
    readonly backing: number,
    /** Bytes the heap counts for it. */
    readonly footprint: number,
  ) {
    this.cpu = new Uint8Array(backing);
  }
}

/** One physically contiguous part of a mapping: a buffer's bytes `[at, at + length)`, and the bounce slots it went through. */
export interface MPart {
  readonly buf: MBuffer;
  readonly at: number;
  readonly length: number;
  /** The first swiotlb slot, when bounced. */
  readonly slot: number | undefined;
  /** What the bounce slots hold of it, when bounced. */
  readonly data: Uint8Array | undefined;
}

/** A streaming mapping (single or sg) a binding made. */
export class MMapping {
  live = true;
  owner: "device" | "cpu" = "device";
  /** Handles the driver got: the first from the map, one more from each handle's sync. */
  handles = 1;
  /** The handle calls are taken from, by index; none after a call by address or the unmap. */
  current: number | undefined = 0;
  /** What the last sync for the CPU handed over. */
  window = { offset: 0, length: 0 };
  /** The device wrote it since the CPU last had it: for the coverage count of data synced back. */
  written = false;
  readonly size: number;
  /** The command it was made in (see `Reference.#liveStreams`). */
  epoch = 0;

  constructor(
    readonly binding: MBinding,
    /** Position in the binding's `maps`, and the rig's. */
    readonly index: number,
    readonly kind: "single" | "sg",
    readonly dir: DataDirection,
    readonly parts: readonly MPart[],
    /** Entries as mapped (`nents`): one per buffer or piece, one per page of a vmalloc buffer. */
    readonly entries: number,
    /** A single mapping's offset into its buffer. */
    readonly offset: number,
    readonly buffers: readonly MBuffer[],
  ) {
    this.size = parts.reduce((n, p) => n + p.length, 0);
  }

  get bounced(): boolean {
    return this.parts.some((p) => p.slot !== undefined);
  }
}

/** A DMA pool a binding made in probe. */
export class MPool {
  destroyed = false;
  readonly stride: number;
  readonly chunkBytes: number;
  /** Block offsets in a chunk, lowest first: aligned, none across the boundary. */
  readonly offsets: number[] = [];
  /** Live chunks, each one's free offsets (popped from the end), and the first block carved from it. */
  readonly chunks: MChunk[] = [];
  readonly blocks: MBlock[] = [];

  constructor(
    readonly owner: MBinding,
    readonly index: number,
    readonly size: number,
    readonly align: number,
    readonly boundary: number,
  ) {
    this.stride = Math.ceil(size / align) * align;
    this.chunkBytes = Math.max(4096, this.stride, boundary);
    // A chunk starts on a page, and pages are multiples of every boundary the fuzzer picks.
    for (let at = 0; at + this.stride <= this.chunkBytes; at += this.stride) {
      if (boundary !== 0 && Math.floor(at / boundary) !== Math.floor((at + size - 1) / boundary)) continue;
      this.offsets.push(at);
    }
  }

  live(): MBlock[] {
    return this.blocks.filter((b) => !b.freed);
  }
}

/** A coherent chunk a pool carves: its free block offsets, and the first block carved (where the others lie is relative to it). */
export interface MChunk {
  readonly free: number[];
  first: MBlock | undefined;
}

/** A block of a DMA pool. */
export interface MBlock {
  readonly pool: MPool;
  readonly index: number;
  readonly chunk: MChunk;
  readonly offset: number;
  freed: boolean;
  /** Bytes written, by offset; the rest reads zero. */
  readonly written: Map<number, number>;
}

/** What the platform keeps by bus address for a binding's calls by address: a mapping or a pool block. */
type MStream = MMapping | MBlock;

/** What a call by address says about the mapping it names, as the checker compares it. */
interface MCall {
  readonly kind: "coherent" | "single" | "sg" | "pool";
  readonly size?: number | undefined;
  readonly dir?: DataDirection | undefined;
  readonly entries?: number | undefined;
  readonly sync?: boolean;
}

/** What the checker knows of a live mapping a call by address found. */
interface MRegion {
  readonly kind: "coherent" | "single" | "sg" | "pool";
  readonly size: number;
  readonly dir?: DataDirection | undefined;
  readonly entries?: number | undefined;
}

/** An entry of a binding's devres stack. */
type MResource =
  | { readonly r: "alloc"; readonly a: MAlloc }
  | { readonly r: "devres"; readonly d: MDevres }
  | { readonly r: "map"; readonly m: MMapping }
  | { readonly r: "pool"; readonly p: MPool }
  | { readonly r: "bus mastering" | "mmio" | "irq" };

export class MBinding {
  live = true;
  /** probe() or remove() is running: core-only calls work. */
  core = true;
  mask = 32;
  readonly stack: MResource[] = [];
  readonly allocs: MAlloc[] = [];
  ring: MAlloc | undefined;
  readonly devres: MDevres[] = [];
  regs = false;
  engineDone = false;
  probeGated = false;
  removeGated = false;
  /** Bus mastering turned on by the `busMaster` step. */
  busMastered = false;
  /** The longest sg segment the device takes (`setMaxSegmentSize`). */
  maxSegment = 65_536;
  /** Every streaming mapping it made, live or not. */
  readonly maps: MMapping[] = [];
  /** `map` steps done: names the buffers they allocate. */
  mapSteps = 0;
  readonly pools: MPool[] = [];
  /** Mappings and pool blocks in the order made: what a call by address finds first. */
  readonly streams: MStream[] = [];

  constructor(
    /** `<device name>#<n>`: the device's n-th probe. */
    readonly key: string,
    readonly device: MDevice,
    readonly driver: DriverName,
    readonly plan: ProbePlan,
  ) {}
}

type ProbeOp = { readonly kind: "probe"; readonly candidates: readonly DriverName[]; readonly op: number | undefined };
type Op =
  | ProbeOp
  | { readonly kind: "unbind"; readonly op: number }
  | { readonly kind: "unplug"; readonly op: number }
  | { readonly kind: "unregister"; readonly driver: DriverName; readonly op: number };
type Reason = "unbound" | "unplugged" | "driver unregistered";

/** A state change in progress: it yields the key of each gate it waits at. */
type Flow<Result> = Generator<string, Result, void>;

export interface MDevice {
  readonly name: string;
  readonly kind: DeviceKind;
  readonly plans: readonly ProbePlan[];
  probes: number;
  state: DeviceState;
  present: boolean;
  unplugRequested: boolean;
  binding: MBinding | undefined;
  /** The engine runs (and holds its binding's ring). */
  engine: boolean;
  busMaster: boolean;
  /** The state change in progress, waiting at the gate `waitingAt`. */
  current: { readonly flow: Flow<void>; readonly waitingAt: string } | undefined;
  readonly queue: Op[];
}

/** A lifecycle event as predicted: its kind, its driver and its structured fields (a field not given must be absent). */
export interface PEvent extends PFields {
  readonly kind: MachineEventKind;
  readonly driver: string | undefined;
}

/** The structured fields a predicted event carries, beyond its kind and driver. */
export interface PFields {
  /** `state`: the states left and entered. */
  readonly from?: DeviceState;
  readonly to?: DeviceState;
  /** `remove-start`, `remove-end`: why the binding ends. */
  readonly reason?: EndReason;
  /** `release`, `release-failed`: what kind of resource, and an MMIO mapping's BAR. */
  readonly resource?: ResourceKind;
  readonly bar?: number;
  /** A coherent release: the allocation it frees (its bus address is observed, its size the model's). */
  readonly alloc?: MAlloc;
  /** A streaming release: the mapping it unmaps (its first segment's address is observed, its size the model's). */
  readonly stream?: MMapping;
  /** `*-failed`: the error a driver callback threw: ours by plan, or a BoundscopeError with this code. */
  readonly error?: PError;
}

/** An error as predicted: one a fuzzed driver throws on purpose, or a BoundscopeError's code. */
export type PError = { readonly planned: Planned } | { readonly code: ErrorCode };

/** What a use is predicted to give. */
export interface Predicted {
  /** `ok`, an error code, `rejected` (our own error), or `skipped` (nothing to do). */
  readonly result: "ok" | ErrorCode | "rejected" | "skipped";
  /** A value read back: STATUS, or a byte through an old view. */
  readonly value?: number;
  /** The allocation whose contents `bytes` must show. */
  readonly bytesOf?: MAlloc;
  /** The pool block whose contents `bytes` must show. */
  readonly blockOf?: MBlock;
  /** The bytes read, exactly: a kernel buffer's, a mapping's window, or what the device read. */
  readonly data?: Uint8Array;
}

/** A checker violation the model requires. */
export interface PViolation {
  readonly kind: DmaViolationKind;
  readonly device: string;
  readonly driver: string;
}

/** What one command must cause, beyond the state the model keeps. */
export interface Expectation {
  readonly required: PViolation[];
  /** Devices whose halted-too-late engine may DMA after free in this command (and fault, and run a handler with a dead token). */
  readonly stray: Set<string>;
  /** Bindings that ended in this command. */
  readonly died: MBinding[];
  /** Unbinds and failed probes that threw their violation (dmaDebug "throw"). */
  threw: number;
  outcome: Predicted | undefined;
}

/** A command with its indices resolved to the devices, bindings, gates and entries they name. */
export type Resolved =
  | { readonly c: "plug"; readonly kind: DeviceKind; readonly plans: readonly ProbePlan[]; readonly name: string }
  | { readonly c: "unplug" | "unbind"; readonly name: string; readonly op: number }
  | { readonly c: "register" | "unregister"; readonly driver: DriverName; readonly op: number }
  | { readonly c: "gate"; readonly key: string }
  | { readonly c: "run"; readonly ns: number }
  | {
      readonly c: "use";
      readonly key: string;
      /** The binding whose token the use passes. */
      readonly tokenKey: string;
      readonly op: UseOp;
      /** The allocation or devres entry it acts on: an index into the binding's list. */
      readonly target: number;
      readonly opId: number;
      /** For streaming and pool ops: what it names. */
      readonly dma?: DmaPick;
    }
  | { readonly c: "buf"; readonly op: BufOp; readonly buf: string; readonly offset: number; readonly opId: number };

/** What a streaming or pool op names, resolved: indices into the lists of the binding (or the model's buffers), handles, ranges. */
export interface DmaPick {
  readonly map?: number;
  readonly handle?: number;
  readonly pool?: number;
  readonly block?: number;
  /** Buffers to map, by id, and the part of each (the whole when `undefined`). */
  readonly bufs?: readonly string[];
  readonly spans?: readonly (Span | undefined)[];
  /** The range of a sync. */
  readonly span?: Span | undefined;
  readonly forCpu?: boolean;
  /** A call by address that names one byte or entry too many. */
  readonly wrong?: boolean;
  /** The device writes (else reads). */
  readonly write?: boolean;
  /** A buffer to allocate first (its id is `u<op>`, the last of `bufs`). */
  readonly fresh?: { readonly size: number; readonly vm: boolean };
}

/** A mapping as the rig saw it made: its segments and the virtual time. */
export interface MappingFacts {
  readonly address: bigint;
  readonly segments: readonly { readonly address: bigint; readonly length: number }[];
  readonly time: number;
}

/** What the model asks the rig: the bus addresses things got. */
export interface Observe {
  alloc(alloc: MAlloc): bigint;
  mapping(mapping: MMapping): MappingFacts;
  block(block: MBlock): bigint;
}

export interface ReferenceOptions {
  /**
   * Predict the buggy driver as if it halted its engine: a deliberately
   * wrong model, which the fuzzer must refute (the self-test that it bites).
   */
  readonly trustBuggy?: boolean;
  /**
   * Predict data as if every machine's DMA were cache-coherent: a
   * deliberately wrong model, which the fuzzer must refute with a byte read
   * back (the self-test that the data checks bite).
   */
  readonly ignoreCaches?: boolean;
}

const MAX_DEVICES = 8;

export class Reference {
  readonly devices: MDevice[] = [];
  /** Registered drivers, in registration order. */
  readonly registered: DriverName[] = [];
  /** Every binding, in the order the model made them. */
  readonly bindings: MBinding[] = [];
  /** Predicted lifecycle events, per device. */
  readonly events = new Map<string, PEvent[]>();
  /** Predicted release callbacks, per binding key, in order. */
  readonly releases = new Map<string, string[]>();
  /** Bus calls and uses: settled or not, and how. */
  readonly ops = new Map<number, { settled: boolean; result: Predicted["result"] }>();
  /** Gates something waits at, in the order they were reached. */
  readonly gates: string[] = [];
  /** How often the paths worth reaching were reached. */
  readonly reached = { gatedProbes: 0, gatedRemoves: 0, gatedReleases: 0, walksWaited: 0, candidatesCut: 0 };
  /** Streaming paths reached, by name: for the test's coverage floor. */
  readonly dmaReached: Record<string, number> = {};
  /** Kernel buffers, in the order allocated, freed or not. */
  readonly buffers: MBuffer[] = [];
  /** swiotlb: which 2 KiB slots are taken. */
  readonly slots: boolean[];
  /** `cpu-access-device-owned` keys reported already. */
  readonly #cpuReported = new Set<string>();
  /** Unsettled parts of each pending bus call. */
  readonly #parts = new Map<number, number>();
  #nextOp = 1;
  #slots = 0;
  /** Commands applied: the rig can be asked about what earlier ones made, not about what this one makes. */
  #epoch = 0;
  #expect: Expectation = fresh();
  #observe: Observe | undefined;

  /** Whether the model takes the machine's DMA for cache-coherent. */
  readonly #coherent: boolean;

  constructor(
    readonly config: FuzzConfig,
    readonly options: ReferenceOptions = {},
  ) {
    this.slots = new Array<boolean>(config.swiotlbBytes / SLOT).fill(false);
    this.#coherent = config.dmaCoherent || options.ignoreCaches === true;
  }

  get #seen(): Observe {
    if (this.#observe === undefined) throw new Error("reference: no observer");
    return this.#observe;
  }

  /** Bytes and allocations the heap holds: the live buffers'. */
  heap(): { readonly bytesInUse: number; readonly allocations: number } {
    const live = this.buffers.filter((b) => !b.freed);
    return { bytesInUse: live.reduce((n, b) => n + b.footprint, 0), allocations: live.length };
  }

  /** Bytes and allocations swiotlb holds: one allocation per bounced part of a live mapping. */
  swiotlb(): { readonly bytesInUse: number; readonly allocations: number } {
    let bytesInUse = 0;
    let allocations = 0;
    for (const b of this.bindings) {
      for (const m of b.maps) {
        if (!m.live) continue;
        for (const p of m.parts) {
          if (p.slot === undefined) continue;
          allocations++;
          bytesInUse += Math.ceil(p.length / SLOT) * SLOT;
        }
      }
    }
    return { bytesInUse, allocations };
  }

  /** Coherent memory the live pool chunks hold, page-rounded, and their number. */
  poolChunks(): { readonly bytes: number; readonly count: number } {
    const page = this.config.pageSize;
    let bytes = 0;
    let count = 0;
    for (const b of this.bindings) {
      for (const p of b.pools) {
        count += p.chunks.length;
        bytes += p.chunks.length * Math.ceil(p.chunkBytes / page) * page;
      }
    }
    return { bytes, count };
  }

  /** Counts a streaming path as reached. */
  #reachedDma(what: string): void {
    this.dmaReached[what] = (this.dmaReached[what] ?? 0) + 1;
  }

  /** Live allocations of every binding, rings included. */
  liveAllocations(): MAlloc[] {
    const out: MAlloc[] = [];
    for (const b of this.bindings) {
      for (const a of b.allocs) if (!a.freed) out.push(a);
      if (b.ring !== undefined && !b.ring.freed) out.push(b.ring);
    }
    return out;
  }

  /**
   * Resolves a command's indices against the model, or `undefined` when it
   * names nothing (no device yet, no gate reached, no binding).
   */
  resolve(command: Command): Resolved | undefined {
    switch (command.c) {
      case "plug":
        if (this.devices.length >= MAX_DEVICES) return undefined;
        return { ...command, name: slotName(this.#slots + 1) };
      case "unplug":
      case "unbind":
        if (this.devices.length === 0) return undefined;
        return { c: command.c, name: this.devices[command.dev % this.devices.length]!.name, op: this.#nextOp };
      case "register":
      case "unregister":
        return { ...command, op: this.#nextOp };
      case "gate":
        if (this.gates.length === 0) return undefined;
        return { c: "gate", key: this.gates[command.pick % this.gates.length]! };
      case "run":
        return command;
      case "use": {
        if (this.bindings.length === 0) return undefined;
        const op = command.op;
        // A streaming or pool op goes to a binding it can act on: one with mappings, or with pools; a live one from 32 on.
        const needs = (x: MBinding): boolean => (!isDmaOp(op) ? true : MAP_OPS.has(op.o) ? x.maps.length > 0 : POOL_OPS.has(op.o) ? x.pools.length > 0 : true);
        const candidates = this.bindings.filter(needs);
        if (candidates.length === 0) return undefined;
        // From 32 on: a live binding with something live to act on; the device's DMA, where it can, on a device that masters the bus.
        const useful = (x: MBinding): boolean =>
          !isDmaOp(op) || !MAP_OPS.has(op.o) ? true : op.o === "dma" ? x.device.present && x.device.busMaster && x.maps.some((m) => m.live && m.owner === "device") : x.maps.some((m) => m.live);
        const live = candidates.filter((x) => x.live && useful(x));
        // The device's DMA on nothing it can reach names nothing: it is tried (and skipped) below 32 only.
        if (op.o === "dma" && command.binding >= 32 && live.length === 0) return undefined;
        const b = command.binding >= 32 && live.length > 0 ? live[command.binding % live.length]! : candidates[command.binding % candidates.length]!;
        const token = "token" in op ? this.#tokenOf(op.token, b) : b;
        if (isDmaOp(op)) {
          const dma = this.#resolveDma(b, op);
          if (dma === undefined) return undefined;
          return { c: "use", key: b.key, tokenKey: token.key, op, target: 0, opId: this.#nextOp, dma };
        }
        let target = 0;
        if (op.o === "free" || op.o === "freeCoherent" || op.o === "bytes" || op.o === "write") {
          if (b.allocs.length === 0) return undefined;
          target = op.pick % b.allocs.length;
        } else if (op.o === "access" || op.o === "release") {
          if (b.devres.length === 0) return undefined;
          target = op.pick % b.devres.length;
        } else if (op.o === "mmio" && !b.regs) {
          return undefined;
        }
        return { c: "use", key: b.key, tokenKey: token.key, op, target, opId: this.#nextOp };
      }
      case "buf": {
        const buf = this.#pickBuffer(command.op.pick);
        if (buf === undefined) return undefined;
        const offset = command.op.b === "write" ? command.op.offset % buf.size : 0;
        return { c: "buf", op: command.op, buf: buf.id, offset, opId: this.#nextOp };
      }
    }
  }

  /** A free of `buf`, as the end of a sequence gives back what is left. */
  freeBuffer(buf: MBuffer): Resolved {
    return { c: "buf", op: { b: "free", pick: buf.index }, buf: buf.id, offset: 0, opId: this.#nextOp };
  }

  /** A buffer: 16 and above among the live ones (modulo), below among all. */
  #pickBuffer(pick: number): MBuffer | undefined {
    if (this.buffers.length === 0) return undefined;
    if (pick >= 16) {
      const live = this.buffers.filter((b) => !b.freed);
      if (live.length > 0) return live[(pick - 16) % live.length]!;
    }
    return this.buffers[pick % this.buffers.length]!;
  }

  #buffer(id: string): MBuffer {
    const buf = this.buffers.find((b) => b.id === id);
    if (buf === undefined) throw new Error(`reference: no kernel buffer ${id}`);
    return buf;
  }

  /** True when a live mapping of another device than `b`'s maps `buf`: what one device's walk does to it could race another's. */
  #elsewhere(b: MBinding, buf: MBuffer): boolean {
    return buf.maps.some((m) => m.binding.device !== b.device);
  }

  /** Resolves what a streaming or pool op names; `undefined` when it names nothing. */
  #resolveDma(b: MBinding, op: DmaOp): DmaPick | undefined {
    const at = (length: number, pick: number): number | undefined => (length === 0 ? undefined : pick < 0 ? length - 1 : pick % length);
    // -1: the newest live mapping (the newest of all if none is live).
    const mapping = (pick: number): MMapping | undefined => {
      const live = b.maps.filter((m) => m.live);
      if (pick < 0 && live.length > 0) return live.at(-1);
      const i = at(b.maps.length, pick);
      return i === undefined ? undefined : b.maps[i];
    };
    const handleOf = (m: MMapping, pick: number): number => (pick < 0 ? m.handles - 1 : pick % m.handles);
    switch (op.o) {
      case "kmalloc":
        return {};
      case "map": {
        const again = op.again ? b.maps.filter((m) => m.live && m.kind === "single").at(-1)?.buffers[0] : undefined;
        if (again !== undefined) return { bufs: [again.id], spans: [op.span === undefined ? undefined : spanOf(op.span, again.size)] };
        // A fresh buffer, asked for or for want of a live one to pick; it gets the op's id.
        const fresh = op.fresh ?? (this.buffers.some((x) => !x.freed) ? undefined : op.buf + 1);
        if (fresh !== undefined) return { fresh: { size: fresh, vm: false }, bufs: [`u${this.#nextOp}`], spans: [op.span === undefined ? undefined : spanOf(op.span, fresh)] };
        const buf = this.#pickBuffer(op.buf);
        // One device's mappings of a buffer at a time: devres walks of two devices run side by side, in an order the model does not know.
        if (buf === undefined || this.#elsewhere(b, buf)) return undefined;
        return { bufs: [buf.id], spans: [op.span === undefined ? undefined : spanOf(op.span, buf.size)] };
      }
      case "mapSg": {
        const bufs: string[] = [];
        const spans: (Span | undefined)[] = [];
        for (const item of op.items) {
          const buf = this.#pickBuffer(item.buf);
          if (buf === undefined || this.#elsewhere(b, buf)) return undefined;
          bufs.push(buf.id);
          spans.push(item.span === undefined ? undefined : spanOf(item.span, buf.size));
        }
        if (op.fresh !== undefined) {
          bufs.push(`u${this.#nextOp}`);
          spans.push(undefined);
        }
        if (bufs.length === 0) return undefined;
        if (op.again) {
          bufs.push(bufs[0]!);
          spans.push(undefined);
        }
        return op.fresh === undefined ? { bufs, spans } : { bufs, spans, fresh: op.fresh };
      }
      case "sync":
      case "unmap":
      case "view": {
        // A view is of a single mapping the CPU owns, mostly: the newest such for -1.
        // A sync, of one that has syncs (not to-device) and is not gone: the newest such for -1.
        const cpuOwned = b.maps.filter((m) => m.live && m.kind === "single" && m.owner === "cpu");
        const syncable = b.maps.filter((m) => m.live && m.dir !== "to-device");
        const preferred = op.o === "view" ? cpuOwned : op.o === "sync" ? syncable : [];
        const m = op.map < 0 && preferred.length > 0 ? preferred.at(-1)! : mapping(op.map);
        // With nothing the CPU owns, a view of the newest would be refused for sure: names nothing.
        if (m === undefined || (op.o === "view" && (m.kind !== "single" || (op.map < 0 && preferred.length === 0)))) return undefined;
        const span = op.o === "sync" && m.kind === "single" && op.span !== undefined ? spanOf(op.span, m.size) : undefined;
        return { map: m.index, handle: handleOf(m, op.handle), span, forCpu: op.o === "sync" && (m.owner === "device") === op.flip };
      }
      case "kunmap": {
        const m = mapping(op.map);
        return m === undefined ? undefined : { map: m.index };
      }
      case "dma": {
        // The device uses what it owns, mostly: the newest device-owned mapping for -1.
        const owned = b.maps.filter((m) => m.live && m.owner === "device");
        const m = op.map < 0 && owned.length > 0 ? owned.at(-1)! : mapping(op.map);
        if (m === undefined) return undefined;
        // Which way, where the direction leaves a choice.
        return { map: m.index, write: m.dir === "from-device" || (m.dir === "bidirectional" && op.write) };
      }
      case "ksync": {
        const m = mapping(op.map);
        if (m === undefined) return undefined;
        // A CPU sync of a to-device mapping does not compile: the driver syncs it for the device.
        const forCpu = op.forCpu && m.dir !== "to-device";
        if (m.kind === "sg") return { map: m.index, forCpu, wrong: op.wrong };
        const off = op.span.off % m.size;
        const span = op.wrong ? { off, len: m.size - off + 1 + (op.span.len % 16) } : spanOf(op.span, m.size);
        return { map: m.index, forCpu, span };
      }
      case "poolAlloc":
      case "poolDestroy": {
        const pool = at(b.pools.length, op.pool);
        return pool === undefined ? undefined : { pool };
      }
      case "blockFree":
      case "poolFree":
      case "blockWrite":
      case "blockRead": {
        const pool = at(b.pools.length, op.pool);
        if (pool === undefined) return undefined;
        const block = at(b.pools[pool]!.blocks.length, op.block);
        return block === undefined ? undefined : { pool, block };
      }
    }
  }

  /** Applies a resolved command to the model and returns what it must cause. */
  apply(command: Resolved, observe: Observe): Expectation {
    this.#expect = fresh();
    this.#observe = observe;
    this.#epoch++;
    // A devres walk waiting at a gate with the engine still running: any
    // command that moves the clock lets the engine tick into it.
    for (const device of this.devices) {
      if (device.binding?.live === false && device.present && device.engine) this.#expect.stray.add(device.name);
    }
    switch (command.c) {
      case "plug":
        this.#plug(command.kind, command.plans, command.name);
        break;
      case "unplug":
        this.#unplug(this.#device(command.name));
        break;
      case "unbind":
        this.#unbind(this.#device(command.name));
        break;
      case "register":
        this.#register(command.driver);
        break;
      case "unregister":
        this.#unregister(command.driver);
        break;
      case "gate":
        this.#open(command.key);
        break;
      case "run":
        break;
      case "use":
        this.#expect.outcome = this.#use(command);
        break;
      case "buf":
        this.#expect.outcome = this.#buf(command);
        break;
    }
    for (const device of this.devices) this.#drain(device);
    return this.#expect;
  }

  // ---- bus calls ------------------------------------------------------------

  #plug(kind: DeviceKind, plans: readonly ProbePlan[], name: string): void {
    this.#slots++;
    const device: MDevice = {
      name,
      kind,
      plans,
      probes: 0,
      state: "no-driver",
      present: true,
      unplugRequested: false,
      binding: undefined,
      engine: false,
      busMaster: false,
      current: undefined,
      queue: [],
    };
    this.devices.push(device);
    this.events.set(name, []);
    this.#emit(device, "plug", undefined);
    const candidates = this.registered.filter((driver) => DRIVER_KINDS[driver].includes(kind));
    if (candidates.length > 0) device.queue.push({ kind: "probe", candidates, op: undefined });
  }

  #unplug(device: MDevice): void {
    const op = this.#op();
    if (device.unplugRequested) return this.#settle(op, "EINVAL");
    device.unplugRequested = true;
    device.present = false;
    // Surprise removal: the engine stops with the hardware, its holds go.
    device.engine = false;
    this.#emit(device, "unplug", device.binding?.driver);
    this.#enqueue(device, { kind: "unplug", op });
  }

  #unbind(device: MDevice): void {
    const op = this.#op();
    if (device.unplugRequested) return this.#settle(op, "EINVAL");
    if (device.state === "no-driver" && pending(device) === 0) return this.#settle(op, "EINVAL");
    this.#enqueue(device, { kind: "unbind", op });
  }

  #register(driver: DriverName): void {
    const op = this.#op();
    if (this.registered.includes(driver)) return this.#settle(op, "EBUSY");
    this.registered.push(driver);
    const targets = this.devices.filter((d) => d.present && DRIVER_KINDS[driver].includes(d.kind));
    this.#parts.set(op, targets.length);
    if (targets.length === 0) return this.#settle(op, "ok");
    for (const device of targets) device.queue.push({ kind: "probe", candidates: [driver], op });
  }

  #unregister(driver: DriverName): void {
    const op = this.#op();
    const at = this.registered.indexOf(driver);
    if (at < 0) return this.#settle(op, "EINVAL");
    this.registered.splice(at, 1);
    // A device bound to it, or one whose queued probe may yet bind it.
    const targets = this.devices.filter((d) => d.present && (d.binding?.driver === driver || (pending(d) > 0 && DRIVER_KINDS[driver].includes(d.kind))));
    this.#parts.set(op, targets.length);
    if (targets.length === 0) return this.#settle(op, "ok");
    for (const device of targets) device.queue.push({ kind: "unregister", driver, op });
  }

  #enqueue(device: MDevice, op: Exclude<Op, ProbeOp>): void {
    this.#parts.set(op.op, 1);
    device.queue.push(op);
  }

  // ---- running state changes ------------------------------------------------

  /** Runs the device's queued state changes until it is idle or one waits at a gate. */
  #drain(device: MDevice): void {
    while (device.current === undefined && device.queue.length > 0) {
      this.#advance(device, this.#operation(device, device.queue.shift()!));
    }
  }

  /** Runs `flow` until it ends or waits at a gate. */
  #advance(device: MDevice, flow: Flow<void>): void {
    const next = flow.next();
    device.current = next.done === true ? undefined : { flow, waitingAt: next.value };
    if (next.done !== true) this.#reach(next.value);
  }

  #reach(gate: string): void {
    if (!this.gates.includes(gate)) this.gates.push(gate);
  }

  /** Opens a gate: what waits there goes on. */
  #open(gate: string): void {
    this.gates.splice(this.gates.indexOf(gate), 1);
    // A gated devres release: its callback returns now.
    const devres = this.bindings.flatMap((b) => b.devres).find((d) => d.id === gate);
    if (devres !== undefined) {
      devres.state = "released";
      this.#forget(devres);
      for (const op of devres.waiters.splice(0)) this.#settle(op, "ok");
    }
    for (const device of this.devices) {
      if (device.current?.waitingAt === gate) this.#advance(device, device.current.flow);
    }
  }

  *#operation(device: MDevice, op: Op): Flow<void> {
    switch (op.kind) {
      case "probe": {
        const threw = yield* this.#probe(device, op.candidates);
        if (op.op !== undefined) this.#partDone(op.op, threw);
        return;
      }
      case "unbind":
        if (device.binding === undefined) return this.#settle(op.op, "EINVAL");
        return this.#partDone(op.op, yield* this.#remove(device, "unbound"));
      case "unplug":
        return this.#partDone(op.op, yield* this.#remove(device, "unplugged"));
      case "unregister":
        if (device.binding?.driver !== op.driver) return this.#partDone(op.op);
        return this.#partDone(op.op, yield* this.#remove(device, "driver unregistered"));
    }
  }

  // ---- probe ----------------------------------------------------------------

  /**
   * Tries `candidates` in order until one binds or none is left; returns true
   * when a failed probe threw (its teardown raised a violation in dmaDebug
   * "throw" mode), which ends the loop.
   */
  *#probe(device: MDevice, candidates: readonly DriverName[]): Flow<boolean> {
    for (const [i, driver] of candidates.entries()) {
      if (device.state !== "no-driver") return false;
      if (!this.registered.includes(driver)) continue;
      const result = yield* this.#probeWith(device, driver);
      if (result === "bound") return false;
      if (result === "threw") {
        if (i < candidates.length - 1) this.reached.candidatesCut++;
        return true;
      }
    }
    return false;
  }

  *#probeWith(device: MDevice, driver: DriverName): Flow<"bound" | "failed" | "threw"> {
    const n = device.probes++;
    const binding = new MBinding(`${device.name}#${n}`, device, driver, device.plans[n % device.plans.length]!);
    this.bindings.push(binding);
    this.releases.set(binding.key, []);
    device.binding = binding;
    this.#state(device, "probing");
    this.#emit(device, "probe-start", driver);
    // A correct driver resets its device first: an engine left running by
    // someone else stops before this binding enables bus mastering.
    if (driver === "good" && hasEngine(device.kind)) {
      binding.regs = true;
      binding.stack.push({ r: "mmio" });
      this.#ctrl(device, binding, 0);
    }
    for (const step of binding.plan.steps) {
      if (step.t === "gate") {
        if (binding.probeGated) continue;
        binding.probeGated = true;
        this.reached.gatedProbes++;
        yield `${binding.key}/probe`;
        continue;
      }
      const failure = this.#step(binding, step);
      if (failure !== undefined) return yield* this.#probeFailed(binding, failure);
    }
    binding.core = false;
    this.#state(device, "bound");
    this.#emit(device, "probe-end", driver);
    return "bound";
  }

  /** Does one step; returns why the probe fails, if it does. */
  #step(binding: MBinding, step: Exclude<Step, { t: "gate" }>): "planned" | ErrorCode | undefined {
    const device = binding.device;
    switch (step.t) {
      case "alloc":
        return this.#alloc(binding, step.size, false) === undefined ? "ENOMEM" : undefined;
      case "free":
        this.#freeLive(binding, step.pick);
        return undefined;
      case "devres":
        this.#devres(binding, step.release);
        return undefined;
      case "await":
        return undefined;
      case "mask":
        binding.mask = step.bits;
        return undefined;
      case "fail":
        return "planned";
      case "engine": {
        if (!drivesHardware(binding.driver) || !hasEngine(device.kind) || binding.engineDone) return undefined;
        binding.engineDone = true;
        if (!binding.regs) {
          binding.regs = true;
          binding.stack.push({ r: "mmio" });
        }
        this.#ctrl(device, binding, 0);
        device.busMaster = true;
        binding.stack.push({ r: "bus mastering" });
        if (this.#alloc(binding, RING_BYTES, true) === undefined) return "ENOMEM";
        binding.stack.push({ r: "irq" });
        this.#ctrl(device, binding, 1);
        return undefined;
      }
      case "busMaster":
        // A driver that runs the engine turns bus mastering on with it.
        if ((drivesHardware(binding.driver) && hasEngine(device.kind)) || binding.busMastered) return undefined;
        binding.busMastered = true;
        device.busMaster = true;
        binding.stack.push({ r: "bus mastering" });
        if (step.mask64) binding.mask = 64;
        return undefined;
      case "pool": {
        const pool = new MPool(binding, binding.pools.length, step.size, step.align, step.boundary);
        binding.pools.push(pool);
        binding.stack.push({ r: "pool", p: pool });
        return undefined;
      }
      case "segmax":
        binding.maxSegment = step.bytes;
        return undefined;
      case "map": {
        // Never through bounce slots: probes of several devices run side by side, and which takes the last slot would be a guess.
        if (this.config.iommu === "passthrough" && binding.mask <= 32) return undefined;
        const buf = this.#kmalloc(`${binding.key}/m${binding.mapSteps++}`, step.size, false);
        const m = this.#map(binding, "single", [{ buf, offset: 0, length: step.size }], step.dir);
        if (typeof m === "string") return m;
        this.#commit(m);
        return undefined;
      }
    }
  }

  *#probeFailed(binding: MBinding, why: "planned" | ErrorCode): Flow<"failed" | "threw"> {
    const device = binding.device;
    binding.core = false;
    // The error path of a correct driver halts what it started.
    if (this.#halts(binding) && binding.regs) this.#ctrl(device, binding, 0);
    this.#emit(device, "probe-failed", binding.driver, { error: why === "planned" ? { planned: why } : { code: why } });
    const violated = yield* this.#teardown(binding);
    this.#state(device, "no-driver");
    device.binding = undefined;
    if (!violated || this.config.dmaDebug !== "throw") return "failed";
    this.#expect.threw++;
    return "threw";
  }

  // ---- remove and teardown --------------------------------------------------

  /** Unbinds; returns true when it throws (dmaDebug "throw" and a violation), once the device is at rest. */
  *#remove(device: MDevice, reason: Reason): Flow<boolean> {
    const final = reason === "unplugged" ? "zombie" : "no-driver";
    const binding = device.binding;
    if (binding === undefined) {
      if (device.state !== final) this.#state(device, final);
      return false;
    }
    this.#state(device, "unbinding");
    binding.core = true;
    this.#emit(device, "remove-start", binding.driver, { reason });
    if (this.#halts(binding) && binding.regs) this.#ctrl(device, binding, 0);
    let failed: ErrorCode | undefined;
    for (const step of binding.plan.inRemove) {
      if (step.t === "gate") {
        if (binding.removeGated) continue;
        binding.removeGated = true;
        this.reached.gatedRemoves++;
        yield `${binding.key}/remove`;
      } else if (step.t === "alloc") {
        if (this.#alloc(binding, step.size, false) === undefined) {
          failed = "ENOMEM";
          break;
        }
      } else if (step.t === "devres") {
        this.#devres(binding, step.release);
      } else if (step.t === "free") {
        this.#freeLive(binding, step.pick);
      } else if (step.t === "unmapAll") {
        this.#unmapAll(binding);
      }
    }
    const remove = binding.plan.remove;
    if (failed !== undefined) {
      this.#emit(device, "remove-failed", binding.driver, { error: { code: failed } });
    } else if (remove === "throws" || remove === "rejects") {
      this.#emit(device, "remove-failed", binding.driver, { error: { planned: remove === "throws" ? "removeThrew" : "removeRejected" } });
    }
    binding.core = false;
    let violated = false;
    if (device.present && device.busMaster && device.engine) {
      violated = this.#violation({ kind: "dma-after-remove", device: device.name, driver: binding.driver });
    }
    violated = (yield* this.#teardown(binding)) || violated;
    this.#state(device, final);
    device.binding = undefined;
    this.#emit(device, "remove-end", binding.driver, { reason });
    if (!violated || this.config.dmaDebug !== "throw") return false;
    this.#expect.threw++;
    return true;
  }

  /**
   * The token dies; devres is released last in first out, waiting for a
   * release already in flight; then the checks. Returns true if the checker
   * reported.
   */
  *#teardown(binding: MBinding): Flow<boolean> {
    const device = binding.device;
    const driver = binding.driver;
    let violated = false;
    /** Mappings or pool blocks devres had to take back. */
    let pending = false;
    binding.live = false;
    binding.core = false;
    this.#expect.died.push(binding);
    // Popped one by one: an entry freed early while the walk waits is not there to pop.
    for (let entry = binding.stack.pop(); entry !== undefined; entry = binding.stack.pop()) {
      // An engine still running keeps ticking through the release steps
      // (which may span commands, if the walk waits at a gate): its IRQ may
      // meet the dead token, its DMA the freed ring.
      if (device.present && device.engine) this.#expect.stray.add(device.name);
      switch (entry.r) {
        case "alloc": {
          if (device.present && device.busMaster && device.engine && entry.a === binding.ring) {
            // Freed while the running engine holds it: reported, and the
            // engine may DMA into it until bus mastering goes.
            violated = this.#violation({ kind: "free-while-held", device: device.name, driver }) || violated;
          }
          entry.a.freed = true;
          this.#emit(device, "release", driver, { resource: "coherent", alloc: entry.a });
          break;
        }
        case "devres": {
          const devres = entry.d;
          let failed: Planned | undefined;
          if (devres.state === "releasing") {
            // Released early and not done: the walk waits for that release.
            this.reached.walksWaited++;
            yield devres.id;
          } else {
            const revoked = this.#revoke(devres);
            failed = revoked.failed;
            if (revoked.waits) yield devres.id;
          }
          this.#emit(device, failed === undefined ? "release" : "release-failed", driver, failed === undefined ? { resource: "devres" } : { resource: "devres", error: { planned: failed } });
          break;
        }
        case "bus mastering":
          device.busMaster = false;
          this.#emit(device, "release", driver, { resource: "bus-master" });
          break;
        case "mmio":
          this.#emit(device, "release", driver, { resource: "mmio", bar: 0 });
          break;
        case "irq":
          this.#emit(device, "release", driver, { resource: "irq" });
          break;
        case "map":
          // Still mapped at unbind: devres unmaps it (the CPU gets what the device wrote), and it is reported.
          pending = true;
          this.#unmapPlatform(entry.m);
          this.#emit(device, "release", driver, { resource: "streaming", stream: entry.m });
          break;
        case "pool": {
          const out = entry.p.live();
          if (out.length > 0) pending = true;
          for (const block of out) release(block);
          destroy(entry.p);
          this.#emit(device, "release", driver, { resource: "dma-pool" });
          break;
        }
      }
    }
    if (pending) {
      this.#reachedDma("pending at unbind");
      violated = this.#violation({ kind: "pending-at-unbind", device: device.name, driver }) || violated;
    }
    if (device.present && device.engine) {
      violated = this.#violation({ kind: "held-after-unbind", device: device.name, driver }) || violated;
    }
    return violated;
  }

  /** True when the binding's driver halts its engine (in remove() and in its probe's error path). */
  #halts(binding: MBinding): boolean {
    return binding.driver === "good" || (binding.driver === "buggy" && this.options.trustBuggy === true);
  }

  /** A write of CTRL: dropped once the device is unplugged. */
  #ctrl(device: MDevice, binding: MBinding, value: 0 | 1): void {
    if (!device.present) return;
    if (value === 0) device.engine = false;
    else if (binding.ring !== undefined && !binding.ring.freed) device.engine = true;
  }

  // ---- resources ------------------------------------------------------------

  /** Allocates, or returns `undefined` for ENOMEM (nothing allocated). */
  #alloc(binding: MBinding, size: number, ring: boolean): MAlloc | undefined {
    if (this.#enomem(binding.mask)) return undefined;
    const alloc: MAlloc = { owner: binding, index: ring ? -1 : binding.allocs.length, size, freed: false, written: new Map() };
    if (ring) binding.ring = alloc;
    else binding.allocs.push(alloc);
    binding.stack.push({ r: "alloc", a: alloc });
    return alloc;
  }

  /**
   * The pool starts at 1 GiB and holds far less than 1 GiB, so in passthrough
   * a mask of 31 bits or more reaches all of it and 30 or less none. Strict
   * IOVAs start at 1 MiB, so 20 bits or less reach none and 24 plenty.
   */
  #enomem(bits: number): boolean {
    return this.config.iommu === "strict" ? bits <= 20 : bits <= 30;
  }

  /** Frees the `pick`-th live allocation of the binding's own list, if it has one. */
  #freeLive(binding: MBinding, pick: number): void {
    const live = binding.allocs.filter((a) => !a.freed);
    if (live.length > 0) this.#free(live[pick % live.length]!);
  }

  #free(alloc: MAlloc): void {
    alloc.freed = true;
    remove(alloc.owner.stack, (e) => e.r === "alloc" && e.a === alloc);
  }

  #devres(binding: MBinding, release: ReleaseKind): void {
    const devres: MDevres = { owner: binding, id: `${binding.key}/d${binding.devres.length}`, release, state: "live", waiters: [] };
    binding.devres.push(devres);
    binding.stack.push({ r: "devres", d: devres });
  }

  /**
   * Revokes a live devres entry: its callback runs once. A gated one waits at
   * its gate (`releasing`); the others are done at once. Says whether it
   * waits, and the error the callback raised, if any.
   */
  #revoke(devres: MDevres): { readonly waits: boolean; readonly failed: Planned | undefined } {
    devres.state = "released";
    if (devres.release === "none") return { waits: false, failed: undefined };
    this.releases.get(devres.owner.key)!.push(devres.id);
    switch (devres.release) {
      case "gated":
        devres.state = "releasing";
        this.reached.gatedReleases++;
        this.#reach(devres.id);
        return { waits: true, failed: undefined };
      case "throws":
        return { waits: false, failed: "releaseThrew" };
      case "rejects":
        return { waits: false, failed: "releaseRejected" };
      default:
        return { waits: false, failed: undefined };
    }
  }

  /** Takes a devres entry off its binding's stack, once its early release is done. */
  #forget(devres: MDevres): void {
    remove(devres.owner.stack, (e) => e.r === "devres" && e.d === devres);
  }

  // ---- escaped tokens and handles -------------------------------------------

  #use(command: Extract<Resolved, { c: "use" }>): Predicted {
    const b = this.#binding(command.key);
    const t = this.#binding(command.tokenKey);
    const op = command.op;
    const id = this.#op();
    const done = (result: Predicted["result"], extra: Omit<Predicted, "result"> = {}): Predicted => {
      this.#settle(id, result);
      return { result, ...extra };
    };
    if (isDmaOp(op)) return this.#dmaUse(b, t, op, command.dma!, id, done);
    switch (op.o) {
      case "alloc":
        if (!b.live) return done("ENXIO");
        return done(this.#alloc(b, op.size, false) === undefined ? "ENOMEM" : "ok");
      case "free": {
        const a = b.allocs[command.target]!;
        if (a.freed) {
          this.#violation({ kind: "double-free", device: b.device.name, driver: b.driver });
          return done("EINVAL");
        }
        this.#free(a);
        return done("ok");
      }
      case "freeCoherent": {
        if (!b.live) return done("ENXIO");
        const a = b.allocs[command.target]!;
        if (!a.freed) {
          this.#free(a);
          return done("ok");
        }
        // Freed already: the address may have gone to a later allocation of
        // the same binding, which a free by handle then frees.
        const handle = this.#seen.alloc(a);
        if (b.ring !== undefined && !b.ring.freed && this.#seen.alloc(b.ring) === handle) return done("skipped");
        const reused = b.allocs.find((x) => !x.freed && this.#seen.alloc(x) === handle);
        if (reused !== undefined) {
          this.#free(reused);
          return done("ok");
        }
        // A streaming mapping or pool block of the binding took the address since: the wrong function.
        const other = this.#liveStreams(b, handle)[0];
        if (other !== undefined) {
          this.#mismatch(b, { kind: "coherent" }, regionOf(other));
          return done("EINVAL");
        }
        this.#violation({ kind: "double-free", device: b.device.name, driver: b.driver });
        return done("EINVAL");
      }
      case "bytes": {
        const a = b.allocs[command.target]!;
        if (!t.live) return done("ENXIO");
        if (t !== b || a.freed) return done("EINVAL");
        return done("ok", { bytesOf: a });
      }
      case "write": {
        const a = b.allocs[command.target]!;
        if (!b.live) return done("ENXIO");
        if (a.freed) return done("EINVAL");
        a.written.set(op.offset % a.size, op.value);
        return done("ok", { value: op.value });
      }
      case "devres":
        if (!b.live) return done("ENXIO");
        this.#devres(b, op.release);
        return done("ok");
      case "access": {
        const d = b.devres[command.target]!;
        if (!t.live) return done("ENXIO");
        if (t !== b) return done("EINVAL");
        return done(d.state === "live" ? "ok" : "ENXIO");
      }
      case "release": {
        const d = b.devres[command.target]!;
        if (d.state === "released") return done("ok");
        if (d.state === "releasing") {
          // Another release is in flight: this one returns when it is done.
          d.waiters.push(id);
          return { result: "ok" };
        }
        const revoked = this.#revoke(d);
        if (revoked.waits) {
          d.waiters.push(id);
          return { result: "ok" };
        }
        this.#forget(d);
        return done(revoked.failed === undefined ? "ok" : "rejected");
      }
      case "mask":
        if (!b.live) return done("ENXIO");
        if (!b.core) return done("EPERM");
        b.mask = op.bits;
        return done("ok");
      case "mmio": {
        if (!b.live) return done("ENXIO");
        const device = b.device;
        return done("ok", { value: !device.present ? 0xffff_ffff : device.engine ? 1 : 0 });
      }
    }
  }


  // ---- streaming DMA and pools ---------------------------------------------

  #dmaUse(b: MBinding, t: MBinding, op: DmaOp, pick: DmaPick, opId: number, done: (result: Predicted["result"], extra?: Omit<Predicted, "result">) => Predicted): Predicted {
    const throws = this.config.dmaDebug === "throw";
    switch (op.o) {
      case "kmalloc":
        if (!b.live) return done("ENXIO");
        this.#kmalloc(`u${opId}`, op.size, op.vm);
        return done("ok");
      case "map": {
        if (!b.live) return done("ENXIO");
        if (pick.fresh !== undefined) this.#kmalloc(`u${opId}`, pick.fresh.size, pick.fresh.vm);
        const buf = this.#buffer(pick.bufs![0]!);
        if (buf.freed || buf.vm) return done("EINVAL");
        const span = pick.spans![0] ?? { off: 0, len: buf.size };
        const m = this.#map(b, "single", [{ buf, offset: span.off, length: span.len }], op.dir);
        if (typeof m === "string") return done(m);
        this.#commit(m);
        return done("ok");
      }
      case "mapSg": {
        if (!b.live) return done("ENXIO");
        if (pick.fresh !== undefined) this.#kmalloc(`u${opId}`, pick.fresh.size, pick.fresh.vm);
        const pieces: { buf: MBuffer; offset: number; length: number }[] = [];
        for (const [i, id] of pick.bufs!.entries()) {
          const buf = this.#buffer(id);
          if (buf.freed) return done("EINVAL");
          const span = pick.spans![i] ?? { off: 0, len: buf.size };
          // A vmalloc buffer gives one entry per page.
          for (const piece of this.#split(buf, span.off, span.len)) pieces.push(piece);
        }
        const m = this.#map(b, "sg", pieces, op.dir);
        if (typeof m === "string") return done(m);
        // dma-debug's segment check: a part longer than the device takes is a segment of its own, and too long.
        if (this.config.dmaDebug !== "off") {
          for (const part of m.parts) {
            if (part.length <= b.maxSegment) continue;
            this.#reachedDma("sg segment too long");
            this.#violation({ kind: "sg-segment-too-long", device: b.device.name, driver: b.driver });
            if (throws) {
              this.#unmapPlatform(m);
              return done("EINVAL");
            }
          }
        }
        this.#commit(m);
        if (m.entries > 1) this.#reachedDma("sg of several entries");
        return done("ok");
      }
      case "sync":
      case "unmap": {
        const m = b.maps[pick.map!]!;
        if (!t.live) return done("ENXIO");
        if (t !== b) return done("EINVAL");
        if (m.current !== pick.handle) {
          this.#reachedDma("stale handle refused");
          return done("EINVAL");
        }
        if (op.o === "unmap") {
          this.#unmapByDriver(m);
          return done("ok");
        }
        const forCpu = pick.forCpu!;
        if (forCpu && m.dir === "to-device") return done("EINVAL");
        if (m.owner === (forCpu ? "cpu" : "device")) return done("EINVAL");
        const span = pick.span ?? { off: 0, len: m.size };
        this.#sync(m, forCpu, span.off, span.len);
        m.handles++;
        m.current = m.handles - 1;
        if (span.len < m.size) this.#reachedDma("partial sync");
        return done("ok");
      }
      case "view": {
        const m = b.maps[pick.map!]!;
        if (!b.live) return done("ENXIO");
        if (m.current !== pick.handle || m.owner !== "cpu") return done("EINVAL");
        const buf = m.buffers[0]!;
        if (this.#cpuAccess(buf)) return done("EINVAL");
        const from = m.offset + m.window.offset;
        return done("ok", { data: buf.cpu.slice(from, from + m.window.length) });
      }
      case "kunmap": {
        if (!b.live) return done("ENXIO");
        const m = b.maps[pick.map!]!;
        const call: MCall =
          m.kind === "single"
            ? { kind: "single", size: op.wrong ? m.size + 1 : m.size, dir: m.dir }
            : { kind: "sg", dir: m.dir, entries: op.wrong ? m.entries + 1 : m.entries };
        const found = this.#find(b, this.#seen.mapping(m).address, call);
        if (found === undefined) return done("EINVAL");
        const reported = this.#mismatch(b, call, regionOf(found));
        this.#unmapByDriver(found);
        return done(reported && throws ? "EINVAL" : "ok");
      }
      case "ksync":
        return done(this.#syncByAddress(b, b.maps[pick.map!]!, pick));
      case "dma":
        return this.#deviceDma(b, b.maps[pick.map!]!, { ...op, write: pick.write! }, done);
      case "poolAlloc": {
        const pool = b.pools[pick.pool!]!;
        if (!t.live) return done("ENXIO");
        if (t !== b || pool.destroyed) return done("EINVAL");
        let chunk = pool.chunks.find((c) => c.free.length > 0);
        if (chunk === undefined) {
          if (this.#enomem(b.mask)) return done("ENOMEM");
          chunk = { free: [...pool.offsets].reverse(), first: undefined };
          pool.chunks.push(chunk);
        }
        const block: MBlock = { pool, index: pool.blocks.length, chunk, offset: chunk.free.pop()!, freed: false, written: new Map() };
        chunk.first ??= block;
        pool.blocks.push(block);
        b.streams.push(block);
        return done("ok");
      }
      case "blockFree": {
        const block = b.pools[pick.pool!]!.blocks[pick.block!]!;
        if (block.freed) return done("EINVAL");
        release(block);
        return done("ok");
      }
      case "poolFree": {
        const pool = b.pools[pick.pool!]!;
        const block = pool.blocks[pick.block!]!;
        if (!b.live) return done("ENXIO");
        const handle = this.#seen.block(block);
        const same = pool.live().find((x) => this.#seen.block(x) === handle);
        if (same !== undefined) {
          release(same);
          return done("ok");
        }
        this.#reachedDma("pool free of a freed block");
        const other: MStream | MAlloc | undefined = this.#liveStreams(b, handle)[0] ?? this.#liveAllocAt(b, handle);
        if (other !== undefined) this.#mismatch(b, { kind: "pool" }, regionOf(other));
        else this.#violation({ kind: "double-free", device: b.device.name, driver: b.driver });
        return done("EINVAL");
      }
      case "poolDestroy": {
        const pool = b.pools[pick.pool!]!;
        if (pool.destroyed) return done("EINVAL");
        if (pool.live().length > 0) {
          this.#reachedDma("pool destroy while blocks are out");
          return done("EBUSY");
        }
        remove(b.stack, (e) => e.r === "pool" && e.p === pool);
        destroy(pool);
        return done("ok");
      }
      case "blockWrite": {
        const block = b.pools[pick.pool!]!.blocks[pick.block!]!;
        if (!b.live) return done("ENXIO");
        if (block.freed) return done("EINVAL");
        block.written.set(op.offset % block.pool.size, op.value);
        return done("ok", { value: op.value });
      }
      case "blockRead": {
        const block = b.pools[pick.pool!]!.blocks[pick.block!]!;
        if (!t.live) return done("ENXIO");
        if (t !== b || block.freed) return done("EINVAL");
        return done("ok", { blockOf: block });
      }
    }
  }

  /** What the CPU does with a kernel buffer. */
  #buf(command: Extract<Resolved, { c: "buf" }>): Predicted {
    const id = this.#op();
    const done = (result: Predicted["result"], extra: Omit<Predicted, "result"> = {}): Predicted => {
      this.#settle(id, result);
      return { result, ...extra };
    };
    const buf = this.#buffer(command.buf);
    if (buf.freed) return done("EINVAL");
    switch (command.op.b) {
      case "free":
        if (buf.maps.length > 0) {
          this.#reachedDma("free of a mapped buffer refused");
          return done("EBUSY");
        }
        buf.freed = true;
        return done("ok");
      case "read": {
        if (this.#cpuAccess(buf)) return done("EINVAL");
        return done("ok", { data: buf.cpu.slice(0, buf.size) });
      }
      case "write":
        if (this.#cpuAccess(buf)) return done("EINVAL");
        buf.cpu[command.offset] = command.op.value;
        return done("ok", { value: command.op.value });
    }
  }

  #kmalloc(id: string, size: number, vm: boolean): MBuffer {
    const page = this.config.pageSize;
    // A slab slot up to half a page, whole pages above; vmalloc is always pages.
    const bytes = !vm && size <= page / 2 ? sizeClass(size) : Math.ceil(size / page) * page;
    const buf = new MBuffer(this.buffers.length, id, size, vm, bytes, bytes);
    this.buffers.push(buf);
    return buf;
  }

  /** `[offset, offset + length)` of `buf` as sg entries: one, or one per page of a vmalloc buffer. */
  #split(buf: MBuffer, offset: number, length: number): { buf: MBuffer; offset: number; length: number }[] {
    if (!buf.vm) return [{ buf, offset, length }];
    const page = this.config.pageSize;
    const out: { buf: MBuffer; offset: number; length: number }[] = [];
    for (let start = Math.floor(offset / page) * page; start < offset + length; start += page) {
      const from = Math.max(offset, start);
      const to = Math.min(offset + length, start + page);
      out.push({ buf, offset: from, length: to - from });
    }
    return out;
  }

  /**
   * Maps `pieces` for `b`'s device: bounce slots, the handover, the cache-line
   * check. Returns the mapping (not yet the binding's: see `#commit`), or why
   * it failed, having changed nothing but RAM's copy of what it wrote back.
   */
  #map(b: MBinding, kind: "single" | "sg", pieces: readonly { buf: MBuffer; offset: number; length: number }[], dir: DataDirection): MMapping | "ENOMEM" | "EINVAL" {
    const ranges = pieces.flatMap((p) => this.#split(p.buf, p.offset, p.length));
    const parts: MPart[] = [];
    if (this.config.iommu === "strict") {
      // IOVAs start at 1 MiB.
      if (b.mask <= 20) return "ENOMEM";
      for (const r of ranges) parts.push({ buf: r.buf, at: r.offset, length: r.length, slot: undefined, data: undefined });
    } else {
      // The heap lies at 4 GiB: a mask of 32 bits or less bounces it.
      const bounce = b.mask <= 32;
      for (const r of ranges) {
        let slot: number | undefined;
        if (bounce) {
          slot = this.#takeSlots(Math.ceil(r.length / SLOT), b.mask);
          if (slot === undefined) {
            for (const p of parts) this.#giveSlots(p);
            this.#reachedDma(b.mask > 23 ? "swiotlb full" : "swiotlb beyond the mask");
            return "ENOMEM";
          }
        }
        parts.push({ buf: r.buf, at: r.offset, length: r.length, slot, data: bounce ? new Uint8Array(r.length) : undefined });
      }
    }
    const buffers = [...new Set(pieces.map((p) => p.buf))];
    const m = new MMapping(b, b.maps.length, kind, dir, parts, kind === "single" ? 1 : ranges.length, kind === "single" ? pieces[0]!.offset : 0, buffers);
    m.epoch = this.#epoch;
    // The handover: bounce slots take a copy; a non-coherent device's view is written back.
    for (const part of parts) {
      if (part.data !== undefined) part.data.set(part.buf.cpu.subarray(part.at, part.at + part.length));
      else if (!this.#coherent) {
        part.buf.ram ??= part.buf.cpu.slice();
        cacheSync(part.buf, part.at, part.length, dir === "from-device" ? "invalidate" : "writeback");
      }
    }
    if (m.bounced) this.#reachedDma("bounced map");
    // dma-debug's cache-line check, against the buffer's other live mappings the device may write. A buffer starts on a line, so lines are its own.
    const lines = (p: MPart): readonly [number, number] => [Math.floor(p.at / 64), Math.floor((p.at + p.length - 1) / 64)];
    const overlap =
      dir !== "to-device" &&
      parts.some((part) =>
        part.buf.maps.some(
          (other) =>
            other.live &&
            other.dir !== "to-device" &&
            other.parts.some((p) => {
              if (p.buf !== part.buf) return false;
              const [a, b] = lines(part);
              const [c, d] = lines(p);
              return a <= d && c <= b;
            }),
        ),
      );
    for (const buf of buffers) buf.maps.push(m);
    if (overlap) {
      this.#reachedDma("overlapping cache line");
      if (this.#violation({ kind: "overlapping-cacheline", device: b.device.name, driver: b.driver }) && this.config.dmaDebug === "throw") {
        this.#unmapPlatform(m);
        return "EINVAL";
      }
    }
    return m;
  }

  /** A mapping made: the binding's from now on, on its devres stack. */
  #commit(m: MMapping): void {
    const b = m.binding;
    b.maps.push(m);
    b.streams.push(m);
    b.stack.push({ r: "map", m });
  }

  #takeSlots(count: number, mask: number): number | undefined {
    if (count > 128) return undefined;
    const limit = Math.floor((2 ** mask - SWIOTLB_BASE) / SLOT);
    let run = 0;
    for (let i = 0; i < this.slots.length; i++) {
      run = this.slots[i] ? 0 : run + 1;
      if (run < count) continue;
      const start = i - count + 1;
      if (start + count > limit) return undefined;
      for (let j = start; j <= i; j++) this.slots[j] = true;
      return start;
    }
    return undefined;
  }

  #giveSlots(part: MPart): void {
    if (part.slot === undefined) return;
    for (let j = 0; j < Math.ceil(part.length / SLOT); j++) this.slots[part.slot + j] = false;
  }

  /** Hands `[offset, offset + length)` of `m` to the CPU or to the device. */
  #sync(m: MMapping, forCpu: boolean, offset: number, length: number): void {
    eachPart(m, offset, length, (part, at, size) => {
      const from = part.at + at;
      if (part.data !== undefined) {
        if (forCpu ? m.dir !== "to-device" : m.dir !== "from-device") {
          if (forCpu) part.buf.cpu.set(part.data.subarray(at, at + size), from);
          else part.data.set(part.buf.cpu.subarray(from, from + size), at);
        }
      } else if (!this.#coherent) {
        if (!forCpu) cacheSync(part.buf, from, size, m.dir === "from-device" ? "invalidate" : "writeback");
        else if (m.dir !== "to-device") cacheSync(part.buf, from, size, "invalidate");
      }
    });
    m.owner = forCpu ? "cpu" : "device";
    if (forCpu) {
      m.window = { offset, length };
      if (m.written && m.dir !== "to-device") this.#reachedDma(m.bounced ? "device data bounced back to the CPU" : this.#coherent ? "device data synced for the CPU" : "device data synced past the CPU's cache");
      m.written = false;
    }
  }

  /** Unmaps `m` on the platform: the CPU gets the memory back (synced, if the device owned it); its slots go. */
  #unmapPlatform(m: MMapping): void {
    if (m.owner === "device") this.#sync(m, true, 0, m.size);
    m.live = false;
    m.current = undefined;
    for (const part of m.parts) this.#giveSlots(part);
    for (const buf of m.buffers) remove(buf.maps, (x) => x === m);
  }

  /** The driver unmaps `m` (by a handle or by address): off the devres stack too. */
  #unmapByDriver(m: MMapping): void {
    remove(m.binding.stack, (e) => e.r === "map" && e.m === m);
    this.#unmapPlatform(m);
  }

  /**
   * The binding's live mappings and pool blocks at bus address `address`
   * (the first segment's, a block's), oldest first. A mapping made in this
   * very command (a probe's map step, resumed at a gate, before a remove()
   * unmaps by address) has no address the rig can tell yet; it is of a fresh
   * buffer and never bounced, so it shares no address with an older one.
   */
  #liveStreams(b: MBinding, address: bigint): MStream[] {
    return b.streams.filter((x) =>
      x instanceof MMapping ? x.live && x.epoch !== this.#epoch && this.#seen.mapping(x).address === address : !x.freed && this.#seen.block(x) === address,
    );
  }

  /** The binding's live coherent allocation (the ring included) at `handle`, if any. */
  #liveAllocAt(b: MBinding, handle: bigint): MAlloc | undefined {
    return [...b.allocs, ...(b.ring === undefined ? [] : [b.ring])].find((a) => !a.freed && this.#seen.alloc(a) === handle);
  }

  /**
   * What a call by address finds: the first live mapping at the address of
   * the call's kind (of its size, if it says one). Otherwise the checker
   * hears of what is there instead (the wrong function), or of nothing (a
   * double unmap: the address was this binding's once), and it is `EINVAL`.
   */
  #find(b: MBinding, address: bigint, call: MCall): MMapping | undefined {
    const list = this.#liveStreams(b, address);
    const kindOf = (x: MStream): string => (x instanceof MMapping ? x.kind : "pool");
    const sizeOf = (x: MStream): number => (x instanceof MMapping ? x.size : x.pool.size);
    const found = list.find((x) => kindOf(x) === call.kind && (call.size === undefined || sizeOf(x) === call.size)) ?? list.find((x) => kindOf(x) === call.kind) ?? list[0];
    if (found !== undefined && kindOf(found) === call.kind) return found as MMapping;
    const region = found ?? this.#liveAllocAt(b, address);
    if (region !== undefined) {
      this.#mismatch(b, call, regionOf(region));
    } else {
      this.#reachedDma(call.sync === true ? "sync of an unmapped address" : "unmap of an unmapped address");
      this.#violation({ kind: call.sync === true ? "sync-unmapped" : "double-free", device: b.device.name, driver: b.driver });
    }
    return undefined;
  }

  /** dma-debug's comparison of a call with the mapping it found: each difference is a violation. Returns true if any was reported. */
  #mismatch(b: MBinding, call: MCall, region: MRegion): boolean {
    const kinds: DmaViolationKind[] = [];
    if (call.kind !== region.kind) kinds.push("wrong-function");
    if (call.size !== undefined && call.size !== region.size) kinds.push("wrong-size");
    if (call.entries !== undefined && region.entries !== undefined && call.entries !== region.entries) kinds.push("wrong-sg-count");
    if (call.dir !== undefined && region.dir !== undefined && call.dir !== region.dir) kinds.push("wrong-direction");
    let reported = false;
    for (const kind of kinds) {
      this.#reachedDma(kind);
      reported = this.#violation({ kind, device: b.device.name, driver: b.driver }) || reported;
    }
    return reported;
  }

  /** A sync by address (`syncSingleFor…`, `syncSgFor…`); its result. */
  #syncByAddress(b: MBinding, m: MMapping, pick: DmaPick): Predicted["result"] {
    if (!b.live) return "ENXIO";
    const forCpu = pick.forCpu!;
    const throws = this.config.dmaDebug === "throw";
    const device = b.device.name;
    if (m.kind === "sg") {
      if (!m.live) {
        this.#reachedDma("sync of an unmapped address");
        this.#violation({ kind: "sync-unmapped", device, driver: b.driver });
        return "EINVAL";
      }
      const reported = pick.wrong === true ? this.#mismatch(b, { kind: "sg", entries: m.entries + 1 }, regionOf(m)) : false;
      this.#sync(m, forCpu, 0, m.size);
      m.current = undefined;
      return reported && throws ? "EINVAL" : "ok";
    }
    const span = pick.span!;
    const found = this.#find(b, this.#seen.mapping(m).address, { kind: "single", size: span.len, dir: m.dir, sync: true });
    if (found === undefined) return "EINVAL";
    const kinds: DmaViolationKind[] = [];
    if (span.off + span.len > found.size) kinds.push("sync-outside-mapping");
    const mapped = found.dir;
    if (mapped !== "bidirectional") {
      if (m.dir !== mapped) kinds.push("sync-wrong-direction");
      if (forCpu && mapped !== "from-device" && m.dir !== "to-device") kinds.push("sync-read-only-for-cpu");
      if (!forCpu && mapped !== "to-device" && m.dir !== "from-device") kinds.push("sync-write-only-for-device");
    }
    let reported = false;
    for (const kind of kinds) {
      this.#reachedDma(kind);
      reported = this.#violation({ kind, device, driver: b.driver }) || reported;
    }
    if (span.off + span.len > found.size) return "EINVAL";
    this.#sync(found, forCpu, span.off, span.len);
    found.current = undefined;
    return reported && throws ? "EINVAL" : "ok";
  }

  /**
   * The device reads or writes a mapping, where the mapping allows it and no
   * other live mapping of the device shares those bus addresses (which one
   * the device meant would be a guess); its data, or `skipped`.
   */
  #deviceDma(b: MBinding, m: MMapping, op: Extract<DmaOp, { o: "dma" }>, done: (result: Predicted["result"], extra?: Omit<Predicted, "result">) => Predicted): Predicted {
    const allowed = op.write ? m.dir !== "to-device" : m.dir !== "from-device";
    const device = b.device;
    if (!m.live || m.owner !== "device" || !allowed || !device.present) {
      this.#reachedDma(`device DMA skipped: ${!m.live ? "unmapped" : m.owner !== "device" ? "CPU-owned" : !allowed ? "direction" : "unplugged"}`);
      return done("skipped");
    }
    const { offset, length } = dmaWindow(this.#seen.mapping(m).segments, m.size, op.at, op.len);
    if (this.#shared(m, offset, length)) {
      this.#reachedDma("device DMA skipped: bus addresses shared");
      return done("skipped");
    }
    if (!device.busMaster) {
      // Blocked: a write lands nowhere, a read gives all-ones.
      return op.write ? done("ok") : done("ok", { data: new Uint8Array(length).fill(0xff) });
    }
    const data = op.write ? pattern(op.value, length) : new Uint8Array(length);
    eachPart(m, offset, length, (part, at, size, done_) => {
      const from = part.at + at;
      if (op.write) {
        const piece = data.subarray(done_, done_ + size);
        if (part.data !== undefined) part.data.set(piece, at);
        else {
          // A snooping write updates the CPU's copy and RAM; a plain one RAM only.
          if (part.buf.ram !== undefined) part.buf.ram.set(piece, from);
          if (this.#coherent || part.buf.ram === undefined) part.buf.cpu.set(piece, from);
        }
      } else {
        const source = part.data !== undefined ? part.data.subarray(at, at + size) : (this.#coherent ? part.buf.cpu : (part.buf.ram ?? part.buf.cpu)).subarray(from, from + size);
        data.set(source, done_);
      }
    });
    this.#reachedDma(op.write ? "device writes" : "device reads");
    if (this.#overlapping(m, offset, length)) this.#reachedDma("device DMA where windows overlap");
    if (op.write) m.written = true;
    if (m.bounced) this.#reachedDma("device DMA through bounce slots");
    return op.write ? done("ok") : done("ok", { data });
  }

  /** True when another live mapping of `m`'s device covers any of the bus addresses of `[offset, offset + length)` of `m`. */
  #shared(m: MMapping, offset: number, length: number): boolean {
    // Behind a strict IOMMU every mapping has its own IOVAs; bounce slots are never shared.
    if (this.config.iommu === "strict") return false;
    let shared = false;
    eachPart(m, offset, length, (part, at, size) => {
      if (part.data !== undefined) return;
      const from = part.at + at;
      for (const { other, p } of this.#liveParts(m)) {
        if (other !== m && p.data === undefined && p.buf === part.buf && p.at < from + size && from < p.at + p.length) shared = true;
      }
    });
    return shared;
  }

  /** Every part of every live mapping of `m`'s device, `m`'s own included. */
  *#liveParts(m: MMapping): Generator<{ other: MMapping; p: MMapping["parts"][number] }> {
    for (const x of this.bindings) {
      if (x.device !== m.binding.device) continue;
      for (const other of x.maps) {
        if (!other.live) continue;
        for (const p of other.parts) yield { other, p };
      }
    }
  }

  /**
   * True when, in passthrough, another live window of the device (another
   * mapping's, or another segment of this one) starts inside the part the
   * transfer is in, without covering the transfer: where the checker must
   * look past the window nearest below the address.
   */
  #overlapping(m: MMapping, offset: number, length: number): boolean {
    if (this.config.iommu === "strict") return false;
    let found = false;
    eachPart(m, offset, length, (part, at, size) => {
      if (part.data !== undefined) return;
      const from = part.at + at;
      for (const { p } of this.#liveParts(m)) {
        if (p === part || p.data !== undefined || p.buf !== part.buf) continue;
        if (p.at > part.at && p.at <= from && !(p.at + p.length >= from + size)) found = true;
      }
    });
    return found;
  }

  /**
   * The CPU takes a view of `buf`: if a mapping of it is device-owned, the
   * checker reports it (once per mapping), and in throw mode the access
   * throws. Returns true if it throws.
   */
  #cpuAccess(buf: MBuffer): boolean {
    const m = buf.maps.find((x) => x.owner === "device");
    if (m === undefined) return false;
    this.#reachedDma("CPU access to a device-owned buffer");
    if (this.#stale(buf, m)) this.#reachedDma(m.bounced ? "stale data read: bounced" : "stale data read: non-coherent cache");
    if (this.config.dmaDebug === "off") return false;
    const facts = this.#seen.mapping(m);
    const key = `${m.binding.device.name}:${facts.address}:${facts.time}`;
    if (this.#cpuReported.has(key)) return false;
    this.#cpuReported.add(key);
    this.#violation({ kind: "cpu-access-device-owned", device: m.binding.device.name, driver: m.binding.driver });
    return this.config.dmaDebug === "throw";
  }

  /** True when the CPU's copy of `m`'s bytes of `buf` differs from what the device has there: what reading it now shows. */
  #stale(buf: MBuffer, m: MMapping): boolean {
    for (const p of m.parts) {
      if (p.buf !== buf) continue;
      const device = p.data ?? (this.#coherent ? undefined : buf.ram?.subarray(p.at, p.at + p.length));
      if (device === undefined) continue;
      for (let i = 0; i < p.length; i++) if (device[i] !== buf.cpu[p.at + i]) return true;
    }
    return false;
  }

  /** What a correct remove() does: unmap what is mapped, free what is allocated from the pools. */
  #unmapAll(b: MBinding): void {
    for (const m of b.maps) {
      if (!m.live) continue;
      if (m.current !== undefined) this.#unmapByDriver(m);
      else {
        const found = this.#find(b, this.#seen.mapping(m).address, m.kind === "single" ? { kind: "single", size: m.size, dir: m.dir } : { kind: "sg", dir: m.dir, entries: m.entries });
        if (found === undefined) throw new Error(`reference: ${b.key} cannot find its own live mapping #${m.index}`);
        this.#mismatch(b, m.kind === "single" ? { kind: "single", size: m.size, dir: m.dir } : { kind: "sg", dir: m.dir, entries: m.entries }, regionOf(found));
        this.#unmapByDriver(found);
      }
    }
    for (const pool of b.pools) for (const block of pool.live()) release(block);
  }

  /** The binding whose token a use passes: see `UseOp`. */
  #tokenOf(token: number, own: MBinding): MBinding {
    if (token < 0) return own;
    if (token < 16) return this.bindings[token % this.bindings.length]!;
    const live = this.bindings.filter((b) => b.live);
    return live.length === 0 ? own : live[(token - 16) % live.length]!;
  }

  // ---- bookkeeping ----------------------------------------------------------

  #state(device: MDevice, next: DeviceState): void {
    this.#emit(device, "state", device.binding?.driver, { from: device.state, to: next });
    device.state = next;
  }

  #emit(device: MDevice, kind: MachineEventKind, driver: string | undefined, fields: PFields = {}): void {
    this.events.get(device.name)!.push({ kind, driver, ...fields });
  }

  #op(): number {
    const id = this.#nextOp++;
    this.ops.set(id, { settled: false, result: "ok" });
    return id;
  }

  #settle(op: number, result: Predicted["result"]): void {
    this.ops.set(op, { settled: true, result });
    this.#parts.delete(op);
  }

  /**
   * One device's part of a bus call is done. A part that threw rejects the
   * call at once, as `Promise.all` does, whatever the other parts still do.
   */
  #partDone(op: number, threw = false): void {
    const left = this.#parts.get(op);
    if (left === undefined) return;
    if (threw) this.#settle(op, "EINVAL");
    else if (left > 1) this.#parts.set(op, left - 1);
    else this.#settle(op, "ok");
  }

  /** The checker reports `violation`, unless it is off. Returns true if it does. */
  #violation(violation: PViolation): boolean {
    if (this.config.dmaDebug === "off") return false;
    this.#expect.required.push(violation);
    return true;
  }

  #device(name: string): MDevice {
    return this.devices.find((d) => d.name === name)!;
  }

  #binding(key: string): MBinding {
    return this.bindings.find((b) => b.key === key)!;
  }
}

function fresh(): Expectation {
  return { required: [], stray: new Set(), died: [], threw: 0, outcome: undefined };
}

/** State changes asked for and not finished: the one in progress, and those queued behind it. */
function pending(device: MDevice): number {
  return (device.current === undefined ? 0 : 1) + device.queue.length;
}

function remove<Item>(items: Item[], match: (item: Item) => boolean): void {
  const at = items.findIndex(match);
  if (at >= 0) items.splice(at, 1);
}

/** The ops that act on a mapping, and those that act on a pool. */
const MAP_OPS: ReadonlySet<string> = new Set(["sync", "unmap", "view", "kunmap", "ksync", "dma"]);
const POOL_OPS: ReadonlySet<string> = new Set(["poolAlloc", "blockFree", "poolFree", "poolDestroy", "blockWrite", "blockRead"]);

/** swiotlb slots, and where the pool lies. */
const SLOT = 2048;
const SWIOTLB_BASE = 0x80_0000;

/** The part of something of `size` bytes a {@link Span} names. */
export function spanOf(span: Span, size: number): Span {
  const off = span.off % size;
  return { off, len: 1 + (span.len % (size - off)) };
}

/** The kmalloc size class: a power of two from one cache line up. */
function sizeClass(bytes: number): number {
  let size = 64;
  while (size < bytes) size *= 2;
  return size;
}

/**
 * Cache maintenance over `[at, at + length)` of `buf`, widened to whole
 * 64-byte lines (a buffer starts on one) and clipped to its backing.
 * `writeback`: the CPU's lines to RAM; `invalidate`: RAM to the CPU.
 */
function cacheSync(buf: MBuffer, at: number, length: number, op: "writeback" | "invalidate"): void {
  const ram = buf.ram;
  if (ram === undefined) return;
  const first = Math.floor(at / 64) * 64;
  const end = Math.min(buf.backing, Math.ceil((at + length) / 64) * 64);
  if (end <= first) return;
  if (op === "writeback") ram.set(buf.cpu.subarray(first, end), first);
  else buf.cpu.set(ram.subarray(first, end), first);
}

/** Calls `visit` for each part's share of mapping bytes `[offset, offset + length)`: the part, the offset into it, the size, and the bytes before it. */
function eachPart(m: MMapping, offset: number, length: number, visit: (part: MPart, at: number, size: number, done: number) => void): void {
  let start = 0;
  for (const part of m.parts) {
    const from = Math.max(offset, start);
    const to = Math.min(offset + length, start + part.length);
    if (from < to) visit(part, from - start, to - from, from - offset);
    start += part.length;
  }
}

/** What the checker knows of a live mapping, block or coherent allocation. */
function regionOf(x: MStream | MAlloc): MRegion {
  if (x instanceof MMapping) return { kind: x.kind, size: x.size, dir: x.dir, entries: x.entries };
  if ("pool" in x) return { kind: "pool", size: x.pool.size };
  return { kind: "coherent", size: x.size };
}

/** A pool block goes back: its offset is the next handed out. */
function release(block: MBlock): void {
  block.freed = true;
  block.chunk.free.push(block.offset);
}

/** A pool is destroyed: its chunks go back to the coherent pool. */
function destroy(pool: MPool): void {
  pool.destroyed = true;
  pool.chunks.splice(0);
}

/** The name the bus gives its n-th unnamed device. */
function slotName(slot: number): string {
  return `${hex4(Math.floor(slot / 8192))}:${(Math.floor(slot / 32) % 256).toString(16).padStart(2, "0")}:${(slot % 32).toString(16).padStart(2, "0")}.0`;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
