// The driver data drop: `drop(dev)` beside `remove(dev)`, in a class and in
// an object literal, sync and async; the token it gets reads devres
// resources (still alive) and may sleep.
import { allocCoherent, defineDriver, Devres, sleep } from "boundscope";
import type { CoherentAllocation, DriverInstance, ProbeDevice, SleepableDevice } from "boundscope";

class Nic<Scope> implements DriverInstance<Scope> {
  constructor(
    readonly ring: CoherentAllocation<Scope>,
    readonly stats: Devres<Scope, { packets: number }>,
  ) {}
  remove(dev: ProbeDevice<Scope>): void {
    this.ring.bytes(dev).fill(0);
  }
  drop(dev: SleepableDevice<Scope>): void {
    console.log(this.stats.access(dev).packets, this.ring.bytes(dev)[0]);
  }
}

export const classDriver = defineDriver({
  name: "class-drop",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe: (dev) => new Nic(allocCoherent(dev, 4096), Devres.new(dev, { packets: 0 })),
});

export const literalDriver = defineDriver({
  name: "literal-drop",
  ids: [{ vendor: 0x1af4, device: 0x1001 }],
  probe(dev) {
    const ring = allocCoherent(dev, 4096);
    return {
      remove: (dev) => ring.bytes(dev).fill(0),
      async drop(dev) {
        await sleep(dev, 1_000);
        console.log(ring.bytes(dev)[0]);
      },
    };
  },
});
