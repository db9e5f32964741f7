/**
 * Device-managed resources: the kernel's devres (`devm_add_action`,
 * `devres_release_all`, and the groups: `devres_open_group`,
 * `devres_close_group`, `devres_remove_group`, `devres_release_group`) as
 * Rust-for-Linux's `Devres<T>` shapes it.
 *
 * Three parts, one concept:
 * - the binding's devres stack ({@link DevresStack}): every resource a
 *   binding takes (coherent memory, MMIO mappings, IRQs, bus mastering,
 *   `Devres` entries) is pushed on it, and the driver core walks it at
 *   unbind, last in first out (`devres_release_all`), after the driver's own
 *   teardown (`core/dd.ts`);
 * - {@link Devres}: a value tied to one binding, revoked and released by that
 *   walk or earlier by `release()`. While the binding lives, `access(dev)`
 *   with the binding's token gives the value with no further check; from
 *   anywhere else, `tryAccess()` gives it or `undefined`;
 * - {@link DevresGroup}: a span of the stack. Resources taken while a group
 *   is open join it (and every enclosing open group); releasing the group
 *   releases them now, last in first out, so a probe can roll back part of
 *   its set-up; removing it leaves them to the binding.
 *
 * # Invariants
 * - The stack's order is acquisition order; the walk releases in reverse and
 *   awaits each release before the next.
 * - Each resource is released once: by an early release (which takes it off
 *   the stack and out of every group), by its group's release, or by the
 *   walk, never twice.
 * - One release that throws or rejects does not stop the walk (or a group's
 *   release): what was acquired before it is still released.
 * - A group's members are resources still on the stack that were taken while
 *   it was open. The open groups form one chain, outermost first: closing or
 *   releasing a group closes the groups opened inside it that are still open,
 *   and releasing a group releases them with it; removing a group hands the
 *   groups opened inside it to its parent.
 * - A group is used only with its own binding's live token, in the core
 *   context; once released or removed, it is used no more. At unbind the
 *   groups end with the binding: their resources are walked with the rest.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import type { devresGroupOfOneBindingOnly, devresOfOneBindingOnly, Invariant } from "../internal/brand.js";
import type { Binding, Resource, ResourceStack } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import { isThenable } from "./context.js";
import type { BoundDevice, ProbeDevice } from "./device.js";
import { answerFor, Revocable } from "./revocable.js";
import type { NotAPromise } from "./revocable.js";

/**
 * Where a group is in its life: open, closed, then released or removed.
 *
 * @example
 * ```ts
 * const settledGroup = (state: DevresGroupState) => state === "released" || state === "removed";
 * ```
 */
export type DevresGroupState = "open" | "closed" | "released" | "removed";

/** One group's bookkeeping on the stack: the kernel's pair of group markers. */
class GroupRecord {
  state: DevresGroupState = "open";
  /** Resources taken while it was open and still on the stack, in acquisition order. */
  readonly members = new Set<Resource>();

  constructor(
    /** The innermost group open when this one was opened. */
    public parent: GroupRecord | undefined,
    readonly serial: number,
  ) {}

  /** True if `group` is this one or was opened inside it. */
  encloses(group: GroupRecord): boolean {
    for (let at: GroupRecord | undefined = group; at !== undefined; at = at.parent) if (at === this) return true;
    return false;
  }
}

/**
 * One binding's devres stack, its groups and its release walk. The driver
 * core makes one per binding and walks it at unbind.
 */
export class DevresStack implements ResourceStack {
  readonly #resources = new Set<Resource>();
  /** Groups not yet released or removed, in the order they were opened. */
  readonly #groups = new Set<GroupRecord>();
  #nextGroup = 1;

