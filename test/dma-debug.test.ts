/**
 * The DMA checker (src/dma-debug.ts). For each kind of misuse: a case that
 * triggers it, in both IOMMU modes where the mode matters, with the fields the
 * violation must carry; and a correct driver that does not trigger it. Then
 * the modes: "throw" raises at the offending operation and leaves the machine
 * consistent, "off" records nothing, and a repeated misuse is reported once.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, enableBusMaster, freeCoherent, iomap, Machine } from "../src/index.js";
import type { CoherentAllocation, DmaAddress, DmaDebugMode, DmaViolationKind, IoMapping, IommuMode, MmioWidth, Timer } from "../src/index.js";
import { peekBinding } from "../src/driver/binding.js";
import type { DeviceHardware } from "../src/sim/hardware.js";
import { bindModel, expectCode, expectReject, NIC, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const MODES: readonly IommuMode[] = ["strict", "passthrough"];

/** A frame of this file, as a site names it: `… (…/test/dma-debug.test.ts:12:34)`. */
const HERE = /dma-debug\.test\.ts:\d+:\d+/;
const DEVRES = "devres release at unbind";

// The engine's registers (BAR 0).
const RING_BASE = 0x00;
const RING_LEN = 0x08;
const CTRL = 0x0c;
const CTRL_RUN = 1;

/**
 * A DMA engine: once started it holds its ring and writes 4 bytes at the
 * ring's base every `period` ns, until stopped. Stopping releases the ring.
 */
class Engine extends OpenModel {
  period = 300;
  transfers = 0;
  #base = 0n;
  #length = 0;
  #timer: Timer | undefined;

  constructor() {
    super({ bars: [32] });
  }
  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    if (offset === RING_BASE) this.#base = BigInt(value);
    else if (offset === RING_LEN) this.#length = Number(value);
    else if (offset === CTRL) value === CTRL_RUN ? this.#start() : this.#stop();
  }
  #start(): void {
    this.holdRange(this.#base, this.#length, "rx ring");
    this.#next();
  }
  #next(): void {
    this.#timer = this.later(this.period, () => {
      this.transfers++;
      this.write(this.#base, Uint8Array.of(1, 2, 3, 4));
      this.#next();
    });
  }
  #stop(): void {
    this.#timer?.cancel();
    this.releaseRange(this.#base);
  }
}

/**
 * A NIC-like driver on an {@link Engine}: bus mastering (unless told not
 * to), BAR 0, a 4 KiB ring handed to the engine and started. Its remove()
 * stops the engine only when `halts`, as a correct driver does.
 */
async function ringDriver(machine: Machine, options: { readonly halts: boolean; readonly busMaster?: boolean }) {
  let ring!: CoherentAllocation<Smuggled>;
  let regs!: IoMapping<Smuggled>;
  const bound = await bindModel(machine, new Engine(), (dev) => {
    if (options.busMaster ?? true) enableBusMaster(dev);
    regs = iomap(dev, 0);
    ring = allocCoherent(dev, 4096);
    regs.write64(dev, RING_BASE, ring.dmaHandle);
    regs.write32(dev, RING_LEN, 4096);
    regs.write32(dev, CTRL, CTRL_RUN);
    return {
      remove(dev) {
        if (options.halts) regs.write32(dev, CTRL, 0);
      },
    };
  });
  return { ring, regs, handle: ring.dmaHandle, ...bound };
}

/** A device with bus mastering on that a test drives by hand. */
async function master(machine: Machine) {
  return bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
}

const kinds = (machine: Machine): DmaViolationKind[] => machine.dmaDebug.violations.map((v) => v.kind);
const only = (machine: Machine, kind: DmaViolationKind) => machine.dmaDebug.violations.filter((v) => v.kind === kind);

