// Scatter-gather tables and DMA pools as a driver writes them: the segment
// limits and the pools set up in probe(); a vmalloc buffer, a list of
// buffers and pieces of buffers mapped as sg tables, their segments posted,
// synced for the CPU and back, and unmapped by handle or kernel-style with
// the count and direction mapped; pool blocks allocated, written through
// bytes() and view(), and freed by handle, by the pool with the address, or
// by `using`; and the pool destroyed.
import { createDmaPool, defineDriver, defineStruct, kmalloc, mapSg, setMaxSegmentSize, setSegmentBoundary, syncSgForCpu, syncSgForDevice, unmapSg, vmalloc } from "boundscope";
import type { BoundDevice, CpuOwnedSgTable, DmaAddress, DmaPool, PoolBlock, ProbeDevice, SgPiece, SgSegment, SgTable } from "boundscope";

const Prd = defineStruct({ addr: "u64", len: "u32", flags: "u32" });

function post<Scope>(dev: BoundDevice<Scope>, descriptors: DmaPool<Scope>, segments: readonly SgSegment<Scope>[]): PoolBlock<Scope>[] {
  return segments.map(({ dmaAddress, length }, i) => {
    const prd = descriptors.alloc(dev);
    Prd.write(prd.view(dev), 0, { addr: dmaAddress, len: length, flags: i === segments.length - 1 ? 1 : 0 });
    return prd;
  });
}

function read<Scope>(dev: BoundDevice<Scope>, table: SgTable<Scope, "from-device">): SgTable<Scope, "from-device"> {
  const cpu: CpuOwnedSgTable<Scope, "from-device"> = table.syncForCpu(dev);
  const first: number = cpu.buffers[0]!.bytes()[0]!;
  void first;
  return cpu.syncForDevice(dev);
}

function kernelStyle<Scope>(dev: BoundDevice<Scope>, table: SgTable<Scope, "bidirectional">): void {
  syncSgForCpu(dev, table, table.entries, "bidirectional");
  table.buffers[0]!.bytes()[0] = 1;
  syncSgForDevice(dev, table, table.entries, "bidirectional");
  unmapSg(dev, table, table.entries, "bidirectional");
}

export const storage = defineDriver({
  name: "sg-storage",
  ids: [{ vendor: 0x8086, device: 0x2922 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    setMaxSegmentSize(dev, 64 * 1024);
    setSegmentBoundary(dev, 0xffff_ffffn);
    const descriptors: DmaPool<Scope> = createDmaPool(dev, "prd", Prd.size, 16, 4096);
    const headers = createDmaPool(dev, "hdr", 12);

    const big = vmalloc(dev, 4 * 4096);
    const out: SgTable<Scope, "to-device"> = mapSg(dev, big, "to-device");
    const prds = post(dev, descriptors, out.segments);
    const counts = `${out.entries} ${out.segments.length} ${out.size} ${out.bounced} ${out.state} ${out.owner}`;
    syncSgForDevice(dev, out, out.entries, "to-device");

    const header = kmalloc(dev, 12);
    const payload = kmalloc(dev, 1500);
    const pieces: SgPiece[] = [{ buffer: header, offset: 0, length: 12 }, { buffer: payload, offset: 0, length: 1500 }];
    let rx = mapSg(dev, pieces, "from-device");
    rx = read(dev, rx);
    kernelStyle(dev, mapSg(dev, [kmalloc(dev, 512), kmalloc(dev, 512)], "bidirectional"));

    const hdr = headers.alloc(dev);
    hdr.bytes(dev).fill(0);
    hdr.view(dev).setUint16(10, 1, true);
    const hdrAddress: DmaAddress<Scope, "pool"> = hdr.dmaHandle;
    headers.free(dev, hdr.bytes(dev), hdrAddress);
    {
      using scratch = headers.alloc(dev);
      scratch.bytes(dev)[0] = 1;
    }
    const inUse: number = headers.inUse;
    headers.destroy();
    void [counts, inUse];

    return {
      remove(dev: ProbeDevice<Scope>) {
        for (const prd of prds) prd.free();
        out.unmap(dev);
        unmapSg(dev, rx, rx.entries, "from-device");
        setMaxSegmentSize(dev, 4096);
        createDmaPool(dev, "late", 16).destroy();
      },
    };
  },
});
