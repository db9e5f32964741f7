/**
 * Device hierarchies on the PCI bus (src/core/bus.ts, src/sim/pci.ts): a
 * parent and its children, unplug and software removal of a subtree deepest
 * first, rescan parents first with fresh references, and the refusals.
 */

import { describe, expect, it } from "vitest";
import { defineDriver, DeviceModel, Machine } from "../src/index.js";
import type { Device, Driver } from "../src/index.js";
import { deferred, expectCode, expectReject, NIC, tick } from "./helpers.js";

const BRIDGE = { vendor: 0x8086, device: 0x244e } as const;

/** A driver for `ids` that logs `probe <dev>` and `remove <dev>`. */
function logging(name: string, log: string[], ids: readonly { vendor: number; device: number }[] = [NIC, BRIDGE]): Driver {
  return defineDriver({
    name,
    ids,
    probe(dev) {
      log.push(`probe ${dev.name}`);
      return { remove: (d) => void log.push(`remove ${d.name}`) };
    },
  });
}

/** bridge "b" with children "b.1", "b.2"; "b.1" has child "b.1.1". */
async function tree(machine: Machine, log: string[]): Promise<{ b: Device; b1: Device; b2: Device; b11: Device }> {
  await machine.pci.register(logging("drv", log));
  const b = machine.pci.plug({ ...BRIDGE, name: "b" });
  const b1 = machine.pci.plug({ ...NIC, name: "b.1" }, { parent: b });
  const b2 = machine.pci.plug({ ...NIC, name: "b.2" }, { parent: b });
  const b11 = machine.pci.plug({ ...NIC, name: "b.1.1" }, { parent: b1 });
  await machine.settled();
  log.length = 0;
  return { b, b1, b2, b11 };
}

describe("the device tree", () => {
  it("a device knows its parent and children", async () => {
    const machine = new Machine();
    const { b, b1, b2, b11 } = await tree(machine, []);
    expect(machine.pci.parent(b)).toBeUndefined();
    expect(machine.pci.parent(b11)).toBe(b1);
    expect(machine.pci.children(b)).toEqual([b1, b2]);
    expect(machine.pci.children(b2)).toEqual([]);
    expect(machine.events.find((e) => e.kind === "plug" && e.device === "b.1.1")?.parent).toBe("b.1");
  });

  it("unplugging a parent removes its children first, deepest first, newest child first", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const { b, b1, b2, b11 } = await tree(machine, log);
    await machine.pci.unplug(b);
    expect(log).toEqual(["remove b.2", "remove b.1.1", "remove b.1", "remove b"]);
    for (const dev of [b, b1, b2, b11]) expect(dev.state).toBe("zombie");
    expect(machine.pci.devices).toEqual([]);
    // The whole subtree left the bus at once: a child cannot be unplugged after.
    await expectReject(machine.pci.unplug(b1), "EINVAL");
  });

  it("a child's slow remove() holds the parent's remove() back", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const gate = deferred();
    await machine.pci.register(logging("bridge", log, [BRIDGE]));
    await machine.pci.register(
      defineDriver({
        name: "slow",
        ids: [NIC],
        probe: () => ({
          remove: async () => {
            log.push("child remove start");
            await gate.promise;
            log.push("child remove end");
          },
        }),
      }),
    );
    const b = machine.pci.plug({ ...BRIDGE, name: "b" });
    machine.pci.plug({ ...NIC, name: "c" }, { parent: b });
    await machine.settled();
    log.length = 0;
    const unplug = machine.pci.unplug(b);
    for (let i = 0; i < 5; i++) await tick();
    expect(log).toEqual(["child remove start"]);
    gate.resolve();
    await unplug;
    expect(log).toEqual(["child remove start", "child remove end", "remove b"]);
  });

  it("unbinding a parent leaves its children bound", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const { b, b1 } = await tree(machine, log);
    await machine.pci.unbind(b);
    expect(log).toEqual(["remove b"]);
    expect(b1.state).toBe("bound");
  });

  it("plug refuses a parent that is not on the bus", async () => {
    const machine = new Machine();
    const other = new Machine().pci.plug(NIC);
    expectCode(() => machine.pci.plug(NIC, { parent: other }), "EINVAL");
    const gone = machine.pci.plug(NIC);
    await machine.pci.unplug(gone);
    expectCode(() => machine.pci.plug(NIC, { parent: gone }), "EINVAL");
    expectCode(() => machine.pci.plug(NIC, null as never), "EINVAL");
    expect(machine.pci.devices).toEqual([]);
  });
});

