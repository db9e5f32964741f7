/**
 * The layer rules (.dependency-cruiser.cjs, run by scripts/check-layers.mjs in
 * `npm test`) can fail: a fixture tree that breaks each rule once is cruised
 * with the same configuration, and every break must be reported under its
 * rule's name, and nothing else. Then the real src/ must have no violation.
 */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cruiseLayers, formatViolation } from "../scripts/check-layers.mjs";
import type { Violation } from "../scripts/check-layers.mjs";

/** The fixture: file name -> contents. src/index.ts reaches every file that is meant to be reachable. */
const fixture: Record<string, string> = {
  "tsconfig.json": JSON.stringify({
    compilerOptions: { module: "nodenext", moduleResolution: "nodenext", paths: { boundscope: ["./src/index.ts"] } },
    include: ["src"],
  }),
  "package.json": JSON.stringify({ name: "fixture", type: "module", devDependencies: { "fake-dep": "1.0.0" } }),
  "node_modules/fake-dep/package.json": JSON.stringify({ name: "fake-dep", version: "1.0.0", main: "index.js" }),
  "node_modules/fake-dep/index.js": "export const x = 1;\n",
  "test/helper.ts": "export const helper = 1;\n",

  // Clean: each layer importing itself and the layers below, values and types.
  "src/internal/error.ts": "export class Oops extends Error {}\n",
  "src/driver/device.ts": 'import { Oops } from "../internal/error.js";\nexport const device = new Oops();\n',
  "src/core/bus.ts": 'import type { Oops } from "../internal/error.js";\nimport { device } from "../driver/device.js";\nexport const bus: Oops = device;\n',
  "src/sim/memory.ts": 'import { bus } from "../core/bus.js";\nexport const memory = bus;\n',
  "src/observe/trace.ts": 'import { memory } from "../sim/memory.js";\nexport const trace = memory;\n',
  "src/machine.ts": 'import { trace } from "./observe/trace.js";\nexport const machine = trace;\n',

  // Layer 2 imports layer 4.
  "src/driver/up-to-sim.ts": 'import { memory } from "../sim/memory.js";\nexport const up = memory;\n',
  // Layer 1 imports layer 2, type-only.
  "src/internal/up-to-driver.ts": 'import type { device } from "../driver/device.js";\nexport type Up = typeof device;\n',
  // A two-file cycle, type-only both ways.
  "src/observe/cycle-a.ts": 'import type { B } from "./cycle-b.js";\nexport interface A { b?: B }\n',
  "src/observe/cycle-b.ts": 'import type { A } from "./cycle-a.js";\nexport interface B { a?: A }\n',
  // The other rules, once each.
  "src/core/up-to-observe.ts": 'export { trace } from "../observe/trace.js";\n',
  "src/sim/up-to-observe.ts": 'import type { trace } from "../observe/trace.js";\nexport type T = typeof trace;\n',
  "src/observe/up-to-machine.ts": 'import { machine } from "../machine.js";\nexport const m = machine;\n',
  "src/observe/to-entry.ts": 'import type { Up } from "boundscope";\nexport type E = Up;\n',
  "src/unlayered.ts": "export const loose = 1;\n",
  "src/sim/to-unlayered.ts": 'import { loose } from "../unlayered.js";\nexport const l = loose;\n',
  "src/sim/to-missing.ts": 'import { gone } from "./missing.js";\nexport const g = gone;\n',
  "src/sim/orphan.ts": "export const alone = 1;\n",
  "src/index.ts": [
    'export * from "./machine.js";',
    'export * from "./driver/up-to-sim.js";',
    'export type * from "./internal/up-to-driver.js";',
    'export type * from "./observe/cycle-a.js";',
    'export * from "./core/up-to-observe.js";',
    'export type * from "./sim/up-to-observe.js";',
    'export * from "./observe/up-to-machine.js";',
    'export type * from "./observe/to-entry.js";',
    'export * from "./sim/to-unlayered.js";',
    'export * from "./sim/to-missing.js";',
    'export * from "./top-imports.js";',
    "",
  ].join("\n"),
  // src/index.ts and src/machine.ts may import any layer, but nothing from outside src/.
  "src/top-imports.ts": [
    'import { readFileSync } from "node:fs";',
    'import { x } from "fake-dep";',
    'import { helper } from "../test/helper.js";',
    'import pkg from "../package.json" with { type: "json" };',
    "export const all = [readFileSync, x, helper, pkg];",
    "",
  ].join("\n"),
};

