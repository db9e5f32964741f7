// Blocks: handing an allocation out of probe() as its return value.
import { allocCoherent, defineDriver } from "boundscope";

export const direct = defineDriver({
  name: "direct",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- an allocation as the instance
  probe: (dev) => allocCoherent(dev, 64),
});
