/**
 * The IOMMU (src/iommu.ts): one translation domain per device. In `strict`
 * mode an allocation's `dmaHandle` is an IOVA in its device's own domain,
 * below the device's DMA mask, and a device access to anything not mapped for
 * it is blocked and recorded as a fault. In `passthrough` mode handles are
 * physical and a stray access lands wherever it lands.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, enableBusMaster, Machine, setDmaMask } from "../src/index.js";
import type { IommuMode } from "../src/index.js";
import { bindModel, expectCode, OpenModel } from "./helpers.js";

/** IOVAs start at 1 MiB (src/iommu.ts). */
const IOVA_BASE = 0x10_0000n;

/** A device with bus mastering on, and optionally a DMA mask. */
async function master(machine: Machine, dmaMask?: number) {
  return bindModel(machine, new OpenModel(), (dev) => {
    if (dmaMask !== undefined) setDmaMask(dev, dmaMask);
    enableBusMaster(dev);
  });
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe("strict", () => {
  it("a handle is an IOVA in the device's own domain, not the physical address", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token } = await master(machine);
    const first = allocCoherent(token, 100);
    const second = allocCoherent(token, 3 * 4096);
    const third = allocCoherent(token, 1);
    expect(first.dmaHandle).toBe(IOVA_BASE);
    expect(second.dmaHandle).toBe(IOVA_BASE + 0x1000n);
    expect(third.dmaHandle).toBe(IOVA_BASE + 0x4000n);
    expect(first.dmaHandle < BigInt(machine.memory.base)).toBe(true);
  });

  it("two devices may get the same IOVA, and each reaches its own memory through it", async () => {
    const machine = new Machine({ iommu: "strict" });
    const a = await master(machine);
    const b = await master(machine);
    const bufA = allocCoherent(a.token, 64);
    const bufB = allocCoherent(b.token, 64);
    expect(bufA.dmaHandle).toBe(bufB.dmaHandle);
    expect(a.model.write(bufA.dmaHandle, bytes(1, 2, 3))).toBe(true);
    expect(b.model.write(bufB.dmaHandle, bytes(9, 8, 7))).toBe(true);
    expect([...bufA.bytes(a.token).subarray(0, 3)]).toEqual([1, 2, 3]);
    expect([...bufB.bytes(b.token).subarray(0, 3)]).toEqual([9, 8, 7]);
    expect([...a.model.read(bufA.dmaHandle, 3)]).toEqual([1, 2, 3]);
    expect(machine.iommu.faults).toEqual([]);
  });

  it("a device's reads and writes at an offset inside its allocation land there", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token, model } = await master(machine);
    const buf = allocCoherent(token, 3 * 4096);
    buf.view(token).setUint32(8192 + 16, 0xcafef00d, true);
    const read = model.read(buf.dmaHandle + 8192n + 16n, 4);
    expect(new DataView(read.buffer).getUint32(0, true)).toBe(0xcafef00d);
    model.write(buf.dmaHandle + 4095n, bytes(0xaa, 0xbb));
    expect([...buf.bytes(token).subarray(4095, 4097)]).toEqual([0xaa, 0xbb]);
  });

  it("DMA to another device's memory is blocked and recorded as a fault with device, address, direction and time", async () => {
    const machine = new Machine({ iommu: "strict" });
    const a = await master(machine);
    const b = await master(machine);
    allocCoherent(a.token, 4096);
    allocCoherent(b.token, 4096);
    const theirs = allocCoherent(b.token, 4096);
    theirs.bytes(b.token).fill(0x55);
    a.model.later(3_000, () => a.model.write(theirs.dmaHandle, bytes(1, 2, 3, 4)));
    a.model.later(4_000, () => void a.model.read(theirs.dmaHandle, 8));
    await machine.run(5_000);
    expect(machine.iommu.faults).toEqual([
      { device: a.dev.name, address: theirs.dmaHandle, length: 4, direction: "write", time: 3_000 },
      { device: a.dev.name, address: theirs.dmaHandle, length: 8, direction: "read", time: 4_000 },
    ]);
    expect(theirs.bytes(b.token).every((x) => x === 0x55)).toBe(true);
  });

  it("a blocked read returns all-ones and a blocked write reports that nothing landed", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { model } = await master(machine);
    expect([...model.read(0x7000_0000n, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(model.write(0x7000_0000n, bytes(1))).toBe(false);
    expect(machine.iommu.faults).toHaveLength(2);
  });

  it("DMA to freed memory is blocked, and the memory's next owner is untouched", async () => {
    const machine = new Machine({ iommu: "strict" });
    const a = await master(machine);
    const b = await master(machine);
    const gone = allocCoherent(a.token, 4096);
    const handle = gone.dmaHandle;
    gone.free();
    const next = allocCoherent(b.token, 4096);
    next.bytes(b.token).fill(0x11);
    expect(a.model.write(handle, new Uint8Array(16).fill(0xee))).toBe(false);
    expect([...a.model.read(handle, 2)]).toEqual([0xff, 0xff]);
    expect(next.bytes(b.token).every((x) => x === 0x11)).toBe(true);
    expect(machine.iommu.faults.map((f) => [f.device, f.address, f.direction])).toEqual([
      [a.dev.name, handle, "write"],
      [a.dev.name, handle, "read"],
    ]);
  });

  it("DMA past the end of an allocation's pages is blocked whole", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token, model, dev } = await master(machine);
    const buf = allocCoherent(token, 4096);
    expect(model.write(buf.dmaHandle + 4000n, new Uint8Array(200).fill(0xee))).toBe(false);
    expect(buf.bytes(token).every((x) => x === 0)).toBe(true);
    expect(machine.iommu.faults).toEqual([
      { device: dev.name, address: buf.dmaHandle + 4000n, length: 200, direction: "write", time: 0 },
    ]);
  });

  it("the bytes past an allocation's size but inside its last page are mapped: no fault, and no buffer behind them", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token, model } = await master(machine);
    const buf = allocCoherent(token, 100);
    const read = model.read(buf.dmaHandle + 96n, 8);
    expect([...read]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(machine.iommu.faults).toEqual([]);
  });

  it("each fault is logged as an iommu-fault event", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { model, dev, driver } = await master(machine);
    model.write(0x20_0000n, bytes(1));
    expect(machine.events.filter((e) => e.kind === "iommu-fault")).toEqual([
      expect.objectContaining({ device: dev.name, driver: driver.name, direction: "write", address: 0x20_0000n, size: 1 }),
    ]);
  });

  it("a freed IOVA range is mapped again for the next allocation", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token, model } = await master(machine);
    const first = allocCoherent(token, 4096);
    const handle = first.dmaHandle;
    first.free();
    const again = allocCoherent(token, 4096);
    expect(again.dmaHandle).toBe(handle);
    expect(model.write(handle, bytes(5))).toBe(true);
    expect(again.bytes(token)[0]).toBe(5);
  });
});

