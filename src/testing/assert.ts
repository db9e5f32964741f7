/// <reference types="node" />
/**
 * Assertions for any test runner: after a driver's test has torn its
 * devices down, nothing is left that should not be. No checker violation;
 * the coherent pool, the kernel heap and swiotlb back to empty; no unbind
 * the watchdog gave up on; no interrupt handler still requested; no promise
 * rejected with nobody to hear it. Each throws a `DriverAssertionError` (a
 * plain `Error`, so vitest, `node:test`, Jest and Mocha all report it) whose
 * message names every problem and then tells the machine's story.
 *
 * Kernel: KUnit's `KUNIT_EXPECT_*` at the end of a test case, with
 * `CONFIG_DMA_API_DEBUG`, kmemleak, the hung-task detector and
 * `free_irq`'s "Trying to free already-free IRQ" as the referees.
 *
 * # Invariants
 * - Every check reads the machine as it is; none changes it. Call them after
 *   teardown (every device unplugged or unbound, or after `await using`):
 *   while a device is bound its memory and IRQs are rightly in use.
 * - A problem is one line that names what is wrong and where; the same
 *   problem found by two checks is the same line, so `checkMachine` lists it
 *   once.
 * - The public types name no Node type: a consumer compiles them without
 *   `@types/node`.
 *
 * @module
 */

import { Machine } from "../index.js";
import type { DmaViolation, MachineEvent } from "../index.js";
import { describe, fail } from "../internal/error.js";
import { machineInternals } from "../machine.js";
import { duration } from "../observe/dma-debug.js";
import { tellStory } from "./story.js";

/**
 * What a failed assertion throws: an `Error` whose message lists each
 * problem, then tells the machine's story (`tellStory`). The problems and
 * the story are also fields, for a reporter of your own.
 *
 * @example
 * ```ts
 * import { assertClean, DriverAssertionError } from "boundscope/testing";
 * try {
 *   assertClean(machine);
 * } catch (error) {
 *   if (error instanceof DriverAssertionError) console.error(error.problems.length, "problems:", error.problems);
 *   throw error;
 * }
 * ```
 */
export class DriverAssertionError extends Error {
  override readonly name = "DriverAssertionError";
  /** One line per problem: what is wrong and where. */
  readonly problems: readonly string[];
  /** The machine's story, as `tellStory` tells it (empty for `watchUnhandledRejections`). */
  readonly story: string;

  constructor(assertion: string, problems: readonly string[], story: string) {
    const list = problems.map((problem, i) => `  ${i + 1}. ${problem}`).join("\n");
    super(`${assertion}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${list}${story === "" ? "" : `\n\n${story}`}`);
    this.problems = Object.freeze([...problems]);
    this.story = story;
  }
}

/** Covers a value that is not a Machine, from JavaScript, `any` or a cast. */
function checked(machine: Machine, assertion: string): Machine {
  if (!(machine instanceof Machine)) throw fail("EINVAL", `${assertion}: expected a Machine, got ${describe(machine)}.`);
  return machine;
}

/** Throws a DriverAssertionError for `problems`, unless there are none. */
function verdict(machine: Machine, assertion: string, problems: readonly string[]): void {
  if (problems.length > 0) throw new DriverAssertionError(assertion, problems, tellStory(machine));
}

/** One violation as a problem line: its kind, device, driver, time and message. */
function violationLine(v: DmaViolation): string {
  return `violation ${v.kind} on ${v.device}${v.driver === undefined ? "" : ` (driver "${v.driver}")`} at t=${duration(v.time)}: ${v.message}`;
}

function violationProblems(machine: Machine): string[] {
  return machine.dmaDebug.violations.map(violationLine);
}

/** What the event log says is still allocated in the coherent pool, by address: who allocated it. */
function liveAllocations(events: readonly MachineEvent[]): MachineEvent[] {
  const live = new Map<string, MachineEvent>();
  for (const e of events) {
    if (e.address === undefined) continue;
    if (e.kind === "alloc") live.set(e.address.toString(), e);
    else if (e.kind === "free") live.delete(e.address.toString());
  }
  return [...live.values()];
}

