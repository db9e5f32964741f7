// Blocks: Devres.new on a plain Device, registering a resource with a device
// no driver is bound to.
import { Devres, Machine } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- Devres.new with a plain Device
const res = Devres.new(dev, { count: 0 });
void res;
