/**
 * A value that can be taken away: the building block under {@link Devres}.
 *
 * Mirrors Rust-for-Linux's `Revocable<T>`: readers get the value only until it
 * is revoked; revoking waits for the readers that are in the middle of using
 * it, then releases it exactly once.
 *
 * Two kinds of reader, as the kernel has two kinds of read-side section:
 * - `tryAccessWith(use)` (Rust's `try_access_with`, under RCU): `use` runs
 *   synchronously, in atomic context, and must not sleep. An async `use`
 *   does not compile; one that gets past the types (`any`, JavaScript) is
 *   still waited for by the revoke, and reported as sleeping in atomic
 *   context (`sleep-in-atomic` on the owning binding of a `Devres`; `EINVAL`
 *   for a standalone `Revocable`, which no device answers for). So is any
 *   sleeping operation `use` calls (`sleep`, `kmalloc` without `"atomic"`).
 * - `tryAccessAsync(use)` (the kernel's SRCU, whose readers may sleep):
 *   `use` may await, and the revoke waits for it to settle.
 *
 * # Invariants
 * - `revoked` goes from false to true once.
 * - The release function runs at most once, after every accessor that started
 *   before the revoke has finished (an async one included, however it got
 *   in).
 * - Exactly one `revoke()` call resolves `true`; every other resolves `false`,
 *   and only after the first one's release is complete.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { atomic, atomicReturnedPromise, isThenable } from "./context.js";

/**
 * An accessor's result as `tryAccessWith` takes it: anything but a promise.
 * An async accessor's `Promise` meets the message instead, and does not
 * compile.
 *
 * @example
 * ```ts
 * const ok: NotAPromise<number> = 1;                  // a result
 * type Refused = NotAPromise<Promise<number>>;         // the message: an async accessor does not compile
 * ```
 */
export type NotAPromise<Result> = Result extends PromiseLike<unknown> ? "a Revocable access must not sleep: make the accessor synchronous, or use tryAccessAsync" : Result;

/** The binding that answers for a Revocable's accesses (a `Devres`'s), and how reports name them. */
const owners = new WeakMap<object, { readonly binding: Binding; readonly what: string }>();

/**
 * Makes `binding` answer for the accesses of `revocable`: an async
 * accessor given to `tryAccessWith` is then its `sleep-in-atomic`
 * violation, in the section named `what`. For `Devres`, which owns one.
 */
export function answerFor<Value>(revocable: Revocable<Value>, binding: Binding, what: string): void {
  owners.set(revocable, { binding, what });
}

/**
 * A value readers can use until it is revoked.
 *
 * @example
 * ```ts
 * const reg = new Revocable({ base: 0x1000 }, (r) => console.log("unmapped", r.base));
 * reg.tryAccess()?.base;                 // 0x1000
 * reg.tryAccessWith((r) => r.base);      // 0x1000, in atomic context
 * await reg.revoke();                    // true: this caller revoked it
 * reg.tryAccess();                       // undefined
 * ```
 */
export class Revocable<Value> {
  #value: Value | undefined;
  #revoked = false;
  #release: ((value: Value) => void) | undefined;
  /** Async accessors now running. */
  #inFlight = 0;
  /** Wakes the revoker once `#inFlight` drops to zero. */
  #drained: (() => void) | undefined;
  /** The first revoke's completion; later revokers wait on it. */
  #done: Promise<void> | undefined;

  /**
   * @param value - what readers get until revocation.
   * @param release - runs once, after the last in-flight accessor, when the
   *   value is revoked. May be async; the revoke waits for it.
   */
  constructor(value: Value, release?: (value: Value) => void) {
    // Covers JavaScript callers: the release is typed as a function or undefined.
    if (release !== undefined && typeof release !== "function") {
      throw fail("EINVAL", "Revocable: release must be a function or undefined.");
    }
    this.#value = value;
    this.#release = release;
  }

  /** True once `revoke()` has been called. */
  get revoked(): boolean {
    return this.#revoked;
  }

  /** The value, or `undefined` once revoked. Usable anywhere, with no token. */
  tryAccess(): Value | undefined {
    return this.#revoked ? undefined : this.#value;
  }

