/**
 * ring-nic: a NIC driver with TX and RX descriptor rings, doorbells and a
 * completion interrupt, registered with the network stack, on the simulated
 * NIC of models/ring-nic-model.ts (its MAC loops every frame back).
 *
 * What it shows:
 * - probe() in the kernel's order: DMA mask, bus mastering first (so devres
 *   turns it off last), BAR 0, rings and packet buffers in coherent memory,
 *   the IRQ, then `registerNetdev`. Everything it takes is device-managed.
 * - The stack calls the driver, never the other way round: `open` programs
 *   the rings and starts the engine, `transmit` puts one packet on the TX
 *   ring (stopping the queue when the ring is full), the IRQ handler only
 *   schedules NAPI, and `poll` reaps TX completions (waking the queue) and
 *   hands received frames up, within its budget. Each op gets the binding's
 *   token from the stack: nothing closes over the probe token.
 * - The descriptor layout is one `defineStruct`, shared with the model.
 * - remove() unregisters the netdev first (`unregister_netdev`: the stack
 *   stops transmitting, `stop` halts the engine and checks it stopped), so
 *   devres frees the rings under a stopped engine. A hot-unplug mid-traffic,
 *   or an orderly unbind with frames in flight, records no violation and
 *   leaves the pool empty.
 *
 * `ringNicDriver({ halt: false })` forgets the halt: see buggy-nic.ts.
 * `startTraffic` is the user side: a packet socket that keeps the interface
 * busy with numbered test frames and checks each one that comes back.
 */

import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, Machine, registerNetdev, requestIrq, setDmaMask } from "boundscope";
import type { AtomicDevice, BoundDevice, CoherentAllocation, Device, DriverInstance, IoMapping, IommuMode, Netdev, ProbeDevice, SleepableDevice } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import { CTRL_ENABLE, DESC_DONE, ISR_RX, ISR_TX, NIC_REG, NicDesc, RING_NIC_ID, RingNicModel, STATUS_RUNNING } from "./models/ring-nic-model.js";

/** Descriptors per ring. One slot stays empty, so a full ring differs from an empty one. */
export const RING_SIZE = 32;
/** Bytes per packet buffer. */
export const BUFFER_SIZE = 2048;
/** What an MMIO read returns once the device is gone. */
const ALL_ONES = 0xffff_ffff;

/** Traffic counters, kept as devres: released (and reported) at unbind. */
export interface NicStats {
  /** TX descriptors the device finished. */
  sent: number;
  /** Frames handed up to the stack. */
  received: number;
  /** Bytes in them. */
  bytes: number;
  /** Receive descriptors the device finished empty. */
  errors: number;
  interrupts: number;
  /** NAPI polls the stack ran. */
  polls: number;
}

export interface RingNicOptions {
  /** The driver's name. Default "ring-nic". */
  readonly name?: string;
  /** Halt the engine in stop() and unregister in remove(). Default true; false is the bug of buggy-nic.ts. */
  readonly halt?: boolean;
  readonly narrate?: Narrate;
  /** Hears the final counters when devres releases them. */
  readonly onRelease?: (stats: Readonly<NicStats>) => void;
}

/** The driver. Each binding gets its own rings, buffers, counters and netdev. */
export function ringNicDriver(options: RingNicOptions = {}) {
  return defineDriver({
    name: options.name ?? "ring-nic",
    ids: [RING_NIC_ID],
    probe: (dev) => probe(dev, options),
  });
}

