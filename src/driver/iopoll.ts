/**
 * Polling a register until a condition holds, with a timeout in the
 * machine's virtual time: the kernel's `read_poll_timeout` (and its
 * `readl_poll_timeout` shorthands) and `read_poll_timeout_atomic`.
 *
 * The sleeping form sleeps between reads (as `sleep` does), so it takes a
 * `SleepableDevice`: probe, remove, a task, a threaded handler's thread
 * part. The atomic form busy-waits between reads (`udelay`): virtual time
 * passes and device events due meanwhile fire, but nothing else runs, as on
 * a spinning CPU; it takes any live token, so a hard IRQ handler or a
 * `Revocable` access may use it.
 *
 * Both read once more after the deadline, as the kernel does, so a
 * condition that came true while the poller slept is not reported as a
 * timeout. A device that is gone reads all-ones: a condition that all-ones
 * satisfies (a "ready" bit) holds at once, as it does for a real driver.
 *
 * # Invariants
 * - The condition is tested on every value read, and the value returned is
 *   the last one read, for which it held.
 * - A timeout is `ETIMEDOUT`, at the first poll after `timeoutNs` of
 *   virtual time (within one `sleepNs`/`delayNs` of it).
 * - The sleeping form stops with `ENXIO` at the first poll after its
 *   binding ended.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { BoundDevice, SleepableDevice } from "./device.js";

/**
 * How `readPollTimeout` polls: `sleepNs` between reads (more than 0), and
 * `timeoutNs` of virtual time before it gives up (0: never, as in the
 * kernel).
 *
 * @example
 * ```ts
 * const options: PollOptions = { sleepNs: 10_000, timeoutNs: 1_000_000 };   // every 10 µs, for 1 ms
 * ```
 */
export interface PollOptions {
  readonly sleepNs: number;
  readonly timeoutNs: number;
}

/**
 * How `readPollTimeoutAtomic` polls: `delayNs` of busy-waiting between reads
 * (more than 0) and `timeoutNs` before it gives up (more than 0), at most a
 * million reads.
 *
 * @example
 * ```ts
 * const options: AtomicPollOptions = { delayNs: 100, timeoutNs: 10_000 };   // every 100 ns, for 10 µs
 * ```
 */
export interface AtomicPollOptions {
  readonly delayNs: number;
  readonly timeoutNs: number;
}

/** The most reads one atomic poll may make: a busy-wait that long would be a bug in the driver, and here it would stall the process. */
const MAX_ATOMIC_POLLS = 1_000_000;

/** A value for a message: registers in hex. */
function shown(value: unknown): string {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return `0x${value.toString(16)}`;
  if (typeof value === "bigint" && value >= 0n) return `0x${value.toString(16)}n`;
  return describe(value);
}

/** Checks the read and the condition. Covers callers in JavaScript or through `any`: the types say functions. */
function checkFunctions(binding: Binding, name: string, read: unknown, cond: unknown): void {
  if (typeof read !== "function" || typeof cond !== "function") {
    throw fail("EINVAL", `${name}: ${binding.describe()}: expected a read function and a condition function, got ${describe(read)} and ${describe(cond)}.`);
  }
}

/** A span of virtual time: finite, whole, at least `min`. Covers spans from arithmetic or `any`. */
function isSpan(value: unknown, min: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min;
}

/**
 * Reads with `read` until `cond` holds of the value, sleeping `sleepNs`
 * between reads, and resolves with that value (`read_poll_timeout`,
 * `readl_poll_timeout`). After `timeoutNs` of virtual time (0: no limit) it
 * reads once more and, if the condition still fails, rejects with
 * `ETIMEDOUT`, naming the last value read. What `read` or `cond` throws
 * rejects it as is.
 *
 * Sleeps: a `SleepableDevice`. `ENXIO` for a dead token, and at the first
 * poll after the binding ended; `EINVAL` for options that are not whole
 * numbers of ns (`sleepNs` at least 1, `timeoutNs` at least 0) or a `read`
 * or `cond` that is not a function.
 *
 * @example
 * ```ts
 * const STATUS = 0x04, RESET_DONE = 0x1;
 * async function waitForReset<Scope>(dev: SleepableDevice<Scope>, regs: IoMapping<Scope>): Promise<number> {
 *   return readPollTimeout(dev, () => regs.read32(dev, STATUS), (status) => (status & RESET_DONE) !== 0, { sleepNs: 10_000, timeoutNs: 1_000_000 });
 * }
 * ```
 */
