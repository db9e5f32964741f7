/**
 * The story of a machine (src/testing/story.ts): every event told with its
 * time, number and device, indented under the callback it happened in;
 * violations with their kind, callback and message; marks right after the
 * event they name; routine runs folded; and, however long the story, no
 * violation left out.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, kmalloc, Machine, requestIrq, spawn } from "boundscope";
import type { BoundDevice, IrqDevice } from "boundscope";
import { tellStory } from "boundscope/testing";
import { ringNicDriver, startTraffic } from "../examples/ring-nic.js";
import { RingNicModel } from "../examples/models/ring-nic-model.js";
import { bindModel, expectCode, NIC, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** ring-nic without its halt (buggy-nic), unbound mid-traffic: seven violations, most in devres's walk. */
async function buggyUnbind(): Promise<{ machine: Machine; unbindAfter: number }> {
  const machine = new Machine();
  await machine.pci.register(ringNicDriver({ name: "buggy-nic", halt: false }));
  const dev = machine.pci.plug(new RingNicModel("0000:00:05.0"));
  await machine.settled();
  await startTraffic(machine, dev, { frames: 50 });
  await machine.run(20_000);
  const unbindAfter = machine.events.at(-1)!.seq;
  await machine.pci.unbind(dev);
  return { machine, unbindAfter };
}

/** The lines of a story that tell event `seq`. */
const linesOf = (story: string, seq: number): string[] => story.split("\n").filter((line) => new RegExp(`\\s#${seq}\\s`).test(line));

