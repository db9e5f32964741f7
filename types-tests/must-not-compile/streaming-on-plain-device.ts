// Blocks: kernel memory, streaming mappings, sg tables and DMA pools for a
// device no driver is bound to. A plain Device (from plug) grants nothing.
import { createDmaPool, kmalloc, mapSg, mapSingle, Machine, vmalloc } from "boundscope";
import type { BoundDevice, KernelBuffer } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- kmalloc for a plain Device
kmalloc(dev, 64);
vmalloc(dev, 4096);
createDmaPool(dev, "desc", 16);

export function withBuffer<Plain>(bound: BoundDevice<Plain>, buffer: KernelBuffer): void {
  mapSingle(dev, buffer, "to-device");
  mapSg(dev, buffer, "to-device");
  mapSingle(bound, buffer, "to-device").unmap(dev);
}
