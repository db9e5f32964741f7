// Per-id driver data as drivers write it: defineDriver's probe reads the
// matched entry; a deviceTable's probe reads its typed data; an optional
// data type; a table typed ahead; nested remove(dev) keeps the binding's
// scope (the reason defineDriver is not a generic call).
import { allocCoherent, defineDriver, deviceTable } from "boundscope";
import type { DeviceId, DeviceTable, Driver, MatchedId } from "boundscope";

export const plain: Driver = defineDriver({
  name: "plain",
  ids: [{ vendor: 0x1af4, device: 0x1000 }, { vendor: 0x1af4, device: 0x1041, subvendor: 0x8086, class: 0x020000, classMask: 0xff0000 }],
  probe(dev, id) {
    const ring = allocCoherent(dev, id.device === 0x1041 ? 8192 : 4096);
    const none: undefined = id.data;
    void none;
    return { remove: (dev) => ring.bytes(dev).fill(0) };
  },
});

export const oneParameter = defineDriver({ name: "one", ids: [{ vendor: 1, device: 1 }], probe: (dev) => ({ remove: (d) => void d, dev: void dev }) });

const virtio = deviceTable([
  { vendor: 0x1af4, device: 0x1000, data: { modern: false, queues: 1 } },
  { vendor: 0x1af4, device: 0x1041, data: { modern: true, queues: 4 } },
]);
export const virtioNet: Driver = virtio.defineDriver({
  name: "virtio-net",
  probe(dev, id) {
    const queues: 1 | 4 = id.data.queues;
    const modern: boolean = id.data.modern;
    const rings = allocCoherent(dev, 4096 * queues);
    return {
      remove(dev) {
        rings.view(dev).setUint8(0, modern ? 1 : 0);
      },
    };
  },
});

interface Info {
  readonly name: string;
  readonly queues: number;
}
const entries: readonly DeviceId<Info>[] = [
  { vendor: 0x8086, device: 0x100e, data: { name: "82540EM", queues: 1 } },
  { vendor: 0x8086, device: 0x10d3, data: { name: "82574L", queues: 2 } },
];
const e1000: DeviceTable<Info> = deviceTable(entries);
export const e1000Driver = e1000.defineDriver({
  name: "e1000",
  // An annotated id parameter of the table's type, and an async probe.
  async probe(dev, id: MatchedId<Info>) {
    const ring = allocCoherent(dev, 256 * id.data.queues);
    await Promise.resolve();
    return { remove: (dev) => ring.bytes(dev).fill(0) };
  },
});

// Data only some entries carry: a type that admits undefined.
export const optional = deviceTable<{ readonly quirk: string } | undefined>([
  { vendor: 1, device: 1 },
  { vendor: 1, device: 2, data: { quirk: "no-msi" } },
]).defineDriver({
  name: "optional",
  probe(dev, id) {
    return { remove: (dev) => console.log(dev, id.data?.quirk ?? "none") };
  },
});

// A class-based driver state, generic in its scope, from a table's probe.
class Nic<Scope> {
  constructor(readonly queues: number) {}
  remove(dev: import("boundscope").ProbeDevice<Scope>): void {
    void dev;
  }
}
export const classy = virtio.defineDriver({ name: "classy", probe: (dev, id) => (void dev, new Nic(id.data.queues)) });
