// Blocks: a remove() that names a concrete scope, which would accept the
// tokens of other bindings of that scope (and is never the probe's own).
import { defineDriver } from "boundscope";
import type { DriverInstance, ProbeDevice } from "boundscope";

export const literal = defineDriver({
  name: "literal",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<string>'/ -- remove(dev: ProbeDevice<string>) in an object literal
  probe(dev) {
    void dev;
    return {
      remove(d: ProbeDevice<string>) {
        void d;
      },
    };
  },
});

export const arrow = defineDriver({
  name: "arrow",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<"x">'/ -- an arrow remove fixed to "x"
  probe: () => ({ remove: (d: ProbeDevice<"x">) => void d }),
});

// A class fixed to a scope compiles on its own; returning it from a generic
// probe does not.
class StringInstance implements DriverInstance<string> {
  remove(dev: ProbeDevice<string>): void {
    void dev;
  }
}

export const fixedClass = defineDriver({
  name: "fixed-class",
  ids: [{ vendor: 1, device: 3 }],
  // @expect-error TS2322 /Type 'StringInstance' is not assignable to type 'DriverInstance<Scope>/ -- a class implementing DriverInstance<string>
  probe: () => new StringInstance(),
});

export const fixedClassAsync = defineDriver({
  name: "fixed-class-async",
  ids: [{ vendor: 1, device: 4 }],
  // @expect-error TS2322 /Type 'StringInstance' is not assignable to type 'DriverInstance<Scope>/ -- the same through a Promise
  probe: async () => new StringInstance(),
});
