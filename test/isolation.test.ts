/**
 * Isolation of device DMA (src/dma.ts, src/iommu.ts). Behind a strict IOMMU a
 * device reaches only what was mapped for it: every try at another device's
 * memory, by its bus address or its physical address, is blocked, recorded
 * as a fault, reads nothing of it and changes none of it. In any mode a
 * device reaches no pool memory outside the live allocations: a stray DMA
 * lands nowhere, reads all-ones or poison, and is a checker violation.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, enableBusMaster, Machine } from "../src/index.js";
import type { CoherentAllocation, IommuMode } from "../src/index.js";
import { bindModel, OpenModel } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const PAGE = 4096;
/** What a blocked read returns (a PCIe master abort). */
const ALL_ONES = 0xff;
/** What a read of unbacked memory returns in passthrough (the kernel's slab poison). */
const POISON = 0x6b;

/** A device with bus mastering on. */
const master = (machine: Machine) => bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));

/** Fills `buf` with a pattern unlike anything a device would write, and returns a copy. */
function pattern(buf: CoherentAllocation<Smuggled>, token: Parameters<CoherentAllocation<Smuggled>["bytes"]>[0], seed: number): number[] {
  const bytes = buf.bytes(token);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 13 + seed) & 0xff;
  return Array.from(bytes);
}

/** Every way a device might aim at `[address, address + size)`: its first and last byte, its middle, across its start, across its end, and all of it. */
function aims(address: bigint, size: number): (readonly [bigint, number])[] {
  const n = BigInt(size);
  return [
    [address, 4],
    [address + n / 2n, 8],
    [address + n - 1n, 1],
    [address - 2n, 4],
    [address + n - 2n, 4],
    [address, size],
  ];
}

describe("strict: a device cannot reach another device's memory", () => {
  it("every read and write aimed at another device's allocation, by its bus address, is blocked, faults, and leaves it untouched", async () => {
    const machine = new Machine({ iommu: "strict" });
    const a = await master(machine);
    const b = await master(machine);
    // B's target sits at an IOVA that A has nothing mapped at.
    allocCoherent(a.token, PAGE);
    allocCoherent(b.token, PAGE);
    allocCoherent(b.token, PAGE);
    const target = allocCoherent(b.token, 2 * PAGE);
    const expected = pattern(target, b.token, 5);
    const tries = aims(target.dmaHandle, 2 * PAGE);
    for (const [address, length] of tries) {
      const read = a.model.read(address, length);
      expect(read.every((x) => x === ALL_ONES)).toBe(true);
      expect(a.model.write(address, new Uint8Array(length).fill(0xee))).toBe(false);
    }
    expect(Array.from(target.bytes(b.token))).toEqual(expected);
    expect(machine.iommu.faults).toHaveLength(2 * tries.length);
    expect(new Set(machine.iommu.faults.map((f) => f.device))).toEqual(new Set([a.dev.name]));
    expect(new Set(machine.dmaDebug.violations.map((v) => `${v.kind} ${v.device}`))).toEqual(new Set([`dma-outside-mapping ${a.dev.name}`]));
    expect(a.dev.state).toBe("bound");
  });

  it("aimed at the physical pages of the pool, where another device's memory lives, it is blocked too", async () => {
    const machine = new Machine({ iommu: "strict", memory: { bytes: 64 * PAGE } });
    const a = await master(machine);
    const b = await master(machine);
    const mine = allocCoherent(a.token, PAGE);
    const theirs = allocCoherent(b.token, 4 * PAGE);
    const expected = pattern(theirs, b.token, 9);
    const base = BigInt(machine.memory.base);
    for (let page = 0n; page < 64n; page++) {
      expect(a.model.read(base + page * BigInt(PAGE), 16).every((x) => x === ALL_ONES)).toBe(true);
      expect(a.model.write(base + page * BigInt(PAGE), new Uint8Array(16).fill(0xee))).toBe(false);
    }
    expect(Array.from(theirs.bytes(b.token))).toEqual(expected);
    expect(mine.bytes(a.token).every((x) => x === 0)).toBe(true);
    expect(machine.iommu.faults).toHaveLength(128);
  });

  it("the same bus address reaches each device's own memory, never the other's", async () => {
    const machine = new Machine({ iommu: "strict" });
    const a = await master(machine);
    const b = await master(machine);
    const mine = allocCoherent(a.token, PAGE);
    const theirs = allocCoherent(b.token, PAGE);
    expect(mine.dmaHandle).toBe(theirs.dmaHandle);
    const expected = pattern(theirs, b.token, 1);
    expect(a.model.write(mine.dmaHandle, new Uint8Array(PAGE).fill(0x77))).toBe(true);
    expect([...a.model.read(mine.dmaHandle, 4)]).toEqual([0x77, 0x77, 0x77, 0x77]);
    expect(Array.from(theirs.bytes(b.token))).toEqual(expected);
    expect(machine.iommu.faults).toEqual([]);
  });

  it("a device whose driver unbound, with its memory handed to another device, reaches none of it", async () => {
    const machine = new Machine({ iommu: "strict" });
    const a = await master(machine);
    const b = await master(machine);
    const handle = allocCoherent(a.token, PAGE).dmaHandle;
    await machine.pci.unbind(a.dev);
    const reused = allocCoherent(b.token, PAGE);
    const expected = pattern(reused, b.token, 3);
    // Bus mastering went off with the binding; the IOMMU would block it anyway.
    expect(a.model.write(handle, new Uint8Array(8).fill(0xee))).toBe(false);
    expect(a.model.read(handle, 8).every((x) => x === ALL_ONES)).toBe(true);
    expect(Array.from(reused.bytes(b.token))).toEqual(expected);
  });
});

