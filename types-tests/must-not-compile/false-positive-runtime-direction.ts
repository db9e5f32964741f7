// Blocks: nothing wrong. A mapping whose direction is known only at run time
// (a DataDirection variable) is a union of the three handles, so its
// dmaAddress is a union of three StreamingAddresses; the kernel-style calls
// infer one direction for the address, which is invariant in it, so none of
// the three fits, even with the handle's own `direction`, which is the
// mapped one. The same refusal keeps an address that may be either of two
// mappings from being unmapped with one literal direction
// (streaming-wrong-direction.ts), and the types cannot tell the two apart:
// they do not correlate `dmaAddress` and `direction` of one union member.
// The handle's own calls work (`unmap`, below), and so does narrowing on
// `direction` first.
import { kmalloc, mapSg, mapSingle, syncSgForDevice, unmapSg, unmapSingle } from "boundscope";
import type { BoundDevice, DataDirection } from "boundscope";

export function mapAsAsked<Run>(dev: BoundDevice<Run>, direction: DataDirection): void {
  const mapping = mapSingle(dev, kmalloc(dev, 64), direction);
  unmapSingle(dev, mapping.dmaAddress, mapping.size, mapping.direction);
  mapSingle(dev, kmalloc(dev, 64), direction).unmap(dev);
  const narrowed = mapSingle(dev, kmalloc(dev, 64), direction);
  if (narrowed.direction === "to-device") unmapSingle(dev, narrowed.dmaAddress, narrowed.size, "to-device");
  const table = mapSg(dev, kmalloc(dev, 4096), direction);
  syncSgForDevice(dev, table, table.entries, table.direction);
  unmapSg(dev, table, table.entries, table.direction);
}
