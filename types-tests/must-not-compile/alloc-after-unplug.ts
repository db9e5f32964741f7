// Blocks: allocating for a zombie. After unplug the Device reference from
// plug is all that is left, and it never was a token.
import { allocCoherent, defineDriver, Machine } from "boundscope";

const machine = new Machine();
await machine.pci.register(defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe: () => ({}) }));
const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
await machine.settled();
await machine.pci.unplug(dev);

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- the unplugged device's reference
const late = allocCoherent(dev, 4096);
void late;
