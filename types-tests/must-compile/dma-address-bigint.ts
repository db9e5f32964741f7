// A DmaAddress is a bigint underneath: arithmetic, comparison and DataView
// writes take it as one, and the results are plain bigints. The scope is
// spelled out where a driver names it, or taken from the handle with `typeof`.
import { allocCoherent, defineDriver, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation, DmaAddress, ProbeDevice } from "boundscope";

function program<Scope>(dev: BoundDevice<Scope>, descriptors: CoherentAllocation<Scope>, data: CoherentAllocation<Scope>): void {
  const base: DmaAddress<Scope> = data.dmaHandle;
  const asBigint: bigint = base;
  const next: bigint = base + 4096n;
  const low = Number(base & 0xffff_ffffn);
  const high = Number(base >> 32n);
  const aligned: boolean = base % 4096n === 0n;
  const above: boolean = base > 0n && base < next;
  const view = descriptors.view(dev);
  view.setBigUint64(0, base, true);
  view.setUint32(8, low, true);
  view.setUint32(12, high, true);
  const text: string = `0x${base.toString(16)}`;
  console.log(asBigint, aligned, above, text, typeof base === "bigint");
}

export const dmaEngine = defineDriver({
  name: "dma-engine",
  ids: [{ vendor: 0x8086, device: 0x0b00 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    setDmaMask(dev, 64);
    const descriptors = allocCoherent(dev, 16);
    const data = allocCoherent(dev, 8192);
    program(dev, descriptors, data);
    const handles: DmaAddress<Scope>[] = [descriptors.dmaHandle, data.dmaHandle];
    const sorted: bigint[] = [...handles].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const first: typeof data.dmaHandle = data.dmaHandle;
    console.log(sorted, first);
    return {};
  },
});
