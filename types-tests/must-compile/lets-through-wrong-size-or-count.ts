// Not refused: a kernel-style unmap or sync whose size, offset or entry
// count is not the mapping's: unmapSingle with another size, a sync past
// the end, unmapSg with the number of segments rather than the entries
// mapped. A size is a `number`, and the types do not carry a mapping's size
// (it is known only at run time). Caught at run time by the checker:
// wrong-size (the mapping is unmapped all the same, as the kernel does),
// sync-outside-mapping and EINVAL, wrong-sg-count (test/streaming.test.ts
// "unmapSingle with a wrong size is reported and still unmaps", "a sync
// outside the mapping is EINVAL and reported").
import { kmalloc, mapSg, mapSingle, syncSgForCpu, syncSingleForCpu, unmapSg, unmapSingle } from "boundscope";
import type { BoundDevice } from "boundscope";

export function sizes<Scope>(dev: BoundDevice<Scope>): void {
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  syncSingleForCpu(dev, rx.dmaAddress, 64, "from-device", 1536); // sync-outside-mapping
  unmapSingle(dev, rx.dmaAddress, 2048, "from-device"); // wrong-size
  const table = mapSg(dev, [kmalloc(dev, 4096), kmalloc(dev, 4096)], "from-device");
  syncSgForCpu(dev, table, table.segments.length, "from-device"); // wrong-sg-count where the IOMMU merged
  unmapSg(dev, table, 3, "from-device"); // wrong-sg-count
}
