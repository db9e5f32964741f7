/**
 * Binding and unbinding one device: probe, remove, and the order of teardown.
 * Kernel: `drivers/base/dd.c` (`really_probe`, `device_release_driver`) and
 * `devres_release_all`.
 *
 * An unbind or unplug reads top to bottom here: `removeDevice` runs the
 * driver's `remove()` with the live token, checks the device was halted,
 * then `teardown` cancels and waits for the binding's tasks, ends the binding
 * (its token dies), walks the devres stack (`driver/devres.ts`), and checks
 * what is left: memory the device still holds, memory the pool still holds.
 * Each check is a fact for the checker (`observe/dma-debug.ts`), which decides
 * whether it is a violation and words it.
 *
 * Errors in `dmaDebug: "throw"` mode: a violation found while the driver
 * called the library throws there. One found where no driver frame is
 * waiting (a free made by the devres walk, a device's DMA while the release
 * steps run, the checks after the walk) is kept on the binding
 * (`Binding.keep`), and the unbind throws the first one once the device is
 * at rest. A device's DMA while the clock runs for someone else is kept by
 * the machine (`sim/hardware.ts`) for whoever runs the clock.
 *
 * # Invariants
 * - Unbind order: `remove()` with the live token; then tasks are cancelled and
 *   awaited; then the binding ends; then devres release, last in first out;
 *   then the leak check.
 * - A failed probe leaves the device `no-driver` with everything it took
 *   released, and the pool as it was.
 * - Every state transition is one the driver model allows; an impossible one
 *   is a bug in the core and throws.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { Binding } from "../driver/binding.js";
import type { DeviceState } from "../driver/device.js";
import { DevresStack } from "../driver/devres.js";
import type { DriverCore, DriverInstance } from "../driver/driver.js";
import { hookOf } from "../driver/driver.js";
import type { EndReason } from "../driver/ports.js";
import type { Attachment, DeviceRecord } from "./device.js";

/** CPU time one devres release step takes: device events due meanwhile fire. */
export const RELEASE_STEP_NS = 1_000;

/** The transitions the driver model allows, from each state. */
const TRANSITIONS: Readonly<Record<DeviceState, readonly DeviceState[]>> = {
  "no-driver": ["probing", "zombie"],
  probing: ["bound", "no-driver"],
  bound: ["unbinding"],
  unbinding: ["no-driver", "zombie"],
  zombie: [],
};

/**
 * Tries `drivers` in order until one binds the device; a driver that is no
 * longer registered (`registered` says) is skipped.
 */
export async function probeDevice(record: DeviceRecord, drivers: readonly DriverCore[], registered: (driver: DriverCore) => boolean): Promise<void> {
  for (const driver of drivers) {
    if (record.state !== "no-driver") return;
    if (!registered(driver)) continue;
    if (await probeWith(record, driver)) return;
  }
}

async function probeWith(record: DeviceRecord, driver: DriverCore): Promise<boolean> {
  const devres = new DevresStack();
  const binding = new Binding({ port: record.host, driver: driver.name, devres, state: () => record.state });
  const attachment: Attachment = { binding, driver, devres, instance: undefined };
  record.attached = attachment;
  transition(record, "probing");
  binding.emit({ kind: "probe-start" });
  try {
    const returned = driver.probe(binding.token, record.host);
    // A synchronous probe is over once it returns: a continuation it queued
    // (a spawned task's first step) must not run in the core context.
    if (!isThenable(returned)) binding.core = false;
    attachment.instance = checkInstance(await returned, binding);
  } catch (error) {
    // A probe that throws, or rejects at any await: the token dies first, so
    // a continuation still running cannot allocate more.
    binding.core = false;
    binding.emit({ kind: "probe-failed", detail: errorText(error), error });
    const kept = await teardown(record, attachment, "probe failed");
    transition(record, "no-driver");
    record.attached = undefined;
    if (kept !== undefined) throw kept;
    return false;
  }
  binding.core = false;
  transition(record, "bound");
  binding.emit({ kind: "probe-end" });
  return true;
}

/**
 * Unbinds the device for `reason`: `remove()`, then teardown. An unplugged
 * device ends `zombie`, any other `no-driver`. Throws the first error kept
 * in `dmaDebug: "throw"` mode, once the device is at rest.
 */
