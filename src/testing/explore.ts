/// <reference types="node" />
/**
 * The lifecycle explorer: runs a driver, its device model and a workload on
 * fresh machines under many schedules, each injecting an unplug, unbind or
 * rebind at one scheduling point, or failing the Nth allocation, mapping or
 * IRQ request, on both IOMMU modes and narrow DMA limits, and checks each
 * schedule's end (no violation, memory back to empty, no hung unbind, every
 * IRQ freed, no unhandled rejection, no driver callback that threw, the
 * scenario's own invariants). The
 * first failing schedule comes back minimized, replayable by one call, and
 * told as a story, with its Perfetto trace and virtual-time timeline.
 *
 * Kernel: the fault-injection framework (`failslab`, `fail_page_alloc`) and
 * what syzkaller does for a whole kernel, aimed at one driver's lifecycle,
 * deterministically.
 *
 * # How a schedule runs
 * 1. A fresh `Machine` with the schedule's IOMMU mode and DMA limit, and a
 *    `faultInjection` that counts scheduling points (`SchedulePoint`: each
 *    device event of the clock, each sleeping operation a driver awaits,
 *    each driver callback starting) and operations of each kind.
 * 2. `setup`, then `workload`. At the point an action names, the explorer
 *    queues the action as a microtask: it runs while the driver waits there.
 * 3. Every queue settles; `after-workload` invariants; every device is
 *    unplugged (`asyncDispose`); `after-teardown` invariants; the machine's
 *    checks (`checkMachine`).
 *
 * # Invariants
 * - Deterministic: a schedule's run depends only on the scenario and the
 *   schedule, so the same seed gives the same schedules and the same
 *   verdicts, and `replay` reproduces a report's failure.
 * - Systematic mode runs each configuration's clean schedule first, then
 *   every injected failure (by count, then kind, then configuration: each
 *   count its clean run reached), then every action at every point of the
 *   clean runs, on every device (by point, then kind, then configuration),
 *   up to the budget: a budget smaller than the space still reaches every
 *   configuration.
 * - The report's schedule is minimal in this sense: removing any one
 *   injection, or going back to passthrough with no DMA limit, makes it
 *   pass, and no action can move to an earlier point of those tried.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import { BoundscopeError, Machine } from "../index.js";
import type { ChromeTrace, IommuMode, MachineEvent, MachineOptions } from "../index.js";
import { describe, fail } from "../internal/error.js";
import { LOOK_MS, QUIET_MS } from "../sim/watchdog.js";
import { checkMachine, watchUnhandledRejections } from "./assert.js";
import { tellStory } from "./story.js";
import type { StoryMark } from "./story.js";
import { formatSchedule, INJECTIONS, isAction, normalize, parseSchedule } from "./schedule.js";
import type { ActionKind, FailureKind, InjectionKind, Schedule, ScheduledAction, ScheduledFailure } from "./schedule.js";

export type { InjectionKind } from "./schedule.js";

/**
 * A driver under test: how to set it up on a fresh machine, the traffic to
 * run, and what must hold. Make one with {@link defineScenario}.
 *
 * @example
 * ```ts
 * const scenario: Scenario = {
 *   name: "ring-nic",
 *   setup: async (machine) => {
 *     await machine.pci.register(driver);
 *     machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 *   },
 * };
 * ```
 */
export interface Scenario {
  /** Names the scenario in reports. */
  readonly name: string;
  /** Registers the drivers and plugs the devices on a fresh machine. */
  setup(machine: Machine): void | Promise<void>;
  /**
   * The traffic, run after `setup` while the explorer injects: it drives
   * virtual time itself (`machine.run(ns)`, sockets, disks). A
   * `BoundscopeError` it throws once something was injected (a device went
   * away, an allocation failed) is expected; any other error, or any error
   * in a schedule with nothing injected, fails the schedule.
   */
  workload?(machine: Machine): Promise<void>;
  /** Extra checks, after the workload and after teardown. Throw to fail the schedule. */
  readonly invariants?: readonly ((machine: Machine, phase: "after-workload" | "after-teardown") => void)[];
  /** Base machine options. The explorer sets `iommu`, `dmaLimitBits`, `faultInjection` and `dmaDebug: "report"` per schedule. */
  readonly machine?: MachineOptions;
}

