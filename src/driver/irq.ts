/**
 * Interrupts as a driver requests them: a legacy line (`devm_request_irq`,
 * shared with `IRQF_SHARED`), MSI-X and MSI vectors
 * (`pci_alloc_irq_vectors`, one handler per vector), threaded handlers
 * (`devm_request_threaded_irq`, `IRQF_ONESHOT`), and `disable_irq_nosync`,
 * `enable_irq`, `synchronize_irq` and `free_irq` on the handle.
 *
 * The hard handler runs in atomic context (`atomic()`, see `context.ts`)
 * with the binding's token typed as an `IrqDevice`: it must not sleep, and a
 * handler that claims `ProbeDevice` or `TaskDevice` does not compile. It
 * says what it did (`IrqReturn`): `"handled"`, `"none"` (not its device's, on
 * a shared line), or `"wake-thread"`, which runs the thread part after it
 * with the token as a `TaskDevice`, where it may sleep. A `void` return
 * counts as handled. What runs when a device raises a line, and the
 * "nobody cared" detector, are the interrupt controller's
 * (`sim/irq-chip.ts`, through `DevicePort`'s `IrqLine`).
 *
 * An IRQ is device-managed by default: freed at unbind, last in first out
 * with the binding's other resources; a threaded one earlier, with the
 * subsystem registrations (after `remove()`, while the token lives), since
 * its thread may still be running with the token. Vectors are freed after
 * every handler on them. With `{ managed: false }` it is the kernel's plain
 * `request_irq`: the driver must `free()` it before its binding ends (in
 * probe's error path, in `remove()` or `drop()`). One still requested when
 * the binding ends is the checker's `irq-leaked` (it names the line and
 * where it was requested), and the driver core frees it then, before the
 * token dies and before devres frees the memory its handler touches
 * (`core/dd.ts`, step 7).
 *
 * # Invariants
 * - Once `freed` is true, neither part of the handler starts again; `free()`
 *   resolves once the thread part that was running has returned.
 * - A hard handler never runs inside another (the controller runs one line
 *   at a time), and never inside its own: a raise while it runs runs it
 *   once more afterwards.
 * - One thread run at a time per handle; wakes while it runs make one more
 *   run after it (`IRQTF_RUNTHREAD`), not one each.
 * - A oneshot handle keeps its line masked from the hard part's
 *   `"wake-thread"` until its thread run returns.
 * - A handle's own `disable()`s are undone when it is freed: a freed handle
 *   leaves no line disabled for the others on it.
 * - An unmanaged handle is in its binding's `unmanagedIrqs` exactly while it
 *   is requested: it leaves the set when freed, by the driver or the core.
 *
 * @module
 */

