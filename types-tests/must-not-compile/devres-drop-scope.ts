// Blocks: a driver data drop hook typed for another scope: a `drop` that
// expects a concrete scope's token, and one that reads another binding's
// resource.
import type { BoundDevice, CoherentAllocation, DriverInstance, SleepableDevice } from "boundscope";

export function mixed<A, B>(ring: CoherentAllocation<B>): DriverInstance<A> {
  return {
    // @expect-error TS2345 /Argument of type 'SleepableDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- reading B's ring with A's token
    drop: (dev: SleepableDevice<A>) => void ring.bytes(dev),
  };
}

export function concrete<Scope>(): DriverInstance<Scope> {
  return {
    // @expect-error TS2322 /Type 'SleepableDevice<Scope>' is not assignable to type 'BoundDevice<"x">'/ -- a drop hook for scope "x"
    drop: (d: BoundDevice<"x">) => void d,
  };
}
