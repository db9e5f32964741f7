// Blocks: storing one binding's allocation in a holder of another scope,
// where the other binding's token could read it.
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, ProbeDevice } from "boundscope";

class Holder<Scope> {
  buf?: CoherentAllocation<Scope>;
  res?: Devres<Scope, number>;
  read(dev: BoundDevice<Scope>): number {
    return this.buf?.bytes(dev)[0] ?? 0;
  }
}

export function cross<A, B>(holderA: Holder<A>, devB: BoundDevice<B>): void {
  // @expect-error TS2322 /Type 'CoherentAllocation<B>' is not assignable to type 'CoherentAllocation<A>'/ -- B's allocation into A's holder
  holderA.buf = allocCoherent(devB, 64);
  // @expect-error TS2322 /Type 'Devres<B, number>' is not assignable to type 'Devres<A, number>'/ -- B's Devres into A's holder
  holderA.res = Devres.new(devB, 1);
  // @expect-error TS2345 /Argument of type 'BoundDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- reading A's holder with B's token
  holderA.read(devB);
}

// A holder of a fixed scope, filled from a generic probe.
const shared = new Holder<"shared">();

class Instance<Scope> implements DriverInstance<Scope> {
  constructor(readonly buf: CoherentAllocation<Scope>) {}
  remove(dev: ProbeDevice<Scope>): void {
    this.buf.bytes(dev).fill(0);
  }
}

export const fill = defineDriver({
  name: "fill",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<"shared">'/ -- into a holder of a concrete scope
    shared.buf = allocCoherent(dev, 64);
    // @expect-error TS2345 /Argument of type 'CoherentAllocation<Scope>' is not assignable to parameter of type 'CoherentAllocation<string>'/ -- an instance class instantiated at another scope
    const instance = new Instance<string>(allocCoherent(dev, 64));
    void instance;
    return new Instance(allocCoherent(dev, 64));
  },
});
