// Blocks: allocating DMA memory for a device no driver is bound to. A plain
// Device reference (from plug, or the bus's device list) grants nothing.
import { allocCoherent, Machine } from "boundscope";
import type { Device } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- the Device from plug is not a token
allocCoherent(dev, 4096);

const listed: Device | undefined = machine.pci.devices[0];
if (listed !== undefined) {
  // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- nor is one from the bus's device list
  allocCoherent(listed, 64);
}

function helper(d: Device): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a helper that takes a plain Device
  allocCoherent(d, 64);
}
helper(dev);
