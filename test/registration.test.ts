/**
 * Subsystem registrations (`driver/registration.ts`), through the netdev
 * that uses them: the stack calls the driver only while registered, with the
 * binding's token in the right context; unregistering refuses new calls at
 * once and waits for those in flight; the core unregisters at unbind, after
 * remove() and before devres release, and after a failed probe.
 */

import { describe, expect, it } from "vitest";
import { defineDriver, Machine, registerNetdev } from "../src/index.js";
import type { NetdevOps, ProbeDevice } from "../src/index.js";
import type { NetdevEndpoint } from "../src/driver/subsystems.js";
import { deferred, expectCode, smuggle, tick } from "./helpers.js";
import { freshId, loopbackDriver } from "./subsys-rig.js";

async function upLoopback(options: Parameters<typeof loopbackDriver>[0] = {}) {
  const machine = new Machine();
  const rig = loopbackDriver(options);
  await machine.pci.register(rig.driver);
  const dev = machine.pci.plug(rig.id);
  await machine.settled();
  const iface = machine.net.interfaces.find((i) => i.device === dev.name)!;
  await iface.up();
  return { machine, dev, iface, socket: machine.net.socket(iface.name), ...rig };
}

describe("calls reach the driver only while registered, with the binding's token in the right context", () => {
  it("open and stop get the token outside atomic context; transmit and poll inside it", async () => {
    const { machine, dev, iface, socket, log } = await upLoopback();
    socket.send(new Uint8Array([1, 2, 3]));
    await tick();
    expect(await socket.recv()).toEqual(new Uint8Array([1, 2, 3]));
    await iface.down();
    const token = log.tokens[0];
    expect(log.calls.map((c) => c.op)).toEqual(["open", "transmit", "poll", "stop"]);
    expect(log.calls.every((c) => c.token === token)).toBe(true);
    const atomic = Object.fromEntries(log.calls.map((c) => [c.op, c.atomic]));
    expect(atomic.open).toBeUndefined();
    expect(atomic.stop).toBeUndefined();
    expect(atomic.transmit).toMatch(new RegExp(`^transmit of netdev "${iface.name}" of device ${dev.name}`));
    expect(atomic.poll).toMatch(new RegExp(`^NAPI poll of netdev "${iface.name}" of device ${dev.name}`));
    expect(log.calls.every((c) => c.state === "bound")).toBe(true);
    await machine.pci.unplug(dev);
  });

  it("registers only in the core context: EPERM after probe returned, ENXIO once the binding ended", async () => {
    const { machine, dev, log } = await upLoopback();
    const token = smuggle<ProbeDevice<"smuggled">>(log.tokens[0]);
    const ops: NetdevOps<"smuggled"> = { transmit: () => "ok" };
    expectCode(() => registerNetdev(token, ops), "EPERM");
    await machine.pci.unbind(dev);
    expectCode(() => registerNetdev(token, ops), "ENXIO");
  });
});

describe("after unregistering, a call is refused and never reaches the driver", () => {
  it("a send after unbind is ENXIO, and the driver sees no transmit", async () => {
    const { machine, dev, socket, log } = await upLoopback();
    await machine.pci.unbind(dev);
    const before = log.calls.length;
    expectCode(() => socket.send(new Uint8Array(8)), "ENXIO");
    expect(log.calls.length).toBe(before);
    expect(machine.net.interfaces).toHaveLength(0);
    expectCode(() => machine.net.interface("eth0"), "ENXIO");
  });

  it("a NAPI poll scheduled before the unregister never runs; napiSchedule() after it does nothing", async () => {
    const { machine, dev, socket, log } = await upLoopback({ ops: { poll: () => 0 } });
    const netdev = log.netdevs[0]!;
    socket.send(new Uint8Array(8)); // transmit schedules a poll, in a microtask
    const unbound = machine.pci.unbind(dev); // unregistering begins synchronously with the unbind's first step
    await unbound;
    expect(log.calls.filter((c) => c.op === "poll")).toHaveLength(1);
    expect(netdev.registered).toBe(false);
    expect(netdev.napiSchedule()).toBe(false);
    await tick();
    expect(log.calls.filter((c) => c.op === "poll")).toHaveLength(1);
  });

  it("the registration itself refuses: a subsystem that calls after unregistering gets ENXIO, and the driver is not called", async () => {
    const { machine, dev, log } = await upLoopback();
    // The netdev handle is also the stack's endpoint: call it as a misbehaving stack would.
    const endpoint = smuggle<NetdevEndpoint>(log.netdevs[0]);
    await machine.pci.unbind(dev);
    const before = log.calls.length;
    expectCode(() => endpoint.transmit(new Uint8Array(8)), "ENXIO");
    expectCode(() => endpoint.poll(64), "ENXIO");
    await expect(endpoint.open()).rejects.toMatchObject({ code: "ENXIO" });
    await expect(endpoint.stop()).rejects.toMatchObject({ code: "ENXIO" });
    expect(log.calls.length).toBe(before);
  });

  it("the driver's receive() after unregistering is ENXIO", async () => {
    const { machine, dev, log } = await upLoopback({ unregisterInRemove: true });
    const netdev = log.netdevs[0]!;
    const token = log.tokens[0];
    let refused: unknown;
    const stop = machine.subscribe((e) => {
      if (e.kind === "subsys-unregister") {
        try {
          netdev.receive(smuggle(token), new Uint8Array(4));
        } catch (error) {
          refused = error;
        }
      }
    });
    await machine.pci.unbind(dev);
    stop();
    expect(refused).toMatchObject({ code: "ENXIO" });
  });
});

