// Blocks: handing the token or an allocation out of probe() in an object that
// is not a driver instance (no remove), for code that reads it back.
import { allocCoherent, defineDriver } from "boundscope";

export const token = defineDriver({
  name: "token",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type '\{ dev: ProbeDevice<Scope>; \}' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- an object holding the token
  probe: (dev) => ({ dev }),
});

export const allocation = defineDriver({
  name: "allocation",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type '\{ buf: CoherentAllocation<Scope>; \}' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- an object holding an allocation
  probe(dev) {
    return { buf: allocCoherent(dev, 64) };
  },
});

export const asyncHolder = defineDriver({
  name: "async-holder",
  ids: [{ vendor: 1, device: 3 }],
  // @expect-error TS2322 /'\{ dev: ProbeDevice<Scope>; \}' has no properties in common with type 'DriverInstance<Scope>'/ -- the same, through a Promise
  async probe(dev) {
    return { dev };
  },
});
