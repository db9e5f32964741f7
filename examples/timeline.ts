/**
 * Writes a machine's trace for people: `trace.json` (Chrome trace-event
 * format: open it in Perfetto or chrome://tracing) and `timeline.svg` (one
 * lane per device coloured by state, allocation lifetimes under it, checker
 * violations in red with their message on hover).
 */

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Machine } from "boundscope";
import { accelDriver, cryptoDriver } from "./aux-parent.js";
import { dmaSampleDriver } from "./dma-sample.js";
import { AccelModel } from "./models/accel-model.js";
import { EduModel } from "./models/edu-model.js";
import { RingNicModel } from "./models/ring-nic-model.js";
import { ringNicDriver, startTraffic } from "./ring-nic.js";

export async function writeTimeline(machine: Machine, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const trace = join(dir, "trace.json");
  const svg = join(dir, "timeline.svg");
  await writeFile(trace, JSON.stringify(machine.trace.toChromeTrace()));
  await writeFile(svg, machine.trace.toSvg());
  return [trace, svg];
}

/**
 * One machine, every state: an edu device probed and hot-unplugged
 * (zombie); a NIC unbound cleanly, then bound again by the buggy driver and
 * unbound with its engine running (violations); a second NIC hot-unplugged
 * mid-traffic. Then a tree: a bridge with an accelerator behind it, whose
 * driver offers an auxiliary device, and a second edu device linked to the
 * accelerator as its consumer; the bridge is hot-unplugged: the consumer is
 * unbound first, then the auxiliary device, the accelerator and the bridge.
 */
export async function runTimelineScenario(): Promise<Machine> {
  const machine = new Machine();
  const good = ringNicDriver();
  await machine.pci.register(dmaSampleDriver());
  await machine.pci.register(good);
  const edu = machine.pci.plug(new EduModel("0000:00:04.0"));
  const nic = machine.pci.plug(new RingNicModel("0000:00:05.0"));
  const other = machine.pci.plug(new RingNicModel("0000:00:06.0"));
  await machine.settled();
  await startTraffic(machine, nic);
  await startTraffic(machine, other);
  await machine.run(20_000);
  await machine.pci.unplug(edu);
  await machine.pci.unbind(nic);
  await machine.run(5_000);
  await machine.pci.unregister(good);
  await machine.pci.register(ringNicDriver({ name: "buggy-nic", halt: false }));
  await startTraffic(machine, nic);
  await machine.run(20_000);
  await machine.pci.unbind(nic);
  await machine.pci.unplug(other);
  await machine.run(10_000);
  await machine.pci.register(accelDriver());
  await machine.auxiliary.register(cryptoDriver({ roundTrips: 0, failed: 0, inCall: false }));
  const bridge = machine.pci.plug({ vendor: 0x8086, device: 0x244e, name: "0000:00:1e.0" });
  const accel = machine.pci.plug(new AccelModel("0000:00:07.0"), { parent: bridge });
  const consumer = machine.pci.plug(new EduModel("0000:00:08.0"));
  machine.links.add(consumer, accel);
  await machine.settled();
  await machine.run(50_000);
  await machine.pci.unplug(bridge);
  await machine.run(10_000);
  return machine;
}
