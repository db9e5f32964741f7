/**
 * Tokens (src/device.ts): minted only by the core, live only while their
 * binding is, checked on every use.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine, setDmaMask } from "../src/index.js";
import type { BoundDevice, Device, ProbeDevice } from "../src/index.js";
import { deferred, expectCode, NIC, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A machine with one device bound to a driver that leaks its token out of probe. */
async function boundDevice() {
  const machine = new Machine();
  const tokens: ProbeDevice<Smuggled>[] = [];
  const driver = defineDriver({
    name: "leaky",
    ids: [NIC],
    probe(dev) {
      tokens.push(smuggle(dev));
      return {};
    },
  });
  await machine.pci.register(driver);
  const dev = machine.pci.plug(NIC);
  await machine.settled();
  const token = (): ProbeDevice<Smuggled> => {
    const last = tokens.at(-1);
    if (last === undefined) throw new Error("the device was never probed");
    return last;
  };
  return { machine, driver, dev, tokens, token };
}

describe("a token's identity", () => {
  it("names the device, its ids and its state", async () => {
    const { dev, token } = await boundDevice();
    expect(token().name).toBe(dev.name);
    expect(token().vendor).toBe(NIC.vendor);
    expect(token().device).toBe(NIC.device);
    expect(token().state).toBe("bound");
  });

  it("reads the state of the device as it changes", async () => {
    const { machine, dev, token } = await boundDevice();
    const held = token();
    await machine.pci.unbind(dev);
    expect(held.state).toBe("no-driver");
  });
});

