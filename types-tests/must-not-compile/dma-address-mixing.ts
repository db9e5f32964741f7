// Blocks: mixing bus addresses of two bindings: freeing B's address with A's
// token, a conditional address typed as A's, an address array of one scope
// filled from another, and an address passed off as another scope's by a
// generic helper. (Writing another binding's address into a register or a
// descriptor compiles, since registers hold any bigint: see
// must-compile/lets-through-dma-address-as-register-value.ts.)
import { freeCoherent } from "boundscope";
import type { BoundDevice, CoherentAllocation, DmaAddress } from "boundscope";

export function mixed<A, B>(devA: BoundDevice<A>, bufA: CoherentAllocation<A>, bufB: CoherentAllocation<B>, cond: boolean): void {
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "coherent">' is not assignable to parameter of type 'DmaAddress<A, "coherent">'/ -- B's address freed with A's token
  freeCoherent(devA, bufB.dmaHandle);
  // @expect-error TS2322 /Type 'DmaAddress<B, "coherent"> \| DmaAddress<A, "coherent">' is not assignable to type 'DmaAddress<A>'|Type 'DmaAddress<A, "coherent"> \| DmaAddress<B, "coherent">' is not assignable to type 'DmaAddress<A>'/ -- either binding's address typed as A's
  const either: DmaAddress<A> = cond ? bufA.dmaHandle : bufB.dmaHandle;
  const addresses: DmaAddress<A>[] = [bufA.dmaHandle];
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "coherent">' is not assignable to parameter of type 'DmaAddress<A>'/ -- B's address into A's list
  addresses.push(bufB.dmaHandle);
  void either;
}

export function relabel<A, B>(address: DmaAddress<A>): DmaAddress<B> {
  // @expect-error TS2322 /Type 'DmaAddress<A>' is not assignable to type 'DmaAddress<B>'/ -- an address passed off as another scope's
  return address;
}
