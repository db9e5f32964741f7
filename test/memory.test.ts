/**
 * The simulated coherent pool (src/memory.ts): page rounding, exact stats,
 * bus addresses inside the pool, first fit, ENOMEM, and the DMA mask.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, Machine } from "../src/index.js";
import type { CoherentAllocation } from "../src/index.js";
import { bindOne, expectCode } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** `[start, end)` of an allocation on the bus, page-rounded. */
function span(buf: CoherentAllocation<Smuggled>, pageSize: number): [bigint, bigint] {
  const bytes = Math.ceil(buf.size / pageSize) * pageSize;
  return [buf.dmaHandle, buf.dmaHandle + BigInt(bytes)];
}

describe("page rounding and stats", () => {
  it("a fresh pool reports its capacity and nothing in use", () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    expect(machine.memory.stats()).toEqual({ capacity: 1 * MiB, bytesInUse: 0, allocations: 0, highWater: 0 });
  });

  it("the default pool is 64 MiB of 4 KiB pages", () => {
    const machine = new Machine();
    expect(machine.memory.capacity).toBe(64 * MiB);
    expect(machine.memory.pageSize).toBe(4 * KiB);
    expect(machine.memory.stats().capacity).toBe(64 * MiB);
  });

  it.each([
    [1, 4096],
    [4095, 4096],
    [4096, 4096],
    [4097, 8192],
    [3 * 4096 + 1, 4 * 4096],
  ])("%i bytes take %i bytes of the pool", async (size, rounded) => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    allocCoherent(token, size);
    expect(machine.memory.stats().bytesInUse).toBe(rounded);
  });

  it("sizes are rounded to the machine's page size", async () => {
    const machine = new Machine({ memory: { bytes: 64 * KiB, pageSize: 512 } });
    const { token } = await bindOne(machine);
    allocCoherent(token, 513);
    expect(machine.memory.stats().bytesInUse).toBe(1024);
  });

  it("stats count allocations and bytes exactly through allocations and frees", async () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    const { token } = await bindOne(machine);
    const a = allocCoherent(token, 100);
    const b = allocCoherent(token, 5000);
    expect(machine.memory.stats()).toEqual({ capacity: 1 * MiB, bytesInUse: 3 * 4096, allocations: 2, highWater: 3 * 4096 });
    a.free();
    expect(machine.memory.stats()).toEqual({ capacity: 1 * MiB, bytesInUse: 2 * 4096, allocations: 1, highWater: 3 * 4096 });
    b.free();
    expect(machine.memory.stats()).toEqual({ capacity: 1 * MiB, bytesInUse: 0, allocations: 0, highWater: 3 * 4096 });
  });

  it("the high-water mark keeps the peak across devices and unbinds", async () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    const one = await bindOne(machine);
    const two = await bindOne(machine);
    allocCoherent(one.token, 10 * 4096);
    allocCoherent(two.token, 5 * 4096);
    await machine.pci.unbind(one.dev);
    allocCoherent(two.token, 4096);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 6 * 4096, allocations: 2, highWater: 15 * 4096 });
  });

  it("stats returns a snapshot, not a live object", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const before = machine.memory.stats();
    allocCoherent(token, 4096);
    expect(before.bytesInUse).toBe(0);
  });
});

