// Wrappers around defineDriver, as a driver family writes them: a
// makeDriver(name, ids, setup) factory whose setup is generic in the scope
// and passed on as the probe; one that wraps the setup with logging and
// set-up steps of its own, staying generic; one that builds the instance from
// a class; and one that takes configuration and closes over it.
import { allocCoherent, defineDriver, Devres, setDmaMask } from "boundscope";
import type { CoherentAllocation, DeviceId, Driver, DriverInstance, ProbeDevice } from "boundscope";

type Setup = <Scope>(dev: ProbeDevice<Scope>) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>;

export function makeDriver(name: string, ids: readonly DeviceId[], setup: Setup): Driver {
  return defineDriver({ name, ids, probe: setup });
}

export function makeLoggedDriver(name: string, ids: readonly DeviceId[], setup: Setup): Driver {
  return defineDriver({
    name,
    ids,
    async probe(dev) {
      console.log(`${name}: probing ${dev.name}`);
      setDmaMask(dev, 64);
      const instance = await setup(dev);
      return {
        async remove(d) {
          console.log(`${name}: removing ${d.name}`);
          await instance.remove?.(d);
        },
      };
    },
  });
}

class Ring<Scope> implements DriverInstance<Scope> {
  constructor(readonly buf: CoherentAllocation<Scope>) {}
  remove(dev: ProbeDevice<Scope>): void {
    this.buf.bytes(dev).fill(0);
  }
}

export function makeClassDriver(name: string, ids: readonly DeviceId[], bytes: number): Driver {
  return makeDriver(name, ids, (dev) => new Ring(allocCoherent(dev, bytes)));
}

export function makeConfigured<Config extends { readonly ringBytes: number; readonly mask: number }>(config: Config): Driver {
  return defineDriver({
    name: "configured",
    ids: [{ vendor: 0x1af4, device: 0x1003 }],
    probe(dev) {
      setDmaMask(dev, config.mask);
      const ring = allocCoherent(dev, config.ringBytes);
      const settings = Devres.new(dev, { ...config });
      return { remove: (d) => void [ring.bytes(d), settings.access(d).mask] };
    },
  });
}

export const family = [
  makeDriver("plain", [{ vendor: 1, device: 1 }], () => ({})),
  makeDriver("ringed", [{ vendor: 1, device: 2 }], (dev) => {
    const ring = allocCoherent(dev, 64);
    return { remove: (d) => ring.bytes(d).fill(0) };
  }),
  makeLoggedDriver("logged", [{ vendor: 1, device: 3 }], async (dev) => new Ring(allocCoherent(dev, 128))),
  makeClassDriver("class", [{ vendor: 1, device: 4 }], 256),
  makeConfigured({ ringBytes: 4096, mask: 48 }),
];
