/**
 * Coherent DMA allocations (src/coherent.ts): zero-filled memory owned by one
 * binding, reachable by the CPU only through that binding's live token, dead
 * to the CPU once freed, and freed by devres whatever the driver forgot.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Machine } from "../src/index.js";
import type { BoundDevice, CoherentAllocation } from "../src/index.js";
import { bindOne, expectCode, NIC, smuggle, thrownBy } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

describe("a fresh allocation", () => {
  it("has the size asked for, seen through bytes() and view()", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 100);
    expect(buf.size).toBe(100);
    expect(buf.bytes(token).length).toBe(100);
    expect(buf.view(token).byteLength).toBe(100);
  });

  it("is zero-filled", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 3 * 4096 + 17);
    expect(buf.bytes(token).every((b) => b === 0)).toBe(true);
  });

  it("is zero-filled even where a previous allocation at the same address was written and freed", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const first = allocCoherent(token, 4096);
    first.bytes(token).fill(0xa5);
    const handle = first.dmaHandle;
    first.free();
    const second = allocCoherent(token, 4096);
    expect(second.dmaHandle).toBe(handle);
    expect(second.bytes(token).every((b) => b === 0)).toBe(true);
  });

  it("has a bigint DMA handle", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    expect(typeof allocCoherent(token, 64).dmaHandle).toBe("bigint");
  });

  it("bytes() and view() show the same memory, and view() reads little-endian", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 16);
    buf.view(token).setUint32(4, 0xdeadbeef, true);
    expect([...buf.bytes(token).subarray(4, 8)]).toEqual([0xef, 0xbe, 0xad, 0xde]);
    buf.bytes(token)[0] = 0x34;
    buf.bytes(token)[1] = 0x12;
    expect(buf.view(token).getUint16(0, true)).toBe(0x1234);
  });

  it("keeps what was written for the next bytes() call", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 8);
    buf.bytes(token).set([1, 2, 3]);
    expect([...buf.bytes(token).subarray(0, 3)]).toEqual([1, 2, 3]);
  });
});

describe("bad sizes", () => {
  it.each([
    ["0", 0],
    ["-1", -1],
    ["1.5", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ['"64"', "64"],
    ["2 ** 53", 2 ** 53],
    ["a bigint", 64n],
  ])("a size of %s is EINVAL and changes no stats", async (_, size) => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    allocCoherent(token, 4096);
    const before = machine.memory.stats();
    expectCode(() => allocCoherent(token, smuggle<number>(size)), "EINVAL");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("a dead token with a bad size is ENXIO: the token is checked first", async () => {
    const machine = new Machine();
    const { dev, token } = await bindOne(machine);
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(token, -1), "ENXIO");
  });
});

describe("free", () => {
  it("free() gives the memory back to the pool", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 4096);
    buf.free();
    expect(buf.freed).toBe(true);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });

  it("a double free is EINVAL and changes no stats", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 4096);
    allocCoherent(token, 8192);
    buf.free();
    const before = machine.memory.stats();
    expectCode(() => buf.free(), "EINVAL");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("freeing what devres already freed at unbind is EINVAL", async () => {
    const machine = new Machine();
    const { dev, token } = await bindOne(machine);
    const buf = allocCoherent(token, 4096);
    await machine.pci.unbind(dev);
    expectCode(() => buf.free(), "EINVAL");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("[Symbol.dispose] frees the allocation", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 4096);
    buf[Symbol.dispose]();
    expect(buf.freed).toBe(true);
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("an allocation held by `using` is freed at the end of its block", async () => {
    const machine = new Machine();
    let during = -1;
    const driver = defineDriver({
      name: "scratch",
      ids: [NIC],
      probe(dev) {
        {
          using scratch = allocCoherent(dev, 4096);
          scratch.bytes(dev).fill(1);
          during = machine.memory.stats().allocations;
        }
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(during).toBe(1);
    expect(machine.memory.stats().allocations).toBe(0);
  });
});

describe("freed memory is dead to the CPU", () => {
  it("a Uint8Array from bytes() reads nothing after free and writes go nowhere", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    const bytes = buf.bytes(token);
    bytes.fill(7);
    buf.free();
    expect(bytes.length).toBe(0);
    expect(bytes[0]).toBeUndefined();
    bytes[0] = 9;
    expect(bytes[0]).toBeUndefined();
  });

  it("a DataView from view() throws on any access after free", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    const view = buf.view(token);
    buf.free();
    expect(thrownBy(() => view.getUint32(0, true))).toBeInstanceOf(TypeError);
    expect(thrownBy(() => view.setUint8(0, 1))).toBeInstanceOf(TypeError);
  });

  it("views handed out before an unbind are dead after it", async () => {
    const machine = new Machine();
    const { dev, token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    const bytes = buf.bytes(token);
    const view = buf.view(token);
    await machine.pci.unbind(dev);
    expect(bytes.length).toBe(0);
    expect(thrownBy(() => view.getUint8(0))).toBeInstanceOf(TypeError);
  });

  it("a freed allocation's memory is not reachable from the allocation that reuses its pages", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const old = allocCoherent(token, 4096);
    const stale = old.bytes(token);
    old.free();
    const fresh = allocCoherent(token, 4096);
    expect(fresh.dmaHandle).toBe(old.dmaHandle);
    stale[0] = 0xff;
    expect(fresh.bytes(token)[0]).toBe(0);
  });
});

describe("the token is checked before the allocation", () => {
  it("bytes() with a live token on a freed allocation is EINVAL", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    buf.free();
    expectCode(() => buf.bytes(token), "EINVAL");
    expectCode(() => buf.view(token), "EINVAL");
  });

  it("bytes() with a dead token on a freed allocation is ENXIO", async () => {
    const machine = new Machine();
    const { dev, token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    buf.free();
    await machine.pci.unbind(dev);
    expectCode(() => buf.bytes(token), "ENXIO");
    expectCode(() => buf.view(token), "ENXIO");
  });

  it("bytes() after unplug is ENXIO, though devres freed the allocation too", async () => {
    const machine = new Machine();
    const { dev, token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    await machine.pci.unplug(dev);
    expect(buf.freed).toBe(true);
    expectCode(() => buf.bytes(token), "ENXIO");
  });

  it("bytes() and view() with another device's token are EINVAL", async () => {
    const machine = new Machine();
    const one = await bindOne(machine);
    const two = await bindOne(machine);
    const buf = allocCoherent(one.token, 64);
    expectCode(() => buf.bytes(two.token), "EINVAL");
    expectCode(() => buf.view(two.token), "EINVAL");
  });

  it("bytes() with a forged token is EPERM", async () => {
    const machine = new Machine();
    const { token } = await bindOne(machine);
    const buf = allocCoherent(token, 64);
    expectCode(() => buf.bytes(smuggle<BoundDevice<Smuggled>>({ ...token })), "EPERM");
    expectCode(() => buf.view(smuggle<BoundDevice<Smuggled>>(new Proxy(token, {}))), "EPERM");
  });

  it("bytes() with the token of the same device's next binding is EINVAL", async () => {
    const machine = new Machine();
    const held: CoherentAllocation<Smuggled>[] = [];
    const tokens: BoundDevice<Smuggled>[] = [];
    const driver = defineDriver({
      name: "rebind",
      ids: [NIC],
      probe(dev) {
        tokens.push(smuggle(dev));
        held.push(smuggle(allocCoherent(dev, 64)));
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    await machine.pci.unregister(driver);
    await machine.pci.register(driver);
    expectCode(() => held[0]!.bytes(tokens[1]!), "EINVAL");
  });
});

describe("device-managed allocations", () => {
  it("what the driver did not free is still readable in remove() and freed after it", async () => {
    const machine = new Machine();
    const seen: number[] = [];
    const driver = defineDriver({
      name: "forgetful",
      ids: [NIC],
      probe(dev) {
        const ring = allocCoherent(dev, 4096);
        ring.bytes(dev)[0] = 42;
        allocCoherent(dev, 8192);
        return {
          remove(d) {
            seen.push(ring.bytes(d)[0]!, machine.memory.stats().allocations);
          },
        };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(seen).toEqual([42, 2]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("an allocation made in remove() is freed too", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "late",
      ids: [NIC],
      probe: () => ({ remove: (d) => void allocCoherent(d, 4096) }),
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("after unbind the pool holds nothing for that device and another device's memory is untouched", async () => {
    const machine = new Machine();
    const one = await bindOne(machine);
    const two = await bindOne(machine);
    allocCoherent(one.token, 4096);
    allocCoherent(one.token, 3 * 4096);
    const kept = allocCoherent(two.token, 2 * 4096);
    kept.bytes(two.token).fill(3);
    await machine.pci.unbind(one.dev);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 2 * 4096, allocations: 1 });
    expect(kept.freed).toBe(false);
    expect(kept.bytes(two.token).every((b) => b === 3)).toBe(true);
  });

  it("an allocation made while bound, outside probe, is freed at unbind", async () => {
    const machine = new Machine();
    const { dev, token } = await bindOne(machine);
    const buf = allocCoherent(token, 4096);
    await machine.pci.unbind(dev);
    expect(buf.freed).toBe(true);
    expect(machine.memory.stats().allocations).toBe(0);
  });
});
