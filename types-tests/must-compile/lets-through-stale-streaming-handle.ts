// Not refused: a handle or a bus address kept after the mapping moved on. A
// sync returns the mapping's next handle, and the one it was called on is
// stale, but no type can forget a variable: the old device-owned handle
// still has syncForCpu, the old CPU-owned one bytes(), an unmapped one
// unmap(), and an address unmapSingle(). The same for sg tables. Caught at
// run time: every call on a stale handle is EINVAL (Handle's and SgHandle's
// #check in src/driver/streaming.ts and scatterlist.ts; test/streaming.test.ts
// "a stale handle is EINVAL"), and a kernel-style call on an address no
// longer mapped is EINVAL and reported (double-free, sync-unmapped).
import { kmalloc, mapSg, mapSingle, syncSingleForCpu, unmapSingle } from "boundscope";
import type { BoundDevice } from "boundscope";

export function stale<Scope>(dev: BoundDevice<Scope>): void {
  const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
  const cpu = rx.syncForCpu(dev);
  rx.syncForCpu(dev); // EINVAL: rx is stale
  const back = cpu.syncForDevice(dev);
  cpu.bytes(dev); // EINVAL: cpu is stale
  syncSingleForCpu(dev, back.dmaAddress, back.size, "from-device");
  back.unmap(dev); // EINVAL: the kernel-style sync moved the mapping on
  unmapSingle(dev, back.dmaAddress, back.size, "from-device");
  unmapSingle(dev, back.dmaAddress, back.size, "from-device"); // EINVAL, double-free
  back.unmap(dev); // EINVAL: unmapped
  const table = mapSg(dev, [kmalloc(dev, 64), kmalloc(dev, 64)], "from-device");
  const cpuTable = table.syncForCpu(dev);
  table.syncForCpu(dev); // EINVAL: table is stale
  cpuTable.unmap(dev);
  cpuTable.unmap(dev); // EINVAL: unmapped
}
