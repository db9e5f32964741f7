// Blocks: writing another binding's bus address into a descriptor in this
// binding's memory. `allocation.view(dev)` is a ScopedView<Scope>, and a
// struct written through it takes a RegisterValue<Scope> in its 64-bit
// fields: any plain bigint, or this binding's address, but not another's.
// (Through a plain DataView, a device model's, any bigint still fits.)
import { defineStruct } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u32" });

export function crossProgram<A, B>(devA: BoundDevice<A>, ringA: CoherentAllocation<A>, bufB: CoherentAllocation<B>): void {
  Desc.write(ringA.view(devA), 0, { addr: ringA.dmaHandle, len: 64, flags: 1 });
  Desc.set(ringA.view(devA), 1, "addr", 0x1000n);
  Desc.write(new DataView(new ArrayBuffer(Desc.size)), 0, { addr: bufB.dmaHandle });
  // @expect-error TS2322 /Type 'DmaAddress<B, "coherent">' is not assignable to type 'RegisterValue<A>/ -- B's memory in A's descriptor, by write
  Desc.write(ringA.view(devA), 0, { addr: bufB.dmaHandle, len: bufB.size, flags: 1 });
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "coherent">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's memory in A's descriptor, by set
  Desc.set(ringA.view(devA), 0, "addr", bufB.dmaHandle);
}
