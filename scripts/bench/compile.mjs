// Compile-time cost: N synthetic drivers type-checked against boundscope's
// emitted .d.ts and against control.d.ts (the same API, no brands, scopes or
// variance), by TypeScript 6 and 7, with --extendedDiagnostics.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { collect } from "../lib/child.mjs";
import { root } from "../lib/paths.mjs";
import { pool } from "../lib/pool.mjs";
import { median } from "./lib.mjs";

export const COMPILERS = {
  "TS 6": join(root, "node_modules/typescript6/bin/tsc"),
  "TS 7": join(root, "node_modules/typescript/bin/tsc"),
};
// TS 7 on one thread: one checker, as in TS 6. By default it runs four, each
// counting the types it shares with the others again, and their check time is
// a race of threads on this shared 2-core box.
const EXTRA_FLAGS = { "TS 6": [], "TS 7": ["--singleThreaded"] };

export const VARIANTS = {
  boundscope: join(root, "dist/index.d.ts"),
  control: join(root, "scripts/bench/control.d.ts"),
};

/** One synthetic driver: the shape issue 6 asks for, with per-file names. */
export function driverSource(i) {
  return `import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, requestIrq, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation, DriverInstance, IoMapping, IrqHandle, ProbeDevice } from "boundscope";

const CTRL = 0x00;
const STATUS = 0x04;
const IRQ_ACK = 0x08;
const RING_LO = 0x10;
const RING_HI = 0x14;
const DESC_SIZE = 16;

interface Stats${i} {
  packets: number;
  bytes: number;
  errors: number;
}

/** Generic helpers: they take the token and stay in its scope. */
function ring${i}<Scope>(dev: BoundDevice<Scope>, entries: number): CoherentAllocation<Scope> {
  const ring = allocCoherent(dev, entries * DESC_SIZE);
  ring.bytes(dev).fill(0);
  return ring;
}

function program${i}<Scope>(dev: BoundDevice<Scope>, regs: IoMapping<Scope>, ring: CoherentAllocation<Scope>): void {
  regs.write32(dev, RING_LO, Number(ring.dmaHandle & 0xffff_ffffn));
  regs.write32(dev, RING_HI, Number(ring.dmaHandle >> 32n));
}

function count${i}<Scope>(dev: BoundDevice<Scope>, stats: Devres<Scope, Stats${i}>, status: number): number {
  const s = stats.access(dev);
  s.packets += status & 0xff;
  s.errors += (status >>> 8) & 0xff;
  return s.packets;
}

function descriptor${i}<Scope>(dev: BoundDevice<Scope>, ring: CoherentAllocation<Scope>, index: number): [bigint, number] {
  const view = ring.view(dev);
  return [view.getBigUint64(index * DESC_SIZE, true), view.getUint32(index * DESC_SIZE + 8, true)];
}

export class Nic${i}<Scope> implements DriverInstance<Scope> {
  readonly irq: IrqHandle<Scope>;

  constructor(
    dev: ProbeDevice<Scope>,
    private readonly regs: IoMapping<Scope>,
    private readonly tx: CoherentAllocation<Scope>,
    private readonly rx: CoherentAllocation<Scope>,
    private readonly scratch: CoherentAllocation<Scope>,
    private readonly stats: Devres<Scope, Stats${i}>,
  ) {
    this.irq = requestIrq(dev, (dev) => this.interrupt(dev));
  }

  interrupt(dev: BoundDevice<Scope>): void {
    const status = this.regs.read32(dev, STATUS);
    const done = count${i}(dev, this.stats, status);
    const [addr, len] = descriptor${i}(dev, this.rx, done % 256);
    this.scratch.view(dev).setBigUint64(0, addr, true);
    this.stats.access(dev).bytes += len;
    this.regs.write32(dev, IRQ_ACK, status);
  }

  remove(dev: ProbeDevice<Scope>): void {
    this.regs.write32(dev, CTRL, 0);
    this.tx.bytes(dev).fill(0);
  }
}

export const driver${i} = defineDriver({
  name: "synthetic-${i}",
  ids: [{ vendor: 0x1af4, device: ${i} }],
  probe(dev) {
    setDmaMask(dev, 64);
    enableBusMaster(dev);
    const regs = iomap(dev, 0);
    const tx = ring${i}(dev, 256);
    const rx = ring${i}(dev, 256);
    const scratch = allocCoherent(dev, 4096);
    const stats = Devres.new(dev, { packets: 0, bytes: 0, errors: 0 } satisfies Stats${i}, (s) => void s.packets);
    program${i}(dev, regs, tx);
    program${i}(dev, regs, rx);
    regs.write32(dev, CTRL, 1);
    return new Nic${i}(dev, regs, tx, rx, scratch, stats);
  },
});
`;
}

