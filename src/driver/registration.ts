/**
 * Subsystem registrations: the one way a subsystem calls into a bound
 * driver. A driver registers an interface in `probe()` (a netdev, a block
 * device), and the subsystem calls its ops through the {@link Registration}
 * only: each op gets the binding's token in the context it runs in (the
 * atomic ones inside `atomic()`, as an `AtomicDevice`; the others as a
 * `SleepableDevice`), so no op closes over the probe token.
 *
 * Kernel: `register_netdev`/`unregister_netdev` and
 * `add_disk`/`del_gendisk`, and what Rust-for-Linux's `Registration<T>`
 * types give (a registration revoked at unbind, whose callbacks receive the
 * device in the right context).
 *
 * Unregistering (the driver's `unregister()`, typically in `remove()`, or
 * the driver core's at unbind, after `remove()` and before devres release,
 * through `Binding.registrations`) stops new calls at once, lets the
 * subsystem wind down (a netdev is closed, `ndo_stop`), and waits, under the
 * machine's watchdog, for every call still in flight. After that, a call is
 * refused with `ENXIO` and never reaches the driver.
 *
 * # Invariants
 * - The state goes registered → closing → closed, once, never back.
 * - An op runs only while registered; in `closing`, only the calls the
 *   subsystem's own wind-down makes (`ndo_stop`).
 * - `inFlight` counts every call started and not yet settled, and the work
 *   the subsystem holds (`hold()`/`release()`: a block request the driver
 *   took and has not completed). `unregister()` resolves only once it is
 *   zero, or once the watchdog reported the wait as hung.
 * - An op that throws or rejects is logged (`subsys-failed`) and never
 *   breaks the subsystem: an atomic call answers {@link OP_FAILED}.
 * - The atomic call path allocates nothing per call.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { Binding, Teardown } from "./binding.js";
import { atomic } from "./context.js";

/** What an atomic call answers when the op threw: the subsystem drops the work. */
export const OP_FAILED: unique symbol = Symbol("op failed");

const REGISTERED = 0;
const CLOSING = 1;
const CLOSED = 2;

/** What a subsystem does while a registration goes away. */
export interface RegistrationHooks {
  /** Before the wait for calls in flight: wind down (a netdev is closed). New calls are refused already. */
  readonly shutdown?: () => Promise<void> | void;
  /** The watchdog gave up on the calls in flight: fail the work the driver still holds. */
  readonly abandon?: () => void;
  /** Unregistered: nothing of it runs any more. */
  readonly closed?: () => void;
}

/**
 * One registration of a binding with a subsystem. The subsystem-facing
 * files (`netdev.ts`, `blkdev.ts`) keep it private: drivers see a scoped
 * handle.
 */
export class Registration implements Teardown {
  readonly binding: Binding;
  /** `netdev "eth0"`, `block device "disk0"`: for messages and the watchdog. */
  label: string;
  readonly #ops: Readonly<Record<string, unknown>>;
  #hooks: RegistrationHooks = {};
  #state = REGISTERED;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  #down: Promise<void> | undefined;
  /** The arguments of the atomic call under way, read at once by {@link Registration.#runAtomic}. */
  #op: (...args: unknown[]) => unknown = () => undefined;
  #a: unknown;
  #b: unknown;

  /**
   * Checks `ops` (each name in `required` a function, each in `optional`
   * absent or a function) and adds the registration to the binding's, for
   * the driver core to take down at unbind. The caller has checked the core
   * context.
   */
  constructor(binding: Binding, label: string, ops: unknown, required: readonly string[], optional: readonly string[], operation: string) {
    // Covers `any` and JavaScript: the ops parameter is typed as an object of functions.
    if (typeof ops !== "object" || ops === null) {
      throw fail("EINVAL", `${operation}: ${binding.describe()}: the ops must be an object of functions, got ${describe(ops)}.`);
    }
    // Safe: an object; each member read below is checked before it is called.
    const table = ops as Readonly<Record<string, unknown>>;
    for (const name of required) {
      // Covers JavaScript and casts: the ops type requires it to be a function.
      if (typeof table[name] !== "function") {
        throw fail("EINVAL", `${operation}: ${binding.describe()}: ops.${name} must be a function, got ${describe(table[name])}.`);
      }
    }
    for (const name of optional) {
      // Covers JavaScript and casts: the ops type allows only a function or nothing.
      if (table[name] !== undefined && typeof table[name] !== "function") {
        throw fail("EINVAL", `${operation}: ${binding.describe()}: ops.${name} must be a function or absent, got ${describe(table[name])}.`);
      }
    }
    this.binding = binding;
    this.label = label;
    this.#ops = table;
  }

  /** Joins the binding's registrations and logs it: from now on the subsystem may call. */
  register(hooks: RegistrationHooks): void {
    this.#hooks = hooks;
    this.binding.registrations.add(this);
    this.binding.emit({ kind: "subsys-register", detail: this.label });
  }

