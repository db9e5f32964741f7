/**
 * The rig: a real `Machine` with the fuzzer's device models and drivers, and
 * everything the drivers let escape (tokens, allocations and their views,
 * devres entries, MMIO mappings, IRQ handles), kept so that a later command
 * can use it at a random time.
 *
 * The drivers follow the plan of their device (one plan per probe, in turn):
 * - `good` resets the engine at probe start, halts it in its probe's error
 *   path and in remove();
 * - `buggy` is `good` without the halt (the seeded bug);
 * - `plain` and `spare` never touch the hardware.
 * Every driver's remove() first uses its devres entries through the token it
 * gets, which must still be live, then does its plan's remove steps.
 *
 * Kernel buffers are the machine's, not a binding's: the rig keeps them in
 * one list, in the order allocated, as the model does. Streaming mappings
 * keep every handle the driver got; pools every block. The device does the
 * DMA the fuzzer asks of it through its model ({@link FuzzDevice}).
 * Gates (a probe's, a remove()'s, a devres release's) are promises the rig
 * resolves when the fuzzer says so.
 *
 * @module
 */

import {
  allocCoherent,
  BoundscopeError,
  createDmaPool,
  defineDriver,
  Devres,
  enableBusMaster,
  freeCoherent,
  iomap,
  kmalloc,
  Machine,
  mapSg,
  mapSingle,
  requestIrq,
  setDmaMask,
  setMaxSegmentSize,
  sleep,
  spawn,
  syncSgForCpu,
  syncSgForDevice,
  syncSingleForCpu,
  syncSingleForDevice,
  unmapSg,
  unmapSingle,
  vmalloc,
} from "../../src/index.js";
import type {
  BoundDevice,
  CoherentAllocation,
  DataDirection,
  DmaPool,
  KernelBuffer,
  PoolBlock,
  Device,
  Driver,
  DriverInstance,
  IoMapping,
  IrqHandle,
  MachineEvent,
  ProbeDevice,
  TaskSignal,
} from "../../src/index.js";
import { peekBinding } from "../../src/driver/binding.js";
import type { DmaOp, DriverName, FuzzConfig, ProbePlan, ReleaseKind, RemoveStep, Step } from "./commands.js";
import { dmaWindow, DRIVER_KINDS, DRIVERS, drivesHardware, isDmaOp, pattern } from "./commands.js";
import type { DeviceKind, FuzzDevice } from "./models.js";
import { ENGINE_REG, ENGINE_RUN, FUZZ_IDS, FuzzEngine, hasEngine, plainDevice, RING_BYTES } from "./models.js";
import type { DmaPick, MappingFacts, Resolved } from "./reference.js";
import { PlannedError } from "./reference.js";

/** The scope of everything smuggled out of its binding: the types forbid it; the run time must cope. */
export type Escaped = "escaped";

function smuggle<Value>(value: unknown): Value {
  return value as Value;
}

/** One macrotask turn: every queued continuation runs first. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface AllocRecord {
  readonly alloc: CoherentAllocation<Escaped>;
  readonly handle: bigint;
  readonly size: number;
  /** The DMA mask in force when it was made. */
  readonly mask: number;
  /** Views taken at allocation time: dead once the memory is freed. */
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/** A streaming handle as the run time has it: one class for every state and direction, whatever its type shows. */
export interface AnyHandle {
  readonly state: "device" | "cpu" | "unmapped";
  readonly owner: "device" | "cpu";
  readonly bounced: boolean;
  readonly size: number;
  syncForCpu(dev: unknown, offset?: number, length?: number): AnyHandle;
  syncForDevice(dev: unknown, offset?: number, length?: number): AnyHandle;
  unmap(dev: unknown): void;
  bytes(dev: unknown): Uint8Array;
}

/** A streaming mapping a binding made, and every handle of it the driver got. */
export interface MapRecord {
  readonly kind: "single" | "sg";
  readonly dir: DataDirection;
  readonly size: number;
  readonly entries: number;
  readonly handles: AnyHandle[];
  readonly facts: MappingFacts;
  /** The kernel buffers mapped, by id. */
  readonly buffers: readonly string[];
}

/** A DMA pool a binding made, and every block it gave. */
export interface PoolRecord {
  readonly pool: DmaPool<Escaped>;
  readonly blocks: { readonly block: PoolBlock<Escaped>; readonly handle: bigint; readonly bytes: Uint8Array }[];
}

/** A kernel buffer, and the last CPU view the rig took of it: dead once a device takes the buffer. */
export interface BufferRecord {
  readonly buffer: KernelBuffer;
  lastView: Uint8Array | undefined;
}

/**
 * The calls by address, typed loosely: the direction the types carry is
 * the mapping's own here, as the fuzzer keeps it (never a CPU sync of a
 * to-device mapping).
 */
