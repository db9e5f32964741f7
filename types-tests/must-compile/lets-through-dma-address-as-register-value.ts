// Not refused: programming another binding's bus address into this binding's
// hardware: a DmaAddress<B> written to a register of A's mapping with
// write64, or into a descriptor in A's memory. A DmaAddress is a bigint
// underneath, and a register or a descriptor field holds any bigint (a
// length, a flag word), so write64 and defineStruct's u64 fields take a
// `bigint`, which every binding's address is. The library could add a
// `writeAddress(dev, offset, address: DmaAddress<Scope>)` to IoMapping for
// drivers that want the check, but write64 itself must keep taking plain
// values. Caught at run time by the IOMMU in strict mode: the device's DMA
// to an address not mapped for it is blocked and recorded as a fault
// (machine.iommu.faults; src/sim/iommu.ts). With the IOMMU in passthrough
// mode nothing catches it, as on real hardware.
import { defineStruct } from "boundscope";
import type { BoundDevice, CoherentAllocation, IoMapping } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u32" });

export function crossProgram<A, B>(devA: BoundDevice<A>, regsA: IoMapping<A>, ringA: CoherentAllocation<A>, bufB: CoherentAllocation<B>): void {
  regsA.write64(devA, 0x10, bufB.dmaHandle); // B's memory, programmed into A's device
  Desc.write(ringA.view(devA), 0, { addr: bufB.dmaHandle, len: bufB.size, flags: 1 });
}
