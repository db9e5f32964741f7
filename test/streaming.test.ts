/**
 * Streaming DMA (single mappings): ownership moving between the CPU and the
 * device, directions, the stale handle, swiotlb bouncing, non-coherent
 * caches, and the device-side checks only a simulator can make.
 */

import { describe, expect, it } from "vitest";
import { enableBusMaster, kmalloc, Machine, mapSingle, setDmaMask, syncSingleForCpu, syncSingleForDevice, unmapSingle } from "../src/index.js";
import type { MachineOptions } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";

async function setup(options: MachineOptions = {}, mask = 64, model = new OpenModel({ bars: [0x100] })) {
  const machine = new Machine(options);
  const bound = await bindModel(machine, model, (dev) => {
    setDmaMask(dev, mask);
    enableBusMaster(dev);
  });
  return { ...bound, machine };
}

const kinds = (machine: Machine) => machine.dmaDebug.violations.map((v) => v.kind);

describe("a from-device mapping: the device writes, the CPU reads after a sync", () => {
  for (const iommu of ["passthrough", "strict"] as const) {
    it(`${iommu}: the device's bytes reach the CPU after syncForCpu, and nothing is reported`, async () => {
      const { machine, token, model } = await setup({ iommu });
      const buf = kmalloc(token, 64);
      const rx = mapSingle(token, buf, "from-device");
      expect(rx.owner).toBe("device");
      expect(model.write(rx.dmaAddress, Uint8Array.of(1, 2, 3))).toBe(true);
      const cpu = rx.syncForCpu(token, 0, 3);
      expect([...cpu.bytes(token)]).toEqual([1, 2, 3]);
      cpu.unmap(token);
      expect([...buf.bytes().subarray(0, 3)]).toEqual([1, 2, 3]);
      buf.free();
      expect(kinds(machine)).toEqual([]);
      expect(machine.memory.heap().allocations).toBe(0);
    });
  }
});

describe("the CPU view is dead while the device owns the buffer", () => {
  it("a view taken before the map is detached; a new one is reported as cpu-access-device-owned", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    const before = buf.bytes();
    const tx = mapSingle(token, buf, "to-device");
    expect(before.length).toBe(0);
    buf.bytes();
    expect(kinds(machine)).toEqual(["cpu-access-device-owned"]);
    expect(machine.dmaDebug.violations[0]!.message).toMatch(/sync-for-cpu is missing/);
    tx.unmap(token);
    expect(buf.bytes().length).toBe(64);
  });

  it("a stale handle is EINVAL, even when the mapping is back in the state its type names", async () => {
    const { token } = await setup();
    const rx = mapSingle(token, kmalloc(token, 64), "from-device");
    const cpu = rx.syncForCpu(token);
    const again = cpu.syncForDevice(token);
    // rx is device-owned by its type, and the mapping is device-owned again: still stale.
    expect(rx.state).toBe("device");
    expect(expectCode(() => rx.syncForCpu(token), "EINVAL").message).toMatch(/stale/);
    expect(expectCode(() => rx.unmap(token), "EINVAL").message).toMatch(/stale/);
    again.unmap(token);
    expect(expectCode(() => again.unmap(token), "EINVAL").message).toMatch(/stale.*unmapped/);
  });
});

describe("non-coherent DMA: rust-e1000's missing sync", () => {
  it("without syncForCpu the CPU reads stale data, and the checker names the missing sync and both sites", async () => {
    const { machine, token, model } = await setup({ dmaCoherent: false });
    const buf = kmalloc(token, 64);
    const rx = mapSingle(token, buf, "from-device");
    model.write(rx.dmaAddress, Uint8Array.of(0xde, 0xad));
    const stale = buf.bytes();
    expect([stale[0], stale[1]]).toEqual([0, 0]);
    const v = machine.dmaDebug.violations[0]!;
    expect(v.kind).toBe("cpu-access-device-owned");
    expect(v.callSite).toMatch(/streaming\.test\.ts/);
    expect(v.allocSite).toMatch(/streaming\.test\.ts/);
    const cpu = rx.syncForCpu(token);
    expect([...cpu.bytes(token).subarray(0, 2)]).toEqual([0xde, 0xad]);
  });

  it("CPU writes reach the device only after sync-for-device", async () => {
    const { token, model } = await setup({ dmaCoherent: false });
    const buf = kmalloc(token, 64);
    const m = mapSingle(token, buf, "bidirectional");
    const cpu = m.syncForCpu(token);
    cpu.bytes(token)[0] = 7;
    expect(model.read(m.dmaAddress, 1)[0]).not.toBe(7);
    cpu.syncForDevice(token);
    expect(model.read(m.dmaAddress, 1)[0]).toBe(7);
  });
});

