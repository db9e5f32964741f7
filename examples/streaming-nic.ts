/**
 * streaming-nic: a NIC driver whose packets travel in streaming DMA mappings,
 * on the simulated NIC of models/streaming-nic-model.ts.
 *
 * Concept: coherent memory is for what the CPU and the device share for the
 * whole binding; a packet lives in ordinary CPU memory and is lent to the
 * device for one transfer. Ownership moves with each call: the map gives the
 * buffer to the device, a sync for the CPU gives it back, a sync for the
 * device lends it again, the unmap ends the loan.
 *
 * Kernel counterpart: the TX and RX paths of e1000/igb-style drivers.
 * `ndo_start_xmit` maps each frame with `dma_map_single(..., DMA_TO_DEVICE)`
 * and the TX clean-up unmaps it (`dma_unmap_single`) and frees it; the RX
 * ring keeps its buffers mapped `DMA_FROM_DEVICE` for the whole binding, and
 * the RX clean-up reads each packet between `dma_sync_single_for_cpu` and
 * `dma_sync_single_for_device` (as copybreak does). The descriptors are
 * small blocks of a `dma_pool` (`dmam_pool_create`, `dma_pool_zalloc`,
 * `dma_pool_free`), as USB host controllers keep theirs.
 *
 * What it shows:
 * - probe() in the kernel's order: a 64-bit DMA mask, bus mastering (first,
 *   so devres turns it off last), BAR 0, the descriptor pool, the IRQ, the
 *   engine, then the RX buffers: kmalloc'd, mapped from-device, posted.
 * - TX: each frame is kmalloc'd, written, mapped to-device, described in a
 *   pool block and posted; on TX completion it is unmapped and freed, and so
 *   is its block. The types leave a to-device handle only `unmap`.
 * - RX, on the interrupt: `syncForCpu` (for the bytes the device wrote), read
 *   the packet through the CPU-owned handle (read-only: the device is the
 *   writer), `syncForDevice`, post the descriptor again.
 * - remove() halts the engine and checks that it stopped, then unmaps every
 *   buffer, frees it and its block. Unmapping first would pull buffers from
 *   under a device still writing them.
 * - With a 64-bit mask it runs clean under iommu "strict" and "passthrough",
 *   on coherent and non-coherent machines. With the PCI default 32-bit mask
 *   and no IOMMU, every buffer (the heap lies at 4 GiB) bounces through
 *   swiotlb, and the syncs are what copy the bytes: still intact.
 *
 * `streamingNicDriver({ syncRx: false })` forgets the RX sync for the CPU:
 * see stale-rx.ts.
 */

import { BoundscopeError, createDmaPool, defineDriver, Devres, enableBusMaster, iomap, kmalloc, Machine, mapSingle, requestIrq, setDmaMask } from "boundscope";
import type {
  BoundDevice,
  DeviceOwnedFromDevice,
  DeviceOwnedToDevice,
  DmaPool,
  DriverInstance,
  IoMapping,
  IommuMode,
  KernelBuffer,
  PoolBlock,
  ProbeDevice,
} from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import {
  SNIC_CTRL_ENABLE,
  SNIC_DESC_DONE,
  SNIC_ISR_RX,
  SNIC_ISR_TX,
  SNIC_REG,
  SNIC_STATUS_RUNNING,
  SnicDesc,
  STREAMING_NIC_ID,
  StreamingNicModel,
} from "./models/streaming-nic-model.js";

/** RX buffers kept mapped for the device. */
export const RX_BUFFERS = 16;
/** Bytes per RX buffer (a kmalloc-2048 object: its own cache lines). */
export const RX_BUFFER_SIZE = 2048;
/** The most frames the driver has queued for TX at once. */
export const TX_DEPTH = 16;
/** What an MMIO read returns once the device is gone. */
const ALL_ONES = 0xffff_ffff;

