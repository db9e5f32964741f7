/**
 * The hostile-input table: every public entry point, the bad inputs it was
 * tried with, and what it gives. `test/hostile.test.ts` runs each row as its
 * own test, on a fresh {@link Rig}, and checks that nothing was corrupted or
 * leaked; `scripts/hostile-table.mjs` prints the table as markdown for the
 * README.
 */

import { expect } from "vitest";
import {
  allocCoherent,
  createDmaPool,
  defineDriver,
  defineStruct,
  DeviceModel,
  Devres,
  enableBusMaster,
  freeCoherent,
  iomap,
  kmalloc,
  Machine,
  mapSg,
  mapSingle,
  requestIrq,
  Revocable,
  setDmaMask,
  setMaxSegmentSize,
  setSegmentBoundary,
  sleep,
  spawn,
  syncSgForCpu,
  syncSgForDevice,
  syncSingleForCpu,
  syncSingleForDevice,
  unmapSg,
  unmapSingle,
  vmalloc,
} from "../src/index.js";
import type {
  CoherentAllocation,
  CpuOwnedBidirectional,
  Device,
  DeviceOwnedFromDevice,
  DeviceOwnedToDevice,
  DmaPool,
  KernelBuffer,
  PoolBlock,
  SgTable,
  DeviceModelSpec,
  DmaViolationKind,
  Driver,
  DriverInstance,
  DriverSpec,
  ErrorCode,
  IoMapping,
  IrqHandle,
  IrqHandler,
  MachineEventKind,
  MachineOptions,
  PlugSpec,
  ProbeDevice,
  StructFields,
} from "../src/index.js";
import { bindModel, deferred, NIC, OpenModel, smuggle, tick } from "./helpers.js";
import type { Deferred, Smuggled } from "./helpers.js";
import { AREA_ENTRY_POINTS, AREA_ROWS } from "./hostile/index.js";

/** The error every hostile callback throws, so a row can tell it from the library's own. */
export const BOOM = new Error("hostile callback");

/** Registers of the table's model that a buggy model answers wrongly (BAR 0 is 64 bytes). */
const BROKEN = { fraction: 0x30, text: 0x34, nothing: 0x38, fire: 0x3c } as const;

/**
 * Simulated hardware for the table: BAR 0 of 64 bytes whose top four
 * registers answer like a buggy model, a count of the writes that reached it,
 * and hooks that throw once `failing` is set.
 */
export class HostileModel extends OpenModel {
  writes = 0;
  failing = false;

  constructor() {
    super({ bars: [64] });
  }

  override mmioRead(_bar: number, offset: number): number | bigint {
    switch (offset) {
      case BROKEN.fraction:
        return 1.5;
      case BROKEN.text:
        return smuggle<number>("1");
      case BROKEN.nothing:
        return smuggle<number>(undefined);
      case BROKEN.fire:
        throw BOOM;
      default:
        return 0x1234;
    }
  }

  override mmioWrite(): void {
    this.writes++;
  }

  override busMasterChanged(): void {
    if (this.failing) throw BOOM;
  }

  override removed(): void {
    if (this.failing) throw BOOM;
  }

  /** The protected services, by their own names, with any arguments. */
  dma(direction: "read" | "write", address: unknown, second: unknown): unknown {
    return direction === "read" ? this.dmaRead(smuggle(address), smuggle(second)) : this.dmaWrite(smuggle(address), smuggle(second));
  }
  holdAny(address: unknown, length: unknown, what: unknown): void {
    this.hold(smuggle(address), smuggle(length), smuggle(what));
  }
  afterAny(ns: unknown, work: unknown): void {
    this.after(smuggle(ns), smuggle(work));
  }
}

/** A bound device with one of each resource, taken in this order. */
export interface Side {
  readonly dev: Device;
  readonly model: HostileModel;
  readonly driver: Driver;
  readonly token: ProbeDevice<Smuggled>;
  readonly regs: IoMapping<Smuggled>;
  readonly buf: CoherentAllocation<Smuggled>;
  readonly view: DataView;
  readonly irq: IrqHandle<Smuggled>;
  readonly res: Devres<Smuggled, { value: number }>;
}

/** The resources every {@link Side} and every transient device take in probe. */
export const RESOURCES = 5;

/** What a row acts on: one machine in a known state, and handles of every kind, live and dead. */
export interface Rig {
  readonly machine: Machine;
  /** Bound, bus mastering on, BAR 0 mapped, 4096 bytes of patterned memory, an IRQ, a devres entry. */
  readonly a: Side;
  /** Another device bound the same way. */
  readonly b: Side;
  /** Bound, then unbound: every handle of it is dead. Its device is plugged and has no driver. */
  readonly dead: Side;
  /** The core context: the token of a device whose async probe is parked (it enabled bus mastering). */
  readonly core: ProbeDevice<Smuggled>;
  readonly parked: { readonly dev: Device; readonly model: HostileModel; readonly gate: Deferred };
  /** Plugged, then unplugged, and its model. */
  readonly zombie: Device;
  readonly zombieModel: HostileModel;
  /** A device bound on another machine. */
  readonly foreign: Side & { readonly machine: Machine };
  /** A driver made by defineDriver and never registered. */
  readonly stray: Driver;
  /** Streaming mappings of A, kernel buffers, and a DMA pool of the parked binding: see {@link Streaming}. */
  readonly streaming: Streaming;
  /** What A's interrupt handler does; nothing unless a row says. */
  onIrq: IrqHandler<Smuggled>;
  /** Binds a fresh device whose probe takes the five resources, then runs `spec.then`. */
  transient(spec?: TransientSpec): Promise<Transient>;
  /** How many transient devices the row made. */
  readonly transients: number;
}

/**
 * What the streaming rows act on, made after the sides (A's DMA mask is 64
 * bits, so nothing of A bounces). The test takes it apart before the
 * unbinds: `cleanUp`.
 */
export interface Streaming {
  /** 256 patterned bytes, mapped bidirectional by A and synced for the CPU: `stale` is the mapping's first handle, `cpu` its current one. */
  readonly kbuf: KernelBuffer<"kmalloc">;
  readonly stale: DeviceOwnedFromDevice<Smuggled> | object;
  readonly cpu: CpuOwnedBidirectional<Smuggled>;
  /** 128 bytes mapped from-device by A: the device owns it. */
  readonly rxbuf: KernelBuffer<"kmalloc">;
  readonly rx: DeviceOwnedFromDevice<Smuggled>;
  /** 64 bytes mapped to-device by A. */
  readonly txbuf: KernelBuffer<"kmalloc">;
  readonly tx: DeviceOwnedToDevice<Smuggled>;
  /** Two pages of vmalloc memory mapped from-device by A as an sg table. */
  readonly vbuf: KernelBuffer<"vmalloc">;
  readonly table: SgTable<Smuggled, "from-device">;
  /** 64 patterned bytes, mapped by nothing. */
  readonly spare: KernelBuffer<"kmalloc">;
  /** A buffer freed already. */
  readonly freed: KernelBuffer<"kmalloc">;
  /** A pool of the parked binding (core context), with one block out. */
  readonly pool: DmaPool<Smuggled>;
  readonly block: PoolBlock<Smuggled>;
  /** Unmaps, frees and destroys all of the above (the parked binding's pool before its unbind). */
  cleanUp(): void;
}

/** Builds the streaming fixtures on A and the parked binding. */
function streamingOn(a: Side, core: ProbeDevice<Smuggled>): Streaming {
  const token = a.token;
  const kbuf = kmalloc(token, 256);
  kbuf.bytes().forEach((_, i, bytes) => (bytes[i] = (i * 5 + 1) & 0xff));
  const stale = mapSingle(token, kbuf, "bidirectional");
  const cpu = stale.syncForCpu(token);
  const rxbuf = kmalloc(token, 128);
  const rx = mapSingle(token, rxbuf, "from-device");
  const txbuf = kmalloc(token, 64);
  const tx = mapSingle(token, txbuf, "to-device");
  const vbuf = vmalloc(token, 8192);
  const table = mapSg(token, vbuf, "from-device");
  const spare = kmalloc(token, 64);
  spare.bytes().forEach((_, i, bytes) => (bytes[i] = (i * 3 + 7) & 0xff));
  const freed = kmalloc(token, 64);
  freed.free();
  const pool = createDmaPool(core, "hostile", 32, 16);
  const block = pool.alloc(core);
  block.bytes(core).fill(0x5a);
  return {
    kbuf,
    stale,
    cpu,
    rxbuf,
    rx,
    txbuf,
    tx,
    vbuf,
    table,
    spare,
    freed,
    pool,
    block,
    cleanUp() {
      block.free();
      pool.destroy();
      for (const mapping of [cpu, rx, tx, table]) mapping.unmap(token);
      for (const buffer of [kbuf, rxbuf, txbuf, vbuf, spare]) buffer.free();
    },
  };
}

export interface TransientSpec {
  /** The end of the probe, after the five resources are taken. */
  readonly then?: (dev: ProbeDevice<Smuggled>) => unknown;
  /** The devres entry's release function. */
  readonly release?: () => void | Promise<void>;
  /** The model's hooks throw. */
  readonly failing?: boolean;
}

export interface Transient {
  readonly dev: Device;
  readonly model: HostileModel;
  /**
   * Asserts that the device ended in `state` with all five resources released
   * (or their release logged as failed) and bus mastering off, then unplugs it
   * if it is still on the bus. Its driver stays registered: an unregister
   * would wait for the parked probe.
   */
  expectReleased(state: "no-driver" | "zombie"): Promise<void>;
}

/** Builds one {@link Side}: a fresh model bound with one of each resource. */
async function side(machine: Machine, onIrq: () => IrqHandler<Smuggled>): Promise<Side> {
  const model = new HostileModel();
  let parts: Pick<Side, "regs" | "buf" | "view" | "irq" | "res"> | undefined;
  const bound = await bindModel(machine, model, (dev) => {
    setDmaMask(dev, 64);
    enableBusMaster(dev);
    const regs = iomap(dev, 0);
    const buf = allocCoherent(dev, 4096);
    const bytes = buf.bytes(dev);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + 3) & 0xff;
    const irq = requestIrq(dev, (d) => onIrq()(d));
    const res = Devres.new(dev, { value: 1 });
    parts = { regs, buf, view: buf.view(dev), irq, res };
  });
  if (parts === undefined) throw new Error("rig: the side was not probed");
  return { ...bound, ...parts };
}

/** Binds a device whose async probe enables bus mastering and then waits for `gate`. */
async function park(machine: Machine): Promise<Pick<Rig, "core" | "parked">> {
  const model = new HostileModel();
  const gate = deferred();
  let core: ProbeDevice<Smuggled> | undefined;
  await machine.pci.register(
    defineDriver({
      name: "parked",
      ids: [{ vendor: model.vendor, device: model.device }],
      async probe(dev) {
        enableBusMaster(dev);
        core = smuggle(dev);
        await gate.promise;
        return {};
      },
    }),
  );
  const dev = machine.pci.plug(model);
  await tick();
  if (core === undefined) throw new Error("rig: the parked probe did not start");
  return { core, parked: { dev, model, gate } };
}

/** Builds the rig, on a machine made with `options`. */
export async function makeRig(options?: MachineOptions): Promise<Rig> {
  const machine = new Machine(options);
  let transients = 0;
  let onIrq: IrqHandler<Smuggled> = () => {};
  const a = await side(machine, () => onIrq);
  const b = await side(machine, () => () => {});
  const dead = await side(machine, () => () => {});
  await machine.pci.unbind(dead.dev);
  const { core, parked } = await park(machine);
  const streaming = streamingOn(a, core);
  const zombieModel = new HostileModel();
  const zombie = machine.pci.plug(zombieModel);
  await machine.pci.unplug(zombie);
  const elsewhere = new Machine();
  const foreign = { ...(await side(elsewhere, () => () => {})), machine: elsewhere };
  const stray = defineDriver({ name: "stray", ids: [{ vendor: 0xffff, device: 0xffff }], probe: () => ({}) });

  return {
    machine,
    a,
    b,
    dead,
    core,
    parked,
    zombie,
    zombieModel,
    foreign,
    stray,
    streaming,
    get onIrq() {
      return onIrq;
    },
    set onIrq(handler) {
      onIrq = handler;
    },
    get transients() {
      return transients;
    },
    async transient(spec = {}) {
      transients++;
      const model = new HostileModel();
      model.failing = spec.failing ?? false;
      const driver = defineDriver({
        name: `transient-${model.device.toString(16)}`,
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          enableBusMaster(dev);
          iomap(dev, 0);
          allocCoherent(dev, 4096);
          requestIrq(dev, () => {});
          Devres.new(dev, 0, spec.release);
          return smuggle(spec.then === undefined ? {} : spec.then(smuggle(dev)));
        },
      });
      // Plugged first, so that register() waits for just this probe: the
      // parked probe keeps machine.settled() from resolving.
      const dev = machine.pci.plug(model);
      await machine.pci.register(driver);
      return {
        dev,
        model,
        async expectReleased(state) {
          expect(dev.state).toBe(state);
          const released = machine.events.filter((e) => e.device === dev.name && (e.kind === "release" || e.kind === "release-failed"));
          expect(released).toHaveLength(RESOURCES);
          expect(model.mastering).toBe(false);
          if (state !== "zombie") await machine.pci.unplug(dev);
        },
      };
    },
  };
}

