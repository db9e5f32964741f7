// Not refused: a token parked in a Map or WeakMap made without type
// arguments. `new Map()` is a Map<any, any> and `new WeakMap()` a
// WeakMap<WeakKey, any> (the lib's defaults), so what comes out is `any` and
// passes for a token of any scope. TypeScript's own `any`, from the lib's
// default type arguments; a typed collection is refused
// (must-not-compile/keyed-storage.ts). Caught at run time by the token's
// liveness check: used after unbind, ENXIO (Token.live in
// src/driver/binding.ts).
import { allocCoherent, defineDriver } from "boundscope";

const tokens = new Map();
const byDriver = new WeakMap();

export const stored = defineDriver({
  name: "stored",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    tokens.set(dev.name, dev);
    byDriver.set(stored, allocCoherent(dev, 64));
    return {};
  },
});

export function afterUnbind(name: string): void {
  allocCoherent(tokens.get(name), 64); // ENXIO at run time
  byDriver.get(stored).bytes(tokens.get(name)); // ENXIO at run time
}
