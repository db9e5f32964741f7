// Not refused: a helper, or a probe, declared with a generic overload over an
// implementation whose parameter names a concrete scope. TypeScript checks an
// implementation against its overloads with the overloads' type parameters
// erased to `any`, and BoundDevice<any> relates to BoundDevice<"x"> both ways
// (`any` satisfies any invariance), so inside the implementation the
// binding's token is a BoundDevice<"x"> and parks in a variable of that
// scope. This is TypeScript's overload-implementation erasure; no type the
// library declares can reach into a user's implementation signature. Caught
// at run time by the token's liveness check: used after unbind, every
// operation throws ENXIO (Token.live in src/driver/binding.ts; see
// test/bus.test.ts).
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, DriverInstance, ProbeDevice } from "boundscope";

let parked: BoundDevice<"x"> | undefined;

function keep<Scope>(dev: BoundDevice<Scope>): void;
function keep(dev: BoundDevice<"x">): void {
  parked = dev;
}

function probeX<Scope>(dev: ProbeDevice<Scope>): DriverInstance<Scope>;
function probeX(dev: ProbeDevice<"x">): DriverInstance<"x"> {
  parked = dev;
  return {};
}

export const viaHelper = defineDriver({
  name: "via-helper",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    keep(dev);
    return {};
  },
});

export const viaProbe = defineDriver({ name: "via-probe", ids: [{ vendor: 1, device: 2 }], probe: probeX });

export function afterUnbind(): void {
  if (parked !== undefined) allocCoherent(parked, 64); // ENXIO at run time
}
