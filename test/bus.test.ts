/**
 * The bus and the driver core (src/bus.ts): matching, automatic probe, the
 * five device states, serialized state changes, refused requests, and what a
 * failed probe or remove leaves behind.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, BoundscopeError, defineDriver, Devres, Machine, setDmaMask } from "../src/index.js";
import type { Device, Driver, ProbeDevice } from "../src/index.js";
import { deferred, expectCode, expectReject, NIC, smuggle, tick, transitions } from "./helpers.js";
import type { Deferred, Smuggled } from "./helpers.js";

/** A driver that logs `probe <driver> <device>` and `remove <driver> <device>`. */
function logging(name: string, log: string[], ids: readonly { vendor: number; device: number }[] = [NIC]): Driver {
  return defineDriver({
    name,
    ids,
    probe(dev) {
      log.push(`probe ${name} ${dev.name}`);
      return { remove: (d) => void log.push(`remove ${name} ${d.name}`) };
    },
  });
}

/** A driver whose probe waits for `gate`, logging as {@link logging} does. */
function gated(name: string, log: string[], gate: Deferred): Driver {
  return defineDriver({
    name,
    ids: [NIC],
    async probe(dev) {
      log.push(`probe ${name} ${dev.name}`);
      await gate.promise;
      log.push(`probed ${name} ${dev.name}`);
      return { remove: (d) => void log.push(`remove ${name} ${d.name}`) };
    },
  });
}

/** Which driver each successful probe of `dev` bound. */
function boundBy(machine: Machine, dev: Device): string[] {
  return machine.events.filter((e) => e.kind === "probe-end" && e.device === dev.name).map((e) => e.driver ?? "");
}

describe("matching and automatic probe", () => {
  it("plug probes the device with a matching registered driver", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(dev.state).toBe("bound");
    expect(log).toEqual([`probe a ${dev.name}`]);
  });

  it("register probes every matching device already on the bus", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const one = machine.pci.plug(NIC);
    const two = machine.pci.plug(NIC);
    await machine.pci.register(logging("a", log));
    expect([one.state, two.state]).toEqual(["bound", "bound"]);
    expect(log).toEqual([`probe a ${one.name}`, `probe a ${two.name}`]);
  });

  it("a device with the driver's vendor but another device id is not probed", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug({ vendor: NIC.vendor, device: NIC.device + 1 });
    await machine.settled();
    expect(dev.state).toBe("no-driver");
    expect(log).toEqual([]);
  });

  it("a device with the driver's device id but another vendor is not probed", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug({ vendor: NIC.vendor + 1, device: NIC.device });
    await machine.settled();
    expect(dev.state).toBe("no-driver");
    expect(log).toEqual([]);
  });

  it("a driver with several ids binds a device of each", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const other = { vendor: 0x8086, device: 0x100e };
    await machine.pci.register(logging("a", log, [NIC, other]));
    const one = machine.pci.plug(NIC);
    const two = machine.pci.plug(other);
    await machine.settled();
    expect([one.state, two.state]).toEqual(["bound", "bound"]);
  });

  it("plug returns the device before its async probe has settled", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const gate = deferred();
    await machine.pci.register(gated("a", log, gate));
    const dev = machine.pci.plug(NIC);
    await tick();
    expect(dev.state).toBe("probing");
    gate.resolve();
    await machine.settled();
    expect(dev.state).toBe("bound");
  });

  it("register resolves only once every probe it started has settled", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const gate = deferred();
    machine.pci.plug(NIC);
    let registered = false;
    const done = machine.pci.register(gated("a", log, gate)).then(() => (registered = true));
    await tick();
    expect(registered).toBe(false);
    gate.resolve();
    await done;
    expect(registered).toBe(true);
  });

  it("register resolves, not rejects, when a probe it started fails", async () => {
    const machine = new Machine();
    const dev = machine.pci.plug(NIC);
    const driver = defineDriver({
      name: "refuser",
      ids: [NIC],
      probe() {
        throw new Error("no such hardware revision");
      },
    });
    await expect(machine.pci.register(driver)).resolves.toBeUndefined();
    expect(dev.state).toBe("no-driver");
  });

  it("a driver registered while a device is bound to another does not probe it", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.register(logging("b", log));
    expect(log).toEqual([`probe a ${dev.name}`]);
    expect(boundBy(machine, dev)).toEqual(["a"]);
  });

  it("with two matching drivers the first whose probe succeeds binds", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const refuser = defineDriver({
      name: "refuser",
      ids: [NIC],
      async probe() {
        await tick();
        throw new Error("not my revision");
      },
    });
    await machine.pci.register(refuser);
    await machine.pci.register(logging("b", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(dev.state).toBe("bound");
    expect(boundBy(machine, dev)).toEqual(["b"]);
  });

  it("with two matching drivers that both succeed the first registered binds and the second is not probed", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    await machine.pci.register(logging("b", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(log).toEqual([`probe a ${dev.name}`]);
  });

  it("a driver unregistered after plug queued its probe is skipped for the next candidate", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const a = logging("a", log);
    await machine.pci.register(a);
    await machine.pci.register(logging("b", log));
    const dev = machine.pci.plug(NIC);
    const unregistered = machine.pci.unregister(a);
    await unregistered;
    await machine.settled();
    expect(log).toEqual([`probe b ${dev.name}`]);
    expect(dev.state).toBe("bound");
  });
});