import type { Invariant, irqOfOneBindingOnly, irqVectorsOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { Site } from "../internal/site.js";
import { captureSite } from "../internal/site.js";
import type { Binding, Resource, Teardown, UnmanagedIrq } from "./binding.js";
import { coreBinding } from "./binding.js";
import { atomic, atomicReturnedPromise, isThenable, mightSleep } from "./context.js";
import type { IrqDevice, ProbeDevice, TaskDevice } from "./device.js";
import type { IrqAction, IrqKind, IrqLine, IrqReturn } from "./ports.js";

export type { IrqKind, IrqReturn } from "./ports.js";

/**
 * A hard interrupt handler: it runs when the line is raised, in atomic
 * context, and says what it did: an {@link IrqReturn}. Anything else it
 * returns (nothing, a number) counts as `"handled"`, so it is typed as
 * returning `void`, which admits any result: handlers written before
 * `IrqReturn` (`() => count++`) still fit. Annotate the arrow `: IrqReturn`
 * to have the compiler check the values; at run time a string that is none
 * of the three is logged as `irq-failed`.
 *
 * @example
 * ```ts
 * const STATUS = 0x10;
 * function ackWith<Scope>(regs: IoMapping<Scope>): IrqHandler<Scope> {
 *   return (dev): IrqReturn => {
 *     const status = regs.read32(dev, STATUS);
 *     if (status === 0) return "none";        // not ours: the line is shared
 *     regs.write32(dev, STATUS, status);      // acknowledge
 *     return "handled";
 *   };
 * }
 * // in probe(dev): requestIrq(dev, ackWith(iomap(dev, 0)), { shared: true });
 * ```
 */
export type IrqHandler<Scope> = (dev: IrqDevice<Scope>) => void;

/**
 * The thread part of a threaded handler: it runs after a hard part returned
 * `"wake-thread"`, with the token as a `TaskDevice`, and may sleep.
 *
 * @example
 * ```ts
 * function drain<Scope>(regs: IoMapping<Scope>): IrqThread<Scope> {
 *   return async (dev) => {
 *     while (regs.read32(dev, 0x10) !== 0) await sleep(dev, 1_000);   // may sleep here
 *   };
 * }
 * ```
 */
export type IrqThread<Scope> = (dev: TaskDevice<Scope>) => void | Promise<void>;

/**
 * How to request an interrupt.
 *
 * - `shared` (`IRQF_SHARED`): share the line with the other devices plugged
 *   with the same `intx`. Every handler on it must agree to share it.
 * - `thread`: the thread part (`request_threaded_irq`).
 * - `oneshot` (`IRQF_ONESHOT`): keep the line masked from `"wake-thread"`
 *   until the thread part returns. Default: true with no hard handler
 *   (`null`), which requires it, else false. Handlers sharing a line agree
 *   on it.
 * - `name`: for messages (`/proc/interrupts`' name).
 * - `managed`: default true (`devm_request_irq`): freed at unbind. `false`
 *   is the kernel's `request_irq`: the driver must `free()` it itself before
 *   its binding ends; see {@link IrqOptions.managed}.
 *
 * @example
 * ```ts
 * const options: IrqOptions<Scope> = { shared: true, name: "nic-legacy" };
 * const unmanaged: IrqOptions<Scope> = { managed: false, name: "nic-rx" };   // free() it in remove()
 * ```
 */
export interface IrqOptions<Scope> {
  readonly shared?: boolean;
  readonly thread?: IrqThread<Scope>;
  readonly oneshot?: boolean;
  readonly name?: string;
  /**
   * Whether devres frees it at unbind (`devm_request_irq`, the default) or
   * the driver does (`request_irq` and `free_irq`, with `false`). An
   * unmanaged IRQ must be freed with `free()` before the binding ends: in
   * every error path of `probe()` after the request, and in `remove()` (or
   * `drop()`). One still requested when the binding ends (after `drop()`,
   * before the token dies) is an `irq-leaked` violation naming the line and
   * where it was requested; the driver core then frees it, so its handler
   * never runs on the dead token or on memory devres frees. `EINVAL` if not
   * a boolean.
   */
  readonly managed?: boolean;
}

/**
 * A requested interrupt.
 *
 * - `disable()` / `enable()`: `disable_irq_nosync` / `enable_irq`, nesting;
 *   they act on the whole line (for everyone sharing it), as the kernel's do.
 *   A raise while disabled is kept (one) and delivered at the last
 *   `enable()`. To wait for a running thread part as `disable_irq` does,
 *   `await handle.synchronize()` after `disable()`.
 * - `synchronize()`: resolves once no part of this handler runs.
 * - `free()`: no part starts after it returns; resolves once a running
 *   thread part returned. Refused from the handle's own hard part (it would
 *   wait for itself).
 *
 * @example
 * ```ts
 * const IRQ_ACK = 0x0c;
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     const irq = requestIrq(dev, (dev) => regs.write32(dev, IRQ_ACK, 1));
 *     return {
 *       async remove() {
 *         irq.disable();
 *         await irq.free();
 *         console.log(irq.count, "interrupts");
 *       },
 *     };
 *   },
 * });
 * ```
 */
export type IrqHandle<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [irqOfOneBindingOnly]: Invariant<Scope>;
  /** The interrupt number of its line or vector, as messages name it (`irq 17`). */
  readonly irq: number;
  /** Interrupts the hard part has run for. */
  readonly count: number;
  /** True once freed: by `free()`, or at unbind (by devres, or by the core for a leaked unmanaged one). */
  readonly freed: boolean;
  /** Disables the line one level deeper (`disable_irq_nosync`). `EINVAL` once freed. */
  disable(): void;
  /** Undoes one `disable()` of this handle; at the last, a pending raise is delivered. `EINVAL` if it has none to undo. */
  enable(): void;
  /** Resolves once no hard or thread part of this handler runs (`synchronize_irq`). */
  synchronize(): Promise<void>;
  /** Frees it now: no part starts after this returns; resolves once a running thread part returned. `EINVAL` if already freed. */
  free(): Promise<void>;
  /** `free()` without waiting, for `using`. */
  [Symbol.dispose](): void;
  /** `free()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
};

/**
 * Which kinds of vectors `allocIrqVectors` may use (`PCI_IRQ_MSIX`,
 * `PCI_IRQ_MSI`, `PCI_IRQ_INTX`). Omitted: all.
 *
 * @example
 * ```ts
 * const onlyMsix: IrqVectorTypes = { msix: true };
 * ```
 */
export interface IrqVectorTypes {
  readonly msix?: boolean;
  readonly msi?: boolean;
  readonly legacy?: boolean;
}

/**
 * The vectors `allocIrqVectors` enabled: `count` of `kind`, each requested
 * once with `request(index, handler, options?)`. Device-managed: disabled at
 * unbind after every handler on them is freed.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     const vectors = allocIrqVectors(dev, 2, 2, { msix: true });
 *     vectors.request(0, (dev) => regs.write32(dev, 0x0c, 1), { name: "rx" });
 *     vectors.request(1, (dev) => regs.write32(dev, 0x0c, 2), { name: "tx" });
 *     return {};
 *   },
 * });
 * ```
 */
export type IrqVectors<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [irqVectorsOfOneBindingOnly]: Invariant<Scope>;
  /** How many vectors were enabled: from `min` to `max`. */
  readonly count: number;
  /** Which kind they are. */
  readonly kind: IrqKind;
  /** The interrupt number of vector `index` (`pci_irq_vector`). */
  irq(index: number): number;
  /**
   * Requests vector `index` (0 to `count - 1`), as `requestIrq` does the
   * legacy line; `handler` `null` with a thread part takes the default hard
   * part (wake the thread, oneshot); `{ managed: false }` leaves freeing it
   * to the driver (`request_irq`). Core-only.
   */
  request(index: number, handler: IrqHandler<Scope> | null, options?: IrqOptions<Scope>): IrqHandle<Scope>;
};