/** A descriptor ring and the packet buffers its descriptors point at. */
interface Ring<Scope> {
  readonly descs: CoherentAllocation<Scope>;
  readonly buffers: CoherentAllocation<Scope>;
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: RingNicOptions): RingNic<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, NIC_REG.CTRL, 0); // a previous driver may have left the engine running
  // One line per allocation, so the checker's allocation sites tell them apart.
  const txDescs = allocCoherent(dev, NicDesc.size * RING_SIZE);
  const txBuffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE);
  const rxDescs = allocCoherent(dev, NicDesc.size * RING_SIZE);
  const rxBuffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE);
  const tx: Ring<Scope> = { descs: txDescs, buffers: txBuffers };
  const rx: Ring<Scope> = { descs: rxDescs, buffers: rxBuffers };
  const stats = Devres.new(dev, { sent: 0, received: 0, bytes: 0, errors: 0, interrupts: 0, polls: 0 }, (s) => options.onRelease?.({ ...s }));
  const nic = new RingNic(regs, tx, rx, stats, options);
  requestIrq(dev, (dev) => nic.interrupt(dev));
  nic.netdev = registerNetdev(dev, {
    open: (dev) => nic.open(dev),
    stop: (dev) => nic.stop(dev),
    transmit: (dev, packet) => nic.transmit(dev, packet),
    poll: (dev, budget) => nic.poll(dev, budget),
  });
  options.narrate?.(`probe(): rings at 0x${tx.descs.dmaHandle.toString(16)} (TX) and 0x${rx.descs.dmaHandle.toString(16)} (RX), ${RING_SIZE} descriptors each; netdev ${nic.netdev.name} registered`);
  return nic;
}

const next = (index: number): number => (index + 1) % RING_SIZE;

