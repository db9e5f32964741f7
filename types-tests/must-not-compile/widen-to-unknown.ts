// Blocks: widening a token, an allocation or a Devres to scope `unknown`,
// which would make it usable with every other scope's values.
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation, ProbeDevice } from "boundscope";

export const widen = defineDriver({
  name: "widen",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    const buf = allocCoherent(dev, 64);
    const res = Devres.new(dev, 1);
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- a token as BoundDevice<unknown>
    const anyToken: BoundDevice<unknown> = dev;
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<unknown>'/ -- the core context as ProbeDevice<unknown>
    const anyCore: ProbeDevice<unknown> = dev;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<unknown>'/ -- an allocation as CoherentAllocation<unknown>
    const anyBuf: CoherentAllocation<unknown> = buf;
    // @expect-error TS2322 /Type 'Devres<Scope, number>' is not assignable to type 'Devres<unknown, number>'/ -- a Devres as Devres<unknown, …>
    const anyRes: Devres<unknown, number> = res;
    void [anyToken, anyCore, anyBuf, anyRes];
    return {};
  },
});

// The same through a generic helper's parameter and return type.
function widenToken<Scope>(dev: BoundDevice<Scope>): BoundDevice<unknown> {
  // @expect-error TS2322 /Type 'BoundDevice<Scope>' is not assignable to type 'BoundDevice<unknown>'/ -- returned as BoundDevice<unknown>
  return dev;
}
function widenBuf<Scope>(buf: CoherentAllocation<Scope>): CoherentAllocation<unknown> {
  // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<unknown>'/ -- returned as CoherentAllocation<unknown>
  return buf;
}
void widenToken;
void widenBuf;