/** What a row gives. */
export type Outcome =
  /** A `BoundscopeError` with this code, thrown or rejected. */
  | { readonly code: ErrorCode }
  /** A driver or model callback failed: logged as `logged` (its error a `BoundscopeError` with `errorCode`, if given), and the core went on. */
  | { readonly logged: MachineEventKind; readonly errorCode?: ErrorCode }
  /** The hostile callback's own error ({@link BOOM}) comes back to the caller unchanged. */
  | { readonly own: true }
  /** Nothing is thrown: the input is harmless, and the row checks why. */
  | { readonly ignored: true };

export interface Row {
  /** The public entry point, as the README names it. */
  readonly entry: string;
  /** The bad input, in words or code. */
  readonly input: string;
  readonly outcome: Outcome;
  /** Said after the outcome in the README, when the code alone does not tell the story. */
  readonly note?: string;
  /** A checker violation the input rightly records. */
  readonly violation?: DmaViolationKind;
  /** Machine options for the rig, when the row needs others. */
  readonly machine?: MachineOptions;
  /** Does it. A promise is awaited. */
  readonly act: (rig: Rig) => unknown;
}

/** A descriptor struct to hostile-test with: 16 bytes, so A's buffer holds 256 of them. */
const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "i8" });

/** A hostile argument, named for what it is. */
const any = smuggle;

type Token = ProbeDevice<Smuggled>;

const rows: Row[] = [];

/** Adds one row per input, all with the same entry and outcome. */
function table(entry: string, outcome: Outcome, inputs: readonly (readonly [input: string, act: (rig: Rig) => unknown])[], extra: Partial<Pick<Row, "note" | "violation" | "machine">> = {}): void {
  for (const [input, act] of inputs) rows.push({ entry, input, outcome, act, ...extra });
}

const EINVAL = { code: "EINVAL" } as const;
const EPERM = { code: "EPERM" } as const;
const ENXIO = { code: "ENXIO" } as const;
const EBUSY = { code: "EBUSY" } as const;
const ENOMEM = { code: "ENOMEM" } as const;

// ---------------------------------------------------------------- the machine

table(
  "new Machine(options)",
  EINVAL,
  (
    [
      ["`null`", null],
      ['`"strict"`', "strict"],
      ["`42`", 42],
      ['`{ iommu: "none" }`', { iommu: "none" }],
      ["`{ iommu: null }`", { iommu: null }],
      ['`{ iommu: "Strict" }`', { iommu: "Strict" }],
      ["`{ dmaDebug: true }`", { dmaDebug: true }],
      ['`{ dmaDebug: "loud" }`', { dmaDebug: "loud" }],
      ["`{ memory: null }`", { memory: null }],
      ['`{ memory: "64M" }`', { memory: "64M" }],
      ["`memory.bytes` `-4096`", { memory: { bytes: -4096 } }],
      ["`memory.bytes` `0`", { memory: { bytes: 0 } }],
      ["`memory.bytes` `NaN`", { memory: { bytes: Number.NaN } }],
      ["`memory.bytes` `Infinity`", { memory: { bytes: Number.POSITIVE_INFINITY } }],
      ['`memory.bytes` `"4096"`', { memory: { bytes: "4096" } }],
      ["`memory.bytes` `2 ** 53 + 4096` (unsafe)", { memory: { bytes: 2 ** 53 + 4096 } }],
      ["`memory.bytes` not a whole number of pages", { memory: { bytes: 3 * 4096 + 1 } }],
      ["`memory.pageSize` `3000` (not a power of two)", { memory: { pageSize: 3000 } }],
      ["`memory.pageSize` `256` (below 512)", { memory: { pageSize: 256 } }],
      ["`memory.pageSize` `2 ** 31` (above 1 GiB)", { memory: { pageSize: 2 ** 31 } }],
      ["`memory.pageSize` `-4096`", { memory: { pageSize: -4096 } }],
      ["`memory.pageSize` `NaN`", { memory: { pageSize: Number.NaN } }],
      ['`memory.pageSize` `"4096"`', { memory: { pageSize: "4096" } }],
      ['`{ dmaCoherent: "no" }`', { dmaCoherent: "no" }],
      ["`{ dmaCoherent: 0 }`", { dmaCoherent: 0 }],
      ["`{ dmaCoherent: null }`", { dmaCoherent: null }],
      ["`memory.heapBytes` `0`", { memory: { heapBytes: 0 } }],
      ["`memory.heapBytes` `-4096`", { memory: { heapBytes: -4096 } }],
      ["`memory.heapBytes` not a whole number of pages", { memory: { heapBytes: 4097 } }],
      ["`memory.heapBytes` `NaN`", { memory: { heapBytes: Number.NaN } }],
      ['`memory.heapBytes` `"4096"`', { memory: { heapBytes: "4096" } }],
      ["`memory.heapBytes` `2 ** 41` (over 1 TiB)", { memory: { heapBytes: 2 ** 41 } }],
      ["`memory.swiotlbBytes` `0`", { memory: { swiotlbBytes: 0 } }],
      ["`memory.swiotlbBytes` `-2048`", { memory: { swiotlbBytes: -2048 } }],
      ["`memory.swiotlbBytes` not a whole number of 2 KiB slots", { memory: { swiotlbBytes: 3000 } }],
      ["`memory.swiotlbBytes` `NaN`", { memory: { swiotlbBytes: Number.NaN } }],
      ['`memory.swiotlbBytes` `"2048"`', { memory: { swiotlbBytes: "2048" } }],
      ["`memory.swiotlbBytes` `2 ** 30` (896 MiB and more)", { memory: { swiotlbBytes: 2 ** 30 } }],
    ] as const
  ).map(([input, options]) => [input, () => new Machine(any<MachineOptions>(options))] as const),
);

table("machine.subscribe(listener)", EINVAL, [
  ['`"log"`', (rig) => rig.machine.subscribe(any("log"))],
  ["`null`", (rig) => rig.machine.subscribe(any(null))],
  ["an object", (rig) => rig.machine.subscribe(any({ handleEvent() {} }))],
]);

rows.push(
  {
    entry: "machine.subscribe(listener)",
    input: "a listener that throws",
    outcome: { ignored: true },
    note: "ignored: nothing thrown, and the core and the other listeners go on",
    act: (rig) => {
      const heard: string[] = [];
      const stopBad = rig.machine.subscribe(() => {
        throw BOOM;
      });
      const stopGood = rig.machine.subscribe((e) => void heard.push(e.kind));
      allocCoherent(rig.a.token, 64).free();
      stopBad();
      stopGood();
      expect(heard).toEqual(["alloc", "free"]);
    },
  },
  {
    entry: "machine.subscribe(listener)",
    input: "listeners that subscribe a new listener, or themselves again, at every event",
    outcome: { ignored: true },
    note: "nothing thrown, and no endless loop: a listener added during an event hears only later ones",
    act: (rig) => {
      const stops: (() => void)[] = [];
      let spawned = 0;
      let resubscribed = 0;
      // Capped, so that a loop that never ends fails the test instead of hanging it.
      const spawning = (): void => {
        spawned++;
        if (stops.length < 1_000) stops.push(rig.machine.subscribe(() => spawning()));
      };
      let stopSelf = (): void => {};
      const again = (): void => {
        resubscribed++;
        stopSelf();
        if (resubscribed < 1_000) stopSelf = rig.machine.subscribe(again);
      };
      const seq = rig.machine.events.at(-1)?.seq ?? 0;
      stops.push(rig.machine.subscribe(spawning));
      stopSelf = rig.machine.subscribe(again);
      allocCoherent(rig.a.token, 64).free();
      for (const stop of [...stops, stopSelf]) stop();
      // Each listener present when an event is logged hears it once: the
      // spawning family doubles its members per event, the other stays one.
      const events = rig.machine.events.filter((e) => e.seq > seq).length;
      expect(events).toBeGreaterThan(0);
      expect(spawned).toBe(2 ** events - 1);
      expect(resubscribed).toBe(events);
    },
  },
);

table("machine.run(ns)", EINVAL, [
  ["`-1`", (rig) => rig.machine.run(-1)],
  ["`NaN`", (rig) => rig.machine.run(Number.NaN)],
  ["`Infinity`", (rig) => rig.machine.run(Number.POSITIVE_INFINITY)],
  ['`"5"`', (rig) => rig.machine.run(any("5"))],
  ["`5n`", (rig) => rig.machine.run(any(5n))],
]);

table("machine.runUntilIdle(maxEvents)", EINVAL, [
  ["`NaN` (would never stop)", (rig) => rig.machine.runUntilIdle(Number.NaN)],
  ['`"100"`', (rig) => rig.machine.runUntilIdle(any("100"))],
  ["`0`", (rig) => rig.machine.runUntilIdle(0)],
  ["`-1`", (rig) => rig.machine.runUntilIdle(-1)],
  ["`1.5`", (rig) => rig.machine.runUntilIdle(1.5)],
  ["`Infinity`", (rig) => rig.machine.runUntilIdle(Number.POSITIVE_INFINITY)],
]);

table("machine.clock.after(ns, work)", EINVAL, [
  ["`ns` `-1`", (rig) => rig.machine.clock.after(-1, () => {})],
  ["`ns` `NaN`", (rig) => rig.machine.clock.after(Number.NaN, () => {})],
  ['`ns` `"10"`', (rig) => rig.machine.clock.after(any("10"), () => {})],
  ['`work` `"tick"`', (rig) => rig.machine.clock.after(10, any("tick"))],
]);

// ---------------------------------------------------------------- the bus

table(
  "bus.plug(spec)",
  EINVAL,
  (
    [
      ["`null`", null],
      ["`undefined`", undefined],
      ['`"1af4:1000"`', "1af4:1000"],
      ["`42`", 42],
      ["`{}` (no ids)", {}],
      ["`vendor` `-1`", { vendor: -1, device: 0 }],
      ["`vendor` `0x10000`", { vendor: 0x10000, device: 0 }],
      ['`vendor` `"0x1af4"`', { vendor: "0x1af4", device: 0x1000 }],
      ["`vendor` `1.5`", { vendor: 1.5, device: 0 }],
      ["`device` `NaN`", { vendor: 0x1af4, device: Number.NaN }],
      ["`device` `0x1000n`", { vendor: 0x1af4, device: 0x1000n }],
      ['`name` `""`', { vendor: 0x1af4, device: 0x1000, name: "" }],
      ['`name` `"  "`', { vendor: 0x1af4, device: 0x1000, name: "  " }],
      ["`name` `42`", { vendor: 0x1af4, device: 0x1000, name: 42 }],
      ['`dmaCoherent` `"false"`', { vendor: 0x1af4, device: 0x1000, dmaCoherent: "false" }],
      ["`dmaCoherent` `0`", { vendor: 0x1af4, device: 0x1000, dmaCoherent: 0 }],
    ] as const
  ).map(([input, spec]) => [input, (rig: Rig) => rig.machine.pci.plug(any<PlugSpec>(spec))] as const),
);

table("bus.plug(spec)", EBUSY, [
  ["a name already on the bus", (rig) => rig.machine.pci.plug({ ...NIC, name: rig.a.dev.name })],
  ["a model already plugged in", (rig) => rig.machine.pci.plug(rig.a.model)],
  ["a model plugged into another machine", (rig) => rig.machine.pci.plug(rig.foreign.model)],
  ["a model that was unplugged", (rig) => rig.machine.pci.plug(rig.zombieModel)],
]);