  /** True while calls reach the driver. */
  get registered(): boolean {
    return this.#state === REGISTERED;
  }

  /** True once unregistering has begun. */
  get unregistering(): boolean {
    return this.#state !== REGISTERED;
  }

  /** Calls and held work not yet settled. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** True if the driver supplied op `name`. */
  has(name: string): boolean {
    return typeof this.#ops[name] === "function";
  }

  /**
   * Calls op `name` in atomic context, named `section` for reports, with the
   * atomic token and up to two arguments. Answers what it returned, or
   * {@link OP_FAILED} if it threw (logged). `ENXIO` once unregistering: the
   * driver is not called.
   */
  callAtomic(name: string, section: string, a: unknown, b?: unknown): unknown {
    if (this.#state !== REGISTERED) throw this.refused(name);
    // Safe: the constructor checked every op the subsystem calls is a function.
    this.#op = this.#ops[name] as (...args: unknown[]) => unknown;
    this.#a = a;
    this.#b = b;
    this.#inFlight++;
    this.binding.port.schedulePoint("callback", section);
    try {
      return atomic(section, this.#runAtomic, this.binding);
    } catch (error) {
      this.failed(name, error);
      return OP_FAILED;
    } finally {
      this.release();
    }
  }

  /** Runs the call set up by `callAtomic`, taking its arguments first, so a nested call cannot see them. */
  readonly #runAtomic = (): unknown => {
    const op = this.#op;
    const a = this.#a;
    const b = this.#b;
    this.#a = this.#b = undefined;
    return op.call(this.#ops, this.binding.atomicToken, a, b);
  };

  /**
   * Calls op `name` in a context that may sleep, with the token as a
   * `SleepableDevice`, and waits for it. Rejects with the op's error (logged
   * too). `ENXIO` once unregistering, unless `closing` (the subsystem's own
   * wind-down) and the registration is still closing.
   */
  async callSleepable(name: string, closing = false): Promise<void> {
    if (this.#state !== REGISTERED && !(closing && this.#state === CLOSING)) throw this.refused(name);
    // Safe: the constructor checked every op the subsystem calls is a function or absent; absent is handled here.
    const op = this.#ops[name] as ((...args: unknown[]) => unknown) | undefined;
    if (op === undefined) return;
    this.#inFlight++;
    this.binding.port.schedulePoint("callback", `${name}() of driver "${this.binding.driver}"`);
    try {
      await op.call(this.#ops, this.binding.taskToken);
    } catch (error) {
      this.failed(name, error);
      throw error;
    } finally {
      this.release();
    }
  }

  /** Counts work the driver took and has not finished (a block request): the unregister waits for it. */
  hold(): void {
    this.#inFlight++;
  }

  /** Ends a call or held work. */
  release(): void {
    if (--this.#inFlight === 0 && this.#idle !== undefined) this.#idle();
  }

  /** The error a call after unregistering gets. */
  refused(name: string): Error {
    return fail(
      "ENXIO",
      `${name}: ${this.label} of ${this.binding.describe()} is ${this.#state === CLOSED ? "unregistered" : "being unregistered"}: the call never reaches the driver.`,
    );
  }

  /** Logs an op that threw or rejected: the subsystem goes on. */
  failed(name: string, error: unknown): void {
    this.binding.emit({ kind: "subsys-failed", detail: `${name} of ${this.label}: ${error instanceof Error ? error.message : String(error)}`, error });
  }

  /** The driver core's side: unregister at unbind. */
  takeDown(): Promise<void> {
    return this.unregister();
  }

  /**
   * Unregisters: new calls are refused from now on; the subsystem winds
   * down; then the calls in flight are waited for. Idempotent: a second
   * call waits for the first.
   */
  unregister(): Promise<void> {
    return (this.#down ??= this.#unregister());
  }

  async #unregister(): Promise<void> {
    this.#state = CLOSING;
    this.binding.registrations.delete(this);
    try {
      await this.#hooks.shutdown?.();
    } catch (error) {
      // The subsystem reports its own op failures; this is what it did not catch.
      this.failed("shutdown", error);
    }
    this.#state = CLOSED;
    if (this.#inFlight > 0) {
      // The watchdog moves virtual time while nobody else does, so a device can finish what the driver gave it.
      const idle = new Promise<void>((resolve) => (this.#idle = resolve));
      const finished = await this.binding.port.watch(idle, `${this.#inFlight} call(s) in flight on ${this.label}`, this.binding.subject());
      this.#idle = undefined;
      if (!finished) this.#hooks.abandon?.();
    }
    this.#hooks.closed?.();
    this.binding.emit({ kind: "subsys-unregister", detail: this.label });
  }
}