describe("bus addresses", () => {
  it("handles are page-aligned bus addresses inside the pool", async () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    const { token } = await bindOne(machine);
    const base = BigInt(machine.memory.base);
    const end = base + BigInt(machine.memory.capacity);
    for (const size of [1, 4096, 5000, 12 * 4096]) {
      const buf = allocCoherent(token, size);
      expect(buf.dmaHandle >= base).toBe(true);
      expect(buf.dmaHandle + BigInt(size) <= end).toBe(true);
      expect(buf.dmaHandle % 4096n).toBe(0n);
    }
  });

  it("live allocations have distinct, non-overlapping handles, across devices too", async () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    const one = await bindOne(machine);
    const two = await bindOne(machine);
    const bufs: CoherentAllocation<Smuggled>[] = [];
    const sizes = [1, 9000, 4096, 300, 20000, 4097, 65536];
    sizes.forEach((size, i) => bufs.push(allocCoherent(i % 2 === 0 ? one.token : two.token, size)));
    bufs[1]!.free();
    bufs[4]!.free();
    bufs.push(allocCoherent(one.token, 5000), allocCoherent(two.token, 4096 * 3));
    const live = bufs.filter((b) => !b.freed).map((b) => span(b, 4096)).sort((x, y) => (x[0] < y[0] ? -1 : 1));
    for (let i = 1; i < live.length; i++) expect(live[i]![0] >= live[i - 1]![1]).toBe(true);
    expect(new Set(live.map(([start]) => start)).size).toBe(live.length);
  });

  it("the pool hands out the lowest free address that fits", async () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    const { token } = await bindOne(machine);
    const a = allocCoherent(token, 4096);
    const b = allocCoherent(token, 2 * 4096);
    const c = allocCoherent(token, 4096);
    expect(a.dmaHandle).toBe(BigInt(machine.memory.base));
    expect(b.dmaHandle).toBe(a.dmaHandle + 4096n);
    expect(c.dmaHandle).toBe(b.dmaHandle + 2n * 4096n);
    b.free();
    expect(allocCoherent(token, 4096).dmaHandle).toBe(b.dmaHandle);
    expect(allocCoherent(token, 2 * 4096).dmaHandle).toBe(c.dmaHandle + 4096n);
  });
});

