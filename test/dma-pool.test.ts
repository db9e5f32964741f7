/**
 * DMA pools (src/driver/dma-pool.ts): blocks aligned and within their
 * boundary, carved from coherent pages and reused, zero-filled, reached by
 * the device; `destroy()` refused while blocks are out; device-managed
 * destruction at unbind; and the run-time refusals behind the types.
 */

import { describe, expect, it } from "vitest";
import { createDmaPool, enableBusMaster, Machine, setDmaMask } from "../src/index.js";
import type { DmaAddress, DmaPool, IommuMode, PoolBlock, ProbeDevice } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const PAGE = 4096;

/** A device whose probe makes the pools `make` asks for. */
async function setup<Pools>(make: (dev: ProbeDevice<Smuggled>) => Pools, iommu: IommuMode = "passthrough") {
  const machine = new Machine({ iommu });
  let pools!: Pools;
  const bound = await bindModel(machine, new OpenModel(), (dev) => {
    setDmaMask(dev, 64);
    enableBusMaster(dev);
    pools = make(dev);
  });
  return { ...bound, machine, pools };
}

/** `count` blocks of `pool`. */
const take = (pool: DmaPool<Smuggled>, token: Parameters<DmaPool<Smuggled>["alloc"]>[0], count: number): PoolBlock<Smuggled>[] =>
  Array.from({ length: count }, () => pool.alloc(token));

