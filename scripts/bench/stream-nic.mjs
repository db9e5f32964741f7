// A loopback NIC on streaming DMA, for the issue-12 benches: the checker on
// against off, and the bounce and non-coherent modes against the plain one.
//
// TX: the driver fills a kmalloc'd frame, maps it to-device, posts its bus
// address in a coherent descriptor ring and rings a doorbell; once the device
// reports it sent, the interrupt handler unmaps it. RX: each slot of the RX
// ring has a kmalloc'd buffer mapped from-device for the whole session; the
// device writes each frame it sent into the next one and reports its length;
// the interrupt handler syncs that many bytes for the CPU, reads them, syncs
// them back for the device and reposts the slot. So every packet is one
// map + unmap and one sync-for-cpu + sync-for-device, with the device model
// really reading the TX buffer and writing the RX one by bus address.
//
// The device loops each frame back, so the driver can check what it
// received against what the device read: a missing copy-in (bounce), a
// missing copy-out or cache invalidate (non-coherent) would show as a
// checksum mismatch, which the workload reports.

/** Registers of BAR 0. */
const CTRL = 0x00; // 1: engine on
const IRQ_STATUS = 0x04; // bit 0: TX done, bit 1: RX done
const IRQ_ACK = 0x08;
const TX_LO = 0x10;
const TX_HI = 0x14;
const RX_LO = 0x18;
const RX_HI = 0x1c;
const RING_LEN = 0x20; // entries, both rings
const TX_TAIL = 0x24; // frames posted, a free-running count
const TX_HEAD = 0x28; // frames sent, a free-running count
const RX_TAIL = 0x2c; // RX buffers posted, a free-running count
const RX_HEAD = 0x30; // RX buffers filled, a free-running count

const ENTRIES = 64;
const FRAME = 1536;
const BATCH = 16;
/** A descriptor: addr u64, len u32, flags u16, status u16. */
const DESC = 16;
const DONE = 1;

export const STREAM_NIC_ID = { vendor: 0x8086, device: 0x1539 };

