/**
 * The watchdog: how long the driver core may wait, in virtual time, for
 * something a driver runs (a `remove()`, a task, a devres release, a
 * subsystem call in flight) before the wait is reported as hung and the
 * core goes on without it.
 *
 * Kernel: the hung-task detector (`kernel/hung_task.c`), which reports a
 * task blocked for `hung_task_timeout_secs` (120 s). The kernel's task stays
 * blocked; here the core stops waiting, so one hung driver does not take the
 * machine with it: the binding ends, devres is released, and whatever the
 * hung work does later finds its token dead.
 *
 * Virtual time moves only when someone moves it (`sim/clock.ts`). A wait
 * nobody moves time for (`await machine.pci.unbind(dev)` with a task that
 * never looks at its signal) would never reach its deadline, and Node would
 * end the process with exit code 13, silently. So the watchdog moves time
 * itself, by this rule:
 *
 * - While a watched wait is pending, the watchdog looks every
 *   {@link LOOK_MS} ms of real time (a timer, which also keeps the process
 *   alive).
 * - A look is quiet when, since the one before, nobody moved time (the
 *   clock's `now` and its count of fired events are the same, and nobody is
 *   running it) and the machine did nothing (no event was logged: no probe,
 *   unbind, allocation, DMA, interrupt …). Anything else is progress, and
 *   the count of quiet looks starts again.
 * - After {@link QUIET_LOOKS} quiet looks in a row ({@link QUIET_MS} ms) the
 *   machine is idle, and the watchdog moves time: it fires the events due
 *   before the earliest deadline, one turn after each (so a device finishing
 *   its DMA on timers finishes it), and stops as soon as a watched wait ends
 *   or a run or sleeper asks for the clock.
 * - A deadline itself is reached only when the machine is idle with nothing
 *   due before it: a wait on real time (a `setTimeout`, a file read, a
 *   promise a test resolves) is not reported while it takes less than
 *   {@link QUIET_MS} ms of real time with the machine idle. A run or sleeper
 *   that moves time past a deadline reaches it then, at its own virtual
 *   time: that wait took longer than the watchdog's time. Counting looks
 *   rather than one span keeps a single stall of the process (a long
 *   garbage collection, a busy CI machine) from passing for idleness.
 *
 * A patient wait (`machine.settled()`) is one that itself waits on watched
 * waits: its deadline is put off while any other wait is pending, and
 * starts again from each one's end.
 *
 * # Invariants
 * - A wait resolves exactly once: `true` when its work settled first,
 *   `false` when its deadline came first (after `hung` was called once).
 * - While any wait is pending, a real timer or a drive of the clock is
 *   pending too: the process never runs out of work while the core waits.
 * - With no wait pending, the watchdog holds no timer.
 *
 * @module
 */

import type { Timer, VirtualClock } from "./clock.js";

// The host's real timers (Node, a browser); the library's types assume no host.
declare function setTimeout(callback: () => void, ms: number): unknown;
declare function clearTimeout(handle: unknown): void;

/**
 * The watchdog's time unless `MachineOptions.watchdogNs` says otherwise:
 * 10 s of virtual time. Far above what a driver waits for its device
 * (register polls and resets take micro- to milliseconds, a slow reset a
 * second or two) and below the kernel's 120 s, which would buy nothing in
 * virtual time: reaching a deadline costs nothing while no device event is
 * due, but each event due on the way costs a real turn.
 */
export const DEFAULT_WATCHDOG_NS = 10_000_000_000;

/** Real time, in ms, between two looks of the watchdog. */
export const LOOK_MS = 25;

/** Quiet looks in a row after which the machine counts as idle. */
export const QUIET_LOOKS = 4;

/** Real time, in ms, the machine must be idle before the watchdog moves time. */
export const QUIET_MS = LOOK_MS * QUIET_LOOKS;

/** One wait the watchdog watches. */
interface Watch {
  deadline: Timer;
  /** What the deadline does. */
  readonly expire: () => void;
  readonly patient: boolean;
}

