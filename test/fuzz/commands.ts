/**
 * What the lifecycle fuzzer does, as plain data: the machine's configuration,
 * the commands of one sequence, and the plan each probe follows. Plain data
 * shrinks well and prints as a readable counterexample; the reference model
 * (reference.ts) and the rig (rig.ts) both interpret it.
 */

import fc from "fast-check";
import type { DataDirection, DmaDebugMode, IommuMode } from "../../src/index.js";
import type { DeviceKind } from "./models.js";

/** The drivers every fuzzed machine registers from. */
export type DriverName = "good" | "buggy" | "plain" | "spare";
export const DRIVERS: readonly DriverName[] = ["good", "buggy", "plain", "spare"];

/**
 * Which device kinds each driver binds. `good` and `buggy` drive the engine;
 * `buggy` is `good` with the halt forgotten. `plain` and `spare` never touch
 * hardware. Only `good` and `buggy` bind the engine kinds they could leave
 * running, so a hardware-blind driver never inherits a running engine.
 */
export const DRIVER_KINDS: Readonly<Record<DriverName, readonly DeviceKind[]>> = {
  good: ["tick", "copy"],
  buggy: ["tick"],
  plain: ["plain", "copy"],
  spare: ["plain"],
};

/** True for the drivers that set up and run the engine. */
export function drivesHardware(driver: DriverName): boolean {
  return driver === "good" || driver === "buggy";
}

/** How a devres entry's release function behaves; `gated` waits until the fuzzer opens its gate. */
export type ReleaseKind = "none" | "sync" | "async" | "gated" | "throws" | "rejects";
/** How a driver's remove() ends. */
export type RemoveKind = "sync" | "async" | "throws" | "rejects";

/** One step of a probe. */
export type Step =
  | { readonly t: "alloc"; readonly size: number }
  /** Frees one of this binding's live allocations (the `pick`-th, modulo). */
  | { readonly t: "free"; readonly pick: number }
  | { readonly t: "devres"; readonly release: ReleaseKind }
  /**
   * `sleep` waits on virtual time, driving the clock. Under dmaDebug "throw"
   * it is a tick instead: a driver driving the clock is handed any device's
   * violation, so another device's stray DMA would fail this probe.
   */
  | { readonly t: "await"; readonly how: "microtask" | "tick" | "sleep" }
  /** Waits until the fuzzer opens the gate: the probe stays in flight across commands. */
  | { readonly t: "gate" }
  | { readonly t: "mask"; readonly bits: number }
  /** Bus mastering, BAR 0, a ring, the IRQ, optionally a task, and the engine started. */
  | { readonly t: "engine"; readonly task: boolean }
  | { readonly t: "fail" }
  /**
   * Bus mastering on, for a driver that does not run the engine (one that
   * does gets it with the engine); with `mask64`, the 64-bit DMA mask too,
   * as drivers set both in probe.
   */
  | { readonly t: "busMaster"; readonly mask64: boolean }
  /** `createDmaPool(dev, name, size, align, boundary)`. */
  | { readonly t: "pool"; readonly size: number; readonly align: number; readonly boundary: number }
  /** `setMaxSegmentSize(dev, bytes)`. */
  | { readonly t: "segmax"; readonly bytes: number }
  /** `kmalloc(dev, size)` and `mapSingle` of all of it, as a driver maps its receive buffers in probe: ENOMEM fails the probe. */
  | { readonly t: "map"; readonly size: number; readonly dir: DataDirection };

/** One step of a remove(), after a correct driver has halted its engine. */
export type RemoveStep =
  | { readonly t: "alloc"; readonly size: number }
  | { readonly t: "free"; readonly pick: number }
  | { readonly t: "devres"; readonly release: ReleaseKind }
  | { readonly t: "await"; readonly how: "microtask" | "tick" }
  /** Waits until the fuzzer opens the gate: the device stays `unbinding` across commands. */
  | { readonly t: "gate" }
  /**
   * What a correct driver does in remove(): unmaps every mapping still live
   * (by its current handle, or by address when it has none) and frees every
   * pool block still out, so nothing is pending at unbind.
   */
  | { readonly t: "unmapAll" };

