// A consumer's driver, compiled against the packed boundscope and run by node
// (scripts/consumer-test.mjs). It must compile under every compiler and
// module resolution of the matrix, and run to "consumer driver ok".
import { allocCoherent, BoundscopeError, defineDriver, Devres, Machine, registerNetdev, setDmaMask } from "boundscope";
import type { AtomicDevice, BoundDevice, CoherentAllocation, Device, DeviceState, DriverInstance, ProbeDevice } from "boundscope";

// The consumer project has no @types/node: the package must not need it.
declare const console: { log(...values: unknown[]): void };

function expectState(dev: Device, state: DeviceState): void {
  if (dev.state !== state) throw new Error(`expected ${dev.name} ${state}, found ${dev.state}`);
}

let leaked: BoundDevice<unknown> | undefined;
let released = 0;

class RingDriver<Scope> implements DriverInstance<Scope> {
  constructor(
    readonly ring: CoherentAllocation<Scope>,
    readonly stats: Devres<Scope, { packets: number }>,
  ) {}

  remove(dev: ProbeDevice<Scope>): void {
    if (this.ring.view(dev).getUint32(0, true) !== 0xc0ffee) throw new Error("the ring lost its contents");
    this.stats.access(dev).packets++;
  }
}

const driver = defineDriver({
  name: "consumer-ring",
  ids: [{ vendor: 0x1234, device: 0x11e8 }],
  probe(dev) {
    setDmaMask(dev, 64);
    const ring = allocCoherent(dev, 4096);
    ring.view(dev).setUint32(0, 0xc0ffee, true);
    // Smuggled out through a cast: the types cannot see it, the run time must.
    leaked = dev as unknown as BoundDevice<unknown>;
    // A release that returns a value (the count) fits a void-typed callback.
    return new RingDriver(ring, Devres.new(dev, { packets: 0 }, () => released++));
  },
});

const machine = new Machine();
await machine.pci.register(driver);
const dev = machine.pci.plug({ vendor: 0x1234, device: 0x11e8 });
await machine.settled();
expectState(dev, "bound");
if (machine.memory.stats().allocations !== 1) throw new Error("expected one allocation");

await machine.pci.unplug(dev);
expectState(dev, "zombie");
if (released !== 1) throw new Error(`expected the devres release to run once, ran ${released} times`);
if (machine.memory.stats().bytesInUse !== 0) throw new Error("the pool still holds memory after unplug");

let code: string | undefined;
try {
  if (leaked !== undefined) allocCoherent(leaked, 64);
} catch (error) {
  if (error instanceof BoundscopeError) code = error.code;
}
if (code !== "ENXIO") throw new Error(`a leaked token must fail ENXIO after unplug, got ${code}`);

// Issue 13's entry points: a netdev whose transmit the stack calls with the
// binding's token, and the driver data's drop before devres release.
const sent: number[] = [];
let dropped = false;
const nic = defineDriver({
  name: "consumer-nic",
  ids: [{ vendor: 0x1234, device: 0x11e9 }],
  probe(dev) {
    const tx = allocCoherent(dev, 2048);
    const count = <Scope>(dev: AtomicDevice<Scope>, buf: CoherentAllocation<Scope>, frame: Uint8Array): "ok" => {
      buf.bytes(dev).set(frame);
      sent.push(frame.length);
      return "ok";
    };
    registerNetdev(dev, { open: () => {}, stop: () => {}, transmit: (dev, frame) => count(dev, tx, frame), poll: () => 0 });
    return { drop: (dev) => void (dropped = tx.bytes(dev)[0] === 0xab) };
  },
});
await machine.pci.register(nic);
const card = machine.pci.plug({ vendor: 0x1234, device: 0x11e9 });
await machine.settled();
const [eth] = machine.net.interfaces;
if (eth === undefined) throw new Error("the netdev was not registered");
await machine.net.interface(eth.name).up();
machine.net.socket(eth.name).send(new Uint8Array(60).fill(0xab));
if (sent.join() !== "60") throw new Error(`expected one 60-byte frame through transmit, got ${sent.join()}`);
await machine.pci.unbind(card);
if (!dropped) throw new Error("drop() did not run with the allocation still alive");
if (machine.net.interfaces.length !== 0) throw new Error("the netdev outlived its binding");

console.log("consumer driver ok");
