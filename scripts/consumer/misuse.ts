// Misuses a consumer's compiler must refuse (scripts/consumer-test.mjs). A
// marker names the code each compiler must report on the line below it, and
// a regex on the message; every other line must compile. ts54/ts6/ts7=TSxxxx
// overrides the code for one compiler.
import { allocCoherent, defineDriver, Machine, requestIrq, setDmaMask } from "boundscope";
import type { BoundDevice } from "boundscope";

const machine = new Machine();
const plain = machine.pci.plug({ vendor: 0x1234, device: 0x11e8 });

// @expect-error TS2345 ts7=TS2739 /Type 'Device' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type 'Device' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a plain Device is not a token
allocCoherent(plain, 4096);

export function tune<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 ts7=TS2739 /Type 'BoundDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'BoundDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<Scope>'/ -- a core-only call on a BoundDevice
  setDmaMask(dev, 64);
}

export const escape = defineDriver({
  name: "escape",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /'ProbeDevice<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- the token out of probe
  probe: (dev) => dev,
});

export const claimsCore = defineDriver({
  name: "claims-core",
  ids: [{ vendor: 1, device: 2 }],
  probe(dev) {
    requestIrq(dev, (irq) => {
      // @expect-error TS2345 ts7=TS2739 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<unknown>': \[coreContextOnlyInProbeOrRemove\], \[sleepableContext\]|Argument of type 'IrqDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- an interrupt handler is not the core context
      setDmaMask(irq, 32);
    });
    return {};
  },
});