/**
 * Requests the device's legacy interrupt line (`devm_request_irq`;
 * `devm_request_threaded_irq` with `options.thread`): `handler` runs each
 * time a device on the line raises it, in atomic context, with the token as
 * an `IrqDevice`. Device-managed: freed at unbind; once freed, no part of
 * it runs. With `{ managed: false }` it is `request_irq`: the driver frees
 * it (`free()`) before the binding ends, or it is reported `irq-leaked`
 * (see {@link IrqOptions.managed}). Core-only.
 *
 * With `handler` `null` and `options.thread`, the default hard part wakes
 * the thread, and the line stays masked until it returns (oneshot).
 * `EINVAL` for `null` with no thread part. `EBUSY` if the line is requested
 * already and either handler does not share it, or they disagree on
 * `oneshot`.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     requestIrq(dev, (irqDev) => regs.write32(irqDev, 0x0c, 1));
 *     // threaded, with the default hard part: the line stays masked while the thread runs
 *     // requestIrq(dev, null, { thread: async (taskDev) => { await sleep(taskDev, 1_000); } });
 *     return {};
 *   },
 * });
 * ```
 */
export function requestIrq<Scope>(dev: ProbeDevice<Scope>, handler: IrqHandler<Scope> | null, options?: IrqOptions<Scope>): IrqHandle<Scope> {
  const binding = coreBinding(dev, "requestIrq");
  // Safe: Irq implements IrqHandle<unknown> but for the brand, which is type-level only; the binding's scope is `Scope`.
  // The options' thread is checked to be a function in requestOn; its parameter type is the caller's business.
  return requestOn(binding, binding.port.legacyIrq, handler, options as IrqOptions<unknown> | undefined, "requestIrq") as unknown as IrqHandle<Scope>;
}