  add(resource: Resource): void {
    this.#resources.add(resource);
    for (const group of this.#groups) if (group.state === "open") group.members.add(resource);
  }

  forget(resource: Resource): void {
    this.#resources.delete(resource);
    for (const group of this.#groups) group.members.delete(resource);
  }

  get size(): number {
    return this.#resources.size;
  }

  /** Opens a group inside the innermost open one. */
  openGroup(): GroupRecord {
    let parent: GroupRecord | undefined;
    for (const group of this.#groups) if (group.state === "open") parent = group;
    const group = new GroupRecord(parent, this.#nextGroup++);
    this.#groups.add(group);
    return group;
  }

  /** Closes `group` and the groups still open inside it: they take no more resources. */
  closeGroup(group: GroupRecord): void {
    for (const other of this.#groups) if (other.state === "open" && group.encloses(other)) other.state = "closed";
  }

  /**
   * Dissolves `group`: its resources stay on the stack (and in the other
   * groups they joined), the groups opened inside it move to its parent.
   */
  removeGroup(group: GroupRecord): void {
    group.state = "removed";
    group.members.clear();
    this.#groups.delete(group);
    for (const other of this.#groups) if (other.parent === group) other.parent = group.parent;
  }

  /**
   * Releases `group`'s resources now, last in first out, awaiting each, and
   * takes them off the stack; the group, and the groups opened inside it,
   * end released. Logs each release as the walk does.
   */
  async releaseGroup(group: GroupRecord, binding: Binding): Promise<void> {
    const members = [...group.members];
    for (const other of this.#groups) {
      if (!group.encloses(other)) continue;
      other.state = "released";
      other.members.clear();
      this.#groups.delete(other);
    }
    for (let i = members.length - 1; i >= 0; i--) {
      const resource = members[i]!;
      // Released early meanwhile, or by an earlier release of this walk.
      if (!this.#resources.has(resource)) continue;
      this.forget(resource);
      await releaseOne(resource, binding, async (work) => {
        await work;
        return true;
      });
    }
  }

  /**
   * Releases every resource, last in first out, awaiting each (under the
   * machine's watchdog) before the next, and logs each as a `release` (or
   * `release-failed`) event of `binding`. `between` runs after each
   * successful release: the CPU time a release step takes, in which a device
   * nobody halted keeps running. Groups still open or closed end with it.
   */
  async releaseAll(binding: Binding, between: () => Promise<void>): Promise<void> {
    for (const group of this.#groups) {
      group.state = "released";
      group.members.clear();
    }
    this.#groups.clear();
    const stack = [...this.#resources];
    for (let i = stack.length - 1; i >= 0; i--) {
      const resource = stack[i]!;
      // An earlier release may have released this one too (a devres entry
      // whose release frees an allocation of the same binding).
      if (!this.#resources.has(resource)) continue;
      this.#resources.delete(resource);
      const watch = (work: Promise<unknown>): Promise<boolean> => binding.port.watch(work, `devres release of ${resource.label}`, binding.subject());
      if (await releaseOne(resource, binding, watch)) await between();
    }
  }
}

/**
 * Releases one resource and logs it: `release`, or `release-failed` when it
 * throws, rejects, or is still running when `watch` gives up on it (the
 * watchdog reported the hang; the caller goes on). True if it was released.
 */
async function releaseOne(resource: Resource, binding: Binding, watch: (work: Promise<unknown>) => Promise<boolean>): Promise<boolean> {
  const logged = { resource: resource.kind, bar: resource.bar, address: resource.extent?.address, size: resource.extent?.size };
  try {
    const returned = resource.release();
    if (isThenable(returned)) {
      let failed: { readonly error: unknown } | undefined;
      const settled = Promise.resolve(returned).then(
        () => {},
        (error: unknown) => void (failed = { error }),
      );
      if (!(await watch(settled))) {
        binding.emit({ kind: "release-failed", ...logged, detail: `${resource.label}: still running when the watchdog fired` });
        return false;
      }
      if (failed !== undefined) throw failed.error;
    }
    binding.emit({ kind: "release", ...logged, detail: resource.label });
    return true;
  } catch (error) {
    binding.emit({ kind: "release-failed", ...logged, detail: `${resource.label}: ${error instanceof Error ? error.message : String(error)}`, error });
    return false;
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
    answerFor(this.#revocable, binding, "Devres access");
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
   * Runs `use` with the value unless it is revoked, synchronously and in
   * atomic context (Rust's `try_access_with`): `use` must not sleep. An
   * async `use` does not compile; one that gets past the types, or a
   * sleeping operation inside `use`, is a `sleep-in-atomic` violation of
   * this binding (see `Revocable.tryAccessWith`).
   */
  tryAccessWith<Result>(use: (value: Value) => NotAPromise<Result>): Result | undefined {
    return this.#revocable.tryAccessWith(use);
  }

  /**
   * Runs `use` with the value unless it is revoked; `use` may be async and
   * may sleep, and a concurrent unbind waits for it to settle before
   * releasing the value (see `Revocable.tryAccessAsync`).
   */
  tryAccessAsync<Result>(use: (value: Value) => Result | PromiseLike<Result>): Promise<Result | undefined> {
    return this.#revocable.tryAccessAsync(use);
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

// ---------------------------------------------------------------- groups

/**
 * A devres group: the resources one binding takes while it is open, which
 * can be released together, last in first out, before the binding ends (a
 * probe rolling back part of its set-up), or left to the binding. Made by
 * {@link openDevresGroup}; used only with its own binding's token, in
 * `probe()` or `remove()`.
 *
 * With `await using`, the group is released when the block exits unless
 * `keep(dev)` was called: set-up that fails half way is undone, set-up that
 * succeeds stays until unbind.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   async probe(dev) {
 *     const ring = allocCoherent(dev, 4096);       // not in the group: kept whatever happens below
 *     try {
 *       await using offload = openDevresGroup(dev);
 *       const table = allocCoherent(dev, 8192);    // joins the group
 *       if (table.bytes(dev)[0] !== 0) throw new Error("no offload engine");
 *       offload.keep(dev);                         // set up: the table stays until unbind
 *     } catch {
 *       // the group was released on the way out: the table is freed, the ring kept
 *     }
 *     return { remove: (dev) => ring.bytes(dev).fill(0) };
 *   },
 * });
 * ```
 */
export type DevresGroup<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [devresGroupOfOneBindingOnly]: Invariant<Scope>;
  /** `open`, `closed`, then `released` or `removed`. */
  readonly state: DevresGroupState;
  /** Resources in the group now (taken while it was open, not yet released). */
  readonly size: number;
  /**
   * Ends membership: resources taken from now on do not join the group (nor
   * the groups opened inside it). The kernel's `devres_close_group`. Closing
   * a closed group does nothing.
   */
  readonly close: (dev: ProbeDevice<Scope>) => void;
  /**
   * Releases the group's resources now, last in first out, awaiting each;
   * the binding forgets them. The groups opened inside it go with it. The
   * kernel's `devres_release_group`.
   */
  readonly release: (dev: ProbeDevice<Scope>) => Promise<void>;
  /**
   * Dissolves the group: its resources stay with the binding, released at
   * unbind. The kernel's `devres_remove_group`.
   */
  readonly remove: (dev: ProbeDevice<Scope>) => void;
  /** `remove(dev)`, named for the end of a set-up in an `await using` block. */
  readonly keep: (dev: ProbeDevice<Scope>) => void;
  /**
   * For `await using`: releases the group unless it was kept or removed (or
   * already released). Does nothing once the binding ended: the unbind
   * released its resources.
   */
  readonly [Symbol.asyncDispose]: () => Promise<void>;
};

/**
 * Opens a devres group on the binding behind `dev` (the kernel's
 * `devres_open_group`): every resource the binding takes from now until the
 * group is closed joins it, and every enclosing open group. Core-only.
 *
 * Throws `ENXIO` for a dead token, `EPERM` for a forged one or outside
 * `probe()`/`remove()`.
 *
 * A constant, not a function declaration, so that no declaration merging
 * (`declare module "boundscope"`) can add a weaker overload.
 *
 * @example
 * ```ts
 * declare function resetEngine<Scope>(dev: ProbeDevice<Scope>): boolean;
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   async probe(dev) {
 *     const group = openDevresGroup(dev);
 *     const rx = allocCoherent(dev, 4096);
 *     const tx = allocCoherent(dev, 4096);
 *     group.close(dev);
 *     if (!resetEngine(dev)) await group.release(dev);   // frees tx, then rx
 *     else group.remove(dev);                            // rx and tx stay until unbind
 *     return {};
 *   },
 * });
 * ```
 */
export const openDevresGroup = <Scope>(dev: ProbeDevice<Scope>): DevresGroup<Scope> => {
  const binding = coreBinding(dev, "openDevresGroup");
  // Safe: GroupHandle has every member of DevresGroup but the brand, which is type-level only.
  return new GroupHandle(binding, stackOf(binding, "openDevresGroup")) as unknown as DevresGroup<Scope>;
};

/** The driver core's stack behind `binding`. */
function stackOf(binding: Binding, operation: string): DevresStack {
  const stack = binding.devres;
  // Covers nothing a user can reach: the driver core makes every binding with a DevresStack.
  if (!(stack instanceof DevresStack)) throw new Error(`boundscope internal error: ${operation}: ${binding.describe()} has no devres stack.`);
  return stack;
}

class GroupHandle implements Omit<DevresGroup<unknown>, typeof devresGroupOfOneBindingOnly> {
  readonly #binding: Binding;
  readonly #stack: DevresStack;
  readonly #group: GroupRecord;

  constructor(binding: Binding, stack: DevresStack) {
    this.#binding = binding;
    this.#stack = stack;
    this.#group = stack.openGroup();
  }

  get state(): DevresGroupState {
    return this.#group.state;
  }

  get size(): number {
    return this.#group.members.size;
  }

  readonly close = (dev: ProbeDevice<unknown>): void => {
    this.#check(dev, "close");
    this.#stack.closeGroup(this.#group);
  };

  readonly release = async (dev: ProbeDevice<unknown>): Promise<void> => {
    this.#check(dev, "release");
    await this.#stack.releaseGroup(this.#group, this.#binding);
  };

  readonly remove = (dev: ProbeDevice<unknown>): void => {
    this.#check(dev, "remove");
    this.#stack.removeGroup(this.#group);
  };

  readonly keep = (dev: ProbeDevice<unknown>): void => {
    this.#check(dev, "keep");
    this.#stack.removeGroup(this.#group);
  };

  readonly [Symbol.asyncDispose] = async (): Promise<void> => {
    const { state } = this.#group;
    // Kept, removed or released already; or the unbind's walk released it.
    if (state === "released" || state === "removed" || !this.#binding.live) return;
    await this.#stack.releaseGroup(this.#group, this.#binding);
  };

  /**
   * Covers what the types cannot see: a dead token (`ENXIO`), a forged one
   * or one outside the core context (`EPERM`), a token of another binding
   * passed through a cast or `any` (`EINVAL`; the invariant scope refuses it
   * in the types), and a group already released or removed (`EINVAL`).
   */
  #check(dev: unknown, method: string): void {
    const operation = `DevresGroup.${method}`;
    const binding = liveBinding(dev, operation);
    const owner = this.#binding;
    if (binding !== owner) {
      throw fail("EINVAL", `${operation}: the token is for ${binding.describe()}, but this devres group belongs to ${owner.describe()}. Use the token of the binding that opened it.`);
    }
    binding.requireCore(operation);
    const { state } = this.#group;
    if (state === "released" || state === "removed") {
      throw fail("EINVAL", `${operation}: ${binding.describe()}: devres group #${this.#group.serial} was already ${state}${state === "released" ? " (by its own release() or an enclosing group's)" : ""}. A group ends once.`);
    }
  }
}