/** What one probe does, step by step, and what its remove() does and how it ends. */
export interface ProbePlan {
  readonly steps: readonly Step[];
  readonly inRemove: readonly RemoveStep[];
  readonly remove: RemoveKind;
}

/** A use, at a random later time, of a binding's escaped token or handles. */
export type UseOp =
  | { readonly o: "alloc"; readonly size: number }
  | { readonly o: "free"; readonly pick: number }
  | { readonly o: "freeCoherent"; readonly pick: number }
  /**
   * `bytes(token)` with the token of this binding (`token` -1), of any
   * binding (0 to 15, modulo) or of a live one (16 to 31, modulo; this
   * binding's if none is live).
   */
  | { readonly o: "bytes"; readonly pick: number; readonly token: number }
  | { readonly o: "write"; readonly pick: number; readonly offset: number; readonly value: number }
  | { readonly o: "devres"; readonly release: ReleaseKind }
  | { readonly o: "access"; readonly pick: number; readonly token: number }
  | { readonly o: "release"; readonly pick: number }
  | { readonly o: "mask"; readonly bits: number }
  | { readonly o: "mmio" }
  | DmaOp;

/**
 * A part of something of `size` bytes, taken modulo: from `off % size`,
 * `1 + len % (size - from)` bytes.
 */
export interface Span {
  readonly off: number;
  readonly len: number;
}

/**
 * Which mapping, pool or buffer an op names: -1 the newest, otherwise an
 * index modulo the list. For buffers, 16 and above pick among the live ones.
 */
export type Pick = number;

/**
 * Streaming DMA and DMA pools, with a binding's token (or, for `token`, the
 * token of another binding, as for `bytes`). Handles: -1 the newest the
 * driver got, otherwise any it kept (a stale one, unless it is the current).
 */
