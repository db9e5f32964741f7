/**
 * Seeded bug 2: a remove() that forgets to stop the engine.
 *
 * Clean original: examples/streaming-nic.ts, whose remove() halts the
 * engine (CTRL=0, then reads STATUS to flush the write and check it
 * stopped) before it unmaps and frees the RX buffers and the TX frames in
 * flight. This copy's remove() skips the halt: it unmaps and frees every
 * buffer while the device still holds their descriptors and may DMA into
 * them. The core sees the device still holding memory when remove()
 * returns (`dma-after-remove`); what the device does next lands in freed
 * memory.
 *
 * A hot-unplug hides it (the device is gone, its engine with it), so the
 * explorer's own teardown passes; an unbind while the device is bound finds
 * it. Found by: `unbind` at the first point the driver is bound.
 */

import { BoundscopeError, createDmaPool, defineDriver, enableBusMaster, iomap, kmalloc, mapSingle, requestIrq, setDmaMask } from "boundscope";
import type { BoundDevice, DeviceOwnedFromDevice, DeviceOwnedToDevice, DmaPool, DriverInstance, IoMapping, KernelBuffer, PoolBlock, ProbeDevice } from "boundscope";
import { frameIntact, frameLength, writeFrame } from "../../examples/streaming-nic.js";
import { SNIC_CTRL_ENABLE, SNIC_DESC_DONE, SNIC_ISR_RX, SNIC_ISR_TX, SNIC_REG, SNIC_STATUS_RUNNING, SnicDesc, STREAMING_NIC_ID } from "../../examples/models/streaming-nic-model.js";

const RX_BUFFERS = 16;
const RX_BUFFER_SIZE = 2048;
const TX_DEPTH = 16;
const ALL_ONES = 0xffff_ffff;

export interface NoHaltStreamingNicOptions {
  /** How many test frames to send. */
  readonly frames: number;
  /** True: remove() halts the engine first (the fix). Default false: the seeded bug. */
  readonly fixed?: boolean;
}

export function noHaltStreamingNicDriver(options: NoHaltStreamingNicOptions) {
  return defineDriver({ name: "streaming-nic-no-halt", ids: [STREAMING_NIC_ID], probe: (dev) => probe(dev, options) });
}

interface TxSlot<Scope> {
  readonly frame: KernelBuffer<"kmalloc">;
  readonly mapping: DeviceOwnedToDevice<Scope>;
  readonly desc: PoolBlock<Scope>;
}

interface RxSlot<Scope> {
  readonly buffer: KernelBuffer<"kmalloc">;
  mapping: DeviceOwnedFromDevice<Scope>;
  readonly desc: PoolBlock<Scope>;
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: NoHaltStreamingNicOptions): StreamingNic<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, SNIC_REG.CTRL, 0);
  const descs = createDmaPool(dev, "streaming-nic-desc", SnicDesc.size, 16, 4096);
  const nic = new StreamingNic(regs, descs, options);
  requestIrq(dev, (dev) => nic.interrupt(dev));
  nic.start(dev);
  return nic;
}