describe("a dead token", () => {
  it("an escaped token is dead after unplug", async () => {
    const { machine, dev, token } = await boundDevice();
    const escaped = token();
    await machine.pci.unplug(dev);
    expectCode(() => allocCoherent(escaped, 64), "ENXIO");
  });

  it("an escaped token is dead after unbind", async () => {
    const { machine, dev, token } = await boundDevice();
    const escaped = token();
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(escaped, 64), "ENXIO");
  });

  it("an escaped token is dead after its driver is unregistered", async () => {
    const { machine, driver, token } = await boundDevice();
    const escaped = token();
    await machine.pci.unregister(driver);
    expectCode(() => allocCoherent(escaped, 64), "ENXIO");
  });

  it("a token captured by a closure is dead for every use after unplug", async () => {
    const { machine, dev, token } = await boundDevice();
    const captured = token();
    const useLater = {
      alloc: () => allocCoherent(captured, 64),
      devres: () => Devres.new(captured, 1),
      mask: () => setDmaMask(captured, 64),
    };
    await machine.pci.unplug(dev);
    expectCode(useLater.alloc, "ENXIO");
    expectCode(useLater.devres, "ENXIO");
    expectCode(useLater.mask, "ENXIO");
  });

  it("a token smuggled out through any is dead after unbind", async () => {
    const machine = new Machine();
    let leaked: any;
    const driver = defineDriver({
      name: "any-leak",
      ids: [NIC],
      probe(dev) {
        leaked = dev;
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(leaked, 64), "ENXIO");
  });

  it("an async continuation of probe that runs after unplug gets ENXIO and allocates nothing", async () => {
    const machine = new Machine();
    const later = deferred();
    const outcome = deferred<unknown>();
    const driver = defineDriver({
      name: "background",
      ids: [NIC],
      probe(dev) {
        // Work that outlives probe: it resumes after the device is gone.
        void (async () => {
          await later.promise;
          try {
            allocCoherent(dev, 4096);
            outcome.resolve("allocated");
          } catch (error) {
            outcome.resolve(error);
          }
        })();
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    const before = machine.memory.stats();
    later.resolve();
    expect(await outcome.promise).toMatchObject({ code: "ENXIO" });
    expect(machine.memory.stats()).toEqual(before);
  });

  it("a dead token allocates nothing", async () => {
    const { machine, dev, token } = await boundDevice();
    const escaped = token();
    await machine.pci.unbind(dev);
    const before = machine.memory.stats();
    expectCode(() => allocCoherent(escaped, 4096), "ENXIO");
    expect(machine.memory.stats()).toEqual(before);
  });

  it("the ENXIO message names the device, the driver and why the binding ended", async () => {
    const { machine, dev, token } = await boundDevice();
    const escaped = token();
    await machine.pci.unplug(dev);
    const error = expectCode(() => allocCoherent(escaped, 64), "ENXIO");
    expect(error.message).toContain(dev.name);
    expect(error.message).toContain('"leaky"');
    expect(error.message).toContain("unplugged");
  });
});

describe("rebinding", () => {
  it("rebinding the same device gives a new token and the old one stays dead", async () => {
    const { machine, driver, dev, tokens } = await boundDevice();
    await machine.pci.unbind(dev);
    await machine.pci.unregister(driver);
    await machine.pci.register(driver);
    expect(dev.state).toBe("bound");
    expect(tokens).toHaveLength(2);
    const [first, second] = tokens as [ProbeDevice<Smuggled>, ProbeDevice<Smuggled>];
    expect(second).not.toBe(first);
    expectCode(() => allocCoherent(first, 64), "ENXIO");
    expect(allocCoherent(second, 64).size).toBe(64);
  });
});

describe("values that are not tokens", () => {
  it("an object literal posing as a token is EPERM", async () => {
    const { dev } = await boundDevice();
    const forged = smuggle<BoundDevice<Smuggled>>({ name: dev.name, vendor: dev.vendor, device: dev.device, state: "bound" });
    expectCode(() => allocCoherent(forged, 64), "EPERM");
  });

  it("Object.create of a live token is EPERM", async () => {
    const { token } = await boundDevice();
    const derived = smuggle<BoundDevice<Smuggled>>(Object.create(token()));
    expectCode(() => allocCoherent(derived, 64), "EPERM");
  });

  it("a Proxy of a live token is EPERM", async () => {
    const { token } = await boundDevice();
    const proxy = new Proxy(token(), {});
    expectCode(() => allocCoherent(proxy, 64), "EPERM");
  });

  it("a JSON round trip of a live token is EPERM", async () => {
    const { token } = await boundDevice();
    const copy = smuggle<BoundDevice<Smuggled>>(JSON.parse(JSON.stringify(token())));
    expectCode(() => allocCoherent(copy, 64), "EPERM");
  });

  it("an object spread of a live token is EPERM", async () => {
    const { token } = await boundDevice();
    const copy = smuggle<BoundDevice<Smuggled>>({ ...token() });
    expectCode(() => allocCoherent(copy, 64), "EPERM");
  });

  it("the plain Device reference of a bound device is EPERM", async () => {
    const { dev } = await boundDevice();
    expectCode(() => allocCoherent(smuggle<BoundDevice<Smuggled>>(dev), 64), "EPERM");
  });

  it("null is EINVAL", () => {
    expectCode(() => allocCoherent(smuggle<BoundDevice<Smuggled>>(null), 64), "EINVAL");
  });

  it("a number is EINVAL", () => {
    expectCode(() => allocCoherent(smuggle<BoundDevice<Smuggled>>(42), 64), "EINVAL");
  });

  it("undefined is EINVAL", () => {
    expectCode(() => allocCoherent(smuggle<BoundDevice<Smuggled>>(undefined), 64), "EINVAL");
  });

  it("a forged token allocates nothing", async () => {
    const { machine } = await boundDevice();
    const before = machine.memory.stats();
    expectCode(() => allocCoherent(smuggle<BoundDevice<Smuggled>>({}), 64), "EPERM");
    expect(machine.memory.stats()).toEqual(before);
  });
});

describe("core-only operations", () => {
  it("setDmaMask works in probe", async () => {
    const machine = new Machine();
    let failure: unknown = "not probed";
    const driver = defineDriver({
      name: "masker",
      ids: [NIC],
      probe(dev) {
        try {
          setDmaMask(dev, 64);
          failure = undefined;
        } catch (error) {
          failure = error;
        }
        return {};
      },
    });
    await machine.pci.register(driver);
    machine.pci.plug(NIC);
    await machine.settled();
    expect(failure).toBeUndefined();
  });

  it("setDmaMask works in remove", async () => {
    const machine = new Machine();
    let failure: unknown = "not removed";
    const driver = defineDriver({
      name: "masker",
      ids: [NIC],
      probe: () => ({
        remove(dev) {
          try {
            setDmaMask(dev, 40);
            failure = undefined;
          } catch (error) {
            failure = error;
          }
        },
      }),
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(failure).toBeUndefined();
  });

  it("setDmaMask outside probe and remove is EPERM even while the device is bound", async () => {
    const { dev, token } = await boundDevice();
    expect(dev.state).toBe("bound");
    expectCode(() => setDmaMask(token(), 64), "EPERM");
  });

  it("setDmaMask from an async continuation that resumes after probe returned is EPERM", async () => {
    const machine = new Machine();
    const later = deferred();
    const outcome = deferred<unknown>();
    const driver = defineDriver({
      name: "late-mask",
      ids: [NIC],
      probe(dev) {
        void later.promise.then(() => {
          try {
            setDmaMask(dev, 64);
            outcome.resolve("set");
          } catch (error) {
            outcome.resolve(error);
          }
        });
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    later.resolve();
    expect(await outcome.promise).toMatchObject({ code: "EPERM" });
    expect(dev.state).toBe("bound");
  });

  it("setDmaMask on a dead token is ENXIO, not EPERM", async () => {
    const { machine, dev, token } = await boundDevice();
    const escaped = token();
    await machine.pci.unbind(dev);
    expectCode(() => setDmaMask(escaped, 64), "ENXIO");
  });

  it.each([0, 65, -1, 1.5, Number.NaN, "32"])("setDmaMask(%s) is EINVAL", async (bits) => {
    const machine = new Machine();
    let failure: unknown;
    const driver = defineDriver({
      name: "bad-mask",
      ids: [NIC],
      probe(dev) {
        try {
          setDmaMask(dev, bits as number);
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
});

describe("plain device references", () => {
  it("a Device reference follows the device's state but exposes no token", async () => {
    const { machine, dev } = await boundDevice();
    const ref: Device = dev;
    expect(ref.state).toBe("bound");
    expect(Object.keys(ref)).toEqual([]);
    await machine.pci.unplug(dev);
    expect(ref.state).toBe("zombie");
  });

  it("a Device reference serializes to its facts", async () => {
    const { dev } = await boundDevice();
    expect(JSON.parse(JSON.stringify(dev))).toEqual({ name: dev.name, vendor: NIC.vendor, device: NIC.device, state: "bound" });
  });
});