class RingNic<Scope> implements DriverInstance<Scope> {
  /** Set right after construction, in probe(). */
  netdev!: Netdev<Scope>;
  /** The oldest TX descriptor not yet reaped, and the next one to fill. */
  #txClean = 0;
  #txTail = 0;
  /** The next RX descriptor to reap. */
  #rxClean = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly tx: Ring<Scope>,
    private readonly rx: Ring<Scope>,
    private readonly stats: Devres<Scope, NicStats>,
    private readonly options: RingNicOptions,
  ) {}

  /** `ndo_open`: programs the rings, posts every RX buffer, starts the engine. */
  open(dev: SleepableDevice<Scope>): void {
    const { regs } = this;
    const rx = this.rx.descs.view(dev);
    for (let i = 0; i < RING_SIZE; i++) {
      NicDesc.write(rx, i, { addr: this.rx.buffers.dmaHandle + BigInt(i * BUFFER_SIZE), len: BUFFER_SIZE, flags: 0, status: 0 });
    }
    this.#txClean = this.#txTail = this.#rxClean = 0;
    regs.write64(dev, NIC_REG.TX_RING, this.tx.descs.dmaHandle);
    regs.write32(dev, NIC_REG.TX_SIZE, RING_SIZE);
    regs.write64(dev, NIC_REG.RX_RING, this.rx.descs.dmaHandle);
    regs.write32(dev, NIC_REG.RX_SIZE, RING_SIZE);
    regs.write32(dev, NIC_REG.RX_TAIL, RING_SIZE - 1);
    regs.write32(dev, NIC_REG.CTRL, CTRL_ENABLE);
    this.options.narrate?.(`open(): ${this.netdev.name} up, engine started`);
  }

  /** `ndo_stop`: halts the engine, unless this is buggy-nic. */
  stop(dev: SleepableDevice<Scope>): void {
    if (this.options.halt !== false) this.#halt(dev);
  }

  /** `ndo_start_xmit`: one packet on the TX ring, then the doorbell. */
  transmit(dev: AtomicDevice<Scope>, packet: Uint8Array): "ok" | "busy" {
    if (next(this.#txTail) === this.#txClean) {
      this.netdev.stopQueue();
      return "busy";
    }
    const i = this.#txTail;
    this.tx.buffers.bytes(dev).set(packet, i * BUFFER_SIZE);
    NicDesc.write(this.tx.descs.view(dev), i, { addr: this.tx.buffers.dmaHandle + BigInt(i * BUFFER_SIZE), len: packet.length, flags: 0, status: 0 });
    this.#txTail = next(i);
    this.regs.write32(dev, NIC_REG.TX_TAIL, this.#txTail);
    // Full now: the stack holds further packets until poll() reaps a completion.
    if (next(this.#txTail) === this.#txClean) this.netdev.stopQueue();
    return "ok";
  }

  /** The IRQ handler: acknowledge, and leave the work to the NAPI poll. */
  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, NIC_REG.ISR);
    if (cause === ALL_ONES) return; // surprise-removed
    this.regs.write32(dev, NIC_REG.ISR, cause);
    this.stats.access(dev).interrupts++;
    if ((cause & (ISR_TX | ISR_RX)) !== 0) this.netdev.napiSchedule();
  }

  /** The NAPI poll: reap TX completions (they cost no budget), then up to `budget` received frames. */
  poll(dev: AtomicDevice<Scope>, budget: number): number {
    const stats = this.stats.access(dev);
    stats.polls++;
    this.#reapTx(dev, stats);
    return this.#reapRx(dev, stats, budget);
  }

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    const narrate = this.options.narrate ?? (() => {});
    if (this.options.halt === false) {
      const { sent, received } = this.stats.access(dev);
      narrate(`remove(): ${sent} frames sent, ${received} received; returns without halting the engine`);
      return;
    }
    // unregister_netdev: no more transmits or polls; stop() halts the engine.
    await this.netdev.unregister();
    const outcome = this.#halt(dev);
    const { sent, received } = this.stats.access(dev);
    if (outcome === "gone") {
      narrate(`remove(): STATUS reads all-ones: the device is gone, its engine with it (${sent} frames sent, ${received} received)`);
      return;
    }
    narrate(`remove(): engine halted, ${this.netdev.name} unregistered (${sent} frames sent, ${received} received); devres may free the rings`);
  }

  /**
   * CTRL=0, then a read that flushes the posted write and says whether the
   * engine stopped. This model stops between two frames, so one read
   * answers; real hardware would want readl_poll_timeout() here.
   */
  #halt(dev: BoundDevice<Scope>): "halted" | "gone" {
    this.regs.write32(dev, NIC_REG.CTRL, 0);
    const status = this.regs.read32(dev, NIC_REG.STATUS);
    if (status === ALL_ONES) return "gone";
    if ((status & STATUS_RUNNING) !== 0) throw new Error("ring-nic: the engine did not stop; its rings cannot be freed safely");
    return "halted";
  }

  #reapTx(dev: BoundDevice<Scope>, stats: NicStats): void {
    const descs = this.tx.descs.view(dev);
    const before = this.#txClean;
    while (this.#txClean !== this.#txTail && (NicDesc.get(descs, this.#txClean, "status") & DESC_DONE) !== 0) {
      NicDesc.set(descs, this.#txClean, "status", 0);
      stats.sent++;
      this.#txClean = next(this.#txClean);
    }
    if (this.#txClean !== before && this.netdev.queueStopped) this.netdev.wakeQueue();
  }

  /** Hands each received frame up and gives its buffer back (the tail trails the reaped slot, as in e1000). */
  #reapRx(dev: AtomicDevice<Scope>, stats: NicStats, budget: number): number {
    const descs = this.rx.descs.view(dev);
    const buffers = this.rx.buffers.bytes(dev);
    let reaped = -1;
    let done = 0;
    while (done < budget && (NicDesc.get(descs, this.#rxClean, "status") & DESC_DONE) !== 0) {
      const i = this.#rxClean;
      const len = NicDesc.get(descs, i, "len");
      if (len > 0) {
        this.netdev.receive(dev, buffers.subarray(i * BUFFER_SIZE, i * BUFFER_SIZE + len));
        stats.received++;
        stats.bytes += len;
      } else {
        stats.errors++;
      }
      NicDesc.write(descs, i, { len: BUFFER_SIZE, status: 0 });
      reaped = i;
      done++;
      this.#rxClean = next(i);
    }
    if (reaped >= 0) this.regs.write32(dev, NIC_REG.RX_TAIL, reaped);
    return done;
  }
}

/** Test frames: a little-endian sequence number, then a pattern derived from it. */
function frameLength(seq: number): number {
  return 60 + ((seq * 97) % 1400);
}

function writeFrame(frame: Uint8Array, seq: number): void {
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(0, seq, true);
  for (let i = 4; i < frame.length; i++) frame[i] = (seq + i) & 0xff;
}

function frameIntact(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (frame.length !== frameLength(seq)) return false;
  for (let i = 4; i < frame.length; i++) if (frame[i] !== ((seq + i) & 0xff)) return false;
  return true;
}

/** What `startTraffic` sent and got back. */
export interface Traffic {
  /** The interface it uses. */
  readonly interface: string;
  /** Frames handed to the socket. */
  readonly sent: number;
  /** Frames that came back as sent, and not. */
  readonly intact: number;
  readonly damaged: number;
  /** Stops sending. */
  stop(): void;
}

/** Frames kept queued on the interface: enough to keep a 32-slot ring full between two top-ups. */
const KEEP_QUEUED = 64;
/** How often the traffic is topped up, in virtual ns. */
const TOP_UP_NS = 4_000;

/**
 * The user side: brings up `dev`'s interface, opens a packet socket on it and
 * keeps it busy with numbered test frames (`frames` of them, or until
 * stopped or the interface goes), checking each frame that comes back.
 */
export async function startTraffic(machine: Machine, dev: Device, { frames = Number.POSITIVE_INFINITY }: { frames?: number } = {}): Promise<Traffic> {
  const iface = machine.net.interfaces.find((i) => i.device === dev.name);
  if (iface === undefined) throw new Error(`startTraffic: ${dev.name} has no network interface`);
  await iface.up();
  const socket = machine.net.socket(iface.name);
  let seq = 0;
  let intact = 0;
  let damaged = 0;
  let stopped = false;
  const drain = (): void => {
    for (let frame = socket.tryRecv(); frame !== undefined; frame = socket.tryRecv()) {
      if (frameIntact(frame)) intact++;
      else damaged++;
    }
  };
  const topUp = (): void => {
    drain();
    while (!stopped && seq < frames && iface.state === "up" && iface.queued < KEEP_QUEUED) {
      const frame = new Uint8Array(frameLength(seq));
      writeFrame(frame, seq++);
      socket.send(frame);
    }
    if (!stopped && seq < frames && iface.state === "up") machine.clock.after(TOP_UP_NS, topUp);
  };
  topUp();
  return {
    interface: iface.name,
    get sent() {
      return seq;
    },
    get intact() {
      drain();
      return intact;
    },
    get damaged() {
      drain();
      return damaged;
    },
    stop: () => void (stopped = true),
  };
}

export interface RingNicRun {
  readonly machine: Machine;
  readonly model: RingNicModel;
  /** The counters devres released at the end. */
  readonly stats: Readonly<NicStats> | undefined;
  /** What the socket sent and got back. */
  readonly traffic: Traffic;
  /** Frames the device held when it went away. */
  readonly inFlight: number;
}

/**
 * Traffic for `trafficNs` of virtual time, then the device goes away with
 * frames in flight: hot-unplugged (`end: "unplug"`) or unbound.
 */
export async function runRingNic(
  narrate: Narrate,
  { iommu = "passthrough", end = "unplug", trafficNs = 100_000 }: { iommu?: IommuMode; end?: "unplug" | "unbind"; trafficNs?: number } = {},
): Promise<RingNicRun> {
  const machine = new Machine({ iommu });
  const stop = follow(machine, narrate);
  let stats: Readonly<NicStats> | undefined;
  await machine.pci.register(ringNicDriver({ narrate, onRelease: (s) => (stats = s) }));
  const model = new RingNicModel("0000:00:05.0");
  const dev = machine.pci.plug(model);
  await machine.settled();
  const traffic = await startTraffic(machine, dev);
  await machine.run(trafficNs);
  const inFlight = model.inFlight;
  narrate(`after ${trafficNs / 1000} µs of traffic: the device sent ${model.sent} frames and received ${model.received}; ${inFlight} in flight`);
  if (end === "unplug") {
    narrate(`hot-unplug ${dev.name} mid-traffic`);
    await machine.pci.unplug(dev);
  } else {
    narrate(`unbind ${dev.name} mid-traffic`);
    await machine.pci.unbind(dev);
  }
  traffic.stop();
  await machine.run(20_000); // time for anything left running to show itself
  stop();
  narrate(`the socket sent ${traffic.sent} frames; ${traffic.intact} came back intact, ${traffic.damaged} damaged`);
  if (stats !== undefined) narrate(`devres released the counters: ${stats.sent} sent, ${stats.received} received (${stats.bytes} bytes) in ${stats.polls} NAPI polls`);
  return { machine, model, stats, traffic, inFlight };
}
