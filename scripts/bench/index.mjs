// `npm run bench`: every figure of issue 6 in one table, each next to its
// baseline measured in the same run, with the ratio, the target and whether
// it is met. `--quick` runs the same code paths on tiny sizes in seconds and
// claims nothing about timing. `--json FILE` also writes the rows as JSON;
// `--only compile,runtime,bundle` runs some sections.
//
// Progress goes to stderr, the table to stdout. A missed target does not fail
// the run: benchmarks are not tests. A section that breaks does (exit 1).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseCommandLine, usageError } from "../lib/args.mjs";
import { distState } from "../lib/dist.mjs";
import { root } from "../lib/paths.mjs";
import { bundleBench } from "./bundle.mjs";
import { compileBench } from "./compile.mjs";

const SECTIONS = ["compile", "runtime", "bundle"];
const USAGE = `usage: node scripts/bench/index.mjs [--quick] [--only SECTION,SECTION] [--json FILE]

  --quick          tiny sizes: the same code paths in seconds, timings meaningless
  --only S,S       only these sections, of ${SECTIONS.join(", ")}
  --json FILE      also write the rows as JSON to FILE`;
const { values } = parseCommandLine({
  usage: USAGE,
  options: { quick: { type: "boolean" }, only: { type: "string" }, json: { type: "string" } },
});
const quick = values.quick === true;
const only = values.only?.split(",");
const unknownSections = (only ?? []).filter((section) => !SECTIONS.includes(section));
if (unknownSections.length > 0) usageError(USAGE, `no section named ${unknownSections.join(", ")}`);
const jsonPath = values.json;
const wanted = (section) => only === undefined || only.includes(section);
const log = (line) => process.stderr.write(`bench: ${line}\n`);

