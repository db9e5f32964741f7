/**
 * Binding and unbinding one device: probe, remove, and the order of teardown.
 * Kernel: `drivers/base/dd.c` (`really_probe`, `device_release_driver`) and
 * `devres_release_all`; Rust-for-Linux's driver data dropped before devres
 * release.
 *
 * An unbind, unplug or driver unregister reads top to bottom here
 * (`removeDevice`, then `teardown`):
 * 1. the device goes `unbinding`;
 * 2. the binding's child devices (`Binding.children`, auxiliary devices),
 *    newest first, each taken down and waited for;
 * 3. the driver's `remove()`, in the core context, with the live token; then
 *    the check that the driver halted the device;
 * 4. the binding's subsystem registrations (`Binding.registrations`), newest
 *    first, each unregistered and waited for (calls in flight finish);
 * 5. its tasks, cancelled together, then each waited for;
 * 6. the driver instance's own teardown (`drop(dev)`: the driver data
 *    dropped), token still live and every devres resource still alive;
 * 7. the binding ends: IRQs requested without devres (`request_irq`) and
 *    never freed are reported (`irq-leaked`) and freed, each waited for;
 *    then its token dies;
 * 8. devres release, last in first out (`driver/devres.ts`);
 * 9. the leak checks: what the device still holds, mappings still live, what
 *    the pool still holds for the binding.
 * A failed probe runs 2, 4, 5, 7, 8, 9.
 *
 * Every wait goes through the machine's watchdog (`DevicePort.watch`), named
 * for what it waits on. When the watchdog gives up on a wait (it reports the
 * hang), the teardown goes on with the next step: the binding still ends and
 * devres is still released, so the machine stays usable. Each check is a fact
 * for the checker (`observe/dma-debug.ts`), which decides whether it is a
 * violation and words it.
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
 * - Unbind order: the nine steps above, each finished (or given up on by the
 *   watchdog) before the next starts. A failed probe skips 1, 3 and 6.
 * - A hook or take-down that throws, rejects or hangs does not stop the
 *   unbind: it is logged (`remove-failed`, `teardown-failed`) or reported by
 *   the watchdog, and every later step still runs.
 * - The token is live through step 6 and dead from step 7 on; the core
 *   context is on only while `probe()` or `remove()` runs.
 * - A failed probe leaves the device `no-driver` with everything it took
 *   released, and the pool as it was.
 * - Every state transition is one the driver model allows; an impossible one
 *   is a bug in the core and throws.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { Teardown } from "../driver/binding.js";
import { Binding } from "../driver/binding.js";
import { isThenable } from "../driver/context.js";
import type { DeviceState } from "../driver/device.js";
import { DevresStack } from "../driver/devres.js";
import type { DriverInstance } from "../driver/driver.js";
import { hookOf } from "../driver/driver.js";
import type { EndReason } from "../driver/ports.js";
import type { Attachment, BusDriver, DeviceRecord } from "./device.js";

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

/** The instance hooks the core calls, read with `hookOf` (never from `Object.prototype`). */
type Hook = "remove" | "drop";

/**
 * Tries `drivers` in order until one binds the device; a driver that is no
 * longer registered (`registered` says) is skipped.
 */
export async function probeDevice(record: DeviceRecord, drivers: readonly BusDriver[], registered: (driver: BusDriver) => boolean): Promise<void> {
  for (const driver of drivers) {
    if (record.state !== "no-driver") return;
    if (!registered(driver)) continue;
    if (await probeWith(record, driver)) return;
  }
}