function poolProblems(machine: Machine): string[] {
  const problems: string[] = [];
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
  const pool = machine.memory.stats();
  if (pool.allocations > 0 || pool.bytesInUse > 0) {
    const live = liveAllocations(machine.events);
    const named = live
      .slice(0, 4)
      .map((e) => `${e.size ?? "?"} bytes at 0x${(e.address ?? 0n).toString(16)} for ${e.device ?? "?"}${e.driver === undefined ? "" : ` (driver "${e.driver}")`}, allocated at t=${duration(e.time)}`);
    const more = live.length > named.length ? `, and ${live.length - named.length} more` : "";
    problems.push(
      `the coherent pool still holds ${pool.bytesInUse} bytes in ${plural(pool.allocations, "allocation")} (allocCoherent, DmaPool)${named.length > 0 ? `: ${named.join("; ")}${more}` : ""}`,
    );
  }
  const heap = machine.memory.heap();
  if (heap.allocations > 0 || heap.bytesInUse > 0) {
    problems.push(`the kernel heap still holds ${heap.bytesInUse} bytes in ${plural(heap.allocations, "kmalloc/vmalloc buffer")}: they are not device-managed, so a driver frees them itself (kfree/vfree) before its binding ends`);
  }
  const bounce = machine.memory.swiotlb();
  if (bounce.allocations > 0 || bounce.bytesInUse > 0) {
    problems.push(`swiotlb still holds ${bounce.bytesInUse} bytes in ${plural(bounce.allocations, "bounce buffer")}: a streaming mapping was never unmapped`);
  }
  return problems;
}

function hungProblems(machine: Machine): string[] {
  const violations = machine.dmaDebug.violations.filter((v) => v.kind === "hung");
  if (violations.length > 0) return violations.map(violationLine);
  // With the checker off (`dmaDebug: "off"`) the event log still tells of hangs.
  return machine.events
    .filter((e) => e.kind === "hung")
    .map((e) => `hung: on ${e.device ?? "?"}${e.driver === undefined ? "" : ` (driver "${e.driver}")`}, the driver core gave up waiting for ${e.waitsOn ?? "?"} after ${duration(e.waitedNs ?? 0)}, at t=${duration(e.time)}`);
}

function irqProblems(machine: Machine): string[] {
  const leaked = machine.dmaDebug.violations.filter((v) => v.kind === "irq-leaked").map(violationLine);
  const requested = machineInternals(machine).hw.irqChip.requested();
  const left = requested.map((line) => `irq ${line.irq} (${line.kind}) still has ${line.handlers.length === 1 ? "a handler" : `${line.handlers.length} handlers`} requested: ${line.handlers.join("; ")}`);
  return [...leaked, ...left];
}

/**
 * Every problem the assertions below find, one line each, in their order
 * (violations, memory, hangs, IRQs), each once. Empty when the machine is
 * clean. The explorer runs it after each schedule's teardown.
 *
 * @example
 * ```ts
 * import { checkMachine } from "boundscope/testing";
 * declare const nic: Device;
 * await machine.pci.unplug(nic);
 * const problems = checkMachine(machine);
 * if (problems.length > 0) console.error(problems.join("\n"));
 * ```
 */
export function checkMachine(machine: Machine): readonly string[] {
  checked(machine, "checkMachine");
  return [...new Set([...violationProblems(machine), ...poolProblems(machine), ...hungProblems(machine), ...irqProblems(machine)])];
}

/**
 * The DMA checker recorded no violation (`machine.dmaDebug.violations` is
 * empty). Each one is a problem line with its kind, device, driver, time
 * and message.
 *
 * @example
 * ```ts
 * import { assertNoViolations } from "boundscope/testing";
 * declare const nic: Device;
 * await machine.pci.unbind(nic);
 * assertNoViolations(machine);
 * ```
 */
export function assertNoViolations(machine: Machine): void {
  checked(machine, "assertNoViolations");
  verdict(machine, "assertNoViolations", violationProblems(machine));
}

/**
 * Everything allocated was given back: the coherent pool (`allocCoherent`,
 * DMA pools), the kernel heap (`kmalloc`, `vmalloc`) and the swiotlb bounce
 * pool all hold nothing. Call it once every device is unbound or unplugged.
 *
 * @example
 * ```ts
 * import { assertPoolEmpty } from "boundscope/testing";
 * declare const nic: Device;
 * await machine.pci.unplug(nic);
 * assertPoolEmpty(machine);
 * ```
 */
export function assertPoolEmpty(machine: Machine): void {
  checked(machine, "assertPoolEmpty");
  verdict(machine, "assertPoolEmpty", poolProblems(machine));
}

/**
 * No unbind hung: the watchdog never gave up on a `remove()`, a task, a
 * devres release or a subsystem call (no `hung` violation, nor, with the
 * checker off, a `hung` event).
 *
 * @example
 * ```ts
 * import { assertNoHungUnbind } from "boundscope/testing";
 * declare const nic: Device;
 * await machine.pci.unbind(nic);
 * assertNoHungUnbind(machine);
 * ```
 */
export function assertNoHungUnbind(machine: Machine): void {
  checked(machine, "assertNoHungUnbind");
  verdict(machine, "assertNoHungUnbind", hungProblems(machine));
}