/**
 * Checks a scenario and returns it, frozen. `EINVAL` for a missing name or
 * setup, or a workload or invariant that is not a function.
 *
 * @example
 * ```ts
 * export const scenario = defineScenario({
 *   name: "ring-nic under traffic",
 *   async setup(machine) {
 *     await machine.pci.register(driver);
 *     machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 *     await machine.settled();
 *   },
 *   async workload(machine) {
 *     await machine.run(1_000_000);
 *   },
 * });
 * ```
 */
export function defineScenario(scenario: Scenario): Scenario {
  // Covers JavaScript callers and `any`: a Scenario is an object with a name and a setup function.
  if (typeof scenario !== "object" || scenario === null) throw fail("EINVAL", `defineScenario: expected { name, setup, workload?, invariants?, machine? }, got ${describe(scenario)}.`);
  const { name, setup, workload, invariants = [], machine = {} } = scenario;
  if (typeof name !== "string" || name.length === 0) throw fail("EINVAL", `defineScenario: name must be a non-empty string, got ${describe(name)}.`);
  if (typeof setup !== "function") throw fail("EINVAL", `defineScenario(${name}): setup must be a function, got ${describe(setup)}.`);
  if (workload !== undefined && typeof workload !== "function") throw fail("EINVAL", `defineScenario(${name}): workload must be a function, got ${describe(workload)}.`);
  if (!Array.isArray(invariants) || !invariants.every((i) => typeof i === "function")) {
    throw fail("EINVAL", `defineScenario(${name}): invariants must be an array of functions, got ${describe(invariants)}.`);
  }
  if (typeof machine !== "object" || machine === null) throw fail("EINVAL", `defineScenario(${name}): machine must be MachineOptions, got ${describe(machine)}.`);
  return Object.freeze({ name, setup, ...(workload === undefined ? {} : { workload }), invariants: Object.freeze([...invariants]), machine });
}

/**
 * How {@link explore} searches.
 *
 * @example
 * ```ts
 * const ci: ExploreOptions = { mode: "random", budget: 2_000, seed: 7, workers: 2, module: import.meta.url };
 * ```
 */
export interface ExploreOptions {
  /** `"systematic"` (default): every injection point of the scenario, in order. `"random"`: random schedules, from `seed`. */
  readonly mode?: "systematic" | "random";
  /** The most schedules to run, clean runs included. Default 500 (systematic), 200 (random). */
  readonly budget?: number;
  /** The random mode's seed (default 1): the same seed gives the same schedules. */
  readonly seed?: number;
  /** What to inject (default: all of unplug, unbind, rebind, fail-alloc, fail-map, fail-irq). */
  readonly injections?: readonly InjectionKind[];
  /** The IOMMU modes to run (default both: passthrough, then strict). */
  readonly iommu?: readonly IommuMode[];
  /** The platform DMA limits to run, in bits, `null` for none (default `[null, 32]`). */
  readonly dmaLimitBits?: readonly (number | null)[];
  /**
   * Worker threads to shard the schedules across (default 1: this thread).
   * Workers import the scenario from `module`, so it must be a module Node
   * can load (JavaScript, or TypeScript with the loader this process runs
   * with).
   */
  readonly workers?: number;
  /** With `workers`: the URL of the module that exports the scenario (`import.meta.url` where it is defined). */
  readonly module?: string;
  /** With `workers`: the name of the scenario's export in `module` (default `"scenario"`). */
  readonly exportName?: string;
  /** Minimize the failing schedule (default true). */
  readonly minimize?: boolean;
}

/**
 * The first failing schedule, as the explorer hands it back.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * const report = await explore(scenario);
 * if (report.failure !== undefined) {
 *   console.log(report.failure.story);
 *   writeFileSync("failure.trace.json", JSON.stringify(report.failure.trace)); // open in ui.perfetto.dev
 *   writeFileSync("failure.svg", report.failure.timeline);
 * }
 * ```
 */
export interface ScheduleFailure {
  /** The schedule, replayable: `replay(scenario, schedule)`. */
  readonly schedule: string;
  /** Which schedule of the run found it, from 1 (before minimizing). */
  readonly index: number;
  /** What failed, one line each. */
  readonly problems: readonly string[];
  /** What happened, when, and in which callback, with the injections marked. */
  readonly story: string;
  /** The one call that replays it. */
  readonly replay: string;
  /** The schedule's events as a Chrome trace-event file: opens in Perfetto (ui.perfetto.dev) and chrome://tracing. */
  readonly trace: ChromeTrace;
  /** The schedule's lifecycle timeline as SVG, drawn in virtual time with an axis. */
  readonly timeline: string;
}

