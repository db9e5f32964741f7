/**
 * The network stack (`subsys/net.ts`): interface names, up and down, the
 * transmit queue and its flow control, NAPI budgets, and packet sockets.
 */

import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import { SOCKET_QUEUE_LEN, TX_QUEUE_LEN } from "../src/subsys/net.js";
import { expectCode, expectReject, smuggle, tick } from "./helpers.js";
import { loopbackDriver } from "./subsys-rig.js";
import type { LoopbackOptions } from "./subsys-rig.js";

async function machineWith(...rigs: LoopbackOptions[]) {
  const machine = new Machine();
  const bound = [];
  for (const options of rigs) {
    const rig = loopbackDriver(options);
    await machine.pci.register(rig.driver);
    bound.push({ ...rig, dev: machine.pci.plug(rig.id) });
  }
  await machine.settled();
  return { machine, bound };
}

describe("interfaces", () => {
  it("are named eth0, eth1… in registration order unless the driver asks; a freed name is reused", async () => {
    const { machine, bound } = await machineWith({}, { netdev: { name: "wan%d" } }, {}, { netdev: { name: "lo0" } });
    expect(machine.net.interfaces.map((i) => i.name)).toEqual(["eth0", "wan0", "eth1", "lo0"]);
    await machine.pci.unplug(bound[0]!.dev);
    const again = loopbackDriver();
    await machine.pci.register(again.driver);
    machine.pci.plug(again.id);
    await machine.settled();
    expect(machine.net.interfaces.map((i) => i.name).sort()).toEqual(["eth0", "eth1", "lo0", "wan0"]);
  });

  it("start down; up() opens, down() closes and drops what was queued; up and down are idempotent", async () => {
    const { machine, bound } = await machineWith({ ops: { transmit: () => "busy" } });
    const iface = machine.net.interface("eth0");
    expect(iface).toMatchObject({ state: "down", device: bound[0]!.dev.name, mtu: 1514, queued: 0 });
    await Promise.all([iface.up(), iface.up()]);
    expect(iface.state).toBe("up");
    const socket = machine.net.socket("eth0");
    socket.send(new Uint8Array(10));
    socket.send(new Uint8Array(10));
    expect(iface.queued).toBe(2);
    await iface.down();
    await iface.down();
    expect(iface).toMatchObject({ state: "down", queued: 0 });
    expect(iface.stats.txDropped).toBe(2);
    expect(bound[0]!.log.calls.filter((c) => c.op === "open" || c.op === "stop").map((c) => c.op)).toEqual(["open", "stop"]);
  });

  it("the faces reach nothing of the driver, and lists are snapshots", async () => {
    const { machine } = await machineWith({});
    const list = machine.net.interfaces;
    expect(Object.isFrozen(list)).toBe(true);
    expect(Object.keys(machine.net.interface("eth0"))).toEqual([]);
    expect(() => smuggle<{ push(x: unknown): void }>(list).push(1)).toThrow(TypeError);
    expectCode(() => machine.net.interface(smuggle(42)), "ENXIO");
    expectCode(() => machine.net.socket("nope"), "ENXIO");
  });
});

describe("transmit and flow control", () => {
  it("a full driver ring stops the queue; the stack holds packets until the poll wakes it, and loses none", async () => {
    const { machine } = await machineWith({ ring: 4 });
    const iface = machine.net.interface("eth0");
    await iface.up();
    const socket = machine.net.socket("eth0");
    for (let i = 0; i < 20; i++) socket.send(new Uint8Array([i]));
    expect(iface.queueStopped).toBe(true);
    expect(iface.stats.txPackets).toBe(4);
    expect(iface.queued).toBe(16);
    for (let i = 0; i < 10 && socket.received < 20; i++) await tick();
    expect(socket.received).toBe(20);
    const got = Array.from({ length: 20 }, () => socket.tryRecv()![0]);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(iface.stats).toMatchObject({ txPackets: 20, rxPackets: 20, txDropped: 0 });
  });

  it('"busy" keeps the packet first in line; it is sent at the next send', async () => {
    let busy = true;
    const { machine, bound } = await machineWith({
      ops: {
        transmit: () => {
          if (busy) return "busy";
          return "ok";
        },
      },
    });
    const iface = machine.net.interface("eth0");
    await iface.up();
    const socket = machine.net.socket("eth0");
    socket.send(new Uint8Array([1]));
    expect(iface.stats).toMatchObject({ txBusy: 1, txPackets: 0 });
    busy = false;
    socket.send(new Uint8Array([2]));
    expect(iface.stats.txPackets).toBe(2);
    expect(bound[0]!.log.calls.filter((c) => c.op === "transmit")).toHaveLength(3);
  });

  it("refuses bad frames, a down interface and a full queue, changing nothing", async () => {
    const { machine } = await machineWith({ ops: { transmit: () => "busy" } });
    const iface = machine.net.interface("eth0");
    const socket = machine.net.socket("eth0");
    expectCode(() => socket.send(new Uint8Array(10)), "EINVAL"); // down
    await iface.up();
    expectCode(() => socket.send(new Uint8Array(0)), "EINVAL");
    expectCode(() => socket.send(new Uint8Array(1515)), "EINVAL");
    expectCode(() => socket.send(smuggle([1, 2, 3])), "EINVAL");
    for (let i = 0; i < TX_QUEUE_LEN; i++) socket.send(new Uint8Array(1));
    expectCode(() => socket.send(new Uint8Array(1)), "EBUSY");
    expect(iface.queued).toBe(TX_QUEUE_LEN);
  });
});

