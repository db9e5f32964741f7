// Not refused: a token (or an allocation) thrown as a promise's rejection
// and caught by `.catch` or the second callback of `.then`. A rejection
// reason is `any` in the lib (`onrejected?: (reason: any) => …`,
// `Promise.reject(reason?: any)`), so the caught value passes for anything.
// TypeScript's own `any`, from the lib's typing of rejections; a `catch`
// clause's variable is `unknown` under strict and refused
// (must-not-compile/throw-token.ts). Caught at run time by the token's
// liveness check: used after unbind, ENXIO (Token.live in
// src/driver/binding.ts).
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

let parked: BoundDevice<"x"> | undefined;
let parkedRing: CoherentAllocation<"x"> | undefined;

export const rejected = defineDriver({
  name: "rejected",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    void Promise.reject(dev).catch((reason) => {
      parked = reason;
    });
    void Promise.reject(allocCoherent(dev, 64)).then(undefined, (reason) => {
      parkedRing = reason;
    });
    return {};
  },
});

export function afterUnbind(): void {
  if (parked !== undefined && parkedRing !== undefined) parkedRing.bytes(parked); // ENXIO at run time
}
