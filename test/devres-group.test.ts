/**
 * Devres groups (src/driver/devres.ts): resources taken while a group is open
 * join it; release() frees them now, last in first out, and the binding
 * forgets them; remove()/keep() leave them to the binding; `await using`
 * rolls a set-up back unless it was kept.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine, openDevresGroup } from "../src/index.js";
import type { Device, DevresGroup, ProbeDevice } from "../src/index.js";
import { expectCode, expectReject, NIC, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

type Token = ProbeDevice<Smuggled>;

interface Rig {
  readonly machine: Machine;
  readonly dev: Device;
  readonly token: Token;
  /** What was released, in order. */
  readonly log: string[];
  /** A devres entry named `name`, logging its release. */
  entry(name: string): Devres<Smuggled, string>;
}

/**
 * Binds one device whose probe runs `setup` with the core context and the
 * rig; `setup` may be async.
 */
async function rig(setup: (dev: Token, rig: Omit<Rig, "dev" | "machine">) => unknown = () => {}, name = "grouped"): Promise<Rig> {
  const machine = new Machine();
  const log: string[] = [];
  let token: Token | undefined;
  const entry = (name: string): Devres<Smuggled, string> => Devres.new(token!, name, (value) => void log.push(value));
  await machine.pci.register(
    defineDriver({
      name,
      ids: [NIC],
      async probe(dev) {
        const own = smuggle<Token>(dev);
        token = own;
        await setup(own, { token: own, log, entry });
        return {};
      },
    }),
  );
  const dev = machine.pci.plug(NIC);
  await machine.settled();
  return { machine, dev, token: token!, log, entry };
}

describe("a group's members", () => {
  it("release() frees what was taken while the group was open, last in first out, and nothing else; unbind does not free it again", async () => {
    let group!: DevresGroup<Smuggled>;
    const r = await rig(async (dev, { entry, log }) => {
      entry("before");
      group = openDevresGroup(dev);
      entry("a");
      entry("b");
      group.close(dev);
      entry("after");
      expect(group.size).toBe(2);
      await group.release(dev);
      log.push("released the group");
    });
    expect(r.log).toEqual(["b", "a", "released the group"]);
    expect(group.state).toBe("released");
    expect(group.size).toBe(0);
    await r.machine.pci.unbind(r.dev);
    expect(r.log).toEqual(["b", "a", "released the group", "after", "before"]);
  });

  it("a coherent allocation in a released group is freed at once, and the pool takes it back", async () => {
    const r = await rig(async (dev) => {
      const keep = allocCoherent(dev, 4096);
      const group = openDevresGroup(dev);
      const scratch = allocCoherent(dev, 8192);
      await group.release(dev);
      expect(scratch.freed).toBe(true);
      expect(keep.freed).toBe(false);
    });
    expect(r.machine.memory.stats().allocations).toBe(1);
    await r.machine.pci.unbind(r.dev);
    expect(r.machine.memory.stats().allocations).toBe(0);
    expect(r.machine.dmaDebug.violations).toEqual([]);
  });

  it("remove() dissolves the group: its resources stay, and go at unbind in the binding's order", async () => {
    let group!: DevresGroup<Smuggled>;
    const r = await rig((dev, { entry }) => {
      entry("x");
      group = openDevresGroup(dev);
      entry("y");
      group.remove(dev);
      entry("z");
    });
    expect(group.state).toBe("removed");
    expect(r.log).toEqual([]);
    await r.machine.pci.unbind(r.dev);
    expect(r.log).toEqual(["z", "y", "x"]);
  });

  it("an early free takes a resource out of its group: release() does not free it twice", async () => {
    const r = await rig(async (dev, { entry, log }) => {
      const group = openDevresGroup(dev);
      entry("a");
      const b = entry("b");
      entry("c");
      await b.release();
      expect(group.size).toBe(2);
      await group.release(dev);
      log.push("end");
    });
    expect(r.log).toEqual(["b", "c", "a", "end"]);
  });

  it("a release that throws is logged and the group's other resources are still released", async () => {
    const r = await rig(async (dev, { entry }) => {
      const group = openDevresGroup(dev);
      entry("a");
      Devres.new(dev, "bad", () => {
        throw new Error("release threw");
      });
      entry("c");
      await group.release(dev);
    });
    expect(r.log).toEqual(["c", "a"]);
    expect(r.machine.events.filter((e) => e.kind === "release-failed").map((e) => e.detail)).toEqual([`devres of driver "grouped": release threw`]);
  });
});

