// Blocks: passing a BoundDevice where the core context (ProbeDevice) is
// needed, which would give core-only operations to any token holder. Refused
// by the core-context brand, which only ProbeDevice carries.
import { setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

function initHardware<Scope>(dev: ProbeDevice<Scope>): void {
  setDmaMask(dev, 64);
}

export function fromHelper<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a token passed as the core context
  initHardware(dev);
}

export function byAssignment<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2739 ts54=TS2322 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Type 'BoundDevice<Scope>' is not assignable to type 'ProbeDevice<Scope>'/ -- a token assigned as the core context (5.4 reports the pair it reported above with its top line only, as TS2322)
  const core: ProbeDevice<Scope> = dev;
  void core;
}
