/**
 * Drivers (src/driver.ts): what defineDriver accepts, and what probe() may
 * return.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Machine } from "../src/index.js";
import type { CoherentAllocation, DriverInstance, DriverSpec, ProbeDevice } from "../src/index.js";
import { expectCode, expectReject, NIC, smuggle } from "./helpers.js";

const probe: DriverSpec["probe"] = () => ({});

describe("defineDriver", () => {
  it("keeps the name and ids it was given", () => {
    const driver = defineDriver({ name: "nic", ids: [NIC, { vendor: 0, device: 0xffff }], probe });
    expect(driver.name).toBe("nic");
    expect(driver.ids).toEqual([NIC, { vendor: 0, device: 0xffff }]);
  });

  it("freezes the driver so it cannot be retargeted after definition", () => {
    const driver = defineDriver({ name: "nic", ids: [NIC], probe });
    expect(Object.isFrozen(driver)).toBe(true);
    expect(Object.isFrozen(driver.ids)).toBe(true);
    expect(Object.isFrozen(driver.ids[0])).toBe(true);
  });

  it("copies the ids, so changing the caller's array later changes nothing", () => {
    const ids: { vendor: number; device: number }[] = [{ ...NIC }];
    const driver = defineDriver({ name: "nic", ids, probe });
    ids[0]!.device = 0x2000;
    expect(driver.ids).toEqual([NIC]);
  });

  it.each([
    ["null", null],
    ["a missing name", { ids: [NIC], probe }],
    ["an empty name", { name: "  ", ids: [NIC], probe }],
    ["a numeric name", { name: 7, ids: [NIC], probe }],
    ["missing ids", { name: "nic", probe }],
    ["an empty id list", { name: "nic", ids: [], probe }],
    ["ids that are not an array", { name: "nic", ids: NIC, probe }],
    ["an id with a vendor above 0xffff", { name: "nic", ids: [{ vendor: 0x10000, device: 1 }], probe }],
    ["an id with a negative device", { name: "nic", ids: [{ vendor: 1, device: -1 }], probe }],
    ["an id with a fractional vendor", { name: "nic", ids: [{ vendor: 1.5, device: 1 }], probe }],
    ["an id that is null", { name: "nic", ids: [null], probe }],
    ["a missing probe", { name: "nic", ids: [NIC] }],
    ["a probe that is not a function", { name: "nic", ids: [NIC], probe: "probe" }],
  ])("defineDriver with %s is EINVAL", (_, spec) => {
    expectCode(() => defineDriver(smuggle(spec)), "EINVAL");
  });
});

describe("registering what defineDriver did not make", () => {
  it("a look-alike driver object is EINVAL at register", async () => {
    const machine = new Machine();
    await expectReject(machine.pci.register(smuggle({ name: "fake", ids: [NIC], probe })), "EINVAL");
    expect(machine.pci.drivers).toEqual([]);
  });

  it("a look-alike driver object is EINVAL at unregister", async () => {
    const machine = new Machine();
    await expectReject(machine.pci.unregister(smuggle({ name: "fake", ids: [NIC] })), "EINVAL");
  });
});

describe("what probe returns", () => {
  it("a probe that returns nothing binds the device, with no remove to call", async () => {
    const machine = new Machine();
    const driver = defineDriver({ name: "quiet", ids: [NIC], probe: () => smuggle(undefined) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(dev.state).toBe("bound");
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
  });

  it("a probe that returns a non-object fails the probe and releases what it took", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "odd",
      ids: [NIC],
      probe(dev) {
        allocCoherent(dev, 4096);
        return smuggle(42);
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.events.find((e) => e.kind === "probe-failed")?.error).toMatchObject({ code: "EINVAL" });
  });

  it("a probe whose remove is not a function fails the probe", async () => {
    const machine = new Machine();
    const driver = defineDriver({ name: "odd", ids: [NIC], probe: () => smuggle({ remove: 1 }) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(dev.state).toBe("no-driver");
  });

  it("a class instance generic in its scope gets remove() called with the binding's token", async () => {
    class Nic<Scope> implements DriverInstance<Scope> {
      removedWith: unknown;
      constructor(
        readonly probedWith: ProbeDevice<Scope>,
        readonly ring: CoherentAllocation<Scope>,
      ) {}
      remove(dev: ProbeDevice<Scope>): void {
        this.removedWith = dev;
        this.ring.bytes(dev).fill(1);
      }
    }
    const machine = new Machine();
    const instances: Nic<unknown>[] = [];
    const driver = defineDriver({
      name: "class",
      ids: [NIC],
      probe(dev) {
        const instance = new Nic(dev, allocCoherent(dev, 64));
        instances.push(smuggle(instance));
        return instance;
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    const [instance] = instances;
    expect(instance?.removedWith).toBe(instance?.probedWith);
    expect(machine.events.some((e) => e.kind === "remove-failed")).toBe(false);
  });
});

describe("the known hole in the types: nested unannotated probes share a scope type", () => {
  it("the run time refuses one driver's allocation read with a nested driver's token (EINVAL)", async () => {
    // types-tests/must-compile/known-hole-nested-probes.ts: this compiles.
    const machine = new Machine();
    const OTHER = { vendor: NIC.vendor, device: NIC.device + 1 };
    const caught: unknown[] = [];
    const outer = defineDriver({
      name: "outer",
      ids: [NIC],
      async probe(devA) {
        const bufA = allocCoherent(devA, 64);
        const inner = defineDriver({
          name: "inner",
          ids: [OTHER],
          probe(devB) {
            try {
              bufA.bytes(devB);
            } catch (error) {
              caught.push(error);
            }
            return {};
          },
        });
        await machine.pci.register(inner);
        return {};
      },
    });
    machine.pci.plug(OTHER);
    await machine.pci.register(outer);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(caught).toHaveLength(1);
    expectCode(() => {
      throw caught[0];
    }, "EINVAL");
  });
});
