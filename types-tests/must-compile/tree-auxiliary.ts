// The auxiliary bus as a driver author writes it: one shared key, a parent
// that offers plain data and call-through ops written in its own scope, and
// a child driver whose probe, remove and tasks reach them with their token.
import { addAuxiliaryDevice, allocCoherent, auxiliaryType, defineAuxiliaryDriver, defineDriver, spawn } from "boundscope";
import type { AuxiliaryDevice, CoherentAllocation, Device, ParentData, ParentOps, ProbeDevice, SleepableDevice } from "boundscope";

// The handle a parent keeps, in a helper generic in its scope.
export function removeEarly<Scope>(dev: ProbeDevice<Scope>, aux: AuxiliaryDevice<Scope>): Promise<void> {
  return aux.remove(dev);
}

type Rdma = { readonly mtu: number };
type RdmaOps = { post(words: number): number; flush(): Promise<void> };
export const NIC_RDMA = auxiliaryType<Rdma, RdmaOps>("nic.rdma");

// The parent's ops are written in its scope, over its resources.
function opsOf<Scope>(ring: CoherentAllocation<Scope>): ParentOps<Scope, RdmaOps> {
  return {
    post: (dev, words) => {
      ring.view(dev).setUint32(0, words, true);
      return words;
    },
    flush: async (dev: SleepableDevice<Scope>) => void ring.bytes(dev).fill(0),
  };
}

export const nic = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const ring = allocCoherent(dev, 4096);
    const aux = addAuxiliaryDevice(dev, NIC_RDMA, { id: 0, data: { mtu: 1500 }, ops: opsOf(ring) });
    const plain: Device = aux.device;
    void plain;
    return { remove: (dev) => aux.remove(dev) };
  },
});

// A key with no ops needs none.
const STATS = auxiliaryType<{ queues: number }>("nic.stats");
export const withStats = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x1af4, device: 0x1001 }],
  probe(dev) {
    addAuxiliaryDevice(dev, STATS, { id: 1, data: { queues: 4 } });
    return {};
  },
});

export const rdma = defineAuxiliaryDriver(NIC_RDMA)({
  name: "rdma",
  async probe(dev, parent) {
    const mtu: number = parent.access(dev).mtu;
    const posted: number = await parent.call(dev, "post", mtu / 4);
    void posted;
    spawn(dev, async (task, signal) => {
      while (!signal.aborted) await parent.call(task, "flush");
    });
    return {
      async remove(dev) {
        await parent.call(dev, "flush");
        void parent.access(dev).mtu;
      },
    };
  },
});

// A helper generic in the child's scope takes the parent data with it.
export async function postAll<Scope>(dev: SleepableDevice<Scope>, parent: ParentData<Scope, Rdma, RdmaOps>, words: readonly number[]): Promise<number> {
  let total = 0;
  for (const n of words) total += await parent.call(dev, "post", n);
  return total;
}