/** Bad values to pass where a `Device` goes. */
const notDevices: readonly (readonly [string, (rig: Rig) => unknown])[] = [
  ["`null`", () => null],
  ["`undefined`", () => undefined],
  ["`{}`", () => ({})],
  ["the device's name", (rig) => rig.a.dev.name],
  ["`Object.create(dev)`", (rig) => Object.create(rig.a.dev)],
  ["a Proxy of the device", (rig) => new Proxy(rig.a.dev, {})],
  ["a JSON round trip of the device", (rig) => JSON.parse(JSON.stringify(rig.a.dev))],
  ["a device of another machine", (rig) => rig.foreign.dev],
];
for (const [input, make] of notDevices) {
  rows.push({ entry: "bus.unplug(dev)", input, outcome: EINVAL, act: (rig) => rig.machine.pci.unplug(any(make(rig))) });
  rows.push({ entry: "bus.unbind(dev)", input, outcome: EINVAL, act: (rig) => rig.machine.pci.unbind(any(make(rig))) });
}

table("bus.unplug(dev)", EINVAL, [["a device already unplugged", (rig) => rig.machine.pci.unplug(rig.zombie)]]);
table("bus.unbind(dev)", EINVAL, [
  ["a device with no driver", (rig) => rig.machine.pci.unbind(rig.dead.dev)],
  ["an unplugged device", (rig) => rig.machine.pci.unbind(rig.zombie)],
]);

/** Bad values to pass where a `Driver` goes. */
const notDrivers: readonly (readonly [string, (rig: Rig) => unknown])[] = [
  ["`null`", () => null],
  ["`{}`", () => ({})],
  ["an object literal `{ name, ids, probe }`", () => ({ name: "fake", ids: [NIC], probe: () => ({}) })],
  ["`Object.create(driver)`", (rig) => Object.create(rig.a.driver)],
  ["a Proxy of a driver", (rig) => new Proxy(rig.a.driver, {})],
];

table(
  "bus.register(driver)",
  EINVAL,
  notDrivers.map(([input, make]) => [input, (rig: Rig) => rig.machine.pci.register(any(make(rig)))] as const),
);
table("bus.register(driver)", EBUSY, [["a driver already registered", (rig) => rig.machine.pci.register(rig.a.driver)]]);
table("bus.unregister(driver)", EINVAL, [
  ...notDrivers.map(([input, make]) => [input, (rig: Rig) => rig.machine.pci.unregister(any(make(rig)))] as const),
  ["a driver never registered", (rig: Rig) => rig.machine.pci.unregister(rig.stray)],
]);

// ---------------------------------------------------------------- drivers

const probe = (): DriverInstance<unknown> => ({});
table(
  "defineDriver(spec)",
  EINVAL,
  (
    [
      ["`null`", null],
      ['`"nic"`', "nic"],
      ['`name` `""`', { name: "", ids: [NIC], probe }],
      ['`name` `"   "`', { name: "   ", ids: [NIC], probe }],
      ["`name` `42`", { name: 42, ids: [NIC], probe }],
      ["no `ids`", { name: "d", probe }],
      ["`ids` `[]`", { name: "d", ids: [], probe }],
      ['`ids` `"1af4:1000"`', { name: "d", ids: "1af4:1000", probe }],
      ["`ids` `[null]`", { name: "d", ids: [null], probe }],
      ["`ids` a sparse array `[ , ]`", { name: "d", ids: new Array(1), probe }],
      ["an id with `vendor` `-1`", { name: "d", ids: [{ vendor: -1, device: 0 }], probe }],
      ['an id with `vendor` `"0x1af4"`', { name: "d", ids: [{ vendor: "0x1af4", device: 0x1000 }], probe }],
      ["an id with `device` `0x10000`", { name: "d", ids: [{ vendor: 0x1af4, device: 0x10000 }], probe }],
      ["an id with no `device`", { name: "d", ids: [{ vendor: 0x1af4 }], probe }],
      ["no `probe`", { name: "d", ids: [NIC] }],
      ['`probe` `"probe"`', { name: "d", ids: [NIC], probe: "probe" }],
    ] as const
  ).map(([input, spec]) => [input, () => defineDriver(any<DriverSpec>(spec))] as const),
);

/** Rows whose probe takes the five resources and then fails: the device stays `no-driver` with all of it released. */
const failedProbe = "the device stays `no-driver`, with all 5 resources it took released";
table(
  "probe(dev)",
  { logged: "probe-failed" },
  (
    [
      ["throws", () => {
        throw BOOM;
      }],
      ["rejects after an await", async () => {
        await tick();
        throw BOOM;
      }],
      ["throws a string", () => {
        throw "no firmware";
      }],
    ] as const
  ).map(([input, then]) => [
    input,
    async (rig: Rig) => {
      const t = await rig.transient({ then });
      await t.expectReleased("no-driver");
    },
  ] as const),
  { note: failedProbe },
);
table(
  "probe(dev)",
  { logged: "probe-failed", errorCode: "EINVAL" },
  (
    [
      ["returns `42`", () => 42],
      ["returns `null`", () => null],
      ["resolves to `\"ok\"`", async () => "ok"],
      ['returns `{ remove: "later" }`', () => ({ remove: "later" })],
    ] as const
  ).map(([input, then]) => [
    input,
    async (rig: Rig) => {
      const t = await rig.transient({ then });
      await t.expectReleased("no-driver");
    },
  ] as const),
  { note: failedProbe },
);

table(
  "remove(dev)",
  { logged: "remove-failed" },
  [
    ["throws, at unbind", async (rig) => {
      const t = await rig.transient({ then: () => ({ remove: () => { throw BOOM; } }) });
      await expect(rig.machine.pci.unbind(t.dev)).resolves.toBeUndefined();
      await t.expectReleased("no-driver");
    }],
    ["rejects after an await, at unbind", async (rig) => {
      const t = await rig.transient({ then: () => ({ remove: async () => { await tick(); throw BOOM; } }) });
      await expect(rig.machine.pci.unbind(t.dev)).resolves.toBeUndefined();
      await t.expectReleased("no-driver");
    }],
    ["throws, at unplug", async (rig) => {
      const t = await rig.transient({ then: () => ({ remove: () => { throw BOOM; } }) });
      await expect(rig.machine.pci.unplug(t.dev)).resolves.toBeUndefined();
      await t.expectReleased("zombie");
    }],
  ],
  { note: "the unbind completes and releases all 5 resources" },
);

// ---------------------------------------------------------------- coherent memory

/** Bad values to pass where a token goes, with the code each gives. */
const notTokens: readonly (readonly [string, ErrorCode, (rig: Rig) => unknown])[] = [
  ["`null`", "EINVAL", () => null],
  ["`undefined`", "EINVAL", () => undefined],
  ['`"token"`', "EINVAL", () => "token"],
  ["`{}`", "EPERM", () => ({})],
  ["the plain `Device`", "EPERM", (rig) => rig.a.dev],
  ["`Object.create(token)`", "EPERM", (rig) => Object.create(rig.a.token)],
  ["a dead token", "ENXIO", (rig) => rig.dead.token],
];

