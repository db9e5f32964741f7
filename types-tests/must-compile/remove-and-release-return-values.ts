// remove() and release callbacks are typed as returning void, so a callback
// that happens to return something fits, as TypeScript lets any function fill
// a void-returning slot: an arrow remove whose body is an expression (fill()
// returns the array), a method remove returning a count, an async remove
// resolving to a value, and release callbacks returning a boolean, a number
// or a promise of one.
import { allocCoherent, defineDriver, Devres } from "boundscope";

const live = new Set<string>();

export const arrowExpression = defineDriver({
  name: "arrow-expression",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const ring = allocCoherent(dev, 4096);
    live.add(dev.name);
    Devres.new(dev, dev.name, (name) => live.delete(name));
    return { remove: (d) => ring.bytes(d).fill(0) };
  },
});

export const methodValue = defineDriver({
  name: "method-value",
  ids: [{ vendor: 0x1af4, device: 0x1001 }],
  probe(dev) {
    const ring = allocCoherent(dev, 64);
    const stats = Devres.new(dev, { packets: 0 }, (s) => s.packets);
    return {
      remove(d) {
        stats.access(d).packets++;
        return ring.view(d).getUint32(0, true);
      },
    };
  },
});

export const asyncValue = defineDriver({
  name: "async-value",
  ids: [{ vendor: 0x1af4, device: 0x1002 }],
  probe: async (dev) => {
    const ring = allocCoherent(dev, 64);
    const pending = new Map<number, string>([[1, "tx"]]);
    Devres.new(dev, pending, async (p) => {
      await Promise.resolve();
      return p.delete(1);
    });
    return {
      async remove(d) {
        await Promise.resolve();
        return ring.bytes(d).byteLength;
      },
    };
  },
});
