// Blocks: a sync for the CPU of a to-device sg table, which the device only
// reads: the table has no `syncForCpu`, and syncSgForCpu takes from-device or
// bidirectional tables only.
import { mapSg, syncSgForCpu, vmalloc } from "boundscope";
import type { BoundDevice, SgTable } from "boundscope";

export function transmit<Sg>(dev: BoundDevice<Sg>): void {
  const table = mapSg(dev, vmalloc(dev, 4 * 4096), "to-device");
  // @expect-error TS2339 /Property 'syncForCpu' does not exist on type 'SgTable<Sg, "to-device">'/ -- a to-device table has no sync for the CPU
  table.syncForCpu(dev);
  // @expect-error TS2345 /Argument of type 'SgTable<Sg, "to-device">' is not assignable to parameter of type '.*SgTable<Sg, ("from-device" \| "bidirectional"|"bidirectional" \| "from-device")>/ -- syncSgForCpu of a to-device table
  syncSgForCpu(dev, table, table.entries, "to-device");
  table.unmap(dev);
}

export function kept<Sg>(dev: BoundDevice<Sg>, table: SgTable<Sg, "to-device">): void {
  // @expect-error TS2339 /Property 'syncForCpu' does not exist on type 'SgTable<Sg, "to-device">'/ -- nor one passed in
  const cpu = table.syncForCpu(dev);
  void cpu;
}