for (const [input, code, make] of notTokens) {
  rows.push({ entry: "allocCoherent(dev, size)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => allocCoherent(any<Token>(make(rig)), 4096) });
}
rows.push({
  entry: "allocCoherent(dev, size)",
  input: "a dead token and `size` `-1`",
  outcome: ENXIO,
  note: "the token is checked first",
  act: (rig) => allocCoherent(rig.dead.token, -1),
});
table(
  "allocCoherent(dev, size)",
  EINVAL,
  (
    [
      ["`0`", 0],
      ["`-1`", -1],
      ["`-4096`", -4096],
      ["`1.5`", 1.5],
      ["`NaN`", Number.NaN],
      ["`Infinity`", Number.POSITIVE_INFINITY],
      ["`-Infinity`", Number.NEGATIVE_INFINITY],
      ['`"4096"`', "4096"],
      ["`4096n`", 4096n],
      ["`null`", null],
      ["`undefined`", undefined],
      ["`2 ** 53` (unsafe)", 2 ** 53],
      ["`1e21`", 1e21],
    ] as const
  ).map(([input, size]) => [`\`size\` ${input}`, (rig: Rig) => allocCoherent(rig.a.token, any(size))] as const),
);
table("allocCoherent(dev, size)", ENOMEM, [
  ["`size` `Number.MAX_SAFE_INTEGER`", (rig) => allocCoherent(rig.a.token, Number.MAX_SAFE_INTEGER)],
  ["`size` one byte more than the pool", (rig) => allocCoherent(rig.a.token, rig.machine.memory.capacity + 1)],
]);
rows.push({
  entry: "allocCoherent(dev, size)",
  input: "`size` `2 ** 45`, which fits a 64 TiB pool but no host can back",
  outcome: ENOMEM,
  machine: { memory: { bytes: 2 ** 46 } },
  act: (rig) => allocCoherent(rig.a.token, 2 ** 45),
});

for (const [input, code, make] of notTokens) {
  rows.push({ entry: "freeCoherent(dev, handle)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => freeCoherent(any<Token>(make(rig)), rig.a.buf.dmaHandle) });
}
table(
  "freeCoherent(dev, handle)",
  EINVAL,
  [
    ["`handle` as a number", (rig) => freeCoherent(rig.a.token, any(Number(rig.a.buf.dmaHandle)))],
    ["`handle` as a hex string", (rig) => freeCoherent(rig.a.token, any(`0x${rig.a.buf.dmaHandle.toString(16)}`))],
    ["`handle` `null`", (rig) => freeCoherent(rig.a.token, any(null))],
    ["`handle` `undefined`", (rig) => freeCoherent(rig.a.token, any(undefined))],
  ],
);
table(
  "freeCoherent(dev, handle)",
  EINVAL,
  [
    ["`handle` `1n`, never allocated", (rig) => freeCoherent(rig.a.token, any(1n))],
    ["`handle` `-1n`", (rig) => freeCoherent(rig.a.token, any(-1n))],
    ["`handle` `2n ** 70n`", (rig) => freeCoherent(rig.a.token, any(2n ** 70n))],
    ["`handle` inside an allocation, not its start", (rig) => freeCoherent(rig.a.token, any(rig.a.buf.dmaHandle + 8n))],
    ["another device's handle", (rig) => freeCoherent(rig.a.token, rig.b.buf.dmaHandle as never)],
  ],
  { violation: "free-unknown", note: "a `free-unknown` violation, and nothing is freed" },
);
table(
  "freeCoherent(dev, handle)",
  EINVAL,
  [
    ["a handle freed already", (rig) => {
      const once = allocCoherent(rig.a.token, 64);
      freeCoherent(rig.a.token, once.dmaHandle);
      return freeCoherent(rig.a.token, once.dmaHandle);
    }],
  ],
  { violation: "double-free", note: "a `double-free` violation" },
);

/** Bad tokens for a resource's accessor: the not-tokens, and a live token of the wrong binding. */
const wrongTokens: readonly (readonly [string, ErrorCode, (rig: Rig) => unknown])[] = [
  ...notTokens,
  ["a Proxy of the token", "EPERM", (rig) => new Proxy(rig.a.token, {})],
  ["another device's live token", "EINVAL", (rig) => rig.b.token],
  ["a live token of another machine", "EINVAL", (rig) => rig.foreign.token],
];
for (const method of ["bytes", "view"] as const) {
  for (const [input, code, make] of wrongTokens) {
    rows.push({ entry: `allocation.${method}(dev)`, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.a.buf[method](any(make(rig))) });
  }
  rows.push({
    entry: `allocation.${method}(dev)`,
    input: "the owner's live token, after `free()`",
    outcome: EINVAL,
    act: (rig) => {
      const once = allocCoherent(rig.a.token, 64);
      once.free();
      return once[method](rig.a.token);
    },
  });
}
table(
  "allocation.free()",
  EINVAL,
  [
    ["called twice", (rig) => {
      const once = allocCoherent(rig.a.token, 64);
      once.free();
      once.free();
    }],
    ["`[Symbol.dispose]()` after `free()`", (rig) => {
      const once = allocCoherent(rig.a.token, 64);
      once.free();
      once[Symbol.dispose]();
    }],
    ["after devres freed it at unbind", (rig) => rig.dead.buf.free()],
  ],
  { violation: "double-free", note: "a `double-free` violation; the pool is untouched" },
);

// ---------------------------------------------------------------- streaming DMA

/** The calls by address and the mapping calls, typed loosely: the rows pass what the types refuse. */
type Loose = (dev: unknown, ...rest: unknown[]) => unknown;
const unmapSingleAny = unmapSingle as Loose;
const syncSingleForCpuAny = syncSingleForCpu as Loose;
const syncSingleForDeviceAny = syncSingleForDevice as Loose;
const mapSingleAny = mapSingle as Loose;

/** Runs `use` with a fresh kernel buffer of the parked binding, then frees it: a row that maps it must leave nothing mapped. */
function withBuffer<T>(rig: Rig, size: number, use: (buffer: KernelBuffer<"kmalloc">) => T, allocator: "kmalloc" | "vmalloc" = "kmalloc"): T {
  const buffer = (allocator === "kmalloc" ? kmalloc : vmalloc)(rig.core, size) as KernelBuffer<"kmalloc">;
  try {
    return use(buffer);
  } finally {
    buffer.free();
  }
}

/** Runs `use` with the parked binding's DMA mask at `bits`, then puts the default (32) back. */
function withMask<T>(rig: Rig, bits: number, use: () => T): T {
  setDmaMask(rig.core, bits);
  try {
    return use();
  } finally {
    setDmaMask(rig.core, 32);
  }
}

/** A mapping of the spare buffer by A, unmapped at once: a handle and an address that are gone. */
function unmappedSingle(rig: Rig): DeviceOwnedToDevice<Smuggled> {
  const gone = mapSingle(rig.a.token, rig.streaming.spare, "to-device");
  gone.unmap(rig.a.token);
  return gone;
}

/** An sg table of the spare buffer by A, unmapped at once. */
function unmappedTable(rig: Rig): SgTable<Smuggled, "from-device"> {
  const gone = mapSg(rig.a.token, [rig.streaming.spare], "from-device");
  gone.unmap(rig.a.token);
  return gone;
}

/** Bad sizes for an allocation of kernel memory. */
const badSizes = [
  ["`0`", 0],
  ["`-1`", -1],
  ["`1.5`", 1.5],
  ["`NaN`", Number.NaN],
  ["`Infinity`", Number.POSITIVE_INFINITY],
  ['`"64"`', "64"],
  ["`64n`", 64n],
  ["`null`", null],
  ["`2 ** 53` (unsafe)", 2 ** 53],
] as const;

for (const [name, allocate] of [
  ["kmalloc", kmalloc],
  ["vmalloc", vmalloc],
] as const) {
  const entry = `${name}(dev, size)`;
  for (const [input, code, make] of notTokens) rows.push({ entry, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => allocate(any<Token>(make(rig)), 64) });
  rows.push({ entry, input: "a dead token and `size` `-1`", outcome: ENXIO, note: "the token is checked first", act: (rig) => allocate(rig.dead.token, -1) });
  table(
    entry,
    EINVAL,
    badSizes.map(([input, size]) => [`\`size\` ${input}`, (rig: Rig) => allocate(rig.a.token, any(size))] as const),
  );
  table(entry, ENOMEM, [
    ["`size` one byte more than the heap", (rig) => allocate(rig.a.token, 64 * 1024 * 1024 + 1)],
    ["`size` `Number.MAX_SAFE_INTEGER`", (rig) => allocate(rig.a.token, Number.MAX_SAFE_INTEGER)],
  ]);
}
table(
  "kmalloc(dev, size)",
  ENOMEM,
  [["four pages with three free, in a heap of eight", (rig) => kmalloc(rig.a.token, 4 * 4096)]],
  { machine: { memory: { heapBytes: 8 * 4096 } } },
);
table(
  "vmalloc(dev, size)",
  ENOMEM,
  [["four pages with three free, in a heap of eight", (rig) => vmalloc(rig.a.token, 4 * 4096)]],
  { machine: { memory: { heapBytes: 8 * 4096 } } },
);

for (const method of ["bytes", "view"] as const) {
  rows.push({ entry: "buffer.bytes/view()", input: `\`${method}()\` of a freed buffer`, outcome: EINVAL, act: (rig) => rig.streaming.freed[method]() });
  rows.push({
    entry: "buffer.bytes/view()",
    input: `\`${method}()\` of a buffer the device owns, under \`dmaDebug: "throw"\``,
    outcome: EINVAL,
    violation: "cpu-access-device-owned",
    note: "a `cpu-access-device-owned` violation, and no view",
    machine: { dmaDebug: "throw" },
    act: (rig) => rig.streaming.rxbuf[method](),
  });
}
table(
  "buffer.free()",
  EINVAL,
  [
    ["called twice", (rig) => rig.streaming.freed.free()],
    ["`[Symbol.dispose]()` after `free()`", (rig) => rig.streaming.freed[Symbol.dispose]()],
  ],
);
table("buffer.free()", EBUSY, [["while mapped", (rig) => rig.streaming.kbuf.free()], ["while an sg table maps it", (rig) => rig.streaming.vbuf.free()]], {
  note: "the device could still DMA into it; nothing is freed",
});

// mapSingle
for (const [input, code, make] of notTokens) {
  rows.push({ entry: "mapSingle(dev, buffer, dir, offset, length)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => mapSingle(any<Token>(make(rig)), rig.streaming.spare, "to-device") });
}
table("mapSingle(dev, buffer, dir, offset, length)", EINVAL, [
  ["`buffer` `null`", (rig) => mapSingle(rig.a.token, any(null), "to-device")],
  ["`buffer` `{}`", (rig) => mapSingle(rig.a.token, any({}), "to-device")],
  ["`buffer` a `Uint8Array`", (rig) => mapSingle(rig.a.token, any(new Uint8Array(64)), "to-device")],
  ["`buffer` a coherent allocation", (rig) => mapSingle(rig.a.token, any(rig.a.buf), "to-device")],
  ["`buffer` `Object.create(buffer)`", (rig) => mapSingle(rig.a.token, any(Object.create(rig.streaming.spare)), "to-device")],
  ["`buffer` freed", (rig) => mapSingle(rig.a.token, rig.streaming.freed, "to-device")],
  ["`buffer` from vmalloc (through a cast)", (rig) => mapSingle(rig.a.token, any(rig.streaming.vbuf), "to-device")],
  ['`dir` `"to_device"`', (rig) => mapSingleAny(rig.a.token, rig.streaming.spare, any("to_device"))],
  ['`dir` `"DMA_TO_DEVICE"`', (rig) => mapSingleAny(rig.a.token, rig.streaming.spare, any("DMA_TO_DEVICE"))],
  ["`dir` `null`", (rig) => mapSingleAny(rig.a.token, rig.streaming.spare, any(null))],
  ["`dir` `1`", (rig) => mapSingleAny(rig.a.token, rig.streaming.spare, any(1))],
  ["`offset` `-1`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", -1)],
  ["`offset` `1.5`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 1.5)],
  ["`offset` `NaN`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", Number.NaN)],
  ["`offset` `64` (the size)", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 64)],
  ['`offset` `"0"`', (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", any("0"))],
  ["`length` `0`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 0, 0)],
  ["`length` `-1`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 0, -1)],
  ["`length` `65` (past the end)", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 0, 65)],
  ["`offset` `32` and `length` `33` (past the end)", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 32, 33)],
  ["`length` `NaN`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 0, Number.NaN)],
  ["`length` `Infinity`", (rig) => mapSingle(rig.a.token, rig.streaming.spare, "to-device", 0, Number.POSITIVE_INFINITY)],
]);
rows.push(
  {
    entry: "mapSingle(dev, buffer, dir, offset, length)",
    input: "4 KiB that must bounce, with a swiotlb pool of one 2 KiB slot",
    outcome: ENOMEM,
    note: "no slot is taken",
    machine: { memory: { swiotlbBytes: 2048 } },
    act: (rig) => withBuffer(rig, 4096, (buffer) => mapSingle(rig.core, buffer, "to-device")),
  },
  {
    entry: "mapSingle(dev, buffer, dir, offset, length)",
    input: "300 KiB that must bounce: more than 128 slots",
    outcome: ENOMEM,
    act: (rig) => withBuffer(rig, 300 * 1024, (buffer) => mapSingle(rig.core, buffer, "to-device")),
  },
  {
    entry: "mapSingle(dev, buffer, dir, offset, length)",
    input: "a 16-bit DMA mask in passthrough: swiotlb lies above it",
    outcome: ENOMEM,
    act: (rig) => withBuffer(rig, 64, (buffer) => withMask(rig, 16, () => mapSingle(rig.core, buffer, "to-device"))),
  },
  {
    entry: "mapSingle(dev, buffer, dir, offset, length)",
    input: "a 16-bit DMA mask behind a strict IOMMU: no IOVA lies below it",
    outcome: ENOMEM,
    machine: { iommu: "strict" },
    act: (rig) => withBuffer(rig, 64, (buffer) => withMask(rig, 16, () => mapSingle(rig.core, buffer, "to-device"))),
  },
  {
    entry: "mapSingle(dev, buffer, dir, offset, length)",
    input: 'cache lines a live mapping holds, from-device, under `dmaDebug: "throw"`',
    outcome: EINVAL,
    violation: "overlapping-cacheline",
    note: "an `overlapping-cacheline` violation, and nothing stays mapped",
    machine: { dmaDebug: "throw" },
    act: (rig) => mapSingle(rig.a.token, rig.streaming.kbuf, "from-device"),
  },
);

// unmapSingle
const rxAddress = (rig: Rig) => rig.streaming.rx.dmaAddress;
for (const [input, code, make] of notTokens) {
  rows.push({ entry: "unmapSingle(dev, address, size, dir)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => unmapSingleAny(any<Token>(make(rig)), rxAddress(rig), 128, "from-device") });
}
table(
  "unmapSingle(dev, address, size, dir)",
  EINVAL,
  [
    ["`address` as a number", (rig) => unmapSingleAny(rig.a.token, any(Number(rxAddress(rig))), 128, "from-device")],
    ["`address` as a hex string", (rig) => unmapSingleAny(rig.a.token, any(`0x${rxAddress(rig).toString(16)}`), 128, "from-device")],
    ["`address` `null`", (rig) => unmapSingleAny(rig.a.token, any(null), 128, "from-device")],
    ['`dir` `"up"`', (rig) => unmapSingleAny(rig.a.token, rxAddress(rig), 128, any("up"))],
    ["`dir` `null`", (rig) => unmapSingleAny(rig.a.token, rxAddress(rig), 128, any(null))],
    ["`size` `NaN`", (rig) => unmapSingleAny(rig.a.token, rxAddress(rig), Number.NaN, "from-device")],
    ["`size` `0`", (rig) => unmapSingleAny(rig.a.token, rxAddress(rig), 0, "from-device")],
    ["`size` `-1`", (rig) => unmapSingleAny(rig.a.token, rxAddress(rig), -1, "from-device")],
    ['`size` `"128"`', (rig) => unmapSingleAny(rig.a.token, rxAddress(rig), any("128"), "from-device")],
  ],
  { note: "nothing is unmapped" },
);
table("unmapSingle(dev, address, size, dir)", EINVAL, [["`address` `1n`, never mapped", (rig) => unmapSingleAny(rig.a.token, any(1n), 64, "to-device")]], {
  violation: "free-unknown",
  note: "a `free-unknown` violation, and nothing is unmapped",
});
table(
  "unmapSingle(dev, address, size, dir)",
  EINVAL,
  [
    ["the address of an sg table", (rig) => unmapSingleAny(rig.a.token, any(rig.streaming.table.segments[0]!.dmaAddress), 8192, "from-device")],
    ["the handle of a coherent allocation", (rig) => unmapSingleAny(rig.a.token, any(rig.a.buf.dmaHandle), 4096, "to-device")],
  ],
  { violation: "wrong-function", note: "a `wrong-function` violation, and nothing is unmapped" },
);
table("unmapSingle(dev, address, size, dir)", EINVAL, [["an address unmapped already", (rig) => unmapSingleAny(rig.a.token, unmappedSingle(rig).dmaAddress, 64, "to-device")]], {
  violation: "double-free",
  note: "a `double-free` violation",
});

// syncSingleForCpu / syncSingleForDevice
const SYNC_SINGLE = "syncSingleForCpu/syncSingleForDevice(dev, address, size, dir, offset)";
for (const [input, code, make] of notTokens) {
  rows.push({ entry: SYNC_SINGLE, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => syncSingleForCpuAny(any<Token>(make(rig)), rxAddress(rig), 128, "from-device") });
}
table(
  SYNC_SINGLE,
  EINVAL,
  (
    [
      ["`address` as a number", (rig: Rig) => [any(Number(rxAddress(rig))), 128, "from-device", 0]],
      ["`address` `null`", () => [any(null), 128, "from-device", 0]],
      ['`dir` `"up"`', (rig: Rig) => [rxAddress(rig), 128, any("up"), 0]],
      ["`size` `0`", (rig: Rig) => [rxAddress(rig), 0, "from-device", 0]],
      ["`size` `-1`", (rig: Rig) => [rxAddress(rig), -1, "from-device", 0]],
      ["`size` `NaN`", (rig: Rig) => [rxAddress(rig), Number.NaN, "from-device", 0]],
      ["`offset` `-1`", (rig: Rig) => [rxAddress(rig), 1, "from-device", -1]],
      ["`offset` `NaN`", (rig: Rig) => [rxAddress(rig), 1, "from-device", Number.NaN]],
      ['`offset` `"0"`', (rig: Rig) => [rxAddress(rig), 1, "from-device", any("0")]],
    ] as const
  ).flatMap(([input, args]) => [
    [`\`syncSingleForCpu\` ${input}`, (rig: Rig) => syncSingleForCpuAny(rig.a.token, ...(args(rig) as [never, number, "from-device", number]))] as const,
    [`\`syncSingleForDevice\` ${input}`, (rig: Rig) => syncSingleForDeviceAny(rig.a.token, ...(args(rig) as [never, number, "from-device", number]))] as const,
  ]),
  { note: "nothing is synced" },
);
table(
  SYNC_SINGLE,
  EINVAL,
  [
    ["`syncSingleForCpu` `size` `129`, past the end", (rig) => syncSingleForCpuAny(rig.a.token, rxAddress(rig), 129, "from-device")],
    ["`syncSingleForCpu` `offset` `128`", (rig) => syncSingleForCpuAny(rig.a.token, rxAddress(rig), 1, "from-device", 128)],
    ["`syncSingleForDevice` `offset` `100` and `size` `29`", (rig) => syncSingleForDeviceAny(rig.a.token, rxAddress(rig), 29, "from-device", 100)],
  ],
  { violation: "sync-outside-mapping", note: "a `sync-outside-mapping` violation, and nothing is synced" },
);
table(
  SYNC_SINGLE,
  EINVAL,
  [
    ["`syncSingleForCpu` `address` `1n`, never mapped", (rig) => syncSingleForCpuAny(rig.a.token, any(1n), 64, "from-device")],
    ["`syncSingleForDevice` of an address unmapped already", (rig) => syncSingleForDeviceAny(rig.a.token, unmappedSingle(rig).dmaAddress, 64, "to-device")],
  ],
  { violation: "sync-unmapped", note: "a `sync-unmapped` violation" },
);

// mapSg
const MAP_SG = "mapSg(dev, buffers, dir)";
for (const [input, code, make] of notTokens) rows.push({ entry: MAP_SG, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => mapSg(any<Token>(make(rig)), [rig.streaming.spare], "to-device") });
table(
  MAP_SG,
  EINVAL,
  [
    ["`[]`", (rig) => mapSg(rig.a.token, [], "to-device")],
    ["`null`", (rig) => mapSg(rig.a.token, any(null), "to-device")],
    ["`[null]`", (rig) => mapSg(rig.a.token, any([null]), "to-device")],
    ["`[{}]`", (rig) => mapSg(rig.a.token, any([{}]), "to-device")],
    ["`[Object.create(buffer)]`", (rig) => mapSg(rig.a.token, any([Object.create(rig.streaming.spare)]), "to-device")],
    ["a `Uint8Array`", (rig) => mapSg(rig.a.token, any(new Uint8Array(64)), "to-device")],
    ["a freed buffer", (rig) => mapSg(rig.a.token, [rig.streaming.freed], "to-device")],
    ["a live buffer, then `null`", (rig) => mapSg(rig.a.token, any([rig.streaming.spare, null]), "to-device")],
    ["a piece with `offset` `-1`", (rig) => mapSg(rig.a.token, [{ buffer: rig.streaming.spare, offset: -1, length: 1 }], "to-device")],
    ["a piece with `length` `0`", (rig) => mapSg(rig.a.token, [{ buffer: rig.streaming.spare, offset: 0, length: 0 }], "to-device")],
    ["a piece past the end", (rig) => mapSg(rig.a.token, [{ buffer: rig.streaming.spare, offset: 60, length: 5 }], "to-device")],
    ["a piece with `offset` `NaN`", (rig) => mapSg(rig.a.token, [{ buffer: rig.streaming.spare, offset: Number.NaN, length: 1 }], "to-device")],
    ["a piece of a coherent allocation", (rig) => mapSg(rig.a.token, any([{ buffer: rig.a.buf, offset: 0, length: 64 }]), "to-device")],
    ['`dir` `"sideways"`', (rig) => mapSg(rig.a.token, [rig.streaming.spare], any<"to-device">("sideways"))],
    ["`dir` `undefined`", (rig) => mapSg(rig.a.token, [rig.streaming.spare], any<"to-device">(undefined))],
  ],
  { note: "nothing is mapped" },
);
rows.push(
  {
    entry: MAP_SG,
    input: "two vmalloc pages that must bounce, with a swiotlb pool of one 2 KiB slot",
    outcome: ENOMEM,
    note: "the slot the first entry took is given back",
    machine: { memory: { swiotlbBytes: 2048, pageSize: 2048 } },
    act: (rig) => withBuffer(rig, 4096, (buffer) => mapSg(rig.core, buffer, "to-device"), "vmalloc"),
  },
  {
    entry: MAP_SG,
    input: 'a 4 KiB entry with a maximum segment of 1 KiB, under `dmaDebug: "throw"`',
    outcome: EINVAL,
    violation: "sg-segment-too-long",
    note: "an `sg-segment-too-long` violation, and nothing stays mapped",
    machine: { dmaDebug: "throw" },
    act: (rig) =>
      withBuffer(rig, 4096, (buffer) => {
        setMaxSegmentSize(rig.core, 1024);
        try {
          return mapSg(rig.core, [buffer], "to-device");
        } finally {
          setMaxSegmentSize(rig.core, 65_536);
        }
      }),
  },
);

// unmapSg, syncSgForCpu, syncSgForDevice
const UNMAP_SG = "unmapSg(dev, table, entries, dir)";
const SYNC_SG = "syncSgForCpu/syncSgForDevice(dev, table, entries, dir)";
for (const [input, code, make] of notTokens) {
  rows.push({ entry: UNMAP_SG, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => unmapSg(any<Token>(make(rig)), rig.streaming.table, 2, "from-device") });
  rows.push({ entry: SYNC_SG, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => syncSgForCpu(any<Token>(make(rig)), rig.streaming.table, 2, "from-device") });
}
/** Bad tables, entry counts and directions, for each call that takes a table. */
const badTables: readonly (readonly [string, (rig: Rig) => readonly [unknown, unknown, unknown]])[] = [
  ["`table` `null`", () => [null, 2, "from-device"]],
  ["`table` `{}`", () => [{}, 2, "from-device"]],
  ["`table` a single mapping's handle", (rig) => [rig.streaming.rx, 1, "from-device"]],
  ["`table` a segment's bus address", (rig) => [rig.streaming.table.segments[0]!.dmaAddress, 2, "from-device"]],
  ["`entries` `NaN`", (rig) => [rig.streaming.table, Number.NaN, "from-device"]],
  ["`entries` `0`", (rig) => [rig.streaming.table, 0, "from-device"]],
  ["`entries` `-2`", (rig) => [rig.streaming.table, -2, "from-device"]],
  ['`entries` `"2"`', (rig) => [rig.streaming.table, "2", "from-device"]],
  ['`dir` `"up"`', (rig) => [rig.streaming.table, 2, "up"]],
  ["`dir` `null`", (rig) => [rig.streaming.table, 2, null]],
];
for (const [input, args] of badTables) {
  rows.push({ entry: UNMAP_SG, input, outcome: EINVAL, note: "nothing is unmapped", act: (rig) => unmapSg(rig.a.token, ...(args(rig) as [never, number, "from-device"])) });
  rows.push({ entry: SYNC_SG, input: `\`syncSgForCpu\` ${input}`, outcome: EINVAL, note: "nothing is synced", act: (rig) => syncSgForCpu(rig.a.token, ...(args(rig) as [never, number, "from-device"])) });
  rows.push({ entry: SYNC_SG, input: `\`syncSgForDevice\` ${input}`, outcome: EINVAL, note: "nothing is synced", act: (rig) => syncSgForDevice(rig.a.token, ...(args(rig) as [never, number, "from-device"])) });
}
rows.push({
  entry: UNMAP_SG,
  input: "a table of another binding",
  outcome: EINVAL,
  note: "nothing is unmapped",
  act: (rig) => {
    const theirs = mapSg(rig.core, [rig.streaming.spare], "to-device");
    try {
      return unmapSg(rig.a.token, theirs, 1, "to-device");
    } finally {
      theirs.unmap(rig.core);
    }
  },
});
table(UNMAP_SG, EINVAL, [["a table unmapped already", (rig) => unmapSg(rig.a.token, unmappedTable(rig), 1, "from-device")]], { violation: "double-free", note: "a `double-free` violation" });
table(
  SYNC_SG,
  EINVAL,
  [
    ["`syncSgForCpu` of a table unmapped already", (rig) => syncSgForCpu(rig.a.token, unmappedTable(rig), 1, "from-device")],
    ["`syncSgForDevice` of a table unmapped already", (rig) => syncSgForDevice(rig.a.token, unmappedTable(rig), 1, "from-device")],
  ],
  { violation: "sync-unmapped", note: "a `sync-unmapped` violation" },
);

// the device's segment limits
for (const [entry, act] of [
  ["setMaxSegmentSize(dev, bytes)", (dev: Token) => setMaxSegmentSize(dev, 4096)],
  ["setSegmentBoundary(dev, mask)", (dev: Token) => setSegmentBoundary(dev, 0xffffn)],
] as const) {
  for (const [input, code, make] of notTokens) rows.push({ entry, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => act(any<Token>(make(rig))) });
  rows.push({ entry, input: "a live token outside probe() and remove()", outcome: EPERM, act: (rig) => act(rig.a.token) });
}
table(
  "setMaxSegmentSize(dev, bytes)",
  EINVAL,
  (
    [
      ["`0`", 0],
      ["`-1`", -1],
      ["`1.5`", 1.5],
      ["`NaN`", Number.NaN],
      ["`Infinity`", Number.POSITIVE_INFINITY],
      ['`"4096"`', "4096"],
    ] as const
  ).map(([input, bytes]) => [`\`bytes\` ${input}`, (rig: Rig) => setMaxSegmentSize(rig.core, any(bytes))] as const),
);
table(
  "setSegmentBoundary(dev, mask)",
  EINVAL,
  (
    [
      ["`0n`", 0n],
      ["`-1n`", -1n],
      ["`0x1000n` (not a power of two less one)", 0x1000n],
      ["`2n ** 64n`", 2n ** 64n],
      ["`0xfff` (a number)", 0xfff],
      ['`"0xfff"`', "0xfff"],
      ["`null`", null],
    ] as const
  ).map(([input, mask]) => [`\`mask\` ${input}`, (rig: Rig) => setSegmentBoundary(rig.core, any(mask))] as const),
);

// DMA pools
const CREATE_POOL = "createDmaPool(dev, name, size, align, boundary)";
for (const [input, code, make] of notTokens) rows.push({ entry: CREATE_POOL, input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => createDmaPool(any<Token>(make(rig)), "p", 32) });
rows.push({ entry: CREATE_POOL, input: "a live token outside probe() and remove()", outcome: EPERM, act: (rig) => createDmaPool(rig.a.token, "p", 32) });
table(
  CREATE_POOL,
  EINVAL,
  (
    [
      ['`name` `""`', "", 32, 16, 0],
      ["`name` `42`", 42, 32, 16, 0],
      ["`name` `null`", null, 32, 16, 0],
      ["`size` `0`", "p", 0, 16, 0],
      ["`size` `-1`", "p", -1, 16, 0],
      ["`size` `1.5`", "p", 1.5, 16, 0],
      ["`size` `NaN`", "p", Number.NaN, 16, 0],
      ["`size` `2 ** 20 + 1` (over 1 MiB)", "p", 2 ** 20 + 1, 16, 0],
      ['`size` `"32"`', "p", "32", 16, 0],
      ["`align` `0`", "p", 32, 0, 0],
      ["`align` `3` (not a power of two)", "p", 32, 3, 0],
      ["`align` `-8`", "p", 32, -8, 0],
      ["`align` `2 ** 21` (over 1 MiB)", "p", 32, 2 ** 21, 0],
      ["`align` `NaN`", "p", 32, Number.NaN, 0],
      ["`boundary` `-1`", "p", 32, 16, -1],
      ["`boundary` `3` (not a power of two)", "p", 32, 16, 3],
      ["`boundary` `16` (below the 32-byte block)", "p", 32, 16, 16],
      ["`boundary` `2 ** 31` (over 1 GiB)", "p", 32, 16, 2 ** 31],
      ['`boundary` `"4096"`', "p", 32, 16, "4096"],
    ] as const
  ).map(([input, name, size, align, boundary]) => [input, (rig: Rig) => createDmaPool(rig.core, any(name), any(size), any(align), any(boundary))] as const),
  { note: "no pool is made" },
);

/** A pool of the parked binding, destroyed: its blocks are gone. */
function destroyedPool(rig: Rig): DmaPool<Smuggled> {
  const pool = createDmaPool(rig.core, "gone", 16);
  pool.destroy();
  return pool;
}

/** A block of the fixture pool, freed. */
function freedBlock(rig: Rig): PoolBlock<Smuggled> {
  const block = rig.streaming.pool.alloc(rig.core);
  block.free();
  return block;
}

// Tokens for the pool of the parked binding: the not-tokens, and live tokens of other bindings.
const notPoolTokens: readonly (readonly [string, ErrorCode, (rig: Rig) => unknown])[] = [
  ...notTokens,
  ["a Proxy of the token", "EPERM", (rig) => new Proxy(rig.core, {})],
  ["another device's live token", "EINVAL", (rig) => rig.a.token],
  ["a live token of another machine", "EINVAL", (rig) => rig.foreign.token],
];
for (const [input, code, make] of notPoolTokens) {
  rows.push({ entry: "pool.alloc(dev)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.pool.alloc(any(make(rig))) });
  rows.push({ entry: "pool.free(dev, cpu, handle)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.pool.free(any(make(rig)), undefined, rig.streaming.block.dmaHandle) });
  for (const method of ["bytes", "view"] as const) {
    rows.push({ entry: "block.bytes/view(dev)", input: `\`${method}\`, \`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.block[method](any(make(rig))) });
  }
}
table("pool.alloc(dev)", EINVAL, [["a destroyed pool", (rig) => destroyedPool(rig).alloc(rig.core)]]);
rows.push({
  entry: "pool.alloc(dev)",
  input: "a 16-bit DMA mask: a new chunk would lie beyond it",
  outcome: ENOMEM,
  act: (rig) => {
    const pool = createDmaPool(rig.core, "masked", 16);
    try {
      return withMask(rig, 16, () => pool.alloc(rig.core));
    } finally {
      pool.destroy();
    }
  },
});
table("pool.free(dev, cpu, handle)", EINVAL, [
  ["`handle` as a number", (rig) => rig.streaming.pool.free(rig.core, undefined, any(Number(rig.streaming.block.dmaHandle)))],
  ["`handle` as a hex string", (rig) => rig.streaming.pool.free(rig.core, undefined, any(`0x${rig.streaming.block.dmaHandle.toString(16)}`))],
  ["`handle` `null`", (rig) => rig.streaming.pool.free(rig.core, undefined, any(null))],
]);
table("pool.free(dev, cpu, handle)", EINVAL, [["`handle` `1n`, never allocated", (rig) => rig.streaming.pool.free(rig.core, undefined, any(1n))]], {
  violation: "free-unknown",
  note: "a `free-unknown` violation, and nothing is freed",
});
table("pool.free(dev, cpu, handle)", EINVAL, [["the handle of a block freed already", (rig) => rig.streaming.pool.free(rig.core, undefined, freedBlock(rig).dmaHandle)]], {
  violation: "double-free",
  note: "a `double-free` violation",
});
table("pool.destroy()", EBUSY, [["with a block still out", (rig) => rig.streaming.pool.destroy()]], { note: "nothing is freed" });
table("pool.destroy()", EINVAL, [["called twice", (rig) => destroyedPool(rig).destroy()]]);
for (const method of ["bytes", "view"] as const) {
  rows.push({ entry: "block.bytes/view(dev)", input: `\`${method}\` of a freed block`, outcome: EINVAL, act: (rig) => freedBlock(rig)[method](rig.core) });
}
table("block.free()", EINVAL, [
  ["called twice", (rig) => freedBlock(rig).free()],
  ["`[Symbol.dispose]()` after `free()`", (rig) => freedBlock(rig)[Symbol.dispose]()],
]);

// handles of single mappings, and of sg tables
const SYNC_HANDLE = "mapping.syncForCpu/syncForDevice(dev, offset, length)";
for (const [input, code, make] of wrongTokens) {
  rows.push({ entry: SYNC_HANDLE, input: `\`syncForCpu\`, \`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.rx.syncForCpu(any(make(rig))) });
  rows.push({ entry: SYNC_HANDLE, input: `\`syncForDevice\`, \`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.cpu.syncForDevice(any(make(rig))) });
  rows.push({ entry: "mapping.unmap(dev)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.rx.unmap(any(make(rig))) });
  rows.push({ entry: "mapping.bytes(dev)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.cpu.bytes(any(make(rig))) });
  rows.push({ entry: "table.syncForCpu/syncForDevice(dev)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.table.syncForCpu(any(make(rig))) });
  rows.push({ entry: "table.unmap(dev)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.streaming.table.unmap(any(make(rig))) });
}
/** The fixture handles through a cast, with every call a handle of any state has at run time. */
const loose = (handle: unknown) => any<{ syncForCpu: (dev: unknown, offset?: number, length?: number) => unknown; syncForDevice: (dev: unknown, offset?: number, length?: number) => unknown; unmap: (dev: unknown) => void; bytes: (dev: unknown) => unknown }>(handle);
table(
  SYNC_HANDLE,
  EINVAL,
  [
    ["`syncForCpu` of a stale handle (a sync moved the mapping on)", (rig) => loose(rig.streaming.stale).syncForCpu(rig.a.token)],
    ["`syncForCpu` of a to-device mapping (through a cast)", (rig) => loose(rig.streaming.tx).syncForCpu(rig.a.token)],
    ["`syncForCpu` of a mapping the CPU owns (through a cast)", (rig) => loose(rig.streaming.cpu).syncForCpu(rig.a.token)],
    ["`syncForDevice` of a mapping the device owns (through a cast)", (rig) => loose(rig.streaming.rx).syncForDevice(rig.a.token)],
    ["`syncForCpu` `offset` `-1`", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, -1)],
    ["`syncForCpu` `offset` `1.5`", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, 1.5)],
    ["`syncForCpu` `offset` `NaN`", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, Number.NaN)],
    ["`syncForCpu` `offset` `128` (the size)", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, 128)],
    ['`syncForCpu` `offset` `"0"`', (rig) => rig.streaming.rx.syncForCpu(rig.a.token, any("0"))],
    ["`syncForCpu` `length` `0`", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, 0, 0)],
    ["`syncForCpu` `length` `-1`", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, 0, -1)],
    ["`syncForCpu` `length` `129` (past the end)", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, 0, 129)],
    ["`syncForCpu` `length` `NaN`", (rig) => rig.streaming.rx.syncForCpu(rig.a.token, 0, Number.NaN)],
    ["`syncForDevice` `offset` `-1`", (rig) => rig.streaming.cpu.syncForDevice(rig.a.token, -1)],
    ["`syncForDevice` `length` `257` (past the end)", (rig) => rig.streaming.cpu.syncForDevice(rig.a.token, 0, 257)],
  ],
  { note: "nothing is synced: the handle the call was made on stays current" },
);
table("mapping.unmap(dev)", EINVAL, [
  ["a stale handle (a sync moved the mapping on)", (rig) => loose(rig.streaming.stale).unmap(rig.a.token)],
  ["called twice", (rig) => unmappedSingle(rig).unmap(rig.a.token)],
]);
table("mapping.bytes(dev)", EINVAL, [
  ["of a mapping the device owns (through a cast)", (rig) => loose(rig.streaming.rx).bytes(rig.a.token)],
  ["of a stale handle", (rig) => loose(rig.streaming.stale).bytes(rig.a.token)],
  ["of a mapping unmapped (through a cast)", (rig) => loose(unmappedSingle(rig)).bytes(rig.a.token)],
]);
table("table.syncForCpu/syncForDevice(dev)", EINVAL, [
  ["`syncForDevice` of a table the device owns (through a cast)", (rig) => loose(rig.streaming.table).syncForDevice(rig.a.token)],
  ["`syncForCpu` of a table unmapped", (rig) => loose(unmappedTable(rig)).syncForCpu(rig.a.token)],
  [
    "`syncForCpu` of a to-device table (through a cast)",
    (rig) => {
      const tx = mapSg(rig.a.token, [rig.streaming.spare], "to-device");
      try {
        return loose(tx).syncForCpu(rig.a.token);
      } finally {
        tx.unmap(rig.a.token);
      }
    },
  ],
  [
    "`syncForCpu` of a stale handle",
    (rig) => {
      const rx = mapSg(rig.a.token, [rig.streaming.spare], "from-device");
      const cpu = rx.syncForCpu(rig.a.token);
      try {
        return rx.syncForCpu(rig.a.token);
      } finally {
        cpu.unmap(rig.a.token);
      }
    },
  ],
]);
table("table.unmap(dev)", EINVAL, [["called twice", (rig) => unmappedTable(rig).unmap(rig.a.token)]]);

// ---------------------------------------------------------------- devres and revocable

/** Releases `res` early, passing on what release() gives, and checks that it is revoked either way. */
async function expectRevoked(res: Devres<Smuggled, number>): Promise<void> {
  try {
    await res.release();
  } finally {
    expect(res.revoked).toBe(true);
    expect(res.tryAccess()).toBeUndefined();
  }
}

for (const [input, code, make] of notTokens) {
  rows.push({ entry: "Devres.new(dev, value, release)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => Devres.new(any<Token>(make(rig)), 1) });
}
table("Devres.new(dev, value, release)", EINVAL, [
  ['`release` `"free"`', (rig) => Devres.new(rig.a.token, 1, any("free"))],
  ["`release` `null`", (rig) => Devres.new(rig.a.token, 1, any(null))],
  ["`release` `42`", (rig) => Devres.new(rig.a.token, 1, any(42))],
]);
for (const [input, code, make] of wrongTokens) {
  rows.push({ entry: "devres.access(dev)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.a.res.access(any(make(rig))) });
}
rows.push(
  {
    entry: "devres.access(dev)",
    input: "the live token, after `release()`",
    outcome: ENXIO,
    act: async (rig) => {
      const res = Devres.new(rig.a.token, 1);
      await res.release();
      return res.access(rig.a.token);
    },
  },
  {
    entry: "devres.access(dev)",
    input: "an entry of a dead binding, with its dead token",
    outcome: ENXIO,
    act: (rig) => rig.dead.res.access(rig.dead.token),
  },
  {
    entry: "devres.release()",
    input: "a release function that throws",
    outcome: { own: true },
    note: "the value stays revoked; the unbind does not release it again",
    act: (rig) => expectRevoked(Devres.new(rig.a.token, 1, () => {
      throw BOOM;
    })),
  },
  {
    entry: "devres.release()",
    input: "a release function that rejects after an await",
    outcome: { own: true },
    note: "the value stays revoked; the unbind does not release it again",
    act: (rig) => expectRevoked(Devres.new(rig.a.token, 1, async () => {
      await tick();
      throw BOOM;
    })),
  },
);
table("devres.tryAccessWith(use)", EINVAL, [
  ['`use` `"read"`', (rig) => rig.a.res.tryAccessWith(any("read"))],
  ["`use` `null`", (rig) => rig.a.res.tryAccessWith(any(null))],
]);
table(
  "release(value) at unbind",
  { logged: "release-failed" },
  [
    ["throws", async (rig) => {
      const t = await rig.transient({ release: () => { throw BOOM; } });
      await rig.machine.pci.unbind(t.dev);
      await t.expectReleased("no-driver");
    }],
    ["rejects after an await", async (rig) => {
      const t = await rig.transient({ release: async () => { await tick(); throw BOOM; } });
      await rig.machine.pci.unbind(t.dev);
      await t.expectReleased("no-driver");
    }],
    ["throws, at unplug", async (rig) => {
      const t = await rig.transient({ release: () => { throw BOOM; } });
      await rig.machine.pci.unplug(t.dev);
      await t.expectReleased("zombie");
    }],
  ],
  { note: "the walk goes on: the other 4 resources are released and the unbind completes" },
);

table("new Revocable(value, release)", EINVAL, [
  ['`release` `"free"`', () => new Revocable(1, any("free"))],
  ["`release` `null`", () => new Revocable(1, any(null))],
  ["`release` `{}`", () => new Revocable(1, any({}))],
]);
table("revocable.tryAccessWith(use)", EINVAL, [
  ['`use` `"read"`', () => new Revocable(1).tryAccessWith(any("read"))],
  ["`use` `undefined`", () => new Revocable(1).tryAccessWith(any(undefined))],
]);
rows.push({
  entry: "revocable.revoke()",
  input: "a release function that throws",
  outcome: { own: true },
  note: "for the first revoker; a second resolves `false`, and the value stays revoked",
  act: async () => {
    const value = new Revocable(1, () => {
      throw BOOM;
    });
    const [first, second] = await Promise.allSettled([value.revoke(), value.revoke()]);
    expect(second).toEqual({ status: "fulfilled", value: false });
    expect(value.tryAccess()).toBeUndefined();
    if (first.status === "rejected") throw first.reason;
  },
});

/** After a handler threw: the next interrupt still reaches A's handler. */
function expectHandledAgain(rig: Rig): void {
  let ran = 0;
  rig.onIrq = () => void ran++;
  rig.a.model.interrupt();
  expect(ran).toBe(1);
}

// ---------------------------------------------------------------- the core context

table(
  "setDmaMask(dev, bits)",
  EINVAL,
  (
    [
      ["`0`", 0],
      ["`65`", 65],
      ["`-1`", -1],
      ["`1.5`", 1.5],
      ["`NaN`", Number.NaN],
      ["`Infinity`", Number.POSITIVE_INFINITY],
      ['`"32"`', "32"],
      ["`32n`", 32n],
      ["`null`", null],
    ] as const
  ).map(([input, bits]) => [input, (rig: Rig) => setDmaMask(rig.core, any(bits))] as const),
);

/** Core-only calls, with arguments that would be fine in probe(). */
const coreCalls: readonly (readonly [string, (dev: ProbeDevice<Smuggled>) => unknown])[] = [
  ["setDmaMask(dev, bits)", (dev) => setDmaMask(dev, 64)],
  ["enableBusMaster(dev)", (dev) => enableBusMaster(dev)],
  ["iomap(dev, bar)", (dev) => iomap(dev, 0)],
  ["requestIrq(dev, handler)", (dev) => requestIrq(dev, () => {})],
  ["spawn(dev, work)", (dev) => spawn(dev, async () => {})],
];
for (const [entry, call] of coreCalls) {
  rows.push(
    { entry, input: "a live token, outside probe() and remove()", outcome: EPERM, act: (rig) => call(rig.a.token) },
    { entry, input: "a dead token", outcome: ENXIO, act: (rig) => call(rig.dead.token) },
    { entry, input: "`Object.create(token)`", outcome: EPERM, act: (rig) => call(Object.create(rig.core)) },
  );
}
table("enableBusMaster(dev)", EBUSY, [["bus mastering already on", (rig) => enableBusMaster(rig.core)]]);
table(
  "iomap(dev, bar)",
  EINVAL,
  (
    [
      ["`-1`", -1],
      ["`1` (the device has only BAR 0)", 1],
      ["`6`", 6],
      ["`1.5`", 1.5],
      ["`NaN`", Number.NaN],
      ['`"0"`', "0"],
      ["`null`", null],
    ] as const
  ).map(([input, bar]) => [input, (rig: Rig) => iomap(rig.core, any(bar))] as const),
);
table("requestIrq(dev, handler)", EINVAL, [
  ['`"isr"`', (rig) => requestIrq(rig.core, any("isr"))],
  ["`null`", (rig) => requestIrq(rig.core, any(null))],
  ["`{}`", (rig) => requestIrq(rig.core, any({}))],
]);
table("requestIrq(dev, handler)", EBUSY, [
  ["a second handler while the first is held", (rig) => {
    const first = requestIrq(rig.core, () => {});
    try {
      return requestIrq(rig.core, () => {});
    } finally {
      first.free();
    }
  }],
]);
table("spawn(dev, work)", EINVAL, [
  ['`"poll"`', (rig) => spawn(rig.core, any("poll"))],
  ["`null`", (rig) => spawn(rig.core, any(null))],
]);
table(
  "spawn(dev, work)",
  { logged: "task-failed" },
  [
    ["work that throws before its first await", (rig) => expect(spawn(rig.core, () => {
      throw BOOM;
    }).done).rejects.toBe(BOOM)],
    ["work that rejects after an await", (rig) => expect(spawn(rig.core, async () => {
      await tick();
      throw BOOM;
    }).done).rejects.toBe(BOOM)],
  ],
  { note: "`done` rejects with its error; the device stays as it was" },
);

table(
  "IRQ handler",
  { logged: "irq-failed" },
  [
    ["throws", (rig) => {
      rig.onIrq = () => {
        throw BOOM;
      };
      rig.a.model.interrupt();
      expectHandledAgain(rig);
    }],
    ["throws a string", (rig) => {
      rig.onIrq = () => {
        throw "spurious";
      };
      rig.a.model.interrupt();
      expectHandledAgain(rig);
    }],
  ],
  { note: "the machine goes on; the next interrupt runs the handler again" },
);
rows.push({
  entry: "IRQ handler",
  input: "a hostile call that throws inside it (`allocCoherent(dev, -1, \"atomic\")`)",
  outcome: { logged: "irq-failed", errorCode: "EINVAL" },
  act: (rig) => {
    rig.onIrq = (dev) => void allocCoherent(dev, -1, "atomic");
    rig.a.model.interrupt();
  },
});

// ---------------------------------------------------------------- MMIO and IRQ handles

/** Runs a read of a broken register, checking that its error blames the model; passes the error on. */
function modelBug(read: () => unknown): unknown {
  try {
    return read();
  } catch (error) {
    expect((error as Error).message).toContain("the device model returned");
    throw error;
  }
}

table(
  "regs.read8/16/32/64(dev, offset)",
  EINVAL,
  (
    [
      ["`read32` at `-4`", "read32", -4],
      ["`read32` at `2` (unaligned)", "read32", 2],
      ["`read32` at `64` (past the BAR)", "read32", 64],
      ["`read32` at `62` (straddles the end)", "read32", 62],
      ["`read32` at `1.5`", "read32", 1.5],
      ["`read32` at `NaN`", "read32", Number.NaN],
      ["`read32` at `Infinity`", "read32", Number.POSITIVE_INFINITY],
      ['`read32` at `"0"`', "read32", "0"],
      ["`read32` at `null`", "read32", null],
      ["`read32` at `2 ** 53`", "read32", 2 ** 53],
      ["`read64` at `4` (unaligned)", "read64", 4],
      ["`read64` at `64`", "read64", 64],
      ["`read16` at `63`", "read16", 63],
      ["`read8` at `64`", "read8", 64],
    ] as const
  ).map(([input, method, offset]) => [input, (rig: Rig) => rig.a.regs[method](rig.a.token, any(offset))] as const),
);
table(
  "regs.write8/16/32/64(dev, offset, value)",
  EINVAL,
  (
    [
      ["`write8` of `256`", "write8", 0, 256],
      ["`write8` of `-1`", "write8", 0, -1],
      ["`write16` of `0x10000`", "write16", 0, 0x10000],
      ["`write32` of `2 ** 32`", "write32", 0, 2 ** 32],
      ["`write32` of `-1`", "write32", 0, -1],
      ["`write32` of `1.5`", "write32", 0, 1.5],
      ["`write32` of `NaN`", "write32", 0, Number.NaN],
      ['`write32` of `"1"`', "write32", 0, "1"],
      ["`write32` of `1n`", "write32", 0, 1n],
      ["`write32` of `null`", "write32", 0, null],
      ["`write64` of `1` (a number)", "write64", 0, 1],
      ["`write64` of `-1n`", "write64", 0, -1n],
      ["`write64` of `2n ** 64n`", "write64", 0, 2n ** 64n],
      ["`write32` at `-4`", "write32", -4, 1],
      ["`write32` at `6` (unaligned)", "write32", 6, 1],
      ["`write64` at `64`", "write64", 64, 1n],
    ] as const
  ).map(([input, method, offset, value]) => [input, (rig: Rig) => rig.a.regs[method](rig.a.token, any(offset), any(value))] as const),
  { note: "the device sees no write" },
);
for (const [input, code, make] of wrongTokens) {
  rows.push({ entry: "regs.read8/16/32/64(dev, offset)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.a.regs.read32(any(make(rig)), 0) });
  rows.push({ entry: "regs.write8/16/32/64(dev, offset, value)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => rig.a.regs.write32(any(make(rig)), 0, 1) });
}
rows.push(
  {
    entry: "regs.read8/16/32/64(dev, offset)",
    input: "a mapping revoked at unbind, with another device's live token",
    outcome: EINVAL,
    act: (rig) => rig.dead.regs.read32(rig.b.token, 0),
  },
  {
    entry: "regs.read8/16/32/64(dev, offset)",
    input: "a mapping revoked at unbind, with its dead token",
    outcome: ENXIO,
    act: (rig) => rig.dead.regs.read32(rig.dead.token, 0),
  },
);
table(
  "regs.read8/16/32/64(dev, offset)",
  EINVAL,
  [
    ["a model that answers `1.5`", (rig) => modelBug(() => rig.a.regs.read32(rig.a.token, BROKEN.fraction))],
    ['a model that answers `"1"`', (rig) => modelBug(() => rig.a.regs.read32(rig.a.token, BROKEN.text))],
    ["a model that answers `undefined`", (rig) => modelBug(() => rig.a.regs.read64(rig.a.token, BROKEN.nothing))],
  ],
  { note: "the message blames the device model" },
);
rows.push({
  entry: "regs.read8/16/32/64(dev, offset)",
  input: "a model whose `mmioRead` throws",
  outcome: { own: true },
  note: "the model's error reaches the driver's read",
  act: (rig) => rig.a.regs.read32(rig.a.token, BROKEN.fire),
});
table("regs.unmap()", EINVAL, [
  ["called twice", (rig) => {
    const regs = iomap(rig.core, 0);
    regs.unmap();
    regs.unmap();
  }],
  ["after unbind revoked it", (rig) => rig.dead.regs.unmap()],
  ["`[Symbol.dispose]()` after unbind", (rig) => rig.dead.regs[Symbol.dispose]()],
]);
table("irq.free()", EINVAL, [
  ["called twice", (rig) => {
    const irq = requestIrq(rig.core, () => {});
    irq.free();
    irq.free();
  }],
  ["after devres freed it at unbind", (rig) => rig.dead.irq.free()],
  ["`[Symbol.dispose]()` after unbind", (rig) => rig.dead.irq[Symbol.dispose]()],
]);

// ---------------------------------------------------------------- virtual time

for (const [input, code, make] of notTokens) {
  rows.push({ entry: "sleep(dev, ns)", input: `\`dev\` ${input}`, outcome: { code }, act: (rig) => sleep(any<Token>(make(rig)), 1_000) });
}
table(
  "sleep(dev, ns)",
  EINVAL,
  (
    [
      ["`-1`", -1],
      ["`NaN`", Number.NaN],
      ["`Infinity`", Number.POSITIVE_INFINITY],
      ['`"1000"`', "1000"],
      ["`1000n`", 1000n],
    ] as const
  ).map(([input, ns]) => [`\`ns\` ${input}`, (rig: Rig) => sleep(rig.a.token, any(ns))] as const),
);

// ---------------------------------------------------------------- device models

table(
  "new DeviceModel(spec)",
  EINVAL,
  (
    [
      ["`null`", null],
      ['`"nic"`', "nic"],
      ["`vendor` `-1`", { vendor: -1, device: 0 }],
      ["`vendor` `0x10000`", { vendor: 0x10000, device: 0 }],
      ['`vendor` `"1"`', { vendor: "1", device: 0 }],
      ["`device` `NaN`", { vendor: 1, device: Number.NaN }],
      ['`name` `""`', { vendor: 1, device: 1, name: "" }],
      ["`name` `5`", { vendor: 1, device: 1, name: 5 }],
      ['`bars` `"64"`', { vendor: 1, device: 1, bars: "64" }],
      ["`bars` `[8]` (below 16)", { vendor: 1, device: 1, bars: [8] }],
      ["`bars` `[100]` (not a power of two)", { vendor: 1, device: 1, bars: [100] }],
      ["`bars` `[-64]`", { vendor: 1, device: 1, bars: [-64] }],
      ["`bars` `[NaN]`", { vendor: 1, device: 1, bars: [Number.NaN] }],
      ['`bars` `["64"]`', { vendor: 1, device: 1, bars: ["64"] }],
      ["`bars` `[2 ** 60]` (unsafe)", { vendor: 1, device: 1, bars: [2 ** 60] }],
      ["`bars` `[3 * 2 ** 32]` (not a power of two)", { vendor: 1, device: 1, bars: [3 * 2 ** 32] }],
      ["`bars` a sparse array `[ , 64]`", { vendor: 1, device: 1, bars: [, 64] }],
      ["seven BARs", { vendor: 1, device: 1, bars: [64, 64, 64, 64, 64, 64, 64] }],
      ['`dmaCoherent` `"yes"`', { vendor: 1, device: 1, dmaCoherent: "yes" }],
      ["`dmaCoherent` `1`", { vendor: 1, device: 1, dmaCoherent: 1 }],
      ["`dmaCoherent` `null`", { vendor: 1, device: 1, dmaCoherent: null }],
    ] as const
  ).map(([input, spec]) => [input, () => new DeviceModel(any<DeviceModelSpec>(spec))] as const),
);

table(
  "model.dmaRead(address, length)",
  EINVAL,
  (
    [
      ["`address` `-1n`", -1n, 4],
      ["`address` `2n ** 64n`", 2n ** 64n, 4],
      ["`address` as a number", 0x4000_0000, 4],
      ['`address` `"0x40000000"`', "0x40000000", 4],
      ["`length` `0`", "own", 0],
      ["`length` `-1`", "own", -1],
      ["`length` `1.5`", "own", 1.5],
      ["`length` `NaN`", "own", Number.NaN],
      ['`length` `"4"`', "own", "4"],
      ["`length` `2 ** 31` (over 1 GiB)", "own", 2 ** 31],
    ] as const
  ).map(([input, address, length]) => [input, (rig: Rig) => rig.a.model.dma("read", address === "own" ? rig.a.buf.dmaHandle : address, length)] as const),
);
table(
  "model.dmaWrite(address, data)",
  EINVAL,
  (
    [
      ["`data` empty", new Uint8Array(0)],
      ["`data` `null`", null],
      ["`data` `[1, 2, 3]` (an array)", [1, 2, 3]],
      ['`data` `"abcd"`', "abcd"],
      ["`data` a `DataView`", new DataView(new ArrayBuffer(4))],
    ] as const
  ).map(([input, data]) => [input, (rig: Rig) => rig.a.model.dma("write", rig.a.buf.dmaHandle, data)] as const),
  { note: "nothing is written" },
);
rows.push({ entry: "model.dmaWrite(address, data)", input: "`address` `-1n`", outcome: EINVAL, act: (rig) => rig.a.model.dma("write", -1n, new Uint8Array(4)) });
table(
  "model.hold(address, length, what)",
  EINVAL,
  (
    [
      ['`address` `"ring"`', "ring", 4096, "ring"],
      ["`address` as a number", 0x4000_0000, 4096, "ring"],
      ["`address` `-1n`", -1n, 4096, "ring"],
      ["`length` `0`", "own", 0, "ring"],
      ["`length` `-1`", "own", -1, "ring"],
      ["`length` `NaN`", "own", Number.NaN, "ring"],
      ['`length` `"4096"`', "own", "4096", "ring"],
      ["`what` `42`", "own", 4096, 42],
    ] as const
  ).map(([input, address, length, what]) => [input, (rig: Rig) => rig.a.model.holdAny(address === "own" ? rig.a.buf.dmaHandle : address, length, what)] as const),
  { note: "nothing is held: the unbind's checks still work" },
);
table("model.after(ns, work)", EINVAL, [
  ["`ns` `-1`", (rig) => rig.a.model.afterAny(-1, () => {})],
  ["`ns` `NaN`", (rig) => rig.a.model.afterAny(Number.NaN, () => {})],
  ['`work` `"tick"`', (rig) => rig.a.model.afterAny(10, "tick")],
]);
table("model services", EINVAL, [["a model not plugged in", () => new HostileModel().read(0n, 4)]]);
rows.push({
  entry: "model hooks",
  input: "`busMasterChanged` and `removed` that throw",
  outcome: { logged: "model-failed" },
  note: "the driver binds, and the unplug completes with all 5 resources released",
  act: async (rig) => {
    const t = await rig.transient({ failing: true });
    expect(t.dev.state).toBe("bound");
    await rig.machine.pci.unplug(t.dev);
    await t.expectReleased("zombie");
  },
});

// ---------------------------------------------------------------- descriptor structs

table(
  "defineStruct(fields)",
  EINVAL,
  (
    [
      ["`null`", null],
      ['`"u8"`', "u8"],
      ["`{}`", {}],
      ['`{ a: "u128" }`', { a: "u128" }],
      ['`{ a: "toString" }`', { a: "toString" }],
      ["`{ a: 8 }`", { a: 8 }],
      ["`{ a: null }`", { a: null }],
      ['a field named `"__proto__"`', JSON.parse('{ "__proto__": "u8", "len": "u16" }')],
    ] as const
  ).map(([input, fields]) => [input, () => defineStruct(any<StructFields>(fields))] as const),
);
table(
  "struct.get/set/read/write/count(view, …)",
  EINVAL,
  [
    ["`view` `null`", () => Desc.get(any(null), 0, "len")],
    ["`view` a `Uint8Array`", (rig) => Desc.get(any(rig.a.buf.bytes(rig.a.token)), 0, "len")],
    ["`view` `{}`", () => Desc.count(any({}))],
    ["`view` of freed memory", (rig) => Desc.get(rig.dead.view, 0, "len")],
    ["`index` `-1`", (rig) => Desc.get(rig.a.view, -1, "len")],
    ["`index` `1.5`", (rig) => Desc.get(rig.a.view, 1.5, "len")],
    ['`index` `"0"`', (rig) => Desc.get(rig.a.view, any("0"), "len")],
    ["`index` `NaN`", (rig) => Desc.get(rig.a.view, Number.NaN, "len")],
    ["`index` `256` (past the view)", (rig) => Desc.read(rig.a.view, 256)],
    ['field `"nope"`', (rig) => Desc.get(rig.a.view, 0, any<"len">("nope"))],
    ['field `"__proto__"`', (rig) => Desc.get(rig.a.view, 0, any<"len">("__proto__"))],
    ['field `"constructor"`', (rig) => Desc.set(rig.a.view, 0, any<"len">("constructor"), 1)],
    ["`u32` of `-1`", (rig) => Desc.set(rig.a.view, 0, "len", -1)],
    ["`u32` of `2 ** 32`", (rig) => Desc.set(rig.a.view, 0, "len", 2 ** 32)],
    ["`u32` of `1.5`", (rig) => Desc.set(rig.a.view, 0, "len", 1.5)],
    ['`u32` of `"1"`', (rig) => Desc.set(rig.a.view, 0, "len", any<never>("1"))],
    ["`u32` of `1n`", (rig) => Desc.set(rig.a.view, 0, "len", any<never>(1n))],
    ["`u64` of `1` (a number)", (rig) => Desc.set(rig.a.view, 0, "addr", any<never>(1))],
    ["`u64` of `-1n`", (rig) => Desc.set(rig.a.view, 0, "addr", -1n)],
    ["`u64` of `2n ** 64n`", (rig) => Desc.set(rig.a.view, 0, "addr", 2n ** 64n)],
    ["`i8` of `128`", (rig) => Desc.set(rig.a.view, 0, "status", 128)],
    ["`i8` of `-129`", (rig) => Desc.set(rig.a.view, 0, "status", -129)],
    ["`write` of `null`", (rig) => Desc.write(rig.a.view, 0, any<never>(null))],
    ["`write` of one good field and one bad", (rig) => Desc.write(rig.a.view, 0, { len: 5, flags: -1 })],
  ],
  { note: "nothing is written" },
);

// The rows of each area of the library, one module per area in `test/hostile/`.
rows.push(...AREA_ROWS);

/** Every row, in table order. */
export const TABLE: readonly Row[] = rows;

/** The entry points the table must cover: every public function, constructor and method that takes input. */
export const ENTRY_POINTS: readonly string[] = [
  "new Machine(options)",
  "machine.subscribe(listener)",
  "machine.run(ns)",
  "machine.runUntilIdle(maxEvents)",
  "machine.clock.after(ns, work)",
  "bus.plug(spec)",
  "bus.unplug(dev)",
  "bus.unbind(dev)",
  "bus.register(driver)",
  "bus.unregister(driver)",
  "defineDriver(spec)",
  "probe(dev)",
  "remove(dev)",
  "allocCoherent(dev, size)",
  "freeCoherent(dev, handle)",
  "allocation.bytes(dev)",
  "allocation.view(dev)",
  "allocation.free()",
  "kmalloc(dev, size)",
  "vmalloc(dev, size)",
  "buffer.bytes/view()",
  "buffer.free()",
  "mapSingle(dev, buffer, dir, offset, length)",
  "unmapSingle(dev, address, size, dir)",
  "syncSingleForCpu/syncSingleForDevice(dev, address, size, dir, offset)",
  "mapping.syncForCpu/syncForDevice(dev, offset, length)",
  "mapping.unmap(dev)",
  "mapping.bytes(dev)",
  "mapSg(dev, buffers, dir)",
  "unmapSg(dev, table, entries, dir)",
  "syncSgForCpu/syncSgForDevice(dev, table, entries, dir)",
  "table.syncForCpu/syncForDevice(dev)",
  "table.unmap(dev)",
  "setMaxSegmentSize(dev, bytes)",
  "setSegmentBoundary(dev, mask)",
  "createDmaPool(dev, name, size, align, boundary)",
  "pool.alloc(dev)",
  "pool.free(dev, cpu, handle)",
  "pool.destroy()",
  "block.bytes/view(dev)",
  "block.free()",
  "Devres.new(dev, value, release)",
  "devres.access(dev)",
  "devres.release()",
  "devres.tryAccessWith(use)",
  "release(value) at unbind",
  "new Revocable(value, release)",
  "revocable.tryAccessWith(use)",
  "revocable.revoke()",
  "setDmaMask(dev, bits)",
  "enableBusMaster(dev)",
  "iomap(dev, bar)",
  "requestIrq(dev, handler)",
  "spawn(dev, work)",
  "IRQ handler",
  "regs.read8/16/32/64(dev, offset)",
  "regs.write8/16/32/64(dev, offset, value)",
  "regs.unmap()",
  "irq.free()",
  "sleep(dev, ns)",
  "new DeviceModel(spec)",
  "model.dmaRead(address, length)",
  "model.dmaWrite(address, data)",
  "model.hold(address, length, what)",
  "model.after(ns, work)",
  "model services",
  "model hooks",
  "defineStruct(fields)",
  "struct.get/set/read/write/count(view, …)",
  ...AREA_ENTRY_POINTS,
];

/** The README's words for an outcome. */
export function result(row: Row): string {
  const { outcome } = row;
  if ("ignored" in outcome) return row.note ?? "nothing thrown";
  let text: string;
  if ("code" in outcome) text = `\`${outcome.code}\``;
  else if ("logged" in outcome) text = `logged as \`${outcome.logged}\`${outcome.errorCode === undefined ? "" : ` (\`${outcome.errorCode}\`)`}`;
  else text = "the callback's own error, unchanged";
  return row.note === undefined ? text : `${text}; ${row.note}`;
}

/**
 * The table as markdown. By default one line per entry point and result, the
 * inputs listed together; with `full`, one line per row (per test).
 */
export function markdown(full = false): string {
  const lines = ["| Entry point | Bad input | Result |", "| --- | --- | --- |"];
  if (full) {
    for (const row of TABLE) lines.push(`| \`${row.entry}\` | ${row.input} | ${result(row)} |`);
    return lines.join("\n");
  }
  const groups = new Map<string, { entry: string; inputs: string[]; result: string }>();
  for (const row of TABLE) {
    const key = `${row.entry}\0${result(row)}`;
    const group = groups.get(key) ?? { entry: row.entry, inputs: [], result: result(row) };
    group.inputs.push(row.input);
    groups.set(key, group);
  }
  const order = (entry: string): number => ENTRY_POINTS.indexOf(entry);
  const sorted = [...groups.values()].sort((x, y) => order(x.entry) - order(y.entry));
  for (const group of sorted) lines.push(`| \`${group.entry}\` | ${group.inputs.join("; ")} | ${group.result} |`);
  return lines.join("\n");
}
