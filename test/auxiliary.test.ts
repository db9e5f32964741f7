/**
 * The auxiliary bus (src/driver/auxiliary.ts, src/core/auxiliary.ts): a PCI
 * driver creates auxiliary devices in probe, another driver binds to them,
 * the parent's unbind removes them first, and the child reaches its
 * parent's data and ops only while both are bound.
 */

import { describe, expect, it } from "vitest";
import { addAuxiliaryDevice, allocCoherent, auxiliaryType, defineAuxiliaryDriver, defineDriver, kmalloc, Machine, requestIrq, sleep, spawn } from "../src/index.js";
import type { AuxiliaryDevice, BoundDevice, Device, ParentData, ProbeDevice } from "../src/index.js";
import { deferred, expectCode, expectReject, NIC, smuggle, tick } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

type Rdma = { readonly mtu: number };
type RdmaOps = { post(words: number): number; slow(ns: number): Promise<string> };
const RDMA = auxiliaryType<Rdma, RdmaOps>("nic.rdma");

/** A NIC driver that offers `count` RDMA devices; its ops write a coherent ring. */
function nic(log: string[], count = 1, gate?: Promise<void>) {
  return defineDriver({
    name: "nic",
    ids: [NIC],
    probe(dev) {
      const ring = allocCoherent(dev, 4096);
      for (let id = 0; id < count; id++) {
        addAuxiliaryDevice(dev, RDMA, {
          id,
          data: { mtu: 1500 },
          ops: {
            post: (parent, words) => {
              ring.view(parent).setUint32(0, words, true);
              log.push(`post ${words}`);
              return words * 2;
            },
            slow: async (parent, ns) => {
              log.push("slow start");
              await sleep(parent, ns);
              await gate;
              log.push(`slow end ${ring.view(parent).getUint32(0, true)}`);
              return "done";
            },
          },
        });
      }
      return { remove: () => void log.push("nic remove") };
    },
  });
}

function rdma(log: string[], probe?: <Scope>(dev: ProbeDevice<Scope>, parent: ParentData<Scope, Rdma, RdmaOps>) => void | Promise<void>) {
  return defineAuxiliaryDriver(RDMA)({
    name: "rdma",
    async probe(dev, parent) {
      log.push(`rdma probe ${dev.name} mtu ${parent.access(dev).mtu}`);
      await probe?.(dev, parent);
      return { remove: (d) => void log.push(`rdma remove ${d.name}`) };
    },
  });
}

async function setUp(count = 1) {
  const machine = new Machine();
  const log: string[] = [];
  await machine.pci.register(nic(log, count));
  await machine.auxiliary.register(rdma(log));
  const pci = machine.pci.plug({ ...NIC, name: "0000:00:05.0" });
  await machine.settled();
  return { machine, log, pci };
}