describe("unregistering waits for calls in flight", () => {
  it("an unbind during a slow open() waits for it, then closes the interface, then releases devres", async () => {
    const gate = deferred();
    const machine = new Machine();
    const rig = loopbackDriver({ ops: { open: () => gate.promise } });
    await machine.pci.register(rig.driver);
    const dev = machine.pci.plug(rig.id);
    await machine.settled();
    const opening = machine.net.interface("eth0").up();
    await tick();
    let unbound = false;
    const unbind = machine.pci.unbind(dev).then(() => (unbound = true));
    for (let i = 0; i < 5; i++) await tick();
    expect(unbound).toBe(false);
    expect(rig.log.order).toEqual(["open", "remove", "remove returns"]);
    gate.resolve();
    await opening;
    await unbind;
    expect(rig.log.order).toEqual(["open", "remove", "remove returns", "stop", "devres release"]);
  });

  it("unregister() in remove(): remove waits for it, and the interface is gone when remove returns", async () => {
    const { machine, dev, log } = await upLoopback({ unregisterInRemove: true });
    await machine.pci.unbind(dev);
    expect(log.order).toEqual(["open", "remove", "stop", "remove returns", "devres release"]);
    const kinds = machine.events.map((e) => e.kind);
    expect(kinds.indexOf("subsys-unregister")).toBeLessThan(kinds.indexOf("remove-end"));
  });

  it("a hung stop() is reported by the watchdog, and the unbind still completes", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const rig = loopbackDriver({ ops: { stop: () => new Promise<void>(() => {}) } });
    await machine.pci.register(rig.driver);
    const dev = machine.pci.plug(rig.id);
    await machine.settled();
    await machine.net.interface("eth0").up();
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
    expect(machine.events.some((e) => e.kind === "hung")).toBe(true);
    expect(rig.log.order.at(-1)).toBe("devres release");
  });
});

describe("the driver core unregisters at unbind, before devres release", () => {
  it("without unregister() in remove(): after remove returns, stop runs with the token live, then devres", async () => {
    const { machine, dev, log } = await upLoopback();
    await machine.pci.unplug(dev);
    expect(log.order).toEqual(["open", "remove", "remove returns", "stop", "devres release"]);
    const stop = log.calls.find((c) => c.op === "stop")!;
    expect(stop.state).toBe("unbinding");
    expect(machine.net.interfaces).toHaveLength(0);
  });

  it("a probe that fails after registering leaves no interface, and the name is free again", async () => {
    const machine = new Machine();
    const bad = loopbackDriver({ failProbe: true });
    await machine.pci.register(bad.driver);
    const dev = machine.pci.plug(bad.id);
    await machine.settled();
    expect(dev.state).toBe("no-driver");
    expect(machine.net.interfaces).toHaveLength(0);
    expect(bad.log.netdevs[0]!.registered).toBe(false);
    expect(bad.log.order).toEqual(["devres release"]);
    const kinds = machine.events.map((e) => e.kind);
    expect(kinds.indexOf("subsys-unregister")).toBeGreaterThan(kinds.indexOf("probe-failed"));
    const good = loopbackDriver();
    await machine.pci.register(good.driver);
    machine.pci.plug(good.id);
    await machine.settled();
    expect(machine.net.interfaces.map((i) => i.name)).toEqual(["eth0"]);
  });
});

