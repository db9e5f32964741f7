// Devres groups as a driver uses them: a set-up rolled back on error with
// `await using` unless kept, nested groups, release in remove(), and a
// generic helper that opens a group in the caller's scope.
import { allocCoherent, defineDriver, Devres, openDevresGroup } from "boundscope";
import type { CoherentAllocation, DevresGroup, DevresGroupState, ProbeDevice } from "boundscope";

/** Sets up an offload engine in its own group, which the caller keeps or releases. */
export function offload<Scope>(dev: ProbeDevice<Scope>): { group: DevresGroup<Scope>; table: CoherentAllocation<Scope> } {
  const group = openDevresGroup(dev);
  const table = allocCoherent(dev, 8192);
  group.close(dev);
  return { group, table };
}

export const grouped = defineDriver({
  name: "grouped",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  async probe(dev) {
    const ring = allocCoherent(dev, 4096);
    try {
      await using setup = openDevresGroup(dev);
      const stats = Devres.new(dev, { packets: 0 });
      const inner = openDevresGroup(dev);
      allocCoherent(dev, 64);
      inner.close(dev);
      await inner.release(dev);
      stats.access(dev).packets++;
      const state: DevresGroupState = setup.state;
      const size: number = setup.size;
      void state;
      void size;
      setup.keep(dev);
    } catch {
      // rolled back
    }
    const { group, table } = offload(dev);
    if (table.bytes(dev)[0] === 0xff) await group.release(dev);
    else group.remove(dev);
    const late = openDevresGroup(dev);
    allocCoherent(dev, 128);
    return {
      async remove(dev) {
        await late.release(dev);
        ring.bytes(dev).fill(0);
      },
    };
  },
});
