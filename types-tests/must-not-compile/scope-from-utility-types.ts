// Blocks: naming a binding's scope from outside probe() with the utility
// types and `infer`: Parameters<typeof allocCoherent>, ReturnType of it or of
// a driver's own probe, Parameters<DriverSpec["probe"]>, and a ScopeOf<T>
// written with `CoherentAllocation<infer S>`. A generic function's type
// parameters come out of Parameters and ReturnType as `unknown`, so every
// type they name is the `unknown` scope, which invariance keeps apart from
// the binding's own; and `infer` only finds the scope where it is already in
// hand (inside the probe), never a name for it outside.
import { allocCoherent, defineDriver } from "boundscope";
import type { CoherentAllocation, DriverInstance, DriverSpec, ProbeDevice } from "boundscope";

type TokenParam = Parameters<typeof allocCoherent>[0];
type Allocation = ReturnType<typeof allocCoherent>;
type CoreToken = Parameters<DriverSpec["probe"]>[0];
type ScopeOf<T> = T extends CoherentAllocation<infer S> ? S : never;

function probeRing<Scope>(dev: ProbeDevice<Scope>) {
  const ring = allocCoherent(dev, 4096);
  const instance: DriverInstance<Scope> = { remove: (d) => void ring.bytes(d) };
  return { ring, ...instance };
}
type RingInstance = ReturnType<typeof probeRing>;

let token: TokenParam | undefined;
let core: CoreToken | undefined;
let allocation: Allocation | undefined;
let ring: RingInstance["ring"] | undefined;
let byInfer: CoherentAllocation<ScopeOf<Allocation>> | undefined;

export const extracted = defineDriver({
  name: "extracted",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    const instance = probeRing(dev);
    // The scope `infer` finds inside the probe is the probe's own: fine here.
    const own: CoherentAllocation<ScopeOf<typeof instance.ring>> = instance.ring;
    void own;
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- into Parameters<typeof allocCoherent>[0]
    token = dev;
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<unknown>'/ -- into Parameters<DriverSpec["probe"]>[0]
    core = dev;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<unknown>'/ -- into ReturnType<typeof allocCoherent>
    allocation = instance.ring;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<unknown>'/ -- into ReturnType of the driver's own generic probe
    ring = instance.ring;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<unknown>'/ -- into CoherentAllocation<ScopeOf<…>> from `infer`
    byInfer = instance.ring;
    return { remove: instance.remove };
  },
});

void [token, core, allocation, ring, byInfer];
