/**
 * Scatter-gather tables (src/driver/scatterlist.ts): entries and segments in
 * each IOMMU mode, the device's segment limits, ownership of whole tables
 * (syncs and unmap), bounced and non-coherent tables, and the run-time
 * refusals behind the types.
 */

import { describe, expect, it } from "vitest";
import {
  allocCoherent,
  enableBusMaster,
  kmalloc,
  Machine,
  mapSg,
  setDmaMask,
  setMaxSegmentSize,
  setSegmentBoundary,
  syncSgForCpu,
  syncSgForDevice,
  unmapSg,
  vmalloc,
} from "../src/index.js";
import type { CpuOwnedSgTable, DataDirection, IommuMode, KernelBuffer, MachineOptions, ProbeDevice, SgTable } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const PAGE = 4096;

async function setup(options: MachineOptions = {}, { mask = 64, probe }: { mask?: number; probe?: (dev: ProbeDevice<Smuggled>) => void } = {}) {
  const machine = new Machine({ iommu: "passthrough", ...options });
  const bound = await bindModel(machine, new OpenModel(), (dev) => {
    setDmaMask(dev, mask);
    enableBusMaster(dev);
    probe?.(dev);
  });
  return { ...bound, machine };
}

const segmentsOf = (table: { readonly segments: readonly { readonly dmaAddress: bigint; readonly length: number }[] }) =>
  table.segments.map((s) => ({ address: s.dmaAddress, length: s.length }));

/** A pattern unlike zero, different at every byte of a page. */
const pattern = (length: number, seed = 1) => Uint8Array.from({ length }, (_, i) => (i * 7 + seed) & 0xff);

