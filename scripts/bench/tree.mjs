// Issue 13's device-tree cost: one unplug of a parent with 100 bound
// children (the subtree removed deepest first, each child's remove() before
// the parent's) against 100 separate unplugs of 100 bound devices. Set-up
// (plug, probe) is not timed; each round builds both machines fresh, then
// times the unplugs alone, in alternating order. runtime.mjs runs the case in
// its own child. Reported with the ratio; no target.
import { median, now } from "./lib.mjs";

const lib = await import(new URL("../../dist/index.js", import.meta.url).href);
const { defineDriver, Machine } = lib;

const DEV = { vendor: 0x1234, device: 0x0077 };
const BRIDGE = { vendor: 0x8086, device: 0x244e };

const driver = () =>
  defineDriver({
    name: "bench-tree",
    ids: [DEV, BRIDGE],
    probe: () => ({ remove() {} }),
  });

/** A machine with `children` bound devices under one bound parent, or as roots. */
async function build(children, tree) {
  const machine = new Machine({ dmaDebug: "off" });
  await machine.pci.register(driver());
  const parent = tree ? machine.pci.plug(BRIDGE) : undefined;
  const devices = [];
  for (let i = 0; i < children; i++) devices.push(machine.pci.plug(DEV, parent === undefined ? {} : { parent }));
  await machine.settled();
  return { machine, parent, devices };
}

export async function treeUnplug(quick) {
  const children = quick ? 10 : 100;
  const rounds = quick ? 3 : 25;
  const subject = [];
  const baseline = [];
  const ratios = [];
  for (let r = 0; r < rounds + 2; r++) {
    const tree = await build(children, true);
    const flat = await build(children, false);
    const times = {};
    for (const which of r % 2 === 0 ? ["tree", "flat"] : ["flat", "tree"]) {
      globalThis.gc?.();
      const start = now();
      if (which === "tree") await tree.machine.pci.unplug(tree.parent);
      else await Promise.all(flat.devices.map((dev) => flat.machine.pci.unplug(dev)));
      times[which] = now() - start;
    }
    if (tree.devices.some((dev) => dev.state !== "zombie") || flat.devices.some((dev) => dev.state !== "zombie")) throw new Error("tree bench: a device was not removed");
    // The first two rounds warm up.
    if (r < 2) continue;
    subject.push(times.tree);
    baseline.push(times.flat);
    ratios.push(times.tree / times.flat);
  }
  return { children, subjectNs: median(subject), baselineNs: median(baseline), costRatio: median(ratios) };
}