describe("tellStory", () => {
  it("tells each violation with its kind, the callback it happened in, and the checker's message under it", async () => {
    const { machine } = await buggyUnbind();
    const story = tellStory(machine);
    const lines = story.split("\n");
    expect(lines[0]).toBe(`story: ${machine.events.length} events, t=0 ns to t=${machine.events.at(-1)!.time / 1000} µs, 7 violations`);
    const told = lines.filter((line) => line.includes("!! VIOLATION"));
    expect(told.map((line) => /VIOLATION ([\w-]+)/.exec(line)![1])).toEqual(machine.dmaDebug.violations.map((v) => v.kind));
    // remove() returned with the engine running: the device's DMA, in remove()'s part of the unbind.
    expect(told[0]).toContain(`!! VIOLATION dma-after-remove: the device's DMA during remove() of "buggy-nic" or the teardown after it (unbind: unbound)`);
    // Devres freed the rings under the running engine.
    expect(told.find((line) => line.includes("VIOLATION dma-after-free"))).toContain(`the device's DMA during devres release of "buggy-nic"'s resources (unbind: unbound)`);
    expect(told.find((line) => line.includes("VIOLATION free-while-held"))).toContain(`: in devres release of "buggy-nic"'s resources (unbind: unbound)`);
    // The message is on the line under it, indented past the columns.
    for (const [i, v] of machine.dmaDebug.violations.entries()) {
      const at = lines.indexOf(told[i]!);
      expect(lines[at + 1]!.trim()).toBe(`${v.kind}: ${v.message}`);
      expect(lines[at + 1]!.startsWith(" ".repeat(20))).toBe(true);
    }
  });

  it("indents what happens inside a callback under the line that opened it, and says when and on which device", async () => {
    const { machine } = await buggyUnbind();
    const story = tellStory(machine);
    const probe = machine.events.find((e) => e.kind === "probe-start")!;
    const alloc = machine.events.find((e) => e.kind === "alloc")!;
    expect(linesOf(story, probe.seq)).toEqual([expect.stringMatching(/^ {2}t=0 ns +#4 +0000:00:05\.0 {2}probe\(\) by "buggy-nic" begins$/)]);
    expect(linesOf(story, alloc.seq)).toEqual([expect.stringMatching(/0000:00:05\.0 {4}allocates 512 bytes of coherent memory at 0x40000000$/)]);
    const release = machine.events.find((e) => e.kind === "release" && e.resource === "mmio")!;
    expect(linesOf(story, release.seq)[0]).toMatch(/^ {2}t=26 µs +#\d+ +0000:00:05\.0 {4}devres releases MMIO mapping of BAR 0/);
    const end = machine.events.find((e) => e.kind === "remove-end")!;
    expect(linesOf(story, end.seq)[0]).toMatch(/0000:00:05\.0 {2}unbind done \(unbound\)$/);
    expect(story.split("\n")[1]).toMatch(/^ {2}t=0 ns +#1 +machine +driver "buggy-nic" registered$/);
  });

  it("folds long runs of per-packet DMA and IRQs into one line that counts them", async () => {
    const { machine } = await buggyUnbind();
    const story = tellStory(machine);
    const folded = /… (\d+) more routine events \((\d+) dma, (\d+) irq\), to #(\d+) at t=([\d.]+ µs)/.exec(story);
    expect(folded).not.toBeNull();
    const [, total, dmas, irqs, last] = folded!.map(Number);
    expect(irqs! + dmas!).toBe(total);
    expect(total).toBeGreaterThan(50);
    // What the fold stands for is just that: the events it skipped are those kinds, and the one after it is told.
    const skipped = machine.events.filter((e) => e.seq > last! - total! && e.seq <= last!);
    expect(skipped.filter((e) => e.kind === "irq").length).toBe(irqs);
    expect(skipped.filter((e) => e.kind === "dma").length).toBe(dmas);
    expect(linesOf(story, last! + 1)).toHaveLength(1);
    expect(story.split("\n").length).toBeLessThan(machine.events.length / 2);
  });

  it("puts each mark right after the event it names, even inside a folded run", async () => {
    const { machine, unbindAfter } = await buggyUnbind();
    const middle = machine.events.find((e) => e.kind === "dma" && e.time === 10_000)!;
    const story = tellStory(machine, [
      { afterSeq: unbindAfter, text: "test: unbind now" },
      { afterSeq: middle.seq, text: "injected: nothing, 10 µs in" },
      { afterSeq: 0, text: "before anything" },
      { afterSeq: 1e9, text: "after everything" },
    ]);
    const lines = story.split("\n");
    expect(lines[1]).toBe("  >> before anything");
    expect(lines.at(-1)).toBe("  >> after everything");
    const unbind = lines.indexOf("  >> test: unbind now");
    expect(lines[unbind - 1]).toContain(`#${unbindAfter} `);
    expect(lines[unbind + 1]).toContain("bound → unbinding");
    const mark = lines.indexOf("  >> injected: nothing, 10 µs in");
    expect(lines[mark - 1]).toContain(`#${middle.seq} `);
    expect(lines[mark + 1]).toMatch(new RegExp(`#${middle.seq + 1} `));
  });

  it("tells a failed probe, and what its take-down released, under the probe", async () => {
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "fw",
        ids: [NIC],
        probe(dev) {
          allocCoherent(dev, 4096);
          throw new Error("no firmware");
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    const story = tellStory(machine);
    expect(story).toMatch(/ {2}probe\(\) by "fw" begins\n.* {4}allocates 4096 bytes of coherent memory at 0x[0-9a-f]+\n.* {2}!! probe\(\) by "fw" failed: no firmware; what it set up is taken down\n/);
    expect(story).toMatch(/ {4}devres releases coherent allocation of 4096 bytes/);
  });

  it("says a violation came from the IRQ handler when the handler's interrupt came just before it", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    await bindModel(machine, model, (dev) => {
      // GFP_KERNEL in a hard IRQ handler: sleep-in-atomic.
      requestIrq(dev, (irq: IrqDevice<Smuggled>) => void kmalloc(smuggle<BoundDevice<Smuggled>>(irq), 64));
    });
    await machine.run(1_000);
    model.interrupt();
    const story = tellStory(machine);
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["sleep-in-atomic"]);
    expect(story).toMatch(/!! VIOLATION sleep-in-atomic: in the IRQ handler of "model-driver-[0-9a-f]+" \(its interrupt came just before, at this instant\)/);
  });

  it("tells a hung unbind as such, naming what the core waited on", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    await bindModel(machine, new OpenModel(), (dev) => void spawn(dev, () => new Promise<void>(() => {})));
    await machine.pci.unbind(machine.pci.devices[0]!);
    const story = tellStory(machine);
    expect(story).toMatch(/!! HUNG: the driver core gave up waiting for task #\d+ .*after 1 ms, in remove\(\) of "model-driver-[0-9a-f]+" or the teardown after it \(unbind: unbound\)/);
    expect(story).toContain("!! VIOLATION hung");
  });

  it("stays short however long the log, and still tells every violation and mark", async () => {
    const machine = new Machine();
    await machine.pci.register(ringNicDriver({ name: "buggy-nic", halt: false }));
    const buggy = machine.pci.plug(new RingNicModel("0000:00:05.0"));
    await machine.settled();
    await startTraffic(machine, buggy, { frames: 20 });
    await machine.run(5_000);
    await machine.pci.unbind(buggy);
    const mark = machine.events.at(-1)!.seq;
    await machine.pci.unregister(machine.pci.drivers[0]!);
    // Two NICs at once: their events interleave, so nothing folds, and the log runs to thousands.
    await machine.pci.register(ringNicDriver());
    const nics = [machine.pci.plug(new RingNicModel("0000:00:06.0")), machine.pci.plug(new RingNicModel("0000:00:07.0"))];
    await machine.settled();
    for (const nic of nics) await startTraffic(machine, nic);
    await machine.run(200_000);
    expect(machine.events.length).toBeGreaterThan(2_000);
    const story = tellStory(machine, [{ afterSeq: mark, text: "the buggy one is gone" }]);
    const lines = story.split("\n");
    expect(lines.length).toBeLessThan(260);
    expect(story).toMatch(/… \d+ lines left out …/);
    expect(lines.filter((l) => l.includes("!! VIOLATION")).length).toBe(machine.dmaDebug.violations.length);
    expect(machine.dmaDebug.violations.length).toBeGreaterThan(0);
    expect(lines).toContain("  >> the buggy one is gone");
  });

  it("refuses what is not a machine, and marks without a place", () => {
    expectCode(() => tellStory({} as Machine), "EINVAL");
    expectCode(() => tellStory(new Machine(), [{ afterSeq: "1" as unknown as number, text: "x" }]), "EINVAL");
    expect(tellStory(new Machine())).toBe("story: no events");
  });
});