/** Every violation the fixture must produce: rule, from, to (or the cycle's start). */
const expected: Array<[rule: string, from: string, to: string]> = [
  ["driver-not-to-core-sim-observe", "src/driver/up-to-sim.ts", "src/sim/memory.ts"],
  ["internal-imports-only-internal", "src/internal/up-to-driver.ts", "src/driver/device.ts"],
  ["no-circular", "src/observe/cycle-a.ts", "src/observe/cycle-b.ts"],
  ["core-not-to-sim-observe", "src/core/up-to-observe.ts", "src/observe/trace.ts"],
  ["sim-not-to-observe", "src/sim/up-to-observe.ts", "src/observe/trace.ts"],
  ["observe-not-to-top", "src/observe/up-to-machine.ts", "src/machine.ts"],
  ["machine-only-from-index", "src/observe/up-to-machine.ts", "src/machine.ts"],
  ["observe-not-to-top", "src/observe/to-entry.ts", "src/index.ts"],
  ["not-to-index", "src/observe/to-entry.ts", "src/index.ts"],
  // index.ts -> to-entry.ts -> index.ts is a (type-only) cycle too. A cycle is reported once.
  ["no-circular", "src/index.ts", "src/observe/to-entry.ts"],
  ["sim-not-to-observe", "src/sim/to-unlayered.ts", "src/unlayered.ts"],
  ["not-to-unlayered", "src/sim/to-unlayered.ts", "src/unlayered.ts"],
  ["not-to-unlayered", "src/index.ts", "src/top-imports.ts"],
  ["not-to-unresolvable", "src/sim/to-missing.ts", "./missing.js"],
  ["no-orphans", "src/sim/orphan.ts", "src/sim/orphan.ts"],
  ["no-node-builtins", "src/top-imports.ts", "fs"],
  ["no-npm-dependencies", "src/top-imports.ts", "node_modules/fake-dep/index.js"],
  ["not-to-test-scripts-examples", "src/top-imports.ts", "test/helper.ts"],
  ["only-to-src", "src/top-imports.ts", "test/helper.ts"],
  ["only-to-src", "src/top-imports.ts", "package.json"],
];

const key = (v: Pick<Violation, "rule" | "from" | "to">): string => `${v.rule}: ${v.from} -> ${v.to}`;

describe("layer rules (dependency-cruiser)", () => {
  let base: string;
  let found: Violation[];

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), "boundscope-layers-"));
    for (const [file, text] of Object.entries(fixture)) {
      mkdirSync(dirname(join(base, file)), { recursive: true });
      writeFileSync(join(base, file), text);
    }
    ({ violations: found } = await cruiseLayers({ baseDir: base }));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it.each(expected)("%s is reported for %s -> %s", (rule, from, to) => {
    expect(found.map(key)).toContain(key({ rule, from, to }));
  });

  it("the type-only cycle is reported whole, and each break under its own rules only", () => {
    const cycle = found.find((v) => v.rule === "no-circular" && v.from === "src/observe/cycle-a.ts");
    expect(cycle?.cycle).toEqual(["src/observe/cycle-b.ts", "src/observe/cycle-a.ts"]);
    // Nothing else: the clean half of the fixture (every layer importing the ones below) passes.
    expect(found.map(key).sort()).toEqual(expected.map(([rule, from, to]) => key({ rule, from, to })).sort());
  });

  it("the real src/ has no violation", async () => {
    const { violations, modules } = await cruiseLayers();
    expect(modules).toBeGreaterThan(10);
    expect(violations.map(formatViolation)).toEqual([]);
  });
});