describe("NAPI", () => {
  it("a poll that uses its whole budget is polled again; one that does not is done", async () => {
    const { machine, bound } = await machineWith({ netdev: { weight: 4 } });
    const iface = machine.net.interface("eth0");
    await iface.up();
    const socket = machine.net.socket("eth0");
    for (let i = 0; i < 10; i++) socket.send(new Uint8Array([i]));
    for (let i = 0; i < 10 && socket.received < 10; i++) await tick();
    expect(socket.received).toBe(10);
    // 4 + 4 + 2: three polls, the last under budget.
    expect(bound[0]!.log.calls.filter((c) => c.op === "poll")).toHaveLength(3);
    expect(iface.stats.polls).toBe(3);
  });

  it("a poll that throws or answers nonsense is logged and NAPI is done until scheduled again", async () => {
    const { machine, bound } = await machineWith({ ops: { poll: () => smuggle(-1) } });
    await machine.net.interface("eth0").up();
    machine.net.socket("eth0").send(new Uint8Array(1));
    await tick();
    expect(machine.events.some((e) => e.kind === "subsys-failed" && e.detail?.includes("poll must answer"))).toBe(true);
    expect(bound[0]!.log.netdevs[0]!.napiSchedule()).toBe(true);
  });

  it("napiSchedule() on a down interface does nothing", async () => {
    const { bound } = await machineWith({});
    expect(bound[0]!.log.netdevs[0]!.napiSchedule()).toBe(false);
  });
});

describe("sockets", () => {
  it("every socket on an interface gets its own copy of each frame", async () => {
    const { machine } = await machineWith({});
    await machine.net.interface("eth0").up();
    const a = machine.net.socket("eth0");
    const b = machine.net.socket("eth0");
    a.send(new Uint8Array([7, 7]));
    const [fa, fb] = await Promise.all([a.recv(), b.recv()]);
    expect(fa).toEqual(new Uint8Array([7, 7]));
    expect(fb).toEqual(fa);
    expect(fa).not.toBe(fb);
  });

  it("keeps at most SOCKET_QUEUE_LEN frames, counting the rest as dropped", async () => {
    const { machine } = await machineWith({ ring: 4096 });
    await machine.net.interface("eth0").up();
    const socket = machine.net.socket("eth0");
    for (let i = 0; i < SOCKET_QUEUE_LEN + 10; i++) socket.send(new Uint8Array(1));
    for (let i = 0; i < 100 && socket.received < SOCKET_QUEUE_LEN + 10; i++) await tick();
    expect([socket.pending, socket.dropped]).toEqual([SOCKET_QUEUE_LEN, 10]);
  });

  it("recv() waiting when the interface goes, or the socket closes, rejects ENXIO", async () => {
    const { machine, bound } = await machineWith({}, {});
    await machine.net.interface("eth0").up();
    const waiting = expectReject(machine.net.socket("eth0").recv(), "ENXIO");
    const closed = machine.net.socket("eth1");
    const pending = expectReject(closed.recv(), "ENXIO");
    closed.close();
    await pending;
    expectCode(() => closed.send(new Uint8Array(1)), "ENXIO");
    await machine.pci.unplug(bound[0]!.dev);
    await waiting;
  });
});
