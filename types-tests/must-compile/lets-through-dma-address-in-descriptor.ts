// Not refused: another binding's bus address written into a descriptor in
// this binding's memory. A descriptor struct reads and writes a DataView, which
// carries no scope, and its u64 fields hold any bigint, so `Desc.write` takes
// a `DmaAddress<B>` in A's ring. (A register is typed: `write64` takes a
// `RegisterValue<Scope>`, which refuses another scope's address:
// must-not-compile/dma-address-into-register.ts.) A scoped view (a
// `StructView<Scope>` from `alloc.view(dev)`) could carry the check to
// descriptors; it is not built. Caught at run time by the checker when the
// device uses the address: `dma-outside-mapping` under passthrough
// (test/lets-through.test.ts); under a strict IOMMU the number may be a valid
// address of the device's own, and nothing catches it.
import { defineStruct } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u32" });

export function crossProgram<A, B>(devA: BoundDevice<A>, ringA: CoherentAllocation<A>, bufB: CoherentAllocation<B>): void {
  Desc.write(ringA.view(devA), 0, { addr: bufB.dmaHandle, len: bufB.size, flags: 1 });
}