describe("the DMA mask, behind a strict IOMMU", () => {
  it("bounds every IOVA the device gets", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token } = await master(machine, 21);
    const handles = Array.from({ length: 8 }, () => allocCoherent(token, 64 * 1024).dmaHandle);
    for (const handle of handles) expect(handle + 64n * 1024n <= 1n << 21n).toBe(true);
  });

  it("an allocation with no IOVA range below the mask is ENOMEM, and the pool holds what it held", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token } = await master(machine, 21);
    allocCoherent(token, 512 * 1024);
    const before = machine.memory.stats();
    const error = expectCode(() => allocCoherent(token, 1024 * 1024), "ENOMEM");
    expect(error.message).toContain("21-bit");
    // The pages were taken, then given back when no IOVA fitted: highWater saw them.
    expect({ ...machine.memory.stats(), highWater: before.highWater }).toEqual(before);
  });

  it("a mask that reaches no IOVA at all is ENOMEM", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token } = await master(machine, 20);
    expectCode(() => allocCoherent(token, 64), "ENOMEM");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("bounds the IOVA, not the physical page: a 24-bit device gets memory that a passthrough machine cannot give it", async () => {
    const strict = new Machine({ iommu: "strict" });
    const s = await master(strict, 24);
    const buf = allocCoherent(s.token, 4096);
    expect(buf.dmaHandle < 1n << 24n).toBe(true);

    const passthrough = new Machine({ iommu: "passthrough" });
    const p = await master(passthrough, 24);
    expectCode(() => allocCoherent(p.token, 4096), "ENOMEM");
  });

  it("is read at allocation time: a wider mask set in remove() applies to what remove() allocates", async () => {
    const machine = new Machine({ iommu: "strict" });
    const handles: bigint[] = [];
    const { dev } = await bindModel(machine, new OpenModel(), (dev) => {
      setDmaMask(dev, 21);
      handles.push(allocCoherent(dev, 4096).dmaHandle);
      return {
        remove(dev) {
          setDmaMask(dev, 64);
          handles.push(allocCoherent(dev, 4096).dmaHandle);
        },
      };
    });
    await machine.pci.unbind(dev);
    expect(handles.every((h) => h < 1n << 21n)).toBe(true);
  });
});