export type DmaOp =
  /** `kmalloc(dev, size)`, or `vmalloc` with `vm`. */
  | { readonly o: "kmalloc"; readonly size: number; readonly vm: boolean }
  /**
   * `mapSingle(dev, buffer, dir)`, or of a part of the buffer. With `fresh`
   * (or with no live buffer to pick), of a buffer `kmalloc`ed just before.
   */
  | {
      readonly o: "map";
      readonly buf: Pick;
      readonly dir: DataDirection;
      readonly span: Span | undefined;
      readonly fresh: number | undefined;
      /** Instead, (part of) the buffer of the binding's newest live single mapping again: two windows on the same memory. */
      readonly again: boolean;
    }
  /** `mapSg(dev, [buffer or piece, …], dir)`; with `fresh`, a buffer allocated just before comes last (vmalloc with `vm`). */
  | {
      readonly o: "mapSg";
      readonly items: readonly { readonly buf: Pick; readonly span: Span | undefined }[];
      readonly dir: DataDirection;
      readonly fresh: { readonly size: number; readonly vm: boolean } | undefined;
      /** The first item's buffer once more, whole, at the end: entries that overlap. */
      readonly again: boolean;
    }
  /**
   * `handle.syncForCpu(dev, offset, length)` or `syncForDevice` (an sg
   * table's, whole), on any handle kept: with `flip`, to the side that does
   * not own the mapping now; otherwise to the one that does.
   */
  | { readonly o: "sync"; readonly map: Pick; readonly handle: number; readonly flip: boolean; readonly span: Span | undefined; readonly token: number }
  /** `handle.unmap(dev)`. */
  | { readonly o: "unmap"; readonly map: Pick; readonly handle: number; readonly token: number }
  /** `handle.bytes(dev)` of a single mapping: the bytes synced for the CPU. */
  | { readonly o: "view"; readonly map: Pick; readonly handle: number }
  /** `unmapSingle(dev, address, size, dir)` or `unmapSg(dev, table, entries, dir)`; `wrong`: one byte or entry more. */
  | { readonly o: "kunmap"; readonly map: Pick; readonly wrong: boolean }
  /**
   * `syncSingleForCpu(dev, address, length, dir, offset)` or
   * `…ForDevice`, or `syncSgForCpu`/`…ForDevice`; `wrong`: a range past the
   * end (single) or one entry more (sg). Never a CPU sync of a to-device
   * mapping: that does not compile.
   */
  | { readonly o: "ksync"; readonly map: Pick; readonly forCpu: boolean; readonly span: Span; readonly wrong: boolean }
  /**
   * The device reads or writes `len` bytes (at most to its segment's end) at
   * offset `at` of a mapping, through the bus address of the segment there.
   * Done only where the mapping allows it (device-owned, in its direction).
   */
  | { readonly o: "dma"; readonly map: Pick; readonly at: number; readonly len: number; readonly value: number; readonly write: boolean }
  /** `pool.alloc(dev)`. */
  | { readonly o: "poolAlloc"; readonly pool: Pick; readonly token: number }
  /** `block.free()`. */
  | { readonly o: "blockFree"; readonly pool: Pick; readonly block: Pick }
  /** `pool.free(dev, cpu, handle)`, with the block's own view as `cpu` or none. */
  | { readonly o: "poolFree"; readonly pool: Pick; readonly block: Pick; readonly cpu: boolean }
  /** `pool.destroy()`. */
  | { readonly o: "poolDestroy"; readonly pool: Pick }
  /** `block.bytes(dev)[offset] = value`. */
  | { readonly o: "blockWrite"; readonly pool: Pick; readonly block: Pick; readonly offset: number; readonly value: number }
  /** `block.bytes(dev)`, read back. */
  | { readonly o: "blockRead"; readonly pool: Pick; readonly block: Pick; readonly token: number };

/** The streaming and pool ops, by name. */
export const DMA_OPS: ReadonlySet<string> = new Set([
  "kmalloc",
  "map",
  "mapSg",
  "sync",
  "unmap",
  "view",
  "kunmap",
  "ksync",
  "dma",
  "poolAlloc",
  "blockFree",
  "poolFree",
  "poolDestroy",
  "blockWrite",
  "blockRead",
]);

/** True for the streaming and pool ops. */
export function isDmaOp(op: UseOp): op is DmaOp {
  return DMA_OPS.has(op.o);
}

/**
 * Where a device transfer of (at most) `len` bytes at offset `at` (modulo
 * `size`) of a mapping goes: the offset into the mapping, the length cut at
 * the end of the segment it starts in, and that byte's bus address. The
 * model and the rig both compute it, from the segments the rig saw.
 */
export function dmaWindow(segments: readonly { readonly address: bigint; readonly length: number }[], size: number, at: number, len: number): { readonly offset: number; readonly length: number; readonly address: bigint } {
  const offset = at % size;
  let start = 0;
  for (const segment of segments) {
    if (offset < start + segment.length) return { offset, length: Math.min(len, start + segment.length - offset), address: segment.address + BigInt(offset - start) };
    start += segment.length;
  }
  throw new Error(`dmaWindow: offset ${offset} lies past the ${start} bytes of the segments`);
}

/** What the device writes: `n` bytes counting up from `value`. */
export function pattern(value: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (value + i) & 0xff;
  return out;
}

/** What the CPU does with a kernel buffer: no token needed. */
export type BufOp =
  | { readonly b: "free"; readonly pick: Pick }
  /** `buffer.bytes()`, read whole. */
  | { readonly b: "read"; readonly pick: Pick }
  | { readonly b: "write"; readonly pick: Pick; readonly offset: number; readonly value: number };

