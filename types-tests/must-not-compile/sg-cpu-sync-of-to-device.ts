// Blocks: a sync for the CPU of a to-device sg table, which the device only
// reads: the table has no `syncForCpu`, and syncSgForCpu takes from-device or
// bidirectional tables only.
import { mapSg, syncSgForCpu, vmalloc } from "boundscope";
import type { BoundDevice, SgTable } from "boundscope";

export function transmit<Sg>(dev: BoundDevice<Sg>): void {
  const table = mapSg(dev, vmalloc(dev, 4 * 4096), "to-device");
  table.syncForCpu(dev);
  syncSgForCpu(dev, table, table.entries, "to-device");
  table.unmap(dev);
}

export function kept<Sg>(dev: BoundDevice<Sg>, table: SgTable<Sg, "to-device">): void {
  const cpu = table.syncForCpu(dev);
  void cpu;
}
