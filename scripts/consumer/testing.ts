// A consumer's use of `boundscope/testing`, compiled against the packed
// package under every compiler and module resolution of the matrix
// (scripts/consumer-test.mjs), with `types: []`: the testing entry's public
// types must name no Node type. Then run by node, to "consumer testing ok".
import { defineDriver, Machine } from "boundscope";
import {
  assertClean,
  checkMachine,
  defineScenario,
  explore,
  findTypeScripts,
  formatTypeTestReport,
  runTypeTests,
  runTypeTestSelftest,
  tellStory,
} from "boundscope/testing";
import type { ExploreReport, Scenario, TypeScriptInstall, TypeTestFailure, TypeTestOptions, TypeTestReport } from "boundscope/testing";

// The consumer project has no @types/node: the package must not need it.
declare const console: { log(...values: unknown[]): void };

const driver = defineDriver({ name: "consumer-testing", ids: [{ vendor: 0x1234, device: 0x7e57 }], probe: () => ({}) });

export const scenario: Scenario = defineScenario({
  name: "consumer-testing",
  setup: async (machine: Machine) => {
    await machine.pci.register(driver);
    machine.pci.plug({ vendor: 0x1234, device: 0x7e57 });
  },
});

/** A CI step written against the runner's types alone. */
export async function typeTestsInCi(options: TypeTestOptions): Promise<readonly string[]> {
  const report: TypeTestReport = await runTypeTests(options);
  const lines = report.failures.map((f: TypeTestFailure) => `${f.file}:${f.line ?? 1}: ${f.kind}`);
  return report.ok ? [] : [...lines, formatTypeTestReport(report)];
}

export const explored: (s: Scenario) => Promise<ExploreReport> = (s) => explore(s, { budget: 1 });
export const compilers: () => readonly TypeScriptInstall[] = findTypeScripts;

const machine = new Machine();
await scenario.setup(machine);
await machine.settled();
if (checkMachine(machine).length !== 0) throw new Error(`a clean machine reports ${checkMachine(machine).join("; ")}`);
assertClean(machine);
if (typeof tellStory(machine) !== "string") throw new Error("tellStory returned no story");
for (const fn of [runTypeTests, runTypeTestSelftest, formatTypeTestReport, findTypeScripts]) {
  if (typeof fn !== "function") throw new Error("a type-test runner export is missing at run time");
}
console.log("consumer testing ok");
