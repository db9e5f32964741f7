// Blocks: parking a token or an allocation through an accessor: a static
// setter of a class, a setter in a module-level object, a setter of a holder
// instance. A setter takes one concrete type, so it cannot be generic in the
// scope, and invariance refuses the binding's value.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation, ProbeDevice } from "boundscope";

class Park {
  static #dev: unknown;
  static set dev(value: BoundDevice<unknown>) {
    Park.#dev = value;
  }
  static get dev(): BoundDevice<unknown> {
    return Park.#dev as BoundDevice<unknown>;
  }
}

const slot = {
  set core(value: ProbeDevice<"slot">) {
    void value;
  },
};

class RingHolder {
  #ring: CoherentAllocation<string> | undefined;
  set ring(value: CoherentAllocation<string>) {
    this.#ring = value;
  }
}
const holder = new RingHolder();

export const parked = defineDriver({
  name: "parked",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a static setter
    Park.dev = dev;
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<"slot">'/ -- a setter of a module-level object
    slot.core = dev;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<string>'/ -- a setter of a holder instance
    holder.ring = allocCoherent(dev, 64);
    return {};
  },
});

void Park.dev;
