/**
 * The machine's virtual clock. Simulated hardware schedules its work on it;
 * nothing moves until the test or the demo advances it, so the same inputs
 * always give the same trace.
 *
 * Between two events the clock lets pending promise continuations run (a
 * macrotask turn), so async driver code (IRQ-woken tasks, spawned work) keeps
 * up with the hardware the way it would on a real CPU.
 *
 * Kernel: the timer wheel and `ktime`, compressed into one event queue; a
 * driver sleeps on it through `driver/delay.ts`.
 *
 * A watchdog deadline (`sim/watchdog.ts`) is an event of its own kind: it
 * fires when a run, a sleeper or the watchdog moves time past it, but it is
 * not work the machine has to do, so it does not count in `pending` and
 * `runUntilIdle()` stops before it.
 *
 * # Invariants
 * - Time never goes backwards; events fire in (time, order of scheduling).
 * - A cancelled event never fires.
 * - One party moves time at a time (`running`): a run, a sleeper, or the
 *   watchdog; the watchdog gives way as soon as another one asks.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";

/**
 * A scheduled event; `cancel()` makes sure it never fires.
 *
 * @example
 * ```ts
 * class Blinker extends DeviceModel {
 *   #timer: Timer | undefined;
 *   override mmioWrite(): void {
 *     this.#timer?.cancel();                           // rescheduled: the old one never fires
 *     this.#timer = this.after(1_000_000, () => this.raiseIrq());
 *   }
 * }
 * ```
 */
export interface Timer {
  /** The virtual time it fires at, in ns. */
  readonly at: number;
  /** Makes sure it never fires. Harmless once fired or cancelled. */
  cancel(): void;
}

interface Entry extends Timer {
  readonly seq: number;
  readonly run: () => void;
  /** A watchdog deadline: not work the machine has to do. */
  readonly deadline: boolean;
  cancelled: boolean;
  /** Fired: cancelling it now changes nothing. */
  fired: boolean;
}

/** Cancelled entries left in the heap before it is rebuilt without them. */
const COMPACT_AT = 1024;

/** Lets every queued promise continuation run before the next event. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
declare function setImmediate(callback: () => void): unknown;

/**
 * Virtual time, in nanoseconds: `machine.clock`. Advance it with
 * `machine.run(ns)` or `machine.runUntilIdle()`.
 *
 * @example
 * ```ts
 * machine.clock.after(1_000, () => console.log("1 µs later"));
 * await machine.run(5_000);          // fires it, and stops at 5 µs
 * ```
 */
export interface Clock {
  /** The current virtual time in ns. */
  readonly now: number;
  /** Events scheduled and not cancelled. */
  readonly pending: number;
  /** Schedules `run` `ns` nanoseconds from now (0 means at the current time, after what is already due). */
  after(ns: number, run: () => void): Timer;
}

/** The machine's clock: the public face, and what the machine and the core drive it with. */
export class VirtualClock implements Clock {
  #now = 0;
  #seq = 0;
  /** A binary min-heap on (at, seq). */
  readonly #heap: Entry[] = [];
  #running = false;
  /** Events scheduled, not fired and not cancelled, deadlines left out: what `pending` says. */
  #live = 0;
  /** Cancelled entries still in the heap. */
  #cancelled = 0;
  /** Events fired so far: with `now`, how the watchdog sees that someone moves time. */
  #fired = 0;
  /** Called after each event (not a deadline) fires: the fault injector's scheduling point, when one listens. */
  onFire: (() => void) | undefined = undefined;
  /** Runs and sleepers waiting for the one moving time now. */
  #waiting = 0;
  /** True while the watchdog moves time (`drive`). */
  #driving = false;

  /** The current virtual time in ns. */
  get now(): number {
    return this.#now;
  }

  /** Events scheduled and not cancelled. */
  get pending(): number {
    return this.#live;
  }

  /** Events fired so far. */
  get fired(): number {
    return this.#fired;
  }