/**
 * Enables from `min` to `max` MSI-X or MSI vectors of the device
 * (`pci_alloc_irq_vectors`): MSI-X first, then MSI, then the legacy line (one
 * vector, so only with `min` 1), as `types` allows (default: all). As many
 * as the device's table has, up to `max`. Device-managed: disabled at
 * unbind, after every handler on them is freed. Core-only.
 *
 * `EINVAL` if no allowed kind offers `min` vectors (the message says what the
 * device has), or for bad bounds; `EBUSY` if the binding enabled vectors
 * already.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const vectors = allocIrqVectors(dev, 1, 8);   // one per queue, as many as it has
 *     for (let i = 0; i < vectors.count; i++) vectors.request(i, () => "handled");
 *     return {};
 *   },
 * });
 * ```
 */
export const allocIrqVectors = <Scope>(dev: ProbeDevice<Scope>, min: number, max: number, types?: IrqVectorTypes): IrqVectors<Scope> => {
  const binding = coreBinding(dev, "allocIrqVectors");
  const { port } = binding;
  // Covers bounds from arithmetic or JavaScript: `number` admits fractions, negatives and NaN.
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min || max > 2048) {
    throw fail("EINVAL", `allocIrqVectors: ${binding.describe()}: min and max must be whole numbers with 1 <= min <= max <= 2048, got ${describe(min)} and ${describe(max)}.`);
  }
  // Covers JavaScript callers: the types say an object of booleans.
  if (types !== undefined && (typeof types !== "object" || types === null || ![types.msix, types.msi, types.legacy].every((t) => t === undefined || typeof t === "boolean"))) {
    throw fail("EINVAL", `allocIrqVectors: ${binding.describe()}: types must be { msix?, msi?, legacy? } of booleans, got ${describe(types)}.`);
  }
  const allowed = types === undefined ? { msix: true, msi: true, legacy: true } : types;
  if (!allowed.msix && !allowed.msi && !allowed.legacy) {
    throw fail("EINVAL", `allocIrqVectors: ${binding.describe()}: types allows no kind of interrupt. Allow at least one of msix, msi and legacy.`);
  }
  if (port.msiVectors !== undefined) {
    throw fail("EBUSY", `allocIrqVectors: ${binding.describe()}: the device's vectors are enabled already. Allocate them once per binding.`);
  }
  const injected = port.injectedFailure("irq", "allocIrqVectors");
  if (injected !== undefined) throw injected;
  for (const kind of ["msix", "msi"] as const) {
    if (allowed[kind] !== true) continue;
    const capacity = port.irqCapacity(kind);
    if (capacity < min) continue;
    const lines = port.enableMsi(kind, Math.min(capacity, max));
    return new Vectors(binding, kind, lines) as unknown as IrqVectors<Scope>;
  }
  if (allowed.legacy === true && min === 1) {
    // Safe: Vectors implements IrqVectors<unknown> but for the brand, which is type-level only.
    return new Vectors(binding, "legacy", [port.legacyIrq]) as unknown as IrqVectors<Scope>;
  }
  const has = `it has ${port.irqCapacity("msix")} MSI-X and ${port.irqCapacity("msi")} MSI vectors and one legacy line`;
  throw fail("EINVAL", `allocIrqVectors: ${binding.describe()}: fewer than ${min} vectors of the kinds allowed (${Object.keys(allowed).filter((k) => allowed[k as keyof IrqVectorTypes] === true).join(", ")}): ${has}. Ask for fewer, or fall back to a shared handler.`);
};

