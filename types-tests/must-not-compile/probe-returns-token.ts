// Blocks: handing the token out of probe() as its return value, so that the
// core (and whoever reads the instance) would hold a token of that scope.
import { defineDriver } from "boundscope";

export const direct = defineDriver({
  name: "direct",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- the token as the instance
  probe: (dev) => dev,
});

export const method = defineDriver({
  name: "method",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- the token returned from a method probe
  probe(dev) {
    return dev;
  },
});