describe("creating and binding auxiliary devices", () => {
  it("a device created in probe is named modname.devname.id and bound by a matching driver", async () => {
    const { machine, log, pci } = await setUp(2);
    expect(machine.auxiliary.devices.map((d) => `${d.name} ${d.state}`)).toEqual(["nic.rdma.0 bound", "nic.rdma.1 bound"]);
    expect(log).toEqual(["rdma probe nic.rdma.0 mtu 1500", "rdma probe nic.rdma.1 mtu 1500"]);
    const [aux] = machine.auxiliary.devices;
    expect(machine.auxiliary.parent(aux!)).toBe(pci);
    expect(machine.pci.children(pci)).toEqual(machine.auxiliary.devices);
    expect(machine.events.filter((e) => e.kind === "aux-add").map((e) => [e.device, e.parent])).toEqual([
      ["nic.rdma.0", "0000:00:05.0"],
      ["nic.rdma.1", "0000:00:05.0"],
    ]);
  });

  it("a driver registered later probes the devices already there; unregistering unbinds them", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(nic(log));
    machine.pci.plug(NIC);
    await machine.settled();
    expect(machine.auxiliary.devices[0]!.state).toBe("no-driver");
    const driver = rdma(log);
    await machine.auxiliary.register(driver);
    expect(machine.auxiliary.devices[0]!.state).toBe("bound");
    await expectReject(machine.auxiliary.register(driver), "EBUSY");
    await machine.auxiliary.unregister(driver);
    expect(machine.auxiliary.devices[0]!.state).toBe("no-driver");
    expect(log.at(-1)).toBe("rdma remove nic.rdma.0");
  });

  it("the parent's unbind removes its auxiliary devices first, newest first", async () => {
    const { machine, log, pci } = await setUp(2);
    const auxes = machine.auxiliary.devices;
    log.length = 0;
    await machine.pci.unbind(pci);
    expect(log).toEqual(["rdma remove nic.rdma.1", "rdma remove nic.rdma.0", "nic remove"]);
    for (const aux of auxes) expect(aux.state).toBe("zombie");
    expect(machine.auxiliary.devices).toEqual([]);
    expect(machine.pci.children(pci)).toEqual([]);
    expect(machine.events.filter((e) => e.kind === "aux-del").map((e) => e.device)).toEqual(["nic.rdma.1", "nic.rdma.0"]);
    // A new probe creates new ones, with fresh references.
    await machine.pci.register(defineDriver({ name: "other", ids: [NIC], probe: () => ({}) }));
    expect(machine.auxiliary.devices).toEqual([]);
  });

  it("a failed parent probe deletes the devices it created", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.auxiliary.register(rdma(log));
    await machine.pci.register(
      defineDriver({
        name: "nic",
        ids: [NIC],
        async probe(dev) {
          addAuxiliaryDevice(dev, RDMA, { id: 0, data: { mtu: 9000 }, ops: { post: () => 0, slow: async () => "" } });
          await tick();
          await tick();
          throw new Error("no link");
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    expect(log).toEqual(["rdma probe nic.rdma.0 mtu 9000", "rdma remove nic.rdma.0"]);
    expect(machine.auxiliary.devices).toEqual([]);
  });

  it("the parent may delete a device early, in remove()", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.auxiliary.register(rdma(log));
    await machine.pci.register(
      defineDriver({
        name: "nic",
        ids: [NIC],
        probe(dev) {
          const aux = addAuxiliaryDevice(dev, RDMA, { id: 3, data: { mtu: 1 }, ops: { post: () => 0, slow: async () => "" } });
          return {
            async remove(d) {
              await aux.remove(d);
              log.push(`early ${aux.removed} ${aux.device.state}`);
            },
          };
        },
      }),
    );
    const pci = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(pci);
    // The unbind took it down before remove() ran; the early remove() is then a no-op.
    expect(log).toEqual(["rdma probe nic.rdma.3 mtu 1", "rdma remove nic.rdma.3", "early true zombie"]);
  });
});

describe("the child reaches its parent's data and ops", () => {
  it("a call-through op runs with the parent's token and its resources", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(nic(log));
    await machine.auxiliary.register(
      rdma(log, async (dev, parent) => {
        log.push(`got ${await parent.call(dev, "post", 7)}`);
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    expect(log).toEqual(["rdma probe nic.rdma.0 mtu 1500", "post 7", "got 14"]);
  });

  it("a token of another binding is refused, and a dead one once the child is unbound", async () => {
    const machine = new Machine();
    const log: string[] = [];
    let kept: ParentData<Smuggled, Rdma, RdmaOps> | undefined;
    let childToken: BoundDevice<Smuggled> | undefined;
    let parentToken: BoundDevice<Smuggled> | undefined;
    await machine.pci.register(
      defineDriver({
        name: "nic",
        ids: [NIC],
        probe(dev) {
          parentToken = smuggle(dev);
          addAuxiliaryDevice(dev, RDMA, { id: 0, data: { mtu: 1 }, ops: { post: () => 0, slow: async () => "" } });
          return {};
        },
      }),
    );
    await machine.auxiliary.register(
      rdma(log, (dev, parent) => {
        kept = smuggle(parent);
        childToken = smuggle(dev);
      }),
    );
    const pci = machine.pci.plug(NIC);
    await machine.settled();
    expectCode(() => kept!.access(parentToken!), "EINVAL");
    expectCode(() => kept!.access({} as BoundDevice<Smuggled>), "EPERM");
    expect(kept!.access(childToken!).mtu).toBe(1);
    await expectReject(kept!.call(smuggle(childToken), "nope" as "post", 1), "EINVAL");
    await machine.pci.unbind(pci);
    expectCode(() => kept!.access(childToken!), "ENXIO");
    await expectReject(kept!.call(smuggle(childToken), "post", 1), "ENXIO");
  });

  it("unplugging the parent while the child is mid-call waits for the call, then removes child, then parent", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const gate = deferred();
    await machine.pci.register(nic(log, 1, gate.promise));
    await machine.auxiliary.register(
      rdma(log, (dev, parent) => {
        spawn(dev, async (task, signal) => {
          while (!signal.aborted) log.push(`call ${await parent.call(task, "slow", 50_000)}`);
        });
      }),
    );
    const pci = machine.pci.plug(NIC);
    await machine.settled();
    await machine.run(10_000);
    expect(log.at(-1)).toBe("slow start");
    log.length = 0;
    const unplug = machine.pci.unplug(pci);
    for (let i = 0; i < 5; i++) await tick();
    // The child's remove() ran; its task is still in the call, so the parent waits.
    expect(log).toEqual(["rdma remove nic.rdma.0"]);
    gate.resolve();
    await unplug;
    expect(log).toEqual(["rdma remove nic.rdma.0", "slow end 0", "call done", "nic remove"]);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.memory.stats().bytesInUse).toBe(0);
  });
});

describe("an auxiliary device has no hardware of its own", () => {
  it("DMA and IRQs on its token fail EINVAL; kmalloc works", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(nic(log));
    const results: string[] = [];
    await machine.auxiliary.register(
      rdma(log, (dev) => {
        for (const attempt of [() => allocCoherent(dev, 64), () => requestIrq(dev, () => {})]) {
          try {
            attempt();
            results.push("ok");
          } catch (error) {
            results.push((error as { code: string }).code);
          }
        }
        kmalloc(dev, 64).free();
        results.push("kmalloc ok");
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    expect(results).toEqual(["EINVAL", "EINVAL", "kmalloc ok"]);
  });
});

describe("refusals", () => {
  it("addAuxiliaryDevice refuses outside probe, a key of another module, a look-alike key, a bad id and a duplicate", async () => {
    const machine = new Machine();
    const codes: string[] = [];
    let saved: ProbeDevice<Smuggled> | undefined;
    const tryIt = (run: () => unknown): void => {
      try {
        run();
        codes.push("ok");
      } catch (error) {
        codes.push((error as { code: string }).code);
      }
    };
    await machine.pci.register(
      defineDriver({
        name: "nic",
        ids: [NIC],
        probe(dev) {
          saved = smuggle(dev);
          const ops = { post: () => 0, slow: async () => "" };
          tryIt(() => addAuxiliaryDevice(dev, auxiliaryType<Rdma>("other.rdma"), { id: 0, data: { mtu: 1 } }));
          tryIt(() => addAuxiliaryDevice(dev, { name: "nic.rdma" } as never, { id: 0, data: { mtu: 1 } } as never));
          tryIt(() => addAuxiliaryDevice(dev, RDMA, { id: -1, data: { mtu: 1 }, ops }));
          tryIt(() => addAuxiliaryDevice(dev, RDMA, { id: 0, data: { mtu: 1 }, ops: { post: 1 } as never }));
          tryIt(() => addAuxiliaryDevice(dev, RDMA, { id: 0, data: { mtu: 1 }, ops }));
          tryIt(() => addAuxiliaryDevice(dev, RDMA, { id: 0, data: { mtu: 1 }, ops }));
          return {};
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    tryIt(() => addAuxiliaryDevice(saved!, RDMA, { id: 1, data: { mtu: 1 }, ops: { post: () => 0, slow: async () => "" } }));
    expect(codes).toEqual(["EINVAL", "EINVAL", "EINVAL", "EINVAL", "ok", "EBUSY", "EPERM"]);
    expect(machine.auxiliary.devices.map((d) => d.name)).toEqual(["nic.rdma.0"]);
  });

  it("a driver whose key has the same name but is another key fails its probe (EINVAL)", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(nic(log));
    const twin = auxiliaryType<{ other: string }>("nic.rdma");
    await machine.auxiliary.register(defineAuxiliaryDriver(twin)({ name: "twin", probe: () => ({}) }));
    machine.pci.plug(NIC);
    await machine.settled();
    const failed = machine.events.find((e) => e.kind === "probe-failed");
    expect(failed?.driver).toBe("twin");
    expect((failed?.error as { code: string }).code).toBe("EINVAL");
    expect(machine.auxiliary.devices[0]!.state).toBe("no-driver");
  });

  it("bad keys, specs and drivers are refused", async () => {
    const machine = new Machine();
    expectCode(() => auxiliaryType("nodot"), "EINVAL");
    expectCode(() => auxiliaryType("a.b.c"), "EINVAL");
    expectCode(() => defineAuxiliaryDriver(), "EINVAL");
    expectCode(() => defineAuxiliaryDriver({ name: "a.b" } as never), "EINVAL");
    expectCode(() => defineAuxiliaryDriver(RDMA)({ name: "", probe: () => ({}) }), "EINVAL");
    expectCode(() => defineAuxiliaryDriver(RDMA)({ name: "x" } as never), "EINVAL");
    await expectReject(machine.auxiliary.register(defineDriver({ name: "pci", ids: [NIC], probe: () => ({}) }) as never), "EINVAL");
    await expectReject(machine.pci.register(defineAuxiliaryDriver(RDMA)({ name: "aux", probe: () => ({}) }) as never), "EINVAL");
    await expectReject(machine.auxiliary.unbind(machine.pci.plug(NIC)), "EINVAL");
  });
});

// Keep the type imports used: the handle types are part of what this file checks.
export type Handles = [AuxiliaryDevice<Smuggled>, Device];
