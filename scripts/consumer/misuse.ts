// Misuses a consumer's compiler must refuse (scripts/consumer-test.mjs). A
// marker names the code each compiler must report on the line below it, and
// a regex on the message; every other line must compile. ts54/ts6/ts7=TSxxxx
// overrides the code for one compiler.
import { allocCoherent, defineDriver, Machine, setDmaMask } from "boundscope";
import type { BoundDevice } from "boundscope";

const machine = new Machine();
const plain = machine.pci.plug({ vendor: 0x1234, device: 0x11e8 });

// @expect-error TS2345 ts7=TS2741 /Property '\[tokenBrand\]' is missing in type 'Device'/ -- a plain Device is not a token
allocCoherent(plain, 4096);

export function tune<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2339 /Property 'setDmaMask' does not exist on type 'BoundDevice<Scope>'/ -- a core-only call on a BoundDevice
  setDmaMask(dev, 64);
}

export const escape = defineDriver({
  name: "escape",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /'ProbeDevice<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- the token out of probe
  probe: (dev) => dev,
});
