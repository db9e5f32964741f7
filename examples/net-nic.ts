/**
 * net-nic: a NIC registered with the network stack, using MSI-X, on the
 * simulated NIC of models/ring-nic-model.ts in its MSI-X variant (two
 * vectors: RX and TX; its MAC loops every frame back).
 *
 * What it shows:
 * - `allocIrqVectors(dev, 2, 2, { msix: true })` and one handler per
 *   vector, as a multi-queue driver requests one per queue: the TX vector
 *   reaps transmit completions in the hard IRQ and wakes the stack's queue;
 *   the RX vector only schedules NAPI, and the stack's poll hands the
 *   received frames up within its budget.
 * - `registerNetdev`: the stack calls `open`, `transmit`, `poll` and `stop`
 *   with the binding's token in the context each runs in (`transmit` and
 *   `poll` atomic, `open` and `stop` sleepable). No op closes over the probe
 *   token.
 * - A graceful `stop`: the stack stops transmitting, then `stop` waits, by a
 *   register poll in virtual time (`readPollTimeout`), until the device has
 *   sent what the driver gave it, and only then halts the engine. So an
 *   unbind while a transmit is in flight waits for it, and the frame is sent
 *   and reaped before devres frees its buffer.
 * - A hot-unplug mid-traffic: the poll reads all-ones, `stop` gives up at
 *   once, and nothing of the driver runs after the unregister.
 */

import { allocCoherent, allocIrqVectors, defineDriver, Devres, enableBusMaster, iomap, Machine, readPollTimeout, registerNetdev, setDmaMask } from "boundscope";
import type { AtomicDevice, BoundDevice, CoherentAllocation, DriverInstance, IoMapping, IommuMode, Netdev, ProbeDevice, SleepableDevice } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import { CTRL_ENABLE, DESC_DONE, MSIX_RX, MSIX_TX, NET_NIC_ID, NIC_REG, NicDesc, RingNicModel, STATUS_RUNNING } from "./models/ring-nic-model.js";
import { startTraffic } from "./ring-nic.js";
import type { Traffic } from "./ring-nic.js";

/** Descriptors per ring; one slot stays empty. */
export const RING_SIZE = 32;
/** Bytes per packet buffer. */
export const BUFFER_SIZE = 2048;
const ALL_ONES = 0xffff_ffff;

/** The driver's counters, kept as devres: released (and reported) at unbind. */
export interface NetNicStats {
  sent: number;
  received: number;
  /** Interrupts per vector. */
  rxInterrupts: number;
  txInterrupts: number;
  polls: number;
  /** Frames still on the TX ring when stop() began, which it waited for. */
  drainedOnStop: number;
}

export interface NetNicOptions {
  readonly narrate?: Narrate;
  readonly onRelease?: (stats: Readonly<NetNicStats>) => void;
}

export function netNicDriver(options: NetNicOptions = {}) {
  return defineDriver({ name: "net-nic", ids: [NET_NIC_ID], probe: (dev) => probe(dev, options) });
}

interface Ring<Scope> {
  readonly descs: CoherentAllocation<Scope>;
  readonly buffers: CoherentAllocation<Scope>;
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: NetNicOptions): NetNic<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, NIC_REG.CTRL, 0);
  const txDescs = allocCoherent(dev, NicDesc.size * RING_SIZE);
  const txBuffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE);
  const rxDescs = allocCoherent(dev, NicDesc.size * RING_SIZE);
  const rxBuffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE);
  const empty: NetNicStats = { sent: 0, received: 0, rxInterrupts: 0, txInterrupts: 0, polls: 0, drainedOnStop: 0 };
  const stats = Devres.new(dev, empty, (s) => options.onRelease?.({ ...s }));
  const nic = new NetNic(regs, { descs: txDescs, buffers: txBuffers }, { descs: rxDescs, buffers: rxBuffers }, stats, options.narrate ?? (() => {}));
  // One vector per direction, each with its own handler.
  const vectors = allocIrqVectors(dev, 2, 2, { msix: true });
  vectors.request(MSIX_RX, (dev) => nic.rxInterrupt(dev));
  vectors.request(MSIX_TX, (dev) => nic.txInterrupt(dev));
  nic.netdev = registerNetdev(dev, {
    open: (dev) => nic.open(dev),
    stop: (dev) => nic.stop(dev),
    transmit: (dev, packet) => nic.transmit(dev, packet),
    poll: (dev, budget) => nic.poll(dev, budget),
  });
  options.narrate?.(`probe(): ${vectors.count} ${vectors.kind} vectors (RX ${MSIX_RX}, TX ${MSIX_TX}); netdev ${nic.netdev.name} registered`);
  return nic;
}

