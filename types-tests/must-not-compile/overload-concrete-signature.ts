// Blocks: overloads whose visible signature names a concrete scope: a helper
// declared `(dev: BoundDevice<"x">)` with a generic implementation, and a
// probe whose only overload is concrete. Callers see the overloads, not the
// implementation, so the binding's token does not fit. (The other way round,
// a generic overload over a concrete implementation, compiles: see
// must-compile/lets-through-overload-implementation.ts.)
import { defineDriver } from "boundscope";
import type { BoundDevice, DriverInstance, ProbeDevice } from "boundscope";

function keep(dev: BoundDevice<"x">): void;
function keep<S>(dev: BoundDevice<S>): void {
  void dev;
}

function probeX(dev: ProbeDevice<"x">): DriverInstance<"x">;
function probeX<S>(dev: ProbeDevice<S>): DriverInstance<S> {
  void dev;
  return {};
}

export const visible = defineDriver({
  name: "visible",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<"x">'/ -- a concrete overload over a generic implementation
    keep(dev);
    return {};
  },
});

export const concreteProbe = defineDriver({
  name: "concrete-probe",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<"x">\) => DriverInstance<"x">' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a probe whose only overload is concrete
  probe: probeX,
});
