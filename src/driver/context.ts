/**
 * Atomic versus sleepable context: the kernel's `might_sleep()` and
 * `in_atomic()`. Code that must not sleep (a hard IRQ handler, the inside of
 * a `Revocable` access, a subsystem's atomic entry point) runs inside
 * {@link atomic}; every operation that may sleep calls {@link mightSleep}
 * first, and inside an atomic section that is a violation: "sleeping
 * function called from invalid context".
 *
 * JavaScript runs one thing at a time, so the context is one stack for the
 * whole process: what runs synchronously inside `atomic()` is atomic, and
 * nothing else is.
 *
 * # Invariants
 * - Every `atomic()` leaves the stack as it found it, even when its work
 *   throws.
 *
 * @module
 */

import type { Binding } from "./binding.js";

/** What is atomic now, innermost last. */
const sections: string[] = [];

/** Runs `run` in atomic context, named `what` for reports. Nests. */
export function atomic<Result>(what: string, run: () => Result): Result {
  sections.push(what);
  try {
    return run();
  } finally {
    sections.pop();
  }
}

/** The innermost atomic section now, or `undefined` in a context that may sleep. */
export function atomicContext(): string | undefined {
  return sections.at(-1);
}

/**
 * Called by every operation that may sleep, before it does. Inside an atomic
 * section this is a violation of `binding`.
 */
export function mightSleep(_binding: Binding, _operation: string): void {
  // Placeholder: the report lands with the atomic-context checks.
}