describe.each(MODES)("dma-after-free (%s)", (iommu) => {
  it("a device DMA into memory freed from under it names the device, the range, both sites and the times", async () => {
    const machine = new Machine({ iommu });
    const { token, model, dev, driver } = await master(machine);
    await machine.run(1_000);
    const buf = allocCoherent(token, 4096);
    const handle = buf.dmaHandle;
    await machine.run(1_000);
    buf.free();
    model.later(1_000, () => model.write(handle + 16n, Uint8Array.of(1, 2, 3, 4)));
    await machine.run(2_000);
    expect(machine.dmaDebug.violations).toEqual([
      {
        kind: "dma-after-free",
        device: dev.name,
        driver: driver.name,
        address: handle + 16n,
        size: 4,
        direction: "write",
        time: 3_000,
        allocSite: expect.stringMatching(HERE),
        freeSite: expect.stringMatching(HERE),
        allocTime: 1_000,
        freeTime: 2_000,
        // The device never declared a hold: it used an address it had been given before, and the message says so.
        message: expect.stringContaining("had not declared it held this address"),
      },
    ]);
    const [violation] = machine.dmaDebug.violations;
    expect(violation!.message).not.toContain("still held");
    expect(violation!.message).toContain("Take the address out of every descriptor and register the device reads");
    expect(violation!.allocSite).not.toBe(violation!.freeSite);
    expect(violation!.message).toContain(violation!.allocSite!);
    expect(violation!.message).toContain(violation!.freeSite!);
    expect(violation!.message).toContain(dev.name);
  });

  it("a read is reported with its direction", async () => {
    const machine = new Machine({ iommu });
    const { token, model } = await master(machine);
    const buf = allocCoherent(token, 64);
    const handle = buf.dmaHandle;
    buf.free();
    model.read(handle, 8);
    expect(machine.dmaDebug.violations).toEqual([expect.objectContaining({ kind: "dma-after-free", direction: "read", size: 8 })]);
  });

  it("an engine left running at unbind writes into the ring devres freed: the free site is devres", async () => {
    const machine = new Machine({ iommu });
    const { dev, handle } = await ringDriver(machine, { halts: false });
    await machine.run(1_000);
    await machine.pci.unbind(dev);
    expect(only(machine, "dma-after-free")).toEqual([
      expect.objectContaining({ address: handle, direction: "write", allocSite: expect.stringMatching(HERE), freeSite: DEVRES, freeTime: 1_000 }),
    ]);
    // The engine declared it held the ring and never released it: the message says that, not a stale descriptor.
    const [violation] = only(machine, "dma-after-free");
    expect(violation!.message).toContain("The device still held the address (it declared the hold and never released it)");
    expect(violation!.message).toContain("Halt it in remove()");
    expect(violation!.message).not.toContain("had not declared");
  });

  it("a correct driver, which halts the engine in remove(), triggers nothing", async () => {
    const machine = new Machine({ iommu });
    const { dev, model } = await ringDriver(machine, { halts: true });
    await machine.run(10_000);
    await machine.pci.unbind(dev);
    await machine.run(10_000);
    expect(model.transfers).toBeGreaterThan(10);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
  });
});

describe.each(MODES)("free-while-held (%s)", (iommu) => {
  it("freeing the ring a running engine holds names the hold, the range and both sites", async () => {
    const machine = new Machine({ iommu });
    const { ring, handle, dev, driver } = await ringDriver(machine, { halts: true });
    await machine.run(500);
    ring.free();
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "free-while-held",
        device: dev.name,
        driver: driver.name,
        address: handle,
        size: 4096,
        time: 500,
        allocSite: expect.stringMatching(HERE),
        freeSite: expect.stringMatching(HERE),
        allocTime: 0,
        freeTime: 500,
        message: expect.stringContaining("rx ring"),
      }),
    ]);
    expect(ring.freed).toBe(true);
  });

  it("a correct driver stops the engine first, then frees: nothing is reported", async () => {
    const machine = new Machine({ iommu });
    const { ring, regs, token } = await ringDriver(machine, { halts: true });
    await machine.run(500);
    regs.write32(token, CTRL, 0);
    ring.free();
    await machine.run(5_000);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("a hold with bus mastering off is no violation to free: the device cannot DMA", async () => {
    const machine = new Machine({ iommu });
    const { ring } = await ringDriver(machine, { halts: true, busMaster: false });
    ring.free();
    expect(only(machine, "free-while-held")).toEqual([]);
  });
});

