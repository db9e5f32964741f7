/**
 * Work bound to a binding: the driver's own async tasks (a kthread, a work
 * item). At unbind the core aborts each task's signal after `remove()`
 * returns and waits for every task to finish before devres release, so no
 * task outlives the memory it uses (cancel-and-wait, like `kthread_stop`).
 *
 * # Invariants
 * - A task is in its binding's `tasks` from spawn until its work settles.
 * - A task that ends by `throwIfAborted()` after its cancellation ended as
 *   asked: only other failures are logged as `task-failed`.
 *
 * @module
 */

import type { Invariant, taskOfOneBindingOnly } from "../internal/brand.js";
import { fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { ProbeDevice, SleepableDevice, TaskDevice } from "./device.js";

/**
 * Tells a task its binding is going away. Check `aborted` between steps, or
 * await `whenAborted` alongside the work.
 *
 * @example
 * ```ts
 * declare function nextPacket(): Promise<void>;
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     spawn(dev, async (dev, signal) => {
 *       while (!signal.aborted) await Promise.race([signal.whenAborted, nextPacket()]);
 *     });
 *     return {};
 *   },
 * });
 * ```
 */
export type TaskSignal = {
  /** True once the task should stop. */
  readonly aborted: boolean;
  /** Resolves when the task should stop. */
  readonly whenAborted: Promise<void>;
  /** Throws `ENXIO` once aborted: a one-line exit from a loop. */
  readonly throwIfAborted: () => void;
};

/**
 * The work a task runs: the binding's token, and the signal that says stop.
 *
 * @example
 * ```ts
 * function watchdog<Scope>(regs: IoMapping<Scope>): TaskWork<Scope> {
 *   return async (dev, signal) => {
 *     for (;;) {
 *       signal.throwIfAborted();      // ENXIO at unbind: the task ends
 *       regs.write32(dev, 0x08, 1);   // kick the watchdog
 *       await sleep(dev, 1_000_000);  // 1 ms of virtual time
 *     }
 *   };
 * }
 * // in probe(dev): spawn(dev, watchdog(iomap(dev, 0)));
 * ```
 */
export type TaskWork<Scope> = (dev: TaskDevice<Scope>, signal: TaskSignal) => Promise<void>;

/**
 * A spawned task.
 *
 * @example
 * ```ts
 * declare function pollOnce<Scope>(dev: TaskDevice<Scope>): Promise<void>;
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     spawn(dev, async (dev, signal) => {
 *       while (!signal.aborted) await pollOnce(dev);
 *     });
 *     return {};
 *   },
 * });
 * ```
 */
export type Task<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [taskOfOneBindingOnly]: Invariant<Scope>;
  /** Settles when the work has finished: resolves, or rejects with its error. */
  readonly done: Promise<void>;
  /** Aborts the signal now; the task still finishes in its own time. */
  cancel(): void;
  /**
   * Aborts the signal and waits for the work to finish, however it ends
   * (`kthread_stop`): resolves then; a failure is in `done` and the
   * `task-failed` event. A wait, so only where sleeping is allowed: it takes
   * a `SleepableDevice` of the task's binding (`EINVAL` for another's), and
   * is reported in atomic context (`sleep-in-atomic`). A task that stops
   * itself waits forever.
   */
  stop(dev: SleepableDevice<Scope>): Promise<void>;
};

/**
 * Starts async work bound to the binding: `work` gets the token as a
 * `TaskDevice` and a signal. At unbind, after `remove()` returns, the signal
 * aborts and the core waits for the work before devres release. Core-only.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     spawn(dev, async (taskDev, signal) => {
 *       while (!signal.aborted) await sleep(taskDev, 1_000);
 *     });
 *     return {};
 *   },
 * });
 * ```
 */
export const spawn = <Scope>(dev: ProbeDevice<Scope>, work: TaskWork<Scope>): Task<Scope> => {
  const binding: Binding = coreBinding(dev, "spawn");
  // Covers work from `any` or JavaScript that is not a function.
  if (typeof work !== "function") {
    throw fail("EINVAL", `spawn: ${binding.describe()}: the work must be an async function.`);
  }
  // Safe: checked to be a function just above; TaskRun implements Task<unknown> but for the type-level brand.
  return new TaskRun(binding, work as TaskWork<unknown>) as unknown as Task<Scope>;
};

class Signal implements TaskSignal {
  aborted = false;
  readonly whenAborted: Promise<void>;
  readonly #abort: () => void;

  constructor(readonly binding: Binding) {
    let abort!: () => void;
    this.whenAborted = new Promise((resolve) => (abort = resolve));
    this.#abort = abort;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#abort();
  }

  throwIfAborted(): void {
    if (this.aborted) throw fail("ENXIO", `${this.binding.describe()}: the task was cancelled: its binding is ending.`);
  }
}

class TaskRun implements Omit<Task<unknown>, typeof taskOfOneBindingOnly> {
  readonly done: Promise<void>;
  /** `task #2 (pollLink) of driver "nic"`: its number in the binding, and the work function's name. */
  readonly label: string;
  readonly #signal: Signal;

  constructor(binding: Binding, work: TaskWork<unknown>) {
    this.label = `task #${++binding.spawned}${work.name === "" ? "" : ` (${work.name})`} of driver "${binding.driver}"`;
    const signal = new Signal(binding);
    this.#signal = signal;
    binding.port.schedulePoint("callback", this.label);
    this.done = (async () => work(binding.taskToken, signal))();
    binding.tasks.add(this);
    const finish = (): void => void binding.tasks.delete(this);
    this.done.then(finish, (error: unknown) => {
      finish();
      // A task that stops by throwIfAborted() after cancellation ended as asked.
      if (this.#signal.aborted && error instanceof Error && "code" in error && error.code === "ENXIO") return;
      binding.emit({ kind: "task-failed", detail: error instanceof Error ? error.message : String(error), error });
    });
  }

  cancel(): void {
    this.#signal.abort();
  }

  stop(dev: unknown): Promise<void> {
    const binding = liveBinding(dev, "Task.stop");
    // Covers a token of another binding passed through a cast or `any`: the invariant scope refuses it in the types.
    if (binding !== this.#signal.binding) throw fail("EINVAL", `Task.stop: the token is for ${binding.describe()}, but the task belongs to ${this.#signal.binding.describe()}.`);
    // Covers what the types let through: a probe's or task's token inside an atomic section (a Revocable access), a token through `any`.
    mightSleep(binding, "Task.stop");
    this.cancel();
    return this.done.then(
      () => undefined,
      () => undefined,
    );
  }
}
