// Blocks: nothing that is wrong. A known false positive, kept so that a fix
// is noticed: a helper over SgMapping<S, D> ("what every handle of an sg
// table has") gives the table back with unmapSg, or syncs it with
// syncSgForDevice, which at run time take any handle of a table. But they
// are typed to take SgTable<S, D> | CpuOwnedSgTable<S, D>, each of which
// adds an `owner` (and a sync) that SgMapping lacks. The helper can call
// `table.unmap(dev)`, or take the union
// (must-compile/streaming-generic-helpers.ts); typing the three calls'
// table as SgMapping<Scope, Dir> would accept it.
import { syncSgForDevice, unmapSg } from "boundscope";
import type { BoundDevice, DataDirection, SgMapping } from "boundscope";

export function release<S, D extends DataDirection>(dev: BoundDevice<S>, table: SgMapping<S, D>): void {
  // @expect-error TS2345 /Argument of type 'SgMapping<S, D>' is not assignable to parameter of type '(SgTable<S, D> \| CpuOwnedSgTable<S, D>|CpuOwnedSgTable<S, D> \| SgTable<S, D>)'/ -- the false positive: syncSgForDevice of any handle of a table
  syncSgForDevice(dev, table, table.entries, table.direction);
  // @expect-error TS2345 /Argument of type 'SgMapping<S, D>' is not assignable to parameter of type '(SgTable<S, D> \| CpuOwnedSgTable<S, D>|CpuOwnedSgTable<S, D> \| SgTable<S, D>)'/ -- and unmapSg
  unmapSg(dev, table, table.entries, table.direction);
}
