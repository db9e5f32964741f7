/**
 * Device-managed resources (src/devres.ts): tied to one binding, released
 * last in first out after remove(), or earlier by release().
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, iomap, Machine } from "../src/index.js";
import type { BoundDevice, CoherentAllocation, Device, ProbeDevice } from "../src/index.js";
import { deferred, expectCode, NIC, OpenModel, smuggle, tick } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** What one probe of the holder driver left behind, smuggled out for the test. */
interface Held {
  token: ProbeDevice<Smuggled>;
  devres: Devres<Smuggled, string>;
}

/**
 * A machine whose driver makes one `Devres` per binding, holding the device
 * name, with `release` as its release function.
 */
async function holder(release?: (value: string) => void | Promise<void>, devices = 1) {
  const machine = new Machine();
  const held: Held[] = [];
  const driver = defineDriver({
    name: "holder",
    ids: [NIC],
    probe(dev) {
      const devres = Devres.new(dev, dev.name, release);
      held.push({ token: smuggle(dev), devres: smuggle(devres) });
      return {};
    },
  });
  await machine.pci.register(driver);
  const devs: Device[] = [];
  for (let i = 0; i < devices; i++) devs.push(machine.pci.plug(NIC));
  await machine.settled();
  return { machine, driver, devs, held };
}

