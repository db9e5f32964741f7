/**
 * Atomic versus sleepable context: the kernel's `might_sleep()` and
 * `in_atomic()`. Code that must not sleep (a hard IRQ handler, the inside of
 * a `Revocable` access, a subsystem's atomic entry point) runs inside
 * {@link atomic}; every operation that may sleep calls {@link mightSleep}
 * first, and inside an atomic section that is a violation,
 * `sleep-in-atomic`: "sleeping function called from invalid context".
 *
 * JavaScript runs one thing at a time, so the context is one stack for the
 * whole process: what runs synchronously inside `atomic()` is atomic, and
 * nothing else is. To sleep, JavaScript code awaits: an atomic callback
 * that awaits returns a promise, and that is reported too
 * ({@link atomicReturnedPromise}), as sleeping in the section.
 *
 * What happens after a report is the kernel's choice: it warns and goes on.
 * So in `dmaDebug: "report"` mode the sleeping operation proceeds (the
 * allocation is made, the sleep sleeps); in `"throw"` mode the violation is
 * thrown at the call, every time, and the operation does not happen; in
 * `"off"` mode nothing is said.
 *
 * The types say it first where they can: `sleep()` and `task.stop()` take a
 * `SleepableDevice`, `vmalloc` refuses an `AtomicDevice`, and an async
 * `tryAccessWith` accessor does not compile. The allocations that have a
 * non-sleeping form ({@link Gfp} `"atomic"`, `GFP_ATOMIC`) take any token in
 * either form, so that a helper generic in the scope allocates with its
 * `BoundDevice`: the run time checks them, and covers what else the types
 * cannot see (a helper's `BoundDevice` called from a handler, a token
 * smuggled through `any`).
 *
 * # Invariants
 * - Every `atomic()` leaves the stack as it found it, even when its work
 *   throws.
 * - {@link mightSleep} outside every atomic section does nothing and costs
 *   one length check.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import { captureSite } from "../internal/site.js";
import type { Binding } from "./binding.js";

/**
 * How an allocation may get its memory: the kernel's GFP flags, reduced to
 * the two that matter for context. `"kernel"` (`GFP_KERNEL`, the default)
 * may sleep to reclaim memory, so it is refused in atomic context (a hard
 * IRQ handler, a `Revocable` access); `"atomic"` (`GFP_ATOMIC`) never
 * sleeps, and may be called anywhere. (The simulated pool never waits: the
 * flag changes only what is checked.)
 *
 * @example
 * ```ts
 * const onIrq = <Scope>(dev: IrqDevice<Scope>) => {
 *   const frame = kmalloc(dev, 60, "atomic");   // GFP_ATOMIC: allowed in a hard IRQ handler
 *   frame.free();
 * };
 * ```
 */
export type Gfp = "kernel" | "atomic";

/**
 * What is atomic now, innermost last: each section's name, and the binding
 * whose callback runs in it, if any. Two parallel stacks, not one of
 * objects: `atomic()` runs for every interrupt and every subsystem call,
 * and allocates nothing.
 */
const sectionWhat: string[] = [];
const sectionOwner: (Binding | undefined)[] = [];

/**
 * A section as messages name it: `hard IRQ handler of device …, driver "nic"
 * (binding #1)`; for a report about its own binding (`about`), which the
 * report names already, `the hard IRQ handler`.
 */
function label(what: string, owner: Binding | undefined, about?: Binding): string {
  if (owner !== undefined && owner === about) return `the ${what}`;
  return owner === undefined ? what : `${what} of ${owner.describe()}`;
}

/**
 * Runs `run` in atomic context, named `what` for reports (`hard IRQ
 * handler`, `Revocable access`), with `owner` the binding whose callback it
 * runs, if one does: the report names it. Nests. Returns what `run`
 * returns; a caller that runs a driver's callback checks the result with
 * {@link atomicReturnedPromise}.
 */
export function atomic<Result>(what: string, run: () => Result, owner?: Binding): Result {
  sectionWhat.push(what);
  sectionOwner.push(owner);
  try {
    return run();
  } finally {
    sectionWhat.pop();
    sectionOwner.pop();
  }
}

/** The innermost atomic section now, as messages name it, or `undefined` in a context that may sleep. */
export function atomicContext(): string | undefined {
  const depth = sectionWhat.length;
  return depth === 0 ? undefined : label(sectionWhat[depth - 1]!, sectionOwner[depth - 1]);
}

/**
 * Called by every operation that may sleep, before it does (after its
 * arguments are checked, so a refused call reports nothing else). Inside an
 * atomic section this is a `sleep-in-atomic` violation of `binding`, naming
 * `operation` (`sleep`, `kmalloc (GFP_KERNEL)`), the innermost section and
 * the driver's call site. In `dmaDebug: "throw"` mode it throws the
 * violation, and the operation does not happen; otherwise the operation
 * goes on, as the kernel's does after its warning.
 */
export function mightSleep(binding: Binding, operation: string): void {
  const depth = sectionWhat.length;
  if (depth === 0) return binding.port.schedulePoint("sleep", operation);
  const section = label(sectionWhat[depth - 1]!, sectionOwner[depth - 1], binding);
  const { port } = binding;
  const error = port.report({ ...binding.subject(), seen: "might-sleep", operation, section, site: port.checking ? captureSite() : undefined, returnedPromise: false });
  if (error !== undefined) throw error;
}

/**
 * True if `value` is a thenable: what an atomic callback returns when it is
 * async or awaits. Reading `then` of a hostile object may throw: that is not
 * a thenable.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    return false;
  }
}

/**
 * Says that `callback`, run in the atomic section `what` (of `owner`),
 * returned a promise: it is async, or awaits, and so sleeps in a context
 * that must not. With an owner this is a `sleep-in-atomic` violation of it
 * (thrown in `dmaDebug: "throw"` mode, else reported, and the caller goes
 * on); with none (a standalone `Revocable`, which no device answers for)
 * there is no checker to tell, so it throws `EINVAL`. `callback` names it
 * for people: `the IRQ handler`, `the accessor`.
 *
 * Covers what the types refuse but `any`, a cast or JavaScript gets past: an
 * async hard IRQ handler, an async `tryAccessWith` accessor.
 */
export function atomicReturnedPromise(what: string, owner: Binding | undefined, callback: string): void {
  const section = label(what, owner, owner);
  if (owner === undefined) {
    throw fail(
      "EINVAL",
      `sleeping function called from invalid context: ${callback} returned a promise inside ${section}: it awaits, and code there must not sleep. Keep it synchronous; for async work use tryAccessAsync(), which the revoke waits for.`,
    );
  }
  const error = owner.port.report({ ...owner.subject(), seen: "might-sleep", operation: callback, section, site: undefined, returnedPromise: true });
  if (error !== undefined) throw error;
}
