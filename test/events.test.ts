/**
 * The machine's event log (src/events.ts): what the core did, in order.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine } from "../src/index.js";
import type { MachineEvent } from "../src/index.js";
import { EVENT_LOG_LIMIT, EventLog } from "../src/observe/events.js";
import { expectCode, NIC, released, smuggle, transitionOf } from "./helpers.js";

describe("the event log", () => {
  it("records a binding's life in order, with device and driver", async () => {
    const machine = new Machine();
    const driver = defineDriver({ name: "nic", ids: [NIC], probe: () => ({}) });
    await machine.pci.register(driver);
    const dev = machine.pci.plug({ ...NIC, name: "eth0" });
    await machine.settled();
    await machine.pci.unplug(dev);
    await machine.pci.unregister(driver);
    // State events carry the transition; the others name the driver involved.
    expect(machine.events.map((e) => [e.kind, e.device, e.kind === "state" ? transitionOf(e) : e.driver])).toEqual([
      ["register", undefined, "nic"],
      ["plug", "eth0", undefined],
      ["state", "eth0", "no-driver -> probing"],
      ["probe-start", "eth0", "nic"],
      ["state", "eth0", "probing -> bound"],
      ["probe-end", "eth0", "nic"],
      ["unplug", "eth0", "nic"],
      ["state", "eth0", "bound -> unbinding"],
      ["remove-start", "eth0", "nic"],
      ["state", "eth0", "unbinding -> zombie"],
      ["remove-end", "eth0", "nic"],
      ["unregister", undefined, "nic"],
    ]);
  });

  it("numbers events from 1 without gaps", async () => {
    const machine = new Machine();
    machine.pci.plug(NIC);
    machine.pci.plug(NIC);
    expect(machine.events.map((e) => e.seq)).toEqual([1, 2]);
  });

  it("events are frozen", () => {
    const machine = new Machine();
    machine.pci.plug(NIC);
    expect(Object.isFrozen(machine.events[0])).toBe(true);
  });

  it("keeps only the newest events once the limit is reached", () => {
    const log = new EventLog();
    const total = EVENT_LOG_LIMIT + 500;
    for (let i = 0; i < total; i++) log.add({ kind: "plug" });
    expect(log.events.length).toBeLessThanOrEqual(EVENT_LOG_LIMIT);
    expect(log.events.at(-1)?.seq).toBe(total);
    const seqs = log.events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => total - seqs.length + 1 + i));
  });

  it("records each devres release, last in first out", async () => {
    const machine = new Machine();
    const driver = defineDriver({
      name: "nic",
      ids: [NIC],
      probe(dev) {
        allocCoherent(dev, 4096);
        Devres.new(dev, "irq");
        return {};
      },
    });
    await machine.pci.register(driver);
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(released(machine)).toEqual(["devres", "coherent 4096 bytes"]);
    expect(machine.events.filter((e) => e.kind === "release").every((e) => e.device === dev.name && e.driver === "nic")).toBe(true);
  });
});

describe("subscribe", () => {
  it("a listener hears every event from then on, as it is logged", () => {
    const machine = new Machine();
    machine.pci.plug(NIC);
    const heard: MachineEvent[] = [];
    const newestWhenHeard: (MachineEvent | undefined)[] = [];
    machine.subscribe((e) => {
      heard.push(e);
      newestWhenHeard.push(machine.events.at(-1));
    });
    machine.pci.plug(NIC);
    expect(heard).toEqual([machine.events[1]]);
    expect(newestWhenHeard).toEqual(heard);
  });

  it("the function subscribe returns stops the listener", () => {
    const machine = new Machine();
    const heard: MachineEvent[] = [];
    const stop = machine.subscribe((e) => void heard.push(e));
    machine.pci.plug(NIC);
    stop();
    machine.pci.plug(NIC);
    expect(heard).toHaveLength(1);
  });

  it("a listener that throws does not break the core or the other listeners", async () => {
    const machine = new Machine();
    const heard: string[] = [];
    machine.subscribe(() => {
      throw new Error("listener bug");
    });
    machine.subscribe((e) => void heard.push(e.kind));
    await machine.pci.register(defineDriver({ name: "nic", ids: [NIC], probe: () => ({}) }));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expect(dev.state).toBe("bound");
    expect(heard).toContain("probe-end");
  });

  it("subscribing something that is not a function is EINVAL", () => {
    expectCode(() => new Machine().subscribe(smuggle(42)), "EINVAL");
  });
});
