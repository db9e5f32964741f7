/**
 * ring-nic: a NIC driver with TX and RX descriptor rings, doorbells and a
 * completion interrupt, on the simulated NIC of models/ring-nic-model.ts.
 *
 * What it shows:
 * - probe() in the kernel's order: DMA mask, bus mastering first (so devres
 *   turns it off last), BAR 0, rings and packet buffers in coherent memory,
 *   the IRQ, then the engine. Everything it takes is device-managed.
 * - The descriptor layout is one `defineStruct`, shared with the model: no
 *   offsets computed by hand on either side.
 * - The IRQ handler reaps completions and refills both rings.
 * - remove() halts the engine and checks that it stopped, before devres frees
 *   the rings under it. So a hot-unplug mid-traffic, or an orderly unbind with
 *   frames in flight, records no checker violation and leaves the pool empty.
 *
 * `ringNicDriver({ halt: false })` forgets the halt: see buggy-nic.ts.
 */

import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, Machine, requestIrq, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, IoMapping, IommuMode, ProbeDevice } from "boundscope";
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
  /** Frames received intact. */
  received: number;
  /** Bytes in them. */
  bytes: number;
  /** Frames received damaged. */
  errors: number;
  interrupts: number;
}

export interface RingNicOptions {
  /** The driver's name. Default "ring-nic". */
  readonly name?: string;
  /** Halt the engine in remove(). Default true; false is the bug of buggy-nic.ts. */
  readonly halt?: boolean;
  /** How many test frames to send. Default: no limit, as long as the device runs. */
  readonly frames?: number;
  readonly narrate?: Narrate;
  /** Hears the final counters when devres releases them. */
  readonly onRelease?: (stats: Readonly<NicStats>) => void;
}

/** The driver. Each binding gets its own rings, buffers and counters. */
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
  const stats = Devres.new(dev, { sent: 0, received: 0, bytes: 0, errors: 0, interrupts: 0 }, (s) => options.onRelease?.({ ...s }));
  const nic = new RingNic(regs, tx, rx, stats, options);
  requestIrq(dev, (dev) => nic.interrupt(dev));
  nic.start(dev);
  options.narrate?.(`probe(): rings at 0x${tx.descs.dmaHandle.toString(16)} (TX) and 0x${rx.descs.dmaHandle.toString(16)} (RX), ${RING_SIZE} descriptors each; engine started`);
  return nic;
}

const next = (index: number): number => (index + 1) % RING_SIZE;

