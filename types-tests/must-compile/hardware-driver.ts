// A hardware driver generic in its scope: bus mastering, a BAR mapped for
// MMIO, an interrupt handler, a spawned task and a descriptor ring laid out by
// defineStruct, all kept in a class of the same scope; plus the device model
// it drives, using its protected services from inside.
import { allocCoherent, defineDriver, defineStruct, DeviceModel, enableBusMaster, iomap, Machine, requestIrq, setDmaMask, spawn } from "boundscope";
import type {
  BoundDevice,
  CoherentAllocation,
  DriverInstance,
  IoMapping,
  IrqHandle,
  IrqHandler,
  MmioWidth,
  ProbeDevice,
  Task,
  TaskSignal,
  TaskWork,
} from "boundscope";

const TxDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
const RING = 64;
const DOORBELL = 0x00;
const CTRL = 0x04;
const RING_BASE = 0x08;

// Helpers generic in the scope take the token and handles of that scope.
function ring<Scope>(dev: BoundDevice<Scope>, regs: IoMapping<Scope>, base: CoherentAllocation<Scope>, tail: number): void {
  regs.write64(dev, RING_BASE, base.dmaHandle);
  regs.write32(dev, DOORBELL, tail);
}

class NicDriver<Scope> implements DriverInstance<Scope> {
  readonly regs: IoMapping<Scope>;
  readonly tx: CoherentAllocation<Scope>;
  readonly irq: IrqHandle<Scope>;
  readonly poller: Task<Scope>;
  completed = 0;

  constructor(dev: ProbeDevice<Scope>) {
    setDmaMask(dev, 64);
    enableBusMaster(dev);
    this.regs = iomap(dev, 0);
    this.tx = allocCoherent(dev, TxDesc.size * RING);
    const onIrq: IrqHandler<Scope> = (dev) => this.interrupt(dev);
    this.irq = requestIrq(dev, onIrq);
    const work: TaskWork<Scope> = (dev, signal) => this.poll(dev, signal);
    this.poller = spawn(dev, work);
    this.regs.write32(dev, CTRL, 1);
  }

  send(dev: BoundDevice<Scope>, index: number, length: number): void {
    TxDesc.write(this.tx.view(dev), index, { addr: this.tx.dmaHandle, len: length, flags: 1 });
    ring(dev, this.regs, this.tx, index + 1);
  }

  interrupt(dev: BoundDevice<Scope>): void {
    const status: number = TxDesc.get(this.tx.view(dev), 0, "status");
    const addr: bigint = TxDesc.get(this.tx.view(dev), 0, "addr");
    if (status !== 0 && addr !== 0n) this.completed++;
    this.regs.write32(dev, DOORBELL, 0);
  }

  async poll(dev: BoundDevice<Scope>, signal: TaskSignal): Promise<void> {
    while (!signal.aborted) {
      this.send(dev, 0, 64);
      await Promise.race([signal.whenAborted, Promise.resolve()]);
      signal.throwIfAborted();
    }
  }

  remove(dev: ProbeDevice<Scope>): void {
    this.regs.write32(dev, CTRL, 0);
    if (!this.irq.freed) this.irq.free();
    this.poller.cancel();
  }
}

export const nic = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x8086, device: 0x100e }],
  probe(dev) {
    return new NicDriver(dev);
  },
});

// The same, as a closure.
export const closureNic = defineDriver({
  name: "closure-nic",
  ids: [{ vendor: 0x8086, device: 0x100f }],
  probe(dev) {
    enableBusMaster(dev);
    const regs = iomap(dev, 0);
    const rx = allocCoherent(dev, TxDesc.size * RING);
    let seen = 0;
    const irq = requestIrq(dev, (dev) => {
      seen += TxDesc.read(rx.view(dev), 0).len;
      regs.write8(dev, DOORBELL, 0);
    });
    const task = spawn(dev, async (dev, signal) => {
      await signal.whenAborted;
      regs.read16(dev, CTRL);
    });
    return {
      async remove(dev) {
        regs.write32(dev, CTRL, 0);
        await task.done;
        void [irq.count, seen];
      },
    };
  },
});

// The device model behind it.
class NicModel extends DeviceModel {
  #base = 0n;
  constructor() {
    super({ vendor: 0x8086, device: 0x100e, name: "eth0", bars: [0x100] });
  }
  override mmioRead(_bar: number, offset: number, _width: MmioWidth): number | bigint {
    return offset === CTRL && this.present && this.busMaster ? 1 : 0;
  }
  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    if (offset === RING_BASE) {
      this.#base = BigInt(value);
      this.hold(this.#base, TxDesc.size * RING, "tx ring");
    } else if (offset === DOORBELL) {
      this.after(1_000, () => this.#transmit());
    } else if (offset === CTRL && value === 0) {
      this.unhold(this.#base);
    }
  }
  #transmit(): void {
    const bytes = this.dmaRead(this.#base, TxDesc.size);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    TxDesc.set(view, 0, "status", 1);
    this.dmaWrite(this.#base, bytes);
    this.raiseIrq();
    void this.now;
  }
}

export async function simulate(): Promise<void> {
  const machine = new Machine({ iommu: "strict", dmaDebug: "throw" });
  await machine.pci.register(nic);
  const dev = machine.pci.plug(new NicModel());
  await machine.settled();
  await machine.run(10_000);
  await machine.pci.unplug(dev);
  await machine.runUntilIdle();
  for (const v of machine.dmaDebug.violations) console.log(v.kind, v.allocSite, v.freeSite);
  for (const f of machine.iommu.faults) console.log(f.device, f.address, f.direction, f.time);
}