describe.each(MODES)("dma-after-remove (%s)", (iommu) => {
  it("remove() returning with the engine still running names the device, the driver and what it holds", async () => {
    const machine = new Machine({ iommu });
    const { dev, driver, handle } = await ringDriver(machine, { halts: false });
    await machine.run(1_000);
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations[0]).toEqual(
      expect.objectContaining({
        kind: "dma-after-remove",
        device: dev.name,
        driver: driver.name,
        address: handle,
        size: 4096,
        time: 1_000,
        message: expect.stringContaining("remove() returned while the device was still doing DMA"),
      }),
    );
    expect(kinds(machine)).toEqual(["dma-after-remove", "free-while-held", "dma-after-free", "held-after-unbind"]);
  });

  it("a correct driver halts the engine in remove(): nothing is reported", async () => {
    const machine = new Machine({ iommu });
    const { dev } = await ringDriver(machine, { halts: true });
    await machine.run(1_000);
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("an async remove() that halts after an await is waited for: nothing is reported", async () => {
    const machine = new Machine({ iommu });
    const model = new Engine();
    const { dev } = await bindModel(machine, model, (dev) => {
      enableBusMaster(dev);
      const regs = iomap(dev, 0);
      const ring = allocCoherent(dev, 4096);
      regs.write64(dev, RING_BASE, ring.dmaHandle);
      regs.write32(dev, RING_LEN, 4096);
      regs.write32(dev, CTRL, CTRL_RUN);
      return {
        async remove(dev) {
          await Promise.resolve();
          regs.write32(dev, CTRL, 0);
        },
      };
    });
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("a surprise removal takes the device away: a driver that cannot halt it is not blamed", async () => {
    const machine = new Machine({ iommu });
    const { dev } = await ringDriver(machine, { halts: false });
    await machine.run(1_000);
    await machine.pci.unplug(dev);
    await machine.run(10_000);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe.each(MODES)("dma-outside-mapping (%s)", (iommu) => {
  it("a DMA into another device's memory names the device and the address, and no allocation", async () => {
    const machine = new Machine({ iommu });
    const a = await master(machine);
    const b = await master(machine);
    allocCoherent(a.token, 4096);
    allocCoherent(b.token, 4096);
    const theirs = allocCoherent(b.token, 4096);
    await machine.run(700);
    a.model.write(theirs.dmaHandle, Uint8Array.of(0xee));
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "dma-outside-mapping",
        device: a.dev.name,
        driver: a.driver.name,
        address: theirs.dmaHandle,
        size: 1,
        direction: "write",
        time: 700,
        allocSite: undefined,
        freeSite: undefined,
        message: expect.stringContaining("never mapped for it"),
      }),
    ]);
    // Strict blocks it; passthrough lets it land, as on a machine with no IOMMU.
    expect(theirs.bytes(b.token)[0]).toBe(iommu === "strict" ? 0 : 0xee);
  });

  it("a DMA that runs past the end of an allocation names the allocation site and how far", async () => {
    const machine = new Machine({ iommu });
    const { token, model, dev } = await master(machine);
    const buf = allocCoherent(token, 100);
    model.write(buf.dmaHandle + 96n, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "dma-outside-mapping",
        device: dev.name,
        address: buf.dmaHandle + 96n,
        size: 8,
        direction: "write",
        allocSite: expect.stringMatching(HERE),
        allocTime: 0,
        message: expect.stringContaining("runs 4 bytes past the end of its 100-byte allocation"),
      }),
    ]);
    // The part inside the allocation landed.
    expect([...buf.bytes(token).subarray(96, 100)]).toEqual([1, 2, 3, 4]);
  });

  it("a read past the end is reported too", async () => {
    const machine = new Machine({ iommu });
    const { token, model } = await master(machine);
    const buf = allocCoherent(token, 10);
    model.read(buf.dmaHandle, 16);
    expect(machine.dmaDebug.violations).toEqual([expect.objectContaining({ kind: "dma-outside-mapping", direction: "read", size: 16 })]);
  });

  it("a correct device stays inside its own allocations: nothing is reported", async () => {
    const machine = new Machine({ iommu });
    const a = await master(machine);
    const b = await master(machine);
    const mine = allocCoherent(a.token, 100);
    allocCoherent(b.token, 4096);
    a.model.write(mine.dmaHandle, new Uint8Array(100));
    a.model.read(mine.dmaHandle + 99n, 1);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe.each(MODES)("free-unknown (%s)", (iommu) => {
  it("freeCoherent of an address the device never had is EINVAL and names the address", async () => {
    const machine = new Machine({ iommu });
    const { token, dev, driver } = await master(machine);
    const bogus = smuggle<DmaAddress<Smuggled, "coherent">>(0xdead_0000n);
    expectCode(() => freeCoherent(token, bogus), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "free-unknown",
        device: dev.name,
        driver: driver.name,
        address: 0xdead_0000n,
        size: undefined,
        allocSite: undefined,
        message: expect.stringContaining("has no allocation at this bus address"),
      }),
    ]);
  });

  it("freeCoherent of an address inside an allocation is unknown, and frees nothing", async () => {
    const machine = new Machine({ iommu });
    const { token } = await master(machine);
    const buf = allocCoherent(token, 4096);
    expectCode(() => freeCoherent(token, smuggle<DmaAddress<Smuggled, "coherent">>(buf.dmaHandle + 8n)), "EINVAL");
    expect(kinds(machine)).toEqual(["free-unknown"]);
    expect(buf.freed).toBe(false);
    expect(machine.memory.stats().allocations).toBe(1);
  });

  it("a correct driver frees by the handle it was given: nothing is reported", async () => {
    const machine = new Machine({ iommu });
    const { token } = await master(machine);
    const buf = allocCoherent(token, 4096);
    freeCoherent(token, buf.dmaHandle);
    expect(buf.freed).toBe(true);
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe.each(MODES)("double-free (%s)", (iommu) => {
  it("via freeCoherent: the second free is EINVAL and names both sites", async () => {
    const machine = new Machine({ iommu });
    const { token, dev, driver } = await master(machine);
    await machine.run(100);
    const buf = allocCoherent(token, 4096);
    await machine.run(100);
    freeCoherent(token, buf.dmaHandle);
    await machine.run(100);
    expectCode(() => freeCoherent(token, buf.dmaHandle), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "double-free",
        device: dev.name,
        driver: driver.name,
        address: buf.dmaHandle,
        size: 4096,
        time: 300,
        allocSite: expect.stringMatching(HERE),
        freeSite: expect.stringMatching(HERE),
        allocTime: 100,
        freeTime: 200,
        message: expect.stringContaining("double free"),
      }),
    ]);
  });

  it("via free(): the second free is EINVAL and names both sites", async () => {
    const machine = new Machine({ iommu });
    const { token, dev } = await master(machine);
    const buf = allocCoherent(token, 64);
    buf.free();
    expectCode(() => buf.free(), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "double-free",
        device: dev.name,
        address: buf.dmaHandle,
        size: 64,
        allocSite: expect.stringMatching(HERE),
        freeSite: expect.stringMatching(HERE),
      }),
    ]);
  });

  it("via free() after devres freed it at unbind: the free site is devres", async () => {
    const machine = new Machine({ iommu });
    const { token, dev } = await master(machine);
    const buf = allocCoherent(token, 64);
    await machine.pci.unbind(dev);
    expectCode(() => buf.free(), "EINVAL");
    expect(machine.dmaDebug.violations).toEqual([expect.objectContaining({ kind: "double-free", freeSite: DEVRES })]);
  });

  it("a correct driver frees once: nothing is reported, and unbind frees nothing twice", async () => {
    const machine = new Machine({ iommu });
    const { token, dev } = await master(machine);
    allocCoherent(token, 64).free();
    {
      using scoped = allocCoherent(token, 64);
      scoped.bytes(token).fill(1);
    }
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe.each(MODES)("held-after-unbind (%s)", (iommu) => {
  it("a device still holding its ring after devres release is reported, with the range", async () => {
    // No bus mastering: the device cannot DMA, so only the stale hold is wrong.
    const machine = new Machine({ iommu });
    const { dev, driver, handle } = await ringDriver(machine, { halts: false, busMaster: false });
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({
        kind: "held-after-unbind",
        device: dev.name,
        driver: driver.name,
        address: handle,
        size: 4096,
        message: expect.stringContaining("Reset the device in remove()"),
      }),
    ]);
  });

  it("a correct driver resets the device in remove(): nothing is reported", async () => {
    const machine = new Machine({ iommu });
    const { dev } = await ringDriver(machine, { halts: true, busMaster: false });
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("after a surprise removal there is no device left to hold anything", async () => {
    const machine = new Machine({ iommu });
    const { dev } = await ringDriver(machine, { halts: false, busMaster: false });
    await machine.pci.unplug(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

/**
 * A machine whose driver takes 8 KiB from the pool outside devres. No public
 * call can leak, since every allocation is on the devres stack; this stands
 * in for a future bug in the core.
 */
async function leaky(mode: DmaDebugMode, iommu: IommuMode = "passthrough") {
  const machine = new Machine({ dmaDebug: mode, iommu });
  const driver = defineDriver({
    name: "leaky",
    ids: [NIC],
    probe(dev) {
      const binding = peekBinding(dev)!;
      // Allocated and mapped by the platform, but never put on the devres stack.
      binding.port.allocCoherent(binding, 8192, binding.dmaMaskBits, undefined);
      return {};
    },
  });
  await machine.pci.register(driver);
  const dev = machine.pci.plug({ ...NIC, name: "eth0" });
  await machine.settled();
  return { machine, dev };
}

describe("leak", () => {
  it.each(MODES)("%s: memory still held after devres release is reported as a leak and taken back", async (iommu) => {
    const { machine, dev } = await leaky("report", iommu);
    expect(machine.memory.stats().bytesInUse).toBe(8192);
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({ kind: "leak", device: "eth0", driver: "leaky", size: 8192, address: BigInt(machine.memory.base), time: 0 }),
    ]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(dev.state).toBe("no-driver");
  });

  it('in "throw" mode a leak rejects the unbind with EINVAL, after the device is at rest', async () => {
    const { machine, dev } = await leaky("throw");
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.dmaDebug.violations).toHaveLength(1);
  });

  it('in "off" mode a leak is not recorded, but the memory is still taken back', async () => {
    const { machine, dev } = await leaky("off");
    await machine.pci.unplug(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.memory.stats().allocations).toBe(0);
    expect(dev.state).toBe("zombie");
  });

  it("a correct driver, whose memory is all on the devres stack, leaks nothing", async () => {
    const machine = new Machine({ dmaDebug: "throw" });
    const { token, dev } = await master(machine);
    for (let i = 0; i < 5; i++) allocCoherent(token, 4096 * (i + 1));
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("a driver with nothing at all leaves no violations", async () => {
    const machine = new Machine({ dmaDebug: "throw" });
    const driver = defineDriver({ name: "clean", ids: [NIC], probe: () => ({}) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe('"throw" mode', () => {
  it.each(MODES)("%s: a device DMA after free rejects the run at that DMA; the clock stays usable", async (iommu) => {
    const machine = new Machine({ iommu, dmaDebug: "throw" });
    const { token, model } = await master(machine);
    const buf = allocCoherent(token, 64);
    const handle = buf.dmaHandle;
    buf.free();
    let later = 0;
    model.later(1_000, () => model.write(handle, Uint8Array.of(1)));
    model.later(2_000, () => later++);
    const error = await expectReject(machine.run(5_000), "EINVAL");
    expect(error.message).toMatch(/^dma-debug: dma-after-free: /);
    expect(machine.clock.now).toBe(1_000);
    expect(kinds(machine)).toEqual(["dma-after-free"]);
    expect(machine.iommu.faults).toHaveLength(iommu === "strict" ? 1 : 0);
    await machine.run(4_000);
    expect(later).toBe(1);
    expect(machine.clock.now).toBe(5_000);
  });

  it("a DMA outside the device's mappings throws from the transfer, after the IOMMU has blocked it", async () => {
    const machine = new Machine({ iommu: "strict", dmaDebug: "throw" });
    const { model } = await master(machine);
    const error = expectCode(() => model.write(0x7000_0000n, Uint8Array.of(1)), "EINVAL");
    expect(error.message).toMatch(/^dma-debug: dma-outside-mapping: /);
    expect(machine.iommu.faults).toHaveLength(1);
  });

  it("free-while-held throws from free(), after the memory was freed: the machine is consistent", async () => {
    const machine = new Machine({ dmaDebug: "throw" });
    const { ring, token, dev } = await ringDriver(machine, { halts: true });
    expect(expectCode(() => ring.free(), "EINVAL").message).toMatch(/^dma-debug: free-while-held: /);
    expect(ring.freed).toBe(true);
    expect(machine.memory.stats()).toMatchObject({ allocations: 0, bytesInUse: 0 });
    expect(dev.state).toBe("bound");
    // The binding goes on: it can allocate again.
    expect(allocCoherent(token, 64).freed).toBe(false);
    expect(kinds(machine)).toEqual(["free-while-held"]);
  });

  it.each(MODES)("%s: double free and free of an unknown address throw at the call", async (iommu) => {
    const machine = new Machine({ iommu, dmaDebug: "throw" });
    const { token } = await master(machine);
    const buf = allocCoherent(token, 64);
    buf.free();
    expect(expectCode(() => buf.free(), "EINVAL").message).toMatch(/^dma-debug: double-free: /);
    expect(expectCode(() => freeCoherent(token, buf.dmaHandle), "EINVAL").message).toMatch(/^dma-debug: double-free: /);
    expect(expectCode(() => freeCoherent(token, smuggle<DmaAddress<Smuggled, "coherent">>(0x1234_5000n)), "EINVAL").message).toMatch(/^dma-debug: free-unknown: /);
    expect(kinds(machine)).toEqual(["double-free", "double-free", "free-unknown"]);
  });

  it.each(MODES)("%s: an unbind with violations rejects with the first, once the device is at rest and every one is recorded", async (iommu) => {
    const machine = new Machine({ iommu, dmaDebug: "throw" });
    const { dev, ring } = await ringDriver(machine, { halts: false });
    await machine.run(1_000);
    const error = await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(error.message).toMatch(/^dma-debug: dma-after-remove: /);
    expect(dev.state).toBe("no-driver");
    // Devres freed the ring itself, though an error was already pending: no leak to reclaim.
    expect(ring.freed).toBe(true);
    expect(machine.memory.stats()).toMatchObject({ allocations: 0, bytesInUse: 0 });
    // The same record as in "report" mode: throwing loses none of them.
    expect(kinds(machine)).toEqual(["dma-after-remove", "free-while-held", "dma-after-free", "held-after-unbind"]);
  });

  it("a correct driver runs clean under throw in both modes", async () => {
    for (const iommu of MODES) {
      const machine = new Machine({ iommu, dmaDebug: "throw" });
      const { dev } = await ringDriver(machine, { halts: true });
      await machine.run(5_000);
      await machine.pci.unbind(dev);
      expect(machine.dmaDebug.violations).toEqual([]);
    }
  });
});

describe('"off" mode', () => {
  it.each(MODES)("%s: records nothing for a driver that gets everything wrong", async (iommu) => {
    const machine = new Machine({ iommu, dmaDebug: "off" });
    const { dev, ring } = await ringDriver(machine, { halts: false });
    const other = await master(machine);
    await machine.run(1_000);
    other.model.write(ring.dmaHandle + 0x10_0000n, Uint8Array.of(1));
    const buf = allocCoherent(other.token, 64);
    buf.free();
    expectCode(() => buf.free(), "EINVAL");
    expectCode(() => freeCoherent(other.token, smuggle<DmaAddress<Smuggled, "coherent">>(0x1234_5000n)), "EINVAL");
    await machine.pci.unbind(dev);
    await machine.run(5_000);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.dmaDebug.repeats).toBe(0);
    expect(machine.dmaDebug.enabled).toBe(false);
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("the IOMMU still blocks and records faults: it is hardware, not the checker", async () => {
    const machine = new Machine({ iommu: "strict", dmaDebug: "off" });
    const { model } = await master(machine);
    model.write(0x7000_0000n, Uint8Array.of(1));
    expect(machine.iommu.faults).toHaveLength(1);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("repeats", () => {
  it.each(MODES)("%s: a runaway engine DMAing into freed memory is reported once, and its repeats counted", async (iommu) => {
    const machine = new Machine({ iommu });
    const { ring, model } = await ringDriver(machine, { halts: true });
    ring.free();
    const before = model.transfers;
    await machine.run(30_000);
    const after = model.transfers - before;
    expect(after).toBe(100);
    expect(kinds(machine)).toEqual(["free-while-held", "dma-after-free"]);
    expect(machine.dmaDebug.repeats).toBe(after - 1);
  });

  it("the same stray address is reported once; another address is a new report", async () => {
    const machine = new Machine();
    const { model } = await master(machine);
    for (let i = 0; i < 5; i++) model.write(0x1000n, Uint8Array.of(1));
    model.write(0x2000n, Uint8Array.of(1));
    expect(only(machine, "dma-outside-mapping").map((v) => v.address)).toEqual([0x1000n, 0x2000n]);
    expect(machine.dmaDebug.repeats).toBe(4);
  });

  it("a second freed allocation is a new report", async () => {
    const machine = new Machine();
    const { token, model } = await master(machine);
    const one = allocCoherent(token, 64);
    const two = allocCoherent(token, 64);
    const handles = [one.dmaHandle, two.dmaHandle];
    one.free();
    two.free();
    for (const handle of [...handles, ...handles]) model.write(handle, Uint8Array.of(1));
    expect(only(machine, "dma-after-free").map((v) => v.address)).toEqual(handles);
    expect(machine.dmaDebug.repeats).toBe(2);
  });
});

describe("the leak check's reclaim", () => {
  it("takes back a leaked allocation together with its IOMMU mapping", async () => {
    const machine = new Machine({ iommu: "strict" });
    let handle = 0n;
    let hardware: DeviceHardware | undefined;
    await machine.pci.register(
      defineDriver({
        name: "leaky-devres",
        ids: [NIC],
        probe(dev) {
          const buf = allocCoherent(dev, 4096);
          handle = buf.dmaHandle;
          // Off the devres stack: only the leak check can find it now.
          peekBinding(dev)!.devres.forget(buf as never);
          hardware = peekBinding(dev)!.port as DeviceHardware;
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["leak"]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(hardware!.domain.translate(Number(handle), 1, false)).toBeUndefined();
  });
});
