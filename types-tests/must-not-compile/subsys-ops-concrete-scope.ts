// Blocks: subsystem ops that name a concrete scope, or another binding's: ops
// typed NetdevOps<"mine"> (or built for one binding) registered with a token
// of another scope, and the registration handle kept under a wider scope.
import { defineDriver, registerBlockDevice, registerNetdev } from "boundscope";
import type { BlockDevice, BlockDeviceOps, Netdev, NetdevOps, ProbeDevice } from "boundscope";

declare const mine: NetdevOps<"mine">;
let parked: Netdev<unknown> | undefined;
let parkedDisk: BlockDevice<unknown> | undefined;

function opsFor<Scope>(_dev: ProbeDevice<Scope>): NetdevOps<Scope> {
  return { transmit: () => "ok" };
}

export const concrete = defineDriver({
  name: "concrete",
  ids: [{ vendor: 1, device: 1 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    // @expect-error TS2345 /Argument of type 'NetdevOps<"mine">' is not assignable to parameter of type 'NetdevOps<Scope>'|Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<"mine">'/ -- ops naming a concrete scope
    registerNetdev(dev, mine);
    // @expect-error TS2322 /Type 'Netdev<Scope>' is not assignable to type 'Netdev<unknown>'/ -- the registration handle smuggled out under scope unknown
    parked = registerNetdev(dev, opsFor(dev));
    // @expect-error TS2322 /Type 'BlockDevice<Scope>' is not assignable to type 'BlockDevice<unknown>'/ -- a disk handle smuggled out under scope unknown
    parkedDisk = registerBlockDevice(dev, { submit: () => {} }, { sectors: 8 });
    return {};
  },
});

export function twoBindings<A, B>(a: ProbeDevice<A>, b: ProbeDevice<B>): void {
  const opsOfA = opsFor(a);
  // @expect-error TS2345 /Argument of type 'NetdevOps<A>' is not assignable to parameter of type 'NetdevOps<B>'|Argument of type 'ProbeDevice<B>' is not assignable to parameter of type 'ProbeDevice<A>'/ -- ops of one binding registered with another's token
  registerNetdev(b, opsOfA);
  const submitOfA: BlockDeviceOps<A> = { submit: (dev, request) => request.complete(dev) };
  // @expect-error TS2345 /Argument of type 'BlockDeviceOps<A>' is not assignable to parameter of type 'BlockDeviceOps<B>'|Argument of type 'ProbeDevice<B>' is not assignable to parameter of type 'ProbeDevice<A>'/ -- block ops of one binding registered with another's token
  registerBlockDevice(b, submitOfA, { sectors: 8 });
}

void parked;
void parkedDisk;
