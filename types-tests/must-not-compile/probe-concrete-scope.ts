// Blocks: a probe() that names a concrete scope. The core picks a fresh scope
// per binding; a probe fixed to one scope could hand its token to any code
// of that scope, and every binding would share it.
import { defineDriver } from "boundscope";
import type { DriverInstance, ProbeDevice } from "boundscope";

export const stringScope = defineDriver({
  name: "string-scope",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<string>'/ -- probe(dev: ProbeDevice<string>)
  probe(dev: ProbeDevice<string>) {
    void dev;
    return {};
  },
});

export const literalScope = defineDriver({
  name: "literal-scope",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<"nic">'/ -- an arrow probe fixed to "nic"
  probe: (dev: ProbeDevice<"nic">) => ({ remove: (d: ProbeDevice<"nic">) => void [dev, d] }),
});

export const unknownScope = defineDriver({
  name: "unknown-scope",
  ids: [{ vendor: 1, device: 3 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<unknown>'/ -- probe fixed to unknown
  probe(dev: ProbeDevice<unknown>): DriverInstance<unknown> {
    void dev;
    return {};
  },
});

// A probe function declared on its own, with a concrete scope, then passed in.
function namedProbe(dev: ProbeDevice<"fixed">): DriverInstance<"fixed"> {
  void dev;
  return {};
}
export const named = defineDriver({
  name: "named",
  ids: [{ vendor: 1, device: 4 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<"fixed">'/ -- a named function of a fixed scope
  probe: namedProbe,
});