async function probeWith(record: DeviceRecord, driver: BusDriver): Promise<boolean> {
  const devres = new DevresStack();
  const binding = new Binding({ port: record.host, driver: driver.name, devres, state: () => record.state });
  const attachment: Attachment = { binding, driver, devres, instance: undefined };
  record.attached = attachment;
  transition(record, "probing");
  binding.emit({ kind: "probe-start" });
  try {
    record.host.schedulePoint("callback", `probe() by "${driver.name}"`);
    const returned = driver.probe(binding.token, record.host);
    // A synchronous probe is over once it returns: a continuation it queued
    // (a spawned task's first step) must not run in the core context.
    if (!isThenable(returned)) binding.core = false;
    attachment.instance = checkInstance(await returned, binding);
  } catch (error) {
    // A probe that throws, or rejects at any await: the core context ends
    // first, so a continuation still running cannot start more work.
    binding.core = false;
    binding.emit({ kind: "probe-failed", detail: errorText(error), error });
    // Steps 2, 4, 5, 7, 8, 9: what probe set up is taken down in the unbind's
    // order, without remove() and the instance's teardown (there is no instance).
    await takeDownAll(record, binding, binding.children);
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
 * Unbinds the device for `reason`, in the order of the file header. An
 * unplugged device ends `zombie`, any other `no-driver`. Throws the first
 * error kept in `dmaDebug: "throw"` mode, once the device is at rest.
 */
export async function removeDevice(record: DeviceRecord, reason: EndReason): Promise<void> {
  const attachment = record.attached;
  const final = reason === "unplugged" ? "zombie" : "no-driver";
  if (attachment === undefined) {
    if (final !== record.state) transition(record, final);
    return;
  }
  const { binding } = attachment;
  // 1. unbinding.
  transition(record, "unbinding");
  binding.emit({ kind: "remove-start", reason, detail: reason });
  // 2. Child devices first: their drivers may still use what this one set up.
  await takeDownAll(record, binding, binding.children);
  // 3. remove(), in the core context.
  const instance = attachment.instance;
  const remove = instance === undefined ? undefined : hookOf(instance, "remove" satisfies Hook);
  if (remove !== undefined) {
    binding.core = true;
    // Safe: checkInstance checked that a remove hook is a function; it takes the token.
    record.host.schedulePoint("callback", `remove() of driver "${binding.driver}"`);
    const returned = run(() => (remove as NonNullable<DriverInstance<unknown>["remove"]>).call(instance, binding.token));
    // remove() cannot veto an unbind: the device goes anyway, and so must
    // everything the binding holds.
    const failed = (error: unknown): void => binding.emit({ kind: "remove-failed", detail: errorText(error), error });
    // As for probe: a synchronous remove() is over once it returns.
    if (returned.threw || !isThenable(returned.value)) binding.core = false;
    if (returned.threw) failed(returned.error);
    else if (isThenable(returned.value)) await watch(record, binding, Promise.resolve(returned.value).catch(failed), `remove() of driver "${binding.driver}" on device ${record.name}`);
    binding.core = false;
  }
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
 * Steps 4 to 9, for an unbind and a failed probe alike: registrations down,
 * tasks stopped, the instance's own teardown, the binding ended (its token
 * dies), devres released last in first out, then the checks. Returns the
 * first error kept for `dmaDebug: "throw"` mode.
 */
async function teardown(record: DeviceRecord, { binding, devres, instance }: Attachment, reason: EndReason): Promise<Error | undefined> {
  const device = record.host;
  // 4. Registrations: no subsystem call may reach the driver from now on.
  await takeDownAll(record, binding, binding.registrations);
  // 5. Cancel-and-wait: no task may outlive the memory it uses.
  const tasks = [...binding.tasks];
  for (const task of tasks) task.cancel();
  for (const task of tasks) await watch(record, binding, task.done, task.label);
  // 6. The driver data drop: nothing else of the driver runs any more, and
  // what it uses is still there.
  if (instance !== undefined) await drop(record, binding, instance);
  // 7. The driver's last chance to free_irq() its unmanaged IRQs was remove()
  // or drop(). One still requested leaked: report it where the kernel goes
  // wrong (before devres frees the memory its handler touches, and before
  // the MSI vectors are disabled under it, which WARNs), and free it while
  // the token lives, so its handler never runs on a dead one.
  for (const irq of [...binding.unmanagedIrqs]) {
    binding.keep(device.report({ ...binding.subject(), seen: "irq-leaked", irq: irq.irq, what: irq.what, handler: irq.handlerName, site: irq.site, time: irq.requestTime, reason }));
    await watch(record, binding, irq.release(), `the leaked ${irq.what} of driver "${binding.driver}" on device ${record.name}`);
    binding.emit({ kind: "release", resource: "irq", detail: `leaked ${irq.what}` });
  }
  // Then the token dies.
  binding.end(reason);
  // 8. Devres, last in first out.
  await devres.releaseAll(binding, async () => {
    // Each step takes CPU time, and a device nobody halted keeps running.
    // What it does meanwhile (a violation in "throw" mode) is not the
    // release's failure: keep it for when the device is at rest. Another
    // device's errors stay for whoever runs the machine next.
    await device.elapse(RELEASE_STEP_NS);
    const [own] = device.takeErrors();
    if (own !== undefined) binding.keep(own instanceof Error ? own : new Error(String(own)));
  });
  // 9. The checks.
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

/**
 * Takes down each member of `set` (children or registrations), newest first,
 * waiting for each. A take-down that fails is logged; one that hangs is given
 * up on when the watchdog fires. Each leaves the set, whatever happened.
 */
async function takeDownAll(record: DeviceRecord, binding: Binding, set: Set<Teardown>): Promise<void> {
  for (const member of [...set].reverse()) {
    // Taken down early (an aux device deleted by its driver in the meantime).
    if (!set.has(member)) continue;
    const failed = (error: unknown): void => binding.emit({ kind: "teardown-failed", detail: `${member.label}: ${errorText(error)}`, error });
    const returned = run(() => member.takeDown());
    if (returned.threw) failed(returned.error);
    else await watch(record, binding, Promise.resolve(returned.value).catch(failed), member.label);
    set.delete(member);
  }
}

/**
 * Step 6: the instance's `drop(dev)`, with the live token, outside the core
 * context; a promise it returns is awaited. A failure is logged as
 * `teardown-failed`.
 */
async function drop(record: DeviceRecord, binding: Binding, instance: DriverInstance<unknown>): Promise<void> {
  const hook = hookOf(instance, "drop" satisfies Hook);
  if (hook === undefined) return;
  const what = `the driver data drop (drop()) of driver "${binding.driver}" on device ${record.name}`;
  const failed = (error: unknown): void => binding.emit({ kind: "teardown-failed", detail: `${what}: ${errorText(error)}`, error });
  // Safe: checkInstance checked the hook is a function; it takes the token.
  const returned = run(() => (hook as (dev: unknown) => unknown).call(instance, binding.token));
  if (returned.threw) failed(returned.error);
  else if (isThenable(returned.value)) await watch(record, binding, Promise.resolve(returned.value).catch(failed), what);
}

/** Waits for `work` under the machine's watchdog; false when it gave up (and reported the hang). */
function watch(record: DeviceRecord, binding: Binding, work: Promise<unknown>, waitsOn: string): Promise<boolean> {
  return record.host.watch(work, waitsOn, binding.subject());
}

/** Calls a driver's hook, catching a synchronous throw. */
function run(call: () => unknown): { threw: false; value: unknown } | { threw: true; error: unknown } {
  try {
    return { threw: false, value: call() };
  } catch (error) {
    return { threw: true, error };
  }
}

function transition(record: DeviceRecord, next: DeviceState): void {
  if (!TRANSITIONS[record.state].includes(next)) {
    throw new Error(`boundscope internal error: ${record.describe()}: ${record.state} -> ${next} is not a driver-model transition.`);
  }
  record.host.emit({ kind: "state", driver: record.attached?.binding.driver, from: record.state, to: next, detail: `${record.state} -> ${next}` });
  record.state = next;
}

/**
 * What probe() returned, checked: `undefined` means "no hooks". Covers a
 * probe written in JavaScript, or cast, that returns something else.
 */
function checkInstance(value: unknown, binding: Binding): DriverInstance<unknown> {
  if (value === undefined) return {};
  // Covers a probe in JavaScript, or behind a cast, that returns a non-object.
  if (typeof value !== "object" || value === null) {
    throw fail("EINVAL", `probe: ${binding.describe()}: probe() must return a DriverInstance object, got ${describe(value)}.`);
  }
  const hooks: readonly Hook[] = ["remove", "drop"];
  for (const key of hooks) {
    const hook = hookOf(value, key);
    // Covers a hook that is not a function: DriverInstance types it, JavaScript does not.
    if (hook !== undefined && typeof hook !== "function") {
      throw fail("EINVAL", `probe: ${binding.describe()}: the returned ${key} must be a function.`);
    }
  }
  // Safe: an object whose hooks, where present, are functions is what DriverInstance asks.
  return value as DriverInstance<unknown>;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
