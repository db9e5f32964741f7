// Blocks: programming another binding's bus address into this binding's
// device through a 64-bit register. write64 takes a RegisterValue<Scope>: any
// plain bigint, or this binding's DmaAddress, but not another's.
import type { BoundDevice, CoherentAllocation, IoMapping } from "boundscope";

export function crossProgram<A, B>(devA: BoundDevice<A>, regsA: IoMapping<A>, ringA: CoherentAllocation<A>, bufB: CoherentAllocation<B>): void {
  regsA.write64(devA, 0x08, ringA.dmaHandle);
  regsA.write64(devA, 0x18, 0x1000n + BigInt(ringA.size));
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "coherent">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's memory programmed into A's device
  regsA.write64(devA, 0x10, bufB.dmaHandle);
}
