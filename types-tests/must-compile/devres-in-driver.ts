// Devres in a driver: access() with the binding's token in remove(), and
// tryAccess() anywhere, including code that outlives the binding and never
// sees a token.
import { allocCoherent, defineDriver, Devres, Revocable } from "boundscope";

interface Stats {
  packets: number;
}

// Readers that outlive every binding: they hold no token, only closures that
// go through tryAccess() and get undefined once the binding is gone.
export const statsReaders: Array<() => number | undefined> = [];

export const counter = defineDriver({
  name: "counter",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const initial: Stats = { packets: 0 };
    const stats = Devres.new(dev, initial, (s) => {
      console.log("final count", s.packets);
    });
    const mmio = Devres.new(dev, new Revocable({ base: 0xfe00_0000 }));
    const ring = Devres.new(dev, allocCoherent(dev, 4096));

    stats.access(dev).packets++;
    statsReaders.push(() => stats.tryAccess()?.packets);

    return {
      async remove(dev) {
        stats.access(dev).packets += 1;
        ring.access(dev).bytes(dev).fill(0);
        const base: number | undefined = mmio.access(dev).tryAccess()?.base;
        void base;
        const seen: number | undefined = await stats.tryAccessWith((s) => s.packets);
        void seen;
        if (!mmio.revoked) await mmio.release();
      },
    };
  },
});

// Revocable on its own, no binding involved.
const reg = new Revocable({ base: 0x1000 });
const base: number | undefined = reg.tryAccess()?.base;
const first: Promise<boolean> = reg.revoke();
const revoked: boolean = reg.revoked;
void base;
void first;
void revoked;
