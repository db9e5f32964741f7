/**
 * A value that can be taken away: the building block under {@link Devres}.
 *
 * Mirrors Rust-for-Linux's `Revocable<T>`: readers get the value only until it
 * is revoked; revoking waits for the readers that are in the middle of using
 * it (the kernel waits out an RCU grace period; here, in-flight async
 * accessors), then releases it exactly once.
 *
 * # Invariants
 * - `revoked` goes from false to true once.
 * - The release function runs at most once, after every accessor that started
 *   before the revoke has finished.
 * - Exactly one `revoke()` call resolves `true`; every other resolves `false`,
 *   and only after the first one's release is complete.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";

/**
 * A value readers can use until it is revoked.
 *
 * @example
 * ```ts
 * const reg = new Revocable({ base: 0x1000 }, (r) => console.log("unmapped", r.base));
 * reg.tryAccess()?.base;                 // 0x1000
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
   * Runs `use` with the value and resolves with its result, or resolves
   * `undefined` without calling it when the value is already revoked. A
   * revoke that starts while `use` runs waits for it to finish before
   * releasing the value, so `use` never sees a released value. Rejects with
   * `EINVAL` if `use` is not a function.
   *
   * @example
   * ```ts
   * const regs = new Revocable(iomap(dev, 0));
 * const n = await regs.tryAccessWith(async (r) => r.read32(dev, 0x10));   // undefined once revoked
   * ```
   */
  async tryAccessWith<Result>(use: (value: Value) => Result | Promise<Result>): Promise<Result | undefined> {
    // Covers JavaScript callers: `use` is typed as a function.
    if (typeof use !== "function") {
      throw fail("EINVAL", `tryAccessWith: expected a function to run with the value, got ${describe(use)}.`);
    }
    if (this.#revoked) return undefined;
    this.#inFlight++;
    try {
      return await use(this.#value as Value);
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
    }
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
