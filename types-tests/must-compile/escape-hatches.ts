// The explicit opt-outs compile: `any` as the scope and casts. The types stop
// here on purpose; the run time guards what passes (a token used after its
// binding ended is ENXIO, a forged one EPERM). Kept to mark the boundary.
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

let parked: BoundDevice<any> | undefined;
let parkedBuf: CoherentAllocation<any> | undefined;

export const optOut = defineDriver({
  name: "opt-out",
  ids: [{ vendor: 1, device: 2 }],
  probe(dev) {
    parked = dev;
    parkedBuf = allocCoherent(dev, 64);
    return {};
  },
});

export function later(): void {
  if (parked !== undefined && parkedBuf !== undefined) {
    parkedBuf.bytes(parked);
    allocCoherent(parked as BoundDevice<"cast">, 64);
  }
}
