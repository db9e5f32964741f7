// `using` frees an allocation at the end of its block (Symbol.dispose).
import { allocCoherent, defineDriver } from "boundscope";
import type { BoundDevice } from "boundscope";

function checksum<Scope>(dev: BoundDevice<Scope>, data: Uint8Array): number {
  using bounce = allocCoherent(dev, data.length);
  bounce.bytes(dev).set(data);
  return bounce.bytes(dev).reduce((sum, b) => (sum + b) & 0xff, 0);
}

export const crypto = defineDriver({
  name: "crypto",
  ids: [{ vendor: 0x8086, device: 0x37c8 }],
  probe(dev) {
    using setup = allocCoherent(dev, 256);
    setup.view(dev).setUint32(0, checksum(dev, new Uint8Array([1, 2, 3])), true);
    return {
      remove(dev) {
        using scratch = allocCoherent(dev, 64);
        scratch.bytes(dev).fill(0);
      },
    };
  },
});
