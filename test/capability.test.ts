/**
 * Capabilities: a token is the only thing that grants access, and only its
 * own binding's. Copies, look-alikes and proxies of a token, a token of
 * another machine, another device or an earlier binding, and a polluted
 * `Object.prototype` are all refused, each with its code, and nothing moves.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, DeviceModel, Devres, enableBusMaster, freeCoherent, iomap, Machine, requestIrq, setDmaMask, sleep, spawn } from "../src/index.js";
import type { BoundDevice, ProbeDevice } from "../src/index.js";
import { makeRig } from "./hostile-table.js";
import type { Rig } from "./hostile-table.js";
import { expectCode, expectReject, NIC, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

type Token = ProbeDevice<Smuggled>;

/** Values made from A's live token that are not A's token. */
const FORGERIES: readonly (readonly [string, (rig: Rig) => unknown])[] = [
  ["an object literal with the token's facts", ({ a }) => ({ name: a.dev.name, vendor: a.dev.vendor, device: a.dev.device, state: "bound" })],
  ["an object literal carrying the token's getters", ({ a }) => Object.defineProperties({}, Object.getOwnPropertyDescriptors(Object.getPrototypeOf(a.token)))],
  ["an object spread of the token", ({ a }) => ({ ...a.token })],
  ["Object.create(token)", ({ a }) => Object.create(a.token)],
  ["Object.create of the token's prototype", ({ a }) => Object.create(Object.getPrototypeOf(a.token))],
  ["a Proxy of the token", ({ a }) => new Proxy(a.token, {})],
  [
    "a Proxy that answers every trap for the token",
    ({ a }) =>
      new Proxy(
        {},
        {
          get: (_, key) => Reflect.get(a.token, key, a.token),
          has: (_, key) => Reflect.has(a.token, key),
          getPrototypeOf: () => Object.getPrototypeOf(a.token),
          ownKeys: () => Reflect.ownKeys(a.token),
        },
      ),
  ],
  ["structuredClone(token)", ({ a }) => structuredClone(a.token)],
  ["a JSON round trip of the token", ({ a }) => JSON.parse(JSON.stringify(a.token))],
  ["the plain Device reference", ({ a }) => a.dev],
];

/** Every operation that takes a token, with arguments that are fine for A's live token. */
const OPERATIONS: readonly (readonly [string, (rig: Rig, dev: Token) => unknown])[] = [
  ["allocCoherent", (_, dev) => allocCoherent(dev, 64)],
  ["freeCoherent", ({ a }, dev) => freeCoherent(dev, a.buf.dmaHandle)],
  ["Devres.new", (_, dev) => Devres.new(dev, 1)],
  ["devres.access", ({ a }, dev) => a.res.access(dev)],
  ["allocation.bytes", ({ a }, dev) => a.buf.bytes(dev)],
  ["allocation.view", ({ a }, dev) => a.buf.view(dev)],
  ["regs.read32", ({ a }, dev) => a.regs.read32(dev, 0)],
  ["regs.write64", ({ a }, dev) => a.regs.write64(dev, 8, 1n)],
  ["sleep", (_, dev) => sleep(dev, 1_000)],
  // The core-only operations, given the forgery as their core context: only
  // the forgery's missing private state can refuse it.
  ["setDmaMask", (_, dev) => setDmaMask(smuggle<Token>(dev), 64)],
  ["enableBusMaster", (_, dev) => enableBusMaster(smuggle<Token>(dev))],
  ["iomap", (_, dev) => iomap(smuggle<Token>(dev), 0)],
  ["requestIrq", (_, dev) => requestIrq(smuggle<Token>(dev), () => {})],
  ["spawn", (_, dev) => spawn(smuggle<Token>(dev), async () => {})],
];

/** What a refused use must leave as it was. */
function state(rig: Rig) {
  return {
    stats: rig.machine.memory.stats(),
    bytes: Array.from(rig.a.buf.bytes(rig.a.token)),
    writes: rig.a.model.writes,
    violations: rig.machine.dmaDebug.violations.length,
    timers: rig.machine.clock.pending,
    parked: rig.parked.model.mastering,
  };
}

