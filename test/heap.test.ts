/**
 * The kernel heap (src/sim/heap.ts, src/driver/kmalloc.ts) and the swiotlb
 * bounce pool's limits: kmalloc's slab classes and whole pages, cache-line
 * alignment, vmalloc's scattered pages, frees refused while mapped or done
 * twice, exhaustion that changes nothing, and hostile inputs refused with a
 * code.
 */

import { describe, expect, it } from "vitest";
import { enableBusMaster, kmalloc, Machine, mapSg, mapSingle, setDmaMask, vmalloc } from "../src/index.js";
import type { DataDirection, KernelBuffer, MachineOptions } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";

const PAGE = 4096;
const LINE = 64;

/** A device with a 64-bit mask (or `mask`) in passthrough: a mapping's bus address is the buffer's physical address. */
async function setup(options: MachineOptions = {}, mask = 64) {
  const machine = new Machine({ iommu: "passthrough", ...options });
  const bound = await bindModel(machine, new OpenModel(), (dev) => {
    setDmaMask(dev, mask);
    enableBusMaster(dev);
  });
  return { ...bound, machine };
}

type Token = Awaited<ReturnType<typeof setup>>["token"];

/** The physical address of a kmalloc buffer: its passthrough bus address, mapped for a moment. */
function physOf(token: Token, buf: KernelBuffer<"kmalloc">): bigint {
  const m = mapSingle(token, buf, "to-device");
  const address = m.dmaAddress;
  m.unmap(token);
  return address;
}

