/**
 * Seeded bug 5: a free before waiting for the device: a buffer freed while
 * the device still DMAs into it.
 *
 * Clean original: examples/net-nic.ts (MSI-X, a graceful `stop`: it waits,
 * by a register poll in virtual time, until the device has sent what is on
 * the TX ring, then halts the engine). This copy keeps its RX packet
 * buffers only while the interface is up, as e1000 does
 * (`e1000_setup_all_rx_resources` in open, `e1000_free_all_rx_resources`
 * in close): `open` allocates them, `stop` frees them. The bug: `stop`
 * frees them first, then waits for the TX ring to drain. The MAC loops
 * every frame still on the TX ring back into the RX ring while it drains,
 * so the device writes received frames into the freed buffers: a DMA
 * after free.
 *
 * A hot-unplug hides it (the device is gone: the poll reads all-ones at
 * once and nothing is received), so the explorer's own teardown passes.
 * Found by: `unbind` at a point where frames are in flight.
 */

import { allocCoherent, allocIrqVectors, defineDriver, enableBusMaster, iomap, readPollTimeout, registerNetdev, setDmaMask } from "boundscope";
import type { AtomicDevice, BoundDevice, CoherentAllocation, DriverInstance, IoMapping, Netdev, ProbeDevice, SleepableDevice } from "boundscope";
import { CTRL_ENABLE, DESC_DONE, MSIX_RX, MSIX_TX, NET_NIC_ID, NIC_REG, NicDesc, STATUS_RUNNING } from "../../examples/models/ring-nic-model.js";

const RING_SIZE = 32;
const BUFFER_SIZE = 2048;
const ALL_ONES = 0xffff_ffff;

export interface FreeBeforeWaitNetNicOptions {
  /** True: stop() waits and halts, then frees (the fix). Default false: the seeded bug. */
  readonly fixed?: boolean;
}

export function freeBeforeWaitNetNicDriver(options: FreeBeforeWaitNetNicOptions = {}) {
  return defineDriver({ name: "net-nic-free-before-wait", ids: [NET_NIC_ID], probe: (dev) => probe(dev, options) });
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: FreeBeforeWaitNetNicOptions): NetNic<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, NIC_REG.CTRL, 0);
  const txDescs = allocCoherent(dev, NicDesc.size * RING_SIZE);
  const txBuffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE);
  const rxDescs = allocCoherent(dev, NicDesc.size * RING_SIZE);
  const nic = new NetNic(regs, txDescs, txBuffers, rxDescs, options);
  const vectors = allocIrqVectors(dev, 2, 2, { msix: true });
  vectors.request(MSIX_RX, (dev) => nic.rxInterrupt(dev));
  vectors.request(MSIX_TX, (dev) => nic.txInterrupt(dev));
  nic.netdev = registerNetdev(dev, {
    open: (dev) => nic.open(dev),
    stop: (dev) => nic.stop(dev),
    transmit: (dev, packet) => nic.transmit(dev, packet),
    poll: (dev, budget) => nic.poll(dev, budget),
  });
  return nic;
}

const next = (index: number): number => (index + 1) % RING_SIZE;

