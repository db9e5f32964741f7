// Blocks: handing the token out of probe() inside a closure that returns it.
import { allocCoherent, defineDriver } from "boundscope";

export const token = defineDriver({
  name: "token",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type '\(\) => ProbeDevice<Scope>' is not assignable to type 'DriverInstance<Scope>/ -- a closure returning the token
  probe: (dev) => () => dev,
});

export const allocation = defineDriver({
  name: "allocation",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type '\(\) => CoherentAllocation<Scope>' is not assignable to type 'DriverInstance<Scope>/ -- a closure returning an allocation
  probe: (dev) => () => allocCoherent(dev, 64),
});
