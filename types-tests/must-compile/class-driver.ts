// A driver written as a class generic in its scope: the class holds the
// binding's allocations and a Devres, and remove() gets the same scope.
import { allocCoherent, defineDriver, Devres, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, ProbeDevice } from "boundscope";

interface Counters {
  interrupts: number;
}

class NicDriver<Scope> implements DriverInstance<Scope> {
  readonly rx: CoherentAllocation<Scope>;
  readonly tx: CoherentAllocation<Scope>;
  readonly counters: Devres<Scope, Counters>;

  constructor(dev: BoundDevice<Scope>) {
    this.rx = allocCoherent(dev, 16 * 256);
    this.tx = allocCoherent(dev, 16 * 256);
    this.counters = Devres.new(dev, { interrupts: 0 });
  }

  interrupt(dev: BoundDevice<Scope>): void {
    this.counters.access(dev).interrupts++;
    this.rx.view(dev).setUint32(0, 1, true);
  }

  remove(dev: ProbeDevice<Scope>): void {
    this.tx.bytes(dev).fill(0);
    this.interrupt(dev);
  }
}

export const nic = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x8086, device: 0x100e }],
  probe(dev) {
    setDmaMask(dev, 64);
    return new NicDriver(dev);
  },
});

// The class may also be built by an arrow probe with the type argument spelled out.
export const nicArrow = defineDriver({
  name: "nic-arrow",
  ids: [{ vendor: 0x8086, device: 0x100f }],
  probe: <Scope>(dev: ProbeDevice<Scope>) => new NicDriver<Scope>(dev),
});
