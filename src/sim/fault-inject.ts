/**
 * Fault injection and scheduling points: the machine asks a test harness
 * whether the next allocation, streaming mapping or IRQ request should fail,
 * and tells it each point where something else could happen in between
 * (a device event of the clock, a driver awaiting a sleeping operation, a
 * driver callback starting). `boundscope/testing`'s explorer drives both;
 * a test may pass its own {@link FaultInjection} to `new Machine()`.
 *
 * Kernel: the fault-injection framework (`lib/fault-inject.c`): `failslab`
 * and `fail_page_alloc` make the Nth `kmalloc` or page allocation fail, as
 * `should_fail()` decides. The scheduling points have no one kernel
 * counterpart; they are where the kernel's concurrency (an unplug from
 * another CPU, an interrupt) would meet a driver waiting.
 *
 * # Invariants
 * - With no injection given, every query answers "no" and every point is
 *   a no-op: the machine behaves exactly as before.
 * - An injected failure is the one the operation would give if memory
 *   really ran out (`ENOMEM`), thrown before anything is allocated,
 *   mapped, requested or reported: nothing is left half done.
 * - The harness is an observer: a `point` hook that throws is ignored, and
 *   a `shouldFail` that throws (or answers anything but `true`) counts as
 *   "no".
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";

/**
 * What an injected failure hits: `"alloc"` (coherent memory, `kmalloc`,
 * `vmalloc`, a DMA pool's new chunk), `"map"` (`mapSingle`, `mapSg`) or
 * `"irq"` (`requestIrq`, `allocIrqVectors`, `IrqVectors.request`).
 *
 * @example
 * ```ts
 * const kinds: FaultKind[] = ["alloc", "map", "irq"];
 * ```
 */
export type FaultKind = "alloc" | "map" | "irq";

/**
 * A point where the machine lets something else happen before the driver
 * goes on:
 * - `"event"`: a device event of the virtual clock has just fired (a timer,
 *   a DMA completion, an interrupt raised);
 * - `"sleep"`: driver code is about to wait in a sleeping operation
 *   (`sleep`, `readPollTimeout`, `Task.stop`, `IrqHandle.free`, a
 *   `GFP_KERNEL` allocation …): an `await` in `probe`, `remove`, a task or a
 *   subsystem call;
 * - `"callback"`: the core or a subsystem is calling into the driver
 *   (`probe`, `remove`, a task's work, a subsystem op).
 *
 * @example
 * ```ts
 * const log: string[] = [];
 * const machine = new Machine({ faultInjection: { point: (p: SchedulePoint) => void log.push(`${p.kind} ${p.what}`) } });
 * ```
 */
export interface SchedulePoint {
  readonly kind: "event" | "sleep" | "callback";
  /** What: the operation, the callback (`probe() by "nic"`), or the event's number. */
  readonly what: string;
  /** The device's name, when one is involved. */
  readonly device: string | undefined;
  /** Virtual time, ns. */
  readonly time: number;
}

/**
 * A test harness's say in what the machine does (`MachineOptions.faultInjection`).
 * Both hooks are optional and are called synchronously; neither may
 * re-enter the machine synchronously (queue what you do with
 * `queueMicrotask`, so it runs while the driver waits).
 *
 * @example
 * ```ts
 * // fail_page_alloc with `times=1, space=2`: the third allocation fails.
 * let allocations = 0;
 * const machine = new Machine({
 *   faultInjection: { shouldFail: (kind) => kind === "alloc" && ++allocations === 3 },
 * });
 * ```
 */
export interface FaultInjection {
  /**
   * Asked before each allocation, streaming mapping and IRQ request (see
   * {@link FaultKind}). `true` makes it fail with `ENOMEM`, saying it was
   * injected. `what` names the operation, `device` the device.
   */
  readonly shouldFail?: (kind: FaultKind, what: string, device: string) => boolean;
  /** Told each scheduling point, in order (see {@link SchedulePoint}). */
  readonly point?: (point: SchedulePoint) => void;
}

/** The machine's side of a {@link FaultInjection}: checked once, called safely. */
export class Injector {
  readonly #shouldFail: FaultInjection["shouldFail"];
  readonly #point: FaultInjection["point"];
  readonly #now: () => number;
  /** Whether anyone listens for points: callers skip building a point's text when not. */
  readonly listening: boolean;

  constructor(injection: FaultInjection | undefined, now: () => number) {
    // Covers JavaScript callers and `any`: the option is typed as an object of two optional functions.
    if (injection !== undefined && (typeof injection !== "object" || injection === null)) {
      throw fail("EINVAL", `Machine: faultInjection must be an object { shouldFail?, point? }, got ${describe(injection)}.`);
    }
    const { shouldFail, point } = injection ?? {};
    if (shouldFail !== undefined && typeof shouldFail !== "function") {
      throw fail("EINVAL", `Machine: faultInjection.shouldFail must be a function, got ${describe(shouldFail)}.`);
    }
    if (point !== undefined && typeof point !== "function") {
      throw fail("EINVAL", `Machine: faultInjection.point must be a function, got ${describe(point)}.`);
    }
    this.#shouldFail = shouldFail;
    this.#point = point;
    this.#now = now;
    this.listening = point !== undefined;
  }

  /**
   * The injected failure for the operation about to happen, or `undefined`
   * to go on. `what` names the operation in the message, `device` the device.
   */
  fail(kind: FaultKind, what: string, device: string): Error | undefined {
    const decide = this.#shouldFail;
    if (decide === undefined) return undefined;
    let yes = false;
    // The harness is an observer: its exception is not the driver's failure.
    try {
      yes = decide(kind, what, device) === true;
    } catch {}
    return yes ? fail("ENOMEM", `${what}: ${device}: injected failure (faultInjection.shouldFail said this ${kind === "alloc" ? "allocation" : kind === "map" ? "mapping" : "IRQ request"} fails, as fail_page_alloc or failslab would).`) : undefined;
  }

  /** Tells the harness of one scheduling point. */
  point(kind: SchedulePoint["kind"], what: string, device: string | undefined): void {
    const tell = this.#point;
    if (tell === undefined) return;
    // As above: a throwing observer does not break the machine.
    try {
      tell(Object.freeze({ kind, what, device, time: this.#now() }));
    } catch {}
  }
}