describe("nested groups", () => {
  it("a resource joins the innermost open group and its ancestors; releasing the inner one leaves the outer's others", async () => {
    const r = await rig(async (dev, { entry, log }) => {
      const outer = openDevresGroup(dev);
      entry("o1");
      const inner = openDevresGroup(dev);
      entry("i1");
      inner.close(dev);
      entry("o2");
      expect([outer.size, inner.size]).toEqual([3, 1]);
      await inner.release(dev);
      expect([outer.size, inner.size]).toEqual([2, 0]);
      log.push("|");
      await outer.release(dev);
    });
    expect(r.log).toEqual(["i1", "|", "o2", "o1"]);
  });

  it("releasing the outer group releases the inner one with it; using the inner one afterwards is EINVAL", async () => {
    const r = await rig(async (dev, { entry }) => {
      const outer = openDevresGroup(dev);
      entry("o1");
      const inner = openDevresGroup(dev);
      entry("i1");
      await outer.release(dev);
      expect(inner.state).toBe("released");
      const error = await expectReject(inner.release(dev), "EINVAL");
      expect(error.message).toMatch(/already released/);
    });
    expect(r.log).toEqual(["i1", "o1"]);
  });

  it("closing the outer group closes the inner one: nothing joins either after", async () => {
    await rig((dev, { entry }) => {
      const outer = openDevresGroup(dev);
      const inner = openDevresGroup(dev);
      outer.close(dev);
      entry("late");
      expect([outer.state, inner.state, outer.size, inner.size]).toEqual(["closed", "closed", 0, 0]);
    });
  });

  it("removing the outer group leaves the inner one working, its members still its own", async () => {
    const r = await rig(async (dev, { entry, log }) => {
      entry("base");
      const outer = openDevresGroup(dev);
      const inner = openDevresGroup(dev);
      entry("i1");
      outer.remove(dev);
      entry("i2");
      expect(inner.state).toBe("open");
      await inner.release(dev);
      log.push("|");
    });
    expect(r.log).toEqual(["i2", "i1", "|"]);
  });

  it("a group opened after another was closed is not nested in it", async () => {
    await rig((dev, { entry }) => {
      const first = openDevresGroup(dev);
      first.close(dev);
      const second = openDevresGroup(dev);
      entry("s");
      expect([first.size, second.size]).toEqual([0, 1]);
    });
  });
});

describe("await using", () => {
  it("a set-up that throws half way is rolled back on the way out; what came before the group stays", async () => {
    const r = await rig(async (dev, { entry, log }) => {
      entry("ring");
      try {
        await using offload = openDevresGroup(dev);
        entry("table");
        entry("engine");
        if (offload.size === 2) throw new Error("no offload engine");
        offload.keep(dev);
      } catch {
        log.push("caught");
      }
    });
    expect(r.log).toEqual(["engine", "table", "caught"]);
    await r.machine.pci.unbind(r.dev);
    expect(r.log).toEqual(["engine", "table", "caught", "ring"]);
  });

  it("a set-up that keeps its group leaves its resources to the binding", async () => {
    const r = await rig(async (dev, { entry }) => {
      await using offload = openDevresGroup(dev);
      entry("table");
      offload.keep(dev);
    });
    expect(r.log).toEqual([]);
    await r.machine.pci.unbind(r.dev);
    expect(r.log).toEqual(["table"]);
  });

  it("disposing a group released by hand does nothing more", async () => {
    const r = await rig(async (dev, { entry }) => {
      await using group = openDevresGroup(dev);
      entry("a");
      await group.release(dev);
    });
    expect(r.log).toEqual(["a"]);
  });
});