export const readPollTimeout = async <Scope, Value>(
  dev: SleepableDevice<Scope>,
  read: () => Value,
  cond: (value: Value) => boolean,
  options: PollOptions,
): Promise<Value> => {
  const name = "readPollTimeout";
  const binding = liveBinding(dev, name);
  checkFunctions(binding, name, read, cond);
  const { sleepNs, timeoutNs } = (options ?? {}) as Partial<PollOptions>;
  if (!isSpan(sleepNs, 1) || !isSpan(timeoutNs, 0)) {
    throw fail("EINVAL", `${name}: ${binding.describe()}: sleepNs must be a whole number of ns of at least 1 and timeoutNs one of at least 0 (0: no limit), got ${describe(sleepNs)} and ${describe(timeoutNs)}. To poll without sleeping, use readPollTimeoutAtomic.`);
  }
  // Covers a token the types let through into atomic context (a Revocable access, `any`): this sleeps.
  mightSleep(binding, name);
  const { port } = binding;
  const deadline = port.now + timeoutNs;
  for (;;) {
    const expired = timeoutNs > 0 && port.now > deadline;
    const value = read();
    if (cond(value)) return value;
    if (expired) {
      throw fail("ETIMEDOUT", `${name}: ${binding.describe()}: the condition did not hold within ${timeoutNs} ns; the last value read was ${shown(value)}.`);
    }
    // The platform's sleep, not `sleep()`: mightSleep above reported an atomic caller once already.
    await port.sleep(sleepNs);
    // Covers a binding that ended while the poller slept (an unbind, an unplug): its token is dead now.
    if (!binding.live) throw fail("ENXIO", `${name}: ${binding.describe()}: ${binding.deathNotice()}`);
  }
};

/**
 * Reads with `read` until `cond` holds of the value, busy-waiting `delayNs`
 * of virtual time between reads, and returns that value
 * (`read_poll_timeout_atomic`, `readl_poll_timeout_atomic`). Device events
 * due meanwhile fire, but nothing else runs. After `timeoutNs` it reads once
 * more and, if the condition still fails, throws `ETIMEDOUT`.
 *
 * Never sleeps: any live token, a hard IRQ handler's included. `ENXIO` for a
 * dead token; `EINVAL` for options that are not whole numbers of ns of at
 * least 1, or that would poll more than a million times.
 *
 * @example
 * ```ts
 * const STATUS = 0x04, FIFO_READY = 0x2;
 * function ack<Scope>(dev: IrqDevice<Scope>, regs: IoMapping<Scope>): void {
 *   readPollTimeoutAtomic(dev, () => regs.read32(dev, STATUS), (s) => (s & FIFO_READY) !== 0, { delayNs: 100, timeoutNs: 10_000 });
 * }
 * ```
 */
export const readPollTimeoutAtomic = <Scope, Value>(
  dev: BoundDevice<Scope>,
  read: () => Value,
  cond: (value: Value) => boolean,
  options: AtomicPollOptions,
): Value => {
  const name = "readPollTimeoutAtomic";
  const binding = liveBinding(dev, name);
  checkFunctions(binding, name, read, cond);
  const { delayNs, timeoutNs } = (options ?? {}) as Partial<AtomicPollOptions>;
  if (!isSpan(delayNs, 1) || !isSpan(timeoutNs, 1)) {
    throw fail("EINVAL", `${name}: ${binding.describe()}: delayNs and timeoutNs must be whole numbers of ns of at least 1, got ${describe(delayNs)} and ${describe(timeoutNs)}.`);
  }
  if (timeoutNs / delayNs > MAX_ATOMIC_POLLS) {
    throw fail("EINVAL", `${name}: ${binding.describe()}: polling every ${delayNs} ns for ${timeoutNs} ns would read more than ${MAX_ATOMIC_POLLS} times; raise delayNs, or sleep between reads with readPollTimeout.`);
  }
  const { port } = binding;
  let left = timeoutNs;
  for (;;) {
    const expired = left < 0;
    const value = read();
    if (cond(value)) return value;
    if (expired) {
      throw fail("ETIMEDOUT", `${name}: ${binding.describe()}: the condition did not hold within ${timeoutNs} ns; the last value read was ${shown(value)}.`);
    }
    port.busyWait(delayNs);
    left -= delayNs;
  }
};
