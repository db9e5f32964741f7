/**
 * Per-id driver data (src/driver/driver.ts): an id table's entries carry
 * typed data (`pci_device_id.driver_data`), `probe(dev, id)` receives the
 * first entry, in table order, that matches the device, and the table with
 * its data is checked, copied and frozen once, shared by every binding.
 * Entries may also match on the subsystem ids and the class code under a
 * mask; a field left out matches any device (`PCI_ANY_ID`).
 */

import { describe, expect, it } from "vitest";
import { defineDriver, DeviceModel, deviceTable, Machine } from "../src/index.js";
import type { DeviceId, Driver, MatchedId } from "../src/index.js";
import { DriverCore } from "../src/driver/driver.js";
import { expectCode, smuggle } from "./helpers.js";

const VENDOR = 0x1af4;

/** Registers `driver`, plugs each id, and gives the entries probe received, in plug order. */
async function probedWith(driver: Driver, seen: unknown[], devices: readonly { vendor: number; device: number }[]): Promise<unknown[]> {
  const machine = new Machine();
  await machine.pci.register(driver);
  for (const id of devices) machine.pci.plug(id);
  await machine.settled();
  return seen;
}

describe("probe(dev, id) receives the matched entry", () => {
  it("defineDriver: the entry the device matched, without data; a one-parameter probe still works", async () => {
    const seen: unknown[] = [];
    const two = defineDriver({
      name: "two",
      ids: [{ vendor: VENDOR, device: 0x1000 }, { vendor: VENDOR, device: 0x1041 }],
      probe(_dev, id) {
        seen.push(id);
        return {};
      },
    });
    await probedWith(two, seen, [{ vendor: VENDOR, device: 0x1041 }]);
    expect(seen).toEqual([{ vendor: VENDOR, device: 0x1041 }]);
    expect(seen[0]).toBe(two.ids[1]);
    expect((seen[0] as MatchedId).data).toBeUndefined();
    let probed = 0;
    const one = defineDriver({ name: "one", ids: [{ vendor: VENDOR, device: 0x1000 }], probe: () => (probed++, {}) });
    await probedWith(one, [], [{ vendor: VENDOR, device: 0x1000 }]);
    expect(probed).toBe(1);
  });

  it("deviceTable: each device gets its entry's data, typed", async () => {
    const seen: unknown[] = [];
    const driver = deviceTable([
      { vendor: VENDOR, device: 0x1000, data: { modern: false, queues: 1 } },
      { vendor: VENDOR, device: 0x1041, data: { modern: true, queues: 4 } },
    ]).defineDriver({
      name: "virtio-net",
      probe(_dev, id) {
        const queues: 1 | 4 = id.data.queues;
        seen.push([id.device, queues, id.data.modern]);
        return {};
      },
    });
    await probedWith(driver, seen, [{ vendor: VENDOR, device: 0x1041 }, { vendor: VENDOR, device: 0x1000 }]);
    expect(seen).toEqual([[0x1041, 4, true], [0x1000, 1, false]]);
  });

  it("the first entry in table order wins, as pci_match_id walks it", async () => {
    const seen: unknown[] = [];
    const driver = deviceTable([
      { vendor: VENDOR, device: 0x1000, data: "first" },
      { vendor: VENDOR, device: 0x1000, data: "second" },
    ] as const).defineDriver({ name: "order", probe: (_dev, id) => (seen.push(id.data), {}) });
    expect(await probedWith(driver, seen, [{ vendor: VENDOR, device: 0x1000 }])).toEqual(["first"]);
  });

  it("every binding by one entry shares its data: the same frozen object", async () => {
    const seen: unknown[] = [];
    const driver = deviceTable([{ vendor: VENDOR, device: 0x1000, data: { rings: [1, 2] } }]).defineDriver({
      name: "shared",
      probe: (_dev, id) => (seen.push(id.data), {}),
    });
    await probedWith(driver, seen, [{ vendor: VENDOR, device: 0x1000 }, { vendor: VENDOR, device: 0x1000 }]);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(() => {
      (seen[0] as { rings: number[] }).rings.push(3);
    }).toThrow(TypeError);
  });
});