class NetNic<Scope> implements DriverInstance<Scope> {
  netdev!: Netdev<Scope>;
  /** The RX packet buffers, while the interface is up. */
  #rxBuffers: CoherentAllocation<Scope> | undefined;
  #txClean = 0;
  #txTail = 0;
  #rxClean = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly txDescs: CoherentAllocation<Scope>,
    private readonly txBuffers: CoherentAllocation<Scope>,
    private readonly rxDescs: CoherentAllocation<Scope>,
    private readonly options: FreeBeforeWaitNetNicOptions,
  ) {}

  /** `ndo_open`: the RX buffers are allocated now, posted, and the engine started. */
  open(dev: SleepableDevice<Scope>): void {
    const rxBuffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE);
    this.#rxBuffers = rxBuffers;
    const rx = this.rxDescs.view(dev);
    for (let i = 0; i < RING_SIZE; i++) {
      NicDesc.write(rx, i, { addr: rxBuffers.dmaHandle + BigInt(i * BUFFER_SIZE), len: BUFFER_SIZE, flags: 0, status: 0 });
    }
    this.#txClean = this.#txTail = this.#rxClean = 0;
    this.regs.write64(dev, NIC_REG.TX_RING, this.txDescs.dmaHandle);
    this.regs.write32(dev, NIC_REG.TX_SIZE, RING_SIZE);
    this.regs.write64(dev, NIC_REG.RX_RING, this.rxDescs.dmaHandle);
    this.regs.write32(dev, NIC_REG.RX_SIZE, RING_SIZE);
    this.regs.write32(dev, NIC_REG.RX_TAIL, RING_SIZE - 1);
    this.regs.write32(dev, NIC_REG.CTRL, CTRL_ENABLE);
  }

  transmit(dev: AtomicDevice<Scope>, packet: Uint8Array): "ok" | "busy" {
    if (next(this.#txTail) === this.#txClean) {
      this.netdev.stopQueue();
      return "busy";
    }
    const i = this.#txTail;
    this.txBuffers.bytes(dev).set(packet, i * BUFFER_SIZE);
    NicDesc.write(this.txDescs.view(dev), i, { addr: this.txBuffers.dmaHandle + BigInt(i * BUFFER_SIZE), len: packet.length, flags: 0, status: 0 });
    this.#txTail = next(i);
    this.regs.write32(dev, NIC_REG.TX_TAIL, this.#txTail);
    if (next(this.#txTail) === this.#txClean) this.netdev.stopQueue();
    return "ok";
  }

  txInterrupt(dev: BoundDevice<Scope>): void {
    this.#reapTx(dev);
    if (this.netdev.queueStopped && next(this.#txTail) !== this.#txClean) this.netdev.wakeQueue();
  }

  rxInterrupt(_dev: BoundDevice<Scope>): void {
    this.netdev.napiSchedule();
  }

  poll(dev: AtomicDevice<Scope>, budget: number): number {
    const rxBuffers = this.#rxBuffers;
    if (rxBuffers === undefined) return 0;
    const descs = this.rxDescs.view(dev);
    const buffers = rxBuffers.bytes(dev);
    let done = 0;
    let reaped = -1;
    while (done < budget && (NicDesc.get(descs, this.#rxClean, "status") & DESC_DONE) !== 0) {
      const i = this.#rxClean;
      const len = NicDesc.get(descs, i, "len");
      if (len > 0) this.netdev.receive(dev, buffers.subarray(i * BUFFER_SIZE, i * BUFFER_SIZE + len));
      NicDesc.write(descs, i, { len: BUFFER_SIZE, status: 0 });
      reaped = i;
      done++;
      this.#rxClean = next(i);
    }
    if (reaped >= 0) this.regs.write32(dev, NIC_REG.RX_TAIL, reaped);
    return done;
  }

  /** `ndo_stop`: wait for the TX ring to drain, halt, and give the RX buffers back. */
  async stop(dev: SleepableDevice<Scope>): Promise<void> {
    // SEEDED BUG: the RX buffers go before the device has stopped writing them.
    if (this.options.fixed !== true) this.#freeRx();
    const tail = this.#txTail;
    const head = await readPollTimeout(dev, () => this.regs.read32(dev, NIC_REG.TX_HEAD), (head) => head === tail || head === ALL_ONES, {
      sleepNs: 1_000,
      timeoutNs: 1_000_000,
    });
    if (head !== ALL_ONES) {
      this.#reapTx(dev);
      this.regs.write32(dev, NIC_REG.CTRL, 0);
      if ((this.regs.read32(dev, NIC_REG.STATUS) & STATUS_RUNNING) !== 0) throw new Error("net-nic: the engine did not stop");
    }
    this.#freeRx();
  }

  #freeRx(): void {
    this.#rxBuffers?.free();
    this.#rxBuffers = undefined;
  }

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    await this.netdev.unregister();
    this.regs.write32(dev, NIC_REG.CTRL, 0);
  }

  #reapTx(dev: BoundDevice<Scope>): void {
    const descs = this.txDescs.view(dev);
    while (this.#txClean !== this.#txTail && (NicDesc.get(descs, this.#txClean, "status") & DESC_DONE) !== 0) {
      NicDesc.set(descs, this.#txClean, "status", 0);
      this.#txClean = next(this.#txClean);
    }
  }
}
