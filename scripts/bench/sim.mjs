// Issue 14's simulator overhead: examples/ring-nic.ts on a Machine (its
// model, the network stack, `startTraffic`'s numbered frames) against the
// same ring protocol in plain JavaScript with no library (plain-ring.mjs),
// per packet the device transmits (and receives back through its loopback).
//
// Each side runs in a child of its own (`node sim.mjs library|plain …`),
// the two alternating, round after round, in one run: in one process the
// plain side paid for the collections of the machine's heap (its event log,
// its live objects) and measured 2-3x slower than alone. A child warms up,
// then times a window of batches of 1 ms of virtual time and answers the
// mean ns per packet over the window: collections included, as they are
// part of what a packet costs. The ratio is library over plain, the median
// of the rounds' ratios. First, one untimed child of each side runs the same
// virtual time, and they must have sent, received and checked the same
// frames, or the case fails: the baseline does the same work, or the figure
// is void. runtime.mjs runs the case; reported, with no target.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCommandLine, usageError } from "../lib/args.mjs";
import { median, nodeJson, now } from "./lib.mjs";
import { PlainRingNic } from "./plain-ring.mjs";
import { bundleRingNicExample, importRingNicExample } from "./ring.mjs";

/** Machine options of each measured configuration: the default machine, and it with the checker off. */
const CONFIGS = { default: {}, checkerOff: { dmaDebug: "off" } };

/**
 * Virtual ns per batch (one packet each way per 500 ns tick), and how long
 * a child warms up and then times: at least `batches` batches and at least
 * `ms` of wall time each, so the plain side, five times faster, gets as much
 * time as the library's to warm up and to be measured over. `check` batches
 * is the run whose counts the two sides must agree on.
 */
const SIZES = { quick: { span: 20_000, batches: 1, ms: 0, check: 3 }, full: { span: 1_000_000, batches: 10, ms: 600, check: 10 } };

/** The example bound, up and busy on a machine with `options`: a `{ run(ns), counts() }` side. */
async function librarySide(bundle, options) {
  const { lib, ringNicDriver, startTraffic, RingNicModel } = await importRingNicExample(bundle);
  const machine = new lib.Machine(options);
  await machine.pci.register(ringNicDriver());
  const model = new RingNicModel("0000:00:05.0");
  const dev = machine.pci.plug(model);
  await machine.settled();
  if (dev.state !== "bound") throw new Error(`sim bench: ring-nic did not bind (${dev.state})`);
  const traffic = await startTraffic(machine, dev);
  return {
    run: (ns) => machine.run(ns),
    sent: () => model.sent,
    counts: () => ({ sent: model.sent, received: model.received, intact: traffic.intact, damaged: traffic.damaged, violations: machine.dmaDebug.violations.length }),
  };
}

function plainSide() {
  const plain = new PlainRingNic();
  return {
    run: (ns) => plain.run(ns),
    sent: () => plain.sent,
    counts: () => {
      plain.settle();
      return { sent: plain.sent, received: plain.received, intact: plain.intact, damaged: plain.damaged, violations: 0 };
    },
  };
}

/** A timed child: warm up, then time a window, each `batches` batches and `ms` long at least; ns per packet. */
async function timed(side, { span, batches, ms }) {
  const phase = async () => {
    const start = now();
    for (let n = 0; n < batches || now() - start < ms * 1e6; n++) await side.run(span);
    return now() - start;
  };
  await phase();
  const before = side.sent();
  const ns = await phase();
  const packets = side.sent() - before;
  return { ns: ns / packets, packets };
}

/** A checking child: exactly `check` batches, untimed; what the side sent, received and checked. */
async function checked(side, { span, check }) {
  for (let n = 0; n < check; n++) await side.run(span);
  return side.counts();
}

/** Throws unless the checking children of the two sides did the same clean work. */
function sameWork(library, plain, config) {
  const keys = ["sent", "received", "intact", "damaged"];
  const differ = keys.some((key) => library[key] !== plain[key]);
  if (differ || library.sent === 0 || library.damaged !== 0 || library.violations !== 0) {
    const show = (x) => keys.map((key) => `${key} ${x[key]}`).join(", ");
    throw new Error(`sim bench (${config}): the sides did not do the same clean work: machine ${show(library)}, ${library.violations} violations; plain ${show(plain)}`);
  }
}

/**
 * Per packet, for each configuration: the check, then library and plain
 * children in alternating order, `rounds` times. Returns per configuration
 * the medians: `subjectNs` library, `baselineNs` plain, `costRatio` of the
 * rounds' ratios.
 */
export async function simOverhead(quick) {
  const rounds = quick ? 1 : 7;
  const size = quick ? "quick" : "full";
  const outdir = mkdtempSync(join(tmpdir(), "boundscope-bench-sim-"));
  try {
    const bundle = await bundleRingNicExample(outdir);
    const self = fileURLToPath(import.meta.url);
    const run = (args) => nodeJson([self, ...args, "--size", size]);
    const out = { span: SIZES[size].span };
    for (const config of Object.keys(CONFIGS)) {
      const library = [];
      const plain = [];
      const ratios = [];
      const libraryArgs = ["library", "--bundle", bundle, "--config", config];
      sameWork(await run([...libraryArgs, "--check"]), await run(["plain", "--check"]), config);
      for (let r = 0; r < rounds; r++) {
        const pair = {};
        for (const which of r % 2 === 0 ? ["plain", "library"] : ["library", "plain"]) pair[which] = await run(which === "plain" ? ["plain"] : libraryArgs);
        library.push(pair.library.ns);
        plain.push(pair.plain.ns);
        ratios.push(pair.library.ns / pair.plain.ns);
      }
      out[config] = { subjectNs: median(library), baselineNs: median(plain), costRatio: median(ratios) };
    }
    return out;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

// Run directly: one side in this process, one JSON line out.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const USAGE = `usage: node scripts/bench/sim.mjs plain [--check] [--size quick|full]
       node scripts/bench/sim.mjs library --bundle FILE [--config ${Object.keys(CONFIGS).join("|")}] [--check] [--size quick|full]

Runs one side of the simulator-overhead bench and prints, as one JSON line,
its ns per packet; or with --check, untimed, the frames it sent, received
and checked in a fixed number of batches.
  --bundle FILE   examples/ring-nic.ts bundled against dist/ (ring.mjs bundleRingNicExample)
  --config NAME   the machine's options (default: default)
  --check         the checking run instead of the timed one
  --size SIZE     batch sizes (default: full)`;
  const {
    values,
    positionals: [which],
  } = parseCommandLine({ usage: USAGE, options: { bundle: { type: "string" }, config: { type: "string" }, size: { type: "string" }, check: { type: "boolean" } }, positionals: 1 });
  const size = SIZES[values.size ?? "full"];
  if (size === undefined || !Object.hasOwn(SIZES, values.size ?? "full")) usageError(USAGE, `no size named ${values.size}`);
  let side;
  if (which === "plain" && values.bundle === undefined && values.config === undefined) side = plainSide();
  else if (which === "library" && values.bundle !== undefined) {
    const config = values.config ?? "default";
    if (!Object.hasOwn(CONFIGS, config)) usageError(USAGE, `no config named ${config}`);
    side = await librarySide(values.bundle, CONFIGS[config]);
  } else usageError(USAGE, which === undefined ? "which side?" : `cannot run ${which} with these options`);
  console.log(JSON.stringify(values.check === true ? await checked(side, size) : await timed(side, size)));
}