describe("release order", () => {
  it("devres entries and allocations are released last in first out after remove() returns", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const driver = defineDriver({
      name: "stack",
      ids: [NIC],
      probe(dev) {
        const a1 = allocCoherent(dev, 4096);
        const a2 = allocCoherent(dev, 4096);
        const state = (): string => `a1 ${a1.freed ? "freed" : "live"}, a2 ${a2.freed ? "freed" : "live"}`;
        // The devres stack is a1, a2, d1, a3, d2.
        Devres.new(dev, "d1", (v) => void log.push(`release ${v} (${state()})`));
        const a3 = allocCoherent(dev, 4096);
        Devres.new(dev, "d2", (v) => void log.push(`release ${v} (${state()}, a3 ${a3.freed ? "freed" : "live"})`));
        return {
          remove(d) {
            log.push(`remove (${state()}, stats ${machine.memory.stats().allocations})`);
            // Made in remove(): the top of the stack, so released first.
            Devres.new(d, "d3", (v) => void log.push(`release ${v}`));
          },
        };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(log).toEqual([
      "remove (a1 live, a2 live, stats 3)",
      "release d3",
      "release d2 (a1 live, a2 live, a3 live)",
      "release d1 (a1 live, a2 live)",
    ]);
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("an allocation pushed after a devres entry is freed before that entry is released", async () => {
    const machine = new Machine();
    const seen: number[] = [];
    const driver = defineDriver({
      name: "order",
      ids: [NIC],
      probe(dev) {
        allocCoherent(dev, 4096);
        Devres.new(dev, 0, () => void seen.push(machine.memory.stats().allocations));
        allocCoherent(dev, 4096);
        allocCoherent(dev, 4096);
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    // The two allocations above the entry were gone, the one below was not.
    expect(seen).toEqual([1]);
  });

  it("async release functions are awaited one after another, and unbind waits for the last", async () => {
    const machine = new Machine();
    const gates = { d1: deferred(), d2: deferred() };
    const log: string[] = [];
    const driver = defineDriver({
      name: "async-release",
      ids: [NIC],
      probe(dev) {
        for (const name of ["d1", "d2"] as const) {
          Devres.new(dev, name, async (v) => {
            log.push(`start ${v}`);
            await gates[v].promise;
            log.push(`end ${v}`);
          });
        }
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    let unbound = false;
    const done = machine.pci.unbind(dev).then(() => (unbound = true));
    await tick();
    expect(log).toEqual(["start d2"]);
    gates.d2.resolve();
    await tick();
    expect(log).toEqual(["start d2", "end d2", "start d1"]);
    expect(unbound).toBe(false);
    expect(dev.state).toBe("unbinding");
    gates.d1.resolve();
    await done;
    expect(log).toEqual(["start d2", "end d2", "start d1", "end d1"]);
    expect(dev.state).toBe("no-driver");
  });

  it("a devres release that frees an allocation of the same binding does not free it twice", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "owner",
      ids: [NIC],
      probe(dev) {
        const ring = allocCoherent(dev, 4096);
        Devres.new(dev, ring, (r) => r.free());
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(machine.events.filter((e) => e.kind === "release-failed")).toEqual([]);
    expect(machine.memory.stats()).toMatchObject({ allocations: 0, bytesInUse: 0 });
  });
});

describe("a failing release", () => {
  it("a devres release that throws does not stop the unbind, and the rest is still released", async () => {
    const machine = new Machine();
    const released: string[] = [];
    const cause = new Error("release blew up");
    const driver = defineDriver({
      name: "bad-release",
      ids: [NIC],
      probe(dev) {
        allocCoherent(dev, 4096);
        Devres.new(dev, "first", (v) => void released.push(v));
        Devres.new(dev, "bad", () => {
          throw cause;
        });
        Devres.new(dev, "last", (v) => void released.push(v));
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await expect(machine.pci.unbind(dev)).resolves.toBeUndefined();
    expect(dev.state).toBe("no-driver");
    expect(released).toEqual(["last", "first"]);
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.events.filter((e) => e.kind === "release-failed")).toEqual([
      expect.objectContaining({ device: dev.name, driver: "bad-release", error: cause }),
    ]);
  });

  it("an async devres release that rejects does not stop the unplug", async () => {
    const released: string[] = [];
    const { machine, devs } = await holder(async (v) => {
      await tick();
      released.push(v);
      throw new Error("late release failure");
    });
    const [dev] = devs as [Device];
    await machine.pci.unplug(dev);
    expect(dev.state).toBe("zombie");
    expect(released).toEqual([dev.name]);
    expect(machine.events.some((e) => e.kind === "release-failed" && e.device === dev.name)).toBe(true);
  });
});

describe("creating a Devres", () => {
  it("Devres.new with a dead token is ENXIO", async () => {
    const { machine, devs, held } = await holder();
    await machine.pci.unbind(devs[0]!);
    expectCode(() => Devres.new(held[0]!.token, "late"), "ENXIO");
  });

  it("Devres.new with a forged token is EPERM", () => {
    expectCode(() => Devres.new(smuggle<BoundDevice<Smuggled>>({ name: "x" }), 1), "EPERM");
  });

  it("Devres.new with a release that is not a function is EINVAL", async () => {
    const machine = new Machine();
    let failure: unknown;
    const driver = defineDriver({
      name: "bad-arg",
      ids: [NIC],
      probe(dev) {
        try {
          Devres.new(dev, 1, smuggle<() => void>("release"));
        } catch (error) {
          failure = error;
        }
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(failure).toMatchObject({ code: "EINVAL" });
  });

  it("a Devres can be made while bound, outside probe, with the live token", async () => {
    const released: string[] = [];
    const { machine, devs, held } = await holder();
    const late = Devres.new(held[0]!.token, "late", (v) => void released.push(v));
    expect(late.access(held[0]!.token)).toBe("late");
    await machine.pci.unbind(devs[0]!);
    expect(released).toEqual(["late"]);
  });
});

describe("access", () => {
  it("access with the binding's live token gives the value", async () => {
    const { devs, held } = await holder();
    expect(held[0]!.devres.access(held[0]!.token)).toBe(devs[0]!.name);
  });

  it("access with another device's token is EINVAL", async () => {
    const { held } = await holder(undefined, 2);
    const [one, two] = held as [Held, Held];
    expectCode(() => one.devres.access(two.token), "EINVAL");
  });

  it("access with a dead token is ENXIO", async () => {
    const { machine, devs, held } = await holder();
    await machine.pci.unbind(devs[0]!);
    expectCode(() => held[0]!.devres.access(held[0]!.token), "ENXIO");
  });

  it("access with the new token of a rebound device is EINVAL for the old binding's entry", async () => {
    const { machine, driver, devs, held } = await holder();
    await machine.pci.unbind(devs[0]!);
    await machine.pci.unregister(driver);
    await machine.pci.register(driver);
    const [old, fresh] = held as [Held, Held];
    expectCode(() => old.devres.access(fresh.token), "EINVAL");
  });

  it("access with a forged token is EPERM", async () => {
    const { held } = await holder();
    expectCode(() => held[0]!.devres.access(smuggle({})), "EPERM");
  });

  it("access after an early release is ENXIO with the live token", async () => {
    const { held } = await holder();
    await held[0]!.devres.release();
    expectCode(() => held[0]!.devres.access(held[0]!.token), "ENXIO");
  });

  it("access gives a falsy value as it is", async () => {
    const machine = new Machine();
    const values: unknown[] = [];
    const driver = defineDriver({
      name: "falsy",
      ids: [NIC],
      probe(dev) {
        values.push(Devres.new(dev, 0).access(dev), Devres.new(dev, undefined).access(dev));
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(values).toEqual([0, undefined]);
  });

  it("tryAccess gives the value while bound and undefined after unbind", async () => {
    const { machine, devs, held } = await holder();
    expect(held[0]!.devres.tryAccess()).toBe(devs[0]!.name);
    await machine.pci.unbind(devs[0]!);
    expect(held[0]!.devres.tryAccess()).toBeUndefined();
    expect(held[0]!.devres.revoked).toBe(true);
  });

  it("tryAccess is undefined once the entry is revoked by release()", async () => {
    const { held } = await holder();
    const pending = held[0]!.devres.release();
    expect(held[0]!.devres.tryAccess()).toBeUndefined();
    await pending;
  });

  // tryAccessWith is atomic (it must not sleep); the async accessor the unbind waits for is tryAccessAsync.
  it("an unbind waits for an in-flight tryAccessAsync before releasing the value", async () => {
    const log: string[] = [];
    const { machine, devs, held } = await holder((v) => void log.push(`release ${v}`));
    const gate = deferred();
    const reading = held[0]!.devres.tryAccessAsync(async (v) => {
      log.push(`read ${v}`);
      await gate.promise;
      log.push("read done");
      return v.length;
    });
    const unbound = machine.pci.unbind(devs[0]!);
    await tick();
    expect(log).toEqual([`read ${devs[0]!.name}`]);
    gate.resolve();
    await unbound;
    expect(await reading).toBe(devs[0]!.name.length);
    expect(log).toEqual([`read ${devs[0]!.name}`, "read done", `release ${devs[0]!.name}`]);
    expect(await held[0]!.devres.tryAccessWith(() => "late")).toBeUndefined();
  });
});

describe("early release", () => {
  it("release() releases the value now, and unbind does not release it again", async () => {
    const released: string[] = [];
    const { machine, devs, held } = await holder((v) => void released.push(v));
    await held[0]!.devres.release();
    expect(released).toEqual([devs[0]!.name]);
    await machine.pci.unbind(devs[0]!);
    expect(released).toEqual([devs[0]!.name]);
  });

  it("release() twice releases once, and both resolve after the release is done", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { held } = await holder(async () => {
      log.push("start");
      await gate.promise;
      log.push("end");
    });
    const done: string[] = [];
    const first = held[0]!.devres.release().then(() => done.push("first"));
    const second = held[0]!.devres.release().then(() => done.push("second"));
    await tick();
    expect(done).toEqual([]);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log).toEqual(["start", "end"]);
    expect(done.sort()).toEqual(["first", "second"]);
  });

  it("release() after the unbind resolves and releases nothing more", async () => {
    const released: string[] = [];
    const { machine, devs, held } = await holder((v) => void released.push(v));
    await machine.pci.unbind(devs[0]!);
    await expect(held[0]!.devres.release()).resolves.toBeUndefined();
    expect(released).toEqual([devs[0]!.name]);
  });

  it("an unbind racing an early release waits for it, and the value is released once", async () => {
    const gate = deferred();
    const log: string[] = [];
    const { machine, devs, held } = await holder(async (v) => {
      log.push(`start ${v}`);
      await gate.promise;
      log.push(`end ${v}`);
    });
    const dev = devs[0]!;
    const released = held[0]!.devres.release();
    let unbound = false;
    const unbinding = machine.pci.unbind(dev).then(() => (unbound = true));
    await tick();
    expect(unbound).toBe(false);
    gate.resolve();
    await Promise.all([released, unbinding]);
    expect(log).toEqual([`start ${dev.name}`, `end ${dev.name}`]);
    expect(dev.state).toBe("no-driver");
  });

  it("an early release() inside remove() without awaiting still finishes before the unbind", async () => {
    const machine = new Machine();
    const gate = deferred();
    const log: string[] = [];
    const driver = defineDriver({
      name: "fire-and-forget",
      ids: [NIC],
      probe(dev) {
        const irq = Devres.new(dev, "irq", async () => {
          await gate.promise;
          log.push("irq released");
        });
        return { remove: () => void irq.release() };
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    const unbinding = machine.pci.unbind(dev).then(() => log.push("unbound"));
    await tick();
    gate.resolve();
    await unbinding;
    expect(log).toEqual(["irq released", "unbound"]);
  });

  it("an early release() of an allocation holder frees the memory before unbind", async () => {
    const machine = new Machine();
    const held: Devres<Smuggled, CoherentAllocation<Smuggled>>[] = [];
    const driver = defineDriver({
      name: "holder",
      ids: [NIC],
      probe(dev) {
        held.push(smuggle(Devres.new(dev, allocCoherent(dev, 4096), (a) => a.free())));
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(machine.memory.stats().allocations).toBe(1);
    await held[0]!.release();
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("an early release() whose release function throws rejects with that error", async () => {
    const cause = new Error("bad release");
    const { held } = await holder(() => {
      throw cause;
    });
    await expect(held[0]!.devres.release()).rejects.toBe(cause);
    expect(held[0]!.devres.tryAccess()).toBeUndefined();
  });
});


describe("the token during devres release", () => {
  it("is already dead, also for the binding's resources not yet released", async () => {
    const machine = new Machine();
    const model = new OpenModel({ bars: [64] });
    const codes: Record<string, string> = {};
    const attempt = (name: string, use: () => unknown): void => {
      try {
        use();
        codes[name] = "worked";
      } catch (error) {
        codes[name] = (error as { code?: string }).code ?? String(error);
      }
    };
    await machine.pci.register(
      defineDriver({
        name: "late",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          const regs = iomap(dev, 0);
          const buf = allocCoherent(dev, 64);
          const first = Devres.new(dev, 1);
          // Released first (last in): everything above is still unreleased then.
          Devres.new(dev, "last", () => {
            attempt("bytes", () => buf.bytes(dev));
            attempt("view", () => buf.view(dev));
            attempt("access", () => first.access(dev));
            attempt("read32", () => regs.read32(dev, 0));
            codes["buf freed"] = String(buf.freed);
          });
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(codes).toEqual({ bytes: "ENXIO", view: "ENXIO", access: "ENXIO", read32: "ENXIO", "buf freed": "false" });
  });
});