describe("the table is checked, copied and frozen once", () => {
  it("data is frozen in place, deeply through plain objects and arrays; a Map or class instance is left as it is", () => {
    const map = new Map<string, number>();
    class Counter {
      n = 0;
    }
    const data = { nested: { list: [{ deep: 1 }] }, map, counter: new Counter() };
    const table = deviceTable([{ vendor: VENDOR, device: 1, data }]);
    expect(table.ids[0]!.data).toBe(data);
    expect(Object.isFrozen(data)).toBe(true);
    expect(Object.isFrozen(data.nested.list[0])).toBe(true);
    expect(Object.isFrozen(map)).toBe(false);
    expect(Object.isFrozen(data.counter)).toBe(false);
    expect(Object.isFrozen(table)).toBe(true);
    expect(Object.isFrozen(table.ids)).toBe(true);
    expect(Object.isFrozen(table.ids[0])).toBe(true);
  });

  it("data with a cycle is frozen without looping", () => {
    const data: { self?: unknown } = {};
    data.self = data;
    deviceTable([{ vendor: VENDOR, device: 1, data }]);
    expect(Object.isFrozen(data)).toBe(true);
  });

  it("a refused table freezes none of its data", () => {
    const data = { queues: 2 };
    expectCode(() => deviceTable([{ vendor: VENDOR, device: 1, data }, smuggle<DeviceId<{ queues: number }>>({ vendor: -1, device: 0, data })]), "EINVAL");
    expect(Object.isFrozen(data)).toBe(false);
  });

  it("the entries are copies: changing the caller's array or entries later changes nothing", () => {
    const ids = [{ vendor: VENDOR, device: 1, data: 5 }];
    const table = deviceTable(ids);
    ids[0]!.device = 2;
    ids.push({ vendor: VENDOR, device: 3, data: 6 });
    expect(table.ids).toEqual([{ vendor: VENDOR, device: 1, data: 5 }]);
  });

  it("table.defineDriver keeps the table's ids, and refuses a spec that brings its own", () => {
    const table = deviceTable([{ vendor: VENDOR, device: 1, data: 1 }]);
    const driver = table.defineDriver({ name: "t", probe: () => ({}) });
    expect(driver.ids).toBe(table.ids);
    expect(expectCode(() => table.defineDriver(smuggle<{ name: string; probe: () => object }>({ name: "t", ids: [], probe: () => ({}) })), "EINVAL").message).toContain("leave ids out");
  });

  it("table.defineDriver finds a probe on the spec's class, not on Object.prototype", () => {
    class Spec {
      readonly name = "classy";
      probe() {
        return {};
      }
    }
    const table = deviceTable([{ vendor: VENDOR, device: 1 }]);
    expect(table.defineDriver(new Spec()).name).toBe("classy");
    expectCode(() => table.defineDriver(smuggle<Spec>({ name: "none" })), "EINVAL");
  });

  it.each<[string, unknown, string]>([
    ["an unknown key (a typo)", { vendor: VENDOR, device: 1, subVendor: 1 }, 'unknown key "subVendor"'],
    ["subvendor 0x10000", { vendor: VENDOR, device: 1, subvendor: 0x10000 }, "subvendor"],
    ["subdevice -1", { vendor: VENDOR, device: 1, subdevice: -1 }, "subdevice"],
    ['subvendor "1"', { vendor: VENDOR, device: 1, subvendor: "1" }, "subvendor"],
    ["class 0x1000000", { vendor: VENDOR, device: 1, class: 0x100_0000 }, "class"],
    ["class 1.5", { vendor: VENDOR, device: 1, class: 1.5 }, "class"],
    ["classMask without class", { vendor: VENDOR, device: 1, classMask: 0xff0000 }, "classMask without class"],
    ["class bits outside classMask", { vendor: VENDOR, device: 1, class: 0x010601, classMask: 0xff0000 }, "outside classMask"],
    ["vendor 0x10000", { vendor: 0x10000, device: 1 }, "whole numbers from 0 to 0xffff"],
  ])("an id with %s is EINVAL, from defineDriver and deviceTable alike", (_, id, words) => {
    expect(expectCode(() => defineDriver({ name: "d", ids: [smuggle<DeviceId>(id)], probe: () => ({}) }), "EINVAL").message).toContain(words);
    expect(expectCode(() => deviceTable([smuggle<DeviceId>(id)]), "EINVAL").message).toContain(words);
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["an empty array", []],
    ["a sparse array", new Array(1)],
    ["a string", "1af4:1000"],
  ])("deviceTable of %s is EINVAL", (_, ids) => {
    expectCode(() => deviceTable(smuggle<readonly DeviceId[]>(ids)), "EINVAL");
  });
});