  /** True while a run, a sleeper or the watchdog moves time. */
  get running(): boolean {
    return this.#running;
  }

  /** Schedules `run` `ns` nanoseconds from now (0 means at the current time, after what is already due). */
  after(ns: number, run: () => void): Timer {
    // Covers delays from arithmetic: `number` admits NaN, Infinity and negatives.
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
      throw fail("EINVAL", `clock.after(${describe(ns)}): the delay is a finite, non-negative number of ns.`);
    }
    // Covers JavaScript callers: `run` is typed as a function.
    if (typeof run !== "function") throw fail("EINVAL", `clock.after: expected a function, got ${describe(run)}.`);
    return this.#schedule(ns, run, false);
  }

  /**
   * A watchdog deadline `ns` from now: it fires when time is moved past it,
   * but it is not counted in `pending` and `runUntilIdle()` stops before it.
   */
  deadline(ns: number, run: () => void): Timer {
    return this.#schedule(ns, run, true);
  }

  #schedule(ns: number, run: () => void, deadline: boolean): Timer {
    const entry: Entry = {
      at: this.#now + ns,
      seq: this.#seq++,
      run,
      deadline,
      cancelled: false,
      fired: false,
      cancel: () => {
        if (entry.cancelled || entry.fired) return;
        entry.cancelled = true;
        if (!deadline) this.#live--;
        this.#cancelled++;
        // A model that reschedules a timer on every access would grow the heap without end.
        if (this.#cancelled >= COMPACT_AT && this.#cancelled * 2 > this.#heap.length) this.#compact();
      },
    };
    if (!deadline) this.#live++;
    this.#push(entry);
    return entry;
  }

  /**
   * Advances the clock by `ns`, firing every event due by then, in order, and
   * letting promise continuations run after each. Resolves at `now + ns`.
   */
  async run(ns: number): Promise<void> {
    // Covers spans from arithmetic: `number` admits NaN, Infinity and negatives.
    if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
      throw fail("EINVAL", `run(${describe(ns)}): the span is a finite, non-negative number of ns.`);
    }
    // A driver sleeping in remove() may be driving the clock; wait for it.
    if (this.#running) await this.#wait();
    await this.#advance(this.#now + ns, Number.POSITIVE_INFINITY);
  }

  /**
   * Resolves once `ns` of virtual time has passed. If nothing else is driving
   * the clock, the sleeper drives it, so a driver can poll its device in
   * remove() without the test having to run the clock for it.
   */
  async sleep(ns: number): Promise<void> {
    let woken = false;
    const target = this.#now + ns;
    this.after(ns, () => (woken = true));
    while (!woken) {
      if (this.#running) await this.#wait();
      else await this.#advance(target, Number.POSITIVE_INFINITY);
    }
  }

  /**
   * CPU time passing inside the core (a devres release step). Device events
   * due in that time fire; with none due, time just moves on. If a run is
   * already driving the clock, that run moves time, so this only yields.
   */
  async elapse(ns: number): Promise<void> {
    if (this.#running) return;
    const next = this.#peek();
    if (next === undefined || next.at > this.#now + ns) {
      this.#now += ns;
      return;
    }
    await this.#advance(this.#now + ns, Number.POSITIVE_INFINITY);
  }

  /**
   * Fires events until none is left. A device that keeps itself busy forever
   * would never be idle, so this stops with `EBUSY` after `maxEvents` events.
   * `maxEvents` is a positive whole number (`EINVAL` otherwise): a bound that
   * is not a number would never stop the loop.
   */
  async runUntilIdle(maxEvents = 1_000_000): Promise<void> {
    // Covers a bound that is not a positive whole number, which would never stop the loop.
    if (typeof maxEvents !== "number" || !Number.isSafeInteger(maxEvents) || maxEvents < 1) {
      throw fail("EINVAL", `runUntilIdle(${describe(maxEvents)}): maxEvents is a positive whole number of events.`);
    }
    // The watchdog gives way at once; another run is EBUSY (#advance).
    if (this.#driving) await this.#wait();
    const fired = await this.#advance(Number.POSITIVE_INFINITY, maxEvents);
    if (fired >= maxEvents && this.pending > 0) {
      throw fail("EBUSY", `runUntilIdle: still busy after ${maxEvents} events at ${this.#now} ns; something reschedules itself forever. Use run(ns) for a fixed span.`);
    }
  }

  /**
   * Ends the advance in progress after the current event: a device failed
   * (a "throw"-mode violation), and whoever is running the machine must
   * hear it at that instant. A sleeper driving the clock just goes on.
   */
  stop(): void {
    if (this.#running) this.#stop = true;
  }

  #stop = false;

  /**
   * CPU time passing without yielding (`udelay`, a busy-wait in atomic
   * context): fires every event due by `now + ns`, in order, synchronously,
   * and moves time there. Nothing else runs meanwhile, as on a spinning CPU.
   */
  spin(ns: number): void {
    const until = this.#now + ns;
    for (let next = this.#peek(); next !== undefined && next.at <= until; next = this.#peek()) this.#fire(next);
    this.#now = until;
  }

  /**
   * The watchdog moving time on a machine nobody else moves: fires the
   * events due before `until` (and at it, when `inclusive`), in order, with
   * a turn after each, and stops early once `halt()` says so, or a run or a
   * sleeper asks for the clock. Time moves only to the events fired.
   * Returns how many fired; 0 at once if someone else moves time.
   */
  async drive(until: number, inclusive: boolean, halt: () => boolean): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    this.#driving = true;
    let fired = 0;
    try {
      for (;;) {
        const next = this.#peek();
        if (next === undefined || next.at > until || (next.at === until && !inclusive)) break;
        this.#fire(next);
        fired++;
        if (this.#stop) break;
        await turn();
        if (halt() || this.#waiting > 0) break;
      }
      this.#stop = false;
    } finally {
      this.#running = false;
      this.#driving = false;
    }
    return fired;
  }

  /** Waits, counted in `#waiting`, until nobody moves time. */
  async #wait(): Promise<void> {
    if (!this.#running) return;
    this.#waiting++;
    try {
      while (this.#running) await turn();
    } finally {
      this.#waiting--;
    }
  }

  #fire(entry: Entry): void {
    this.#pop();
    this.#now = entry.at;
    entry.fired = true;
    if (!entry.deadline) this.#live--;
    this.#fired++;
    entry.run();
    // A scheduling point for the test harness (`fault-inject.ts`): not the watchdog's deadlines, which are not the machine's work.
    if (!entry.deadline) this.onFire?.();
  }

  async #advance(until: number, maxEvents: number): Promise<number> {
    if (this.#running) throw fail("EBUSY", "the clock is already running; await the run in progress first.");
    this.#running = true;
    let fired = 0;
    try {
      await turn();
      for (;;) {
        const next = this.#peek();
        if (next === undefined || next.at > until || fired >= maxEvents) break;
        // Running until idle: the watchdog's deadlines are not work left to do.
        if (until === Number.POSITIVE_INFINITY && this.#live === 0) break;
        this.#fire(next);
        fired++;
        if (this.#stop) break;
        await turn();
      }
      // Math.max: a busy-wait (spin) inside an event may have moved time past `until` already.
      if (Number.isFinite(until) && !this.#stop) this.#now = Math.max(this.#now, until);
      this.#stop = false;
    } finally {
      this.#running = false;
    }
    return fired;
  }

  #peek(): Entry | undefined {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) {
      this.#pop();
      this.#cancelled--;
    }
    return this.#heap[0];
  }

  /** Rebuilds the heap without its cancelled entries: a sorted array is a heap. */
  #compact(): void {
    const kept = this.#heap.filter((entry) => !entry.cancelled).sort((a, b) => (before(a, b) ? -1 : 1));
    this.#heap.length = 0;
    this.#heap.push(...kept);
    this.#cancelled = 0;
  }

  #push(entry: Entry): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