/** Requests `line` for `binding`: the common part of `requestIrq` and `IrqVectors.request`. */
function requestOn(binding: Binding, line: IrqLine, handler: unknown, options: IrqOptions<unknown> | undefined, operation: string): Irq {
  const who = `${operation}: ${binding.describe()}`;
  // Covers a handler from `any` or JavaScript that is not a function.
  if (handler !== null && typeof handler !== "function") {
    throw fail("EINVAL", `${who}: the handler must be a function (or null with a thread part), got ${describe(handler)}.`);
  }
  // Covers JavaScript callers: each option has its type.
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw fail("EINVAL", `${who}: options must be { shared?, thread?, oneshot?, name?, managed? }, got ${describe(options)}.`);
  }
  const { shared = false, thread, oneshot = handler === null, name, managed = true } = options ?? {};
  if (typeof shared !== "boolean" || typeof oneshot !== "boolean") {
    throw fail("EINVAL", `${who}: shared and oneshot must be true or false.`);
  }
  // Covers JavaScript callers and `any`: a truthy string like "no" must not pass for managed.
  if (typeof managed !== "boolean") {
    throw fail("EINVAL", `${who}: managed must be true (devres frees it at unbind) or false (the driver frees it), got ${describe(managed)}.`);
  }
  if (thread !== undefined && typeof thread !== "function") {
    throw fail("EINVAL", `${who}: the thread part must be a function, got ${describe(thread)}.`);
  }
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    throw fail("EINVAL", `${who}: the name must be a non-empty string, got ${describe(name)}.`);
  }
  if (handler === null && thread === undefined) {
    throw fail("EINVAL", `${who}: with no hard handler (null), a thread part is needed: pass { thread }.`);
  }
  if (handler === null && !oneshot) {
    throw fail("EINVAL", `${who}: with no hard handler, the line must stay masked until the thread ran (oneshot), or a level-triggered device would raise it forever.`);
  }
  const injected = binding.port.injectedFailure("irq", operation);
  if (injected !== undefined) throw injected;
  // Three frames of the library stand between the driver and the capture: captureSite, requestOn, and requestIrq or IrqVectors.request.
  const site = !managed && binding.port.checking ? captureSite(2) : undefined;
  // Safe: checked to be functions just above; their parameter types are the caller's business.
  const irq = new Irq(binding, line, handler as IrqHandler<unknown> | null, thread as IrqThread<unknown> | undefined, shared, oneshot, name, managed, site);
  const busy = line.request(irq);
  if (busy === "exclusive") {
    throw fail(
      "EBUSY",
      shared
        ? `${who}: irq ${line.irq} is already requested by a handler that does not share it. Every handler on a shared line must pass { shared: true }.`
        : `${who}: irq ${line.irq} is already requested. Free it first, handle every cause in one handler, or pass { shared: true } on each if the line is shared.`,
    );
  }
  if (busy === "oneshot") {
    throw fail("EBUSY", `${who}: irq ${line.irq} is shared by handlers ${oneshot ? "without" : "with"} oneshot; every handler on a line must agree on it.`);
  }
  if (!managed) {
    // request_irq: nothing frees it but the driver; the core checks at binding end that it did.
    binding.unmanagedIrqs.add(irq);
    return irq;
  }
  binding.devres.add(irq);
  if (thread !== undefined) irq.registerTeardown();
  return irq;
}

class Irq implements Resource, UnmanagedIrq, IrqAction, Omit<IrqHandle<unknown>, typeof irqOfOneBindingOnly> {
  readonly kind = "irq";
  readonly label: string;
  /** The line and its name, without the binding: `irq 17 "rx"`. */
  readonly what: string;
  /** The hard handler's function name, if it has one. */
  readonly handlerName: string | undefined;
  /** When it was requested, virtual ns. */
  readonly requestTime: number;
  count = 0;
  freed = false;
  readonly #binding: Binding;
  readonly #line: IrqLine;
  readonly #handler: IrqHandler<unknown> | null;
  readonly #thread: IrqThread<unknown> | undefined;
  /** What the atomic section is called in reports. */
  readonly #section: string;
  /** The hard part's call, made once: the hot path allocates nothing. */
  readonly #call: () => unknown;
  /** This handle's `disable()`s not yet undone. */
  #depth = 0;
  /** True while the hard part runs. */
  #inHard = false;
  /** True while the thread part's synchronous start runs. */
  #inThread = false;
  /** The thread run in progress, with its reruns, until it settles. */
  #threadRun: Promise<void> | undefined;
  /** Woken again while the thread ran: one more run. */
  #again = false;
  #teardown: Teardown | undefined;
  /** When the last `irq` event of this handle was logged, virtual ns. */
  #loggedAt = -1;