/** Traffic counters, kept as devres: released (and reported) at unbind. */
export interface StreamingNicStats {
  /** TX frames the device finished (each unmapped and freed). */
  sent: number;
  /** Frames received intact. */
  received: number;
  /** Bytes in them. */
  bytes: number;
  /** Frames received damaged (or read stale). */
  errors: number;
  interrupts: number;
  /** Streaming mappings made, and how many of them bounced through swiotlb. */
  mappings: number;
  bounced: number;
}

/** One received frame as the driver's CPU read it. */
export interface ReceivedFrame {
  /** The how-many-th frame received, from 0. */
  readonly index: number;
  /** A copy of the bytes the CPU read. */
  readonly bytes: Uint8Array;
  readonly intact: boolean;
}

export interface StreamingNicOptions {
  /** The driver's name. Default "streaming-nic". */
  readonly name?: string;
  /** 64 (default): `setDmaMask(dev, 64)`. 32: keep the PCI default mask, so heap buffers bounce when no IOMMU translates. */
  readonly dmaMask?: 32 | 64;
  /** Sync RX buffers for the CPU before reading them. Default true; false is the bug of stale-rx.ts. */
  readonly syncRx?: boolean;
  /** How many test frames to send. Default: no limit, as long as the device runs. */
  readonly frames?: number;
  readonly narrate?: Narrate;
  /** Hears each received frame, as the CPU read it. */
  readonly onReceive?: (frame: ReceivedFrame) => void;
  /** Hears the final counters when devres releases them. */
  readonly onRelease?: (stats: Readonly<StreamingNicStats>) => void;
}

/** The driver. Each binding gets its own pool, buffers and counters. */
export function streamingNicDriver(options: StreamingNicOptions = {}) {
  return defineDriver({
    name: options.name ?? "streaming-nic",
    ids: [STREAMING_NIC_ID],
    probe: (dev) => probe(dev, options),
  });
}

/** A frame on its way out: its buffer, the mapping that lends it, its descriptor. */
interface TxSlot<Scope> {
  readonly frame: KernelBuffer;
  readonly mapping: DeviceOwnedToDevice<Scope>;
  readonly desc: PoolBlock<Scope>;
}

/** An RX buffer, mapped for the whole binding, and its descriptor. */
interface RxSlot<Scope> {
  readonly buffer: KernelBuffer;
  /** The device owns it between two receptions. */
  mapping: DeviceOwnedFromDevice<Scope>;
  readonly desc: PoolBlock<Scope>;
}

function probe<Scope>(dev: ProbeDevice<Scope>, options: StreamingNicOptions): StreamingNic<Scope> {
  if ((options.dmaMask ?? 64) === 64) setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  regs.write32(dev, SNIC_REG.CTRL, 0); // a previous driver may have left the engine running
  // 16-byte descriptors, 16-byte aligned, none across a page.
  const descs = createDmaPool(dev, "streaming-nic-desc", SnicDesc.size, 16, 4096);
  const stats = Devres.new(dev, { sent: 0, received: 0, bytes: 0, errors: 0, interrupts: 0, mappings: 0, bounced: 0 }, (s) => options.onRelease?.({ ...s }));
  const nic = new StreamingNic(regs, descs, stats, options);
  requestIrq(dev, (dev) => nic.interrupt(dev));
  nic.start(dev);
  const { mappings, bounced } = stats.access(dev);
  options.narrate?.(
    `probe(): ${options.dmaMask === 32 ? "the default 32-bit" : "a 64-bit"} DMA mask; engine started; ${RX_BUFFERS} RX buffers of ${RX_BUFFER_SIZE} bytes kmalloc'd, mapped from-device and posted, the first ${mappings - RX_BUFFERS} TX frames mapped to-device (${bounced} of ${mappings} mappings bounced); descriptors from DMA pool "${descs.name}"`,
  );
  return nic;
}

