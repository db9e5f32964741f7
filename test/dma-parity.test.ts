/**
 * Parity with the kernel's dma-debug (`kernel/dma/debug.c`), issue 12 §7.
 *
 * One test per check the kernel makes that applies to a simulated machine,
 * and per check only a simulator can make. Each triggers the check and
 * asserts the violation's kind, that its message names the device, the
 * driver and the call sites that apply (where the memory was made, where it
 * was given back, where the offending call was), and that those sites name
 * this file; then does the same flow right and asserts nothing is reported.
 * Checks the types already refuse are reached through `smuggle` casts, as a
 * driver in JavaScript or one using `any` would.
 *
 * The kernel's "map error never checked" does not apply: a failed map throws
 * (`ENOMEM`), there is no in-band error value to forget to check.
 */

import { describe, expect, it } from "vitest";
import {
  allocCoherent,
  createDmaPool,
  enableBusMaster,
  freeCoherent,
  kmalloc,
  Machine,
  mapSg,
  mapSingle,
  setDmaMask,
  setMaxSegmentSize,
  setSegmentBoundary,
  syncSgForCpu,
  syncSgForDevice,
  syncSingleForCpu,
  syncSingleForDevice,
  unmapSg,
  unmapSingle,
  vmalloc,
} from "../src/index.js";
import type { DmaAddress, DmaPool, DmaViolation, DmaViolationKind, IommuMode, MachineOptions, ProbeDevice, SgTable, StreamingAddress } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A site in this file, as the checker formats it: `fn (…/test/dma-parity.test.ts:12:34)` or the bare location. */
const HERE = /dma-parity\.test\.ts:\d+:\d+/;
const MODES: readonly IommuMode[] = ["passthrough", "strict"];

interface Setup {
  readonly mask?: number;
  readonly probe?: (dev: ProbeDevice<Smuggled>) => void;
}

/**
 * A bound device the test plays the firmware of, with bus mastering on, a
 * 64-bit mask (no bouncing) unless told otherwise, and a pool of 32-byte
 * blocks made in probe.
 */
async function setup(options: MachineOptions = {}, { mask = 64, probe }: Setup = {}) {
  const machine = new Machine({ iommu: "passthrough", ...options });
  let pool!: DmaPool<Smuggled>;
  const bound = await bindModel(machine, new OpenModel({ bars: [0x100] }), (dev) => {
    setDmaMask(dev, mask);
    enableBusMaster(dev);
    pool = createDmaPool(dev, "desc", 32, 32);
    probe?.(dev);
  });
  return { ...bound, machine, pool };
}

type Bound = Awaited<ReturnType<typeof setup>>;

const kinds = (machine: Machine): DmaViolationKind[] => machine.dmaDebug.violations.map((v) => v.kind);

/** The one violation recorded since `from`, checked to be `kind`. */
function single(machine: Machine, kind: DmaViolationKind, from = 0): DmaViolation {
  const recorded = machine.dmaDebug.violations.slice(from);
  expect(recorded.map((v) => v.kind)).toEqual([kind]);
  return recorded[0]!;
}

/**
 * Asserts that `v` names the device and the driver, in its fields and its
 * message, and that each of `sites` is a site in this file the message names.
 * Distinct sites must be distinct places.
 */
function expectNamed(v: DmaViolation, { dev, driver }: Bound, sites: readonly ("allocSite" | "callSite" | "freeSite")[]): void {
  expect(v.device).toBe(dev.name);
  expect(v.driver).toBe(driver.name);
  expect(v.message).toContain(dev.name);
  expect(v.message).toContain(`driver "${driver.name}"`);
  for (const field of sites) {
    const site = v[field];
    expect(site, field).toMatch(HERE);
    expect(v.message, field).toContain(site!);
  }
  const named = sites.map((field) => v[field]);
  expect(new Set(named).size, "each site is its own place").toBe(named.length);
}

/** The distinct lines of this file a message names. */
function linesNamed(message: string): Set<string> {
  return new Set([...message.matchAll(/dma-parity\.test\.ts:(\d+):\d+/g)].map((m) => m[1]!));
}

/** The machine's DMA memory is all back: coherent pool, kernel heap, swiotlb. */
function expectNothingHeld(machine: Machine): void {
  expect(machine.memory.stats().bytesInUse).toBe(0);
  expect(machine.memory.heap().bytesInUse).toBe(0);
  expect(machine.memory.heap().allocations).toBe(0);
  expect(machine.memory.swiotlb().bytesInUse).toBe(0);
}

// ---------------------------------------------------------------- the kernel's checks

