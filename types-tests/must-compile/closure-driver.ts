// A driver that keeps its binding's state in the closure of probe().
import { allocCoherent, defineDriver } from "boundscope";

export const blk = defineDriver({
  name: "blk",
  ids: [
    { vendor: 0x1af4, device: 0x1001 },
    { vendor: 0x1af4, device: 0x1042 },
  ],
  probe(dev) {
    const ring = allocCoherent(dev, 4096);
    const status = allocCoherent(dev, 64);
    ring.view(dev).setUint16(0, 0x8000, true);
    return {
      remove(dev) {
        status.bytes(dev)[0] = 0xff;
        ring.free();
      },
    };
  },
});

// An arrow probe, and a driver with nothing to do on remove.
export const stub = defineDriver({
  name: "stub",
  ids: [{ vendor: 0x1234, device: 0x0001 }],
  probe: (dev) => {
    allocCoherent(dev, 128);
    return {};
  },
});

// remove() as an arrow property, taking the scope from the returned type.
export const arrowRemove = defineDriver({
  name: "arrow-remove",
  ids: [{ vendor: 0x1234, device: 0x0002 }],
  probe(dev) {
    const buf = allocCoherent(dev, 64);
    return { remove: (d) => void buf.bytes(d) };
  },
});