class StreamingNic<Scope> implements DriverInstance<Scope> {
  /** RX buffers in the order they were posted: the device fills them in that order. */
  readonly #rx: RxSlot<Scope>[] = [];
  /** TX frames in the order they were posted. */
  readonly #tx: TxSlot<Scope>[] = [];
  #nextSeq = 0;
  #rxIndex = 0;

  constructor(
    private readonly regs: IoMapping<Scope>,
    private readonly descs: DmaPool<Scope>,
    private readonly stats: Devres<Scope, StreamingNicStats>,
    private readonly options: StreamingNicOptions,
  ) {}

  /**
   * Starts the engine, maps and posts every RX buffer, and queues the first
   * frames. If memory runs out on the way (ENOMEM), it halts the engine and
   * gives back what it took before it rethrows, so probe() fails clean: the
   * buffers are kmalloc'd, which devres does not free.
   */
  start(dev: BoundDevice<Scope>): void {
    this.regs.write32(dev, SNIC_REG.CTRL, SNIC_CTRL_ENABLE);
    const stats = this.stats.access(dev);
    try {
      for (let i = 0; i < RX_BUFFERS; i++) {
        const buffer = kmalloc(dev, RX_BUFFER_SIZE);
        let mapping: DeviceOwnedFromDevice<Scope> | undefined;
        try {
          mapping = mapSingle(dev, buffer, "from-device");
          this.#counted(stats, mapping.bounced);
          const slot: RxSlot<Scope> = { buffer, mapping, desc: this.descs.alloc(dev) };
          this.#postRx(dev, slot);
        } catch (error) {
          mapping?.unmap(dev);
          buffer.free();
          throw error;
        }
      }
      this.#refill(dev, stats);
    } catch (error) {
      this.#shutdown(dev);
      throw error;
    }
  }

  /** The IRQ handler: acknowledge, reap both directions, queue more frames. */
  interrupt(dev: BoundDevice<Scope>): void {
    const cause = this.regs.read32(dev, SNIC_REG.ISR);
    if (cause === ALL_ONES) return; // surprise-removed
    this.regs.write32(dev, SNIC_REG.ISR, cause);
    const stats = this.stats.access(dev);
    stats.interrupts++;
    if ((cause & SNIC_ISR_TX) !== 0) this.#reapTx(dev, stats);
    if ((cause & SNIC_ISR_RX) !== 0) this.#reapRx(dev, stats);
    this.#refill(dev, stats);
  }

  remove(dev: ProbeDevice<Scope>): void {
    const narrate = this.options.narrate ?? (() => {});
    const { sent, received } = this.stats.access(dev);
    const inFlight = this.#tx.length;
    const status = this.#shutdown(dev);
    const how = status === ALL_ONES ? "STATUS reads all-ones: the device is gone" : "engine halted";
    narrate(`remove(): ${how}; ${sent} frames sent, ${received} received; unmapped and freed ${inFlight} TX frames in flight and ${RX_BUFFERS} RX buffers`);
  }

  /** Halts the engine, then unmaps and frees every buffer and its block: remove(), and a probe that failed half way. Returns STATUS. */
  #shutdown(dev: BoundDevice<Scope>): number {
    // Halt first: the device must not write a buffer after it is unmapped and freed.
    this.regs.write32(dev, SNIC_REG.CTRL, 0);
    // The read flushes the posted write and says whether the engine stopped.
    const status = this.regs.read32(dev, SNIC_REG.STATUS);
    if (status !== ALL_ONES && (status & SNIC_STATUS_RUNNING) !== 0) {
      throw new Error("streaming-nic: the engine did not stop; its buffers cannot be unmapped safely");
    }
    for (const slot of this.#tx.splice(0)) this.#releaseTx(dev, slot);
    for (const slot of this.#rx.splice(0)) {
      slot.mapping.unmap(dev);
      slot.buffer.free();
      slot.desc.free();
    }
    return status;
  }

