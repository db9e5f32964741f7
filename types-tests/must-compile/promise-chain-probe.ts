// Probes that return a promise chain instead of using async/await:
// `setup(dev).then(() => ({ remove }))`, a chain that threads an allocation
// through, Promise.all of helpers, and a chain with catch and finally. The
// scope flows through every `then`. A helper that sleeps takes a
// SleepableDevice, which the probe's token is.
import { allocCoherent, defineDriver, setDmaMask, sleep } from "boundscope";
import type { CoherentAllocation, ProbeDevice, SleepableDevice } from "boundscope";

function setup<Scope>(dev: ProbeDevice<Scope>): Promise<void> {
  setDmaMask(dev, 64);
  return sleep(dev, 1_000);
}

function ring<Scope>(dev: SleepableDevice<Scope>, bytes: number): Promise<CoherentAllocation<Scope>> {
  return sleep(dev, 100).then(() => allocCoherent(dev, bytes));
}

export const thenRemove = defineDriver({
  name: "then-remove",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const buf = allocCoherent(dev, 64);
    const remove = (d: ProbeDevice<Scope>) => buf.bytes(d).fill(0);
    return setup(dev).then(() => ({ remove }));
  },
});

export const threaded = defineDriver({
  name: "threaded",
  ids: [{ vendor: 0x1af4, device: 0x1001 }],
  probe: (dev) =>
    setup(dev)
      .then(() => ring(dev, 4096))
      .then((rx) => ({ remove: (d) => void rx.bytes(d) })),
});

export const gathered = defineDriver({
  name: "gathered",
  ids: [{ vendor: 0x1af4, device: 0x1002 }],
  probe(dev) {
    return Promise.all([ring(dev, 64), ring(dev, 128), setup(dev)]).then(([rx, tx]) => ({
      remove(d) {
        rx.bytes(d).fill(0);
        tx.bytes(d).fill(0);
      },
    }));
  },
});

export const recovered = defineDriver({
  name: "recovered",
  ids: [{ vendor: 0x1af4, device: 0x1003 }],
  probe(dev) {
    return ring(dev, 64)
      .catch(() => ring(dev, 32))
      .finally(() => console.log("probed", dev.name))
      .then((buf) => ({ remove: (d) => buf.view(d).getUint8(0) }));
  },
});
