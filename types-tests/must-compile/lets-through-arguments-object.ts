// Not refused: the token taken out of a method probe's `arguments` object.
// `arguments` is an IArguments, whose elements the lib types as `any`, so
// `arguments[0]` is the token with its scope forgotten and parks in a
// variable of any scope. TypeScript's own `any`, from the lib (and only in a
// `function` or method, not an arrow). Caught at run time by the token's
// liveness check: used after unbind, ENXIO (Token.live in
// src/driver/binding.ts).
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice } from "boundscope";

let parked: BoundDevice<"x"> | undefined;

export const variadic = defineDriver({
  name: "variadic",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    parked = arguments[0];
    void dev;
    return {};
  },
});

export function afterUnbind(): void {
  if (parked !== undefined) allocCoherent(parked, 64); // ENXIO at run time
}