/** One command. Device, binding and gate choices are indices, taken modulo what exists. */
export type Command =
  | { readonly c: "plug"; readonly kind: DeviceKind; readonly plans: readonly ProbePlan[] }
  | { readonly c: "unplug"; readonly dev: number }
  | { readonly c: "unbind"; readonly dev: number }
  | { readonly c: "register"; readonly driver: DriverName }
  | { readonly c: "unregister"; readonly driver: DriverName }
  /** Opens one of the gates something waits at: a probe's, a remove()'s or a devres release's. */
  | { readonly c: "gate"; readonly pick: number }
  | { readonly c: "run"; readonly ns: number }
  /** `binding` 32 and above names a live binding (modulo), when there is one. */
  | { readonly c: "use"; readonly binding: number; readonly op: UseOp }
  | { readonly c: "buf"; readonly op: BufOp };

/** The machine one sequence runs on. */
export interface FuzzConfig {
  readonly iommu: IommuMode;
  readonly pageSize: number;
  readonly dmaDebug: DmaDebugMode;
  /** `false`: DMA does not snoop the CPU's caches (`new Machine({ dmaCoherent: false })`). */
  readonly dmaCoherent: boolean;
  /** The swiotlb bounce pool: small enough, at times, to run out. */
  readonly swiotlbBytes: number;
}

/** DMA masks a step or a use may set. Below the pool (passthrough) or the IOVA base (strict), allocation fails. */
export const MASKS = [16, 24, 32, 64] as const;

const size = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.constantFrom(511, 512, 513, 4095, 4096, 4097, 8192),
  fc.integer({ min: 1, max: 3 * 4096 + 17 }),
);
const pick = fc.nat({ max: 15 });
const release = fc.constantFrom<ReleaseKind>("none", "sync", "async", "async", "sync", "gated", "throws", "rejects");
const token = fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) }, { weight: 2, arbitrary: fc.integer({ min: 16, max: 31 }) });

const dir = fc.constantFrom<DataDirection>("to-device", "from-device", "bidirectional");
const span = fc.record({ off: fc.nat({ max: 20_000 }), len: fc.nat({ max: 20_000 }) });
const maybeSpan = fc.option(span, { freq: 2, nil: undefined });
/** -1 (the newest) most of the time. */
const newest = fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) });
/** A buffer: a live one (16 and above) most of the time. */
const bufPick = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 16, max: 31 }) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) });
/** A handle: the newest most of the time, else any kept. */
const handle = fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 7 }) });
/** Mostly the binding's own token. */
const ownToken = fc.oneof({ weight: 12, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) }, { weight: 1, arbitrary: fc.integer({ min: 16, max: 31 }) });
const poolStep = fc
  .record({ size: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(100, 200, 512)), align: fc.constantFrom(1, 8, 16, 64) })
  .chain(({ size, align }) => {
    const stride = Math.ceil(size / align) * align;
    // Boundaries no larger than the smallest page: each chunk starts on one, so the model knows which blocks a chunk has.
    const boundaries = [0, 64, 128, 256, 512].filter((b) => b === 0 || b >= stride);
    return fc.record({ t: fc.constant("pool" as const), size: fc.constant(size), align: fc.constant(align), boundary: fc.constantFrom(...boundaries) });
  });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("alloc" as const), size }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("free" as const), pick }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("devres" as const), release }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("await" as const), how: fc.constantFrom("microtask" as const, "tick" as const, "sleep" as const) }) },
  { weight: 2, arbitrary: fc.constant({ t: "gate" as const }) },
  // 64 bits most of the time: in passthrough a smaller mask bounces every streaming mapping.
  { weight: 3, arbitrary: fc.record({ t: fc.constant("mask" as const), bits: fc.constantFrom(...MASKS, 64, 64) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("engine" as const), task: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ t: "fail" as const }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("busMaster" as const), mask64: fc.boolean() }) },
  { weight: 5, arbitrary: poolStep },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("segmax" as const), bytes: fc.constantFrom(65_536, 4096, 1024) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("map" as const), size, dir }) },
);