  /**
   * Runs `use` with the value, synchronously and in atomic context, and
   * returns its result; returns `undefined` without calling it when the
   * value is already revoked (Rust's `try_access_with`). `use` must not
   * sleep: an async `use` does not compile, and a sleeping operation inside
   * it is reported (`sleep-in-atomic`). A revoke cannot start while it runs.
   * Throws `EINVAL` if `use` is not a function.
   *
   * Covers an async `use` that gets past the types: the revoke still waits
   * for it, and it is reported on the binding that owns this value (a
   * `Devres`), or throws `EINVAL` for a standalone `Revocable`.
   *
   * @example
   * ```ts
   * const regs = new Revocable(iomap(dev, 0));
   * const n = regs.tryAccessWith((r) => r.read32(dev, 0x10));   // undefined once revoked
   * ```
   */
  tryAccessWith<Result>(use: (value: Value) => NotAPromise<Result>): Result | undefined {
    // Covers JavaScript callers: `use` is typed as a function.
    if (typeof use !== "function") {
      throw fail("EINVAL", `tryAccessWith: expected a function to run with the value, got ${describe(use)}.`);
    }
    if (this.#revoked) return undefined;
    const owner = owners.get(this);
    const what = owner?.what ?? "Revocable access";
    // Counted while it runs, so that a revoke `use` itself starts waits for it.
    this.#inFlight++;
    let result: unknown;
    try {
      result = atomic(what, () => use(this.#value as Value), owner?.binding);
    } catch (error) {
      this.#settled();
      throw error;
    }
    if (!isThenable(result)) {
      this.#settled();
      // Safe: `use` returned it, and it is not a promise, so it is the `Result` the types say.
      return result as Result;
    }
    // Sleeping in atomic context: the value stays alive until the promise settles, whichever way; then say so.
    const settled = (): void => this.#settled();
    Promise.resolve(result).then(settled, settled);
    atomicReturnedPromise(what, owner?.binding, "the accessor");
    // Safe: the types refuse an async `use`; what got past them gets its own promise back, as JavaScript would expect.
    return result as Result;
  }

  /**
   * Runs `use` with the value and resolves with its result, or resolves
   * `undefined` without calling it when the value is already revoked. `use`
   * may be async and may sleep: a revoke that starts while it runs waits for
   * it to settle before releasing the value, so `use` never sees a released
   * value (a sleepable read-side section, like the kernel's SRCU). Rejects
   * with `EINVAL` if `use` is not a function.
   *
   * @example
   * ```ts
   * const regs = new Revocable(iomap(dev, 0));
   * const n = await regs.tryAccessAsync(async (r) => {
   *   await sleep(dev, 1_000);
   *   return r.read32(dev, 0x10);
   * });   // undefined once revoked
   * ```
   */
  async tryAccessAsync<Result>(use: (value: Value) => Result | PromiseLike<Result>): Promise<Result | undefined> {
    // Covers JavaScript callers: `use` is typed as a function.
    if (typeof use !== "function") {
      throw fail("EINVAL", `tryAccessAsync: expected a function to run with the value, got ${describe(use)}.`);
    }
    if (this.#revoked) return undefined;
    this.#inFlight++;
    try {
      return await use(this.#value as Value);
    } finally {
      this.#settled();
    }
  }

  /** One accessor fewer in flight; the last one wakes a waiting revoke. */
  #settled(): void {
    if (--this.#inFlight === 0) this.#drained?.();
  }

  /**
   * Revokes the value: new accessors get `undefined` at once; in-flight ones
   * are awaited; then the release function runs. Resolves `true` for the
   * first caller only. A concurrent or later caller resolves `false`, after
   * the first caller's release is complete. If the release throws, the first
   * caller's promise rejects with that error; the value stays revoked.
   */
  revoke(): Promise<boolean> {
    if (this.#done !== undefined) {
      return this.#done.then(
        () => false,
        () => false,
      );
    }
    this.#revoked = true;
    this.#done = this.#finish();
    return this.#done.then(() => true);
  }

  async #finish(): Promise<void> {
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => (this.#drained = resolve));
      this.#drained = undefined;
    }
    const value = this.#value as Value;
    const release = this.#release;
    this.#value = undefined;
    this.#release = undefined;
    // The release may be async: it is typed `void` so that any function fits, and awaited whatever it returns.
    if (release !== undefined) await (release(value) as unknown);
  }
}
