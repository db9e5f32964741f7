// A DmaAddress<Scope> with no kind named takes every kind of bus address of
// its binding: a coherent allocation's, a streaming mapping's, an sg
// segment's and a pool block's. That is what a register (RegisterValue<Scope>)
// and a descriptor's 64-bit field take, in coherent memory or a pool block;
// and every kind is a bigint underneath.
import { allocCoherent, createDmaPool, defineDriver, defineStruct, iomap, kmalloc, mapSg, mapSingle } from "boundscope";
import type { BoundDevice, DmaAddress, IoMapping, PoolBlock, ProbeDevice, RegisterValue, ScopedView } from "boundscope";

const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u32" });

function program<Scope>(dev: BoundDevice<Scope>, regs: IoMapping<Scope>, at: number, address: DmaAddress<Scope>): void {
  regs.write64(dev, at, address);
  const value: RegisterValue<Scope> = address;
  regs.write64(dev, at + 8, value);
  regs.write32(dev, at + 16, Number(address & 0xffff_ffffn));
}

function describe<Scope>(view: ScopedView<Scope>, index: number, address: DmaAddress<Scope>, length: number): void {
  Desc.write(view, index, { addr: address, len: length, flags: 0 });
  Desc.set(view, index, "addr", address + 0n);
}

export const anyKind = defineDriver({
  name: "any-kind",
  ids: [{ vendor: 0x8086, device: 0x0b00 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const regs = iomap(dev, 0);
    const ring = allocCoherent(dev, Desc.size * 8);
    const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
    const rx = mapSingle(dev, kmalloc(dev, 1536), "from-device");
    const table = mapSg(dev, [kmalloc(dev, 12), kmalloc(dev, 1500)], "to-device");
    const pool = createDmaPool(dev, "desc", Desc.size, 16);
    const block: PoolBlock<Scope> = pool.alloc(dev);

    const all: DmaAddress<Scope>[] = [ring.dmaHandle, tx.dmaAddress, rx.dmaAddress, table.segments[0]!.dmaAddress, block.dmaHandle];
    for (const [i, address] of all.entries()) program(dev, regs, 0x100 + 0x20 * i, address);
    regs.write64(dev, 0x10, tx.dmaAddress);
    regs.write64(dev, 0x18, block.dmaHandle);
    regs.write64(dev, 0x20, table.segments[1]!.dmaAddress);

    describe(ring.view(dev), 0, tx.dmaAddress, tx.size);
    describe(ring.view(dev), 1, rx.dmaAddress, rx.size);
    describe(block.view(dev), 0, table.segments[0]!.dmaAddress, table.segments[0]!.length);
    Desc.write(ring.view(dev), 2, { addr: block.dmaHandle, len: block.size, flags: 1 });
    Desc.set(block.view(dev), 0, "addr", ring.dmaHandle);
    Desc.set(ring.view(dev), 3, "addr", rx.dmaAddress);

    const asBigint: bigint = rx.dmaAddress;
    const next: bigint = tx.dmaAddress + BigInt(tx.size);
    const aligned: boolean = block.dmaHandle % 16n === 0n;
    const sorted = [...all].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    void [asBigint, next, aligned, sorted];
    return {};
  },
});
