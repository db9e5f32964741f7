/**
 * Device-managed resources: the kernel's devres (`devm_add_action`,
 * `devres_release_all`) as Rust-for-Linux's `Devres<T>` shapes it.
 *
 * Two parts, one concept:
 * - the binding's devres stack ({@link DevresStack}): every resource a
 *   binding takes (coherent memory, MMIO mappings, IRQs, bus mastering,
 *   `Devres` entries) is pushed on it, and the driver core walks it after
 *   `remove()` returns, last in first out (`devres_release_all`);
 * - {@link Devres}: a value tied to one binding, revoked and released by that
 *   walk or earlier by `release()`. While the binding lives, `access(dev)`
 *   with the binding's token gives the value with no further check; from
 *   anywhere else, `tryAccess()` gives it or `undefined`.
 *
 * # Invariants
 * - The stack's order is acquisition order; the walk releases in reverse and
 *   awaits each release before the next.
 * - Each resource is released once: by an early release (which takes it off
 *   the stack) or by the walk, never both.
 * - One release that throws or rejects does not stop the walk: what was
 *   acquired before it is still released.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import type { devresOfOneBindingOnly, Invariant } from "../internal/brand.js";
import type { Binding, Resource, ResourceStack } from "./binding.js";
import { liveBinding } from "./binding.js";
import type { BoundDevice } from "./device.js";
import { Revocable } from "./revocable.js";

/**
 * One binding's devres stack and its release walk. The driver core makes one
 * per binding and walks it at unbind.
 */
export class DevresStack implements ResourceStack {
  readonly #resources = new Set<Resource>();

  add(resource: Resource): void {
    this.#resources.add(resource);
  }

  forget(resource: Resource): void {
    this.#resources.delete(resource);
  }

  get size(): number {
    return this.#resources.size;
  }

  /**
   * Releases every resource, last in first out, awaiting each before the
   * next, and logs each as a `release` (or `release-failed`) event of
   * `binding`. `between` runs after each successful release: the CPU time a
   * release step takes, in which a device nobody halted keeps running.
   */
  async releaseAll(binding: Binding, between: () => Promise<void>): Promise<void> {
    const stack = [...this.#resources];
    for (let i = stack.length - 1; i >= 0; i--) {
      const resource = stack[i]!;
      // An earlier release may have released this one too (a devres entry
      // whose release frees an allocation of the same binding).
      if (!this.#resources.has(resource)) continue;
      this.#resources.delete(resource);
      try {
        await resource.release();
        binding.emit({ kind: "release", resource: resource.kind, bar: resource.bar, address: resource.extent?.address, size: resource.extent?.size, detail: resource.label });
        await between();
      } catch (error) {
        binding.emit({ kind: "release-failed", resource: resource.kind, bar: resource.bar, address: resource.extent?.address, size: resource.extent?.size, detail: `${resource.label}: ${error instanceof Error ? error.message : String(error)}`, error });
      }
    }
  }
}

// Declaration merging puts the invariant scope brand on the class without a
// run-time field. See internal/brand.ts for why it must be invariant.
export interface Devres<in out Scope, Value> {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [devresOfOneBindingOnly]: Invariant<Scope>;
}

/**
 * A value owned by one binding, released at unbind.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const stats = Devres.new(dev, { packets: 0 }, (s) => console.log("final", s.packets));
 *     return {
 *       remove(dev) {
 *         stats.access(dev).packets++;      // the token proves the binding is live
 *       },
 *     };
 *   },
 * });
 * ```
 */
export class Devres<in out Scope, Value> {
  readonly #binding: Binding;
  readonly #revocable: Revocable<Value>;
  readonly #entry: Resource;
  // The hot path's copy of the value, cleared the moment the entry is
  // revoked: `access` reads two fields instead of going through the Revocable.
  #value: Value | undefined;
  #revoked = false;

  private constructor(binding: Binding, value: Value, release: ((value: Value) => void) | undefined) {
    this.#binding = binding;
    this.#value = value;
    this.#revocable = new Revocable(value, release);
    this.#entry = { label: `devres of driver "${binding.driver}"`, kind: "devres", release: () => this.#revoke() };
    binding.devres.add(this.#entry);
  }

  /**
   * Registers `value` with the binding behind `dev`. `release` runs once,
   * after `remove()` (last in first out) or at `release()`; it may be async,
   * and the unbind waits for it. Typed as returning `void`, so any function
   * fits (`(s) => set.delete(s)` included).
   *
   * Throws `ENXIO` for a dead token, `EPERM` for a forged one.
   */
  static new<Scope, Value>(
    dev: BoundDevice<Scope>,
    value: Value,
    release?: (value: Value) => void,
  ): Devres<Scope, Value> {
    const binding = liveBinding(dev, "Devres.new");
    // Covers JavaScript callers: the release is typed as a function or undefined.
    if (release !== undefined && typeof release !== "function") {
      throw fail("EINVAL", `Devres.new: ${binding.describe()}: release must be a function or undefined.`);
    }
    return new Devres<Scope, Value>(binding, value, release);
  }

  /**
   * The value, for the holder of this binding's live token.
   *
   * Throws `ENXIO` for a dead token (checked first), `EINVAL` for a token of
   * another device or binding, `ENXIO` when this entry was released early.
   */
  /**
   * A property, not a method, so that no declaration merging
   * (`declare module "boundscope"`) can add a weaker overload.
   */
  readonly access = (dev: BoundDevice<Scope>): Value => {
    // Fast path: identity with the binding's one token proves it genuine.
    const owner = this.#binding;
    if (dev === owner.token && owner.live && !this.#revoked) return this.#value as Value;
    const binding = liveBinding(dev, "Devres.access");
    if (binding !== this.#binding) {
      // Covers a token of another binding passed through a cast or `any`:
      // the invariant scope refuses it in the types.
      throw fail(
        "EINVAL",
        `Devres.access: the token is for ${binding.describe()}, but this resource belongs to ${this.#binding.describe()}. Use the token of the binding that created it.`,
      );
    }
    if (this.#revocable.revoked) {
      throw fail("ENXIO", `Devres.access: ${this.#binding.describe()}: this resource was released. Do not use it after release().`);
    }
    return this.#revocable.tryAccess() as Value;
  };

  /** The value, or `undefined` once revoked. Needs no token; usable anywhere. */
  tryAccess(): Value | undefined {
    return this.#revocable.tryAccess();
  }

  /**
   * Runs `use` with the value unless it is revoked; a concurrent unbind waits
   * for `use` to finish before releasing the value.
   */
  tryAccessWith<Result>(use: (value: Value) => Result | Promise<Result>): Promise<Result | undefined> {
    return this.#revocable.tryAccessWith(use);
  }

  /** True once revoked, by `release()` or by unbind. */
  get revoked(): boolean {
    return this.#revocable.revoked;
  }

  /**
   * Revokes and releases the value now instead of at unbind. Idempotent: a
   * second call, or one racing the unbind, resolves once the release is done.
   */
  async release(): Promise<void> {
    // The entry stays on the devres stack until its release is done, so an
    // unbind racing this call waits for it instead of finishing first.
    try {
      await this.#revoke();
    } finally {
      this.#binding.devres.forget(this.#entry);
    }
  }

  /** The same as `release()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  async #revoke(): Promise<void> {
    this.#revoked = true;
    this.#value = undefined;
    if (await this.#revocable.revoke()) {
      this.#binding.emit({ kind: "revoke", resource: "devres", detail: this.#entry.label });
    }
  }
}