describe("matching on subsystem ids and the class code", () => {
  const core = (ids: readonly DeviceId<unknown>[]): DriverCore => DriverCore.of(deviceTable<unknown>(ids).defineDriver({ name: "m", probe: () => ({}) }), "test");
  const dev = { vendor: VENDOR, device: 0x1000, subvendor: 0x8086, subdevice: 0x0001, classCode: 0x020000 };

  it("a field left out matches any value; one given must be equal", () => {
    expect(core([{ vendor: VENDOR, device: 0x1000 }]).matches(dev)).toBe(true);
    expect(core([{ vendor: VENDOR, device: 0x1000, subvendor: 0x8086, subdevice: 0x0001 }]).matches(dev)).toBe(true);
    expect(core([{ vendor: VENDOR, device: 0x1000, subvendor: 0x8086, subdevice: 0x0002 }]).matches(dev)).toBe(false);
    expect(core([{ vendor: VENDOR, device: 0x1000, subvendor: 0x1234 }]).matches(dev)).toBe(false);
    expect(core([{ vendor: VENDOR, device: 0x1001 }]).matches(dev)).toBe(false);
  });

  it("class matches under its mask (all 24 bits by default)", () => {
    expect(core([{ vendor: VENDOR, device: 0x1000, class: 0x020000 }]).matches(dev)).toBe(true);
    expect(core([{ vendor: VENDOR, device: 0x1000, class: 0x020001 }]).matches(dev)).toBe(false);
    expect(core([{ vendor: VENDOR, device: 0x1000, class: 0x020000, classMask: 0xff0000 }]).matches({ ...dev, classCode: 0x028000 })).toBe(true);
    expect(core([{ vendor: VENDOR, device: 0x1000, class: 0x010000, classMask: 0xff0000 }]).matches(dev)).toBe(false);
  });

  it("a device that reports no subsystem ids or class matches only entries that leave them out", () => {
    const bare = { vendor: VENDOR, device: 0x1000 };
    expect(core([{ vendor: VENDOR, device: 0x1000, subvendor: 0 }]).matches(bare)).toBe(false);
    expect(core([{ vendor: VENDOR, device: 0x1000, class: 0, classMask: 0 }]).matches(bare)).toBe(false);
    expect(core([{ vendor: VENDOR, device: 0x1000 }]).matches(bare)).toBe(true);
  });

  it("the matched entry is the first that matches, the specific one only when it comes first", () => {
    const specific = { vendor: VENDOR, device: 0x1000, subvendor: 0x8086, data: "specific" };
    const generic = { vendor: VENDOR, device: 0x1000, data: "generic" };
    expect(core([specific, generic]).matchedId(dev)?.data).toBe("specific");
    expect(core([generic, specific]).matchedId(dev)?.data).toBe("generic");
    expect(core([specific, generic]).matchedId({ ...dev, subvendor: 1 })?.data).toBe("generic");
  });
});

describe("a plugged device reports its subsystem ids and class code from config space", () => {
  it("an entry for a class matches a model of that class and not another; the subsystem ids are the model's ids", async () => {
    const machine = new Machine();
    const probed: string[] = [];
    const table = deviceTable([
      { vendor: VENDOR, device: 0x1000, class: 0x020000, classMask: 0xff0000, data: "network" },
      { vendor: VENDOR, device: 0x1000, subvendor: VENDOR, subdevice: 0x1000, data: "any other" },
    ]);
    await machine.pci.register(table.defineDriver({ name: "by-class", probe: (dev, id) => (probed.push(`${dev.name} ${id.data}`), {}) }));
    machine.pci.plug(new DeviceModel({ vendor: VENDOR, device: 0x1000, name: "nic", classCode: 0x020000 }));
    machine.pci.plug(new DeviceModel({ vendor: VENDOR, device: 0x1000, name: "disk", classCode: 0x010802 }));
    await machine.settled();
    expect(probed.sort()).toEqual(["disk any other", "nic network"]);
  });
});
