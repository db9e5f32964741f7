/**
 * A model's DMA port (src/dma.ts): transfers by bus address, checked for a
 * valid address and length, and working only while the device is present and
 * the driver has bus mastering on. A blocked read returns all-ones, as a PCIe
 * master abort does.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, enableBusMaster, iomap, Machine } from "../src/index.js";
import type { IommuMode } from "../src/index.js";
import { bindModel, expectCode, OpenModel, released, smuggle } from "./helpers.js";

const MAX_TRANSFER = 1 << 30;

describe("arguments", () => {
  it.each<[string, unknown]>([
    ["a negative address", -1n],
    ["an address of 2 ** 64", 2n ** 64n],
    ["a number address", 0x4000_0000],
    ["a string address", "0x40000000"],
    ["no address", undefined],
  ])("%s is EINVAL, for a read and for a write", async (_, address) => {
    const { model } = await bindModel(new Machine(), new OpenModel(), (dev) => enableBusMaster(dev));
    expect(expectCode(() => model.read(smuggle<bigint>(address), 4), "EINVAL").message).toContain("dmaRead");
    expect(expectCode(() => model.write(smuggle<bigint>(address), new Uint8Array(4)), "EINVAL").message).toContain("dmaWrite");
  });

  it.each<[string, unknown]>([
    ["zero", 0],
    ["a negative length", -4],
    ["a fractional length", 1.5],
    ["NaN", Number.NaN],
    ["a string", "4"],
    ["more than 1 GiB", MAX_TRANSFER + 1],
  ])("a read length of %s is EINVAL", async (_, length) => {
    const { model } = await bindModel(new Machine(), new OpenModel(), (dev) => enableBusMaster(dev));
    expectCode(() => model.read(0x4000_0000n, smuggle<number>(length)), "EINVAL");
  });

  it("an empty write is EINVAL", async () => {
    const { model } = await bindModel(new Machine(), new OpenModel(), (dev) => enableBusMaster(dev));
    expectCode(() => model.write(0x4000_0000n, new Uint8Array(0)), "EINVAL");
  });

  it("arguments are checked even with bus mastering off or the device gone", async () => {
    const machine = new Machine();
    const { model, dev } = await bindModel(machine, new OpenModel());
    expectCode(() => model.read(-1n, 4), "EINVAL");
    await machine.pci.unplug(dev);
    expectCode(() => model.write(0n, new Uint8Array(0)), "EINVAL");
  });

  it("the largest address and a 1-byte transfer are accepted (and fault: nothing is mapped there)", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { model } = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    expect([...model.read(2n ** 64n - 1n, 1)]).toEqual([0xff]);
    expect(machine.iommu.faults).toHaveLength(1);
  });
});

describe("bus mastering", () => {
  it.each<IommuMode>(["strict", "passthrough"])("%s: with bus mastering off, DMA is blocked and logged as dma-blocked", async (iommu) => {
    const machine = new Machine({ iommu });
    const { model, token, dev, driver } = await bindModel(machine, new OpenModel());
    const buf = allocCoherent(token, 64);
    buf.bytes(token).fill(0x5a);
    expect([...model.read(buf.dmaHandle, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(model.write(buf.dmaHandle, Uint8Array.of(1, 2))).toBe(false);
    expect(buf.bytes(token).every((x) => x === 0x5a)).toBe(true);
    const blocked = machine.events.filter((e) => e.kind === "dma-blocked");
    expect(blocked).toEqual([
      expect.objectContaining({ device: dev.name, driver: driver.name, direction: "read", address: buf.dmaHandle, size: 4 }),
      expect.objectContaining({ device: dev.name, driver: driver.name, direction: "write", address: buf.dmaHandle, size: 2 }),
    ]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("once the driver enables it, DMA reaches memory", async () => {
    const machine = new Machine();
    let handle = 0n;
    const { model, token } = await bindModel(machine, new OpenModel(), (dev) => {
      handle = allocCoherent(dev, 64).dmaHandle;
      enableBusMaster(dev);
    });
    expect(model.mastering).toBe(true);
    expect(model.write(handle, Uint8Array.of(9))).toBe(true);
    expect([...model.read(handle, 1)]).toEqual([9]);
    expect(token.state).toBe("bound");
  });

  it("is off again after unbind: the device's DMA is blocked", async () => {
    const machine = new Machine();
    const { model, dev } = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    await machine.pci.unbind(dev);
    expect(model.mastering).toBe(false);
    expect([...model.read(0x4000_0000n, 2)]).toEqual([0xff, 0xff]);
    expect(machine.events.filter((e) => e.kind === "dma-blocked")).toEqual([
      expect.objectContaining({ device: dev.name, driver: undefined }),
    ]);
  });

  it("a device no driver ever bound cannot DMA", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    machine.pci.plug(model);
    expect(model.write(0x4000_0000n, Uint8Array.of(1))).toBe(false);
    expect(machine.events.filter((e) => e.kind === "dma-blocked")).toHaveLength(1);
  });

  it("enabling it twice is EBUSY", async () => {
    let error: unknown;
    await bindModel(new Machine(), new OpenModel(), (dev) => {
      enableBusMaster(dev);
      error = expectCode(() => enableBusMaster(dev), "EBUSY");
    });
    expect(error).toBeDefined();
  });

  it("is core-only: enabling it from a smuggled token after probe is EPERM", async () => {
    const { token, model } = await bindModel(new Machine(), new OpenModel());
    expectCode(() => enableBusMaster(token), "EPERM");
    expect(model.mastering).toBe(false);
  });

  it("taken first, it is released last: DMA works until every other resource is gone", async () => {
    const machine = new Machine();
    const { dev } = await bindModel(machine, new OpenModel({ bars: [16] }), (dev) => {
      enableBusMaster(dev);
      iomap(dev, 0);
      allocCoherent(dev, 64);
    });
    await machine.pci.unbind(dev);
    expect(released(machine)).toEqual(["coherent 64 bytes", "mmio BAR 0", "bus-master"]);
  });

  it("a probe that fails turns it off again", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    await machine.pci.register(
      defineDriver({
        name: "refuses",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          enableBusMaster(dev);
          throw new Error("refused");
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    expect(dev.state).toBe("no-driver");
    expect(model.mastering).toBe(false);
  });
});

describe("transfers", () => {
  it("a page-sized write lands whole and reads back whole", async () => {
    const machine = new Machine();
    const { model, token } = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    const buf = allocCoherent(token, 4096);
    const data = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    expect(model.write(buf.dmaHandle, data)).toBe(true);
    expect(Buffer.compare(buf.bytes(token), data)).toBe(0);
    expect(Buffer.compare(model.read(buf.dmaHandle, 4096), data)).toBe(0);
  });

  it("a read returns a fresh copy: changing it does not change memory", async () => {
    const machine = new Machine();
    const { model, token } = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    const buf = allocCoherent(token, 16);
    const copy = model.read(buf.dmaHandle, 16);
    copy.fill(0xff);
    expect(buf.bytes(token).every((x) => x === 0)).toBe(true);
  });

  it("after unplug every transfer is dead, whatever bus mastering says", async () => {
    const machine = new Machine();
    const { model, token, dev } = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    const buf = allocCoherent(token, 16);
    const unplugged = machine.pci.unplug(dev);
    expect(model.mastering).toBe(true);
    expect([...model.read(buf.dmaHandle, 2)]).toEqual([0xff, 0xff]);
    expect(model.write(buf.dmaHandle, Uint8Array.of(1))).toBe(false);
    await unplugged;
    expect(machine.events.some((e) => e.kind === "dma-blocked")).toBe(false);
  });
});

describe("dmaReadInto", () => {
  it.each<IommuMode>(["strict", "passthrough"])("reads what dmaRead reads, into the caller's array, %s", async (iommu) => {
    let handle = 0n;
    const { model } = await bindModel(new Machine({ iommu }), new OpenModel(), (dev) => {
      enableBusMaster(dev);
      const buf = allocCoherent(dev, 100);
      buf.bytes(dev).forEach((_, i, bytes) => (bytes[i] = i + 1));
      handle = buf.dmaHandle;
    });
    const into = new Uint8Array(100).fill(0xaa);
    expect(model.readInto(handle, into)).toBe(into);
    expect([...into]).toEqual([...model.read(handle, 100)]);
    // Past the allocation's size, inside its page: zero, as dmaRead gives.
    const tail = new Uint8Array(8).fill(0xaa);
    model.readInto(handle + 96n, tail);
    expect([...tail]).toEqual([...model.read(handle + 96n, 8)]);
  });

  it("a blocked read fills the caller's array with all-ones", async () => {
    const { model } = await bindModel(new Machine(), new OpenModel());
    const into = new Uint8Array(4);
    expect([...model.readInto(0x4000_0000n, into)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });
});