/**
 * What {@link explore} found.
 *
 * @example
 * ```ts
 * const report = await explore(scenario, { budget: 300 });
 * console.log(`${report.schedules} schedules, ${report.points} points: ${report.ok ? "clean" : report.failure?.story}`);
 * ```
 */
export interface ExploreReport {
  readonly scenario: string;
  /** True when no schedule failed. */
  readonly ok: boolean;
  /** Schedules run, the minimizing runs not counted; with workers, those up to the first failing one in the list. */
  readonly schedules: number;
  /** Scheduling points of the first clean run: how many places an action could go. */
  readonly points: number;
  /** Systematic mode: every schedule of the scenario's space (clean runs, each failure, each action at each point), of which the budget ran `schedules`. Random mode: the budget. */
  readonly planned: number;
  readonly failure: ScheduleFailure | undefined;
  /** Wall-clock time of the whole exploration, ms. */
  readonly elapsedMs: number;
}

/** What one schedule's run saw. */
interface Outcome {
  readonly problems: readonly string[];
  readonly points: number;
  readonly counts: Readonly<Record<FailureKind, number>>;
  readonly devices: number;
  readonly machine: Machine;
  readonly marks: readonly StoryMark[];
}

/**
 * Driver and model callbacks that threw: in the kernel, an oops or a WARN.
 * A failed probe is not among them (a probe may fail; it fails a schedule
 * only with nothing injected), and one that passes an injected `ENOMEM` on
 * is excused, as a kernel callback may return `-ENOMEM`.
 */
const CALLBACK_FAILURES: ReadonlySet<string> = new Set(["remove-failed", "release-failed", "irq-failed", "task-failed", "teardown-failed", "model-failed", "subsys-failed"]);

/** The injection that fails each kind of operation the machine asks about. */
const FAILURE_KIND: Readonly<Record<"alloc" | "map" | "irq", FailureKind>> = { alloc: "fail-alloc", map: "fail-map", irq: "fail-irq" };
const ORDINAL = (n: number): string => `${n}${n % 100 >= 11 && n % 100 <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th")}`;

/**
 * Runs one schedule on a fresh machine and says what failed. Never throws
 * for the driver's faults: they are problems of the outcome.
 */