  /** Unmaps and frees every frame the device finished sending, oldest first. */
  #reapTx(dev: BoundDevice<Scope>, stats: StreamingNicStats): void {
    while (this.#tx.length > 0 && (SnicDesc.get(this.#tx[0]!.desc.view(dev), 0, "status") & SNIC_DESC_DONE) !== 0) {
      this.#releaseTx(dev, this.#tx.shift()!);
      stats.sent++;
    }
  }

  #releaseTx(dev: BoundDevice<Scope>, slot: TxSlot<Scope>): void {
    slot.mapping.unmap(dev);
    slot.frame.free();
    slot.desc.free();
  }

  /** Reads each received frame and hands its buffer back to the device, oldest first. */
  #reapRx(dev: BoundDevice<Scope>, stats: StreamingNicStats): void {
    while (this.#rx.length > 0 && (SnicDesc.get(this.#rx[0]!.desc.view(dev), 0, "status") & SNIC_DESC_DONE) !== 0) {
      const slot = this.#rx.shift()!;
      const len = SnicDesc.get(slot.desc.view(dev), 0, "len");
      let frame: Uint8Array;
      if (this.options.syncRx === false) {
        // The bug: the CPU reads the buffer while the device still owns it.
        frame = slot.buffer.bytes().slice(0, len);
      } else {
        const cpu = slot.mapping.syncForCpu(dev, 0, len);
        frame = Uint8Array.from(cpu.bytes(dev));
        slot.mapping = cpu.syncForDevice(dev);
      }
      const intact = frameIntact(frame);
      if (intact) {
        stats.received++;
        stats.bytes += len;
      } else {
        stats.errors++;
      }
      this.options.onReceive?.({ index: this.#rxIndex++, bytes: frame, intact });
      this.#postRx(dev, slot);
    }
  }

  /** Resets an RX descriptor and posts it. */
  #postRx(dev: BoundDevice<Scope>, slot: RxSlot<Scope>): void {
    SnicDesc.write(slot.desc.view(dev), 0, { addr: slot.mapping.dmaAddress, len: RX_BUFFER_SIZE, flags: 0, status: 0 });
    this.#rx.push(slot);
    this.regs.write64(dev, SNIC_REG.RX_POST, slot.desc.dmaHandle);
  }

  /**
   * Queues test frames up to TX_DEPTH: each kmalloc'd, written, mapped
   * to-device and posted. The IRQ handler calls it, so it allocates with
   * "atomic" (GFP_ATOMIC): a hard IRQ handler must not sleep. When memory
   * runs out it gives back the frame it was building and stops for now (as
   * a driver drops a packet under memory pressure); the next interrupt
   * tries again.
   */
  #refill(dev: BoundDevice<Scope>, stats: StreamingNicStats): void {
    const limit = this.options.frames ?? Number.POSITIVE_INFINITY;
    while (this.#tx.length < TX_DEPTH && this.#nextSeq < limit) {
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
      this.#counted(stats, mapping.bounced);
      SnicDesc.write(desc.view(dev), 0, { addr: mapping.dmaAddress, len, flags: 0, status: 0 });
      this.#tx.push({ frame, mapping, desc });
      this.regs.write64(dev, SNIC_REG.TX_POST, desc.dmaHandle);
    }
  }

  #counted(stats: StreamingNicStats, bounced: boolean): void {
    stats.mappings++;
    if (bounced) stats.bounced++;
  }
}

/** The Ethernet header of every test frame: broadcast, from a local address, an experimental EtherType. */
const HEADER = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x88, 0xb5);
const SEQ_AT = HEADER.length;

/** Test frames: the header, a little-endian sequence number, then a pattern derived from it. */
export function frameLength(seq: number): number {
  return 60 + ((seq * 97) % 1400);
}

export function writeFrame(frame: Uint8Array, seq: number): void {
  frame.set(HEADER);
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(SEQ_AT, seq, true);
  for (let i = SEQ_AT + 4; i < frame.length; i++) frame[i] = (seq + i) & 0xff;
}

