// Blocks: a wrapper around defineDriver that fixes the scope, so that the
// probe it is given is not generic: one scope parameter for the whole
// wrapper, and a wrapper taking probe as `(dev: ProbeDevice<unknown>) => …`.
// defineDriver wants a probe generic in its scope; a wrapper must pass one on
// (see must-compile/driver-factories.ts).
import { defineDriver } from "boundscope";
import type { DeviceId, DriverInstance, ProbeDevice } from "boundscope";

export function makeDriver<S>(name: string, ids: readonly DeviceId[], probe: (dev: ProbeDevice<S>) => DriverInstance<S>) {
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<S>\) => DriverInstance<S>' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- one scope for the whole wrapper
  return defineDriver({ name, ids, probe });
}

export function makeLoose(name: string, probe: (dev: ProbeDevice<unknown>) => DriverInstance<unknown>) {
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<unknown>\) => DriverInstance<unknown>' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a probe of scope unknown
  return defineDriver({ name, ids: [{ vendor: 1, device: 1 }], probe });
}
