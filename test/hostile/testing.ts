/**
 * Hostile input for what the lifecycle explorer stands on and for the
 * explorer itself: the machine's `faultInjection` and `dmaLimitBits`
 * options, `bus.bind`, and `boundscope/testing`'s `defineScenario`,
 * `explore` and `replay`. Bad options and schedules are refused by code
 * before anything runs; a scenario that throws is a failure the report
 * tells, never an exception out of `explore`.
 */

import { expect } from "vitest";
import { Machine } from "../../src/index.js";
import type { MachineOptions } from "../../src/index.js";
import { defineScenario, explore, replay } from "../../src/testing/index.js";
import type { ExploreOptions, Scenario } from "../../src/testing/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const EINVAL = { code: "EINVAL" } as const;

/** The smallest scenario there is: nothing to set up. */
const empty: Scenario = { name: "empty", setup: () => {} };

const rows: Row[] = [];

for (const [input, dmaLimitBits] of [
  ["`{ dmaLimitBits: 23 }` (no bus is that narrow)", 23],
  ["`{ dmaLimitBits: 65 }`", 65],
  ["`{ dmaLimitBits: 32.5 }`", 32.5],
  ['`{ dmaLimitBits: "32" }`', "32"],
  ["`{ dmaLimitBits: null }`", null],
] as const) {
  rows.push({ entry: "new Machine(options)", input, outcome: EINVAL, act: () => new Machine(any<MachineOptions>({ dmaLimitBits })) });
}
for (const [input, faultInjection] of [
  ["`{ faultInjection: null }`", null],
  ["`{ faultInjection: 42 }`", 42],
  ["`{ faultInjection: { point: 1 } }`", { point: 1 }],
  ['`{ faultInjection: { shouldFail: "yes" } }`', { shouldFail: "yes" }],
] as const) {
  rows.push({ entry: "new Machine(options)", input, outcome: EINVAL, act: () => new Machine(any<MachineOptions>({ faultInjection })) });
}

for (const [input, outcome, act] of [
  ["a bound device", { code: "EBUSY" }, (rig: Rig) => rig.machine.pci.bind(rig.a.dev)],
  ["an unplugged device", EINVAL, (rig: Rig) => rig.machine.pci.bind(rig.zombie)],
  ["another machine's device", EINVAL, (rig: Rig) => rig.machine.pci.bind(rig.foreign.dev)],
  ["`{}` (not a device)", EINVAL, (rig: Rig) => rig.machine.pci.bind(any({}))],
] as const) {
  rows.push({ entry: "machine.pci.bind(dev)", input, outcome, act });
}

const badScenarios = [
  ["`null`", null],
  ['`{ name: "" }`', { name: "", setup: () => {} }],
  ["no setup", { name: "x" }],
  ["`setup: 1`", { name: "x", setup: 1 }],
  ['`workload: "go"`', { name: "x", setup: () => {}, workload: "go" }],
  ["`invariants: [1]`", { name: "x", setup: () => {}, invariants: [1] }],
  ["`machine: null`", { name: "x", setup: () => {}, machine: null }],
] as const;
for (const [input, scenario] of badScenarios) {
  rows.push({ entry: "defineScenario(scenario)", input, outcome: EINVAL, act: () => defineScenario(any<Scenario>(scenario)) });
}
rows.push({ entry: "explore(scenario, options)", input: "scenario `null`", outcome: EINVAL, act: () => explore(any<Scenario>(null)) });

for (const [input, options] of [
  ["`null`", null],
  ["`{ budget: 0 }`", { budget: 0 }],
  ["`{ budget: 1.5 }`", { budget: 1.5 }],
  ['`{ budget: "10" }`', { budget: "10" }],
  ['`{ mode: "all" }`', { mode: "all" }],
  ["`{ seed: NaN }`", { seed: Number.NaN }],
  ['`{ injections: ["explode"] }`', { injections: ["explode"] }],
  ["`{ iommu: [] }`", { iommu: [] }],
  ['`{ iommu: ["none"] }`', { iommu: ["none"] }],
  ["`{ dmaLimitBits: [16] }`", { dmaLimitBits: [16] }],
  ["`{ workers: 2 }` with no module", { workers: 2 }],
  ["`{ workers: 0 }`", { workers: 0 }],
  ['`{ exportName: "" }`', { exportName: "" }],
  ['`{ minimize: "yes" }`', { minimize: "yes" }],
] as const) {
  rows.push({ entry: "explore(scenario, options)", input: `options ${input}`, outcome: EINVAL, act: () => explore(empty, any<ExploreOptions>(options)) });
}
rows.push({
  entry: "explore(scenario, options)",
  input: "a scenario whose setup throws",
  outcome: { ignored: true },
  note: "the first clean schedule fails, and the report tells the error",
  act: async () => {
    const report = await explore({ name: "throws", setup: () => Promise.reject(new Error("no device model")) }, { budget: 5 });
    expect(report.ok).toBe(false);
    expect(report.failure?.problems).toEqual(["setup threw: no device model"]);
  },
});

for (const [input, schedule] of [
  ['`""`', ""],
  ["`42`", 42],
  ['`"iommu=strict"` (no limit)', "iommu=strict"],
  ['`"iommu=strict;limit=16"`', "iommu=strict;limit=16"],
  ['`"iommu=strict;limit=none;unplug:0@0"` (points count from 1)', "iommu=strict;limit=none;unplug:0@0"],
  ['`"iommu=strict;limit=none;fail-alloc#0"`', "iommu=strict;limit=none;fail-alloc#0"],
  ['`"iommu=x;limit=none"`', "iommu=x;limit=none"],
  ['`"iommu=strict;limit=none;explode"`', "iommu=strict;limit=none;explode"],
] as const) {
  rows.push({ entry: "replay(scenario, schedule)", input, outcome: EINVAL, act: () => replay(empty, any<string>(schedule)) });
}

export { rows };

export const entries: string[] = ["machine.pci.bind(dev)", "defineScenario(scenario)", "explore(scenario, options)", "replay(scenario, schedule)"];
