// Blocks: parking a token or an allocation in a variable outside probe(),
// typed with a concrete scope, to use it after the binding has ended.
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

let keep: BoundDevice<"x"> | undefined;
let keepBuf: CoherentAllocation<string> | undefined;
let keepRes: Devres<"x", number> | undefined;
const tokens: BoundDevice<never>[] = [];

export const leaky = defineDriver({
  name: "leaky",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'BoundDevice<"x">'/ -- the token into a concrete-scope variable
    keep = dev;
    // @expect-error TS2322 /Type 'CoherentAllocation<Scope>' is not assignable to type 'CoherentAllocation<string>'/ -- an allocation into a concrete-scope variable
    keepBuf = allocCoherent(dev, 64);
    // @expect-error TS2322 /Type 'Devres<Scope, number>' is not assignable to type 'Devres<"x", number>'/ -- a Devres into a concrete-scope variable
    keepRes = Devres.new(dev, 1);
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<never>'/ -- pushed into an array of another scope
    tokens.push(dev);
    return {};
  },
});

void [keep, keepBuf, keepRes];