/** Builds dist/ when it is missing or any file under src/ is newer than it. */
function freshDist() {
  const state = distState();
  if (state !== undefined) {
    log(state === "missing" ? "dist/ is missing: building it" : "dist/ is older than src/: building it");
    execFileSync(process.execPath, [join(root, "scripts/build.mjs")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  }
}

// ---------------------------------------------------------------- formatting

const int = (n) => Math.round(n).toLocaleString("en-US");
const fixed = (n, digits) => n.toFixed(digits);
const ns = (n) => (n >= 100_000 ? `${fixed(n / 1e6, 2)} ms` : n >= 1000 ? `${fixed(n / 1000, 1)} µs` : n >= 10 ? `${fixed(n, 0)} ns` : `${fixed(n, 2)} ns`);
const gbps = (nsPerByte) => `${fixed(1 / nsPerByte, 2)} GB/s`;
const kib = (bytes) => `${fixed(bytes / 1024, 1)} KiB`;
const seconds = (s) => `${fixed(s, 3)} s`;
const mib = (bytes) => `${fixed(bytes / 1024 / 1024, 0)} MiB`;

const rows = [];
/**
 * One table row. `ratio` is what the target bounds; `target` is
 * `["<=" | ">=" | "<", value]`, or undefined for a figure that is reported only.
 */
function row(id, label, figure, baseline, ratio, target) {
  const met = target === undefined || ratio === undefined ? undefined : target[0] === "<=" ? ratio <= target[1] : target[0] === ">=" ? ratio >= target[1] : ratio < target[1];
  rows.push({ id, label, figure, baseline, ratio, target, met });
}
function broken(id, error) {
  log(`${id} failed: ${error.stack ?? error}`);
  rows.push({ id: `${id}.error`, label: `${id}: FAILED (${String(error.message ?? error).split("\n")[0]})`, figure: "—", baseline: "—", met: false, error: true });
}

// ------------------------------------------------------------------ sections

const METRIC = {
  instantiations: "instantiations",
  types: "types",
  symbols: "symbols",
  checkSeconds: "check time",
  wallSeconds: "wall time",
  memoryKiB: "memory used",
};

async function compileRows(work) {
  const sizes = quick ? [4, 8, 16] : [50, 200, 800];
  const [s, m, l] = sizes;
  // Check times at the largest size decide two targets: more rounds there,
  // and more still for TS 7, whose sub-second times jitter the most.
  const rounds = quick ? 1 : (n, compiler) => (n === s ? 3 : compiler === "TS 7" ? 9 : n === l ? 5 : 3);
  const results = await compileBench({ sizes, rounds, workDir: join(work, "compile"), parallel: quick ? 2 : 1, log });
  for (const compiler of ["TS 6", "TS 7"]) {
    const key = compiler === "TS 6" ? "ts6" : "ts7";
    const b = (n) => results[`${compiler}/boundscope/${n}`];
    const c = (n) => results[`${compiler}/control/${n}`];
    const vs = (metric, fmt, n, target, tag = `n${n === l ? "L" : n === m ? "M" : "S"}`) =>
      row(`compile.${key}.${tag}.${metric}`, `${compiler}, ${n} drivers vs control: ${METRIC[metric]}`, fmt(b(n)[metric]), fmt(c(n)[metric]), b(n)[metric] / c(n)[metric], target);
    vs("instantiations", int, l, ["<=", 1.15]);
    vs("types", int, l);
    vs("symbols", int, l);
    vs("checkSeconds", seconds, l, ["<=", 1.15]);
    vs("wallSeconds", seconds, l);
    vs("memoryKiB", (k) => mib(k * 1024), l);
    for (const n of [s, m]) {
      vs("instantiations", int, n);
      vs("checkSeconds", seconds, n);
    }
    for (const [metric, fmt] of [
      ["instantiations", int],
      ["checkSeconds", seconds],
    ]) {
      row(`compile.${key}.growth.${metric}`, `${compiler}, boundscope, ${l} vs ${m} drivers: ${METRIC[metric]}`, fmt(b(l)[metric]), fmt(b(m)[metric]), b(l)[metric] / b(m)[metric], ["<=", (4.4 * l) / m / 4]);
    }
    // The compiler's own growth, for telling the library's from the checker's.
    row(`compile.${key}.growth.control`, `${compiler}, (context) control, ${l} vs ${m} drivers: check time`, seconds(c(l).checkSeconds), seconds(c(m).checkSeconds), c(l).checkSeconds / c(m).checkSeconds, undefined);
  }
}

/** Runs each case in its own child; a case that breaks is one ERROR row, the others still run. */
async function runtimeRows() {
  for (const [name, rowsOf] of Object.entries(RUNTIME)) {
    log(`runtime: ${name}`);
    try {
      rowsOf(await runCase(name, quick));
    } catch (error) {
      broken(`run.${name}`, error);
    }
  }
}

// Throughput ratios are subject over baseline throughput: baselineNs / subjectNs.
const RUNTIME = {
  bulk(bulk) {
    row("run.bulk.bytes", "1. bulk access via bytes(dev) vs plain Uint8Array (throughput)", gbps(bulk.bytes.subjectNs), gbps(bulk.bytes.baselineNs), 1 / bulk.bytes.costRatio, [">=", 0.95]);
    row("run.bulk.view", "1. bulk access via view(dev) vs plain DataView (throughput)", gbps(bulk.view.subjectNs), gbps(bulk.view.baselineNs), 1 / bulk.view.costRatio, [">=", 0.95]);
    row("run.bulk.noise", "1. (context) A/A: plain DataView vs another plain DataView", gbps(bulk.noise.subjectNs), gbps(bulk.noise.baselineNs), 1 / bulk.noise.costRatio, undefined);
  },
  calls(calls) {
    const call = (id, label, x) => row(`run.calls.${id}`, `2. ${label} vs plain method (per call)`, ns(x.subjectNs), ns(x.baselineNs), x.costRatio, ["<=", 3]);
    call("bytes", "bytes(dev)", calls.bytes);
    call("access", "Devres.access(dev)", calls.access);
    row("run.calls.read32", "2. MMIO read32(dev, off) vs a direct call of the same model's mmioRead (per call)", ns(calls.read32.subjectNs), ns(calls.read32.baselineNs), calls.read32.costRatio, ["<=", 3]);
    // Issue 6's baseline, a bare field: it has no model call, so it prices the call with the checks.
    row("run.calls.read32.field", "2. (context) MMIO read32(dev, off) vs plain method returning a field (per call)", ns(calls.read32Field.subjectNs), ns(calls.read32Field.baselineNs), calls.read32Field.costRatio, undefined);
  },
  allocator(alloc) {
    row("run.alloc.throughput", "3. alloc/free 4 KiB–1 MiB vs new ArrayBuffer (throughput)", `${ns(alloc.throughput.subjectNs)}/op`, `${ns(alloc.throughput.baselineNs)}/op`, 1 / alloc.throughput.costRatio, [">=", 0.7]);
    const like = alloc.likeForLike;
    row("run.alloc.likeForLike", "3. (context) the same vs new ArrayBuffer detached on free, as free() does", `${ns(like.subjectNs)}/op`, `${ns(like.baselineNs)}/op`, 1 / like.costRatio, undefined);
    const f = alloc.fragmentation;
    row("run.alloc.fragmentation", `3. fragmentation after it (${f.live} live): largest free / free`, `${fixed(100 * f.share, 1)}%`, `${mib(f.largestFree)} of ${mib(f.free)}`, undefined, undefined);
  },
  allocScale(scale) {
    const sizes = `4–${scale.maxSize / 1024} KiB`;
    row("run.alloc.scaling", `3. free+alloc ${sizes}, ${int(scale.large)} vs ${scale.small} live (per op)`, ns(scale.subject.subjectNs), ns(scale.subject.baselineNs), scale.subject.costRatio, ["<=", 2]);
    row("run.alloc.scaling.host", `3. (context) the same with bare new ArrayBuffer`, ns(scale.host.subjectNs), ns(scale.host.baselineNs), scale.host.costRatio, undefined);
  },
  capacity(cap) {
    row("run.capacity.start", `4. Machine start, 64 GiB vs 64 MiB pool (per machine, ${cap.count} machines)`, ns(cap.large.startNs), ns(cap.small.startNs), cap.large.startNs / cap.small.startNs, ["<=", 1.1]);
    row("run.capacity.rss", "4. resident memory, 64 GiB vs 64 MiB pool (RSS per machine)", kib(cap.large.rssBytes), kib(cap.small.rssBytes), cap.large.rssBytes / cap.small.rssBytes, ["<=", 1.1]);
    row("run.capacity.heap", "4. (context) JS heap + external, 64 GiB vs 64 MiB (per machine)", kib(cap.large.heapBytes), kib(cap.small.heapBytes), cap.large.heapBytes / cap.small.heapBytes, undefined);
  },
  lifecycle({ cases }) {
    const [one, ...more] = cases;
    const perSecond = (x) => `${int(1e9 / x.cycleNs)}/s`;
    row("run.lifecycle.base", `5. plug/probe/unplug cycles, ${one.others} other bound`, perSecond(one), "—", undefined, undefined);
    for (const [i, x] of more.entries()) {
      row(`run.lifecycle.${i === 0 ? "mid" : "large"}`, `5. cycle cost, ${int(x.others)} vs ${one.others} other bound`, perSecond(x), perSecond(one), x.cycleNs / one.cycleNs, ["<=", 1.5]);
    }
  },
  dma(dma) {
    for (const iommu of ["strict", "passthrough"]) {
      for (const dir of ["write", "read"]) {
        const x = dma[iommu][dir];
        row(`run.dma.${iommu}.${dir}`, `6. device ${dir === "write" ? "dmaWrite" : "dmaRead"} 64 KiB, ${iommu}, vs Uint8Array set (throughput)`, gbps(x.subjectNs), gbps(x.baselineNs), 1 / x.costRatio, iommu === "strict" ? [">=", 0.5] : undefined);
      }
    }
    const into = dma.strict.readInto;
    if (into === undefined) row("run.dma.strict.readInto", "6. device dmaReadInto 64 KiB, strict (not in this build)", "n/a", "—", undefined, undefined);
    else row("run.dma.strict.readInto", "6. device dmaReadInto 64 KiB, strict, vs Uint8Array set (throughput)", gbps(into.subjectNs), gbps(into.baselineNs), 1 / into.costRatio, [">=", 0.5]);
    const fresh = dma.strict.readFresh;
    row("run.dma.strict.readFresh", "6. (context) dmaRead, strict, vs new Uint8Array + set (both allocate)", gbps(fresh.subjectNs), gbps(fresh.baselineNs), 1 / fresh.costRatio, undefined);
  },
  checker({ sessions, packets, bench, example }) {
    row("run.checker.example", `7. examples/ring-nic.ts, dmaDebug "report" vs "off" (${sessions} hot-unplugs; per frame)`, ns(example.subjectNs), ns(example.baselineNs), example.costRatio, ["<", 1.5]);
    row("run.checker.bench", `7. bench ring NIC (ring.mjs), "report" vs "off" (${sessions}×${packets} packets; per packet)`, ns(bench.subjectNs), ns(bench.baselineNs), bench.costRatio, ["<", 1.5]);
  },
  // Issue 12's costs (streaming.mjs). Cost ratios: subject time over baseline time, per op.
  streamSingle(s) {
    const cost = (id, label, x) => row(`run.stream.${id}`, `8. ${label}`, ns(x.subjectNs), ns(x.baselineNs), x.costRatio, undefined);
    for (const key of ["small", "large"]) {
      const size = kib(s.sizes[key]).replace(".0 ", " ");
      const x = s[key];
      cost(`single.${key}`, `map + syncForCpu + syncForDevice + unmap, ${size}, vs Uint8Array set of ${size} (per cycle)`, x.api);
      cost(`single.${key}.off`, `(context) the same, dmaDebug "off"`, x.apiOff);
      cost(`rx.${key}`, `RX cycle ${size} (map, device dmaWrite, syncForCpu, read, unmap) vs Uint8Array set (per cycle)`, x.rx);
    }
    for (const [mode, what] of [
      ["bounce", "bounce (32-bit mask, passthrough)"],
      ["noncoherent", 'non-coherent (dmaCoherent: false)'],
    ]) {
      for (const key of ["small", "large"]) cost(`mode.${mode}.${key}`, `${what} vs plain, RX cycle ${kib(s.sizes[key]).replace(".0 ", " ")} (per cycle)`, s[key][mode]);
    }
  },
  streamSgPool({ entries, entry, sg, pool }) {
    row("run.stream.sg", `8. mapSg + unmap of ${entries} kmalloc buffers (${kib(entry)}) vs ${entries}× mapSingle + unmap, passthrough (${sg.plain.segments} segments; per table)`, ns(sg.plain.subjectNs), ns(sg.plain.baselineNs), sg.plain.costRatio, undefined);
    row("run.stream.sg.strict", `8. (context) the same under a strict IOMMU (${sg.strict.segments} segments)`, ns(sg.strict.subjectNs), ns(sg.strict.baselineNs), sg.strict.costRatio, undefined);
    row("run.stream.pool", `8. DMA pool alloc + free (${pool.blockSize}-byte blocks) vs allocCoherent + free of ${pool.blockSize} bytes (per pair)`, ns(pool.subjectNs), ns(pool.baselineNs), pool.costRatio, undefined);
  },
  streamNic({ sessions, packets, checker, checkerStrict, bounce, noncoherent }) {
    const perPacket = (x) => [ns(x.subjectNs), ns(x.baselineNs), x.costRatio];
    row("run.stream.checker", `8. streaming NIC (stream-nic.mjs), dmaDebug "report" vs "off" (${sessions}×${packets} packets; per packet)`, ...perPacket(checker), ["<=", 1.5]);
    row("run.stream.checker.strict", "8. (context) the same under a strict IOMMU", ...perPacket(checkerStrict), undefined);
    row("run.stream.mode.bounce.nic", "8. bounce (32-bit mask) vs plain, streaming NIC (per packet)", ...perPacket(bounce), undefined);
    row("run.stream.mode.noncoherent.nic", "8. non-coherent vs plain, streaming NIC (per packet)", ...perPacket(noncoherent), undefined);
  },
  // Issue 13 (subsys.mjs): a subsystem call against a direct call of the same op.
  subsysCall(x) {
    row("run.subsys.call", "9. netdev transmit through the stack (socket.send → registration → op) vs a direct call of the op (per packet)", ns(x.subjectNs), ns(x.baselineNs), x.costRatio, ["<=", 3]);
  },
  // Issue 13 (tree.mjs): one unplug of a parent with its children against as many separate unplugs.
  treeUnplug(x) {
    row("run.tree.unplug", `9. unplug of a parent with ${x.children} children (deepest first) vs ${x.children} separate unplugs (all removals)`, ns(x.subjectNs), ns(x.baselineNs), x.costRatio, undefined);
  },
  // Issue 13 (irq.mjs): a vector raised by the device against a direct call of its handler.
  irqDispatch({ vectors, results }) {
    for (const count of vectors) {
      const x = results[count];
      row(`run.irq.dispatch.${count}`, `9. IRQ dispatch, ${count} MSI-X vector${count === 1 ? "" : "s"} round-robin (raiseMsi → handler) vs a direct call of the handler (per interrupt)`, ns(x.subjectNs), ns(x.baselineNs), x.costRatio, undefined);
    }
  },
  // Issue 14 (sim.mjs): the example ring NIC on the machine against the same protocol in plain JavaScript.
  simOverhead(x) {
    const perPacket = (c) => [ns(c.subjectNs), ns(c.baselineNs), c.costRatio];
    row("run.sim.ringNic", "10. examples/ring-nic.ts on the simulator vs the same ring protocol in plain JavaScript, no library (per packet)", ...perPacket(x.default), undefined);
    row("run.sim.ringNic.checkerOff", '10. (context) the same, dmaDebug "off"', ...perPacket(x.checkerOff), undefined);
  },
  // Issue 14 (explore.mjs): the explorer's schedules per second on ring-nic against bare runs of the scenario.
  exploreRate({ schedules, planned, rate, overhead }) {
    const perSecond = (n) => `${int(1e9 / n)}/s`;
    row("run.explore.ringNic", `10. explore(ring-nic), systematic, ${schedules} of ${int(planned)} schedules: schedules/s vs bare runs/s of the scenario (cost per run)`, perSecond(rate.subjectNs), perSecond(rate.baselineNs), rate.costRatio, undefined);
    row("run.explore.ringNic.clean", "10. (context) one clean schedule (replay, nothing injected) vs one bare run of the scenario (per run)", ns(overhead.subjectNs), ns(overhead.baselineNs), overhead.costRatio, undefined);
  },
};

async function bundleRows() {
  log("bundle: esbuild");
  const b = await bundleBench();
  const size = (x) => `${kib(x.bytes)} (${kib(x.gzip)} gz)`;
  row("bundle.library", `bundle: whole library, minified ESM (${b.library.modules.length} modules)`, size(b.library), "—", undefined, undefined);
  row("bundle.driver", `bundle: a driver on the core only (${b.driver.modules.length} modules) vs library, gzip`, size(b.driver), size(b.library), b.driver.gzip / b.library.gzip, ["<", 1]);
  row("bundle.driverAndMachine", `bundle: that driver plus a Machine (${b.driverAndMachine.modules.length} modules) vs library, gzip`, size(b.driverAndMachine), size(b.library), b.driverAndMachine.gzip / b.library.gzip, ["<", 1]);
  row("bundle.dependencies", "runtime dependencies", String(b.dependencies), "—", b.dependencies, ["<=", 0]);
}

// ---------------------------------------------------------------------- main

freshDist();
// runtime.mjs loads dist/ as it is imported: only once dist/ is current.
const { runCase } = await import("./runtime.mjs");
mkdirSync(join(root, ".tmp/bench"), { recursive: true });
const work = mkdtempSync(join(root, ".tmp/bench/run-"));
const started = Date.now();
const loadBefore = os.loadavg()[0];
/** Runs a section; a section that breaks is one ERROR row, and the others still run. */
const section = (id, run) => async () => {
  if (!wanted(id === "run" ? "runtime" : id)) return;
  try {
    await run();
  } catch (error) {
    broken(id, error);
  }
};
const compile = section("compile", () => compileRows(work));
const rest = async () => {
  await section("run", runtimeRows)();
  await section("bundle", bundleRows)();
};
try {
  // Quick mode overlaps the compilers with the rest: its times mean nothing.
  if (quick) await Promise.all([compile(), rest()]);
  else {
    await compile();
    await rest();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const cpu = os.cpus();
const header = `${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${cpu[0]?.model.trim() ?? "unknown CPU"} · ${cpu.length} cores · load ${fixed(loadBefore, 1)} at start, ${fixed(os.loadavg()[0], 1)} at end · ${quick ? "QUICK MODE (tiny sizes; timings mean nothing)" : "full run"} · ${fixed((Date.now() - started) / 1000, 0)} s`;
// Sections may finish in any order (quick mode overlaps them): print in a fixed one.
const ORDER = ["compile", "run", "bundle"];
rows.sort((a, b) => ORDER.indexOf(a.id.split(".")[0]) - ORDER.indexOf(b.id.split(".")[0]));
const table = [["Figure", "boundscope", "Baseline", "Ratio", "Target", "Result"]];
for (const r of rows) {
  const target = r.target === undefined ? "report" : `${r.target[0] === "<=" ? "≤" : r.target[0] === ">=" ? "≥" : "<"} ${r.target[1]}${r.id === "bundle.dependencies" ? "" : "×"}`;
  const ratio = r.ratio === undefined ? "—" : r.id === "bundle.dependencies" ? String(r.ratio) : `${fixed(r.ratio, 2)}×`;
  const result = r.error ? "ERROR" : r.met === undefined ? "—" : quick ? (r.met ? "(met)" : "(missed)") : r.met ? "met" : "**missed**";
  table.push([r.label, r.figure, r.baseline, ratio, target, result]);
}
const widths = table[0].map((_, i) => Math.max(...table.map((cells) => cells[i].length)));
const line = (cells) => `| ${cells.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
console.log(header);
console.log();
console.log(line(table[0]));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const cells of table.slice(1)) console.log(line(cells));
const missed = rows.filter((r) => r.met === false && !r.error).length;
console.log();
console.log(`${rows.length} figures; ${rows.filter((r) => r.met === true).length} targets met, ${missed} missed${quick ? " (quick mode: not meaningful)" : ""}.`);

if (jsonPath !== undefined) writeFileSync(jsonPath, JSON.stringify({ header, quick, rows }, null, 2));
process.exit(rows.some((r) => r.error) ? 1 : 0);