  constructor(
    binding: Binding,
    line: IrqLine,
    handler: IrqHandler<unknown> | null,
    thread: IrqThread<unknown> | undefined,
    readonly shared: boolean,
    readonly oneshot: boolean,
    name: string | undefined,
    /** False for `request_irq` without devres: the driver frees it. */
    readonly managed: boolean,
    /** Where an unmanaged one was requested, when the checker is on. */
    readonly site: Site | undefined,
  ) {
    this.#binding = binding;
    this.#line = line;
    this.#handler = handler;
    this.#thread = thread;
    this.what = `irq ${line.irq}${name === undefined ? "" : ` "${name}"`}`;
    this.handlerName = (handler ?? thread)?.name || undefined;
    this.requestTime = binding.port.now;
    this.label = `${this.what} of ${binding.describe()}`;
    this.#section = `hard IRQ handler (irq ${line.irq})`;
    const token = binding.irqToken;
    this.#call = handler === null ? () => "wake-thread" : () => handler(token);
  }

  get irq(): number {
    return this.#line.irq;
  }

  /**
   * The hard part, as the controller calls it: unless freed, runs the
   * handler in atomic context and says what it did. A handler that throws is
   * logged, and did not handle the interrupt.
   */
  hard(): IrqReturn {
    if (this.freed) return "none";
    this.count++;
    const binding = this.#binding;
    // One event per handle per virtual instant: a burst raised at one instant (a storm, a bench) is one entry, and its size is `count`.
    const now = binding.port.now;
    if (now !== this.#loggedAt) {
      this.#loggedAt = now;
      binding.emit({ kind: "irq" });
    }
    let result: unknown;
    this.#inHard = true;
    try {
      result = atomic(this.#section, this.#call, binding);
      if (result === undefined || result === "handled") return "handled";
      if (result === "none") return "none";
      if (result === "wake-thread") {
        this.#wake();
        return "wake-thread";
      }
      // Covers what the types refuse but `any` or JavaScript gets past: an async hard handler sleeps in atomic context.
      if (isThenable(result)) atomicReturnedPromise(this.#section, binding, "the IRQ handler");
      // Covers a mistyped return the `void` form lets through (the kernel's "bogus return value").
      else if (typeof result === "string") this.#failed(new Error(`${this.label}: the handler returned ${JSON.stringify(result)}, which is not "handled", "none" or "wake-thread". It counts as handled.`));
      return "handled";
    } catch (error) {
      this.#failed(error);
      return "none";
    } finally {
      this.#inHard = false;
    }
  }

  #failed(error: unknown): void {
    this.#binding.emit({ kind: "irq-failed", detail: error instanceof Error ? error.message : String(error), error });
  }

  /** The hard part returned `"wake-thread"`: run the thread part, or once more after the one running. */
  #wake(): void {
    if (this.#thread === undefined) {
      this.#failed(new Error(`${this.label}: the handler returned "wake-thread" but has no thread part. Pass { thread } when requesting it.`));
      return;
    }
    if (this.#threadRun !== undefined) {
      this.#again = true;
      return;
    }
    if (this.oneshot) this.#line.mask();
    this.#threadRun = this.#runThread(this.#thread);
  }

  async #runThread(thread: IrqThread<unknown>): Promise<void> {
    // The thread starts after the hard part, outside its atomic section.
    await undefined;
    try {
      const binding = this.#binding;
      do {
        this.#again = false;
        if (this.freed || !binding.live) break;
        try {
          this.#inThread = true;
          let run: void | Promise<void>;
          try {
            run = thread(binding.taskToken);
          } finally {
            this.#inThread = false;
          }
          await run;
        } catch (error) {
          this.#failed(error);
        }
      } while (this.#again);
    } finally {
      this.#threadRun = undefined;
      if (this.oneshot) this.#line.unmask();
    }
  }

  /** A threaded handle is taken down with the registrations: its thread must end while the token lives. */
  registerTeardown(): void {
    const teardown: Teardown = {
      label: `threaded ${this.label}`,
      takeDown: async () => {
        if (this.freed) return;
        this.#binding.devres.forget(this);
        await this.release();
        this.#binding.emit({ kind: "release", resource: "irq", detail: this.label });
      },
    };
    this.#teardown = teardown;
    this.#binding.registrations.add(teardown);
  }