const byAddress = {
  unmapSingle: unmapSingle as (dev: unknown, address: bigint, size: number, dir: DataDirection) => void,
  unmapSg: unmapSg as (dev: unknown, table: unknown, entries: number, dir: DataDirection) => void,
  syncSingleForCpu: syncSingleForCpu as (dev: unknown, address: bigint, size: number, dir: DataDirection, offset?: number) => void,
  syncSingleForDevice: syncSingleForDevice as (dev: unknown, address: bigint, size: number, dir: DataDirection, offset?: number) => void,
  syncSgForCpu: syncSgForCpu as (dev: unknown, table: unknown, entries: number, dir: DataDirection) => void,
  syncSgForDevice: syncSgForDevice as (dev: unknown, table: unknown, entries: number, dir: DataDirection) => void,
};

/**
 * Every CPU access of streaming memory goes through this one line: the
 * checker names the call site of such an access, and reports a repeat at
 * the same site and mapping once, so one site keeps the model's count simple.
 */
function cpuBytes(target: { readonly bytes: (dev?: never) => unknown }, dev?: unknown): Uint8Array {
  return target.bytes(dev as never) as Uint8Array;
}

export interface DevresRecord {
  readonly devres: Devres<Escaped, { readonly id: string }>;
  readonly value: { readonly id: string };
}

/** What one binding let escape. */
export interface BindingRecord {
  readonly key: string;
  readonly device: string;
  readonly driver: DriverName;
  readonly token: ProbeDevice<Escaped>;
  readonly allocs: AllocRecord[];
  ring: AllocRecord | undefined;
  readonly devres: DevresRecord[];
  regs: IoMapping<Escaped> | undefined;
  irq: IrqHandle<Escaped> | undefined;
  mask: number;
  gated: boolean;
  removeGated: boolean;
  engineDone: boolean;
  /** Times the IRQ handler ran, and the count when the binding was seen dead with its IRQ freed. */
  handlerRuns: number;
  handlerRunsAtDeath: number | undefined;
  taskRuns: number;
  /** Times a task wound down after its abort, using the token. */
  taskDrains: number;
  /** How a task's wind-down failed, if it did: it must not. */
  readonly drainFailures: string[];
  /** Wakes the spawned task. */
  wake: (() => void) | undefined;
  /** `map` steps done: names the buffers they allocate. */
  mapSteps: number;
  /** Bus mastering turned on by the `busMaster` step. */
  busMastered: boolean;
  readonly maps: MapRecord[];
  readonly pools: PoolRecord[];
}

/** What a use or bus call gave. */
export interface Actual {
  readonly result: string;
  readonly value?: number;
  readonly bytes?: Uint8Array;
}

/** The event kinds the reference model predicts, per device and in order. */
const LIFECYCLE_KINDS: ReadonlySet<string> = new Set([
  "plug",
  "unplug",
  "state",
  "probe-start",
  "probe-end",
  "probe-failed",
  "remove-start",
  "remove-end",
  "remove-failed",
  "release",
  "release-failed",
]);

/** Events that are never fine, except an IRQ handler meeting a dead token inside a buggy teardown. */
const FAILURE_KINDS: ReadonlySet<string> = new Set(["irq-failed", "task-failed", "model-failed"]);

/** The most macrotask turns a command may take to come to rest (the longest legitimate one takes about 50). */
const MAX_TURNS = 2_000;

const POOL_BYTES = 64 << 20;

/** What the rig waits for after a command: the model's prediction of where the machine comes to rest. */
export interface Rest {
  /** Gates something waits at: `<binding>/probe`, `<binding>/remove`, or a devres id. */
  readonly gates: readonly string[];
  /** Lifecycle events per device, in all. */
  readonly events: ReadonlyMap<string, number>;
  /** Bus calls and uses that must have settled. */
  readonly settled: readonly number[];
  /**
   * Devres stack sizes, per binding key, of the bindings whose state change
   * waits at a gate: a walk waiting on a release already in flight took that
   * entry off the stack, and nothing else says it has got there.
   */
  readonly stacks: ReadonlyMap<string, number>;
}

export class Rig {
  readonly machine: Machine;
  readonly drivers: Readonly<Record<DriverName, Driver>>;
  readonly devices = new Map<string, { ref: Device | undefined; model: FuzzDevice | undefined; readonly kind: DeviceKind; readonly plans: readonly ProbePlan[] }>();
  /** Kernel buffers, by the id the model gives them. */
  readonly buffers = new Map<string, BufferRecord>();
  readonly records = new Map<string, BindingRecord>();
  /** Lifecycle events per device, as they happened. */
  readonly events = new Map<string, MachineEvent[]>();
  /** irq-failed, task-failed and model-failed events. */
  readonly failures: MachineEvent[] = [];
  /** Release callbacks per binding key, in the order they ran. */
  readonly releases = new Map<string, string[]>();
  /** What waits at a gate, by gate, and opens it. */
  readonly gates = new Map<string, () => void>();
  readonly ops = new Map<number, { settled: boolean; result: string }>();
  readonly #probes = new Map<string, number>();
  readonly #unsubscribe: () => void;

