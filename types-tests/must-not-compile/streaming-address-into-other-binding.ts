// Blocks: programming another binding's streaming, sg or pool bus address
// into this binding's device, through a 64-bit register or a descriptor in
// this binding's coherent memory or pool block. Every kind of DmaAddress
// carries its binding's scope, so RegisterValue<A> refuses B's, as it does a
// coherent one (dma-address-into-register.ts, dma-address-into-descriptor.ts).
import { defineStruct } from "boundscope";
import type { BoundDevice, CoherentAllocation, DeviceOwnedToDevice, IoMapping, PoolBlock, SgTable } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u32" });

export function crossProgram<A, B>(
  devA: BoundDevice<A>,
  regsA: IoMapping<A>,
  ringA: CoherentAllocation<A>,
  descA: PoolBlock<A>,
  txB: DeviceOwnedToDevice<B>,
  tableB: SgTable<B, "from-device">,
  blockB: PoolBlock<B>,
): void {
  // @expect-error TS2345 /Argument of type 'StreamingAddress<B, "to-device">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's streaming address programmed into A's device
  regsA.write64(devA, 0x10, txB.dmaAddress);
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "sg">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's sg segment programmed into A's device
  regsA.write64(devA, 0x18, tableB.segments[0]!.dmaAddress);
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "pool">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's pool block programmed into A's device
  regsA.write64(devA, 0x20, blockB.dmaHandle);
  // @expect-error TS2322 /Type 'StreamingAddress<B, "to-device">' is not assignable to type 'RegisterValue<A>/ -- B's streaming address in A's coherent descriptor
  Desc.write(ringA.view(devA), 0, { addr: txB.dmaAddress, len: txB.size, flags: 1 });
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "pool">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's pool block in A's coherent descriptor
  Desc.set(ringA.view(devA), 1, "addr", blockB.dmaHandle);
  // @expect-error TS2322 /Type 'DmaAddress<B, "sg">' is not assignable to type 'RegisterValue<A>/ -- B's sg segment in a descriptor in A's pool block
  Desc.write(descA.view(devA), 0, { addr: tableB.segments[0]!.dmaAddress, len: 64, flags: 0 });
  // @expect-error TS2345 /Argument of type 'StreamingAddress<B, "to-device">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's streaming address in A's pool block, by set
  Desc.set(descA.view(devA), 0, "addr", txB.dmaAddress);
}
