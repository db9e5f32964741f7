// Not refused: mapSingle of a vmalloc buffer, which is not physically
// contiguous (dma-debug: "device driver maps memory from vmalloc area").
// kmalloc and vmalloc both return a KernelBuffer, whose `allocator` is the
// union "kmalloc" | "vmalloc", and mapSingle takes any KernelBuffer; refusing
// it would take a KernelBuffer typed by its allocator (in
// src/driver/kmalloc.ts). Caught at run time: mapSingle of a vmalloc buffer
// is EINVAL and maps nothing (src/driver/streaming.ts mapSingle); map it
// with mapSg, one entry per page.
import { mapSingle, vmalloc } from "boundscope";
import type { BoundDevice } from "boundscope";

export function contiguous<Scope>(dev: BoundDevice<Scope>): void {
  const big = vmalloc(dev, 4 * 4096);
  mapSingle(dev, big, "to-device").unmap(dev); // EINVAL
}