export function frameIntact(frame: Uint8Array): boolean {
  if (frame.length < SEQ_AT + 4) return false;
  for (let i = 0; i < SEQ_AT; i++) if (frame[i] !== HEADER[i]) return false;
  const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(SEQ_AT, true);
  if (frame.length !== frameLength(seq)) return false;
  for (let i = SEQ_AT + 4; i < frame.length; i++) if (frame[i] !== ((seq + i) & 0xff)) return false;
  return true;
}

/** The first `count` bytes as hex, for people. */
export function hex(bytes: Uint8Array, count = 18): string {
  return [...bytes.subarray(0, count)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

export interface StreamingNicRunOptions {
  readonly iommu?: IommuMode;
  /** Default true; false: `new Machine({ dmaCoherent: false })`. */
  readonly dmaCoherent?: boolean;
  readonly dmaMask?: 32 | 64;
  readonly syncRx?: boolean;
  readonly name?: string;
  /** Frames to send. Default 64; unlimited when `trafficNs` is given and this is not. */
  readonly frames?: number;
  /** Unbind after this much virtual time, frames in flight; default: once the traffic is done. */
  readonly trafficNs?: number;
  /** "unbind" (default) or a hot-unplug. */
  readonly end?: "unbind" | "unplug";
}

export interface StreamingNicRun {
  readonly machine: Machine;
  readonly model: StreamingNicModel;
  /** The counters devres released at the end. */
  readonly stats: Readonly<StreamingNicStats> | undefined;
  /** Every frame the driver received, as its CPU read it. */
  readonly frames: readonly ReceivedFrame[];
  /** Frames the device held when it went away. */
  readonly inFlight: number;
  /** The most bytes swiotlb held at once. */
  readonly bounceHighWater: number;
}

/** Plugs the NIC, lets traffic flow, then unbinds (or unplugs) it. */
export async function runStreamingNic(narrate: Narrate, options: StreamingNicRunOptions = {}): Promise<StreamingNicRun> {
  const { iommu = "passthrough", dmaCoherent = true, end = "unbind", trafficNs } = options;
  const machine = new Machine({ iommu, dmaCoherent });
  const stop = follow(machine, narrate);
  let stats: Readonly<StreamingNicStats> | undefined;
  const frames: ReceivedFrame[] = [];
  const limit = options.frames ?? (trafficNs === undefined ? 64 : undefined);
  await machine.pci.register(
    streamingNicDriver({
      narrate,
      onReceive: (frame) => frames.push(frame),
      onRelease: (s) => (stats = s),
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.dmaMask === undefined ? {} : { dmaMask: options.dmaMask }),
      ...(options.syncRx === undefined ? {} : { syncRx: options.syncRx }),
      ...(limit === undefined ? {} : { frames: limit }),
    }),
  );
  const model = new StreamingNicModel("0000:00:07.0");
  const dev = machine.pci.plug(model);
  await machine.settled();
  if (trafficNs === undefined) await machine.runUntilIdle();
  else await machine.run(trafficNs);
  const inFlight = model.inFlight;
  narrate(`the device sent ${model.sent} frames and received ${model.received}; ${inFlight} in flight; swiotlb holds ${machine.memory.swiotlb().bytesInUse} bytes`);
  if (end === "unplug") await machine.pci.unplug(dev);
  else await machine.pci.unbind(dev);
  await machine.run(20_000); // time for anything left running to show itself
  stop();
  if (stats !== undefined) narrate(`devres released the counters: ${stats.sent} sent, ${stats.received} received intact (${stats.bytes} bytes), ${stats.errors} damaged; ${stats.bounced} of ${stats.mappings} mappings bounced`);
  return { machine, model, stats, frames, inFlight, bounceHighWater: machine.memory.swiotlb().highWater };
}