describe("entries and segments", () => {
  it("strict: a vmalloc buffer's scattered pages are four entries and merge into one IOVA segment", async () => {
    const { machine, token } = await setup({ iommu: "strict" });
    const buf = vmalloc(token, 4 * PAGE);
    const table = mapSg(token, buf, "to-device");
    expect(table.entries).toBe(4);
    expect(table.size).toBe(4 * PAGE);
    expect(table.segments).toHaveLength(1);
    expect(table.segments[0]!.length).toBe(4 * PAGE);
    expect(table.buffers).toEqual([buf]);
    expect(table.bounced).toBe(false);
    expect(machine.dmaDebug.violations).toEqual([]);
    table.unmap(token);
    buf.free();
  });

  it("passthrough: one segment per page, at the pages' physical addresses, which are not contiguous", async () => {
    const { machine, token } = await setup();
    const buf = vmalloc(token, 4 * PAGE);
    const table = mapSg(token, buf, "to-device");
    expect(table.entries).toBe(4);
    const segments = segmentsOf(table);
    expect(segments.map((s) => s.length)).toEqual([PAGE, PAGE, PAGE, PAGE]);
    // Above the 4 GiB heap base, page-aligned, and no page follows the one before it.
    for (const s of segments) {
      expect(s.address >= 1n << 32n).toBe(true);
      expect(s.address % BigInt(PAGE)).toBe(0n);
    }
    for (let i = 1; i < segments.length; i++) expect(segments[i]!.address).not.toBe(segments[i - 1]!.address + BigInt(PAGE));
    expect(machine.dmaDebug.violations).toEqual([]);
    table.unmap(token);
    buf.free();
  });

  it("a list of buffers and pieces is one entry each; in passthrough each a segment at its own address", async () => {
    const { token } = await setup();
    const header = kmalloc(token, 12);
    const payload = kmalloc(token, 1500);
    const table = mapSg(token, [header, { buffer: payload, offset: 100, length: 1000 }], "to-device");
    expect(table.entries).toBe(2);
    expect(table.size).toBe(12 + 1000);
    expect(table.segments.map((s) => s.length)).toEqual([12, 1000]);
    expect(table.buffers).toEqual([header, payload]);
    table.unmap(token);
    header.free();
    payload.free();
  });

  it("strict: pieces that do not end and start on page boundaries are not contiguous in IOVA, and stay separate segments", async () => {
    const { token } = await setup({ iommu: "strict" });
    const a = kmalloc(token, 64);
    const b = kmalloc(token, 64);
    const table = mapSg(token, [a, b], "to-device");
    expect(table.segments.map((s) => s.length)).toEqual([64, 64]);
    expect(table.segments[1]!.dmaAddress).not.toBe(table.segments[0]!.dmaAddress + 64n);
    table.unmap(token);
  });

  it("strict: merging stops at the device's maximum segment size", async () => {
    for (const [max, expected] of [
      [8192, [8192, 8192]],
      [PAGE, [PAGE, PAGE, PAGE, PAGE]],
      [12288, [12288, PAGE]],
    ] as const) {
      const { machine, token } = await setup({ iommu: "strict" }, { probe: (dev) => setMaxSegmentSize(dev, max) });
      const buf = vmalloc(token, 4 * PAGE);
      const table = mapSg(token, buf, "to-device");
      expect(table.segments.map((s) => s.length), `max ${max}`).toEqual(expected);
      // Contiguous in IOVA all the same: each segment starts where the one before ended.
      for (let i = 1; i < table.segments.length; i++) {
        expect(table.segments[i]!.dmaAddress).toBe(table.segments[i - 1]!.dmaAddress + BigInt(table.segments[i - 1]!.length));
      }
      expect(machine.dmaDebug.violations).toEqual([]);
    }
  });

  it("strict: merging stops at the device's segment boundary, and no segment crosses it", async () => {
    const mask = 0x1fffn;
    const { machine, token } = await setup({ iommu: "strict" }, { probe: (dev) => setSegmentBoundary(dev, mask) });
    // One page first, so the table's IOVA starts off an 8 KiB boundary.
    allocCoherent(token, PAGE);
    const buf = vmalloc(token, 4 * PAGE);
    const table = mapSg(token, buf, "to-device");
    const first = table.segments[0]!.dmaAddress;
    expect(first % 0x2000n).toBe(0x1000n);
    expect(table.segments.map((s) => s.length)).toEqual([PAGE, 2 * PAGE, PAGE]);
    for (const { dmaAddress, length } of table.segments) {
      expect(dmaAddress & ~mask).toBe((dmaAddress + BigInt(length) - 1n) & ~mask);
    }
    expect(table.segments.reduce((n, s) => n + s.length, 0)).toBe(4 * PAGE);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("the device reaches every byte of the table through its segments, in order", async () => {
    for (const iommu of ["passthrough", "strict"] as const) {
      const { machine, token, model } = await setup({ iommu });
      const buf = vmalloc(token, 3 * PAGE);
      const data = pattern(3 * PAGE, 3);
      buf.bytes().set(data);
      const table = mapSg(token, buf, "to-device");
      const read: number[] = [];
      for (const { dmaAddress, length } of table.segments) read.push(...model.read(dmaAddress, length));
      expect(read).toEqual([...data]);
      expect(machine.dmaDebug.violations).toEqual([]);
    }
  });
});

describe("ownership of a whole table", () => {
  async function writeThrough(model: OpenModel, table: { readonly segments: readonly { readonly dmaAddress: bigint; readonly length: number }[] }, data: Uint8Array) {
    let done = 0;
    for (const { dmaAddress, length } of table.segments) {
      expect(model.write(dmaAddress, data.subarray(done, done + length))).toBe(true);
      done += length;
    }
  }

  it.each<IommuMode>(["passthrough", "strict"])("%s: the device writes every segment; after syncForCpu the CPU reads it all, and after syncForDevice it owns it again", async (iommu) => {
    const { machine, token, model } = await setup({ iommu });
    const buf = vmalloc(token, 2 * PAGE);
    const before = buf.bytes();
    const table = mapSg(token, buf, "from-device");
    expect(table.owner).toBe("device");
    expect(before.length).toBe(0);
    const data = pattern(2 * PAGE, 5);
    await writeThrough(model, table, data);
    const cpu = table.syncForCpu(token);
    expect(cpu.owner).toBe("cpu");
    expect(table.state).toBe("cpu");
    expect([...cpu.buffers[0]!.bytes()]).toEqual([...data]);
    const view = buf.bytes();
    const again = cpu.syncForDevice(token);
    expect(again.owner).toBe("device");
    // Handing it back to the device detaches the CPU's views.
    expect(view.length).toBe(0);
    again.unmap(token);
    expect(again.state).toBe("unmapped");
    expect([...buf.bytes()]).toEqual([...data]);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("kernel-style: syncSgForCpu, syncSgForDevice and unmapSg take the table and its entry count", async () => {
    const { machine, token, model } = await setup({ iommu: "strict" });
    const buf = vmalloc(token, 2 * PAGE);
    const table = mapSg(token, buf, "bidirectional");
    model.write(table.segments[0]!.dmaAddress + BigInt(PAGE - 1), Uint8Array.of(1, 2));
    syncSgForCpu(token, table, table.entries, "bidirectional");
    expect([...buf.bytes().subarray(PAGE - 1, PAGE + 1)]).toEqual([1, 2]);
    buf.bytes()[0] = 9;
    syncSgForDevice(token, table, table.entries, "bidirectional");
    expect(model.read(table.segments[0]!.dmaAddress, 1)[0]).toBe(9);
    unmapSg(token, table, table.entries, "bidirectional");
    expect(table.state).toBe("unmapped");
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("bounced (a 32-bit device in passthrough): each entry has its own slot; copied out at syncForCpu, in at syncForDevice", async () => {
    const { machine, token, model } = await setup({}, { mask: 32 });
    const buf = vmalloc(token, 2 * PAGE);
    buf.bytes().fill(0x33);
    const table = mapSg(token, buf, "bidirectional");
    expect(table.bounced).toBe(true);
    expect(table.segments.every((s) => s.dmaAddress < 1n << 32n)).toBe(true);
    expect(machine.memory.swiotlb().bytesInUse).toBe(2 * PAGE);
    expect(model.read(table.segments[1]!.dmaAddress, 1)[0]).toBe(0x33);
    model.write(table.segments[1]!.dmaAddress, Uint8Array.of(7));
    const cpu = table.syncForCpu(token);
    expect(buf.bytes()[PAGE]).toBe(7);
    buf.bytes()[0] = 8;
    const back = cpu.syncForDevice(token);
    expect(model.read(back.segments[0]!.dmaAddress, 1)[0]).toBe(8);
    back.unmap(token);
    expect(machine.memory.swiotlb().bytesInUse).toBe(0);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("non-coherent: what the device wrote reaches the CPU only after the table's syncForCpu", async () => {
    const { token, model } = await setup({ dmaCoherent: false });
    const buf = vmalloc(token, 2 * PAGE);
    const table = mapSg(token, buf, "from-device");
    model.write(table.segments[1]!.dmaAddress, Uint8Array.of(0xaa));
    const cpu = table.syncForCpu(token);
    expect(buf.bytes()[PAGE]).toBe(0xaa);
    cpu.unmap(token);
  });

  it("non-coherent, the sync forgotten: the CPU reads stale data, and the checker names the missing sync", async () => {
    const { machine, token, model } = await setup({ dmaCoherent: false });
    const buf = vmalloc(token, 2 * PAGE);
    const table = mapSg(token, buf, "from-device");
    model.write(table.segments[1]!.dmaAddress, Uint8Array.of(0xaa));
    expect(buf.bytes()[PAGE]).toBe(0);
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["cpu-access-device-owned"]);
    table.unmap(token);
  });

  it("a stale table handle is EINVAL; a to-device table has no syncForCpu (refused at run time behind a cast)", async () => {
    const { token } = await setup();
    const buf = vmalloc(token, PAGE);
    const rx = mapSg(token, buf, "from-device");
    const cpu = rx.syncForCpu(token);
    expectCode(() => rx.syncForCpu(token), "EINVAL");
    expectCode(() => rx.unmap(token), "EINVAL");
    cpu.unmap(token);
    expectCode(() => cpu.unmap(token), "EINVAL");
    const tx = mapSg(token, buf, "to-device");
    expectCode(() => smuggle<SgTable<Smuggled, "from-device">>(tx).syncForCpu(token), "EINVAL");
    expectCode(() => smuggle<CpuOwnedSgTable<Smuggled, "to-device">>(tx).syncForDevice(token), "EINVAL");
    expect(tx.state).toBe("device");
    tx.unmap(token);
  });

  it("another binding's token is refused, and the table stays as it was", async () => {
    const machine = new Machine();
    const a = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    const b = await bindModel(machine, new OpenModel());
    const buf = vmalloc(a.token, PAGE);
    const table = mapSg(a.token, buf, "from-device");
    expectCode(() => table.syncForCpu(b.token), "EINVAL");
    expectCode(() => unmapSg(b.token, table, 1, "from-device"), "EINVAL");
    expect(table.state).toBe("device");
    table.unmap(a.token);
  });
});

describe("what mapSg refuses, changing nothing", () => {
  it("an empty list, something not a buffer, a freed buffer, a piece outside its buffer, an unknown direction: EINVAL", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    const freed = kmalloc(token, 64);
    freed.free();
    expectCode(() => mapSg(token, [], "to-device"), "EINVAL");
    expectCode(() => mapSg(token, smuggle<KernelBuffer>({ size: 64 }), "to-device"), "EINVAL");
    expectCode(() => mapSg(token, [buf, freed], "to-device"), "EINVAL");
    for (const [offset, length] of [
      [0, 65],
      [-1, 8],
      [64, 1],
      [0, 0],
      [1.5, 8],
      [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY],
      [2 ** 53, 1],
    ] as const) {
      expectCode(() => mapSg(token, [buf, { buffer: buf, offset, length }], "to-device"), "EINVAL");
    }
    expectCode(() => mapSg(token, buf, smuggle<DataDirection>("sideways")), "EINVAL");
    // Nothing was mapped: the buffer frees (it would be EBUSY while mapped), and nothing was reported.
    expect(machine.memory.heap().allocations).toBe(1);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("setMaxSegmentSize and setSegmentBoundary refuse hostile values with EINVAL, and are core-only (EPERM after probe)", async () => {
    let refusals = 0;
    const { token } = await setup({}, {
      probe: (dev) => {
        for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, smuggle<number>("4096")]) {
          expectCode(() => setMaxSegmentSize(dev, bad), "EINVAL");
          refusals++;
        }
        for (const bad of [0n, 0x1000n, 0x17ffn, -1n, 1n << 64n, smuggle<bigint>(0xfff)]) {
          expectCode(() => setSegmentBoundary(dev, bad), "EINVAL");
          refusals++;
        }
      },
    });
    expect(refusals).toBe(12);
    expectCode(() => setMaxSegmentSize(token, 4096), "EPERM");
    expectCode(() => setSegmentBoundary(token, 0xfffn), "EPERM");
  });

  it("ENOMEM when a bounced entry finds no slot: the slots of the entries before it are given back", async () => {
    const { machine, token } = await setup({ memory: { swiotlbBytes: 2 * 2048 } }, { mask: 32 });
    const a = kmalloc(token, 2048);
    const b = kmalloc(token, 2048);
    const c = kmalloc(token, 2048);
    expectCode(() => mapSg(token, [a, b, c], "to-device"), "ENOMEM");
    // (Its high-water mark saw the two slots taken for a moment, as the kernel's swiotlb hiwater would.)
    expect(machine.memory.swiotlb()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    // Nothing mapped: all three free, and two fit.
    const table = mapSg(token, [a, b], "to-device");
    expect(machine.memory.swiotlb().bytesInUse).toBe(2 * 2048);
    table.unmap(token);
    c.free();
    a.free();
    b.free();
  });
});