/**
 * Every IRQ was freed: no interrupt line or vector still has a handler
 * requested, and the checker saw no IRQ requested with
 * `{ managed: false }` and left for the core to free (`irq-leaked`). Call it
 * once every device is unbound or unplugged.
 *
 * @example
 * ```ts
 * import { assertIrqsFreed } from "boundscope/testing";
 * declare const nic: Device;
 * await machine.pci.unbind(nic);
 * assertIrqsFreed(machine);
 * ```
 */
export function assertIrqsFreed(machine: Machine): void {
  checked(machine, "assertIrqsFreed");
  verdict(machine, "assertIrqsFreed", irqProblems(machine));
}

/**
 * All four at once: no violation, the pools empty, no hung unbind, every
 * IRQ freed. One error lists every problem found (`checkMachine`).
 *
 * @example
 * ```ts
 * import { assertClean } from "boundscope/testing";
 * declare const nic: Device;
 * await machine.pci.unplug(nic);
 * assertClean(machine);
 * ```
 */
export function assertClean(machine: Machine): void {
  verdict(machine, "assertClean", checkMachine(machine));
}

/**
 * A watch on the process's unhandled promise rejections, from
 * `watchUnhandledRejections()` until `stop()` (or the end of its `using`
 * block). Node reports a rejection once the microtasks have run: await a
 * macrotask (`await new Promise((r) => setTimeout(r, 0))`) before
 * `assertNone()` to hear the last ones. A rejection handled later
 * (`rejectionHandled`) is taken off the list.
 *
 * @example
 * ```ts
 * import { watchUnhandledRejections } from "boundscope/testing";
 * using rejections = watchUnhandledRejections();
 * // … run the driver …
 * await new Promise((resolve) => setTimeout(resolve, 0));
 * rejections.assertNone();
 * ```
 */
export interface UnhandledRejections {
  /** The reasons of the rejections nobody handled, oldest first. */
  readonly reasons: readonly unknown[];
  /** Throws a `DriverAssertionError` naming each unhandled rejection, if any. */
  assertNone(): void;
  /** Stops listening; `reasons` stays as it was. Calling it again does nothing. */
  stop(): void;
  /** `stop()`, for `using`. */
  [Symbol.dispose](): void;
}

/**
 * Listens for unhandled promise rejections (Node's `unhandledRejection`
 * event) until stopped, so a test can assert there were none: a driver's
 * promise that rejected with nobody awaiting it (a task's, a callback's).
 *
 * While it listens, Node does not crash the process on such a rejection (a
 * listener replaces that default), so call `assertNone()` before `stop()`.
 * vitest listens too and fails the run on its own; with it this watch adds
 * the rejection to your test's verdict, where it belongs. Node only.
 *
 * @example
 * ```ts
 * import { watchUnhandledRejections } from "boundscope/testing";
 * const rejections = watchUnhandledRejections();
 * try {
 *   // … run the driver …
 *   await new Promise((resolve) => setTimeout(resolve, 0));
 *   rejections.assertNone();
 * } finally {
 *   rejections.stop();
 * }
 * ```
 */
export function watchUnhandledRejections(): UnhandledRejections {
  // Covers a runtime with no Node `process` (a browser bundle): the event is Node's.
  if (typeof process !== "object" || typeof process.on !== "function") {
    throw fail("EINVAL", "watchUnhandledRejections: needs Node's process events (unhandledRejection); this runtime has none.");
  }
  const seen: { reason: unknown; promise: Promise<unknown> }[] = [];
  const onUnhandled = (reason: unknown, promise: Promise<unknown>): void => void seen.push({ reason, promise });
  const onHandled = (promise: Promise<unknown>): void => {
    const at = seen.findIndex((s) => s.promise === promise);
    if (at >= 0) seen.splice(at, 1);
  };
  process.on("unhandledRejection", onUnhandled);
  process.on("rejectionHandled", onHandled);
  let listening = true;
  const stop = (): void => {
    if (!listening) return;
    listening = false;
    process.off("unhandledRejection", onUnhandled);
    process.off("rejectionHandled", onHandled);
  };
  return Object.freeze({
    get reasons(): readonly unknown[] {
      return seen.map((s) => s.reason);
    },
    assertNone(): void {
      if (seen.length === 0) return;
      throw new DriverAssertionError(
        "watchUnhandledRejections",
        seen.map((s) => `unhandled rejection: ${rejectionText(s.reason)}`),
        "",
      );
    },
    stop,
    [Symbol.dispose]: stop,
  });
}

/** A rejection's reason as one line: an error's name and message and where it was thrown. */
function rejectionText(reason: unknown): string {
  if (reason instanceof Error) {
    const where = reason.stack?.split("\n").find((line) => line.trim().startsWith("at "));
    return `${reason.name}: ${reason.message}${where === undefined ? "" : ` (${where.trim()})`}`;
  }
  return describe(reason);
}