async function runSchedule(scenario: Scenario, schedule: Schedule): Promise<Outcome> {
  const problems: string[] = [];
  const marks: StoryMark[] = [];
  const counts: Record<FailureKind, number> = { "fail-alloc": 0, "fail-map": 0, "fail-irq": 0 };
  const actions = new Map<number, ScheduledAction[]>();
  for (const action of schedule.actions) actions.set(action.at, [...(actions.get(action.at) ?? []), action]);
  const pending: Promise<void>[] = [];
  let points = 0;
  let machine: Machine | undefined;
  const lastSeq = (): number => machine?.events.at(-1)?.seq ?? 0;
  let injected = false;
  let failuresInjected = 0;

  const act = (action: ScheduledAction, where: string): void => {
    const m = machine;
    if (m === undefined) return;
    const dev = m.pci.devices[action.device];
    if (dev === undefined) {
      marks.push({ afterSeq: lastSeq(), text: `(no device at index ${action.device} for the ${action.kind} at point ${action.at})` });
      return;
    }
    injected = true;
    marks.push({ afterSeq: lastSeq(), text: `INJECTED ${action.kind} of ${dev.name} (${dev.state}) at point ${action.at}: ${where}` });
    const run = async (): Promise<void> => {
      if (action.kind === "unplug") return m.pci.unplug(dev);
      await m.pci.unbind(dev);
      if (action.kind === "rebind") await m.pci.bind(dev);
    };
    pending.push(
      run().catch((error: unknown) => {
        // Refusals (not bound, gone already) mean the action did not apply at that point: part of the story, not a fault.
        if (error instanceof BoundscopeError && (error.code === "EINVAL" || error.code === "EBUSY")) {
          marks.push({ afterSeq: lastSeq(), text: `(the ${action.kind} of ${dev.name} did not apply: ${error.message})` });
        } else {
          problems.push(`the injected ${action.kind} of ${dev.name} failed: ${text(error)}`);
        }
      }),
    );
  };

  const options: MachineOptions = {
    ...scenario.machine,
    iommu: schedule.iommu,
    dmaDebug: "report",
    ...(schedule.limit === null ? {} : { dmaLimitBits: schedule.limit }),
    faultInjection: {
      shouldFail(kind, what, device) {
        const failure = FAILURE_KIND[kind];
        const nth = ++counts[failure];
        if (!schedule.failures.some((f) => f.kind === failure && f.nth === nth)) return false;
        injected = true;
        failuresInjected++;
        marks.push({ afterSeq: lastSeq(), text: `INJECTED failure: the ${ORDINAL(nth)} ${kind === "alloc" ? "allocation" : kind === "map" ? "mapping" : "IRQ request"} (${what} on ${device}) fails with ENOMEM` });
        return true;
      },
      point(point) {
        const at = ++points;
        const due = actions.get(at);
        if (due === undefined) return;
        const where = `${point.kind === "event" ? "after" : point.kind === "sleep" ? "the driver awaits" : "the driver is called:"} ${point.what}`;
        // Queued: the action runs once the code at this point has yielded, while the driver waits there.
        for (const action of due) queueMicrotask(() => act(action, where));
      },
    },
  };
  const rejections = watchUnhandledRejections();
  try {
    machine = new Machine(options);
    const setupStall = stalled(machine);
    try {
      const m = machine;
      if (!(await Promise.race([Promise.resolve().then(() => scenario.setup(m)).then(() => true), setupStall.promise.then(() => false)]))) {
        problems.push(`setup never finished: it waited ${STALL_MS} ms of real time with nothing happening on the machine (at t=${machine.clock.now} ns)`);
      }
    } catch (error) {
      problems.push(`setup threw: ${text(error)}`);
    } finally {
      setupStall.stop();
    }
    const { workload } = scenario;
    if (problems.length === 0 && workload !== undefined) {
      const stall = stalled(machine);
      try {
        const m = machine;
        const finished = await Promise.race([Promise.resolve().then(() => workload(m)).then(() => true), stall.promise.then(() => false)]);
        // The workload waits for something that never comes, with nothing moving on the machine: give up on it and tear down.
        if (!finished) problems.push(`the workload never finished: it waited ${STALL_MS} ms of real time with nothing happening on the machine (at t=${machine.clock.now} ns)`);
      } catch (error) {
        if (injected && error instanceof BoundscopeError) {
          marks.push({ afterSeq: lastSeq(), text: `(the workload stopped: ${error.code}: ${error.message})` });
        } else {
          problems.push(`the workload threw${injected ? "" : " with nothing injected"}: ${text(error)}`);
        }
      } finally {
        stall.stop();
      }
    }
    await settle(machine, pending, problems);
    // Each failure once, with how often it happened: a handler failing on every raise is one problem.
    const failed = new Map<string, { first: MachineEvent; count: number }>();
    for (const e of machine.events) {
      if (e.kind === "probe-failed") {
        if (!injected) problems.push(`probe of ${e.device} by "${e.driver}" failed with nothing injected: ${e.detail ?? ""}`);
      } else if (CALLBACK_FAILURES.has(e.kind) && !(failuresInjected > 0 && e.error instanceof BoundscopeError && e.error.code === "ENOMEM")) {
        const key = `${e.kind}\u0000${e.device}\u0000${e.driver}\u0000${e.detail}`;
        const seen = failed.get(key);
        if (seen === undefined) failed.set(key, { first: e, count: 1 });
        else seen.count++;
      }
    }
    for (const { first: e, count } of failed.values()) {
      problems.push(`${e.kind} on ${e.device ?? "the machine"}${e.driver === undefined ? "" : ` (driver "${e.driver}")`} at ${e.time} ns${count > 1 ? ` and ${count - 1} more time${count > 2 ? "s" : ""}` : ""}: ${e.detail ?? ""}`);
    }
    for (const invariant of scenario.invariants ?? []) {
      try {
        invariant(machine, "after-workload");
      } catch (error) {
        problems.push(`invariant (after the workload): ${text(error)}`);
      }
    }
    const devices = machine.pci.devices.length;
    try {
      await machine[Symbol.asyncDispose]();
    } catch (error) {
      problems.push(`tearing the machine down failed: ${text(error)}`);
    }
    await settle(machine, pending, problems);
    for (const invariant of scenario.invariants ?? []) {
      try {
        invariant(machine, "after-teardown");
      } catch (error) {
        problems.push(`invariant (after teardown): ${text(error)}`);
      }
    }
    problems.push(...checkMachine(machine));
    // Rejections surface after a macrotask turn: give them one.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const reason of rejections.reasons) problems.push(`unhandled rejection: ${text(reason)}`);
    return { problems, points, counts, devices, machine, marks };
  } finally {
    rejections.stop();
  }
}

