// The core context is a token too: a ProbeDevice goes wherever a BoundDevice
// of the same scope is expected, as an argument and by assignment.
import { allocCoherent, defineDriver, Devres, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation, ProbeDevice } from "boundscope";

function describeDevice<Scope>(dev: BoundDevice<Scope>): string {
  return `${dev.name} ${dev.vendor.toString(16)}:${dev.device.toString(16)} ${dev.state}`;
}

function setUp<Scope>(dev: ProbeDevice<Scope>): CoherentAllocation<Scope> {
  setDmaMask(dev, 32);
  const bound: BoundDevice<Scope> = dev;
  console.log(describeDevice(bound));
  return allocCoherent(bound, 1024);
}

export const widen = defineDriver({
  name: "widen",
  ids: [{ vendor: 0x1b36, device: 0x0010 }],
  // Spelling the scope out is allowed, as long as probe stays generic in it.
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const buf = setUp(dev);
    const res = Devres.new(dev, buf);
    return {
      remove(dev: ProbeDevice<Scope>) {
        const bound: BoundDevice<Scope> = dev;
        res.access(bound).bytes(dev).fill(0);
        console.log(describeDevice(dev));
      },
    };
  },
});
