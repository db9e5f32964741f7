// Blocks: nothing wrong. A helper generic in the direction, over
// DeviceOwned<S, D>: DeviceOwned is a conditional type, which stays unresolved
// while D is a type parameter, and TypeScript reads its members off the
// union of its three branches. So `unmap`, `size`, `state` and `bounced` work
// (must-compile/streaming-generic-helpers.ts), but the handle is not a
// StreamingMapping<S, D>, its dmaAddress not a StreamingAddress<S, D>, its
// direction not a D, and syncForCpu gives a union, not a CpuOwned<S, D>.
// The kernel-style calls then refuse the union address as in
// false-positive-runtime-direction.ts. A helper that takes a
// StreamingMapping<S, D> instead, and is called with a concrete handle, has
// all of these.
import { syncSingleForCpu, unmapSingle } from "boundscope";
import type { BoundDevice, CpuOwned, DataDirection, DeviceOwned, StreamingAddress, StreamingMapping } from "boundscope";

export function addressOf<S, D extends DataDirection>(mapping: DeviceOwned<S, D>): StreamingAddress<S, D> {
  return mapping.dmaAddress;
}

export function directionOf<S, D extends DataDirection>(mapping: DeviceOwned<S, D>): D {
  return mapping.direction;
}

export function common<S, D extends DataDirection>(mapping: DeviceOwned<S, D>): StreamingMapping<S, D> {
  return mapping;
}

export function release<S, D extends DataDirection>(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): void {
  unmapSingle(dev, mapping.dmaAddress, mapping.size, mapping.direction);
}

export function take<S, D extends "from-device" | "bidirectional">(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): CpuOwned<S, D> {
  return mapping.syncForCpu(dev);
}

export function takeByAddress<S, D extends "from-device" | "bidirectional">(dev: BoundDevice<S>, mapping: DeviceOwned<S, D>): void {
  syncSingleForCpu(dev, mapping.dmaAddress, mapping.size, mapping.direction);
}