const removeStep: fc.Arbitrary<RemoveStep> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant("alloc" as const), size }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("free" as const), pick }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("devres" as const), release }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("await" as const), how: fc.constantFrom("microtask" as const, "tick" as const) }) },
  { weight: 2, arbitrary: fc.constant({ t: "gate" as const }) },
  { weight: 2, arbitrary: fc.constant({ t: "unmapAll" as const }) },
);

const plan: fc.Arbitrary<ProbePlan> = fc.record({
  steps: fc.array(step, { maxLength: 7 }),
  inRemove: fc.array(removeStep, { maxLength: 3 }),
  remove: fc.constantFrom<RemoveKind>("sync", "async", "sync", "async", "throws", "rejects"),
});

const use: fc.Arbitrary<UseOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ o: fc.constant("alloc" as const), size }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("free" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ o: fc.constant("freeCoherent" as const), pick }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("bytes" as const), pick, token }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("write" as const), pick, offset: fc.nat({ max: 5000 }), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("devres" as const), release }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("access" as const), pick, token }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("release" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ o: fc.constant("mask" as const), bits: fc.constantFrom(...MASKS) }) },
  { weight: 1, arbitrary: fc.constant({ o: "mmio" as const }) },
);

const dmaUse: fc.Arbitrary<DmaOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ o: fc.constant("kmalloc" as const), size, vm: fc.constantFrom(false, false, false, true) }) },
  {
    weight: 7,
    arbitrary: fc.record({ o: fc.constant("map" as const), buf: bufPick, dir, span: maybeSpan, fresh: fc.option(size, { nil: undefined }), again: fc.constantFrom(false, false, false, true) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      o: fc.constant("mapSg" as const),
      items: fc.array(fc.record({ buf: bufPick, span: maybeSpan }), { maxLength: 3 }),
      dir,
      fresh: fc.option(fc.record({ size, vm: fc.boolean() }), { nil: undefined }),
      again: fc.constantFrom(false, false, false, true),
    }),
  },
  { weight: 7, arbitrary: fc.record({ o: fc.constant("sync" as const), map: newest, handle, flip: fc.constantFrom(true, true, true, true, false), span: maybeSpan, token: ownToken }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("unmap" as const), map: newest, handle, token: ownToken }) },
  { weight: 4, arbitrary: fc.record({ o: fc.constant("view" as const), map: newest, handle }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("kunmap" as const), map: newest, wrong: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("ksync" as const), map: newest, forCpu: fc.boolean(), span, wrong: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ o: fc.constant("dma" as const), map: newest, at: fc.nat({ max: 20_000 }), len: fc.integer({ min: 1, max: 200 }), value: fc.integer({ min: 1, max: 255 }), write: fc.boolean() }) },
  { weight: 6, arbitrary: fc.record({ o: fc.constant("poolAlloc" as const), pool: newest, token: ownToken }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("blockFree" as const), pool: newest, block: newest }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("poolFree" as const), pool: newest, block: newest, cpu: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("poolDestroy" as const), pool: newest }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("blockWrite" as const), pool: newest, block: newest, offset: fc.nat({ max: 600 }), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("blockRead" as const), pool: newest, block: newest, token: ownToken }) },
);

const bufOp: fc.Arbitrary<BufOp> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ b: fc.constant("free" as const), pick: bufPick }) },
  { weight: 2, arbitrary: fc.record({ b: fc.constant("read" as const), pick: bufPick }) },
  { weight: 2, arbitrary: fc.record({ b: fc.constant("write" as const), pick: bufPick, offset: fc.nat({ max: 20_000 }), value: fc.integer({ min: 1, max: 255 }) }) },
);

const kind = fc.constantFrom<DeviceKind>("tick", "copy", "plain", "tick");
const driver = fc.constantFrom<DriverName>(...DRIVERS);
const index = fc.nat({ max: 15 });

