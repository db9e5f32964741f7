// Blocks: carrying the token or an allocation out of probe() in a promise
// chain: a module-level promise fed from a `then`, a `finally` that keeps the
// chain's value, and a `then` callback that stores its argument.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

let later: Promise<BoundDevice<unknown>> | undefined;
let ring: Promise<CoherentAllocation<"ring">> | undefined;
let stored: BoundDevice<"x"> | undefined;

export const chained = defineDriver({
  name: "chained",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /is not assignable to type 'Promise<BoundDevice<unknown>>'.*\n(.*\n)?.*Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a promise of the token
    later = Promise.resolve(dev).then((d) => d);
    // @expect-error TS2322 /Type 'Promise<CoherentAllocation<Scope>>' is not assignable to type 'Promise<CoherentAllocation<"ring">>'/ -- a finally that keeps an allocation
    ring = Promise.resolve(allocCoherent(dev, 64)).finally(() => undefined);
    return Promise.resolve(dev)
      .then((d) => {
        // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<"x">'/ -- a then callback storing the token
        stored = d;
      })
      .then(() => ({}));
  },
});

void [later, ring, stored];
