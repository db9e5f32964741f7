/**
 * The DMA checker (src/dma-debug.ts), as the core uses it today: the leak
 * check after devres release. Memory the pool still holds for a device once
 * its binding is released is reported, and taken back, never lost.
 *
 * No public call can leak: every allocation is on the devres stack. These
 * tests take a block from the pool behind devres' back, through the internal
 * binding, to stand in for a future bug in the core.
 */

import { describe, expect, it } from "vitest";
import { defineDriver, Machine } from "../src/index.js";
import type { DmaDebugMode } from "../src/index.js";
import { peekBinding } from "../src/device.js";
import { expectReject, NIC } from "./helpers.js";

/** A machine whose driver takes 8 KiB from the pool outside devres. */
async function leaky(mode: DmaDebugMode) {
  const machine = new Machine({ dmaDebug: mode });
  const driver = defineDriver({
    name: "leaky",
    ids: [NIC],
    probe(dev) {
      const binding = peekBinding(dev)!;
      binding.pool.allocate(binding, 8192, binding.dmaMaskBits);
      return {};
    },
  });
  await machine.pci.register(driver);
  const dev = machine.pci.plug({ ...NIC, name: "eth0" });
  await machine.settled();
  return { machine, dev };
}

describe("the leak check", () => {
  it("memory still held after devres release is reported as a leak and taken back", async () => {
    const { machine, dev } = await leaky("report");
    expect(machine.memory.stats().bytesInUse).toBe(8192);
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([
      expect.objectContaining({ kind: "leak", device: "eth0", driver: "leaky", size: 8192, address: BigInt(machine.memory.base) }),
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

  it("a clean driver leaves no violations", async () => {
    const machine = new Machine({ dmaDebug: "throw" });
    const driver = defineDriver({ name: "clean", ids: [NIC], probe: () => ({}) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});