/** Builds the model class and driver against one boundscope module (dist). */
export function streamNic(lib) {
  const { DeviceModel, allocCoherent, defineDriver, enableBusMaster, iomap, kmalloc, mapSingle, requestIrq, setDmaMask, spawn } = lib;

  class StreamNicModel extends DeviceModel {
    #tx = 0n;
    #rx = 0n;
    #len = 0;
    #txHead = 0;
    #txTail = 0;
    #rxHead = 0;
    #rxTail = 0;
    #on = false;
    #pending = 0;
    #busy = false;
    #desc = new Uint8Array(DESC);
    #descView = new DataView(this.#desc.buffer);
    #frame = new Uint8Array(FRAME);
    #status = Uint8Array.of(DONE, 0);
    #rxDone = new Uint8Array(8);
    #rxDoneView = new DataView(this.#rxDone.buffer);
    /** Sum of the first and last byte of every frame the device read. */
    checksum = 0;
    dropped = 0;

    constructor(dmaCoherent) {
      super({ ...STREAM_NIC_ID, bars: [0x100], dmaCoherent });
    }

    mmioRead(_bar, offset) {
      if (offset === IRQ_STATUS) return this.#pending;
      if (offset === TX_HEAD) return this.#txHead;
      if (offset === RX_HEAD) return this.#rxHead;
      return 0;
    }

    mmioWrite(_bar, offset, _width, value) {
      switch (offset) {
        case CTRL: {
          const on = value === 1;
          if (on === this.#on) break;
          this.#on = on;
          if (on) {
            this.hold(this.#tx, this.#len * DESC, "TX ring");
            this.hold(this.#rx, this.#len * DESC, "RX ring");
          } else {
            this.unhold(this.#tx);
            this.unhold(this.#rx);
          }
          break;
        }
        case IRQ_ACK:
          this.#pending &= ~value;
          break;
        case TX_LO:
          this.#tx = (this.#tx & ~0xffff_ffffn) | BigInt(value);
          break;
        case TX_HI:
          this.#tx = (this.#tx & 0xffff_ffffn) | (BigInt(value) << 32n);
          break;
        case RX_LO:
          this.#rx = (this.#rx & ~0xffff_ffffn) | BigInt(value);
          break;
        case RX_HI:
          this.#rx = (this.#rx & 0xffff_ffffn) | (BigInt(value) << 32n);
          break;
        case RING_LEN:
          this.#len = value;
          break;
        case TX_TAIL:
          this.#txTail = value;
          this.#kick();
          break;
        case RX_TAIL:
          this.#rxTail = value;
          break;
      }
    }

    #kick() {
      if (this.#busy || !this.#on) return;
      this.#busy = true;
      this.after(500, () => this.#process());
    }

    /** Sends every posted frame, loops each into the next RX buffer, then interrupts once. */
    #process() {
      this.#busy = false;
      if (!this.#on) return;
      let bits = 0;
      while (this.#txHead !== this.#txTail) {
        const at = this.#tx + BigInt((this.#txHead % this.#len) * DESC);
        this.dmaReadInto(at, this.#desc);
        const addr = this.#descView.getBigUint64(0, true);
        const len = this.#descView.getUint32(8, true);
        const frame = this.dmaReadInto(addr, this.#frame.subarray(0, len));
        this.checksum = (this.checksum + frame[0] + frame[len - 1]) | 0;
        this.dmaWrite(at + 14n, this.#status);
        this.#txHead++;
        bits |= 1;
        if (this.#rxHead === this.#rxTail) {
          this.dropped++;
          continue;
        }
        const rxAt = this.#rx + BigInt((this.#rxHead % this.#len) * DESC);
        this.dmaReadInto(rxAt, this.#desc);
        this.dmaWrite(this.#descView.getBigUint64(0, true), frame);
        this.#rxDoneView.setUint32(0, len, true);
        this.#rxDoneView.setUint16(6, DONE, true);
        this.dmaWrite(rxAt + 8n, this.#rxDone);
        this.#rxHead++;
        bits |= 2;
      }
      this.#pending |= bits;
      if (bits !== 0) this.raiseIrq();
    }
  }

  class StreamNic {
    sent = 0;
    /** Sum of the first and last byte of every frame received. */
    checksum = 0;
    received = 0;
    #txPosted = 0;
    #txClean = 0;
    #rxClean = 0;
    #wake = undefined;

    constructor(dev, packets) {
      this.regs = iomap(dev, 0);
      this.txRing = allocCoherent(dev, ENTRIES * DESC);
      this.rxRing = allocCoherent(dev, ENTRIES * DESC);
      this.txBuffers = Array.from({ length: ENTRIES }, () => kmalloc(dev, FRAME));
      this.txMaps = new Array(ENTRIES).fill(undefined);
      this.rxBuffers = Array.from({ length: ENTRIES }, () => kmalloc(dev, FRAME));
      const rxView = this.rxRing.view(dev);
      this.rxMaps = this.rxBuffers.map((buffer, slot) => {
        const rx = mapSingle(dev, buffer, "from-device");
        rxView.setBigUint64(slot * DESC, rx.dmaAddress, true);
        return rx;
      });
      requestIrq(dev, (dev) => this.interrupt(dev));
      const { regs } = this;
      regs.write32(dev, TX_LO, Number(this.txRing.dmaHandle & 0xffff_ffffn));
      regs.write32(dev, TX_HI, Number(this.txRing.dmaHandle >> 32n));
      regs.write32(dev, RX_LO, Number(this.rxRing.dmaHandle & 0xffff_ffffn));
      regs.write32(dev, RX_HI, Number(this.rxRing.dmaHandle >> 32n));
      regs.write32(dev, RING_LEN, ENTRIES);
      regs.write32(dev, RX_TAIL, ENTRIES);
      regs.write32(dev, CTRL, 1);
      spawn(dev, (dev, signal) => this.transmit(dev, signal, packets));
    }

    interrupt(dev) {
      const { regs } = this;
      const status = regs.read32(dev, IRQ_STATUS);
      regs.write32(dev, IRQ_ACK, status);
      // TX: what the device sent is the CPU's again.
      const sent = regs.read32(dev, TX_HEAD);
      for (; this.#txClean !== sent; this.#txClean++) {
        const slot = this.#txClean % ENTRIES;
        this.txMaps[slot].unmap(dev);
        this.txMaps[slot] = undefined;
      }
      // RX: read each filled buffer, hand it back, repost it.
      const filled = regs.read32(dev, RX_HEAD);
      if (filled !== this.#rxClean) {
        const view = this.rxRing.view(dev);
        for (; this.#rxClean !== filled; this.#rxClean++) {
          const slot = this.#rxClean % ENTRIES;
          const len = view.getUint32(slot * DESC + 8, true);
          const cpu = this.rxMaps[slot].syncForCpu(dev, 0, len);
          const bytes = cpu.bytes(dev);
          this.checksum = (this.checksum + bytes[0] + bytes[len - 1]) | 0;
          this.received++;
          this.rxMaps[slot] = cpu.syncForDevice(dev, 0, len);
          view.setUint16(slot * DESC + 14, 0, true);
        }
        regs.write32(dev, RX_TAIL, this.#rxClean + ENTRIES);
      }
      this.#wake?.();
    }

    /** Sends `packets` frames in batches, waiting for each batch to be sent. */
    async transmit(dev, signal, packets) {
      while (this.sent < packets && !signal.aborted) {
        const view = this.txRing.view(dev);
        const batch = Math.min(BATCH, packets - this.sent);
        for (let i = 0; i < batch; i++) {
          const n = this.sent + i;
          const slot = this.#txPosted % ENTRIES;
          const len = 64 + (n % (FRAME - 64));
          const buffer = this.txBuffers[slot];
          const bytes = buffer.bytes();
          bytes.fill(n & 0xff, 0, 64);
          bytes[len - 1] = (n * 7) & 0xff;
          const tx = mapSingle(dev, buffer, "to-device", 0, len);
          this.txMaps[slot] = tx;
          view.setBigUint64(slot * DESC, tx.dmaAddress, true);
          view.setUint32(slot * DESC + 8, len, true);
          view.setUint16(slot * DESC + 14, 0, true);
          this.#txPosted++;
        }
        this.sent += batch;
        const target = this.#txPosted;
        this.regs.write32(dev, TX_TAIL, target);
        while (this.#txClean !== target && !signal.aborted) {
          await Promise.race([new Promise((resolve) => (this.#wake = resolve)), signal.whenAborted]);
        }
      }
    }

    remove(dev) {
      // Halt the engine first, then give every buffer back: mappings are
      // device-managed, but kmalloc'd buffers are not.
      this.regs.write32(dev, CTRL, 0);
      for (const tx of this.txMaps) tx?.unmap(dev);
      for (const rx of this.rxMaps) rx.unmap(dev);
      for (const buffer of [...this.txBuffers, ...this.rxBuffers]) buffer.free();
    }
  }

  /** The driver; each instance it probes is pushed onto `instances`. */
  const driver = (packets, maskBits, instances) =>
    defineDriver({
      name: "bench-stream-nic",
      ids: [STREAM_NIC_ID],
      probe(dev) {
        setDmaMask(dev, maskBits);
        enableBusMaster(dev);
        const nic = new StreamNic(dev, packets);
        instances.push(nic);
        return nic;
      },
    });

  return { StreamNicModel, driver };
}

/**
 * The workload: `sessions` times, plug the NIC, let it send (and receive
 * back) `packets` frames, and unplug it. `maskBits` 32 makes every streaming
 * mapping bounce (the heap lies at 4 GiB); `dmaCoherent: false` makes the
 * machine non-coherent. Returns what the checker, the IOMMU and both ends saw.
 */
export async function streamNicWorkload(lib, { dmaDebug, iommu = "passthrough", dmaCoherent = true, maskBits = 64, sessions, packets }) {
  const { StreamNicModel, driver } = streamNic(lib);
  const machine = new lib.Machine({ dmaDebug, iommu, dmaCoherent });
  const nics = [];
  await machine.pci.register(driver(packets, maskBits, nics));
  const models = [];
  for (let s = 0; s < sessions; s++) {
    const model = new StreamNicModel();
    models.push(model);
    const dev = machine.pci.plug(model);
    await machine.settled();
    if (dev.state !== "bound") throw new Error(`stream-nic bench: the NIC did not bind (${dev.state})`);
    await machine.runUntilIdle();
    await machine.pci.unplug(dev);
  }
  const sum = (list, f) => list.reduce((n, x) => (n + f(x)) | 0, 0);
  return {
    violations: machine.dmaDebug.violations.length,
    faults: machine.iommu.faults.length,
    sent: sum(nics, (n) => n.sent),
    received: sum(nics, (n) => n.received),
    dropped: sum(models, (m) => m.dropped),
    deviceChecksum: sum(models, (m) => m.checksum),
    driverChecksum: sum(nics, (n) => n.checksum),
    bounces: machine.memory.swiotlb().highWater > 0,
    heapLeft: machine.memory.heap().allocations,
  };
}

/** Throws unless a run of the workload moved every frame both ways, intact, and the checker and IOMMU saw nothing. */
export function checkStreamNic(result, { sessions, packets, bounces }) {
  const problems = [];
  if (result.violations !== 0) problems.push(`${result.violations} checker violations`);
  if (result.faults !== 0) problems.push(`${result.faults} IOMMU faults`);
  if (result.sent !== sessions * packets || result.received !== sessions * packets) problems.push(`${result.sent} frames sent and ${result.received} received of ${sessions * packets}`);
  if (result.dropped !== 0) problems.push(`${result.dropped} frames dropped`);
  if (result.deviceChecksum !== result.driverChecksum) problems.push(`the driver read other bytes than the device sent (checksum ${result.driverChecksum}, device ${result.deviceChecksum})`);
  if (result.bounces !== bounces) problems.push(bounces ? "nothing bounced" : "something bounced");
  if (result.heapLeft !== 0) problems.push(`${result.heapLeft} heap buffers left`);
  if (problems.length > 0) throw new Error(`stream-nic bench: ${problems.join("; ")}`);
  return result;
}