class RingNic<Scope> implements DriverInstance<Scope> {
  /** The oldest TX descriptor not yet reaped, and the next one to fill. */
  #txClean = 0;
  #txTail = 0;
  /** The next RX descriptor to reap. */
  #rxClean = 0;
  #nextSeq = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly tx: Ring<Scope>,
    private readonly rx: Ring<Scope>,
    private readonly stats: Devres<Scope, NicStats>,
    private readonly options: RingNicOptions,
  ) {}

  /** Programs the rings, posts every RX buffer, starts the engine and fills the TX ring. */
  start(dev: BoundDevice<Scope>): void {
    const { regs } = this;
    const rx = this.rx.descs.view(dev);
    for (let i = 0; i < RING_SIZE; i++) {
      NicDesc.write(rx, i, { addr: this.rx.buffers.dmaHandle + BigInt(i * BUFFER_SIZE), len: BUFFER_SIZE, flags: 0, status: 0 });
    }
    regs.write64(dev, NIC_REG.TX_RING, this.tx.descs.dmaHandle);
    regs.write32(dev, NIC_REG.TX_SIZE, RING_SIZE);
    regs.write64(dev, NIC_REG.RX_RING, this.rx.descs.dmaHandle);
    regs.write32(dev, NIC_REG.RX_SIZE, RING_SIZE);
    regs.write32(dev, NIC_REG.RX_TAIL, RING_SIZE - 1);
    regs.write32(dev, NIC_REG.CTRL, CTRL_ENABLE);
    this.#refill(dev);
  }

  /** The IRQ handler: acknowledge, reap both rings, refill TX. */
  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, NIC_REG.ISR);
    if (cause === ALL_ONES) return; // surprise-removed
    this.regs.write32(dev, NIC_REG.ISR, cause);
    const stats = this.stats.access(dev);
    stats.interrupts++;
    if ((cause & ISR_TX) !== 0) this.#reapTx(dev, stats);
    if ((cause & ISR_RX) !== 0) this.#reapRx(dev, stats);
    this.#refill(dev);
  }

  remove(dev: ProbeDevice<Scope>): void {
    const narrate = this.options.narrate ?? (() => {});
    const { sent, received } = this.stats.access(dev);
    if (this.options.halt === false) {
      narrate(`remove(): ${sent} frames sent, ${received} received; returns without halting the engine`);
      return;
    }
    this.regs.write32(dev, NIC_REG.CTRL, 0);
    // The read flushes the posted write and says whether the engine stopped.
    // This model stops between two frames, so one read answers; real
    // hardware would want readl_poll_timeout() here.
    const status = this.regs.read32(dev, NIC_REG.STATUS);
    if (status === ALL_ONES) {
      narrate(`remove(): STATUS reads all-ones: the device is gone, its engine with it (${sent} frames sent, ${received} received)`);
      return;
    }
    if ((status & STATUS_RUNNING) !== 0) throw new Error("ring-nic: the engine did not stop; its rings cannot be freed safely");
    narrate(`remove(): engine halted (${sent} frames sent, ${received} received); devres may free the rings`);
  }

  #reapTx(dev: BoundDevice<Scope>, stats: NicStats): void {
    const descs = this.tx.descs.view(dev);
    while (this.#txClean !== this.#txTail && (NicDesc.get(descs, this.#txClean, "status") & DESC_DONE) !== 0) {
      NicDesc.set(descs, this.#txClean, "status", 0);
      stats.sent++;
      this.#txClean = next(this.#txClean);
    }
  }

  /** Checks each received frame and hands its buffer back (the tail trails the reaped slot, as in e1000). */
  #reapRx(dev: BoundDevice<Scope>, stats: NicStats): void {
    const descs = this.rx.descs.view(dev);
    const buffers = this.rx.buffers.bytes(dev);
    let reaped = -1;
    while ((NicDesc.get(descs, this.#rxClean, "status") & DESC_DONE) !== 0) {
      const i = this.#rxClean;
      const len = NicDesc.get(descs, i, "len");
      if (frameIntact(buffers.subarray(i * BUFFER_SIZE, i * BUFFER_SIZE + len))) {
        stats.received++;
        stats.bytes += len;
      } else {
        stats.errors++;
      }
      NicDesc.write(descs, i, { len: BUFFER_SIZE, status: 0 });
      reaped = i;
      this.#rxClean = next(i);
    }
    if (reaped >= 0) this.regs.write32(dev, NIC_REG.RX_TAIL, reaped);
  }

  /** Fills every free TX descriptor with a test frame, then rings the doorbell once. */
  #refill(dev: BoundDevice<Scope>): void {
    const limit = this.options.frames ?? Number.POSITIVE_INFINITY;
    const descs = this.tx.descs.view(dev);
    const buffers = this.tx.buffers.bytes(dev);
    const tail = this.#txTail;
    while (next(this.#txTail) !== this.#txClean && this.#nextSeq < limit) {
      const i = this.#txTail;
      const seq = this.#nextSeq++;
      const len = frameLength(seq);
      writeFrame(buffers.subarray(i * BUFFER_SIZE, i * BUFFER_SIZE + len), seq);
      NicDesc.write(descs, i, { addr: this.tx.buffers.dmaHandle + BigInt(i * BUFFER_SIZE), len, flags: 0, status: 0 });
      this.#txTail = next(i);
    }
    if (this.#txTail !== tail) this.regs.write32(dev, NIC_REG.TX_TAIL, this.#txTail);
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

export interface RingNicRun {
  readonly machine: Machine;
  readonly model: RingNicModel;
  /** The counters devres released at the end. */
  readonly stats: Readonly<NicStats> | undefined;
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
  await machine.run(20_000); // time for anything left running to show itself
  stop();
  if (stats !== undefined) narrate(`devres released the counters: ${stats.sent} sent, ${stats.received} received intact (${stats.bytes} bytes), ${stats.errors} damaged`);
  return { machine, model, stats, inFlight };
}