  /** Covers a call from inside its own handler, which the kernel would deadlock on: refused. */
  #refuseInside(operation: string): void {
    if (this.#inHard || this.#inThread) {
      throw fail(
        "EBUSY",
        `${operation}: ${this.label}: called from the handler's own ${this.#inHard ? "hard" : "thread"} part, which it would wait for: a deadlock in the kernel. Call it from remove() or a task; from the handler, use disable().`,
      );
    }
  }

  disable(): void {
    if (this.freed) throw fail("EINVAL", `disable: ${this.label}: the IRQ was freed.`);
    this.#depth++;
    this.#line.disable();
  }

  enable(): void {
    if (this.freed) throw fail("EINVAL", `enable: ${this.label}: the IRQ was freed.`);
    // Covers an unbalanced enable_irq, which the kernel warns about: this handle has no disable() to undo.
    if (this.#depth === 0) throw fail("EINVAL", `enable: ${this.label}: unbalanced enable: this handle has no disable() to undo.`);
    this.#depth--;
    this.#line.enable();
  }

  synchronize(): Promise<void> {
    this.#refuseInside("synchronize");
    mightSleep(this.#binding, "IrqHandle.synchronize");
    return this.#threadRun ?? Promise.resolve();
  }

  free(): Promise<void> {
    this.#refuseInside("free");
    if (this.freed) {
      const by = this.managed ? " (by devres, at unbind)" : " (by the driver core at unbind: it was leaked)";
      throw fail("EINVAL", `free: ${this.#binding.describe()}: the IRQ was already freed${this.#binding.live ? "" : by}.`);
    }
    mightSleep(this.#binding, "IrqHandle.free");
    if (this.managed) this.#binding.devres.forget(this);
    return this.release();
  }

  [Symbol.dispose](): void {
    void this.free();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.free();
  }

  /** Frees it, by devres, by the core (leaked) or early: off the line, its disables undone; resolves once its thread run settled. */
  release(): Promise<void> {
    if (!this.freed) {
      this.freed = true;
      if (!this.managed) this.#binding.unmanagedIrqs.delete(this);
      this.#line.release(this);
      for (; this.#depth > 0; this.#depth--) this.#line.enable();
      if (this.#teardown !== undefined) this.#binding.registrations.delete(this.#teardown);
    }
    return this.#threadRun ?? Promise.resolve();
  }
}

class Vectors implements Omit<IrqVectors<unknown>, typeof irqVectorsOfOneBindingOnly> {
  readonly count: number;
  readonly #binding: Binding;
  readonly #lines: readonly IrqLine[];
  readonly #entry: Resource;
  #released = false;

  constructor(
    binding: Binding,
    readonly kind: IrqKind,
    lines: readonly IrqLine[],
  ) {
    this.#binding = binding;
    this.#lines = lines;
    this.count = lines.length;
    const what = kind === "msix" ? "MSI-X" : kind === "msi" ? "MSI" : "legacy";
    this.#entry = { label: `${lines.length} ${what} vector${lines.length === 1 ? "" : "s"}`, kind: "irq-vectors", release: () => this.#release() };
    binding.devres.add(this.#entry);
  }

  #index(index: number, operation: string): IrqLine {
    const line = Number.isInteger(index) ? this.#lines[index] : undefined;
    // Covers an index from arithmetic: the types say number.
    if (line === undefined) {
      throw fail("EINVAL", `${operation}: ${this.#binding.describe()}: the vector index must be a whole number from 0 to ${this.count - 1}, got ${describe(index)}.`);
    }
    return line;
  }

  irq(index: number): number {
    return this.#index(index, "IrqVectors.irq").irq;
  }

  request(index: number, handler: IrqHandler<unknown> | null, options?: IrqOptions<unknown>): IrqHandle<unknown> {
    // Covers vectors kept past probe: requesting is core-only, and they have no token of their own to check.
    const binding = coreBinding(this.#binding.token, "IrqVectors.request");
    if (this.#released) throw fail("EINVAL", `IrqVectors.request: ${binding.describe()}: the vectors were freed.`);
    // Safe: Irq implements IrqHandle<unknown> but for the brand, which is type-level only.
    return requestOn(binding, this.#index(index, "IrqVectors.request"), handler, options, `IrqVectors.request(${index})`) as unknown as IrqHandle<unknown>;
  }

  /** Disables the vectors; devres freed every handler on them before (they were requested after). */
  #release(): void {
    this.#released = true;
    if (this.kind !== "legacy") this.#binding.port.disableMsi();
  }
}