/** What a wait does when its deadline comes, and when its work settles after that. */
export interface WaitHooks {
  /** The deadline came first: report it. `waitedNs` is the virtual time waited. */
  readonly hung?: (waitedNs: number) => void;
  /** The work settled after its deadline, `tookNs` after the wait began. */
  readonly late?: (tookNs: number) => void;
  /** Put off while another wait is pending (see the module's doc). */
  readonly patient?: boolean;
}

/** One machine's watchdog. */
export class Watchdog {
  readonly #pending = new Set<Watch>();
  /** Impatient waits pending: while any is, patient deadlines are put off. */
  #impatient = 0;
  #timer: unknown;
  /** Set when a wait ends: a drive stops there, the machine may move on by itself now. */
  #changed = false;

  /** Quiet looks in a row so far. */
  #quiet = 0;

  constructor(
    readonly clock: VirtualClock,
    /** Virtual ns a wait may take before it is reported. */
    readonly timeoutNs: number,
    /** Grows with everything the machine does (events logged). */
    readonly activity: () => number = () => 0,
  ) {}

  /** Waits currently watched. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Waits for `work` to settle (fulfilled or rejected). Resolves `true` once
   * it does; `false` if the watchdog's time of virtual time passed first,
   * after calling `hooks.hung`.
   */
  wait(work: Promise<unknown>, hooks: WaitHooks = {}): Promise<boolean> {
    const { clock } = this;
    const start = clock.now;
    const patient = hooks.patient === true;
    return new Promise<boolean>((resolve) => {
      let state: "waiting" | "settled" | "hung" = "waiting";
      const expire = (): void => {
        if (state !== "waiting") return;
        // A patient wait waits on the others: its time starts again after them.
        if (patient && this.#impatient > 0) {
          watch.deadline = clock.deadline(this.timeoutNs, expire);
          return;
        }
        state = "hung";
        this.#end(watch);
        try {
          hooks.hung?.(clock.now - start);
        } finally {
          resolve(false);
        }
      };
      const watch: Watch = { deadline: clock.deadline(this.timeoutNs, expire), expire, patient };
      this.#pending.add(watch);
      if (!patient) this.#impatient++;
      this.#arm();
      const settle = (): void => {
        if (state === "waiting") {
          state = "settled";
          watch.deadline.cancel();
          this.#end(watch);
          resolve(true);
        } else if (state === "hung") {
          hooks.late?.(clock.now - start);
        }
      };
      work.then(settle, settle);
    });
  }

  #end(watch: Watch): void {
    this.#pending.delete(watch);
    this.#changed = true;
    if (!watch.patient) {
      this.#impatient--;
      // Patient waits count their time from the end of the last wait they waited on.
      for (const other of this.#pending) {
        if (!other.patient) continue;
        other.deadline.cancel();
        other.deadline = this.clock.deadline(this.timeoutNs, other.expire);
      }
    }
    if (this.#pending.size === 0) {
      this.#quiet = 0;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Looks again in {@link LOOK_MS} ms, unless a look is armed already or nothing is pending. */
  #arm(): void {
    if (this.#timer !== undefined) return;
    if (this.#pending.size === 0) {
      this.#quiet = 0;
      return;
    }
    const { clock } = this;
    const now = clock.now;
    const fired = clock.fired;
    const activity = this.activity();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const quiet = !clock.running && clock.now === now && clock.fired === fired && this.activity() === activity;
      this.#quiet = quiet ? this.#quiet + 1 : 0;
      if (this.#quiet < QUIET_LOOKS) this.#arm();
      else void this.#move();
    }, LOOK_MS);
  }

  /** The machine is idle: move time (the module's rule), then look again. */
  async #move(): Promise<void> {
    const { clock } = this;
    this.#quiet = 0;
    try {
      if (this.#pending.size === 0) return;
      let first = Number.POSITIVE_INFINITY;
      for (const watch of this.#pending) first = Math.min(first, watch.deadline.at);
      this.#changed = false;
      // Idle: fire what is due before the earliest deadline…
      const moved = await clock.drive(first, false, () => this.#changed);
      // …and with nothing due before it, the deadline itself.
      if (moved === 0 && !this.#changed) await clock.drive(first, true, () => this.#changed);
    } finally {
      this.#arm();
    }
  }
}
