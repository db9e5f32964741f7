// Blocks: kernel memory, streaming mappings, sg tables and DMA pools for a
// device no driver is bound to. A plain Device (from plug) grants nothing.
import { createDmaPool, kmalloc, mapSg, mapSingle, Machine, vmalloc } from "boundscope";
import type { BoundDevice, KernelBuffer } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- kmalloc for a plain Device
kmalloc(dev, 64);
// @expect-error TS2345 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'NotAtomicDevice<unknown>'/ -- vmalloc for a plain Device (it takes a NotAtomicDevice, an intersection: TypeScript 7 reports TS2345 too)
vmalloc(dev, 4096);
// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])|Argument of type 'Device' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- a DMA pool for a plain Device
createDmaPool(dev, "desc", 16);

export function withBuffer<Plain>(bound: BoundDevice<Plain>, buffer: KernelBuffer<"kmalloc">): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a streaming mapping for a plain Device
  mapSingle(dev, buffer, "to-device");
  // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- an sg table for a plain Device
  mapSg(dev, buffer, "to-device");
  // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<Plain>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<Plain>'/ -- a binding's mapping unmapped with a plain Device
  mapSingle(bound, buffer, "to-device").unmap(dev);
}
