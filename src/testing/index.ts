/**
 * `boundscope/testing`: tools for driver authors to prove their own drivers
 * in their own CI. A lifecycle explorer that runs a driver on fresh machines
 * under many schedules (unplug, unbind and rebind at every injection point,
 * the Nth allocation, mapping or IRQ request failing, both IOMMU modes,
 * narrow DMA limits) and tells the first failing schedule as a story;
 * assertions for any test runner; and the type-test runner behind the
 * `boundscope-typetest` CLI.
 *
 * Kernel: the fault-injection framework (`failslab`, `fail_page_alloc`),
 * KUnit's assertions, and what syzkaller does for whole kernels, aimed at one
 * driver's lifecycle.
 *
 * Layer 8: above the whole package (it imports `src/index.ts` and
 * `src/machine.ts`); nothing in the library imports it. It is the only
 * place in `src/` that may use Node built-ins (worker threads, the file
 * system, child processes), and its public types never name one, so a
 * consumer compiles it without `@types/node`.
 *
 * @module
 */

// The lifecycle explorer
export { defineScenario, explore, replay } from "./explore.js";
export type { ExploreOptions, ExploreReport, InjectionKind, Scenario, ScheduleFailure } from "./explore.js";

// Assertions for any test runner, and the story their messages tell
export { assertClean, assertIrqsFreed, assertNoHungUnbind, assertNoViolations, assertPoolEmpty, checkMachine, DriverAssertionError, watchUnhandledRejections } from "./assert.js";
export type { UnhandledRejections } from "./assert.js";
export { tellStory } from "./story.js";
export type { StoryMark } from "./story.js";

// The type-test runner behind the `boundscope-typetest` CLI
export { findTypeScripts, loadTypeScripts } from "./typetest/compilers.js";
export type { TypeScriptInstall } from "./typetest/compilers.js";
export type { FixtureKind, TypeTestFailureKind } from "./typetest/fixture.js";
export { formatTypeTestReport } from "./typetest/format.js";
export type { TypeTestFormatOptions } from "./typetest/format.js";
export { runTypeTests } from "./typetest/run.js";
export type { TypeTestConfiguration, TypeTestFailure, TypeTestFixture, TypeTestMarkerResult, TypeTestOptions, TypeTestReport } from "./typetest/run.js";
export { runTypeTestSelftest } from "./typetest/selftest.js";
export type { TypeTestSelftestOptions } from "./typetest/selftest.js";