export async function removeDevice(record: DeviceRecord, reason: EndReason): Promise<void> {
  const attachment = record.attached;
  const final = reason === "unplugged" ? "zombie" : "no-driver";
  if (attachment === undefined) {
    if (final !== record.state) transition(record, final);
    return;
  }
  const { binding } = attachment;
  transition(record, "unbinding");
  binding.core = true;
  binding.emit({ kind: "remove-start", reason, detail: reason });
  try {
    const instance = attachment.instance;
    const remove = instance === undefined ? undefined : (hookOf(instance, "remove") as DriverInstance<unknown>["remove"]);
    const returned = remove?.call(instance, binding.token);
    // As for probe: a synchronous remove() is over once it returns.
    if (!isThenable(returned)) binding.core = false;
    await returned;
  } catch (error) {
    // remove() cannot veto an unbind: the device goes anyway, and so must
    // everything the binding holds.
    binding.emit({ kind: "remove-failed", detail: errorText(error), error });
  }
  binding.core = false;
  // dma-debug cannot see the device; the simulator can. The driver must have
  // halted it by the time remove() returns.
  const active = record.host.activeHolds();
  if (active.length > 0) binding.keep(record.host.report({ ...binding.subject(), seen: "remove-returned-holding", held: active }));
  const kept = await teardown(record, attachment, reason);
  transition(record, final);
  record.attached = undefined;
  binding.emit({ kind: "remove-end", reason, detail: reason });
  if (kept !== undefined) throw kept;
}

/**
 * The end of a binding: cancel and wait for its tasks, end it (its token
 * dies), release devres last in first out, then check what is left. Returns
 * the first error kept for `dmaDebug: "throw"` mode.
 */
async function teardown(record: DeviceRecord, { binding, devres }: Attachment, reason: EndReason): Promise<Error | undefined> {
  const device = record.host;
  // Cancel-and-wait: no task may outlive the memory it uses.
  const tasks = [...binding.tasks];
  for (const task of tasks) task.cancel();
  await Promise.allSettled(tasks.map((task) => task.done));
  binding.end(reason);
  await devres.releaseAll(binding, async () => {
    // Each step takes CPU time, and a device nobody halted keeps running.
    // What it does meanwhile (a violation in "throw" mode) is not the
    // release's failure: keep it for when the device is at rest. Another
    // device's errors stay for whoever runs the machine next.
    await device.elapse(RELEASE_STEP_NS);
    const [own] = device.takeErrors();
    if (own !== undefined) binding.keep(own instanceof Error ? own : new Error(String(own)));
  });
  const subject = binding.subject();
  // dma-debug's bus notifier: mappings still live at unbind, all in one report.
  if (binding.pending.length > 0) binding.keep(device.report({ ...subject, seen: "pending-at-unbind", regions: [...binding.pending] }));
  const held = device.holds();
  if (held.length > 0) binding.keep(device.report({ ...subject, seen: "held-after-release", held }));
  // Never lose track of memory: what the pool still holds for the binding
  // is taken back, and each piece reported.
  for (const left of device.reclaim(binding)) {
    binding.keep(device.report({ ...subject, seen: "left-over", address: left.address, size: left.size }));
  }
  record.lastDriver = binding.driver;
  return binding.kept;
}

function transition(record: DeviceRecord, next: DeviceState): void {
  if (!TRANSITIONS[record.state].includes(next)) {
    throw new Error(`boundscope internal error: ${record.describe()}: ${record.state} -> ${next} is not a driver-model transition.`);
  }
  record.host.emit({ kind: "state", driver: record.attached?.binding.driver, from: record.state, to: next, detail: `${record.state} -> ${next}` });
  record.state = next;
}

/**
 * What probe() returned, checked: `undefined` means "no remove()". Covers a
 * probe written in JavaScript, or cast, that returns something else.
 */
function checkInstance(value: unknown, binding: Binding): DriverInstance<unknown> {
  if (value === undefined) return {};
  // Covers a probe in JavaScript, or behind a cast, that returns a non-object.
  if (typeof value !== "object" || value === null) {
    throw fail("EINVAL", `probe: ${binding.describe()}: probe() must return a DriverInstance object, got ${describe(value)}.`);
  }
  const remove = hookOf(value, "remove");
  // Covers a `remove` that is not a function: DriverInstance types it, JavaScript does not.
  if (remove !== undefined && typeof remove !== "function") {
    throw fail("EINVAL", `probe: ${binding.describe()}: the returned remove must be a function.`);
  }
  // Safe: an object whose remove, if any, is a function is what DriverInstance asks.
  return value as DriverInstance<unknown>;
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
