// Blocks: handing the token or an allocation out of an async probe(), as the
// value its Promise resolves to.
import { allocCoherent, defineDriver } from "boundscope";

export const token = defineDriver({
  name: "token",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /'ProbeDevice<Scope>' has no properties in common with type 'DriverInstance<Scope>'|Type 'Promise<ProbeDevice<Scope>>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- Promise of the token
  probe: async (dev) => dev,
});

export const allocation = defineDriver({
  name: "allocation",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /'CoherentAllocation<Scope>' has no properties in common with type 'DriverInstance<Scope>'|Type 'Promise<CoherentAllocation<Scope>>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- Promise of an allocation
  probe: async (dev) => allocCoherent(dev, 64),
});

export const awaited = defineDriver({
  name: "awaited",
  ids: [{ vendor: 1, device: 3 }],
  // @expect-error TS2322 /'ProbeDevice<Scope>' has no properties in common with type 'DriverInstance<Scope>'|Type 'Promise<ProbeDevice<Scope>>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- Promise of the token, after an await
  async probe(dev) {
    await Promise.resolve();
    return dev;
  },
});

export const explicit = defineDriver({
  name: "explicit",
  ids: [{ vendor: 1, device: 4 }],
  // @expect-error TS2322 /'CoherentAllocation<Scope>' has no properties in common with type 'DriverInstance<Scope>'|Type 'Promise<CoherentAllocation<Scope>>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- Promise.resolve of an allocation
  probe: (dev) => Promise.resolve(allocCoherent(dev, 64)),
});
