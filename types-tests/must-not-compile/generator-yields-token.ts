// Blocks: yielding the token or an allocation out of probe() through a
// generator, to be resumed after the binding ended; and a generator as the
// probe itself. A Generator is covariant in what it yields, so a generator of
// the binding's token is not one of BoundDevice<unknown>.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

let tokens: Generator<BoundDevice<unknown>> | undefined;
let rings: Iterator<CoherentAllocation<unknown>> | undefined;

export const yielding = defineDriver({
  name: "yielding",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'Generator<ProbeDevice<Scope>, void, unknown>' is not assignable to type 'Generator<BoundDevice<unknown>/ -- a generator yielding the token
    tokens = (function* () {
      yield dev;
    })();
    // @expect-error TS2322 /Type 'Generator<CoherentAllocation<Scope>, void, unknown>' is not assignable to type 'Iterator<CoherentAllocation<unknown>/ -- a generator yielding allocations
    rings = (function* () {
      yield allocCoherent(dev, 64);
    })();
    return {};
  },
});

export const generatorProbe = defineDriver({
  name: "generator-probe",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type '<Scope>\(dev: ProbeDevice<Scope>\) => Generator<ProbeDevice<Scope>, void, unknown>' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a generator as the probe
  probe: function* (dev) {
    yield dev;
  },
});

void [tokens, rings];
