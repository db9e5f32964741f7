/**
 * The bench harness (`npm run bench`) must not rot: its quick mode runs every
 * code path on tiny sizes and prints every row. No timing is asserted here;
 * benchmarks are not tests.
 */

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;

/** Every figure issues 6, 12, 13 and 14 ask for, by the bench's row id. */
const compileRows = ["ts6", "ts7"].flatMap((compiler) => [
  ...["instantiations", "types", "symbols", "checkSeconds", "wallSeconds", "memoryKiB"].map((metric) => `compile.${compiler}.nL.${metric}`),
  ...["nS", "nM"].flatMap((size) => ["instantiations", "checkSeconds"].map((metric) => `compile.${compiler}.${size}.${metric}`)),
  `compile.${compiler}.growth.instantiations`,
  `compile.${compiler}.growth.checkSeconds`,
  `compile.${compiler}.growth.control`,
]);
const runtimeRows = [
  "run.bulk.bytes",
  "run.bulk.view",
  "run.bulk.noise",
  "run.calls.bytes",
  "run.calls.access",
  "run.calls.read32",
  "run.calls.read32.field",
  "run.alloc.throughput",
  "run.alloc.likeForLike",
  "run.alloc.fragmentation",
  "run.alloc.scaling",
  "run.alloc.scaling.host",
  "run.capacity.start",
  "run.capacity.rss",
  "run.capacity.heap",
  "run.lifecycle.base",
  "run.lifecycle.mid",
  "run.lifecycle.large",
  "run.dma.strict.write",
  "run.dma.strict.read",
  "run.dma.passthrough.write",
  "run.dma.passthrough.read",
  "run.dma.strict.readInto",
  "run.dma.strict.readFresh",
  "run.checker.example",
  "run.checker.bench",
  // Issue 12's costs.
  ...["small", "large"].flatMap((size) => [`run.stream.single.${size}`, `run.stream.single.${size}.off`, `run.stream.rx.${size}`]),
  ...["bounce", "noncoherent"].flatMap((mode) => ["small", "large"].map((size) => `run.stream.mode.${mode}.${size}`)),
  "run.stream.sg",
  "run.stream.sg.strict",
  "run.stream.pool",
  "run.stream.checker",
  "run.stream.checker.strict",
  "run.stream.mode.bounce.nic",
  "run.stream.mode.noncoherent.nic",
  // Issue 13's costs.
  "run.subsys.call",
  "run.tree.unplug",
  ...[1, 2, 8, 32].map((count) => `run.irq.dispatch.${count}`),
  // Issue 14's costs.
  "run.sim.ringNic",
  "run.sim.ringNic.checkerOff",
  "run.explore.ringNic",
  "run.explore.ringNic.clean",
];
const bundleRows = ["bundle.library", "bundle.driver", "bundle.driverAndMachine", "bundle.dependencies"];

interface Row {
  readonly id: string;
  readonly label: string;
  readonly figure: string;
  readonly baseline: string;
  readonly ratio?: number;
  readonly target?: readonly [string, number];
  readonly error?: boolean;
}

describe("the bench harness (npm run bench)", () => {
  it("in quick mode exits 0 and prints every row of the table, each with a figure", { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-smoke-"));
    try {
      const json = join(dir, "rows.json");
      const { stdout } = await promisify(execFile)(process.execPath, ["scripts/bench/index.mjs", "--quick", "--json", json], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 16 << 20,
      });
      const { rows } = JSON.parse(readFileSync(json, "utf8")) as { rows: Row[] };
      const ids = rows.map((row) => row.id);
      expect(rows.filter((row) => row.error)).toEqual([]);
      expect(ids).toEqual([...compileRows, ...runtimeRows, ...bundleRows]);
      for (const row of rows) {
        expect(stdout).toContain(`| ${row.label} `);
        expect(row.figure).not.toBe("");
        // A row with a target has a ratio to hold against it.
        if (row.target !== undefined) expect(Number.isFinite(row.ratio)).toBe(true);
      }
      expect(stdout).toMatch(/^\d+ figures; \d+ targets met, \d+ missed/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("compares against a control that declares every name the package exports", () => {
    const index = readFileSync(join(root, "src/index.ts"), "utf8");
    const control = readFileSync(join(root, "scripts/bench/control.d.ts"), "utf8");
    const names = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1]!.split(",").map((name) => name.trim()));
    const missing = names.filter((name) => name !== "" && !new RegExp(`\\b(?:interface|type|class|function) ${name}\\b`).test(control));
    expect(missing).toEqual([]);
  });
});