/** Real time a workload may wait with nothing happening on the machine before it counts as stuck: twice the watchdog's quiet time. */
const STALL_MS = 2 * QUIET_MS;

/**
 * Resolves once nothing happened on `machine` (no event logged, virtual
 * time still, no clock event added or fired) for {@link STALL_MS} of real
 * time: a workload awaiting something that will never come. Timers only run
 * while the workload waits, so busy work is never taken for a stall.
 */
function stalled(machine: Machine): { readonly promise: Promise<void>; stop(): void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  const state = (): string => `${machine.clock.now}:${machine.clock.pending}:${machine.events.at(-1)?.seq ?? 0}`;
  const promise = new Promise<void>((resolve) => {
    let last = state();
    let quiet = 0;
    timer = setInterval(() => {
      const now = state();
      quiet = now === last ? quiet + 1 : 0;
      last = now;
      if (quiet * LOOK_MS >= STALL_MS) resolve();
    }, LOOK_MS);
  });
  return { promise, stop: () => clearInterval(timer) };
}

/** Waits for the injected actions (which may queue more) and for every device's queue. */
async function settle(machine: Machine, pending: Promise<void>[], problems: string[]): Promise<void> {
  for (let seen = -1; seen !== pending.length; ) {
    seen = pending.length;
    await Promise.all(pending);
    try {
      await machine.settled();
    } catch (error) {
      problems.push(`the machine did not come to rest: ${text(error)}`);
      return;
    }
  }
}

function text(error: unknown): string {
  return error instanceof Error ? `${error instanceof BoundscopeError ? `${error.code}: ` : ""}${error.message}` : describe(error);
}

/** The option values, checked, with their defaults. */
interface Plan {
  readonly mode: "systematic" | "random";
  readonly budget: number;
  readonly seed: number;
  readonly injections: readonly InjectionKind[];
  readonly configs: readonly Pick<Schedule, "iommu" | "limit">[];
  readonly workers: number;
  readonly module: string | undefined;
  readonly exportName: string;
  readonly minimize: boolean;
}

function planOf(options: ExploreOptions): Plan {
  // Covers JavaScript callers and `any`: every option is checked, since a wrong one would silently explore less.
  if (typeof options !== "object" || options === null) throw fail("EINVAL", `explore: options must be an object, got ${describe(options)}.`);
  const { mode = "systematic", seed = 1, injections = INJECTIONS, iommu = ["passthrough", "strict"], dmaLimitBits = [null, 32], workers = 1, module, exportName = "scenario", minimize = true } = options;
  if (mode !== "systematic" && mode !== "random") throw fail("EINVAL", `explore: mode must be "systematic" or "random", got ${describe(mode)}.`);
  const { budget = mode === "systematic" ? 500 : 200 } = options;
  if (!Number.isSafeInteger(budget) || budget < 1) throw fail("EINVAL", `explore: budget must be a positive whole number of schedules, got ${describe(budget)}.`);
  if (!Number.isSafeInteger(seed)) throw fail("EINVAL", `explore: seed must be a whole number, got ${describe(seed)}.`);
  if (!Array.isArray(injections) || !injections.every((k) => INJECTIONS.includes(k))) {
    throw fail("EINVAL", `explore: injections must be an array of ${INJECTIONS.join(", ")}, got ${describe(injections)}.`);
  }
  if (!Array.isArray(iommu) || iommu.length === 0 || !iommu.every((m) => m === "strict" || m === "passthrough")) {
    throw fail("EINVAL", `explore: iommu must be a non-empty array of "passthrough" and "strict", got ${describe(iommu)}.`);
  }
  if (!Array.isArray(dmaLimitBits) || dmaLimitBits.length === 0 || !dmaLimitBits.every((b) => b === null || (Number.isInteger(b) && b >= 24 && b <= 64))) {
    throw fail("EINVAL", `explore: dmaLimitBits must be a non-empty array of null (no limit) and whole numbers from 24 to 64, got ${describe(dmaLimitBits)}.`);
  }
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > 64) throw fail("EINVAL", `explore: workers must be a whole number from 1 to 64, got ${describe(workers)}.`);
  if (workers > 1 && typeof module !== "string") {
    throw fail("EINVAL", `explore: with ${workers} workers, module must be the URL of the module exporting the scenario (import.meta.url there), got ${describe(module)}.`);
  }
  if (typeof exportName !== "string" || exportName.length === 0) throw fail("EINVAL", `explore: exportName must be a non-empty string, got ${describe(exportName)}.`);
  if (typeof minimize !== "boolean") throw fail("EINVAL", `explore: minimize must be true or false, got ${describe(minimize)}.`);
  const configs = [...new Set(iommu)].flatMap((m) => [...new Set(dmaLimitBits)].map((limit) => ({ iommu: m, limit })));
  return { mode, budget, seed, injections: [...new Set(injections)], configs, workers, module, exportName, minimize };
}