class StreamingNic<Scope> implements DriverInstance<Scope> {
  readonly #rx: RxSlot<Scope>[] = [];
  readonly #tx: TxSlot<Scope>[] = [];
  #nextSeq = 0;
  /** Frames received intact, and not. */
  received = 0;
  damaged = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly descs: DmaPool<Scope>,
    private readonly options: NoHaltStreamingNicOptions,
  ) {}

  start(dev: BoundDevice<Scope>): void {
    this.regs.write32(dev, SNIC_REG.CTRL, SNIC_CTRL_ENABLE);
    try {
      for (let i = 0; i < RX_BUFFERS; i++) {
        const buffer = kmalloc(dev, RX_BUFFER_SIZE);
        let mapping: DeviceOwnedFromDevice<Scope> | undefined;
        try {
          mapping = mapSingle(dev, buffer, "from-device");
          this.#postRx(dev, { buffer, mapping, desc: this.descs.alloc(dev) });
        } catch (error) {
          mapping?.unmap(dev);
          buffer.free();
          throw error;
        }
      }
      this.#refill(dev);
    } catch (error) {
      this.#halt(dev);
      this.#releaseAll(dev);
      throw error;
    }
  }

  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, SNIC_REG.ISR);
    if (cause === ALL_ONES) return;
    this.regs.write32(dev, SNIC_REG.ISR, cause);
    if ((cause & SNIC_ISR_TX) !== 0) this.#reapTx(dev);
    if ((cause & SNIC_ISR_RX) !== 0) this.#reapRx(dev);
    this.#refill(dev);
  }

  remove(dev: ProbeDevice<Scope>): void {
    // SEEDED BUG: the clean driver halts the engine here, before anything is unmapped.
    if (this.options.fixed === true) this.#halt(dev);
    this.#releaseAll(dev);
  }

  #halt(dev: BoundDevice<Scope>): void {
    this.regs.write32(dev, SNIC_REG.CTRL, 0);
    const status = this.regs.read32(dev, SNIC_REG.STATUS);
    if (status !== ALL_ONES && (status & SNIC_STATUS_RUNNING) !== 0) throw new Error("streaming-nic: the engine did not stop");
  }

  #releaseAll(dev: BoundDevice<Scope>): void {
    for (const slot of this.#tx.splice(0)) this.#releaseTx(dev, slot);
    for (const slot of this.#rx.splice(0)) {
      slot.mapping.unmap(dev);
      slot.buffer.free();
      slot.desc.free();
    }
  }

  #reapTx(dev: BoundDevice<Scope>): void {
    while (this.#tx.length > 0 && (SnicDesc.get(this.#tx[0]!.desc.view(dev), 0, "status") & SNIC_DESC_DONE) !== 0) {
      this.#releaseTx(dev, this.#tx.shift()!);
    }
  }

  #releaseTx(dev: BoundDevice<Scope>, slot: TxSlot<Scope>): void {
    slot.mapping.unmap(dev);
    slot.frame.free();
    slot.desc.free();
  }

  #reapRx(dev: BoundDevice<Scope>): void {
    while (this.#rx.length > 0 && (SnicDesc.get(this.#rx[0]!.desc.view(dev), 0, "status") & SNIC_DESC_DONE) !== 0) {
      const slot = this.#rx.shift()!;
      const len = SnicDesc.get(slot.desc.view(dev), 0, "len");
      const cpu = slot.mapping.syncForCpu(dev, 0, len);
      if (frameIntact(Uint8Array.from(cpu.bytes(dev)))) this.received++;
      else this.damaged++;
      slot.mapping = cpu.syncForDevice(dev);
      this.#postRx(dev, slot);
    }
  }

  #postRx(dev: BoundDevice<Scope>, slot: RxSlot<Scope>): void {
    SnicDesc.write(slot.desc.view(dev), 0, { addr: slot.mapping.dmaAddress, len: RX_BUFFER_SIZE, flags: 0, status: 0 });
    this.#rx.push(slot);
    this.regs.write64(dev, SNIC_REG.RX_POST, slot.desc.dmaHandle);
  }

  #refill(dev: BoundDevice<Scope>): void {
    while (this.#tx.length < TX_DEPTH && this.#nextSeq < this.options.frames) {
      const seq = this.#nextSeq;
      const len = frameLength(seq);
      let frame: KernelBuffer<"kmalloc"> | undefined;
      let mapping: DeviceOwnedToDevice<Scope> | undefined;
      let desc: PoolBlock<Scope>;
      try {
        frame = kmalloc(dev, len, "atomic");
        writeFrame(frame.bytes(), seq);
        mapping = mapSingle(dev, frame, "to-device");
        desc = this.descs.alloc(dev, "atomic");
      } catch (error) {
        if (!(error instanceof BoundscopeError && error.code === "ENOMEM")) throw error;
        mapping?.unmap(dev);
        frame?.free();
        return;
      }
      this.#nextSeq++;
      SnicDesc.write(desc.view(dev), 0, { addr: mapping.dmaAddress, len, flags: 0, status: 0 });
      this.#tx.push({ frame, mapping, desc });
      this.regs.write64(dev, SNIC_REG.TX_POST, desc.dmaHandle);
    }
  }
}