describe("passthrough", () => {
  it("a handle is the physical address", async () => {
    const machine = new Machine({ iommu: "passthrough" });
    const { token } = await master(machine);
    const first = allocCoherent(token, 100);
    const second = allocCoherent(token, 100);
    expect(first.dmaHandle).toBe(BigInt(machine.memory.base));
    expect(second.dmaHandle).toBe(BigInt(machine.memory.base + 4096));
  });

  it("two devices share the physical space: their handles differ", async () => {
    const machine = new Machine({ iommu: "passthrough" });
    const a = await master(machine);
    const b = await master(machine);
    expect(allocCoherent(a.token, 64).dmaHandle).not.toBe(allocCoherent(b.token, 64).dmaHandle);
  });

  it("DMA to freed memory lands in whatever occupies it now", async () => {
    const machine = new Machine({ iommu: "passthrough" });
    const a = await master(machine);
    const b = await master(machine);
    const gone = allocCoherent(a.token, 4096);
    const handle = gone.dmaHandle;
    gone.free();
    const victim = allocCoherent(b.token, 4096);
    expect(victim.dmaHandle).toBe(handle);
    victim.bytes(b.token).set([0x10, 0x20, 0x30]);
    expect([...a.model.read(handle, 3)]).toEqual([0x10, 0x20, 0x30]);
    expect(a.model.write(handle, bytes(0xde, 0xad))).toBe(true);
    expect([...victim.bytes(b.token).subarray(0, 3)]).toEqual([0xde, 0xad, 0x30]);
    expect(machine.iommu.faults).toEqual([]);
  });

  it("DMA to freed memory nobody took reads the free poison and writes nowhere", async () => {
    const machine = new Machine({ iommu: "passthrough" });
    const { token, model } = await master(machine);
    const gone = allocCoherent(token, 4096);
    const handle = gone.dmaHandle;
    gone.free();
    expect([...model.read(handle, 4)]).toEqual([0x6b, 0x6b, 0x6b, 0x6b]);
    expect(model.write(handle, bytes(1))).toBe(false);
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("DMA to another device's memory lands there: nothing stops it", async () => {
    const machine = new Machine({ iommu: "passthrough" });
    const a = await master(machine);
    const b = await master(machine);
    const theirs = allocCoherent(b.token, 64);
    a.model.write(theirs.dmaHandle, bytes(7));
    expect(theirs.bytes(b.token)[0]).toBe(7);
    expect(machine.iommu.faults).toEqual([]);
  });

  it("the mask bounds the physical address: a 31-bit device gets the pool's first GiB", async () => {
    const machine = new Machine({ iommu: "passthrough", memory: { bytes: 16 << 20 } });
    const { token } = await master(machine, 31);
    const buf = allocCoherent(token, 4096);
    expect(buf.dmaHandle < 1n << 31n).toBe(true);
  });
});

describe("both modes", () => {
  it.each<IommuMode>(["strict", "passthrough"])("%s: a device's DMA round-trips through its own allocation", async (iommu) => {
    const machine = new Machine({ iommu });
    const { token, model } = await master(machine);
    const buf = allocCoherent(token, 256);
    expect(model.write(buf.dmaHandle + 10n, bytes(1, 2, 3, 4))).toBe(true);
    expect([...buf.bytes(token).subarray(10, 14)]).toEqual([1, 2, 3, 4]);
    buf.bytes(token)[200] = 0x42;
    expect(model.read(buf.dmaHandle + 200n, 1)[0]).toBe(0x42);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});
