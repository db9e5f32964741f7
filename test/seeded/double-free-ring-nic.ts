/**
 * Seeded bug 7: a double free on an error path.
 *
 * Clean original: examples/ring-nic.ts, which allocates its four coherent
 * areas one line each and lets devres give them back if probe fails. This
 * copy allocates each ring (descriptors, then packet buffers) in a helper,
 * `allocRing`, and unwinds by hand as C drivers do. The helper cleans up
 * after itself: when the buffers cannot be had, it frees the ring's
 * descriptors before it rethrows. The bug: it leaves the freed allocation
 * in the ring record, and probe's error path frees every allocation it
 * finds there, so those descriptors are freed twice (the kernel's fix for
 * this shape is setting the pointer to NULL after the free). The checker
 * reports the second free (`double-free`), naming where it was allocated
 * and first freed.
 *
 * Found by: `fail-alloc` of the second allocation (the TX ring's buffers).
 */

import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, registerNetdev, requestIrq, setDmaMask } from "boundscope";
import type { AtomicDevice, BoundDevice, CoherentAllocation, DriverInstance, IoMapping, Netdev, ProbeDevice, SleepableDevice } from "boundscope";
import { CTRL_ENABLE, DESC_DONE, ISR_RX, ISR_TX, NIC_REG, NicDesc, RING_NIC_ID, STATUS_RUNNING } from "../../examples/models/ring-nic-model.js";

const RING_SIZE = 32;
const BUFFER_SIZE = 2048;
const ALL_ONES = 0xffff_ffff;

export interface DoubleFreeRingNicOptions {
  /** True: allocRing forgets what it freed (the fix). Default false: the seeded bug. */
  readonly fixed?: boolean;
}

export function doubleFreeRingNicDriver(options: DoubleFreeRingNicOptions = {}) {
  return defineDriver({ name: "ring-nic-double-free", ids: [RING_NIC_ID], probe: (dev) => probe(dev, options) });
}

/** A ring as `allocRing` fills it in. */
interface RingSlots<Scope> {
  descs?: CoherentAllocation<Scope> | undefined;
  buffers?: CoherentAllocation<Scope> | undefined;
}

interface Ring<Scope> {
  readonly descs: CoherentAllocation<Scope>;
  readonly buffers: CoherentAllocation<Scope>;
}

/** Allocates a ring's descriptors, then its buffers; on failure frees what it got and rethrows. */
function allocRing<Scope>(dev: ProbeDevice<Scope>, ring: RingSlots<Scope>, options: DoubleFreeRingNicOptions): Ring<Scope> {
  const descs = (ring.descs = allocCoherent(dev, NicDesc.size * RING_SIZE));
  try {
    const buffers = (ring.buffers = allocCoherent(dev, BUFFER_SIZE * RING_SIZE));
    return { descs, buffers };
  } catch (error) {
    descs.free();
    // SEEDED BUG: the fix clears the slot here, so the caller does not free it again.
    if (options.fixed === true) ring.descs = undefined;
    throw error;
  }
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: DoubleFreeRingNicOptions): RingNic<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, NIC_REG.CTRL, 0);
  const txSlots: RingSlots<Scope> = {};
  const rxSlots: RingSlots<Scope> = {};
  let tx: Ring<Scope>;
  let rx: Ring<Scope>;
  try {
    tx = allocRing(dev, txSlots, options);
    rx = allocRing(dev, rxSlots, options);
  } catch (error) {
    // err_free_rings: what the rings hold, newest first.
    for (const ring of [rxSlots, txSlots]) {
      ring.buffers?.free();
      ring.descs?.free();
    }
    throw error;
  }
  const stats = Devres.new(dev, { interrupts: 0 });
  const nic = new RingNic(regs, tx, rx, stats);
  requestIrq(dev, (dev) => nic.interrupt(dev));
  nic.netdev = registerNetdev(dev, {
    open: (dev) => nic.open(dev),
    stop: (dev) => nic.stop(dev),
    transmit: (dev, packet) => nic.transmit(dev, packet),
    poll: (dev, budget) => nic.poll(dev, budget),
  });
  return nic;
}

const next = (index: number): number => (index + 1) % RING_SIZE;

class RingNic<Scope> implements DriverInstance<Scope> {
  netdev!: Netdev<Scope>;
  #txClean = 0;
  #txTail = 0;
  #rxClean = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly tx: Ring<Scope>,
    private readonly rx: Ring<Scope>,
    private readonly stats: Devres<Scope, { interrupts: number }>,
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
  }

  stop(dev: SleepableDevice<Scope>): void {
    this.#halt(dev);
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

  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, NIC_REG.ISR);
    if (cause === ALL_ONES) return;
    this.regs.write32(dev, NIC_REG.ISR, cause);
    this.stats.access(dev).interrupts++;
    if ((cause & (ISR_TX | ISR_RX)) !== 0) this.netdev.napiSchedule();
  }

  poll(dev: AtomicDevice<Scope>, budget: number): number {
    this.#reapTx(dev);
    const descs = this.rx.descs.view(dev);
    const buffers = this.rx.buffers.bytes(dev);
    let reaped = -1;
    let done = 0;
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

  async remove(dev: ProbeDevice<Scope>): Promise<void> {
    await this.netdev.unregister();
    this.#halt(dev);
  }

  #halt(dev: BoundDevice<Scope>): void {
    this.regs.write32(dev, NIC_REG.CTRL, 0);
    const status = this.regs.read32(dev, NIC_REG.STATUS);
    if (status !== ALL_ONES && (status & STATUS_RUNNING) !== 0) throw new Error("ring-nic: the engine did not stop");
  }

  #reapTx(dev: BoundDevice<Scope>): void {
    const descs = this.tx.descs.view(dev);
    const before = this.#txClean;
    while (this.#txClean !== this.#txTail && (NicDesc.get(descs, this.#txClean, "status") & DESC_DONE) !== 0) {
      NicDesc.set(descs, this.#txClean, "status", 0);
      this.#txClean = next(this.#txClean);
    }
    if (this.#txClean !== before && this.netdev.queueStopped) this.netdev.wakeQueue();
  }
}
