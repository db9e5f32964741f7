/**
 * Waiting on the device's time: the kernel's `fsleep`/`usleep_range`, for a
 * driver that polls its device (`readl_poll_timeout`). Time is the
 * platform's (`DevicePort.sleep`): on the simulated machine, virtual time, in
 * which device events due meanwhile fire.
 *
 * Sleeping is for contexts that may sleep: it takes a `SleepableDevice`
 * (probe, remove, a task, a threaded handler's thread part), so a hard IRQ
 * handler's `IrqDevice` does not compile, and a call from an atomic section
 * anyway (through a helper's `BoundDevice` cast, or `any`) is a
 * `sleep-in-atomic` violation (`context.ts`).
 *
 * # Invariants
 * - A sleeper whose binding is gone is told at once (`ENXIO`), never put to
 *   sleep on a dead device.
 * - A sleep in atomic context is reported before it sleeps; in
 *   `dmaDebug: "throw"` mode it throws instead and does not sleep.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { SleepableDevice } from "./device.js";

/**
 * Sleeps `ns` of the machine's virtual time. Device events due meanwhile
 * fire; if nothing else is driving the clock, the sleeper drives it, so a
 * driver can poll its device in `remove()` without the test running the
 * clock for it. Only in a context that may sleep: a hard IRQ handler's token
 * does not compile, and a sleep from atomic context anyway is reported
 * (`sleep-in-atomic`; thrown in `dmaDebug: "throw"` mode). `ENXIO` for a
 * dead token, `EINVAL` for a time that is not a finite number of ns ≥ 0.
 *
 * @example
 * ```ts
 * const CTRL = 0x00, STATUS = 0x04, BUSY = 1;
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     return {
 *       async remove(dev) {
 *         regs.write32(dev, CTRL, 0);
 *         for (let i = 0; i < 100 && regs.read32(dev, STATUS) & BUSY; i++) await sleep(dev, 1_000);
 *       },
 *     };
 *   },
 * });
 * ```
 */
export const sleep = <Scope>(dev: SleepableDevice<Scope>, ns: number): Promise<void> => {
  const binding = liveBinding(dev, "sleep");
  // Covers a time from `any` or arithmetic: `number` admits NaN, Infinity and negatives.
  if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
    throw fail("EINVAL", `sleep(${describe(ns)}): ${binding.describe()}: the time is a finite, non-negative number of ns.`);
  }
  // Covers a sleep the types let through: a probe's or task's token used inside an atomic section (a Revocable access), a token through `any`.
  mightSleep(binding, "sleep");
  return binding.port.sleep(ns);
};
