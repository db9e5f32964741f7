// Blocks: nothing that is wrong. A known false positive, kept so that a fix
// is noticed: a helper generic in the direction, over DeviceOwned<S, D>.
// DeviceOwned is a conditional type, which stays unresolved while D is a
// type parameter, and TypeScript reads its members off the union of its
// three branches. So `unmap`, `size`, `state`, `bounced` and, with D
// limited to from-device and bidirectional, `syncForCpu` work
// (must-compile/streaming-generic-helpers.ts); but the handle is not a
// StreamingMapping<S, D>, its dmaAddress not a StreamingAddress<S, D>, its
// direction not a D, syncForCpu gives a union rather than a CpuOwned<S, D>,
// and the kernel-style calls refuse the union address as in
// false-positive-runtime-direction.ts. A helper that takes a
// StreamingMapping<S, D>, called with a concrete handle, has all of these.
import { syncSingleForCpu, unmapSingle } from "boundscope";
import type { BoundDevice, CpuOwned, DataDirection, DeviceOwned, StreamingAddress, StreamingMapping } from "boundscope";

export function addressOf<S, D extends DataDirection>(mapping: DeviceOwned<S, D>): StreamingAddress<S, D> {
  // @expect-error TS2322 /Type 'StreamingAddress<.*' is not assignable to type 'StreamingAddress<S, D>'/ -- the false positive: the handle's address is not typed by D
  return mapping.dmaAddress;
}

export function directionOf<S, D extends DataDirection>(mapping: DeviceOwned<S, D>): D {
  // @expect-error TS2322 /Type '"(to-device|bidirectional)" \| "from-device" \| "(bidirectional|to-device)"' is not assignable to type 'D'/ -- nor its direction
  return mapping.direction;
}

export function common<S, D extends DataDirection>(mapping: DeviceOwned<S, D>): StreamingMapping<S, D> {
  // @expect-error TS2322 /Type 'DeviceOwned(ToDevice|Bidirectional)<S> \| DeviceOwnedFromDevice<S> \| DeviceOwned(Bidirectional|ToDevice)<S>' is not assignable to type 'StreamingMapping<S, D>'/ -- nor is the handle the mapping's common type
  return mapping;
}

export function release<S, D extends DataDirection>(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): void {
  // @expect-error TS2345 /Argument of type 'StreamingAddress<.*' is not assignable to parameter of type 'StreamingAddress<S, ("to-device" \| "from-device" \| "bidirectional"|"bidirectional" \| "from-device" \| "to-device")>'/ -- so the kernel-style unmap refuses its own address and direction
  unmapSingle(dev, mapping.dmaAddress, mapping.size, mapping.direction);
}

export function take<S, D extends "from-device" | "bidirectional">(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): CpuOwned<S, D> {
  // @expect-error TS2322 /Type 'CpuOwned(FromDevice|Bidirectional)<S> \| CpuOwned(Bidirectional|FromDevice)<S>' is not assignable to type 'CpuOwned<S, D>'/ -- the sync for the CPU gives a union, not the CPU-owned state of D
  return mapping.syncForCpu(dev);
}

export function takeByAddress<S, D extends "from-device" | "bidirectional">(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): void {
  // @expect-error TS2345 /Argument of type 'StreamingAddress<.*' is not assignable to parameter of type 'StreamingAddress<S, ("from-device" \| "bidirectional"|"bidirectional" \| "from-device")>'/ -- and the kernel-style sync its own address
  syncSingleForCpu(dev, mapping.dmaAddress, mapping.size, mapping.direction);
}
