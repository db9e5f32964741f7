/**
 * examples/net-nic.ts: a NIC registered with the network stack, with one
 * MSI-X vector per direction; traffic through a packet socket, a hot-unplug
 * mid-traffic, and an unbind while a transmit is in flight.
 */

import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import { RingNicModel } from "../examples/models/ring-nic-model.js";
import { netNicDriver, runNetNic } from "../examples/net-nic.js";
import type { NetNicStats } from "../examples/net-nic.js";
import { startTraffic } from "../examples/ring-nic.js";

const quiet = (): void => {};

describe("net-nic", () => {
  it("uses two MSI-X vectors: TX completions on one, RX by NAPI on the other; every frame comes back intact", async () => {
    const machine = new Machine();
    let stats: Readonly<NetNicStats> | undefined;
    await machine.pci.register(netNicDriver({ onRelease: (s) => (stats = s) }));
    const dev = machine.pci.plug(new RingNicModel(undefined, { msix: true }));
    await machine.settled();
    const traffic = await startTraffic(machine, dev, { frames: 200 });
    await machine.runUntilIdle();
    expect(traffic).toMatchObject({ sent: 200, intact: 200, damaged: 0 });
    expect(machine.net.interface("eth0").stats).toMatchObject({ txPackets: 200, rxPackets: 200, txDropped: 0 });
    await machine.pci.unbind(dev);
    expect(stats).toMatchObject({ sent: 200, received: 200 });
    expect(stats!.txInterrupts).toBeGreaterThan(0);
    expect(stats!.rxInterrupts).toBeGreaterThan(0);
    expect(stats!.polls).toBeGreaterThan(0);
    expect(machine.events.some((e) => e.kind === "irq-unhandled")).toBe(false);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it.each(["passthrough", "strict"] as const)("hot-unplugged mid-traffic (iommu %s): no violation, no fault, the interface gone, the pool empty", async (iommu) => {
    const lines: string[] = [];
    const { machine, traffic } = await runNetNic((line) => lines.push(line), { iommu, end: "unplug" });
    expect(traffic.intact).toBeGreaterThan(50);
    expect(traffic.damaged).toBe(0);
    expect(lines.some((l) => l.startsWith("stop(): TX_HEAD reads all-ones"))).toBe(true);
    expect(machine.net.interfaces).toHaveLength(0);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.events.some((e) => e.kind.endsWith("-failed") || e.kind === "hung")).toBe(false);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });

  it("an unbind while transmits are in flight waits for them: sent and reaped before devres frees the ring", async () => {
    const machine = new Machine({ iommu: "strict" });
    let stats: Readonly<NetNicStats> | undefined;
    const lines: string[] = [];
    await machine.pci.register(netNicDriver({ narrate: (l) => lines.push(l), onRelease: (s) => (stats = s) }));
    const model = new RingNicModel(undefined, { msix: true });
    const dev = machine.pci.plug(model);
    await machine.settled();
    const iface = machine.net.interface("eth0");
    await iface.up();
    const socket = machine.net.socket("eth0");
    for (let i = 0; i < 20; i++) socket.send(new Uint8Array(1000).fill(i));
    // The driver took them all; the device has sent none yet: nobody ran the clock.
    expect(iface.stats.txPackets).toBe(20);
    expect(model.sent).toBe(0);
    await machine.pci.unbind(dev);
    expect(model.sent).toBe(20);
    expect(stats).toMatchObject({ sent: 20, drainedOnStop: 20 });
    expect(lines.some((l) => l.startsWith("stop(): waited for the 20 frames"))).toBe(true);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });

  it("unbound mid-traffic: stop() drains the ring, then halts; no violation", async () => {
    const { machine, model, traffic } = await runNetNic(quiet, { end: "unbind" });
    expect(model.running).toBe(false);
    expect(traffic.damaged).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  });
});
