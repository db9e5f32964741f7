// Blocks: steering inference away from the binding's scope: NoInfer<> on the
// token so the scope is taken from a holder of scope `unknown`, and a
// `const` type parameter that infers a literal scope from a string. The
// scope is then `unknown` or the literal, and the binding's token is not one
// of those.
import { defineDriver } from "boundscope";
import type { BoundDevice } from "boundscope";

function stash<Scope>(into: { dev?: BoundDevice<Scope> }, dev: NoInfer<BoundDevice<Scope>>): void {
  into.dev = dev;
}
const holder: { dev?: BoundDevice<unknown> } = {};

function named<const Scope extends string>(name: Scope, dev: BoundDevice<Scope>): Scope {
  void dev;
  return name;
}

export const steered = defineDriver({
  name: "steered",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- NoInfer: the scope comes from the holder
    stash(holder, dev);
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<(string|"x")>'/ -- a const type parameter infers "x" from the name
    named("x", dev);
    return {};
  },
});
