// Blocks: mapSingle of a vmalloc buffer, which is not physically contiguous
// (dma-debug: "device driver maps memory from vmalloc area"). vmalloc gives a
// KernelBuffer<"vmalloc">, and mapSingle takes only a KernelBuffer<"kmalloc">;
// a buffer of either kind (KernelBuffer) is refused too. Map it with mapSg,
// one entry per page. (At run time, after a cast: EINVAL, nothing mapped.)
import { kmalloc, mapSg, mapSingle, vmalloc } from "boundscope";
import type { BoundDevice, KernelBuffer } from "boundscope";

export function contiguous<Scope>(dev: BoundDevice<Scope>, either: KernelBuffer): void {
  const big = vmalloc(dev, 4 * 4096);
  // @expect-error TS2345 /KernelBuffer<"vmalloc">' is not assignable to parameter of type 'KernelBuffer<"kmalloc">/ -- a vmalloc buffer
  mapSingle(dev, big, "to-device");
  // @expect-error TS2345 /Argument of type 'KernelBuffer' is not assignable to parameter of type 'KernelBuffer<"kmalloc">'/ -- a buffer that may be either
  mapSingle(dev, either, "to-device");
  mapSg(dev, big, "to-device").unmap(dev);
  mapSingle(dev, kmalloc(dev, 64), "to-device").unmap(dev);
}