describe("free-unknown: an unmap or free of an address the device never had", () => {
  const NOWHERE = 0x1234_5000n;

  it("freeCoherent, unmapSingle and DmaPool.free of an unknown address: EINVAL, and each names the call's site", async () => {
    const b = await setup();
    const { machine, token, pool } = b;
    expectCode(() => freeCoherent(token, smuggle<DmaAddress<Smuggled, "coherent">>(NOWHERE)), "EINVAL");
    const coherent = single(machine, "free-unknown");
    expectNamed(coherent, b, ["callSite"]);
    expect(coherent.address).toBe(NOWHERE);
    expect(coherent.message).toContain("freeCoherent(0x12345000)");

    expectCode(() => unmapSingle(token, smuggle<StreamingAddress<Smuggled, "to-device">>(NOWHERE), 64, "to-device"), "EINVAL");
    const streaming = single(machine, "free-unknown", 1);
    expectNamed(streaming, b, ["callSite"]);
    expect(streaming.message).toContain("unmapSingle(0x12345000)");
    expect(streaming.message).toContain("mapSingle");

    expectCode(() => pool.free(token, undefined, smuggle<DmaAddress<Smuggled, "pool">>(NOWHERE)), "EINVAL");
    const block = single(machine, "free-unknown", 2);
    expectNamed(block, b, ["callSite"]);
    expect(block.message).toContain("DmaPool.free(0x12345000)");
  });

  it("a second unmap of the same mapping is a double free naming where it was mapped, unmapped, and unmapped again", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const address = mapSingle(token, buf, "to-device").dmaAddress;
    unmapSingle(token, address, 64, "to-device");
    expect(kinds(machine)).toEqual([]);
    expectCode(() => unmapSingle(token, address, 64, "to-device"), "EINVAL");
    const v = single(machine, "double-free");
    expectNamed(v, b, ["allocSite", "freeSite", "callSite"]);
    expect(v.message).toContain("already unmapped");
    buf.free();
  });

  it("done right: each address given back once by the call that made it, nothing reported", async () => {
    const { machine, token, pool } = await setup();
    const ring = allocCoherent(token, 4096);
    freeCoherent(token, ring.dmaHandle, 4096, ring.bytes(token));
    const buf = kmalloc(token, 64);
    const tx = mapSingle(token, buf, "to-device");
    unmapSingle(token, tx.dmaAddress, 64, "to-device");
    const desc = pool.alloc(token);
    pool.free(token, desc.bytes(token), desc.dmaHandle);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("wrong-size: an unmap or free with a size other than the mapping's", () => {
  it("unmapSingle and freeCoherent with the wrong size are reported, and the memory is given back all the same, as the kernel does", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    // Named functions, so the sites read `mapTx (…)` and `unmapTx (…)`.
    function mapTx() {
      return mapSingle(token, buf, "to-device");
    }
    function unmapTx(address: StreamingAddress<Smuggled, "to-device">) {
      unmapSingle(token, address, 32, "to-device");
    }
    const tx = mapTx();
    unmapTx(tx.dmaAddress);
    const v = single(machine, "wrong-size");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.allocSite).toMatch(/^mapTx \(.*dma-parity\.test\.ts:\d+:\d+\)$/);
    expect(v.callSite).toMatch(/^unmapTx \(.*dma-parity\.test\.ts:\d+:\d+\)$/);
    expect(v.message).toContain("it is 64 bytes, and the call says 32");
    expect(tx.state).toBe("unmapped");

    const ring = allocCoherent(token, 4096);
    freeCoherent(token, ring.dmaHandle, 100);
    const w = single(machine, "wrong-size", 1);
    expectNamed(w, b, ["allocSite", "callSite"]);
    expect(w.message).toContain("it is 4096 bytes, and the call says 100");
    expect(ring.freed).toBe(true);
    buf.free();
    expect(machine.memory.stats().bytesInUse).toBe(0);
  });

  it("done right: the size mapped, nothing reported", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    const tx = mapSingle(token, buf, "to-device", 16, 32);
    unmapSingle(token, tx.dmaAddress, 32, "to-device");
    const ring = allocCoherent(token, 100);
    freeCoherent(token, ring.dmaHandle, 100);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("wrong-function: given back by a call of another family (coherent, single, sg, pool)", () => {
  type Family = "coherent" | "single" | "sg" | "pool";
  const MAKER: Record<Family, string> = { coherent: "allocCoherent", single: "mapSingle", sg: "mapSg", pool: "DmaPool.alloc" };
  const UNMAKER: Record<Family, string> = { coherent: "freeCoherent", single: "unmapSingle", sg: "unmapSg", pool: "DmaPool.free" };

  /** Makes one mapping of `family`: its address, its size, and the right way to give it back. */
  function make(b: Bound, family: Family): { address: bigint; size: number; giveBack: () => void } {
    const { token, pool } = b;
    switch (family) {
      case "coherent": {
        const ring = allocCoherent(token, 64);
        return { address: ring.dmaHandle, size: 64, giveBack: () => freeCoherent(token, ring.dmaHandle, 64) };
      }
      case "single": {
        const buf = kmalloc(token, 64);
        const tx = mapSingle(token, buf, "to-device");
        return {
          address: tx.dmaAddress,
          size: 64,
          giveBack: () => {
            unmapSingle(token, tx.dmaAddress, 64, "to-device");
            buf.free();
          },
        };
      }
      case "sg": {
        const buf = kmalloc(token, 64);
        const table = mapSg(token, [buf], "to-device");
        return {
          address: table.segments[0]!.dmaAddress,
          size: 64,
          giveBack: () => {
            unmapSg(token, table, table.entries, "to-device");
            buf.free();
          },
        };
      }
      case "pool": {
        const block = pool.alloc(token);
        return { address: block.dmaHandle, size: 32, giveBack: () => pool.free(token, block.bytes(token), block.dmaHandle) };
      }
    }
  }

  /** Gives `address` back through `call`, with the size and direction right: only the family is wrong. */
  function giveBackWith(b: Bound, call: "freeCoherent" | "unmapSingle" | "DmaPool.free", address: bigint, size: number): void {
    const { token, pool } = b;
    if (call === "freeCoherent") freeCoherent(token, smuggle<DmaAddress<Smuggled, "coherent">>(address), size);
    else if (call === "unmapSingle") unmapSingle(token, smuggle<StreamingAddress<Smuggled, "to-device">>(address), size, "to-device");
    else pool.free(token, undefined, smuggle<DmaAddress<Smuggled, "pool">>(address));
  }

  // Every pair the API can express at run time: unmapSg takes a table, not an address (see below).
  const pairs: [Family, "freeCoherent" | "unmapSingle" | "DmaPool.free"][] = [
    ["coherent", "unmapSingle"],
    ["coherent", "DmaPool.free"],
    ["single", "freeCoherent"],
    ["single", "DmaPool.free"],
    ["sg", "freeCoherent"],
    ["sg", "unmapSingle"],
    ["sg", "DmaPool.free"],
    ["pool", "freeCoherent"],
    ["pool", "unmapSingle"],
  ];

  it.each(pairs)("made by %s, given back by %s: EINVAL, reported, and the mapping stays live until the right call", async (family, call) => {
    const b = await setup();
    const { machine } = b;
    const made = make(b, family);
    expectCode(() => giveBackWith(b, call, made.address, made.size), "EINVAL");
    const v = single(machine, "wrong-function");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.address).toBe(made.address);
    expect(v.message).toContain(`${call}(0x${made.address.toString(16)})`);
    expect(v.message).toContain(`it was made by ${MAKER[family]} and must be given back by ${UNMAKER[family]}, not ${call}`);
    // Done right, on the same mapping: the right call still finds it, and reports nothing more.
    made.giveBack();
    expect(machine.dmaDebug.violations).toHaveLength(1);
    expect(b.pool.inUse).toBe(0);
    expect(machine.memory.heap().bytesInUse).toBe(0);
  });

  it("unmapSg takes a table, so nothing but one of its tables reaches it: EINVAL, with nothing for the checker to compare", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const tx = mapSingle(token, buf, "to-device");
    expectCode(() => unmapSg(token, smuggle<SgTable<Smuggled, "to-device">>(tx), 1, "to-device"), "EINVAL");
    expectCode(() => unmapSg(token, smuggle<SgTable<Smuggled, "to-device">>(tx.dmaAddress), 1, "to-device"), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(tx.state).toBe("device");
  });
});

describe("wrong-cpu-address: a free whose CPU address is another allocation's", () => {
  it("freeCoherent with another allocation's view, and DmaPool.free with another block's view, are reported; the right memory is freed", async () => {
    const b = await setup();
    const { machine, token, pool } = b;
    const ring = allocCoherent(token, 4096);
    const other = allocCoherent(token, 4096);
    freeCoherent(token, ring.dmaHandle, 4096, other.bytes(token));
    const v = single(machine, "wrong-cpu-address");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.address).toBe(ring.dmaHandle);
    expect(v.message).toContain("the CPU address passed is not this memory's");
    expect(ring.freed).toBe(true);
    expect(other.freed).toBe(false);

    const desc = pool.alloc(token);
    const neighbour = pool.alloc(token);
    pool.free(token, neighbour.bytes(token), desc.dmaHandle);
    const w = single(machine, "wrong-cpu-address", 1);
    expectNamed(w, b, ["allocSite", "callSite"]);
    expect(w.address).toBe(desc.dmaHandle);
    expect(desc.freed).toBe(true);
    expect(neighbour.freed).toBe(false);
    // A view of the right block that starts elsewhere in it is not its CPU address either.
    const third = pool.alloc(token);
    pool.free(token, third.bytes(token).subarray(8), third.dmaHandle);
    expect(kinds(machine)).toEqual(["wrong-cpu-address", "wrong-cpu-address", "wrong-cpu-address"]);
  });

  it("done right: each with its own view, nothing reported", async () => {
    const { machine, token, pool } = await setup();
    const ring = allocCoherent(token, 4096);
    allocCoherent(token, 4096);
    freeCoherent(token, ring.dmaHandle, 4096, ring.bytes(token));
    const desc = pool.alloc(token);
    pool.alloc(token);
    pool.free(token, desc.bytes(token), desc.dmaHandle);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("wrong-sg-count: an sg unmap or sync with another entry count", () => {
  it.each(MODES)("%s: passing the segments returned instead of the entries mapped is reported, in the unmap and in the syncs", async (iommu) => {
    const b = await setup({ iommu });
    const { machine, token } = b;
    const buf = vmalloc(token, 4 * 4096);
    const table = mapSg(token, buf, "from-device");
    expect(table.entries).toBe(4);
    // Behind a strict IOMMU the four pages merge into one segment; in passthrough the count still differs when off by one.
    const wrong = table.segments.length === table.entries ? table.entries - 1 : table.segments.length;
    syncSgForCpu(token, table, wrong, "from-device");
    const v = single(machine, "wrong-sg-count");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain(`it was mapped with 4 entries, and the call says ${wrong}`);
    syncSgForDevice(token, table, wrong, "from-device");
    unmapSg(token, table, wrong, "from-device");
    expect(kinds(machine)).toEqual(["wrong-sg-count", "wrong-sg-count", "wrong-sg-count"]);
    expect(linesNamed(machine.dmaDebug.violations[2]!.message).size).toBe(2);
    expect(table.state).toBe("unmapped");
    buf.free();
  });

  it("done right: table.entries throughout, nothing reported", async () => {
    const { machine, token } = await setup({ iommu: "strict" });
    const buf = vmalloc(token, 4 * 4096);
    const table = mapSg(token, buf, "from-device");
    syncSgForCpu(token, table, table.entries, "from-device");
    syncSgForDevice(token, table, table.entries, "from-device");
    unmapSg(token, table, table.entries, "from-device");
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("wrong-direction: an unmap with another direction than the mapping's", () => {
  it("unmapSingle and unmapSg with a direction passed through a cast are reported, and unmap all the same", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const tx = mapSingle(token, buf, "to-device");
    unmapSingle(token, tx.dmaAddress, 64, smuggle("from-device"));
    const v = single(machine, "wrong-direction");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain("it was mapped to-device, and the call says from-device");
    expect(tx.state).toBe("unmapped");

    const table = mapSg(token, [buf], "from-device");
    unmapSg(token, table, 1, smuggle("bidirectional"));
    const w = single(machine, "wrong-direction", 1);
    expectNamed(w, b, ["allocSite", "callSite"]);
    expect(w.message).toContain("it was mapped from-device, and the call says bidirectional");
    expect(table.state).toBe("unmapped");
    buf.free();
  });

  it("done right: the direction mapped, nothing reported", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    unmapSingle(token, mapSingle(token, buf, "to-device").dmaAddress, 64, "to-device");
    const table = mapSg(token, [buf], "from-device");
    unmapSg(token, table, 1, "from-device");
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("sync-unmapped: a sync of memory not mapped", () => {
  it("a sync of an address never mapped names the call; one of an unmapped mapping names where it was mapped and unmapped too", async () => {
    const b = await setup();
    const { machine, token } = b;
    expectCode(() => syncSingleForCpu(token, smuggle<StreamingAddress<Smuggled, "from-device">>(0x1234_5000n), 64, "from-device"), "EINVAL");
    const v = single(machine, "sync-unmapped");
    expectNamed(v, b, ["callSite"]);
    expect(v.message).toContain("the device has no mapping at this bus address");

    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    const address = rx.dmaAddress;
    rx.unmap(token);
    expectCode(() => syncSingleForDevice(token, address, 64, "from-device"), "EINVAL");
    const w = single(machine, "sync-unmapped", 1);
    // A handle's unmap is named by its virtual time, not a site (capturing one costs as much as a packet).
    expectNamed(w, b, ["allocSite", "callSite"]);
    expect(w.freeSite).toBeUndefined();
    expect(w.message).toMatch(/was already unmapped at t=\d+ ns/);

    // An address-taking unmap keeps its site, and the message names it.
    const again = mapSingle(token, buf, "from-device");
    const second = again.dmaAddress;
    unmapSingle(token, second, 64, "from-device");
    expectCode(() => syncSingleForCpu(token, second, 64, "from-device"), "EINVAL");
    const y = single(machine, "sync-unmapped", 2);
    expectNamed(y, b, ["allocSite", "freeSite", "callSite"]);

    const table = mapSg(token, [buf], "from-device");
    unmapSg(token, table, 1, "from-device");
    // The address-taking sg calls take any handle of a table, stale ones included.
    expectCode(() => syncSgForCpu(token, table, 1, "from-device"), "EINVAL");
    const x = single(machine, "sync-unmapped", 3);
    expectNamed(x, b, ["allocSite", "freeSite", "callSite"]);
    buf.free();
  });

  it("done right: syncs only while mapped, nothing reported", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    const address = mapSingle(token, buf, "from-device").dmaAddress;
    syncSingleForCpu(token, address, 64, "from-device");
    syncSingleForDevice(token, address, 64, "from-device");
    unmapSingle(token, address, 64, "from-device");
    const table = mapSg(token, [buf], "from-device");
    syncSgForCpu(token, table, 1, "from-device");
    unmapSg(token, table, 1, "from-device");
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("sync-outside-mapping: a sync of bytes past the mapping", () => {
  it("a partial sync that runs past the end is EINVAL and reported, and moves nothing", async () => {
    const b = await setup();
    const { machine, token, model } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    model.write(rx.dmaAddress, Uint8Array.of(7));
    expectCode(() => syncSingleForCpu(token, rx.dmaAddress, 64, "from-device", 8), "EINVAL");
    const v = single(machine, "sync-outside-mapping");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain("bytes 8 to 72 lie outside the 64 bytes mapped");
    // The refused sync handed nothing to the CPU: the handle from the map is still current.
    expect(rx.state).toBe("device");
    expectCode(() => syncSingleForDevice(token, rx.dmaAddress, 128, "from-device"), "EINVAL");
    expect(kinds(machine)).toEqual(["sync-outside-mapping", "sync-outside-mapping"]);
    rx.unmap(token);
    buf.free();
  });

  it("done right: partial syncs inside the mapping, nothing reported", async () => {
    const { machine, token, model } = await setup();
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    model.write(rx.dmaAddress + 8n, Uint8Array.of(7));
    syncSingleForCpu(token, rx.dmaAddress, 56, "from-device", 8);
    expect(buf.bytes()[8]).toBe(7);
    syncSingleForDevice(token, rx.dmaAddress, 56, "from-device", 8);
    unmapSingle(token, rx.dmaAddress, 64, "from-device");
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("sync-wrong-direction, sync-read-only-for-cpu, sync-write-only-for-device: kernel-style syncs with a direction through a cast", () => {
  it("sync-wrong-direction: a from-device mapping synced for the CPU as to-device, a to-device one for the device as from-device", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    syncSingleForCpu(token, smuggle<StreamingAddress<Smuggled, "bidirectional">>(rx.dmaAddress), 64, smuggle("to-device"));
    const v = single(machine, "sync-wrong-direction");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain("it was mapped from-device, and the sync says to-device");
    unmapSingle(token, rx.dmaAddress, 64, "from-device");
    const tx = mapSingle(token, buf, "to-device");
    syncSingleForDevice(token, tx.dmaAddress, 64, smuggle("from-device"));
    expect(kinds(machine)).toEqual(["sync-wrong-direction", "sync-wrong-direction"]);
    unmapSingle(token, tx.dmaAddress, 64, "to-device");
    buf.free();
  });

  it("sync-read-only-for-cpu: a to-device mapping synced for the CPU (with the direction it must then lie about)", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const tx = mapSingle(token, buf, "to-device");
    syncSingleForCpu(token, smuggle<StreamingAddress<Smuggled, "from-device">>(tx.dmaAddress), 64, smuggle("from-device"));
    // As in the kernel, the direction differs too: both are reported.
    expect(kinds(machine)).toEqual(["sync-wrong-direction", "sync-read-only-for-cpu"]);
    const v = machine.dmaDebug.violations[1]!;
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain("the device only reads this memory, so there is nothing to sync for the CPU");
    // The same through the sg call.
    const table = mapSg(token, [kmalloc(token, 64)], "to-device");
    syncSgForCpu(token, smuggle<SgTable<Smuggled, "bidirectional">>(table), 1, "bidirectional");
    expect(kinds(machine).slice(2)).toEqual(["sync-wrong-direction", "sync-read-only-for-cpu"]);
    expectNamed(machine.dmaDebug.violations[3]!, b, ["allocSite", "callSite"]);
  });

  it("sync-write-only-for-device: a from-device mapping handed back to the device as to-device", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    syncSingleForCpu(token, rx.dmaAddress, 64, "from-device");
    syncSingleForDevice(token, rx.dmaAddress, 64, smuggle("to-device"));
    expect(kinds(machine)).toEqual(["sync-wrong-direction", "sync-write-only-for-device"]);
    const v = machine.dmaDebug.violations[1]!;
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain("the device only writes this memory");
  });

  it("done right: each sync in the mapping's direction; a bidirectional mapping takes any, as in the kernel", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    syncSingleForCpu(token, rx.dmaAddress, 64, "from-device");
    syncSingleForDevice(token, rx.dmaAddress, 64, "from-device");
    unmapSingle(token, rx.dmaAddress, 64, "from-device");
    const tx = mapSingle(token, buf, "to-device");
    syncSingleForDevice(token, tx.dmaAddress, 64, "to-device");
    unmapSingle(token, tx.dmaAddress, 64, "to-device");
    const both = mapSingle(token, buf, "bidirectional");
    syncSingleForCpu(token, smuggle<StreamingAddress<Smuggled, "from-device">>(both.dmaAddress), 64, "from-device");
    syncSingleForDevice(token, smuggle<StreamingAddress<Smuggled, "to-device">>(both.dmaAddress), 64, "to-device");
    unmapSingle(token, both.dmaAddress, 64, "bidirectional");
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("overlapping-cacheline: two mappings the device may write share a cache line", () => {
  it("two from-device mappings of one kmalloc buffer within one 64-byte line: the second names both map sites", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 128);
    const first = mapSingle(token, buf, "from-device", 0, 32);
    const second = mapSingle(token, buf, "from-device", 32, 32);
    const v = single(machine, "overlapping-cacheline");
    expectNamed(v, b, ["allocSite"]);
    expect(v.address).toBe(second.dmaAddress);
    // Its own map site and the other mapping's: two lines of this file.
    expect(linesNamed(v.message).size).toBe(2);
    expect(v.message).toContain(`shares the cache line at physical 0x${first.dmaAddress.toString(16)}`);
    first.unmap(token);
    second.unmap(token);
    buf.free();
  });

  it("a to-device mapping in the same line is not reported (the device cannot make the CPU read stale data), nor one in the next line", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 128);
    const rx = mapSingle(token, buf, "from-device", 0, 32);
    const tx = mapSingle(token, buf, "to-device", 32, 32);
    const next = mapSingle(token, buf, "from-device", 64, 64);
    expect(machine.dmaDebug.violations).toEqual([]);
    rx.unmap(token);
    tx.unmap(token);
    next.unmap(token);
    // Two kmalloc buffers never share a line: each is its own slab object.
    const a = kmalloc(token, 8);
    const c = kmalloc(token, 8);
    const ma = mapSingle(token, a, "from-device");
    const mc = mapSingle(token, c, "from-device");
    expect(machine.dmaDebug.violations).toEqual([]);
    ma.unmap(token);
    mc.unmap(token);
    // Once unmapped, the line is free for a new mapping.
    const again = mapSingle(token, buf, "from-device", 32, 32);
    expect(machine.dmaDebug.violations).toEqual([]);
    again.unmap(token);
  });
});

describe("sg-segment-too-long and sg-segment-boundary: a segment the device cannot take", () => {
  it("passthrough: an 8 KiB kmalloc buffer is one 8 KiB segment, longer than the 4 KiB the device takes", async () => {
    const b = await setup({}, { probe: (dev) => setMaxSegmentSize(dev, 4096) });
    const { machine, token } = b;
    const buf = kmalloc(token, 8192);
    const table = mapSg(token, buf, "to-device");
    expect(table.segments.map((s) => s.length)).toEqual([8192]);
    const v = single(machine, "sg-segment-too-long");
    expectNamed(v, b, ["callSite"]);
    expect(v.size).toBe(8192);
    expect(v.message).toContain("longer than the device's maximum segment of 4096 bytes");
    table.unmap(token);
    buf.free();
  });

  it("done right: a vmalloc buffer of the same size is one 4 KiB segment per page in passthrough, and split at 4 KiB under strict", async () => {
    for (const iommu of MODES) {
      const { machine, token } = await setup({ iommu }, { probe: (dev) => setMaxSegmentSize(dev, 4096) });
      const buf = vmalloc(token, 8192);
      const table = mapSg(token, buf, "to-device");
      expect(table.segments.map((s) => s.length)).toEqual([4096, 4096]);
      expect(machine.dmaDebug.violations).toEqual([]);
      table.unmap(token);
      buf.free();
    }
  });

  it("passthrough: a piece across the device's 4 KiB boundary is reported", async () => {
    const b = await setup({}, { probe: (dev) => setSegmentBoundary(dev, 0xfffn) });
    const { machine, token } = b;
    const buf = kmalloc(token, 8192);
    const table = mapSg(token, [{ buffer: buf, offset: 4000, length: 200 }], "to-device");
    const v = single(machine, "sg-segment-boundary");
    expectNamed(v, b, ["callSite"]);
    expect(v.address).toBe(table.segments[0]!.dmaAddress);
    expect(v.message).toContain("crosses the device's segment boundary (mask 0xfff)");
    table.unmap(token);
    // Done right: pieces that each stay inside one 4 KiB window.
    const good = mapSg(token, [{ buffer: buf, offset: 3900, length: 196 }, { buffer: buf, offset: 4096, length: 200 }], "to-device");
    expect(kinds(machine)).toEqual(["sg-segment-boundary"]);
    good.unmap(token);
    buf.free();
  });
});

describe("pending-at-unbind: mappings still live when the binding ends", () => {
  const cases = [
    ["a single mapping", (b: Bound) => mapSingle(b.token, kmalloc(b.token, 64), "from-device").buffer, "streaming mapping (from-device) of 64 bytes"],
    ["an sg table", (b: Bound) => mapSg(b.token, vmalloc(b.token, 8192), "to-device").buffers[0]!, "sg mapping of 2 entries (to-device) of 8192 bytes"],
    ["a pool block", (b: Bound) => (b.pool.alloc(b.token), undefined), `block of 32 bytes`],
  ] as const;

  it.each(cases)("%s left mapped: devres unmaps it and it is reported once, naming where it was made", async (_, leave, label) => {
    const b = await setup();
    const { machine, dev } = b;
    const buf = leave(b);
    await machine.pci.unbind(dev);
    const v = single(machine, "pending-at-unbind");
    expectNamed(v, b, ["allocSite"]);
    expect(v.message).toContain("1 DMA mapping was still live when the binding ended");
    expect(v.message).toContain(label);
    // Unmapped: the buffer can be freed, and nothing is left anywhere.
    buf?.free();
    expectNothingHeld(machine);
  });

  it("done right: everything given back in remove(), nothing reported", async () => {
    const { machine, dev, token, pool } = await setup();
    const rxBuf = kmalloc(token, 64);
    const rx = mapSingle(token, rxBuf, "from-device");
    const sgBuf = vmalloc(token, 8192);
    const table = mapSg(token, sgBuf, "to-device");
    const block = pool.alloc(token);
    rx.unmap(token);
    table.unmap(token);
    block.free();
    await machine.pci.unbind(dev);
    rxBuf.free();
    sgBuf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
    expectNothingHeld(machine);
  });
});

// ---------------------------------------------------------------- what only a simulator sees

describe("dma-after-unmap: the device DMAs into a mapping after it was unmapped", () => {
  it.each(MODES)("%s: a write after the unmap names where it was mapped and unmapped; passthrough lands it in the buffer, strict faults", async (iommu) => {
    const b = await setup({ iommu });
    const { machine, token, model } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    const address = rx.dmaAddress;
    unmapSingle(token, address, 64, "from-device");
    const landed = model.write(address, Uint8Array.of(0xab));
    const v = single(machine, "dma-after-unmap");
    expectNamed(v, b, ["allocSite", "freeSite"]);
    expect(v.direction).toBe("write");
    expect(v.address).toBe(address);
    // On hardware a late write with no IOMMU corrupts the buffer the CPU owns now.
    expect(landed).toBe(iommu === "passthrough");
    expect(buf.bytes()[0]).toBe(iommu === "passthrough" ? 0xab : 0);
    expect(machine.iommu.faults).toHaveLength(iommu === "strict" ? 1 : 0);
    buf.free();
  });

  it("bounced: the device writes its swiotlb slot after the unmap; the buffer never sees it, and the slot is named", async () => {
    const b = await setup({}, { mask: 32 });
    const { machine, token, model } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    expect(rx.bounced).toBe(true);
    const slot = rx.dmaAddress;
    model.write(slot, Uint8Array.of(1, 2));
    rx.unmap(token);
    expect([...buf.bytes().subarray(0, 2)]).toEqual([1, 2]);
    expect(machine.memory.swiotlb().bytesInUse).toBe(0);
    model.write(slot, Uint8Array.of(9, 9));
    const v = single(machine, "dma-after-unmap");
    // Unmapped through the handle: named by its time.
    expectNamed(v, b, ["allocSite"]);
    expect(v.message).toMatch(/unmapped \(t=\d+ ns\)/);
    expect(v.message).toContain("a swiotlb bounce slot of");
    expect(v.message).toContain("never reaches the buffer");
    expect([...buf.bytes().subarray(0, 2)]).toEqual([1, 2]);
    buf.free();
  });

  it("done right: the device writes while mapped, the driver unmaps after; nothing reported", async () => {
    const { machine, token, model } = await setup({}, { mask: 32 });
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    model.write(rx.dmaAddress, Uint8Array.of(1, 2));
    rx.unmap(token);
    expect([...buf.bytes().subarray(0, 2)]).toEqual([1, 2]);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("dma-into-cpu-owned: the device DMAs into a mapping the CPU owns", () => {
  it("a write after sync-for-cpu names the map site and the sync that gave it to the CPU", async () => {
    const b = await setup();
    const { machine, token, model } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    const cpu = rx.syncForCpu(token);
    model.write(cpu.dmaAddress, Uint8Array.of(1));
    const v = single(machine, "dma-into-cpu-owned");
    // A handle's sync is named by its time.
    expectNamed(v, b, ["allocSite"]);
    expect(v.message).toMatch(/which the CPU owns since a sync for the CPU at t=\d+ ns/);
    cpu.unmap(token);
    // An address-taking sync keeps its site.
    const again = mapSingle(token, buf, "from-device");
    syncSingleForCpu(token, again.dmaAddress, 64, "from-device");
    model.write(again.dmaAddress, Uint8Array.of(2));
    const w = single(machine, "dma-into-cpu-owned", 1);
    expectNamed(w, b, ["allocSite", "callSite"]);
    unmapSingle(token, again.dmaAddress, 64, "from-device");
    buf.free();
  });

  it("done right: the device writes only after sync-for-device; nothing reported", async () => {
    const { machine, token, model } = await setup();
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    const cpu = rx.syncForCpu(token);
    const back = cpu.syncForDevice(token);
    model.write(back.dmaAddress, Uint8Array.of(1));
    back.unmap(token);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("dma-wrong-direction: the device writes a to-device mapping, or reads a from-device one", () => {
  it.each(MODES)("%s: both are reported; strict blocks them (the page's permissions), passthrough lets them through", async (iommu) => {
    const b = await setup({ iommu });
    const { machine, token, model } = b;
    const out = kmalloc(token, 64);
    out.bytes().fill(0x11);
    const tx = mapSingle(token, out, "to-device");
    const landed = model.write(tx.dmaAddress, Uint8Array.of(0xee));
    expect(landed).toBe(iommu === "passthrough");
    const v = single(machine, "dma-wrong-direction");
    expectNamed(v, b, ["allocSite"]);
    expect(v.direction).toBe("write");
    expect(v.message).toContain("a to-device mapping, which the device may only read");

    const inb = kmalloc(token, 64);
    const rx = mapSingle(token, inb, "from-device");
    const read = model.read(rx.dmaAddress, 4);
    expect([...read]).toEqual(iommu === "strict" ? [0xff, 0xff, 0xff, 0xff] : [0, 0, 0, 0]);
    const w = single(machine, "dma-wrong-direction", 1);
    expectNamed(w, b, ["allocSite"]);
    expect(w.direction).toBe("read");
    expect(w.message).toContain("a from-device mapping, which the device may only write");
    expect(machine.iommu.faults).toHaveLength(iommu === "strict" ? 2 : 0);
    tx.unmap(token);
    rx.unmap(token);
    expect(out.bytes()[0]).toBe(iommu === "passthrough" ? 0xee : 0x11);
    out.free();
    inb.free();
  });

  it.each(MODES)("%s done right: the device reads to-device and writes from-device; nothing reported", async (iommu) => {
    const { machine, token, model } = await setup({ iommu });
    const out = kmalloc(token, 64);
    out.bytes().fill(0x11);
    const tx = mapSingle(token, out, "to-device");
    expect([...model.read(tx.dmaAddress, 2)]).toEqual([0x11, 0x11]);
    const inb = kmalloc(token, 64);
    const rx = mapSingle(token, inb, "from-device");
    expect(model.write(rx.dmaAddress, Uint8Array.of(5))).toBe(true);
    tx.unmap(token);
    rx.unmap(token);
    expect(inb.bytes()[0]).toBe(5);
    out.free();
    inb.free();
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
  });
});

describe("cpu-access-device-owned: the CPU takes a view of memory the device owns", () => {
  it("the buffer's bytes() while mapped names the map site and the access", async () => {
    const b = await setup();
    const { machine, token } = b;
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    buf.bytes();
    const v = single(machine, "cpu-access-device-owned");
    expectNamed(v, b, ["allocSite", "callSite"]);
    expect(v.message).toContain("A sync-for-cpu is missing");
    // After a sync for the device, the same again.
    const back = rx.syncForCpu(token).syncForDevice(token);
    buf.view();
    expect(kinds(machine)).toEqual(["cpu-access-device-owned", "cpu-access-device-owned"]);
    back.unmap(token);
    buf.free();
  });

  it("done right: the CPU reads after sync-for-cpu (through the handle) and after the unmap; nothing reported", async () => {
    const { machine, token, model } = await setup();
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    model.write(rx.dmaAddress, Uint8Array.of(3));
    const cpu = rx.syncForCpu(token);
    expect(cpu.bytes(token)[0]).toBe(3);
    expect(buf.bytes()[0]).toBe(3);
    cpu.unmap(token);
    expect(buf.bytes()[0]).toBe(3);
    buf.free();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

// ---------------------------------------------------------------- throw mode

describe('dmaDebug: "throw"', () => {
  it("throws EINVAL at the offending call, and the machine is consistent: everything can be given back, nothing leaks", async () => {
    const b = await setup({ dmaDebug: "throw" }, { mask: 32, probe: (dev) => setMaxSegmentSize(dev, 4096) });
    const { machine, token, dev, pool } = b;
    // wrong-size: thrown after the unmap, as the kernel unmaps all the same.
    const buf = kmalloc(token, 128);
    const tx = mapSingle(token, buf, "to-device");
    expect(tx.bounced).toBe(true);
    expect(expectCode(() => unmapSingle(token, tx.dmaAddress, 64, "to-device"), "EINVAL").message).toMatch(/^dma-debug: wrong-size: /);
    expect(tx.state).toBe("unmapped");
    // overlapping-cacheline: the map throws and leaves nothing mapped.
    const first = mapSingle(token, buf, "from-device", 0, 32);
    expect(expectCode(() => mapSingle(token, buf, "from-device", 32, 32), "EINVAL").message).toMatch(/^dma-debug: overlapping-cacheline: /);
    expect(machine.memory.swiotlb().allocations).toBe(1);
    // sync-outside-mapping.
    expect(expectCode(() => syncSingleForCpu(token, first.dmaAddress, 64, "from-device", 16), "EINVAL").message).toMatch(/^dma-debug: sync-outside-mapping: /);
    first.unmap(token);
    // sg-segment-too-long: the map throws and leaves nothing mapped.
    const big = kmalloc(token, 8192);
    expect(expectCode(() => mapSg(token, [{ buffer: big, offset: 0, length: 8192 }], "to-device"), "EINVAL").message).toMatch(/^dma-debug: sg-segment-too-long: /);
    // wrong-cpu-address: thrown after the free.
    const desc = pool.alloc(token);
    const other = pool.alloc(token);
    expect(expectCode(() => pool.free(token, other.bytes(token), desc.dmaHandle), "EINVAL").message).toMatch(/^dma-debug: wrong-cpu-address: /);
    expect(desc.freed).toBe(true);
    other.free();
    expect(kinds(machine)).toEqual(["wrong-size", "overlapping-cacheline", "sync-outside-mapping", "sg-segment-too-long", "wrong-cpu-address"]);
    // Nothing is still mapped: every buffer frees (EBUSY otherwise), and the unbind finds nothing pending.
    buf.free();
    big.free();
    await machine.pci.unbind(dev);
    expect(kinds(machine)).not.toContain("pending-at-unbind");
    expectNothingHeld(machine);
  });
});
