/**
 * The simulated machine (src/machine.ts): its options, and what it is made of.
 */

import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import type { MachineOptions } from "../src/index.js";
import { expectCode, smuggle } from "./helpers.js";

describe("defaults", () => {
  it("a machine with no options has a 64 MiB pool of 4 KiB pages, a passthrough IOMMU and reporting dma-debug", () => {
    const machine = new Machine();
    expect(machine.memory.capacity).toBe(64 * 1024 * 1024);
    expect(machine.memory.pageSize).toBe(4096);
    expect(machine.iommu.mode).toBe("passthrough");
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.dmaDebug.mode).toBe("report");
    expect(machine.pci.devices).toEqual([]);
    expect(machine.events).toEqual([]);
  });

  it("options given are taken", () => {
    const machine = new Machine({ memory: { bytes: 1 << 20, pageSize: 8192 }, iommu: "strict", dmaDebug: "throw" });
    expect(machine.memory.capacity).toBe(1 << 20);
    expect(machine.memory.pageSize).toBe(8192);
    expect(machine.iommu.mode).toBe("strict");
    expect(machine.dmaDebug.mode).toBe("throw");
  });

  it("a page size alone sets the pool to the default size in those pages", () => {
    const machine = new Machine({ memory: { pageSize: 65536 } });
    expect(machine.memory.stats().capacity).toBe(64 * 1024 * 1024);
  });

  it("two machines share nothing", () => {
    const one = new Machine();
    const two = new Machine();
    one.pci.plug({ vendor: 1, device: 1 });
    expect(two.pci.devices).toEqual([]);
    expect(two.events).toEqual([]);
  });
});

describe("bad options", () => {
  it.each<[string, unknown]>([
    ["a page size that is not a power of two", { memory: { pageSize: 3000 } }],
    ["a page size below 512", { memory: { pageSize: 256 } }],
    ["a page size above 1 GiB", { memory: { pageSize: 2 ** 31 } }],
    ["a zero page size", { memory: { pageSize: 0 } }],
    ["a string page size", { memory: { pageSize: "4096" } }],
    ["a pool that is not a whole number of pages", { memory: { bytes: 4096 * 3 + 1 } }],
    ["a pool of half a page", { memory: { bytes: 2048 } }],
    ["an empty pool", { memory: { bytes: 0 } }],
    ["a negative pool", { memory: { bytes: -4096 } }],
    ["a pool beyond the safe integers", { memory: { bytes: 2 ** 53 + 4096 } }],
    ["a NaN pool", { memory: { bytes: Number.NaN } }],
    ["memory that is not an object", { memory: 4096 }],
    ["null memory", { memory: null }],
    ["an unknown iommu mode", { iommu: "none" }],
    ["an iommu mode in the wrong case", { iommu: "Strict" }],
    ["an unknown dmaDebug mode", { dmaDebug: "loud" }],
    ["a boolean dmaDebug", { dmaDebug: true }],
    ["null options", null],
    ["a string for options", "strict"],
  ])("%s is EINVAL", (_, options) => {
    expectCode(() => new Machine(smuggle<MachineOptions>(options)), "EINVAL");
  });

  it("the EINVAL message names the option", () => {
    const error = expectCode(() => new Machine({ memory: { pageSize: 3000 } }), "EINVAL");
    expect(error.message).toContain("pageSize");
  });
});

describe("the read-only faces", () => {
  it("machine.dmaDebug is frozen: a cast finds no check to report through, and can neither add one nor change the mode", () => {
    const machine = new Machine({ dmaDebug: "throw" });
    // The cast a user might try: the checker's input is not on the face.
    const face = machine.dmaDebug as any;
    expect(Object.isFrozen(machine.dmaDebug)).toBe(true);
    expect(face.check).toBeUndefined();
    expect("check" in machine.dmaDebug).toBe(false);
    // Test files are modules, so strict: a write to a frozen object throws.
    expect(() => {
      face.check = () => undefined;
    }).toThrow(TypeError);
    expect(() => {
      face.mode = "off";
    }).toThrow(TypeError);
    expect(() => {
      delete face.mode;
    }).toThrow(TypeError);
    expect(face.check).toBeUndefined();
    expect(machine.dmaDebug.mode).toBe("throw");
    expect(machine.dmaDebug.enabled).toBe(true);
  });

  it("machine.iommu and machine.clock are frozen too", () => {
    const machine = new Machine({ iommu: "strict" });
    expect(Object.isFrozen(machine.iommu)).toBe(true);
    expect(Object.isFrozen(machine.clock)).toBe(true);
    expect(() => {
      (machine.iommu as any).mode = "passthrough";
    }).toThrow(TypeError);
    expect(machine.iommu.mode).toBe("strict");
  });
});