function indexSource(n) {
  const lines = ['import { Machine } from "boundscope";'];
  for (let i = 0; i < n; i++) lines.push(`import { driver${i} } from "./driver${i}.js";`);
  lines.push("", "export async function registerAll(machine: Machine): Promise<void> {");
  for (let i = 0; i < n; i++) lines.push(`  await machine.pci.register(driver${i});`);
  lines.push("}", "");
  return lines.join("\n");
}

/** Writes the N drivers once, and one tsconfig per variant that maps "boundscope" to it. */
export function generate(dir, n) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "src"), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, "src", `driver${i}.ts`), driverSource(i));
  writeFileSync(join(dir, "src", "index.ts"), indexSource(n));
  for (const [variant, types] of Object.entries(VARIANTS)) {
    const config = {
      compilerOptions: {
        target: "es2022",
        module: "esnext",
        moduleResolution: "bundler",
        lib: ["es2022", "esnext.disposable"],
        types: [],
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        paths: { boundscope: [types] },
      },
      include: ["src"],
    };
    writeFileSync(join(dir, `tsconfig.${variant}.json`), JSON.stringify(config, null, 2));
  }
}

const FIELDS = {
  Symbols: "symbols",
  Types: "types",
  Instantiations: "instantiations",
  "Memory used": "memoryKiB",
  "Check time": "checkSeconds",
  "Total time": "totalSeconds",
};

/** Type-checks one project; returns the --extendedDiagnostics figures and the wall time. */
export async function typecheck(compiler, dir, variant, extra = []) {
  const run = await collect(process.execPath, [COMPILERS[compiler], "-p", join(dir, `tsconfig.${variant}.json`), "--extendedDiagnostics", ...EXTRA_FLAGS[compiler], ...extra]);
  if (run.status !== 0) throw new Error(`${compiler} ${variant} in ${dir} did not type-check:\n${run.stdout}${run.stderr}`);
  const out = run.stdout;
  const result = { wallSeconds: run.seconds };
  for (const line of out.split("\n")) {
    const m = /^([A-Za-z ]+):\s+([\d.]+)(K|s)?\s*$/.exec(line.trim());
    if (m && FIELDS[m[1]] !== undefined) result[FIELDS[m[1]]] = Number(m[2]);
  }
  for (const key of Object.values(FIELDS)) {
    if (result[key] === undefined) throw new Error(`${compiler}: no "${key}" in --extendedDiagnostics output:\n${out}`);
  }
  return result;
}

/**
 * Every compile-time figure. Counts are deterministic, so they come from the
 * first run; times are medians over `rounds` runs (a number, or a function of
 * the driver count and the compiler), boundscope and control alternating. `parallel` > 1 overlaps runs: only for quick mode, where the
 * times mean nothing anyway.
 */
export async function compileBench({ sizes, rounds, workDir, parallel = 1, log }) {
  const jobs = [];
  const roundsOf = (n, compiler) => (typeof rounds === "function" ? rounds(n, compiler) : rounds);
  for (const n of sizes) generate(join(workDir, `drivers-${n}`), n);
  // Round-robin over sizes as well as variants, so the growth ratio (one size
  // against another) sees the same machine load as the control ratio does.
  for (const compiler of Object.keys(COMPILERS)) {
    for (let r = 0; r < Math.max(...sizes.map((n) => roundsOf(n, compiler))); r++) {
      for (const n of sizes) {
        if (r >= roundsOf(n, compiler)) continue;
        const dir = join(workDir, `drivers-${n}`);
        // Alternate which goes first, so neither always runs on a warmer machine.
        for (const variant of r % 2 === 0 ? ["boundscope", "control"] : ["control", "boundscope"]) jobs.push({ n, dir, compiler, variant });
      }
    }
  }
  const runs = {};
  const run = (job) => async () => {
    const key = `${job.compiler}/${job.variant}/${job.n}`;
    (runs[key] ??= []).push(await typecheck(job.compiler, job.dir, job.variant));
    if (job === jobs.findLast((j) => j.compiler === job.compiler)) log?.(`compile: ${job.compiler} done`);
  };
  await pool(jobs.map(run), parallel);
  const results = {};
  for (const [key, list] of Object.entries(runs)) {
    results[key] = {
      symbols: list[0].symbols,
      types: list[0].types,
      instantiations: list[0].instantiations,
      memoryKiB: median(list.map((x) => x.memoryKiB)),
      checkSeconds: median(list.map((x) => x.checkSeconds)),
      wallSeconds: median(list.map((x) => x.wallSeconds)),
    };
  }
  return results;
}
