// Blocks: passing a BoundDevice where the core context (ProbeDevice) is
// needed, which would give core-only operations to any token holder.
import { setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

function initHardware<Scope>(dev: ProbeDevice<Scope>): void {
  setDmaMask(dev, 64);
}

export function fromHelper<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': setDmaMask, enableBusMaster, iomap, requestIrq, spawn/ -- a token passed as the core context
  initHardware(dev);
  // @expect-error TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': setDmaMask, enableBusMaster, iomap, requestIrq, spawn/ -- a token assigned as the core context
  const core: ProbeDevice<Scope> = dev;
  void core;
}