describe("groups and the binding's end", () => {
  it("a group still open at unbind is released with the rest, last in first out; disposing it later does nothing", async () => {
    let group!: DevresGroup<Smuggled>;
    const r = await rig((dev, { entry }) => {
      entry("a");
      group = openDevresGroup(dev);
      entry("b");
      entry("c");
    });
    await r.machine.pci.unbind(r.dev);
    expect(r.log).toEqual(["c", "b", "a"]);
    expect(group.state).toBe("released");
    await group[Symbol.asyncDispose]();
    expect(r.log).toEqual(["c", "b", "a"]);
  });

  it("a probe that fails with a group open releases everything once", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "fails",
        ids: [NIC],
        probe(dev) {
          Devres.new(dev, "a", (v) => void log.push(v));
          openDevresGroup(dev);
          Devres.new(dev, "b", (v) => void log.push(v));
          throw new Error("gives up");
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    expect(log).toEqual(["b", "a"]);
  });
});

describe("errors", () => {
  it("a dead token is ENXIO, for every operation and for opening", async () => {
    let group!: DevresGroup<Smuggled>;
    const r = await rig((dev) => {
      group = openDevresGroup(dev);
    });
    await r.machine.pci.unbind(r.dev);
    expectCode(() => openDevresGroup(r.token), "ENXIO");
    expectCode(() => group.close(r.token), "ENXIO");
    expectCode(() => group.remove(r.token), "ENXIO");
    expectCode(() => group.keep(r.token), "ENXIO");
    await expectReject(group.release(r.token), "ENXIO");
  });

  it("a token of another binding is EINVAL, and changes nothing", async () => {
    let group!: DevresGroup<Smuggled>;
    let other: Token | undefined;
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "two",
        ids: [NIC],
        async probe(dev) {
          if (group === undefined) {
            group = smuggle(openDevresGroup(dev));
            Devres.new(dev, "a", () => {});
          } else {
            const token = smuggle<Token>(dev);
            other = token;
            const error = expectCode(() => group.close(token), "EINVAL");
            expect(error.message).toMatch(/belongs to .*binding #/);
            await expectReject(group.release(token), "EINVAL");
            expectCode(() => group.remove(token), "EINVAL");
          }
          return {};
        },
      }),
    );
    machine.pci.plug(NIC);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(other).toBeDefined();
    expect([group.state, group.size]).toEqual(["open", 1]);
  });

  it("a released or removed group is EINVAL; closing twice is fine", async () => {
    await rig(async (dev) => {
      const released = openDevresGroup(dev);
      released.close(dev);
      released.close(dev);
      await released.release(dev);
      expectCode(() => released.close(dev), "EINVAL");
      expectCode(() => released.keep(dev), "EINVAL");
      await expectReject(released.release(dev), "EINVAL");
      const removed = openDevresGroup(dev);
      removed.remove(dev);
      const error = expectCode(() => removed.remove(dev), "EINVAL");
      expect(error.message).toMatch(/already removed/);
      await expectReject(removed.release(dev), "EINVAL");
    });
  });

  it("outside probe() and remove() is EPERM; a forged token is EPERM", async () => {
    let group!: DevresGroup<Smuggled>;
    const r = await rig((dev) => {
      group = openDevresGroup(dev);
    });
    expectCode(() => openDevresGroup(r.token), "EPERM");
    expectCode(() => group.close(r.token), "EPERM");
    expectCode(() => openDevresGroup(smuggle<Token>({ name: "0000:00:01.0" })), "EPERM");
    expectCode(() => group.close(smuggle<Token>(Object.create(r.token))), "EPERM");
    expect(group.state).toBe("open");
  });

  it("a group can be released in remove()", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "in-remove",
        ids: [NIC],
        probe(dev) {
          const group = openDevresGroup(dev);
          Devres.new(dev, "g", (v) => void log.push(v));
          group.close(dev);
          Devres.new(dev, "rest", (v) => void log.push(v));
          return {
            async remove(dev) {
              await group.release(dev);
              log.push("remove done");
            },
          };
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(log).toEqual(["g", "remove done", "rest"]);
  });
});