  constructor(readonly config: FuzzConfig) {
    this.machine = new Machine({
      iommu: config.iommu,
      dmaDebug: config.dmaDebug,
      dmaCoherent: config.dmaCoherent,
      memory: { bytes: POOL_BYTES, pageSize: config.pageSize, swiotlbBytes: config.swiotlbBytes },
    });
    this.#unsubscribe = this.machine.subscribe((event) => {
      const device = event.device;
      if (device === undefined) return;
      if (LIFECYCLE_KINDS.has(event.kind)) {
        this.events.get(device)?.push(event);
      } else if (FAILURE_KINDS.has(event.kind)) {
        this.failures.push(event);
      }
    });
    const drivers = {} as Record<DriverName, Driver>;
    for (const name of DRIVERS) {
      drivers[name] = defineDriver({
        name,
        ids: DRIVER_KINDS[name].map((kind) => FUZZ_IDS[kind]),
        probe: <Scope>(dev: ProbeDevice<Scope>) => smuggle<DriverInstance<Scope> | Promise<DriverInstance<Scope>>>(this.#probe(name, smuggle(dev))),
      });
    }
    this.drivers = drivers;
  }

  dispose(): void {
    this.#unsubscribe();
  }

  /** How many entries the binding's devres stack holds now; -1 before its probe has started. */
  stackSize(key: string): number {
    const record = this.records.get(key);
    return record === undefined ? -1 : peekBinding(record.token)!.devres.size;
  }

  /** The bus address an allocation got: `index` -1 is the ring. */
  handle(key: string, index: number): bigint {
    const record = this.records.get(key);
    const alloc = index < 0 ? record?.ring : record?.allocs[index];
    if (alloc === undefined) throw new Error(`rig: binding ${key} has no allocation #${index}; the model expected one`);
    return alloc.handle;
  }

  /** A streaming mapping's segments and the time it was made, as seen when it was made. */
  mapping(key: string, index: number): MappingFacts {
    const map = this.records.get(key)?.maps[index];
    if (map === undefined) throw new Error(`rig: binding ${key} has no mapping #${index}; the model expected one`);
    return map.facts;
  }

  /** The bus address a pool block got. */
  block(key: string, pool: number, index: number): bigint {
    const block = this.records.get(key)?.pools[pool]?.blocks[index];
    if (block === undefined) throw new Error(`rig: binding ${key} has no block #${index} of pool #${pool}; the model expected one`);
    return block.handle;
  }

  /** Does a command. Bus calls are started and tracked, not awaited: a gate may hold them up. */
  async apply(command: Resolved): Promise<Actual | undefined> {
    const pci = this.machine.pci;
    switch (command.c) {
      case "plug": {
        // Known before plug returns: the probe plug queues looks up its plans.
        const device = { ref: undefined as Device | undefined, model: undefined as FuzzDevice | undefined, kind: command.kind, plans: command.plans };
        this.devices.set(command.name, device);
        this.events.set(command.name, []);
        device.model = command.kind === "plain" ? plainDevice() : new FuzzEngine(command.kind);
        device.ref = pci.plug(device.model);
        if (device.ref.name !== command.name) throw new Error(`plug named the device ${device.ref.name}; the model expected ${command.name}`);
        const ids = FUZZ_IDS[command.kind];
        if (device.ref.vendor !== ids.vendor || device.ref.device !== ids.device) {
          throw new Error(`the bus lists ${device.ref.name} as ${hex4(device.ref.vendor)}:${hex4(device.ref.device)}; the model plugged ${hex4(ids.vendor)}:${hex4(ids.device)}`);
        }
        return undefined;
      }
      case "unplug":
        this.#track(command.op, pci.unplug(this.#ref(command.name)));
        return undefined;
      case "unbind":
        this.#track(command.op, pci.unbind(this.#ref(command.name)));
        return undefined;
      case "register":
        this.#track(command.op, pci.register(this.drivers[command.driver]));
        return undefined;
      case "unregister":
        this.#track(command.op, pci.unregister(this.drivers[command.driver]));
        return undefined;
      case "gate": {
        const open = this.gates.get(command.key);
        if (open === undefined) throw new Error(`nothing waits at gate ${command.key}; the model expected something to`);
        this.gates.delete(command.key);
        open();
        return undefined;
      }
      case "run":
        await this.machine.run(command.ns);
        return undefined;
      case "use":
        return this.#use(command);
      case "buf": {
        let actual: Actual;
        try {
          actual = this.#buf(command);
        } catch (error) {
          actual = { result: resultOf(error) };
        }
        this.ops.set(command.opId, { settled: true, result: actual.result });
        return actual;
      }
    }
  }

  /**
   * Waits until the machine is where the model says it comes to rest: with
   * no gate pending, `machine.settled()` and every call that must settle
   * settled; with gates pending, every predicted event logged, every
   * predicted gate reached, every waiting walk at its entry, every call that
   * must settle settled.
   */
  async quiesce(rest: Rest): Promise<void> {
    let settled = false;
    if (rest.gates.length === 0) void this.machine.settled().then(() => (settled = true));
    const opsDone = (): boolean => rest.settled.every((id) => this.ops.get(id)?.settled === true);
    for (let turn = 0; turn < MAX_TURNS; turn++) {
      await tick();
      if (rest.gates.length === 0) {
        // At rest for sure: whatever differs from the model is for the checks to say.
        if (settled && opsDone()) return tick();
        continue;
      }
      const eventsIn = [...rest.events].every(([name, count]) => (this.events.get(name)?.length ?? 0) >= count);
      const stacksIn = [...rest.stacks].every(([key, size]) => this.stackSize(key) === size);
      if (eventsIn && stacksIn && opsDone() && rest.gates.every((gate) => this.gates.has(gate))) return tick();
    }
    const missing = [
      ...[...rest.events].filter(([name, count]) => (this.events.get(name)?.length ?? 0) < count).map(([name]) => `${name} (events)`),
      ...[...rest.stacks].filter(([key, size]) => this.stackSize(key) !== size).map(([key]) => `${key} (devres stack)`),
    ];
    throw new Error(
      `the machine did not come to rest in ${MAX_TURNS} turns: settled ${settled}, gates reached ${[...this.gates.keys()].join(", ") || "none"} (expected ${rest.gates.join(", ") || "none"}), short of the model: ${missing.join(", ") || "none"}, calls unsettled: ${rest.settled.filter((id) => this.ops.get(id)?.settled !== true).join(", ") || "none"}`,
    );
  }

  #ref(name: string): Device {
    return this.devices.get(name)!.ref!;
  }

  #track(id: number, operation: Promise<unknown>): void {
    const op = { settled: false, result: "pending" };
    this.ops.set(id, op);
    operation.then(
      () => Object.assign(op, { settled: true, result: "ok" }),
      (error: unknown) => Object.assign(op, { settled: true, result: resultOf(error) }),
    );
  }

  // ---- the drivers ----------------------------------------------------------

  #probe(driver: DriverName, dev: ProbeDevice<Escaped>): DriverInstance<Escaped> | Promise<DriverInstance<Escaped>> {
    const name = dev.name;
    const n = this.#probes.get(name) ?? 0;
    this.#probes.set(name, n + 1);
    const device = this.devices.get(name)!;
    const plan = device.plans[n % device.plans.length]!;
    const record: BindingRecord = {
      key: `${name}#${n}`,
      device: name,
      driver,
      token: dev,
      allocs: [],
      ring: undefined,
      devres: [],
      regs: undefined,
      irq: undefined,
      mask: 32,
      gated: false,
      removeGated: false,
      engineDone: false,
      handlerRuns: 0,
      handlerRunsAtDeath: undefined,
      taskRuns: 0,
      taskDrains: 0,
      drainFailures: [],
      wake: undefined,
      mapSteps: 0,
      busMastered: false,
      maps: [],
      pools: [],
    };
    this.records.set(record.key, record);
    this.releases.set(record.key, []);
    const hardware = drivesHardware(driver) && hasEngine(device.kind);
    const instance: DriverInstance<Escaped> = { remove: (token) => this.#remove(record, plan, token) };
    // The error path: a correct driver halts what it started before it gives up.
    const unwind = (): void => {
      if (driver === "good" && record.regs !== undefined) record.regs.write32(dev, ENGINE_REG.CTRL, 0);
    };
    if (driver === "good" && hardware) {
      record.regs = iomap(dev, 0);
      record.regs.write32(dev, ENGINE_REG.CTRL, 0);
    }
    if (!plan.steps.some((step) => step.t === "await" || step.t === "gate")) {
      try {
        for (const step of plan.steps) void this.#step(record, dev, step, hardware);
      } catch (error) {
        unwind();
        throw error;
      }
      return instance;
    }
    return (async () => {
      try {
        for (const step of plan.steps) await this.#step(record, dev, step, hardware);
      } catch (error) {
        unwind();
        throw error;
      }
      return instance;
    })();
  }

  /** One step of a probe; a promise for the steps that wait. */
  #step(record: BindingRecord, dev: ProbeDevice<Escaped>, step: Step, hardware: boolean): Promise<void> | undefined {
    switch (step.t) {
      case "alloc":
        this.#alloc(record, dev, step.size, false);
        return undefined;
      case "free": {
        const live = record.allocs.filter((a) => !a.alloc.freed);
        if (live.length > 0) live[step.pick % live.length]!.alloc.free();
        return undefined;
      }
      case "devres":
        this.#devres(record, dev, step.release);
        return undefined;
      case "await":
        if (step.how === "microtask") return Promise.resolve();
        if (step.how === "tick" || this.config.dmaDebug === "throw") return tick();
        return sleep(dev, 2_000);
      case "gate":
        if (record.gated) return undefined;
        record.gated = true;
        return new Promise((resolve) => this.gates.set(`${record.key}/probe`, resolve));
      case "mask":
        setDmaMask(dev, step.bits);
        record.mask = step.bits;
        return undefined;
      case "fail":
        throw new PlannedError("planned");
      case "engine": {
        if (!hardware || record.engineDone) return undefined;
        record.engineDone = true;
        const regs = (record.regs ??= iomap(dev, 0));
        regs.write32(dev, ENGINE_REG.CTRL, 0);
        enableBusMaster(dev);
        const ring = this.#alloc(record, dev, RING_BYTES, true);
        regs.write64(dev, ENGINE_REG.RING, ring.handle);
        regs.write32(dev, ENGINE_REG.LEN, RING_BYTES);
        record.irq = requestIrq(dev, (token) => this.#interrupt(record, token));
        if (step.task) spawn(dev, (token, signal) => this.#task(record, token, signal));
        regs.write32(dev, ENGINE_REG.CTRL, ENGINE_RUN);
        return undefined;
      }
      case "busMaster":
        if (hardware || record.busMastered) return undefined;
        enableBusMaster(dev);
        record.busMastered = true;
        if (step.mask64) {
          setDmaMask(dev, 64);
          record.mask = 64;
        }
        return undefined;
      case "pool":
        record.pools.push({ pool: createDmaPool(dev, `${record.key}/pool${record.pools.length}`, step.size, step.align, step.boundary), blocks: [] });
        return undefined;
      case "segmax":
        setMaxSegmentSize(dev, step.bytes);
        return undefined;
      case "map": {
        // Never through bounce slots (see the model).
        if (this.config.iommu === "passthrough" && record.mask <= 32) return undefined;
        const id = `${record.key}/m${record.mapSteps++}`;
        const buffer = kmalloc(dev, step.size);
        this.buffers.set(id, { buffer, lastView: undefined });
        this.#recordMap(record, "single", step.dir, smuggle(mapSingle(dev, buffer, step.dir)), [id]);
        return undefined;
      }
    }
  }

  #remove(record: BindingRecord, plan: ProbePlan, dev: ProbeDevice<Escaped>): void | Promise<void> {
    if (record.driver === "good" && record.regs !== undefined) record.regs.write32(dev, ENGINE_REG.CTRL, 0);
    // remove() gets the binding's token, still live: every entry answers to it.
    for (const entry of record.devres) if (!entry.devres.revoked) entry.devres.access(dev);
    const end = (): void | Promise<void> => {
      switch (plan.remove) {
        case "sync":
          return undefined;
        case "async":
          return tick();
        case "throws":
          throw new PlannedError("removeThrew");
        case "rejects":
          return tick().then(() => {
            throw new PlannedError("removeRejected");
          });
      }
    };
    if (!plan.inRemove.some((step) => step.t === "await" || step.t === "gate")) {
      for (const step of plan.inRemove) void this.#removeStep(record, dev, step);
      return end();
    }
    return (async () => {
      for (const step of plan.inRemove) await this.#removeStep(record, dev, step);
      await end();
    })();
  }

  /** One step of a remove(); a promise for the steps that wait. */
  #removeStep(record: BindingRecord, dev: ProbeDevice<Escaped>, step: RemoveStep): Promise<void> | undefined {
    switch (step.t) {
      case "alloc":
      case "free":
      case "devres":
        return this.#step(record, dev, step, false);
      case "await":
        return step.how === "microtask" ? Promise.resolve() : tick();
      case "gate":
        if (record.removeGated) return undefined;
        record.removeGated = true;
        return new Promise((resolve) => this.gates.set(`${record.key}/remove`, resolve));
      case "unmapAll":
        this.#unmapAll(record, dev);
        return undefined;
    }
  }

  /** What a correct remove() does: unmap what is mapped (by the current handle, or by address), free the pool blocks still out. */
  #unmapAll(record: BindingRecord, dev: ProbeDevice<Escaped>): void {
    for (const map of record.maps) {
      const latest = map.handles.at(-1)!;
      if (latest.state === "unmapped") continue;
      try {
        latest.unmap(dev);
      } catch (error) {
        // No current handle: a call by address moved the mapping on. Unmap it by address.
        if (!(error instanceof BoundscopeError && error.code === "EINVAL")) throw error;
        if (map.kind === "single") byAddress.unmapSingle(dev, map.facts.address, map.size, map.dir);
        else byAddress.unmapSg(dev, latest, map.entries, map.dir);
      }
    }
    for (const pool of record.pools) for (const { block } of pool.blocks) if (!block.freed) block.free();
  }

  #recordMap(record: BindingRecord, kind: "single" | "sg", dir: DataDirection, handle: AnyHandle, buffers: readonly string[]): void {
    const h = handle as AnyHandle & { readonly dmaAddress: bigint; readonly segments: readonly { dmaAddress: bigint; length: number }[]; readonly entries: number };
    const segments = kind === "single" ? [{ address: h.dmaAddress, length: h.size }] : h.segments.map((s) => ({ address: s.dmaAddress, length: s.length }));
    record.maps.push({
      kind,
      dir,
      size: h.size,
      entries: kind === "single" ? 1 : h.entries,
      handles: [handle],
      facts: { address: segments[0]!.address, segments, time: this.machine.clock.now },
      buffers,
    });
    this.#handedOver(buffers);
  }

  /** The device took these buffers: every CPU view taken before is dead. */
  #handedOver(buffers: readonly string[]): void {
    for (const id of buffers) {
      const record = this.#buffer(id);
      if (record.lastView !== undefined && record.lastView.byteLength !== 0) {
        throw new Error(`a CPU view of kernel buffer ${id} taken before the device took it still reaches ${record.lastView.byteLength} bytes`);
      }
      record.lastView = undefined;
    }
  }

  #interrupt(record: BindingRecord, dev: BoundDevice<Escaped>): void {
    record.handlerRuns++;
    record.regs!.write32(dev, ENGINE_REG.ISR, 1);
    const ring = record.ring!.alloc;
    if (!ring.freed) ring.view(dev).getUint32(0, true);
    const wake = record.wake;
    record.wake = undefined;
    wake?.();
  }

  async #task(record: BindingRecord, dev: BoundDevice<Escaped>, signal: TaskSignal): Promise<void> {
    for (;;) {
      await Promise.race([signal.whenAborted, new Promise<void>((resolve) => (record.wake = resolve))]);
      if (signal.aborted) break;
      record.taskRuns++;
      record.regs!.read32(dev, ENGINE_REG.STATUS);
      record.ring!.alloc.bytes(dev);
    }
    // Winding down after the abort, a turn later: the token is live until the task is done.
    await tick();
    try {
      record.regs!.read32(dev, ENGINE_REG.STATUS);
      record.ring!.alloc.bytes(dev);
    } catch (error) {
      // The core takes an ENXIO after the abort for a task that stopped as
      // asked, so it logs nothing: keep it here.
      record.drainFailures.push(resultOf(error));
      throw error;
    }
    record.taskDrains++;
  }

  #alloc(record: BindingRecord, dev: BoundDevice<Escaped>, size: number, ring: boolean): AllocRecord {
    const alloc = allocCoherent(dev, size);
    const entry: AllocRecord = { alloc, handle: alloc.dmaHandle, size, mask: record.mask, bytes: alloc.bytes(dev), view: alloc.view(dev) };
    if (ring) record.ring = entry;
    else record.allocs.push(entry);
    return entry;
  }

  #devres(record: BindingRecord, dev: BoundDevice<Escaped>, release: ReleaseKind): void {
    const value = { id: `${record.key}/d${record.devres.length}` };
    const log = (): void => void this.releases.get(record.key)!.push(value.id);
    const callbacks: Record<ReleaseKind, ((v: typeof value) => void | Promise<void>) | undefined> = {
      none: undefined,
      sync: log,
      async: async () => {
        log();
        await tick();
      },
      gated: async () => {
        log();
        await new Promise<void>((resolve) => this.gates.set(value.id, resolve));
      },
      throws: () => {
        log();
        throw new PlannedError("releaseThrew");
      },
      rejects: async () => {
        log();
        await tick();
        throw new PlannedError("releaseRejected");
      },
    };
    record.devres.push({ devres: Devres.new(dev, value, callbacks[release]), value });
  }

  // ---- escaped tokens and handles -------------------------------------------

  #use(command: Extract<Resolved, { c: "use" }>): Actual {
    const b = this.records.get(command.key);
    const t = this.records.get(command.tokenKey);
    if (b === undefined || t === undefined) throw new Error(`rig: no binding ${command.key} or ${command.tokenKey}; the model expected both`);
    const op = command.op;
    if (op.o === "release") {
      this.#track(command.opId, b.devres[command.target]!.devres.release());
      return { result: "started" };
    }
    let actual: Actual;
    try {
      actual = this.#useSync(b, t, command);
    } catch (error) {
      actual = { result: resultOf(error) };
    }
    this.ops.set(command.opId, { settled: true, result: actual.result });
    return actual;
  }

  #useSync(b: BindingRecord, t: BindingRecord, command: Extract<Resolved, { c: "use" }>): Actual {
    const op = command.op;
    if (isDmaOp(op)) return this.#dma(b, t, op, command.dma!, command.opId);
    switch (op.o) {
      case "alloc":
        this.#alloc(b, b.token, op.size, false);
        return { result: "ok" };
      case "free":
        b.allocs[command.target]!.alloc.free();
        return { result: "ok" };
      case "freeCoherent": {
        const a = b.allocs[command.target]!;
        // Freeing the running engine's ring through a stale handle is a bug of
        // its own, not this one. A dead token is refused before any of that.
        const live = peekBinding(b.token)!.live;
        if (live && a.alloc.freed && b.ring !== undefined && !b.ring.alloc.freed && b.ring.handle === a.handle) return { result: "skipped" };
        freeCoherent(b.token, a.alloc.dmaHandle);
        return { result: "ok" };
      }
      case "bytes":
        return { result: "ok", bytes: b.allocs[command.target]!.alloc.bytes(t.token).slice() };
      case "write": {
        const a = b.allocs[command.target]!;
        const at = op.offset % a.size;
        a.alloc.bytes(b.token)[at] = op.value;
        // Read back through the view taken at allocation: the same memory.
        return { result: "ok", value: a.bytes[at]! };
      }
      case "devres":
        this.#devres(b, b.token, op.release);
        return { result: "ok" };
      case "access": {
        const entry = b.devres[command.target]!;
        const value = entry.devres.access(t.token);
        return { result: value === entry.value ? "ok" : "access gave another value" };
      }
      case "mask":
        setDmaMask(b.token, op.bits);
        b.mask = op.bits;
        return { result: "ok" };
      case "mmio":
        return { result: "ok", value: b.regs!.read32(b.token, ENGINE_REG.STATUS) };
      case "release":
        throw new Error("unreachable");
    }
  }

  // ---- streaming DMA and pools ----------------------------------------------

  #buffer(id: string): BufferRecord {
    const record = this.buffers.get(id);
    if (record === undefined) throw new Error(`rig: no kernel buffer ${id}; the model expected one`);
    return record;
  }

  #dma(b: BindingRecord, t: BindingRecord, op: DmaOp, pick: DmaPick, opId: number): Actual {
    const map = pick.map === undefined ? undefined : b.maps[pick.map];
    const handle = map === undefined || pick.handle === undefined ? undefined : map.handles[pick.handle];
    const pool = pick.pool === undefined ? undefined : b.pools[pick.pool];
    const block = pool === undefined || pick.block === undefined ? undefined : pool.blocks[pick.block];
    switch (op.o) {
      case "kmalloc":
        this.buffers.set(`u${opId}`, { buffer: (op.vm ? vmalloc : kmalloc)(b.token, op.size), lastView: undefined });
        return { result: "ok" };
      case "map": {
        if (pick.fresh !== undefined) this.buffers.set(`u${opId}`, { buffer: kmalloc(b.token, pick.fresh.size), lastView: undefined });
        const id = pick.bufs![0]!;
        const span = pick.spans![0];
        // A vmalloc buffer too, through a cast: the run time refuses it.
        const h = mapSingle(b.token, this.#buffer(id).buffer as KernelBuffer<"kmalloc">, op.dir, span?.off, span?.len);
        this.#recordMap(b, "single", op.dir, smuggle(h), [id]);
        return { result: "ok" };
      }
      case "mapSg": {
        if (pick.fresh !== undefined) this.buffers.set(`u${opId}`, { buffer: (pick.fresh.vm ? vmalloc : kmalloc)(b.token, pick.fresh.size), lastView: undefined });
        const items = pick.bufs!.map((id, i) => {
          const buffer = this.#buffer(id).buffer;
          const span = pick.spans![i];
          return span === undefined ? buffer : { buffer, offset: span.off, length: span.len };
        });
        this.#recordMap(b, "sg", op.dir, smuggle(mapSg(b.token, items, op.dir)), [...new Set(pick.bufs)]);
        return { result: "ok" };
      }
      case "sync": {
        const span = pick.span;
        const next = pick.forCpu! ? handle!.syncForCpu(t.token, span?.off, span?.len) : handle!.syncForDevice(t.token, span?.off, span?.len);
        map!.handles.push(next);
        if (!pick.forCpu) this.#handedOver(map!.buffers);
        return { result: "ok" };
      }
      case "unmap":
        handle!.unmap(t.token);
        return { result: "ok" };
      case "view": {
        const bytes = cpuBytes(handle!, b.token);
        this.#buffer(map!.buffers[0]!).lastView = bytes;
        return { result: "ok", bytes: bytes.slice() };
      }
      case "kunmap":
        if (map!.kind === "single") byAddress.unmapSingle(b.token, map!.facts.address, op.wrong ? map!.size + 1 : map!.size, map!.dir);
        else byAddress.unmapSg(b.token, map!.handles.at(-1), op.wrong ? map!.entries + 1 : map!.entries, map!.dir);
        return { result: "ok" };
      case "ksync": {
        const m = map!;
        if (m.kind === "sg") {
          const entries = op.wrong ? m.entries + 1 : m.entries;
          (pick.forCpu! ? byAddress.syncSgForCpu : byAddress.syncSgForDevice)(b.token, m.handles.at(-1), entries, m.dir);
        } else {
          const span = pick.span!;
          (pick.forCpu! ? byAddress.syncSingleForCpu : byAddress.syncSingleForDevice)(b.token, m.facts.address, span.len, m.dir, span.off);
        }
        return { result: "ok" };
      }
      case "dma":
        return this.#deviceDma(b, map!, { ...op, write: pick.write! });
      case "poolAlloc": {
        const made = pool!.pool.alloc(t.token);
        pool!.blocks.push({ block: made, handle: made.dmaHandle, bytes: made.bytes(t.token) });
        return { result: "ok" };
      }
      case "blockFree":
        block!.block.free();
        return { result: "ok" };
      case "poolFree":
        pool!.pool.free(b.token, op.cpu ? block!.bytes : undefined, smuggle(block!.handle));
        return { result: "ok" };
      case "poolDestroy":
        pool!.pool.destroy();
        return { result: "ok" };
      case "blockWrite": {
        const bytes = block!.block.bytes(b.token);
        const at = op.offset % bytes.length;
        bytes[at] = op.value;
        // Read back through the view taken at allocation: the same memory.
        return { result: "ok", value: block!.bytes[at]! };
      }
      case "blockRead":
        return { result: "ok", bytes: block!.block.bytes(t.token).slice() };
    }
  }

  /**
   * The device reads or writes a mapping, if its state and direction allow
   * it and no other live mapping of the device covers those bus addresses;
   * otherwise `skipped`. Decided from what the rig sees, not from the model.
   */
  #deviceDma(b: BindingRecord, map: MapRecord, op: Extract<DmaOp, { o: "dma" }>): Actual {
    const device = this.devices.get(b.device)!;
    const allowed = op.write ? map.dir !== "to-device" : map.dir !== "from-device";
    const present = this.machine.pci.devices.includes(device.ref!);
    if (map.handles.at(-1)!.state !== "device" || !allowed || !present) return { result: "skipped" };
    const { length, address } = dmaWindow(map.facts.segments, map.size, op.at, op.len);
    const end = address + BigInt(length);
    for (const record of this.records.values()) {
      if (record.device !== b.device) continue;
      for (const other of record.maps) {
        if (other === map || other.handles.at(-1)!.state === "unmapped") continue;
        if (other.facts.segments.some((s) => s.address < end && address < s.address + BigInt(s.length))) return { result: "skipped" };
      }
    }
    if (op.write) {
      device.model!.writeAt(address, pattern(op.value, length));
      return { result: "ok" };
    }
    return { result: "ok", bytes: device.model!.readAt(address, length).slice() };
  }

  #buf(command: Extract<Resolved, { c: "buf" }>): Actual {
    const record = this.#buffer(command.buf);
    switch (command.op.b) {
      case "free":
        record.buffer.free();
        return { result: "ok" };
      case "read": {
        const bytes = cpuBytes(record.buffer);
        record.lastView = bytes;
        return { result: "ok", bytes: bytes.slice() };
      }
      case "write": {
        const bytes = cpuBytes(record.buffer);
        record.lastView = bytes;
        bytes[command.offset] = command.op.value;
        return { result: "ok", value: bytes[command.offset]! };
      }
    }
  }
}

/** How a call failed: its code, `rejected` for the errors the drivers throw on purpose, or the message. */
export function resultOf(error: unknown): string {
  if (error instanceof BoundscopeError) return error.code;
  if (error instanceof PlannedError) return "rejected";
  return `unexpected: ${error instanceof Error ? error.message : String(error)}`;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