describe("ENOMEM", () => {
  it("an allocation larger than the whole pool is ENOMEM and changes no stats", async () => {
    const machine = new Machine({ memory: { bytes: 64 * KiB } });
    const { token } = await bindOne(machine);
    allocCoherent(token, 4096);
    const before = machine.memory.stats();
    expectCode(() => allocCoherent(token, 64 * KiB + 1), "ENOMEM");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("an allocation that no longer fits an exhausted pool is ENOMEM and changes no stats", async () => {
    const machine = new Machine({ memory: { bytes: 64 * KiB } });
    const { token } = await bindOne(machine);
    for (let i = 0; i < 16; i++) allocCoherent(token, 4096);
    const before = machine.memory.stats();
    expect(before.bytesInUse).toBe(64 * KiB);
    expectCode(() => allocCoherent(token, 1), "ENOMEM");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("an allocation with enough free bytes but no free run long enough is ENOMEM", async () => {
    const machine = new Machine({ memory: { bytes: 8 * 4096 } });
    const { token } = await bindOne(machine);
    const bufs = Array.from({ length: 8 }, () => allocCoherent(token, 4096));
    for (const i of [0, 2, 4, 6]) bufs[i]!.free();
    expect(machine.memory.fragmentation()).toEqual({ largestFree: 4096, free: 4 * 4096 });
    const before = machine.memory.stats();
    expectCode(() => allocCoherent(token, 2 * 4096), "ENOMEM");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("memory freed after ENOMEM can be allocated again", async () => {
    const machine = new Machine({ memory: { bytes: 2 * 4096 } });
    const { token } = await bindOne(machine);
    const a = allocCoherent(token, 2 * 4096);
    expectCode(() => allocCoherent(token, 4096), "ENOMEM");
    a.free();
    expect(allocCoherent(token, 2 * 4096).dmaHandle).toBe(a.dmaHandle);
  });

  it("the ENOMEM message names the device and the driver", async () => {
    const machine = new Machine({ memory: { bytes: 4096 } });
    const { dev, driver, token } = await bindOne(machine);
    const error = expectCode(() => allocCoherent(token, 8192), "ENOMEM");
    expect(error.message).toContain(dev.name);
    expect(error.message).toContain(driver.name);
  });
});

describe("the DMA mask", () => {
  // 1 GiB pages make a pool that reaches past 4 GiB cheap: the pool starts at
  // 1 GiB, and every one-byte allocation takes one whole page.
  const bigPool = { memory: { bytes: 8 * GiB, pageSize: 1 * GiB } } as const;

  it("with the default 32-bit mask, allocations stop at the 4 GiB line with ENOMEM", async () => {
    const machine = new Machine(bigPool);
    const { token } = await bindOne(machine);
    const handles = [1, 2, 3].map(() => allocCoherent(token, 1).dmaHandle);
    expect(handles).toEqual([1n << 30n, 2n << 30n, 3n << 30n]);
    const before = machine.memory.stats();
    const error = expectCode(() => allocCoherent(token, 1), "ENOMEM");
    expect(error.message).toContain("setDmaMask");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("with a 64-bit mask, the same allocation succeeds with a handle at or above 4 GiB", async () => {
    const machine = new Machine(bigPool);
    const { token } = await bindOne(machine, { dmaMask: 64 });
    const handles = [1, 2, 3, 4].map(() => allocCoherent(token, 1).dmaHandle);
    expect(handles.at(-1)! >= 1n << 32n).toBe(true);
  });

  it("a huge allocation that cannot fit below 4 GiB is ENOMEM with the default mask", async () => {
    const machine = new Machine({ memory: { bytes: 8 * GiB } });
    const { token } = await bindOne(machine);
    const before = machine.memory.stats();
    expectCode(() => allocCoherent(token, 4 * GiB), "ENOMEM");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("every handle given under a 33-bit mask ends within 33 bits, and the rest is ENOMEM", async () => {
    const machine = new Machine(bigPool);
    const { token } = await bindOne(machine, { dmaMask: 33 });
    const handles: bigint[] = [];
    for (;;) {
      try {
        handles.push(allocCoherent(token, 1).dmaHandle);
      } catch (error) {
        expect(error).toMatchObject({ code: "ENOMEM" });
        break;
      }
    }
    expect(handles).toHaveLength(7);
    for (const handle of handles) expect(handle + BigInt(GiB) <= 1n << 33n).toBe(true);
  });

  it("a 24-bit mask cannot reach the pool at all: ENOMEM", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine, { dmaMask: 24 });
    const error = expectCode(() => allocCoherent(token, 64), "ENOMEM");
    expect(error.message).toContain("24-bit");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("on a small pool the default mask reaches all of it", async () => {
    const machine = new Machine({ memory: { bytes: 16 * MiB } });
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 16 * MiB);
    expect(buf.dmaHandle + BigInt(16 * MiB) <= 1n << 32n).toBe(true);
  });

  it("the mask belongs to one binding: the next binding starts again at 32 bits", async () => {
    const machine = new Machine(bigPool);
    const wide = await bindOne(machine, { dmaMask: 64 });
    await machine.pci.unbind(wide.dev);
    const narrow = await bindOne(machine);
    for (let i = 0; i < 3; i++) allocCoherent(narrow.token, 1);
    expectCode(() => allocCoherent(narrow.token, 1), "ENOMEM");
  });

  it("a narrow mask on one device does not limit another device", async () => {
    const machine = new Machine(bigPool);
    const narrow = await bindOne(machine, { dmaMask: 24 });
    const wide = await bindOne(machine, { dmaMask: 64 });
    expectCode(() => allocCoherent(narrow.token, 1), "ENOMEM");
    expect(allocCoherent(wide.token, 1).dmaHandle).toBe(1n << 30n);
  });
});

describe("the read-only face", () => {
  it("machine.memory exposes the pool's layout and fragmentation, not its allocator", () => {
    const machine = new Machine({ memory: { bytes: 1 * MiB } });
    expect(Object.isFrozen(machine.memory)).toBe(true);
    expect(machine.memory.base).toBe(0x4000_0000);
    expect(machine.memory.fragmentation()).toEqual({ largestFree: 1 * MiB, free: 1 * MiB });
    expect("allocate" in machine.memory).toBe(false);
    expect("release" in machine.memory).toBe(false);
  });
});