describe("devices and settled()", () => {
  it("devices lists plugged devices in plug order and drops unplugged ones", async () => {
    const machine = new Machine();
    const one = machine.pci.plug(NIC);
    const two = machine.pci.plug({ vendor: 1, device: 2 });
    const three = machine.pci.plug({ vendor: 3, device: 4, name: "gpu0" });
    expect(machine.pci.devices).toEqual([one, two, three]);
    await machine.pci.unplug(two);
    expect(machine.pci.devices).toEqual([one, three]);
  });

  it("plug names a device by the given name or else by a fresh bus address", () => {
    const machine = new Machine();
    const named = machine.pci.plug({ ...NIC, name: "eth0" });
    const one = machine.pci.plug(NIC);
    const two = machine.pci.plug(NIC);
    expect(named.name).toBe("eth0");
    expect(one.name).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.0$/);
    expect(two.name).not.toBe(one.name);
  });

  it("settled waits for a pending probe", async () => {
    const machine = new Machine();
    const gate = deferred();
    await machine.pci.register(gated("a", [], gate));
    const dev = machine.pci.plug(NIC);
    let settled = false;
    const done = machine.settled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    gate.resolve();
    await done;
    expect(dev.state).toBe("bound");
  });

  it("settled waits for a pending remove", async () => {
    const machine = new Machine();
    const gate = deferred();
    const driver = defineDriver({
      name: "slow-remove",
      ids: [NIC],
      probe: () => ({ remove: () => gate.promise }),
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    void machine.pci.unbind(dev);
    let settled = false;
    const done = machine.settled().then(() => (settled = true));
    await tick();
    expect(settled).toBe(false);
    expect(dev.state).toBe("unbinding");
    gate.resolve();
    await done;
    expect(dev.state).toBe("no-driver");
  });

  it("settled waits for work queued while it was waiting", async () => {
    const machine = new Machine();
    const first = deferred();
    const second = deferred();
    let probes = 0;
    const driver = defineDriver({
      name: "twice",
      ids: [NIC],
      async probe() {
        await (probes++ === 0 ? first.promise : second.promise);
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    let settled = false;
    const done = machine.settled().then(() => (settled = true));
    const late = machine.pci.plug(NIC);
    first.resolve();
    await tick();
    expect(settled).toBe(false);
    second.resolve();
    await done;
    expect(late.state).toBe("bound");
  });

  it("settled resolves on an idle machine", async () => {
    await expect(new Machine().settled()).resolves.toBeUndefined();
  });
});

describe("the five states", () => {
  it("probe and unbind take a device no-driver -> probing -> bound -> unbinding -> no-driver", async () => {
    const machine = new Machine();
    await machine.pci.register(logging("a", []));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(transitions(machine, dev)).toEqual([
      "no-driver -> probing",
      "probing -> bound",
      "bound -> unbinding",
      "unbinding -> no-driver",
    ]);
  });

  it("unplug takes a bound device through unbinding to zombie", async () => {
    const machine = new Machine();
    await machine.pci.register(logging("a", []));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    expect(dev.state).toBe("zombie");
    expect(transitions(machine, dev).slice(-2)).toEqual(["bound -> unbinding", "unbinding -> zombie"]);
  });

  it("unplug takes a device with no driver straight to zombie without a remove", async () => {
    const machine = new Machine();
    const dev = machine.pci.plug(NIC);
    await machine.pci.unplug(dev);
    expect(dev.state).toBe("zombie");
    expect(transitions(machine, dev)).toEqual(["no-driver -> zombie"]);
    expect(machine.events.some((e) => e.kind === "remove-start")).toBe(false);
  });

  it("a failed probe takes a device probing -> no-driver", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "refuser",
      ids: [NIC],
      probe() {
        throw new Error("refused");
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(transitions(machine, dev)).toEqual(["no-driver -> probing", "probing -> no-driver"]);
  });

  it("probe sees the device probing and remove sees it unbinding", async () => {
    const machine = new Machine();
    const seen: string[] = [];
    const driver = defineDriver({
      name: "watcher",
      ids: [NIC],
      probe(dev) {
        seen.push(dev.state);
        return { remove: (d) => void seen.push(d.state) };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(seen).toEqual(["probing", "unbinding"]);
  });

  it("a zombie is never probed again, even by a newly registered matching driver", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const dev = machine.pci.plug(NIC);
    await machine.pci.unplug(dev);
    await machine.pci.register(logging("a", log));
    expect(dev.state).toBe("zombie");
    expect(log).toEqual([]);
  });

  it("a name is free again once its device is unplugged", async () => {
    const machine = new Machine();
    const old = machine.pci.plug({ ...NIC, name: "eth0" });
    await machine.pci.unplug(old);
    const fresh = machine.pci.plug({ ...NIC, name: "eth0" });
    expect(fresh).not.toBe(old);
    expect([old.state, fresh.state]).toEqual(["zombie", "no-driver"]);
  });
});

describe("impossible requests", () => {
  it("registering a driver twice is EBUSY and its bindings are untouched", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const a = logging("a", log);
    await machine.pci.register(a);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await expectReject(machine.pci.register(a), "EBUSY");
    expect(dev.state).toBe("bound");
    expect(log).toEqual([`probe a ${dev.name}`]);
    expect(machine.pci.drivers).toEqual([a]);
  });

  it("unbinding a device with no driver is EINVAL and it can still be bound later", async () => {
    const machine = new Machine();
    const dev = machine.pci.plug(NIC);
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(dev.state).toBe("no-driver");
    await machine.pci.register(logging("a", []));
    expect(dev.state).toBe("bound");
  });

  it("unbinding a device whose queued probe did not bind it is EINVAL", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "refuser",
      ids: [NIC],
      async probe() {
        await tick();
        throw new Error("refused");
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(dev.state).toBe("no-driver");
  });

  it("unbinding a device of another machine is EINVAL and both stay as they were", async () => {
    const here = new Machine();
    const there = new Machine();
    await there.pci.register(logging("a", []));
    const foreign = there.pci.plug(NIC);
    await there.settled();
    await expectReject(here.pci.unbind(foreign), "EINVAL");
    expect(foreign.state).toBe("bound");
    expect(here.pci.devices).toEqual([]);
  });

  it("unbinding a value that is not a device is EINVAL", async () => {
    const machine = new Machine();
    const fake = smuggle<Device>({ name: "0000:00:01.0", vendor: NIC.vendor, device: NIC.device, state: "bound" });
    await expectReject(machine.pci.unbind(fake), "EINVAL");
  });

  it("unbinding a device twice in a row is EINVAL the second time", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(dev.state).toBe("no-driver");
    expect(log.filter((l) => l.startsWith("remove"))).toHaveLength(1);
  });

  it("two unbinds asked at once: the first unbinds, the second is EINVAL", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    const first = machine.pci.unbind(dev);
    const second = machine.pci.unbind(dev);
    await expect(first).resolves.toBeUndefined();
    await expectReject(second, "EINVAL");
    expect(dev.state).toBe("no-driver");
    expect(log.filter((l) => l.startsWith("remove"))).toHaveLength(1);
  });

  it("unplugging a device twice is EINVAL and it stays a zombie", async () => {
    const machine = new Machine();
    await machine.pci.register(logging("a", []));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    await expectReject(machine.pci.unplug(dev), "EINVAL");
    expect(dev.state).toBe("zombie");
  });

  it("unplugging twice at once removes once and refuses the second", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    const first = machine.pci.unplug(dev);
    await expectReject(machine.pci.unplug(dev), "EINVAL");
    await first;
    expect(dev.state).toBe("zombie");
    expect(log.filter((l) => l.startsWith("remove"))).toHaveLength(1);
  });

  it("unbinding an unplugged device is EINVAL", async () => {
    const machine = new Machine();
    const dev = machine.pci.plug(NIC);
    await machine.pci.unplug(dev);
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(dev.state).toBe("zombie");
  });

  it("unplugging a device of another machine is EINVAL", async () => {
    const here = new Machine();
    const there = new Machine();
    const foreign = there.pci.plug(NIC);
    await expectReject(here.pci.unplug(foreign), "EINVAL");
    expect(foreign.state).toBe("no-driver");
    expect(there.pci.devices).toEqual([foreign]);
  });

  it("unregistering a driver that is not registered is EINVAL", async () => {
    const machine = new Machine();
    await expectReject(machine.pci.unregister(logging("a", [])), "EINVAL");
  });

  it("unregistering a driver twice is EINVAL the second time and the devices stay unbound", async () => {
    const machine = new Machine();
    const a = logging("a", []);
    await machine.pci.register(a);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unregister(a);
    await expectReject(machine.pci.unregister(a), "EINVAL");
    expect(dev.state).toBe("no-driver");
    expect(machine.pci.drivers).toEqual([]);
  });

  it("plugging a second device under a name already on the bus is EBUSY", () => {
    const machine = new Machine();
    const first = machine.pci.plug({ ...NIC, name: "eth0" });
    expectCode(() => machine.pci.plug({ ...NIC, name: "eth0" }), "EBUSY");
    expect(machine.pci.devices).toEqual([first]);
  });

  it.each([
    ["a vendor above 0xffff", { vendor: 0x10000, device: 1 }],
    ["a negative device id", { vendor: 1, device: -1 }],
    ["a fractional vendor", { vendor: 1.5, device: 1 }],
    ["a string device id", { vendor: 1, device: "1" }],
    ["an empty name", { vendor: 1, device: 1, name: "" }],
    ["null", null],
  ])("plugging %s is EINVAL and adds no device", (_, spec) => {
    const machine = new Machine();
    expectCode(() => machine.pci.plug(smuggle(spec)), "EINVAL");
    expect(machine.pci.devices).toEqual([]);
  });

  it("refused requests carry a message naming the device", async () => {
    const machine = new Machine();
    const dev = machine.pci.plug({ ...NIC, name: "eth0" });
    const error = await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(error).toBeInstanceOf(BoundscopeError);
    expect(error.message).toContain("eth0");
  });
});

describe("serialized state changes", () => {
  it("an unbind during an async probe waits for the probe, then remove gets a live token", async () => {
    const machine = new Machine();
    const gate = deferred();
    const log: string[] = [];
    const driver = defineDriver({
      name: "slow-probe",
      ids: [NIC],
      async probe(dev) {
        log.push("probe start");
        await gate.promise;
        log.push("probe end");
        return {
          remove(d) {
            // The token is live: it can still allocate and make devres.
            allocCoherent(d, 64);
            Devres.new(d, "late");
            log.push(`remove ${d === dev ? "same token" : "other token"}`);
          },
        };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await tick();
    const unbound = machine.pci.unbind(dev);
    await tick();
    expect(log).toEqual(["probe start"]);
    expect(dev.state).toBe("probing");
    gate.resolve();
    await unbound;
    expect(log).toEqual(["probe start", "probe end", "remove same token"]);
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("an unplug during an async probe waits for the probe, then remove gets a live token", async () => {
    const machine = new Machine();
    const gate = deferred();
    const log: string[] = [];
    const driver = defineDriver({
      name: "slow-probe",
      ids: [NIC],
      async probe() {
        await gate.promise;
        log.push("probe end");
        return {
          remove(d) {
            allocCoherent(d, 64);
            log.push("remove with a live token");
          },
        };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await tick();
    const unplugged = machine.pci.unplug(dev);
    await tick();
    expect(dev.state).toBe("probing");
    gate.resolve();
    await unplugged;
    expect(log).toEqual(["probe end", "remove with a live token"]);
    expect(dev.state).toBe("zombie");
  });

  it.each([
    ["unbind", "no-driver"],
    ["unplug", "zombie"],
  ] as const)("an %s asked right after plug waits for the queued probe and then removes (%s)", async (request, final) => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.pci[request](dev);
    expect(log).toEqual([`probe a ${dev.name}`, `remove a ${dev.name}`]);
    expect(dev.state).toBe(final);
  });

  it("a register asked after an unbind during a probe binds the device again: the order asked is kept", async () => {
    const machine = new Machine();
    const gate = deferred();
    const log: string[] = [];
    await machine.pci.register(gated("a", log, gate));
    const dev = machine.pci.plug(NIC);
    await tick();
    const unbound = machine.pci.unbind(dev);
    const registered = machine.pci.register(logging("b", log));
    gate.resolve();
    await Promise.all([unbound, registered]);
    expect(log).toEqual([`probe a ${dev.name}`, `probed a ${dev.name}`, `remove a ${dev.name}`, `probe b ${dev.name}`]);
    expect(dev.state).toBe("bound");
    expect(boundBy(machine, dev)).toEqual(["a", "b"]);
  });

  it("an unbind and an unplug queued behind a probe run in the order asked", async () => {
    const machine = new Machine();
    const gate = deferred();
    const log: string[] = [];
    await machine.pci.register(gated("a", log, gate));
    const dev = machine.pci.plug(NIC);
    const finished: string[] = [];
    const unbound = machine.pci.unbind(dev).then(() => finished.push("unbind"));
    const unplugged = machine.pci.unplug(dev).then(() => finished.push("unplug"));
    gate.resolve();
    await Promise.all([unbound, unplugged]);
    expect(finished).toEqual(["unbind", "unplug"]);
    expect(transitions(machine, dev)).toEqual([
      "no-driver -> probing",
      "probing -> bound",
      "bound -> unbinding",
      "unbinding -> no-driver",
      "no-driver -> zombie",
    ]);
  });

  it("state changes of one device never overlap", async () => {
    const machine = new Machine();
    let active = 0;
    let maxActive = 0;
    const steps: string[] = [];
    const step = async (what: string): Promise<void> => {
      active++;
      maxActive = Math.max(maxActive, active);
      await tick();
      steps.push(what);
      active--;
    };
    const slow = (name: string): Driver =>
      defineDriver({
        name,
        ids: [NIC],
        async probe() {
          await step(`probe ${name}`);
          return { remove: () => step(`remove ${name}`) };
        },
      });
    await machine.pci.register(slow("a"));
    const dev = machine.pci.plug(NIC);
    const work = [machine.pci.unbind(dev), machine.pci.register(slow("b")), machine.pci.unplug(dev)];
    await Promise.all(work);
    expect(steps).toEqual(["probe a", "remove a", "probe b", "remove b"]);
    expect(maxActive).toBe(1);
    expect(dev.state).toBe("zombie");
  });

  it("a probe queued at plug by a driver unregistered before it ran does not run", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const a = logging("a", log);
    await machine.pci.register(a);
    const dev = machine.pci.plug(NIC);
    await machine.pci.unregister(a);
    await machine.settled();
    expect(log).toEqual([]);
    expect(dev.state).toBe("no-driver");
  });

  it("an unplug during an async remove waits for the unbind, then makes the device a zombie", async () => {
    const machine = new Machine();
    const gate = deferred();
    let removes = 0;
    const driver = defineDriver({
      name: "slow-remove",
      ids: [NIC],
      probe: () => ({
        async remove() {
          removes++;
          await gate.promise;
        },
      }),
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    const unbound = machine.pci.unbind(dev);
    await tick();
    const unplugged = machine.pci.unplug(dev);
    await tick();
    expect(dev.state).toBe("unbinding");
    gate.resolve();
    await Promise.all([unbound, unplugged]);
    expect(removes).toBe(1);
    expect(transitions(machine, dev).slice(-3)).toEqual(["bound -> unbinding", "unbinding -> no-driver", "no-driver -> zombie"]);
  });

  it("an unbind asked while an unplug is removing the device is EINVAL", async () => {
    const machine = new Machine();
    const gate = deferred();
    const driver = defineDriver({ name: "slow-remove", ids: [NIC], probe: () => ({ remove: () => gate.promise }) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    const unplugged = machine.pci.unplug(dev);
    await tick();
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    gate.resolve();
    await unplugged;
    expect(dev.state).toBe("zombie");
  });

  it("an unplug during a probe that then fails leaves a zombie holding nothing", async () => {
    const machine = new Machine();
    const gate = deferred();
    const driver = defineDriver({
      name: "failing",
      ids: [NIC],
      async probe(dev) {
        allocCoherent(dev, 4096);
        await gate.promise;
        throw new Error("hardware vanished");
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await tick();
    const unplugged = machine.pci.unplug(dev);
    gate.resolve();
    await unplugged;
    expect(dev.state).toBe("zombie");
    expect(machine.memory.stats().allocations).toBe(0);
    expect(transitions(machine, dev)).toEqual(["no-driver -> probing", "probing -> no-driver", "no-driver -> zombie"]);
  });

  it("a device unbound by hand is not probed again by anything but a driver registered afterwards", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const a = logging("a", log);
    await machine.pci.register(a);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    // Other bus activity does not re-probe it.
    const other = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(other);
    expect(dev.state).toBe("no-driver");
    expect(log.filter((l) => l === `probe a ${dev.name}`)).toHaveLength(1);
    // Registering a driver again does.
    await machine.pci.unregister(a);
    await machine.pci.register(a);
    expect(dev.state).toBe("bound");
    expect(log.filter((l) => l === `probe a ${dev.name}`)).toHaveLength(2);
  });

  it("a device unbound by hand is probed by another matching driver registered afterwards", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("a", log));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    await machine.pci.register(logging("b", log));
    expect(boundBy(machine, dev)).toEqual(["a", "b"]);
  });

  it("unregister during an async probe by that driver waits for it, then unbinds the device", async () => {
    const machine = new Machine();
    const gate = deferred();
    const log: string[] = [];
    const a = gated("a", log, gate);
    await machine.pci.register(a);
    const dev = machine.pci.plug(NIC);
    await tick();
    const unregistered = machine.pci.unregister(a);
    await tick();
    expect(dev.state).toBe("probing");
    gate.resolve();
    await unregistered;
    expect(log).toEqual([`probe a ${dev.name}`, `probed a ${dev.name}`, `remove a ${dev.name}`]);
    expect(dev.state).toBe("no-driver");
  });

  it("unregister unbinds every device bound to that driver and leaves the others bound", async () => {
    const machine = new Machine();
    const other = { vendor: 0x8086, device: 0x100e };
    const a = logging("a", []);
    await machine.pci.register(a);
    await machine.pci.register(logging("b", [], [other]));
    const one = machine.pci.plug(NIC);
    const two = machine.pci.plug(NIC);
    const three = machine.pci.plug(other);
    await machine.settled();
    await machine.pci.unregister(a);
    expect([one.state, two.state, three.state]).toEqual(["no-driver", "no-driver", "bound"]);
  });
});

describe("a failed probe", () => {
  /** Runs `probe` on a fresh device and returns what is left afterwards. */
  async function failProbe(probe: <Scope>(dev: ProbeDevice<Scope>) => Promise<object> | object) {
    const machine = new Machine();
    const before = machine.memory.stats();
    const tokens: ProbeDevice<Smuggled>[] = [];
    const driver = defineDriver({
      name: "failing",
      ids: [NIC],
      probe(dev) {
        tokens.push(smuggle(dev));
        return probe(dev);
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    return { machine, before, dev, token: tokens[0]! };
  }

  it("a probe that throws synchronously leaves the device no-driver with a dead token", async () => {
    const { machine, before, dev, token } = await failProbe((dev) => {
      allocCoherent(dev, 4096);
      throw new Error("sync failure");
    });
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats()).toEqual({ ...before, highWater: 4096 });
    expectCode(() => allocCoherent(token, 64), "ENXIO");
  });

  it("a probe that rejects at its first await leaves the device no-driver with a dead token", async () => {
    const { machine, before, dev, token } = await failProbe(async () => {
      await Promise.reject(new Error("first await"));
      return {};
    });
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats()).toEqual(before);
    expectCode(() => allocCoherent(token, 64), "ENXIO");
  });

  it("a probe that rejects at a later await releases every allocation and devres it took", async () => {
    const released: string[] = [];
    const { machine, before, dev, token } = await failProbe(async (dev) => {
      setDmaMask(dev, 64);
      allocCoherent(dev, 4096);
      Devres.new(dev, "irq", (v) => void released.push(v));
      await tick();
      allocCoherent(dev, 3 * 4096);
      Devres.new(dev, "regs", async (v) => {
        await tick();
        released.push(v);
      });
      await tick();
      throw new Error("later await");
    });
    expect(dev.state).toBe("no-driver");
    expect(released).toEqual(["regs", "irq"]);
    const after = machine.memory.stats();
    expect({ ...after, highWater: before.highWater }).toEqual(before);
    expect(after.highWater).toBe(4 * 4096);
    expectCode(() => allocCoherent(token, 64), "ENXIO");
  });

  it("a failed probe is recorded with its error", async () => {
    const cause = new Error("firmware missing");
    const { machine, dev } = await failProbe(() => {
      throw cause;
    });
    const failed = machine.events.filter((e) => e.kind === "probe-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ device: dev.name, driver: "failing", error: cause });
  });

  it("a failed probe's remove is never called", async () => {
    const machine = new Machine();
    let removed = false;
    const driver = defineDriver({
      name: "failing",
      ids: [NIC],
      async probe() {
        await tick();
        if (!removed) throw new Error("refused");
        return { remove: () => void (removed = true) };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    expect(removed).toBe(false);
  });

  it("a failed probe leaves the device to the next driver registered", async () => {
    const { machine, dev } = await failProbe(() => {
      throw new Error("refused");
    });
    await machine.pci.register(logging("b", []));
    expect(dev.state).toBe("bound");
  });

  it("a continuation of a failed probe cannot allocate after the failure", async () => {
    const later = deferred();
    const outcome = deferred<unknown>();
    const { machine } = await failProbe((dev) => {
      void later.promise.then(() => {
        try {
          allocCoherent(dev, 64);
          outcome.resolve("allocated");
        } catch (error) {
          outcome.resolve(error);
        }
      });
      throw new Error("refused");
    });
    later.resolve();
    expect(await outcome.promise).toMatchObject({ code: "ENXIO" });
    expect(machine.memory.stats().allocations).toBe(0);
  });
});

describe("a failing remove", () => {
  it("a remove() that throws does not stop the unbind, and everything is still released", async () => {
    const machine = new Machine();
    const released: string[] = [];
    const cause = new Error("remove blew up");
    const driver = defineDriver({
      name: "bad-remove",
      ids: [NIC],
      probe(dev) {
        allocCoherent(dev, 8192);
        Devres.new(dev, "irq", (v) => void released.push(v));
        return {
          remove() {
            throw cause;
          },
        };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await expect(machine.pci.unbind(dev)).resolves.toBeUndefined();
    expect(dev.state).toBe("no-driver");
    expect(released).toEqual(["irq"]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(machine.events.filter((e) => e.kind === "remove-failed")).toEqual([
      expect.objectContaining({ device: dev.name, driver: "bad-remove", error: cause }),
    ]);
  });

  it("an async remove() that rejects does not stop the unplug", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "bad-remove",
      ids: [NIC],
      probe(dev) {
        allocCoherent(dev, 4096);
        return {
          async remove() {
            await tick();
            throw new Error("late failure");
          },
        };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    expect(dev.state).toBe("zombie");
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.events.some((e) => e.kind === "remove-failed" && e.device === dev.name)).toBe(true);
  });

  it("the token a failing remove() received is dead afterwards", async () => {
    const machine = new Machine();
    let held: ProbeDevice<Smuggled> | undefined;
    const driver = defineDriver({
      name: "bad-remove",
      ids: [NIC],
      probe: () => ({
        remove(dev) {
          held = smuggle(dev);
          throw new Error("boom");
        },
      }),
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(held!, 64), "ENXIO");
  });
});

describe("unregister and other drivers' devices", () => {
  it("does not wait for a probe of another driver on a device it does not match", async () => {
    const machine = new Machine();
    const gate = deferred();
    const OTHER = { vendor: NIC.vendor, device: NIC.device + 7 };
    const slow = defineDriver({ name: "slow", ids: [OTHER], probe: async () => (await gate.promise, {}) });
    const quick = defineDriver({ name: "quick", ids: [NIC], probe: () => ({}) });
    await machine.pci.register(quick);
    const paused = machine.pci.plug(OTHER);
    void machine.pci.register(slow);
    machine.pci.plug(NIC);
    await machine.pci.unregister(quick); // would hang if it waited on the paused probe
    expect(paused.state).toBe("probing");
    gate.resolve();
    await machine.settled();
    expect(paused.state).toBe("bound");
  });
});