const plugCommand = fc.record({ c: fc.constant("plug" as const), kind, plans: fc.array(plan, { minLength: 1, maxLength: 3 }) });
const registerCommand = fc.record({ c: fc.constant("register" as const), driver });

/** Every command, weighted: `lifecycle` for runs about binding and unbinding, `streaming` for runs about what a binding maps. */
function commands(weights: { readonly lifecycle: number; readonly streaming: number }): fc.Arbitrary<Command> {
  const { lifecycle: l, streaming: s } = weights;
  return fc.oneof(
    { weight: 4 * l, arbitrary: plugCommand },
    { weight: 1, arbitrary: fc.record({ c: fc.constant("unplug" as const), dev: index }) },
    { weight: 3 * l, arbitrary: fc.record({ c: fc.constant("unbind" as const), dev: index }) },
    { weight: 4 * l, arbitrary: registerCommand },
    { weight: 2 * l, arbitrary: fc.record({ c: fc.constant("unregister" as const), driver }) },
    { weight: 3 * l, arbitrary: fc.record({ c: fc.constant("gate" as const), pick: index }) },
    { weight: 2 * l, arbitrary: fc.record({ c: fc.constant("run" as const), ns: fc.integer({ min: 0, max: 20_000 }) }) },
    { weight: 10 * l, arbitrary: fc.record({ c: fc.constant("use" as const), binding: fc.nat({ max: 31 }), op: use }) },
    // Mostly on a live binding with something to act on (32 and above).
    { weight: 10 * s, arbitrary: fc.record({ c: fc.constant("use" as const), binding: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 32, max: 63 }) }, { weight: 1, arbitrary: fc.nat({ max: 31 }) }), op: dmaUse }) },
    { weight: 3 * s, arbitrary: fc.record({ c: fc.constant("buf" as const), op: bufOp }) },
  );
}

export const commandArbitrary: fc.Arbitrary<Command> = commands({ lifecycle: 1, streaming: 1 });

/** Fewer bindings ended, many more streaming ops: mappings live long enough to be synced, read, written by the device. */
const streamingCommand: fc.Arbitrary<Command> = commands({ lifecycle: 1, streaming: 4 });

/**
 * A sequence of at most `max` commands. Most start with a register or two
 * and a plug, so that bindings exist for most of the sequence; shrinking
 * drops them when the failure does not need them. A third weigh streaming ops
 * four times as much as the rest.
 */
export function sequenceArbitrary(max: number, focus: "any" | "streaming" = "any"): fc.Arbitrary<Command[]> {
  return fc
    .tuple(
      // No driver, one, or two: a device that two drivers match tries them in turn.
      fc.oneof({ weight: 1, arbitrary: fc.constant([]) }, { weight: 2, arbitrary: fc.tuple(registerCommand) }, { weight: 2, arbitrary: fc.tuple(registerCommand, registerCommand) }),
      fc.option(plugCommand, { freq: 4, nil: undefined }),
      // A third of the runs are about what bindings map (all of them, with the focus on streaming).
      fc.oneof(
        { weight: focus === "streaming" ? 0 : 2, arbitrary: fc.array(commandArbitrary, { maxLength: Math.max(0, max - 2), size: "max" }) },
        { weight: 1, arbitrary: fc.array(streamingCommand, { maxLength: Math.max(0, max - 2), size: "max" }) },
      ),
    )
    .map(([registers, plug, rest]) => [...registers, ...(plug === undefined ? [] : [plug]), ...rest].slice(0, max));
}

export const configArbitrary: fc.Arbitrary<FuzzConfig> = fc.record({
  iommu: fc.constantFrom<IommuMode>("passthrough", "strict"),
  pageSize: fc.constantFrom(4096, 512),
  dmaDebug: fc.constantFrom<DmaDebugMode>("report", "report", "throw", "off"),
  dmaCoherent: fc.boolean(),
  // Four slots, sixteen, or the default 4 MiB.
  swiotlbBytes: fc.constantFrom(8192, 32_768, 4 << 20),
});
