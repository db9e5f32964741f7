// Blocks: a class's static state as the parking spot: a static field of the
// driver class typed with its own scope parameter (a static member cannot
// see a class type parameter), a static field or a static registry of scope
// `unknown`, and a static generic method that stores what it is given.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, ProbeDevice } from "boundscope";

class Nic<Scope> implements DriverInstance<Scope> {
  // @expect-error TS2302 /Static members cannot reference class type parameters/ -- a static field of the class's own scope
  static last: ProbeDevice<Scope> | undefined;
  static lastToken: BoundDevice<unknown> | undefined;
  static readonly registry: CoherentAllocation<unknown>[] = [];
  static remember<S>(dev: BoundDevice<S>): void {
    // @expect-error TS2322 /Type 'BoundDevice<S>' is not assignable to type 'BoundDevice<unknown>'/ -- a static generic method storing its argument
    Nic.lastToken = dev;
  }

  constructor(readonly ring: CoherentAllocation<Scope>) {}

  remove(dev: ProbeDevice<Scope>): void {
    this.ring.bytes(dev).fill(0);
  }
}

export const nic = defineDriver({
  name: "nic",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    const ring = allocCoherent(dev, 64);
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a static field of scope unknown
    Nic.lastToken = dev;
    // @expect-error TS2345 /Argument of type 'CoherentAllocation<Scope>' is not assignable to parameter of type 'CoherentAllocation<unknown>'/ -- a static registry
    Nic.registry.push(ring);
    return new Nic(ring);
  },
});
