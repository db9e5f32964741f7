/**
 * The machine's fault injection and scheduling points (`sim/fault-inject.ts`),
 * its platform DMA limit (`dmaLimitBits`), and `bus.bind`: what the
 * lifecycle explorer of `boundscope/testing` stands on.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, kmalloc, Machine, mapSingle, requestIrq, sleep, unmapSingle } from "../src/index.js";
import type { FaultKind, SchedulePoint } from "../src/index.js";
import { bindModel, bindOne, expectCode, expectReject, NIC, OpenModel } from "./helpers.js";

describe("fault injection", () => {
  it("fails exactly the Nth allocation with ENOMEM, allocating nothing for it", async () => {
    const asked: string[] = [];
    let allocations = 0;
    const machine = new Machine({
      faultInjection: {
        shouldFail: (kind, what, device) => {
          asked.push(`${kind} ${what} ${device}`);
          return kind === "alloc" && ++allocations === 2;
        },
      },
    });
    const { token } = await bindOne(machine);
    allocCoherent(token, 4096);
    const before = machine.memory.stats().bytesInUse;
    const error = expectCode(() => allocCoherent(token, 8192), "ENOMEM");
    expect(error.message).toMatch(/injected failure/);
    expect(machine.memory.stats().bytesInUse).toBe(before);
    allocCoherent(token, 4096);
    expect(asked).toEqual(["alloc allocCoherent(4096) 0000:00:01.0", "alloc allocCoherent(8192) 0000:00:01.0", "alloc allocCoherent(4096) 0000:00:01.0"]);
  });

  it("asks for kmalloc, streaming mappings and IRQ requests by their kind", async () => {
    const kinds: FaultKind[] = [];
    const machine = new Machine({ faultInjection: { shouldFail: (kind) => void kinds.push(kind) === undefined && kind === "map" } });
    const { token } = await bindModel(machine, new OpenModel({ intx: 1 }), (dev) => void requestIrq(dev, () => "handled"));
    const buffer = kmalloc(token, 256);
    expectCode(() => mapSingle(token, buffer, "to-device"), "ENOMEM");
    expect(machine.memory.swiotlb().bytesInUse).toBe(0);
    expect(kinds).toEqual(["irq", "alloc", "map"]);
    buffer.free();
  });

  it("a throwing or non-boolean shouldFail counts as no", async () => {
    const machine = new Machine({
      faultInjection: {
        shouldFail: (kind) => {
          if (kind === "alloc") throw new Error("harness bug");
          // A truthy answer that is not `true`, from JavaScript.
          return "yes" as unknown as boolean;
        },
      },
    });
    const { token } = await bindOne(machine);
    expect(() => allocCoherent(token, 4096)).not.toThrow();
    const buffer = kmalloc(token, 64);
    expect(() => mapSingle(token, buffer, "to-device")).not.toThrow();
  });

  it("tells each scheduling point: the probe callback, each sleeping await, each device event", async () => {
    const points: SchedulePoint[] = [];
    const machine = new Machine({ faultInjection: { point: (p) => void points.push(p) } });
    const driver = defineDriver({
      name: "sleepy",
      ids: [NIC],
      async probe(dev) {
        await sleep(dev, 1000);
        await sleep(dev, 1000);
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(points.map((p) => `${p.kind}:${p.what}`)).toEqual(['callback:probe() by "sleepy"', "sleep:sleep", "event:device event #1", "sleep:sleep", "event:device event #2"]);
    expect(points[1]!.device).toBe("0000:00:01.0");
    expect(points.map((p) => p.time)).toEqual([0, 0, 1000, 1000, 2000]);
  });

  it("refuses options that are not functions, from JavaScript", () => {
    expectCode(() => new Machine({ faultInjection: { point: 1 as never } }), "EINVAL");
    expectCode(() => new Machine({ faultInjection: { shouldFail: "yes" as never } }), "EINVAL");
    expectCode(() => new Machine({ faultInjection: null as never }), "EINVAL");
  });
});

describe("dmaLimitBits", () => {
  it("caps the driver's mask: kernel memory above the limit bounces through swiotlb", async () => {
    const limited = new Machine({ dmaLimitBits: 32 });
    const { token } = await bindOne(limited, { dmaMask: 64 });
    const buffer = kmalloc(token, 512);
    const mapping = mapSingle(token, buffer, "to-device");
    expect(mapping.bounced).toBe(true);
    expect(limited.memory.swiotlb().bytesInUse).toBeGreaterThan(0);
    unmapSingle(token, mapping.dmaAddress, buffer.size, "to-device");
    expect(limited.memory.swiotlb().bytesInUse).toBe(0);

    const wide = new Machine();
    const other = await bindOne(wide, { dmaMask: 64 });
    expect(mapSingle(other.token, kmalloc(other.token, 512), "to-device").bounced).toBe(false);
  });

  it("refuses a limit no bus has", () => {
    for (const bad of [23, 65, 32.5, "32"]) expectCode(() => new Machine({ dmaLimitBits: bad as never }), "EINVAL");
  });
});

describe("bus.bind", () => {
  it("probes an unbound device again; EBUSY while bound, EINVAL once unplugged", async () => {
    const machine = new Machine();
    let probes = 0;
    await machine.pci.register(defineDriver({ name: "again", ids: [NIC], probe: () => (probes++, {}) }));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await expectReject(machine.pci.bind(dev), "EBUSY");
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
    await machine.pci.bind(dev);
    expect(dev.state).toBe("bound");
    expect(probes).toBe(2);
    await machine.pci.unplug(dev);
    await expectReject(machine.pci.bind(dev), "EINVAL");
  });
});
