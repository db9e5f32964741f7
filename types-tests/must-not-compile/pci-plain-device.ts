// Blocks: config space access through a plain Device (what the bus hands
// out, valid in no binding's scope) instead of a bound token.
import { Machine, pciFindCapability, pciReadConfigDword, pciResetFunction, pciWriteConfigWord, readPollTimeoutAtomic } from "boundscope";

const machine = new Machine();
const dev = machine.pci.plug({ vendor: 1, device: 1 });
// @expect-error TS2345 ts7=TS2739 /Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'|Type 'Device' is missing the following properties from type 'BoundDevice<unknown>'/ -- a config read with a plain Device
pciReadConfigDword(dev, 0);
// @expect-error TS2345 ts7=TS2739 /Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'|Type 'Device' is missing the following properties from type 'BoundDevice<unknown>'/ -- a config write with a plain Device
pciWriteConfigWord(dev, 4, 0);
// @expect-error TS2345 ts7=TS2739 /Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'|Type 'Device' is missing the following properties from type 'BoundDevice<unknown>'/ -- a capability walk with a plain Device
pciFindCapability(dev, 0x10);
// @expect-error TS2345 ts7=TS2739 /Argument of type 'Device' is not assignable to parameter of type 'SleepableDevice<unknown>'|Type 'Device' is missing the following properties from type 'SleepableDevice<unknown>'/ -- a reset with a plain Device
void pciResetFunction(dev);
// @expect-error TS2345 ts7=TS2739 /Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'|Type 'Device' is missing the following properties from type 'BoundDevice<unknown>'/ -- a poll with a plain Device
readPollTimeoutAtomic(dev, () => 0, () => true, { delayNs: 1, timeoutNs: 1 });
