// Blocks: nothing that is wrong. A known false positive, kept so that a fix
// is noticed: a single mapping whose direction is known only at run time
// (a DataDirection variable) is a union of the three handles, so its
// dmaAddress is a union of three StreamingAddresses; the kernel-style calls
// infer one direction for the address, which is invariant in it, so no
// member fits, even with the handle's own `direction`, the mapped one. The
// same refusal keeps an address that may be either of two mappings from
// being unmapped with one literal direction (streaming-wrong-direction.ts),
// and the types do not tell the two apart: they do not tie a union member's
// `dmaAddress` to its `direction`. The handle's own `unmap` works, and so
// does narrowing on `direction` first; an sg table is one type, not a
// union, so its kernel-style calls take `table.direction` as is.
import { kmalloc, mapSg, mapSingle, syncSgForDevice, unmapSg, unmapSingle } from "boundscope";
import type { BoundDevice, DataDirection } from "boundscope";

export function mapAsAsked<Run>(dev: BoundDevice<Run>, direction: DataDirection): void {
  const mapping = mapSingle(dev, kmalloc(dev, 64), direction);
  // @expect-error TS2345 /Argument of type 'StreamingAddress<.*' is not assignable to parameter of type 'StreamingAddress<Run, ("to-device" \| "from-device" \| "bidirectional"|"bidirectional" \| "from-device" \| "to-device")>'/ -- the false positive: the mapping's own address and direction
  unmapSingle(dev, mapping.dmaAddress, mapping.size, mapping.direction);
  mapSingle(dev, kmalloc(dev, 64), direction).unmap(dev);
  const narrowed = mapSingle(dev, kmalloc(dev, 64), direction);
  if (narrowed.direction === "to-device") unmapSingle(dev, narrowed.dmaAddress, narrowed.size, "to-device");
  const table = mapSg(dev, kmalloc(dev, 4096), direction);
  syncSgForDevice(dev, table, table.entries, table.direction);
  unmapSg(dev, table, table.entries, table.direction);
}