describe("swiotlb", () => {
  it("a 32-bit device bounces a heap buffer: copied in at map, out at sync-for-cpu", async () => {
    const { machine, token, model } = await setup({}, 32);
    const buf = kmalloc(token, 128);
    buf.bytes()[0] = 9;
    const m = mapSingle(token, buf, "bidirectional");
    expect(m.bounced).toBe(true);
    expect(m.dmaAddress < 1n << 32n).toBe(true);
    expect(model.read(m.dmaAddress, 1)[0]).toBe(9);
    model.write(m.dmaAddress, Uint8Array.of(5));
    expect(machine.memory.swiotlb().bytesInUse).toBe(2048);
    m.unmap(token);
    expect(buf.bytes()[0]).toBe(5);
    expect(machine.memory.swiotlb().bytesInUse).toBe(0);
  });
});

describe("kernel-style calls", () => {
  it("unmapSingle with a wrong size is reported and still unmaps", async () => {
    const { machine, token } = await setup();
    const buf = kmalloc(token, 64);
    const m = mapSingle(token, buf, "to-device");
    unmapSingle(token, m.dmaAddress, 32, "to-device");
    expect(kinds(machine)).toEqual(["wrong-size"]);
    expect(m.state).toBe("unmapped");
    buf.free();
  });

  it("a direction passed through a cast is reported as wrong-direction", async () => {
    const { machine, token } = await setup();
    const m = mapSingle(token, kmalloc(token, 64), "to-device");
    unmapSingle(token, m.dmaAddress, 64, smuggle("from-device"));
    expect(kinds(machine)).toEqual(["wrong-direction"]);
  });

  it("a sync outside the mapping is EINVAL and reported; a sync after unmap is sync-unmapped", async () => {
    const { machine, token } = await setup();
    const m = mapSingle(token, kmalloc(token, 64), "from-device");
    const address = m.dmaAddress;
    expectCode(() => syncSingleForCpu(token, address, 64, "from-device", 8), "EINVAL");
    syncSingleForCpu(token, address, 64, "from-device");
    syncSingleForDevice(token, address, 64, "from-device");
    unmapSingle(token, address, 64, "from-device");
    expectCode(() => syncSingleForCpu(token, address, 64, "from-device"), "EINVAL");
    expect(kinds(machine)).toEqual(["sync-outside-mapping", "sync-unmapped"]);
  });
});

describe("device-side checks", () => {
  it("a device write into a to-device mapping: strict blocks and faults, passthrough lands; both reported", async () => {
    for (const iommu of ["strict", "passthrough"] as const) {
      const { machine, token, model } = await setup({ iommu });
      const m = mapSingle(token, kmalloc(token, 64), "to-device");
      const landed = model.write(m.dmaAddress, Uint8Array.of(1));
      expect(landed).toBe(iommu === "passthrough");
      expect(kinds(machine)).toEqual(["dma-wrong-direction"]);
    }
  });

  it("a device DMA into a mapping the CPU owns is dma-into-cpu-owned", async () => {
    const { machine, token, model } = await setup();
    const m = mapSingle(token, kmalloc(token, 64), "from-device");
    const cpu = m.syncForCpu(token);
    model.write(cpu.dmaAddress, Uint8Array.of(1));
    expect(kinds(machine)).toEqual(["dma-into-cpu-owned"]);
  });

  it("a device DMA after unmap is dma-after-unmap", async () => {
    const { machine, token, model } = await setup({ iommu: "passthrough" });
    const m = mapSingle(token, kmalloc(token, 64), "from-device");
    const address = m.dmaAddress;
    m.unmap(token);
    model.write(address, Uint8Array.of(1));
    expect(kinds(machine)).toEqual(["dma-after-unmap"]);
  });

  it("mappings left at unbind are unmapped and reported once", async () => {
    const { machine, token, dev } = await setup();
    mapSingle(token, kmalloc(token, 64), "from-device");
    mapSingle(token, kmalloc(token, 64), "to-device");
    await machine.pci.unbind(dev);
    expect(kinds(machine)).toEqual(["pending-at-unbind"]);
    expect(machine.dmaDebug.violations[0]!.message).toMatch(/2 DMA mappings were still live/);
  });
});

