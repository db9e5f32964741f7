/**
 * Waiting on the device's time: the kernel's `fsleep`/`usleep_range`, for a
 * driver that polls its device (`readl_poll_timeout`). Time is the
 * platform's (`DevicePort.sleep`): on the simulated machine, virtual time, in
 * which device events due meanwhile fire.
 *
 * # Invariants
 * - A sleeper whose binding is gone is told at once (`ENXIO`), never put to
 *   sleep on a dead device.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { liveBinding } from "./binding.js";
import type { BoundDevice } from "./device.js";

/**
 * Sleeps `ns` of the machine's virtual time. Device events due meanwhile
 * fire; if nothing else is driving the clock, the sleeper drives it, so a
 * driver can poll its device in `remove()` without the test running the
 * clock for it.
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
export const sleep = <Scope>(dev: BoundDevice<Scope>, ns: number): Promise<void> => {
  const binding = liveBinding(dev, "sleep");
  // Covers a time from `any` or arithmetic: `number` admits NaN, Infinity and negatives.
  if (typeof ns !== "number" || !Number.isFinite(ns) || ns < 0) {
    throw fail("EINVAL", `sleep(${describe(ns)}): ${binding.describe()}: the time is a finite, non-negative number of ns.`);
  }
  return binding.port.sleep(ns);
};
