// Blocks: creator and driver disagreeing on the shared data's type: the
// creator's data or ops not of the key's type, the driver reading it as
// another type, a key of one type passed where another is declared, and a
// token of another binding parked in the parent's ops.
import { addAuxiliaryDevice, auxiliaryType, defineAuxiliaryDriver, defineDriver } from "boundscope";
import type { AuxiliaryType } from "boundscope";

type Rdma = { readonly mtu: number };
type RdmaOps = { post(words: number): number };
const NIC_RDMA = auxiliaryType<Rdma, RdmaOps>("nic.rdma");

export const creator = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'string' is not assignable to type 'number'/ -- data of another type than the key's
    addAuxiliaryDevice(dev, NIC_RDMA, { id: 0, data: { mtu: "1500" }, ops: { post: (_d, n) => n } });
    // @expect-error TS2322 /Type 'string' is not assignable to type 'number \| Promise<number>'/ -- an op returning another type
    addAuxiliaryDevice(dev, NIC_RDMA, { id: 1, data: { mtu: 1500 }, ops: { post: () => "posted" } });
    // @expect-error TS2345 /Property 'ops' is missing/ -- the ops the key declares left out
    addAuxiliaryDevice(dev, NIC_RDMA, { id: 2, data: { mtu: 1500 } });
    return {};
  },
});

export const reader = defineAuxiliaryDriver(NIC_RDMA)({
  name: "rdma",
  probe(dev, parent) {
    // @expect-error TS2322 /Type 'number' is not assignable to type 'string'/ -- the driver reading the data as another type
    const mtu: string = parent.access(dev).mtu;
    void mtu;
    return {};
  },
});

// @expect-error TS2322 /Type 'AuxiliaryTypeShape<Rdma, RdmaOps>' is not assignable to type 'AuxiliaryTypeShape<\{ mtu: string; \}, RdmaOps>'|not assignable/ -- a key of one data type declared as another
const wrongKey: AuxiliaryType<{ mtu: string }, RdmaOps> = NIC_RDMA;
void wrongKey;