const next = (index: number): number => (index + 1) % RING_SIZE;

class NetNic<Scope> implements DriverInstance<Scope> {
  netdev!: Netdev<Scope>;
  #txClean = 0;
  #txTail = 0;
  #rxClean = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly tx: Ring<Scope>,
    private readonly rx: Ring<Scope>,
    private readonly stats: Devres<Scope, NetNicStats>,
    private readonly narrate: Narrate,
  ) {}

  open(dev: SleepableDevice<Scope>): void {
    const rx = this.rx.descs.view(dev);
    for (let i = 0; i < RING_SIZE; i++) {
      NicDesc.write(rx, i, { addr: this.rx.buffers.dmaHandle + BigInt(i * BUFFER_SIZE), len: BUFFER_SIZE, flags: 0, status: 0 });
    }
    this.#txClean = this.#txTail = this.#rxClean = 0;
    this.regs.write64(dev, NIC_REG.TX_RING, this.tx.descs.dmaHandle);
    this.regs.write32(dev, NIC_REG.TX_SIZE, RING_SIZE);
    this.regs.write64(dev, NIC_REG.RX_RING, this.rx.descs.dmaHandle);
    this.regs.write32(dev, NIC_REG.RX_SIZE, RING_SIZE);
    this.regs.write32(dev, NIC_REG.RX_TAIL, RING_SIZE - 1);
    this.regs.write32(dev, NIC_REG.CTRL, CTRL_ENABLE);
    this.narrate(`open(): ${this.netdev.name} up`);
  }

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
    if (next(this.#txTail) === this.#txClean) this.netdev.stopQueue();
    return "ok";
  }

  /** The TX vector: reap completions now (cheap, no budget), and let the stack send again. */
  txInterrupt(dev: BoundDevice<Scope>): void {
    const stats = this.stats.access(dev);
    stats.txInterrupts++;
    this.#reapTx(dev, stats);
    if (this.netdev.queueStopped && next(this.#txTail) !== this.#txClean) this.netdev.wakeQueue();
  }

  /** The RX vector: the frames wait for the NAPI poll. */
  rxInterrupt(dev: BoundDevice<Scope>): void {
    this.stats.access(dev).rxInterrupts++;
    this.netdev.napiSchedule();
  }

  poll(dev: AtomicDevice<Scope>, budget: number): number {
    const stats = this.stats.access(dev);
    stats.polls++;
    const descs = this.rx.descs.view(dev);
    const buffers = this.rx.buffers.bytes(dev);
    let done = 0;
    let reaped = -1;
    while (done < budget && (NicDesc.get(descs, this.#rxClean, "status") & DESC_DONE) !== 0) {
      const i = this.#rxClean;
      const len = NicDesc.get(descs, i, "len");
      if (len > 0) this.netdev.receive(dev, buffers.subarray(i * BUFFER_SIZE, i * BUFFER_SIZE + len));
      stats.received++;
      NicDesc.write(descs, i, { len: BUFFER_SIZE, status: 0 });
      reaped = i;
      done++;
      this.#rxClean = next(i);
    }
    if (reaped >= 0) this.regs.write32(dev, NIC_REG.RX_TAIL, reaped);
    return done;
  }

  /**
   * `ndo_stop`: the stack sends nothing more. Wait until the device has
   * sent what is on the ring (TX_HEAD reaches the tail), reap it, then halt.
   */
  async stop(dev: SleepableDevice<Scope>): Promise<void> {
    const stats = this.stats.access(dev);
    const tail = this.#txTail;
    stats.drainedOnStop = (tail - this.#txClean + RING_SIZE) % RING_SIZE;
    const head = await readPollTimeout(dev, () => this.regs.read32(dev, NIC_REG.TX_HEAD), (head) => head === tail || head === ALL_ONES, {
      sleepNs: 1_000,
      timeoutNs: 1_000_000,
    });
    if (head === ALL_ONES) {
      this.narrate(`stop(): TX_HEAD reads all-ones: the device is gone, with ${stats.drainedOnStop} frames it will never send`);
      return;
    }
    this.#reapTx(dev, stats);
    this.regs.write32(dev, NIC_REG.CTRL, 0);
    if ((this.regs.read32(dev, NIC_REG.STATUS) & STATUS_RUNNING) !== 0) throw new Error("net-nic: the engine did not stop");
    this.narrate(`stop(): waited for the ${stats.drainedOnStop} frames on the TX ring to be sent, then halted the engine`);
  }

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    await this.netdev.unregister();
    // Down or gone already, or halted by stop(): make sure, then let devres free the rings.
    this.regs.write32(dev, NIC_REG.CTRL, 0);
    const { sent, received } = this.stats.access(dev);
    this.narrate(`remove(): ${this.netdev.name} unregistered (${sent} frames sent, ${received} received)`);
  }

  #reapTx(dev: BoundDevice<Scope>, stats: NetNicStats): void {
    const descs = this.tx.descs.view(dev);
    while (this.#txClean !== this.#txTail && (NicDesc.get(descs, this.#txClean, "status") & DESC_DONE) !== 0) {
      NicDesc.set(descs, this.#txClean, "status", 0);
      stats.sent++;
      this.#txClean = next(this.#txClean);
    }
  }
}

export interface NetNicRun {
  readonly machine: Machine;
  readonly model: RingNicModel;
  readonly stats: Readonly<NetNicStats> | undefined;
  readonly traffic: Traffic;
}

/** Traffic through a packet socket for `trafficNs`, then the NIC goes: hot-unplugged or unbound. */
export async function runNetNic(
  narrate: Narrate,
  { iommu = "passthrough", end = "unplug", trafficNs = 60_000 }: { iommu?: IommuMode; end?: "unplug" | "unbind"; trafficNs?: number } = {},
): Promise<NetNicRun> {
  const machine = new Machine({ iommu });
  const stop = follow(machine, narrate);
  let stats: Readonly<NetNicStats> | undefined;
  await machine.pci.register(netNicDriver({ narrate, onRelease: (s) => (stats = s) }));
  const model = new RingNicModel("0000:00:08.0", { msix: true });
  const dev = machine.pci.plug(model);
  await machine.settled();
  const traffic = await startTraffic(machine, dev);
  await machine.run(trafficNs);
  const iface = machine.net.interfaces[0]!;
  narrate(`after ${trafficNs / 1000} µs: ${iface.name} sent ${iface.stats.txPackets} packets and received ${iface.stats.rxPackets} in ${iface.stats.polls} NAPI polls; ${model.inFlight} frames in flight`);
  narrate(`${end} ${dev.name} mid-traffic`);
  if (end === "unplug") await machine.pci.unplug(dev);
  else await machine.pci.unbind(dev);
  traffic.stop();
  await machine.run(10_000);
  stop();
  narrate(`the socket sent ${traffic.sent} frames; ${traffic.intact} came back intact, ${traffic.damaged} damaged; interfaces left: ${machine.net.interfaces.length}`);
  return { machine, model, stats, traffic };
}
