// Drivers written as classes, the ways people write them: `class Nic<Scope>
// implements DriverInstance<Scope>` reading `this.ring` in remove(), an
// arrow-property remove, private `#fields`, an abstract generic base class
// with a subclass, and a static generic probe passed to defineDriver.
import { allocCoherent, defineDriver, Devres, iomap, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, IoMapping, ProbeDevice } from "boundscope";

class Nic<Scope> implements DriverInstance<Scope> {
  readonly ring: CoherentAllocation<Scope>;
  #stats: Devres<Scope, { packets: number }>;

  constructor(dev: ProbeDevice<Scope>) {
    setDmaMask(dev, 64);
    this.ring = allocCoherent(dev, 4096);
    this.#stats = Devres.new(dev, { packets: 0 });
  }

  count(dev: BoundDevice<Scope>): number {
    return ++this.#stats.access(dev).packets;
  }

  remove(dev: ProbeDevice<Scope>): void {
    this.ring.bytes(dev).fill(0);
    this.count(dev);
  }

  static probe<Scope>(dev: ProbeDevice<Scope>): Nic<Scope> {
    return new Nic(dev);
  }
}

class ArrowRemove<Scope> implements DriverInstance<Scope> {
  constructor(private readonly ring: CoherentAllocation<Scope>) {}
  readonly remove = (dev: ProbeDevice<Scope>): number => this.ring.view(dev).getUint32(0, true);
}

abstract class PciDriverBase<Scope> implements DriverInstance<Scope> {
  protected readonly regs: IoMapping<Scope>;
  constructor(dev: ProbeDevice<Scope>) {
    this.regs = iomap(dev, 0);
  }
  protected abstract stop(dev: BoundDevice<Scope>): void;
  remove(dev: ProbeDevice<Scope>): void {
    this.stop(dev);
    this.regs.write32(dev, 0x04, 0);
  }
}

class Disk<Scope> extends PciDriverBase<Scope> {
  readonly #queue: CoherentAllocation<Scope>;
  constructor(dev: ProbeDevice<Scope>) {
    super(dev);
    this.#queue = allocCoherent(dev, 512);
  }
  protected stop(dev: BoundDevice<Scope>): void {
    this.#queue.bytes(dev).fill(0);
    this.regs.write32(dev, 0x00, 1);
  }
}

export const nic = defineDriver({ name: "nic", ids: [{ vendor: 0x8086, device: 0x100e }], probe: Nic.probe });
export const arrow = defineDriver({
  name: "arrow",
  ids: [{ vendor: 0x8086, device: 0x100f }],
  probe: (dev) => new ArrowRemove(allocCoherent(dev, 64)),
});
export const disk = defineDriver({
  name: "disk",
  ids: [{ vendor: 0x1af4, device: 0x1001 }],
  probe(dev) {
    return new Disk(dev);
  },
});
