// Blocks: reaching a parent's shared data with the wrong token or after the
// child's scope: the parent's own token, another binding's token, a plain
// Device, ParentData smuggled out of probe to an outer variable or a
// concrete scope, and an op or argument the key does not declare.
import { auxiliaryType, defineAuxiliaryDriver, defineDriver } from "boundscope";
import type { BoundDevice, Device, ParentData, ProbeDevice } from "boundscope";

type Rdma = { readonly mtu: number };
type RdmaOps = { post(words: number): number };
const NIC_RDMA = auxiliaryType<Rdma, RdmaOps>("nic.rdma");

let parentToken: ProbeDevice<"parent"> | undefined;
let kept: ParentData<unknown, Rdma, RdmaOps> | undefined;
declare const plain: Device;
declare const other: BoundDevice<"other binding">;

export const parent = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    // @expect-error TS2322 /Type 'ProbeDevice<Scope>' is not assignable to type 'ProbeDevice<"parent">'/ -- the parent's token parked for the child
    parentToken = dev;
    return {};
  },
});

export const child = defineAuxiliaryDriver(NIC_RDMA)({
  name: "rdma",
  probe(dev, data) {
    // @expect-error TS2345 /Argument of type 'ProbeDevice<"parent">' is not assignable to parameter of type 'BoundDevice<Scope>'/ -- the parent's token
    data.access(parentToken!);
    // @expect-error TS2345 /Argument of type 'BoundDevice<"other binding">' is not assignable to parameter of type 'BoundDevice<Scope>'/ -- another binding's token
    data.access(other);
    // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<Scope>': #private, \[tokenOfOneBindingOnly\]/ -- a plain Device (TypeScript 7 reports the missing properties as TS2739)
    data.access(plain);
    // @expect-error TS2322 /Type 'ParentData<Scope, Rdma, RdmaOps>' is not assignable to type 'ParentData<unknown, Rdma, RdmaOps>'/ -- ParentData smuggled out to an outer variable
    kept = data;
    // @expect-error TS2345 /Argument of type '"reset"' is not assignable to parameter of type '"post"'/ -- an op the key does not declare
    void data.call(dev, "reset", 1);
    // @expect-error TS2345 /Argument of type 'string' is not assignable to parameter of type 'number'/ -- an argument of the wrong type
    void data.call(dev, "post", "four");
    return {};
  },
});

void kept;
