// Blocks: nothing wrong. A helper over SgMapping<S, D>, "what every handle of
// an sg table has", gives the table back with unmapSg, or syncs it with
// syncSgForDevice: correct, since the address-taking calls take any handle
// of a table at run time. But they are typed to take SgTable<S, D> |
// CpuOwnedSgTable<S, D>, each of which adds an `owner` (and a sync) that
// SgMapping lacks. The helper can call `table.unmap(dev)` instead, or take
// the union (must-compile/streaming-generic-helpers.ts); typing the three
// calls' table as SgMapping<Scope, Dir> would accept it.
import { syncSgForDevice, unmapSg } from "boundscope";
import type { BoundDevice, DataDirection, SgMapping } from "boundscope";

export function release<S, D extends DataDirection>(dev: BoundDevice<S>, table: SgMapping<S, D>): void {
  syncSgForDevice(dev, table, table.entries, table.direction);
  unmapSg(dev, table, table.entries, table.direction);
}