describe("kmalloc", () => {
  it("slab classes: a power of two from one cache line up to half a page, whole pages above", async () => {
    const { machine, token } = await setup();
    const cases: [number, number][] = [
      [1, 64],
      [64, 64],
      [65, 128],
      [100, 128],
      [1000, 1024],
      [2048, 2048],
      [2049, PAGE],
      [PAGE, PAGE],
      [5000, 2 * PAGE],
    ];
    for (const [size, footprint] of cases) {
      const before = machine.memory.heap().bytesInUse;
      const buf = kmalloc(token, size);
      expect(machine.memory.heap().bytesInUse - before, `kmalloc(${size})`).toBe(footprint);
      expect(buf.size).toBe(size);
      expect(buf.allocator).toBe("kmalloc");
      // The CPU sees the bytes asked for, zero-filled, not the slot.
      expect(buf.bytes()).toHaveLength(size);
      expect(buf.bytes().every((x) => x === 0)).toBe(true);
      buf.free();
      expect(machine.memory.heap().bytesInUse).toBe(before);
    }
    expect(machine.memory.heap().allocations).toBe(0);
  });

  it("lies at 4 GiB, above a 32-bit mask; every buffer starts on a cache line, and no two share one", async () => {
    const { token } = await setup();
    const sizes = [1, 8, 63, 64, 65, 100, 128, 200, 500, 1024, 1500, 2048, 3000, 12, 40, 7];
    const spans = sizes.map((size) => {
      const buf = kmalloc(token, size);
      const phys = physOf(token, buf);
      expect(phys >= 1n << 32n).toBe(true);
      expect(phys % BigInt(LINE), `kmalloc(${size})`).toBe(0n);
      return { first: phys / BigInt(LINE), last: (phys + BigInt(size) - 1n) / BigInt(LINE) };
    });
    const owner = new Map<bigint, number>();
    spans.forEach(({ first, last }, i) => {
      for (let line = first; line <= last; line++) {
        expect(owner.get(line), `line 0x${(line * BigInt(LINE)).toString(16)}`).toBeUndefined();
        owner.set(line, i);
      }
    });
  });

  it("objects of one class are carved from one slab page, and a freed slot is handed out again", async () => {
    const { machine, token } = await setup();
    const a = kmalloc(token, 64);
    const b = kmalloc(token, 64);
    const pa = physOf(token, a);
    const pb = physOf(token, b);
    expect(pb - pa).toBe(64n);
    expect(pa / BigInt(PAGE)).toBe(pb / BigInt(PAGE));
    expect(machine.memory.heap().bytesInUse).toBe(128);
    a.free();
    const c = kmalloc(token, 50);
    expect(physOf(token, c)).toBe(pa);
  });

  it("views: bytes() and view() share the memory, little-endian; a view taken before a map is dead after it", async () => {
    const { token } = await setup();
    const buf = kmalloc(token, 16);
    buf.view().setUint32(0, 0x0403_0201, true);
    expect([...buf.bytes().subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    const old = buf.bytes();
    mapSingle(token, buf, "to-device").unmap(token);
    expect(old).toHaveLength(0);
    expect([...buf.bytes().subarray(0, 4)]).toEqual([1, 2, 3, 4]);
  });
});

describe("vmalloc", () => {
  it("contiguous for the CPU, page by page scattered in physical memory", async () => {
    const { machine, token, model } = await setup();
    const buf = vmalloc(token, 4 * PAGE);
    expect(buf.allocator).toBe("vmalloc");
    expect(machine.memory.heap().bytesInUse).toBe(4 * PAGE);
    const data = Uint8Array.from({ length: 4 * PAGE }, (_, i) => (i >> 12) + 1);
    buf.bytes().set(data);
    const table = mapSg(token, buf, "to-device");
    const pages = table.segments.map((s) => s.dmaAddress);
    expect(pages).toHaveLength(4);
    for (let i = 1; i < 4; i++) expect(pages[i]).not.toBe(pages[i - 1]! + BigInt(PAGE));
    // Each physical page holds its own page of the buffer.
    pages.forEach((address, i) => expect(model.read(address, 1)[0]).toBe(i + 1));
    table.unmap(token);
    buf.free();
    expect(machine.memory.heap().bytesInUse).toBe(0);
  });

  it("a size that is not a whole number of pages takes whole pages, and the CPU sees the size asked", async () => {
    const { machine, token } = await setup();
    const buf = vmalloc(token, PAGE + 1);
    expect(buf.bytes()).toHaveLength(PAGE + 1);
    expect(machine.memory.heap().bytesInUse).toBe(2 * PAGE);
    const table = mapSg(token, buf, "to-device");
    expect(table.entries).toBe(2);
    expect(table.segments.map((s) => s.length)).toEqual([PAGE, 1]);
    table.unmap(token);
  });

  it("cannot be mapped as one single mapping: EINVAL, and nothing is mapped", async () => {
    const { machine, token } = await setup();
    const buf = vmalloc(token, 2 * PAGE);
    // The types refuse it (types-tests/must-not-compile/vmalloc-map-single.ts); a cast reaches the run-time check.
    expect(expectCode(() => mapSingle(token, smuggle<KernelBuffer<"kmalloc">>(buf), "to-device"), "EINVAL").message).toMatch(/not physically contiguous/);
    buf.free();
    expect(machine.memory.heap().allocations).toBe(0);
  });
});

describe("free", () => {
  it("kfree and vfree while mapped are EBUSY and change nothing; after the unmap they free", async () => {
    const { machine, token, model } = await setup();
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    expectCode(() => buf.free(), "EBUSY");
    expect(buf.freed).toBe(false);
    expect(model.write(rx.dmaAddress, Uint8Array.of(3))).toBe(true);
    rx.unmap(token);
    expect(buf.bytes()[0]).toBe(3);
    buf.free();
    const big = vmalloc(token, 2 * PAGE);
    const table = mapSg(token, big, "to-device");
    expectCode(() => big.free(), "EBUSY");
    table.unmap(token);
    big.free();
    expect(machine.memory.heap()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("a double free is EINVAL; a freed buffer's views are dead and refused, and it cannot be mapped", async () => {
    const { machine, token } = await setup();
    for (const buf of [kmalloc(token, 64), vmalloc(token, PAGE)]) {
      const view = buf.bytes();
      buf.free();
      expect(buf.freed).toBe(true);
      expect(view).toHaveLength(0);
      expectCode(() => buf.free(), "EINVAL");
      expectCode(() => buf.bytes(), "EINVAL");
      expectCode(() => buf.view(), "EINVAL");
      expectCode(() => mapSg(token, buf, "to-device"), "EINVAL");
    }
    expect(machine.memory.heap().allocations).toBe(0);
  });

  it("a buffer outlives the binding that allocated it: any binding frees it", async () => {
    const machine = new Machine();
    const a = await bindModel(machine, new OpenModel());
    const buf = kmalloc(a.token, 64);
    await machine.pci.unbind(a.dev);
    buf.bytes()[0] = 1;
    buf.free();
    expect(machine.memory.heap().allocations).toBe(0);
  });
});

describe("exhaustion changes nothing", () => {
  it("heap: ENOMEM for what does not fit, with the stats and every live buffer as they were", async () => {
    const { machine, token } = await setup({ memory: { heapBytes: 16 * PAGE } });
    const half = kmalloc(token, 8 * PAGE);
    half.bytes().fill(0x5a);
    const before = machine.memory.heap();
    expectCode(() => kmalloc(token, 9 * PAGE), "ENOMEM");
    expectCode(() => vmalloc(token, 9 * PAGE), "ENOMEM");
    expectCode(() => kmalloc(token, 17 * PAGE), "ENOMEM");
    expect(machine.memory.heap()).toEqual(before);
    expect(half.bytes().every((x) => x === 0x5a)).toBe(true);
    // Exactly what is left still fits; then not even a 64-byte slab object.
    const rest = vmalloc(token, 8 * PAGE);
    expect(machine.memory.heap().bytesInUse).toBe(16 * PAGE);
    const full = machine.memory.heap();
    expectCode(() => kmalloc(token, 1), "ENOMEM");
    expect(machine.memory.heap()).toEqual(full);
    rest.free();
    half.free();
    expect(machine.memory.heap()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });

  it("swiotlb: a 32-bit device's mapping that finds no slot is ENOMEM, maps nothing, and the buffer stays the CPU's", async () => {
    const { machine, token } = await setup({ memory: { swiotlbBytes: 4 * 2048 } }, 32);
    const bufs = Array.from({ length: 5 }, () => kmalloc(token, 2048));
    const maps = bufs.slice(0, 4).map((b) => mapSingle(token, b, "to-device"));
    expect(maps.every((m) => m.bounced)).toBe(true);
    expect(machine.memory.swiotlb()).toMatchObject({ bytesInUse: 4 * 2048, allocations: 4 });
    const last = bufs[4]!;
    last.bytes().fill(1);
    const swiotlb = machine.memory.swiotlb();
    const heap = machine.memory.heap();
    expectCode(() => mapSingle(token, last, "to-device"), "ENOMEM");
    expect(machine.memory.swiotlb()).toEqual(swiotlb);
    expect(machine.memory.heap()).toEqual(heap);
    // Not mapped: its view is alive, taking one reports nothing, and it frees.
    expect(last.bytes().every((x) => x === 1)).toBe(true);
    last.free();
    for (const m of maps) m.unmap(token);
    expect(machine.memory.swiotlb().bytesInUse).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("swiotlb: a bounced mapping larger than 256 KiB is ENOMEM whatever is free", async () => {
    const { machine, token } = await setup({}, 32);
    const buf = kmalloc(token, 256 * 1024 + 1);
    expect(expectCode(() => mapSingle(token, buf, "to-device"), "ENOMEM").message).toMatch(/at most 262144 bytes/);
    expect(machine.memory.swiotlb().bytesInUse).toBe(0);
    const fits = mapSingle(token, buf, "to-device", 0, 256 * 1024);
    expect(fits.bounced).toBe(true);
    fits.unmap(token);
    buf.free();
  });
});

describe("hostile inputs are BoundscopeErrors with a code", () => {
  it("kmalloc and vmalloc sizes", async () => {
    const { machine, token } = await setup();
    for (const allocate of [kmalloc, vmalloc]) {
      for (const size of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, smuggle<number>("64"), smuggle<number>(64n), smuggle<number>(undefined)]) {
        expectCode(() => allocate(token, size), "EINVAL");
      }
      // A whole number, but larger than the heap.
      expectCode(() => allocate(token, Number.MAX_SAFE_INTEGER), "ENOMEM");
    }
    expect(machine.memory.heap()).toMatchObject({ bytesInUse: 0, allocations: 0, highWater: 0 });
  });

  it("a dead or forged token", async () => {
    const machine = new Machine();
    const { token, dev } = await bindModel(machine, new OpenModel());
    await machine.pci.unbind(dev);
    expectCode(() => kmalloc(token, 64), "ENXIO");
    // A structural copy of a token is not a token.
    expectCode(() => vmalloc(smuggle<typeof token>({ ...token }), 64), "EPERM");
    expect(machine.memory.heap().allocations).toBe(0);
  });

  it("mapSingle: not a buffer, offsets and lengths outside it, an unknown direction", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    for (const notBuffer of [undefined, null, {}, new Uint8Array(64), smuggle<object>({ size: 64, bytes: () => new Uint8Array(64) })]) {
      expectCode(() => mapSingle(token, smuggle<KernelBuffer<"kmalloc">>(notBuffer), "to-device"), "EINVAL");
    }
    for (const [offset, length] of [
      [-1, 8],
      [0, 0],
      [0, 65],
      [64, 1],
      [1.5, 8],
      [0, Number.NaN],
      [Number.NaN, 8],
      [0, Number.POSITIVE_INFINITY],
      [smuggle<number>("0"), 8],
    ] as const) {
      expectCode(() => mapSingle(token, buf, "to-device", offset, length), "EINVAL");
    }
    for (const direction of ["sideways", "", undefined, 1, "TO-DEVICE"]) {
      expectCode(() => mapSingle(token, buf, smuggle<DataDirection>(direction)), "EINVAL");
    }
    // Nothing was mapped.
    buf.free();
    expect(machine.memory.swiotlb().allocations).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("Machine memory options for the heap and the bounce pool", () => {
    for (const heapBytes of [0, -PAGE, 100, PAGE + 1, 1.5 * PAGE, Number.NaN, smuggle<number>("4096"), 2 ** 41]) {
      expectCode(() => new Machine({ memory: { heapBytes } }), "EINVAL");
    }
    for (const swiotlbBytes of [0, -2048, 1000, 2048.5, Number.NaN, smuggle<number>(null), 0x4000_0000]) {
      expectCode(() => new Machine({ memory: { swiotlbBytes } }), "EINVAL");
    }
    expect(new Machine({ memory: { heapBytes: PAGE, swiotlbBytes: 2048 } }).memory.heap().capacity).toBe(PAGE);
  });
});

describe("a buffer of another machine", () => {
  it("cannot be mapped: EINVAL, and neither machine maps anything", async () => {
    const a = await setup();
    const b = await setup();
    const foreign = kmalloc(b.token, 64);
    expect(expectCode(() => mapSingle(a.token, foreign, "to-device"), "EINVAL").message).toMatch(/another machine/);
    expect(expectCode(() => mapSg(a.token, [foreign], "to-device"), "EINVAL").message).toMatch(/another machine/);
    expect(a.machine.memory.swiotlb().allocations).toBe(0);
    foreign.free();
    expect(b.machine.memory.heap().allocations).toBe(0);
  });
});