describe("layout", () => {
  it.each<IommuMode>(["passthrough", "strict"])("%s: every block starts on its alignment, and no two blocks overlap", async (iommu) => {
    const { token, pools: pool } = await setup((dev) => createDmaPool(dev, "hdr", 24, 64), iommu);
    expect(pool).toMatchObject({ name: "hdr", size: 24, align: 64, boundary: 0 });
    const blocks = take(pool, token, 100);
    const handles = blocks.map((b) => b.dmaHandle);
    for (const h of handles) expect(h % 64n).toBe(0n);
    const sorted = [...handles].sort((x, y) => (x < y ? -1 : 1));
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBeGreaterThanOrEqual(64n);
    for (const b of blocks) expect(b.size).toBe(24);
    expect(pool.inUse).toBe(100);
  });

  it("no block crosses a multiple of the boundary; the slots that would are skipped", async () => {
    const { token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 48, 16, 256));
    const blocks = take(pool, token, 60);
    for (const { dmaHandle: h } of blocks) {
      expect(h % 16n).toBe(0n);
      expect(h / 256n, `0x${h.toString(16)}`).toBe((h + 47n) / 256n);
    }
    // 48-byte strides in a 256-byte window: 0x00, 0x30, 0x60, 0x90, 0xc0; 0xf0 would cross.
    const offsets = new Set(blocks.map((b) => Number(b.dmaHandle % 256n)));
    expect(offsets.has(0xf0)).toBe(false);
    expect([0x00, 0x30, 0x60, 0x90, 0xc0].every((o) => offsets.has(o))).toBe(true);
  });

  it("blocks are carved from one coherent page until it is full, then from another", async () => {
    const { machine, token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32, 32));
    expect(machine.memory.stats().bytesInUse).toBe(0);
    const first = take(pool, token, PAGE / 32);
    expect(machine.memory.stats().bytesInUse).toBe(PAGE);
    const base = first[0]!.dmaHandle;
    for (const b of first) expect(b.dmaHandle >= base && b.dmaHandle < base + BigInt(PAGE)).toBe(true);
    const next = pool.alloc(token);
    expect(machine.memory.stats().bytesInUse).toBe(2 * PAGE);
    expect(next.dmaHandle >= base && next.dmaHandle < base + BigInt(PAGE)).toBe(false);
  });

  it("a block larger than a page gets a chunk of its own size", async () => {
    const { machine, token, model, pools: pool } = await setup((dev) => createDmaPool(dev, "big", 6000));
    const block = pool.alloc(token);
    expect(block.bytes(token)).toHaveLength(6000);
    expect(machine.memory.stats().bytesInUse).toBe(2 * PAGE);
    expect(model.write(block.dmaHandle + 5990n, Uint8Array.of(1, 2, 3))).toBe(true);
    expect([...block.bytes(token).subarray(5990, 5993)]).toEqual([1, 2, 3]);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("use", () => {
  it("a freed block is reused, and comes back zero-filled", async () => {
    const { token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32, 32));
    const a = pool.alloc(token);
    const b = pool.alloc(token);
    a.bytes(token).fill(0xaa);
    a.view(token).setUint32(28, 0xdeadbeef, true);
    const handle = a.dmaHandle;
    a.free();
    expect(a.freed).toBe(true);
    expect(pool.inUse).toBe(1);
    const again = pool.alloc(token);
    expect(again.dmaHandle).toBe(handle);
    expect(again.bytes(token).every((x) => x === 0)).toBe(true);
    expect(b.dmaHandle).not.toBe(handle);
  });

  it.each<IommuMode>(["passthrough", "strict"])("%s: the device reads what the CPU wrote in a block and the CPU reads what the device wrote, with nothing reported", async (iommu) => {
    const { machine, token, model, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 16, 16), iommu);
    const desc = pool.alloc(token);
    desc.view(token).setUint32(0, 0x1234_5678, true);
    expect([...model.read(desc.dmaHandle, 4)]).toEqual([0x78, 0x56, 0x34, 0x12]);
    model.write(desc.dmaHandle + 8n, Uint8Array.of(0xaa, 0xbb));
    expect(desc.view(token).getUint16(8, true)).toBe(0xbbaa);
    desc.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("pool.free(dev, cpu, handle), kernel-style, frees the block the handle names", async () => {
    const { machine, token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    const a = pool.alloc(token);
    const b = pool.alloc(token);
    pool.free(token, b.bytes(token), b.dmaHandle);
    expect(b.freed).toBe(true);
    expect(a.freed).toBe(false);
    pool.free(token, undefined, a.dmaHandle);
    expect(pool.inUse).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("a freed block's views are refused, and a second free is EINVAL", async () => {
    const { token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    const a = pool.alloc(token);
    a.free();
    expectCode(() => a.bytes(token), "EINVAL");
    expectCode(() => a.view(token), "EINVAL");
    expectCode(() => a.free(), "EINVAL");
    expect(pool.inUse).toBe(0);
  });

  it("another binding's token is refused by alloc and by a block's views", async () => {
    const machine = new Machine();
    let pool!: DmaPool<Smuggled>;
    const a = await bindModel(machine, new OpenModel(), (dev) => {
      pool = createDmaPool(dev, "desc", 32);
    });
    const b = await bindModel(machine, new OpenModel());
    const block = pool.alloc(a.token);
    expectCode(() => pool.alloc(b.token), "EINVAL");
    expectCode(() => block.bytes(b.token), "EINVAL");
    expect(pool.inUse).toBe(1);
  });
});

describe("destroy", () => {
  it("EBUSY while blocks are out, changing nothing; once they are freed it frees the pool's memory, and the pool is gone", async () => {
    const { machine, token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    const a = pool.alloc(token);
    a.bytes(token)[0] = 5;
    expectCode(() => pool.destroy(), "EBUSY");
    // Nothing changed: the block is still there and usable.
    expect(a.freed).toBe(false);
    expect(a.bytes(token)[0]).toBe(5);
    expect(machine.memory.stats().bytesInUse).toBe(PAGE);
    a.free();
    pool.destroy();
    expect(machine.memory.stats().bytesInUse).toBe(0);
    expectCode(() => pool.alloc(token), "EINVAL");
    expectCode(() => pool.destroy(), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("device-managed: a pool with no blocks out is destroyed at unbind, with nothing reported", async () => {
    const { machine, token, dev, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    pool.alloc(token).free();
    expect(machine.memory.stats().bytesInUse).toBe(PAGE);
    await machine.pci.unbind(dev);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.events.some((e) => e.kind === "release" && e.resource === "dma-pool")).toBe(true);
  });

  it("device-managed: blocks left out at unbind are reported once, freed, and their memory is back", async () => {
    const { machine, token, dev, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    const blocks = take(pool, token, 3);
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["pending-at-unbind"]);
    expect(machine.dmaDebug.violations[0]!.message).toContain("3 DMA mappings were still live");
    expect(blocks.every((b) => b.freed)).toBe(true);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    // The token is dead now: its views are refused.
    expectCode(() => blocks[0]!.bytes(token), "ENXIO");
  });

  it("a pool destroyed by the driver is not destroyed again at unbind", async () => {
    const { machine, dev, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    pool.destroy();
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.events.filter((e) => e.kind === "release" && e.resource === "dma-pool")).toEqual([]);
  });
});

describe("what createDmaPool and the pool refuse", () => {
  it("hostile arguments are EINVAL BoundscopeErrors, and make no pool", async () => {
    let checked = 0;
    const { machine } = await setup((dev) => {
      const bad: [unknown, unknown, unknown, unknown][] = [
        ["", 32, 8, 0],
        [smuggle<string>(7), 32, 8, 0],
        ["p", 0, 8, 0],
        ["p", -32, 8, 0],
        ["p", 1.5, 8, 0],
        ["p", Number.NaN, 8, 0],
        ["p", (1 << 20) + 1, 8, 0],
        ["p", smuggle<number>("32"), 8, 0],
        ["p", 32, 0, 0],
        ["p", 32, 3, 0],
        ["p", 32, 24, 0],
        ["p", 32, Number.POSITIVE_INFINITY, 0],
        ["p", 32, 8, 16],
        ["p", 32, 8, 96],
        ["p", 32, 8, -256],
        ["p", 32, 8, 2 ** 31],
        ["p", 32, 8, 0.5],
      ];
      for (const [name, size, align, boundary] of bad) {
        expectCode(() => createDmaPool(dev, smuggle(name), smuggle(size), smuggle(align), smuggle(boundary)), "EINVAL");
        checked++;
      }
      return undefined;
    });
    expect(checked).toBe(17);
    expect(machine.memory.stats().bytesInUse).toBe(0);
  });

  it("createDmaPool is core-only: EPERM after probe returned", async () => {
    const { token } = await setup(() => undefined);
    expectCode(() => createDmaPool(token, "late", 32), "EPERM");
  });

  it("DmaPool.free with a handle that is not a bigint is EINVAL; with one no block has, EINVAL and reported", async () => {
    const { machine, token, pools: pool } = await setup((dev) => createDmaPool(dev, "desc", 32));
    const block = pool.alloc(token);
    expectCode(() => pool.free(token, undefined, smuggle<DmaAddress<Smuggled, "pool">>(Number(block.dmaHandle))), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([]);
    expectCode(() => pool.free(token, undefined, smuggle<DmaAddress<Smuggled, "pool">>(block.dmaHandle + 8n)), "EINVAL");
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["free-unknown"]);
    expect(block.freed).toBe(false);
  });
});

describe("another binding's token", () => {
  it("cannot allocate from or free into a pool: EINVAL, and the block stays allocated", async () => {
    const a = await setup((dev) => createDmaPool(dev, "a", 32));
    const b = await setup(() => undefined);
    const block = a.pools.alloc(a.token);
    const foreign = smuggle<Parameters<DmaPool<Smuggled>["alloc"]>[0]>(b.token);
    expectCode(() => a.pools.alloc(foreign), "EINVAL");
    expect(expectCode(() => a.pools.free(foreign, block.bytes(a.token), block.dmaHandle), "EINVAL").message).toMatch(/belongs to/);
    // Refused as a token of the wrong binding, not looked up among that binding's blocks and reported.
    expect([...a.machine.dmaDebug.violations, ...b.machine.dmaDebug.violations]).toEqual([]);
    expect(block.freed).toBe(false);
    expect(a.pools.inUse).toBe(1);
    a.pools.free(a.token, block.bytes(a.token), block.dmaHandle);
    expect(block.freed).toBe(true);
  });
});