describe.each<IommuMode>(["strict", "passthrough"])("%s: a device reaches no pool memory outside the live allocations", (iommu) => {
  /** A small pool with a live allocation for each of two devices and free pages around them. */
  async function layout() {
    const machine = new Machine({ iommu, memory: { bytes: 16 * PAGE } });
    const a = await master(machine);
    const b = await master(machine);
    const gap = allocCoherent(a.token, PAGE);
    const mine = allocCoherent(a.token, PAGE);
    const theirs = allocCoherent(b.token, 2 * PAGE);
    gap.free();
    const live = [
      { buf: mine, token: a.token, bytes: pattern(mine, a.token, 2) },
      { buf: theirs, token: b.token, bytes: pattern(theirs, b.token, 4) },
    ];
    const untouched = (): void => {
      for (const { buf, token, bytes } of live) expect(Array.from(buf.bytes(token))).toEqual(bytes);
    };
    return { machine, a, b, mine, theirs, untouched };
  }

  /** Bus addresses backed by no live allocation: below the pool, a freed page inside it, free pages after the allocations, past its end. */
  function stray(machine: Machine): bigint[] {
    const base = BigInt(machine.memory.base);
    const end = base + BigInt(machine.memory.capacity);
    return [0n, 0x1000n, base - 16n, base, base + 8n * BigInt(PAGE), end - 16n, end, end + 0x10_0000n, 2n ** 48n];
  }

  it("a stray read returns no memory's bytes; a stray write lands nowhere; each is a violation", async () => {
    const { machine, a, untouched } = await layout();
    const violations = machine.dmaDebug.violations.length;
    const addresses = stray(machine);
    const blocked = iommu === "strict" ? ALL_ONES : POISON;
    for (const address of addresses) {
      expect(a.model.read(address, 16).every((x) => x === blocked), `read at 0x${address.toString(16)}`).toBe(true);
      expect(a.model.write(address, new Uint8Array(16).fill(0xee)), `write at 0x${address.toString(16)}`).toBe(false);
    }
    untouched();
    const reported = machine.dmaDebug.violations.slice(violations);
    expect(reported.every((v) => v.kind === "dma-outside-mapping" || v.kind === "dma-after-free")).toBe(true);
    // Every address is named, each once however often it was hit.
    expect(new Set(reported.map((v) => v.address))).toEqual(new Set(addresses));
    expect(machine.iommu.faults).toHaveLength(iommu === "strict" ? 2 * addresses.length : 0);
  });

  it("a stray write leaves nothing behind: the free pages it aimed at come back zero-filled", async () => {
    const { machine, a, b, untouched } = await layout();
    const base = BigInt(machine.memory.base);
    // Page 0 was freed; pages 1 to 3 are live; 4 to 15 were never used.
    const free = [0n, ...Array.from({ length: 12 }, (_, i) => BigInt(i + 4))];
    for (const page of free) a.model.write(base + page * BigInt(PAGE), new Uint8Array(PAGE).fill(0xee));
    untouched();
    // Everything free now, allocated afresh: none of the stray bytes is there.
    const again = allocCoherent(a.token, PAGE);
    const rest = allocCoherent(b.token, 12 * PAGE);
    expect(machine.memory.fragmentation().free).toBe(0);
    expect(again.bytes(a.token).every((x) => x === 0)).toBe(true);
    expect(rest.bytes(b.token).every((x) => x === 0)).toBe(true);
  });

  it("a transfer that starts in the device's own allocation and runs off the end of its pages is a violation, and reaches nothing past them", async () => {
    const { machine, a, b, untouched } = await layout();
    // Two pages, so not in the one-page hole at page 0: pages 4 and 5, with free pages after.
    const edge = allocCoherent(a.token, 2 * PAGE);
    const expected = pattern(edge, a.token, 8);
    const violations = machine.dmaDebug.violations.length;
    const wrote = a.model.write(edge.dmaHandle + BigInt(2 * PAGE) - 4n, new Uint8Array(64).fill(0xee));
    untouched();
    if (iommu === "strict") {
      // Blocked whole: not even the bytes inside its own page land.
      expect(wrote).toBe(false);
      expect(Array.from(edge.bytes(a.token))).toEqual(expected);
      expect(machine.iommu.faults).toHaveLength(1);
    } else {
      // The physical address is its own page: the first 4 bytes land there, the rest nowhere.
      expect(wrote).toBe(true);
      expect(Array.from(edge.bytes(a.token))).toEqual([...expected.slice(0, 2 * PAGE - 4), 0xee, 0xee, 0xee, 0xee]);
    }
    expect(machine.dmaDebug.violations.slice(violations).map((v) => v.kind)).toEqual(["dma-outside-mapping"]);
    const next = allocCoherent(b.token, 2 * PAGE);
    expect(next.bytes(b.token).every((x) => x === 0)).toBe(true);
  });

  it("such a transfer from an allocation at a reused address is named by that allocation, not by the freed one that had the address before", async () => {
    const { machine, a } = await layout();
    // One page: it takes the hole at page 0, which the device's freed allocation had.
    const reused = allocCoherent(a.token, PAGE);
    const violations = machine.dmaDebug.violations.length;
    a.model.write(reused.dmaHandle + BigInt(PAGE) - 4n, new Uint8Array(8).fill(0xee));
    const reported = machine.dmaDebug.violations.slice(violations);
    expect(reported.map((v) => v.kind)).toEqual(["dma-outside-mapping"]);
    expect(reported[0]!.message).toContain(`starts in its 4096-byte allocation at 0x${reused.dmaHandle.toString(16)}`);
  });

  it("the bytes past an allocation's size, inside its last page, are the page's tail: a write lands there and reads back, the CPU view is untouched, and it is reported", async () => {
    const { machine, a, untouched } = await layout();
    const small = allocCoherent(a.token, 100);
    const expected = pattern(small, a.token, 6);
    const violations = machine.dmaDebug.violations.length;
    // The IOMMU maps whole pages and the memory behind them is there: the write lands, as on hardware.
    expect(a.model.write(small.dmaHandle + 200n, new Uint8Array(16).fill(0xee))).toBe(true);
    expect([...a.model.read(small.dmaHandle + 200n, 16)]).toEqual(new Array(16).fill(0xee));
    // The tail before and after the bytes written is still the zero-filled page.
    expect([...a.model.read(small.dmaHandle + 100n, 100)]).toEqual(new Array(100).fill(0));
    expect([...a.model.read(small.dmaHandle + 216n, 16)]).toEqual(new Array(16).fill(0));
    // The CPU's view is the allocation's 100 bytes, none of them changed.
    expect(small.bytes(a.token)).toHaveLength(100);
    expect(Array.from(small.bytes(a.token))).toEqual(expected);
    untouched();
    expect(machine.iommu.faults).toEqual([]);
    // dma-debug sizes allocations in bytes, not pages: past the size is outside the mapping. Once, though hit four times.
    const reported = machine.dmaDebug.violations.slice(violations);
    expect(reported).toEqual([
      expect.objectContaining({ kind: "dma-outside-mapping", device: a.dev.name, driver: a.driver.name, address: small.dmaHandle + 200n, size: 16, direction: "write" }),
    ]);
    expect(reported[0]!.message).toContain("runs 116 bytes past the end of its 100-byte allocation");
    expect(reported[0]!.allocSite).toMatch(/isolation\.test\.ts:\d+:\d+/);
    // Freed and allocated afresh, the page's tail holds none of what the device wrote there.
    small.free();
    const again = allocCoherent(a.token, PAGE);
    expect(again.dmaHandle).toBe(small.dmaHandle);
    expect(again.bytes(a.token).every((x) => x === 0)).toBe(true);
  });
});