describe("software removal and rescan", () => {
  it("remove() takes the subtree off deepest first and keeps the hardware for rescan()", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const { b, b1 } = await tree(machine, log);
    await machine.pci.remove(b1);
    expect(log).toEqual(["remove b.1.1", "remove b.1"]);
    expect(b1.state).toBe("zombie");
    expect(machine.pci.devices.map((d) => d.name)).toEqual(["b", "b.2"]);
    expect(machine.events.filter((e) => e.kind === "device-remove").map((e) => e.device)).toEqual(["b.1", "b.1.1"]);
    // The name stays taken by the hidden hardware.
    expectCode(() => machine.pci.plug({ ...NIC, name: "b.1" }), "EBUSY");
    log.length = 0;
    const found = await machine.pci.rescan();
    await machine.settled();
    expect(found.map((d) => d.name)).toEqual(["b.1", "b.1.1"]);
    expect(found[0]).not.toBe(b1);
    expect(found[0]!.state).toBe("bound");
    expect(machine.pci.parent(found[0]!)).toBe(b);
    expect(machine.pci.parent(found[1]!)).toBe(found[0]);
    expect(log).toEqual(["probe b.1", "probe b.1.1"]);
  });

  it("rescan finds a removed parent before the children removed before it", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const { b, b2 } = await tree(machine, log);
    await machine.pci.remove(b2);
    await machine.pci.remove(b);
    const found = await machine.pci.rescan();
    expect(found.map((d) => d.name)).toEqual(["b", "b.1", "b.1.1", "b.2"]);
    expect(machine.pci.children(found[0]!).map((d) => d.name)).toEqual(["b.1", "b.2"]);
  });

  it("rescan waits for a removal still running", async () => {
    const machine = new Machine();
    const gate = deferred();
    await machine.pci.register(defineDriver({ name: "slow", ids: [NIC], probe: () => ({ remove: () => gate.promise }) }));
    const dev = machine.pci.plug({ ...NIC, name: "x" });
    await machine.settled();
    const removal = machine.pci.remove(dev);
    const rescan = machine.pci.rescan();
    let found: readonly Device[] | undefined;
    void rescan.then((f) => (found = f));
    for (let i = 0; i < 5; i++) await tick();
    expect(found).toBeUndefined();
    gate.resolve();
    await removal;
    expect((await rescan).map((d) => d.name)).toEqual(["x"]);
  });

  it("a model stays connected to its hardware through remove and rescan", async () => {
    class Counter extends DeviceModel {
      reads = 0;
      gone = 0;
      constructor() {
        super({ vendor: NIC.vendor, device: NIC.device, name: "m", bars: [4096] });
      }
      override mmioRead(): number {
        return ++this.reads;
      }
      override removed(): void {
        this.gone++;
      }
    }
    const machine = new Machine();
    const model = new Counter();
    const dev = machine.pci.plug(model);
    await machine.pci.remove(dev);
    expect(model.gone).toBe(0);
    const [again] = await machine.pci.rescan();
    await machine.pci.unplug(again!);
    expect(model.gone).toBe(1);
  });

  it("unplugging a parent takes the removed hardware under it: rescan finds nothing", async () => {
    const machine = new Machine();
    const { b, b1 } = await tree(machine, []);
    await machine.pci.remove(b1);
    await machine.pci.unplug(b);
    expect(await machine.pci.rescan()).toEqual([]);
    // Its name is free again.
    machine.pci.plug({ ...NIC, name: "b.1" });
  });

  it("remove refuses a device already removed or unplugged", async () => {
    const machine = new Machine();
    const dev = machine.pci.plug(NIC);
    await machine.pci.remove(dev);
    await expectReject(machine.pci.remove(dev), "EINVAL");
    await expectReject(machine.pci.unplug(dev), "EINVAL");
    await expectReject(machine.pci.unbind(dev), "EINVAL");
  });

  it("disposing the machine unplugs roots, children with them", async () => {
    const machine = new Machine();
    const { b, b1, b2, b11 } = await tree(machine, []);
    await machine[Symbol.asyncDispose]();
    for (const dev of [b, b1, b2, b11]) expect(dev.state).toBe("zombie");
  });
});
