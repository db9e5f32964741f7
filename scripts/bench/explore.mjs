// Issue 14's explorer speed: `explore` (boundscope/testing) on a ring-nic
// scenario (examples/ring-nic.ts: plug, bring up, 24 frames through a packet
// socket over 40 µs of virtual time) in systematic mode with a fixed budget,
// in schedules per second; against bare runs of the same scenario (a fresh
// machine, setup, workload, teardown, nothing injected) per second. Many
// schedules end early (the device unplugged, the probe failed), so a
// schedule can cost less than a whole run: the explorer's own cost per run
// is the second figure, one clean schedule (`replay` of the schedule with
// nothing injected: every injection point counted, the machine checked, the
// story kept) against one bare run. Each pair alternates, round after round,
// in one process; each figure is the median over the rounds. runtime.mjs
// runs the case in its own child. Reported, with no target.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { root } from "../lib/paths.mjs";
import { median, now } from "./lib.mjs";
import { bundleRingNicExample, importRingNicExample } from "./ring.mjs";

/** The scenario of test/testing-explore.test.ts, on the bundled example. */
function ringNicScenario({ ringNicDriver, startTraffic, RingNicModel }, defineScenario) {
  return defineScenario({
    name: "ring-nic",
    async setup(machine) {
      await machine.pci.register(ringNicDriver());
      machine.pci.plug(new RingNicModel("0000:00:05.0"));
      await machine.settled();
    },
    async workload(machine) {
      const dev = machine.pci.devices[0];
      // An injected failure may have failed the probe: then there is no interface to drive.
      if (dev === undefined || !machine.net.interfaces.some((i) => i.device === dev.name)) return;
      const traffic = await startTraffic(machine, dev, { frames: 24 });
      await machine.run(40_000);
      traffic.stop();
    },
  });
}

/** Alternates `subject` and `baseline` (each answering ns per run) for `rounds`; medians and the median ratio. */
async function alternate(rounds, subject, baseline) {
  const subj = [];
  const base = [];
  const ratios = [];
  for (let r = 0; r < rounds; r++) {
    const pair = {};
    for (const which of r % 2 === 0 ? ["b", "s"] : ["s", "b"]) pair[which] = which === "b" ? await baseline() : await subject();
    subj.push(pair.s);
    base.push(pair.b);
    ratios.push(pair.s / pair.b);
  }
  return { subjectNs: median(subj), baselineNs: median(base), costRatio: median(ratios) };
}

/** Schedules per second of `explore` against bare runs per second, for a systematic budget; and one clean schedule against one bare run. */
export async function exploreRate(quick) {
  const budget = quick ? 6 : 150;
  const rounds = quick ? 1 : 5;
  const outdir = mkdtempSync(join(tmpdir(), "boundscope-bench-explore-"));
  try {
    const example = await importRingNicExample(await bundleRingNicExample(outdir));
    const { defineScenario, explore, replay } = await import(pathToFileURL(join(root, "dist/testing/index.js")).href);
    const scenario = ringNicScenario(example, defineScenario);
    let report;
    const explored = async () => {
      const start = now();
      report = await explore(scenario, { mode: "systematic", budget });
      if (!report.ok) throw new Error(`explore bench: the clean ring-nic failed schedule ${report.failure.schedule}:\n${report.failure.problems.join("\n")}`);
      return (now() - start) / report.schedules;
    };
    const bare = async (runs) => {
      const start = now();
      for (let i = 0; i < runs; i++) {
        const machine = new example.lib.Machine();
        await scenario.setup(machine);
        await scenario.workload(machine);
        await machine[Symbol.asyncDispose]();
        if (machine.dmaDebug.violations.length > 0) throw new Error("explore bench: a bare run of ring-nic reported violations");
      }
      return (now() - start) / runs;
    };
    const runs = quick ? 2 : 30;
    const clean = async () => {
      const start = now();
      for (let i = 0; i < runs; i++) {
        const failure = await replay(scenario, "iommu=passthrough;limit=none");
        if (failure !== undefined) throw new Error(`explore bench: the clean schedule of ring-nic failed:\n${failure.problems.join("\n")}`);
      }
      return (now() - start) / runs;
    };
    // Warm everything up: the first runs compile the driver, the model and the explorer.
    await explored();
    await bare(runs);
    await clean();
    const rate = await alternate(rounds, explored, () => bare(budget));
    const overhead = await alternate(rounds, clean, () => bare(runs));
    return { budget, schedules: report.schedules, points: report.points, planned: report.planned, rate, overhead };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