describe("each binding has its own registrations", () => {
  it("two drivers each with their own netdev: each socket reaches its own driver only", async () => {
    const machine = new Machine();
    const a = loopbackDriver();
    const b = loopbackDriver();
    await machine.pci.register(a.driver);
    await machine.pci.register(b.driver);
    machine.pci.plug(a.id);
    const devB = machine.pci.plug(b.id);
    await machine.settled();
    expect(machine.net.interfaces.map((i) => [i.name, i.driver])).toEqual([
      ["eth0", a.driver.name],
      ["eth1", b.driver.name],
    ]);
    for (const iface of machine.net.interfaces) await iface.up();
    const sa = machine.net.socket("eth0");
    const sb = machine.net.socket("eth1");
    sa.send(new Uint8Array([0xa]));
    sb.send(new Uint8Array([0xb]));
    sb.send(new Uint8Array([0xb]));
    await tick();
    expect(a.log.calls.filter((c) => c.op === "transmit")).toHaveLength(1);
    expect(b.log.calls.filter((c) => c.op === "transmit")).toHaveLength(2);
    expect([sa.received, sb.received]).toEqual([1, 2]);
    await machine.pci.unplug(devB);
    expect(machine.net.interfaces.map((i) => i.name)).toEqual(["eth0"]);
    sa.send(new Uint8Array([0xa]));
    await tick();
    expect(sa.received).toBe(2);
  });

  it("receive() with another binding's token is EINVAL, even through a cast", async () => {
    const machine = new Machine();
    const a = loopbackDriver();
    const b = loopbackDriver();
    await machine.pci.register(a.driver);
    await machine.pci.register(b.driver);
    machine.pci.plug(a.id);
    machine.pci.plug(b.id);
    await machine.settled();
    expectCode(() => a.log.netdevs[0]!.receive(smuggle(b.log.tokens[0]), new Uint8Array(4)), "EINVAL");
  });
});

describe("an op that fails is logged and never breaks the stack", () => {
  it("a transmit that throws drops the packet (subsys-failed), and the next one goes through", async () => {
    let fail = true;
    const { machine, socket, iface, log } = await upLoopback({
      ops: {
        transmit: () => {
          if (fail) throw new Error("ring corrupt");
          return "ok";
        },
      },
    });
    socket.send(new Uint8Array(8));
    fail = false;
    socket.send(new Uint8Array(8));
    expect(iface.stats).toMatchObject({ txPackets: 1, txDropped: 1 });
    const failed = machine.events.filter((e) => e.kind === "subsys-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail).toContain("ring corrupt");
    expect(log.calls.filter((c) => c.op === "transmit")).toHaveLength(2);
  });

  it("an open that rejects leaves the interface down and the error with the caller", async () => {
    const { machine, dev } = await upLoopback();
    await machine.pci.unbind(dev);
    const rig = loopbackDriver({ ops: { open: () => Promise.reject(new Error("no link")) } });
    await machine.pci.register(rig.driver);
    machine.pci.plug(rig.id);
    await machine.settled();
    const iface = machine.net.interfaces[0]!;
    await expect(iface.up()).rejects.toThrow("no link");
    expect(iface.state).toBe("down");
    expectCode(() => machine.net.socket(iface.name).send(new Uint8Array(4)), "EINVAL");
  });

  it("a transmit answering something else than ok or busy is logged and the packet dropped", async () => {
    const { socket, iface, machine } = await upLoopback({ ops: { transmit: () => smuggle("sent") } });
    socket.send(new Uint8Array(8));
    expect(iface.stats.txDropped).toBe(1);
    expect(machine.events.some((e) => e.kind === "subsys-failed" && e.detail?.includes('"ok" or "busy"'))).toBe(true);
  });
});

describe("bad registrations change nothing", () => {
  it("ops without transmit, a bad name or a taken one are refused, and probe fails cleanly", async () => {
    const machine = new Machine();
    const results: string[] = [];
    const cases: [string, (dev: ProbeDevice<unknown>) => void][] = [
      ["no transmit", (dev) => registerNetdev(dev, smuggle({}))],
      ["bad mtu", (dev) => registerNetdev(dev, { transmit: () => "ok" }, { mtu: 10 })],
      ["bad name", (dev) => registerNetdev(dev, { transmit: () => "ok" }, { name: "a b" })],
      [
        "taken",
        (dev) => {
          registerNetdev(dev, { transmit: () => "ok" }, { name: "wan" });
          registerNetdev(dev, { transmit: () => "ok" }, { name: "wan" });
        },
      ],
    ];
    for (const [label, body] of cases) {
      const id = freshId();
      await machine.pci.register(
        defineDriver({
          name: `bad-${label.replace(" ", "-")}`,
          ids: [id],
          probe(dev) {
            try {
              body(smuggle(dev));
            } catch (error) {
              results.push(`${label}: ${(error as { code?: string }).code}`);
              throw error;
            }
            return {};
          },
        }),
      );
      machine.pci.plug(id);
      await machine.settled();
    }
    expect(results).toEqual(["no transmit: EINVAL", "bad mtu: EINVAL", "bad name: EINVAL", "taken: EBUSY"]);
    expect(machine.net.interfaces).toHaveLength(0);
  });

  it("an unregister() twice resolves both times, once", async () => {
    const { machine, log } = await upLoopback();
    const netdev = log.netdevs[0]!;
    await Promise.all([netdev.unregister(), netdev.unregister()]);
    expect(machine.events.filter((e) => e.kind === "subsys-unregister")).toHaveLength(1);
    expectCode(() => machine.net.socket("eth0"), "ENXIO");
  });
});