/** Runs `use` and returns the code it threw or rejected with. */
async function refusal(use: () => unknown): Promise<string | undefined> {
  try {
    await use();
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return undefined;
}

describe("a forged token", () => {
  const cases = FORGERIES.flatMap(([forgery, make]) => OPERATIONS.map(([operation, use]) => [forgery, operation, make, use] as const));
  it.each(cases)("%s is EPERM for %s, and nothing moves", async (_, __, make, use) => {
    const rig = await makeRig();
    const before = state(rig);
    expect(await refusal(() => use(rig, smuggle(make(rig))))).toBe("EPERM");
    expect(state(rig)).toEqual(before);
  });

  it("the forgeries name the device's facts, but none of them is the token", async () => {
    const rig = await makeRig();
    const literal = smuggle<BoundDevice<Smuggled>>(FORGERIES[0]![1](rig));
    expect(literal.name).toBe(rig.a.token.name);
    expect(FORGERIES.map(([, make]) => make(rig) === rig.a.token)).not.toContain(true);
  });
});

describe("a borrowed token", () => {
  it("a token of another machine is EINVAL with this machine's allocation, devres and MMIO, and the bus refuses it", async () => {
    const rig = await makeRig();
    const foreign = rig.foreign.token;
    const before = state(rig);
    expectCode(() => rig.a.buf.bytes(foreign), "EINVAL");
    expectCode(() => rig.a.buf.view(foreign), "EINVAL");
    expectCode(() => rig.a.res.access(foreign), "EINVAL");
    expectCode(() => rig.a.regs.read32(foreign, 0), "EINVAL");
    expectCode(() => rig.a.regs.write32(foreign, 0, 1), "EINVAL");
    await expectReject(rig.machine.pci.unbind(smuggle(foreign)), "EINVAL");
    await expectReject(rig.machine.pci.unplug(smuggle(foreign)), "EINVAL");
    expect(state(rig)).toEqual(before);
    expect(rig.a.buf.freed).toBe(false);
  });

  it("a token of another machine frees only on its own machine, even at the same bus address", async () => {
    const rig = await makeRig();
    const { foreign } = rig;
    // Both pools start at the same physical base: the two first allocations share a bus address.
    expect(foreign.buf.dmaHandle).toBe(rig.a.buf.dmaHandle);
    const before = state(rig);
    const theirs = foreign.machine.dmaDebug.violations.length;
    freeCoherent(foreign.token, rig.a.buf.dmaHandle);
    expect(foreign.buf.freed).toBe(true);
    expect(rig.a.buf.freed).toBe(false);
    // An address the other machine never gave its device is unknown there.
    expectCode(() => freeCoherent(foreign.token, rig.b.buf.dmaHandle), "EINVAL");
    expect(rig.b.buf.freed).toBe(false);
    expect(foreign.machine.dmaDebug.violations.slice(theirs).map((v) => v.kind)).toEqual(["free-unknown"]);
    expect(state(rig)).toEqual(before);
  });

  it("a token of another machine allocates on its own machine, never on this one", async () => {
    const rig = await makeRig();
    const here = rig.machine.memory.stats();
    const there = rig.foreign.machine.memory.stats().allocations;
    allocCoherent(rig.foreign.token, 64);
    expect(rig.machine.memory.stats()).toEqual(here);
    expect(rig.foreign.machine.memory.stats().allocations).toBe(there + 1);
  });

  it("another device's live token is EINVAL with this device's devres, MMIO and memory, and frees nothing", async () => {
    const rig = await makeRig();
    const before = state(rig);
    for (const other of [rig.b.token, rig.core]) {
      expectCode(() => rig.a.res.access(other), "EINVAL");
      expectCode(() => rig.a.regs.read32(other, 0), "EINVAL");
      expectCode(() => rig.a.regs.write32(other, 0, 1), "EINVAL");
      expectCode(() => rig.a.buf.bytes(other), "EINVAL");
    }
    // A free through another device's token finds nothing at that address in
    // that device's domain: a checker violation, and A's memory stays.
    expectCode(() => freeCoherent(rig.b.token, rig.a.buf.dmaHandle), "EINVAL");
    expect(rig.a.buf.freed).toBe(false);
    expect(rig.machine.dmaDebug.violations.slice(before.violations).map((v) => v.kind)).toEqual(["free-unknown"]);
    expect({ ...state(rig), violations: before.violations }).toEqual(before);
  });

  it("a stale token after rebind is ENXIO everywhere, and the new token does not open the old binding's handles", async () => {
    const rig = await makeRig();
    const { a, machine } = rig;
    await machine.pci.unbind(a.dev);
    let fresh: Token | undefined;
    await machine.pci.register(
      defineDriver({
        name: "rebinder",
        ids: [{ vendor: a.model.vendor, device: a.model.device }],
        probe(dev) {
          fresh = smuggle(dev);
          return {};
        },
      }),
    );
    expect(a.dev.state).toBe("bound");
    const next = fresh!;
    const stale = a.token;
    const before = machine.memory.stats();
    const ownNext = Devres.new(next, "new");
    // The stale token: dead for every use, its own old handles and the new ones alike.
    expectCode(() => allocCoherent(stale, 64), "ENXIO");
    expectCode(() => Devres.new(stale, 1), "ENXIO");
    expectCode(() => ownNext.access(stale), "ENXIO");
    expectCode(() => a.res.access(stale), "ENXIO");
    expectCode(() => a.regs.read32(stale, 0), "ENXIO");
    expectCode(() => a.buf.bytes(stale), "ENXIO");
    expectCode(() => setDmaMask(stale, 64), "ENXIO");
    expectCode(() => sleep(stale, 10), "ENXIO");
    // The new token: live, but the old binding's handles are not its own.
    expectCode(() => a.res.access(next), "EINVAL");
    expectCode(() => a.regs.read32(next, 0), "EINVAL");
    expectCode(() => a.buf.bytes(next), "EINVAL");
    expect(ownNext.access(next)).toBe("new");
    expect(machine.memory.stats()).toEqual(before);
  });
});

describe("Object.prototype pollution", () => {
  it("grants nothing: forged values stay refused, and no token reaches a polluted remove or probe", async () => {
    const rig = await makeRig();
    const stolen: unknown[] = [];
    const steal = (dev: unknown): Record<string, never> => {
      stolen.push(dev);
      return {};
    };
    // Names that look like private state, brands or driver hooks.
    const pollution: Record<PropertyKey, unknown> = {
      "#binding": rig.a.token,
      binding: rig.a.token,
      "#core": rig.a.token,
      "#probe": steal,
      live: true,
      core: true,
      token: rig.a.token,
      brand: "Token",
      __brand: "BoundDevice",
      state: "bound",
      remove: steal,
      probe: steal,
      [Symbol.for("boundscope.token")]: rig.a.token,
      [Symbol.toStringTag]: "Token",
    };
    const keys = Reflect.ownKeys(pollution);
    const before = rig.machine.memory.stats();
    try {
      for (const key of keys) Object.defineProperty(Object.prototype, key, { value: pollution[key], configurable: true, writable: true });
      const forged = smuggle<Token>({});
      expectCode(() => allocCoherent(forged, 64), "EPERM");
      expectCode(() => Devres.new(forged, 1), "EPERM");
      expectCode(() => rig.a.res.access(forged), "EPERM");
      expectCode(() => rig.a.buf.bytes(forged), "EPERM");
      expectCode(() => rig.a.regs.read32(forged, 0), "EPERM");
      expectCode(() => setDmaMask(smuggle<Token>(forged), 64), "EPERM");
      expectCode(() => sleep(forged, 10), "EPERM");
      await expectReject(rig.machine.pci.unplug(smuggle({})), "EINVAL");
      await expectReject(rig.machine.pci.unbind(smuggle({})), "EINVAL");
      await expectReject(rig.machine.pci.register(smuggle({ name: "fake", ids: [{ vendor: 1, device: 1 }] })), "EINVAL");
      // A spec with no probe of its own does not pick up the polluted one.
      expectCode(() => defineDriver(smuggle({ name: "hookless", ids: [{ vendor: 1, device: 1 }] })), "EINVAL");
      // B's driver returned {} from probe: no remove of its own, so the
      // polluted one must not be called with B's live token at unbind.
      await rig.machine.pci.unbind(rig.b.dev);
      expect(rig.b.dev.state).toBe("no-driver");
    } finally {
      for (const key of keys) delete (Object.prototype as Record<PropertyKey, unknown>)[key];
    }
    expect(stolen).toEqual([]);
    expect(Reflect.ownKeys(Object.prototype).filter((key) => keys.includes(key))).toEqual([]);
    expect(rig.machine.memory.stats()).toEqual({ ...before, bytesInUse: before.bytesInUse - 4096, allocations: before.allocations - 1 });
  });
});

describe("a device model", () => {
  /**
   * The machine connects a model to its device through private state. A model
   * subclass (in JavaScript, or through `any`) that defines the hooks the old
   * wiring used gets nothing: they are never called, and no binding, token or
   * hardware state is reachable from the model.
   */
  it("that defines attach/detach/notify is never handed its device's binding or token", async () => {
    const handed: unknown[] = [];
    class Spy extends DeviceModel {
      constructor() {
        super({ vendor: NIC.vendor, device: NIC.device, bars: [0x100] });
      }
      // Not overrides: DeviceModel has no such members (see the must-not-compile fixture model-internals.ts).
      attach(...args: unknown[]): void {
        handed.push(...args);
      }
      detach(...args: unknown[]): void {
        handed.push(...args);
      }
      notify(...args: unknown[]): void {
        handed.push(...args);
      }
    }
    const machine = new Machine();
    let token: unknown;
    await machine.pci.register(
      defineDriver({
        name: "victim",
        ids: [NIC],
        probe(dev) {
          token = dev;
          enableBusMaster(dev);
          iomap(dev, 0).write32(dev, 0, 1);
          return {};
        },
      }),
    );
    const spy = new Spy();
    const dev = machine.pci.plug(spy);
    await machine.settled();
    expect(dev.state).toBe("bound");
    await machine.pci.unplug(dev);
    expect(handed).toEqual([]);
    // Nothing on the model, own or inherited, leads to the device, its binding or the token.
    const reachable = new Set<unknown>();
    for (let level: object | null = spy; level !== null && level !== Object.prototype; level = Object.getPrototypeOf(level)) {
      for (const key of Reflect.ownKeys(level)) {
        const value: unknown = Reflect.get(level, key, spy);
        reachable.add(value);
      }
    }
    expect(reachable.has(token)).toBe(false);
    expect([...reachable].some((v) => typeof v === "object" && v !== null && !Array.isArray(v))).toBe(false);
    expect(Object.getOwnPropertyNames(DeviceModel.prototype).filter((k) => ["attach", "detach", "notify"].includes(k))).toEqual([]);
  });
});