/** A small deterministic generator (mulberry32): the same seed, the same schedules. */
function random(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** What each configuration's clean run found: where injections can go. */
interface Reach {
  readonly config: Pick<Schedule, "iommu" | "limit">;
  readonly points: number;
  readonly counts: Readonly<Record<FailureKind, number>>;
  readonly devices: number;
}

/** The schedules after the clean runs, in the order the mode tries them, up to `room`. */
function* schedulesOf(plan: Plan, reach: readonly Reach[], room: number): Generator<Schedule> {
  const actionKinds = plan.injections.filter(isAction) as ActionKind[];
  const failureKinds = plan.injections.filter((k) => !isAction(k)) as FailureKind[];
  if (plan.mode === "systematic") {
    // Configurations innermost, so that a budget smaller than the whole space still reaches every machine.
    let n = 0;
    const most = (count: (r: Reach) => number): number => Math.max(0, ...reach.map(count));
    for (let nth = 1; nth <= most((r) => Math.max(...failureKinds.map((k) => r.counts[k]), 0)); nth++) {
      for (const kind of failureKinds) {
        for (const r of reach) {
          if (nth > r.counts[kind]) continue;
          if (n++ >= room) return;
          yield { ...r.config, actions: [], failures: [{ kind, nth }] };
        }
      }
    }
    for (let at = 1; at <= most((r) => r.points); at++) {
      for (const kind of actionKinds) {
        for (const r of reach) {
          if (at > r.points) continue;
          for (let device = 0; device < Math.max(1, r.devices); device++) {
            if (n++ >= room) return;
            yield { ...r.config, actions: [{ kind, device, at }], failures: [] };
          }
        }
      }
    }
    return;
  }
  const pick = random(plan.seed);
  for (let n = 0; n < room; n++) {
    const r = reach[pick(reach.length)]!;
    const actions: ScheduledAction[] = [];
    const failures: ScheduledFailure[] = [];
    if (actionKinds.length > 0 && r.points > 0) {
      const count = 1 + pick(2);
      for (let i = 0; i < count; i++) actions.push({ kind: actionKinds[pick(actionKinds.length)]!, device: pick(Math.max(1, r.devices)), at: 1 + pick(r.points) });
    }
    const reachable = failureKinds.filter((k) => r.counts[k] > 0);
    if (reachable.length > 0 && (actions.length === 0 || pick(2) === 0)) {
      const kind = reachable[pick(reachable.length)]!;
      failures.push({ kind, nth: 1 + pick(r.counts[kind]) });
    }
    if (actions.length === 0 && failures.length === 0) continue;
    yield normalize({ ...r.config, actions, failures });
  }
}

/** How many schedules systematic mode has after the clean runs: what `schedulesOf` yields with no budget, counted without making them. */
function spaceOf(plan: Plan, reach: readonly Reach[]): number {
  const actionKinds = plan.injections.filter(isAction).length;
  const failureKinds = plan.injections.filter((k) => !isAction(k)) as FailureKind[];
  return reach.reduce((n, r) => n + failureKinds.reduce((m, kind) => m + r.counts[kind], 0) + r.points * actionKinds * Math.max(1, r.devices), 0);
}

/** The first problem's kind: what a smaller schedule must still show to count as the same failure. */
function signature(problems: readonly string[]): string {
  const first = problems[0] ?? "";
  const violation = /violation ([a-z-]+)/.exec(first)?.[1];
  return violation ?? first.split(":")[0]!;
}

/** Shrinks a failing schedule: fewer injections, a plainer machine, earlier points. */
async function minimize(scenario: Scenario, schedule: Schedule, problems: readonly string[]): Promise<Schedule> {
  const want = signature(problems);
  const fails = async (candidate: Schedule): Promise<boolean> => {
    const { problems: p } = await runSchedule(scenario, candidate);
    return p.length > 0 && p.some((line) => signature([line]) === want);
  };
  let best = schedule;
  const total = (s: Schedule): number => s.actions.length + s.failures.length;
  for (let i = 0; i < total(best) && total(best) > 1; ) {
    const candidate = { ...best, actions: best.actions.filter((_, j) => j !== i), failures: best.failures.filter((_, j) => j !== i - best.actions.length) };
    if (await fails(candidate)) best = candidate;
    else i++;
  }
  for (const config of [{ iommu: "passthrough" as const, limit: best.limit }, { iommu: best.iommu, limit: null }]) {
    const candidate = { ...best, ...config };
    if ((candidate.iommu !== best.iommu || candidate.limit !== best.limit) && (await fails(candidate))) best = candidate;
  }
  for (let i = 0; i < best.actions.length; i++) {
    // Earlier points, tried from the first: the earliest that still fails.
    const action = best.actions[i]!;
    for (const at of [1, ...[8, 4, 2].map((d) => Math.floor(action.at - action.at / d))].filter((at, k, all) => at >= 1 && at < action.at && all.indexOf(at) === k)) {
      const candidate = normalize({ ...best, actions: best.actions.map((a, j) => (j === i ? { ...a, at } : a)) });
      if (await fails(candidate)) {
        best = candidate;
        break;
      }
    }
  }
  return normalize(best);
}

/** The failure report of one schedule's outcome. */
function failureOf(scenario: Scenario, schedule: Schedule, outcome: Outcome, index: number, found: Schedule): ScheduleFailure {
  const id = formatSchedule(schedule);
  const header = [
    `Scenario "${scenario.name}", schedule ${id}`,
    index > 0 ? `found by schedule ${index}${formatSchedule(found) === id ? "" : ` (${formatSchedule(found)}, minimized)`}` : "replayed",
    `${outcome.points} scheduling points; ${outcome.counts["fail-alloc"]} allocations, ${outcome.counts["fail-map"]} mappings, ${outcome.counts["fail-irq"]} IRQ requests`,
    "",
    "What failed:",
    ...outcome.problems.map((p) => `  - ${p}`),
    "",
    "What happened:",
  ].join("\n");
  return {
    schedule: id,
    index,
    problems: outcome.problems,
    story: `${header}\n${tellStory(outcome.machine, outcome.marks)}`,
    replay: `await replay(scenario, ${JSON.stringify(id)});`,
    trace: outcome.machine.trace.toChromeTrace(),
    timeline: outcome.machine.trace.toSvg({ axis: "time", marks: outcome.marks }),
  };
}

/**
 * Explores `scenario`'s lifecycles (see the module documentation) and
 * reports the first failing schedule, minimized and told as a story, or
 * that every schedule passed. Rejects with `EINVAL` for bad options.
 *
 * @example
 * ```ts
 * const report = await explore(scenario, { mode: "systematic", budget: 400 });
 * if (!report.ok) throw new Error(report.failure!.story);
 * ```
 */
export async function explore(scenario: Scenario, options: ExploreOptions = {}): Promise<ExploreReport> {
  const start = performance.now();
  const checked = defineScenario(scenario);
  const plan = planOf(options);
  const reach: Reach[] = [];
  let schedules = 0;
  const done = async (failure: { schedule: Schedule; outcome: Outcome; index: number } | undefined, planned: number): Promise<ExploreReport> => {
    let report: ScheduleFailure | undefined;
    if (failure !== undefined) {
      let { schedule, outcome } = failure;
      if (plan.minimize) {
        const smaller = await minimize(checked, schedule, outcome.problems);
        if (formatSchedule(smaller) !== formatSchedule(schedule)) outcome = await runSchedule(checked, (schedule = smaller));
      }
      report = failureOf(checked, schedule, outcome, failure.index, failure.schedule);
    }
    return { scenario: checked.name, ok: report === undefined, schedules, points: reach[0]?.points ?? 0, planned, failure: report, elapsedMs: performance.now() - start };
  };
  for (const config of plan.configs) {
    if (schedules >= plan.budget) break;
    const schedule: Schedule = { ...config, actions: [], failures: [] };
    const outcome = await runSchedule(checked, schedule);
    schedules++;
    if (outcome.problems.length > 0) return done({ schedule, outcome, index: schedules }, plan.budget);
    reach.push({ config, points: outcome.points, counts: outcome.counts, devices: outcome.devices });
  }
  const list = [...schedulesOf(plan, reach, plan.budget - schedules)];
  const planned = plan.mode === "systematic" ? reach.length + spaceOf(plan, reach) : plan.budget;
  if (plan.workers > 1 && list.length > 1) {
    const found = await sharded(plan, list.map(formatSchedule));
    schedules += found === undefined ? list.length : found + 1;
    if (found === undefined) return done(undefined, planned);
    const schedule = list[found]!;
    return done({ schedule, outcome: await runSchedule(checked, schedule), index: reach.length + found + 1 }, planned);
  }
  for (const schedule of list) {
    const outcome = await runSchedule(checked, schedule);
    schedules++;
    if (outcome.problems.length > 0) return done({ schedule, outcome, index: schedules }, planned);
  }
  return done(undefined, planned);
}

/**
 * Runs `schedules` across worker threads, each taking every Nth; resolves
 * with the index of the first failing one, or `undefined`. A worker stops at
 * its first failure, or once a failure before its next schedule is known.
 */
function sharded(plan: Plan, schedules: readonly string[]): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    let first = Number.POSITIVE_INFINITY;
    let running = plan.workers;
    const workers: Worker[] = [];
    for (let shard = 0; shard < plan.workers; shard++) {
      const worker = new Worker(new URL("./worker.js", import.meta.url), {
        workerData: { module: plan.module, exportName: plan.exportName, schedules, shard, shards: plan.workers },
        execArgv: process.execArgv,
      });
      workers.push(worker);
      worker.on("message", (message: { failed?: number; error?: string }) => {
        if (message.error !== undefined) {
          for (const w of workers) void w.terminate();
          reject(fail("EINVAL", `explore: worker ${shard} could not run the scenario: ${message.error}`));
          return;
        }
        if (message.failed !== undefined && message.failed < first) {
          first = message.failed;
          for (const w of workers) w.postMessage({ before: first });
        }
      });
      worker.on("error", (error) => {
        for (const w of workers) void w.terminate();
        reject(error);
      });
      worker.on("exit", () => {
        if (--running === 0) resolve(Number.isFinite(first) ? first : undefined);
      });
    }
  });
}

/**
 * Runs one schedule of a report again (`failure.schedule`) on a fresh
 * machine: the same events, the same problems. Resolves with the failure,
 * or `undefined` if it passes now (the bug is fixed). `EINVAL` for a text
 * that is not a schedule.
 *
 * @example
 * ```ts
 * const failure = await replay(scenario, "iommu=passthrough;limit=none;unplug:0@7");
 * console.log(failure?.story ?? "passes now");
 * ```
 */
export async function replay(scenario: Scenario, schedule: string): Promise<ScheduleFailure | undefined> {
  const checked = defineScenario(scenario);
  const parsed = parseSchedule(schedule);
  const outcome = await runSchedule(checked, parsed);
  return outcome.problems.length === 0 ? undefined : failureOf(checked, parsed, outcome, 0, parsed);
}

/** For the worker: runs one schedule by its text and says whether it failed. */
export async function scheduleFails(scenario: Scenario, schedule: string): Promise<boolean> {
  return (await runSchedule(scenario, parseSchedule(schedule))).problems.length > 0;
}
