/**
 * The PCI bus and the driver core: matching, probe, remove, and the order of
 * teardown (the kernel's `really_probe`, `device_release_driver` and
 * `devres_release_all`).
 *
 * # Invariants
 * - State changes of one device run one at a time, in the order they were
 *   asked for. `plug` and `register` queue probes; `unbind`, `unplug` and
 *   `unregister` queue removals behind whatever is queued already.
 * - Unbind order: `remove()` with the live token; then the binding ends (its
 *   token dies); then devres release, last in first out; then the leak check.
 * - A failed probe leaves the device `no-driver` with everything it took
 *   released, and the pool as it was.
 * - Every state transition is checked against the driver model; an impossible
 *   one is a bug in the core and throws.
 *
 * @module
 */

import { describe, fail } from "./error.js";
import type { Device, DeviceState } from "./device.js";
import { DeviceCore, deviceCoreOf, hex4 } from "./device.js";
import type { Driver, DriverInstance } from "./driver.js";
import { DriverCore, hookOf } from "./driver.js";
import type { EndReason } from "./internal/binding.js";
import { Binding } from "./internal/binding.js";
import { Domain } from "./iommu.js";
import type { Hardware } from "./internal/hardware.js";
import { RELEASE_STEP_NS } from "./internal/hardware.js";
import { DeviceModel } from "./model.js";

/**
 * What `bus.plug` takes: the PCI ids, and optionally a name.
 *
 * @example
 * ```ts
 * const spec: PlugSpec = { vendor: 0x1af4, device: 0x1000, name: "virtio-net" };
 * const dev = machine.pci.plug(spec);   // dev.name === "virtio-net"
 * ```
 */
export interface PlugSpec {
  readonly vendor: number;
  readonly device: number;
  /** Defaults to the next free bus address, like `0000:00:01.0`. */
  readonly name?: string;
}

/** The transitions the driver model allows, from each state. */
const TRANSITIONS: Readonly<Record<DeviceState, readonly DeviceState[]>> = {
  "no-driver": ["probing", "zombie"],
  probing: ["bound", "no-driver"],
  bound: ["unbinding"],
  unbinding: ["no-driver", "zombie"],
  zombie: [],
};

/**
 * A simulated PCI bus: `machine.pci`.
 *
 * @example
 * ```ts
 * const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * await machine.pci.register(driver);   // probes dev
 * await machine.pci.unplug(dev);        // remove(), devres release, zombie
 * ```
 */
export class Bus {
  readonly #hw: Hardware;
  /** Devices on the bus by name, in plug order: plugged and not unplugged. */
  readonly #present = new Map<string, DeviceCore>();
  /** Registered drivers, in registration order (the order probes try them). */
  readonly #drivers: DriverCore[] = [];
  /** Every queued state change not yet finished, over all devices. */
  readonly #pending = new Set<Promise<unknown>>();
  #slots = 0;

  /** @internal Machines build their bus; users get it as `machine.pci`. */
  constructor(hw: Hardware) {
    this.#hw = hw;
  }

  /** The devices on the bus now, in plug order. Unplugged ones are gone. */
  get devices(): readonly Device[] {
    return Object.freeze(Array.from(this.#present.values(), (core) => core.ref));
  }

  /** The registered drivers, in registration order. */
  get drivers(): readonly Driver[] {
    return Object.freeze([...this.#drivers] as unknown as Driver[]);
  }

  /**
   * Hot-plugs a device and returns a plain reference to it at once. Pass a
   * {@link DeviceModel} for simulated hardware, or just the ids for a device
   * with no registers. Its probe by the drivers registered now is already
   * queued; `await machine.settled()` to see it bound.
   *
   * Throws `EINVAL` for ids outside 0 to 0xffff or a bad name, `EBUSY` for a
   * name already on the bus or a model already plugged in.
   */
  plug(spec: PlugSpec | DeviceModel): Device {
    if (typeof spec !== "object" || spec === null) {
      throw fail("EINVAL", `plug: expected a DeviceModel or { vendor, device, name? }, got ${describe(spec)}.`);
    }
    // A plain spec gets a model with no BARs; the model validates the ids.
    const model = spec instanceof DeviceModel ? spec : new DeviceModel({ vendor: spec.vendor, device: spec.device, ...(spec.name === undefined ? {} : { name: spec.name }) });
    const chosen = model.name ?? this.#nextAddress();
    if (this.#present.has(chosen)) {
      throw fail("EBUSY", `plug: a device named "${chosen}" is already on the bus. Unplug it first, or pick another name.`);
    }
    const core = new DeviceCore(chosen, model.vendor, model.device, this, model, new Domain(this.#hw.iommu, this.#hw.pool.pageSize));
    model.attach(core, this.#hw);
    this.#present.set(chosen, core);
    this.#hw.log.add("plug", core, undefined, `${hex4(core.vendor)}:${hex4(core.device)}`);
    const candidates = this.#drivers.filter((driver) => driver.matches(core));
    if (candidates.length > 0) {
      // Nobody awaits this probe; in dmaDebug "throw" mode its error is in
      // dmaDebug.violations, so it must not also surface as unhandled.
      this.#track(core.enqueue(() => this.#probe(core, candidates))).catch(() => {});
    }
    return core.ref;
  }

  /**
   * Surprise removal. The hardware is gone at once; then, after whatever was
   * queued for the device, `remove()` runs with the live token, devres is
   * released, and the device is a `zombie` for good.
   *
   * Rejects with `EINVAL` for a device not on this bus or already unplugged.
   */
  async unplug(dev: Device): Promise<void> {
    const core = this.#own(dev, "unplug");
    if (core.unplugRequested) {
      throw fail("EINVAL", `unplug: ${core.describe()} was already unplugged.`);
    }
    core.unplugRequested = true;
    // Surprise removal: the hardware is gone now, whatever is still queued.
    core.present = false;
    core.holds.clear();
    core.model.detach();
    this.#present.delete(core.name);
    this.#hw.log.add("unplug", core, core.binding?.driver.name);
    await this.#track(core.enqueue(() => this.#remove(core, "unplugged")));
  }

  /**
   * Orderly unbind: after whatever was queued for the device, `remove()` runs
   * with the live token, devres is released, and the device is `no-driver`.
   * It is not probed again until a driver is registered.
   *
   * Rejects with `EINVAL` for a device that is not bound (or whose queued
   * probe did not bind it), unplugged, or not on this bus.
   */
  async unbind(dev: Device): Promise<void> {
    const core = this.#own(dev, "unbind");
    if (core.unplugRequested) {
      throw fail("EINVAL", `unbind: ${core.describe()} was unplugged; there is nothing left to unbind.`);
    }
    if (core.state === "no-driver" && core.pending === 0) {
      throw fail("EINVAL", `unbind: ${core.describe()} has no driver bound.`);
    }
    await this.#track(
      core.enqueue(async () => {
        if (core.binding === undefined) {
          throw fail("EINVAL", `unbind: ${core.describe()} has no driver bound (its probe did not bind one).`);
        }
        await this.#remove(core, "unbound");
      }),
    );
  }

  /**
   * Registers a driver and probes every matching device that has no driver.
   * Resolves once every probe it started has settled; a probe that fails
   * leaves its device `no-driver` and is recorded in `machine.events`.
   *
   * Rejects with `EBUSY` if the driver is registered already, `EINVAL` for a
   * value `defineDriver` did not make.
   */
  async register(driver: Driver): Promise<void> {
    const core = DriverCore.of(driver, "register");
    if (this.#drivers.includes(core)) {
      throw fail("EBUSY", `register: driver "${core.name}" is already registered on this bus.`);
    }
    this.#drivers.push(core);
    this.#hw.log.add("register", undefined, core.name);
    const probes = [...this.#present.values()]
      .filter((device) => core.matches(device))
      .map((device) => this.#track(device.enqueue(() => this.#probe(device, [core]))));
    await Promise.all(probes);
  }

  /**
   * Unregisters a driver: no new probes by it, and every device bound to it
   * is unbound (after whatever was queued for it). Resolves once they are.
   *
   * Rejects with `EINVAL` for a driver that is not registered.
   */
  async unregister(driver: Driver): Promise<void> {
    const core = DriverCore.of(driver, "unregister");
    const index = this.#drivers.indexOf(core);
    if (index < 0) {
      throw fail("EINVAL", `unregister: driver "${core.name}" is not registered on this bus.`);
    }
    this.#drivers.splice(index, 1);
    this.#hw.log.add("unregister", undefined, core.name);
    const removals = [...this.#present.values()]
      // A device bound to it, or one whose queued probe may yet bind it.
      .filter((device) => device.binding?.driver === core || (device.pending > 0 && core.matches(device)))
      .map((device) =>
        this.#track(
          device.enqueue(async () => {
            if (device.binding?.driver === core) await this.#remove(device, "driver unregistered");
          }),
        ),
      );
    await Promise.all(removals);
  }

  /** Resolves once no state change is queued or running on any device. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Tries `drivers` in order until one binds the device. */
  async #probe(core: DeviceCore, drivers: readonly DriverCore[]): Promise<void> {
    for (const driver of drivers) {
      if (core.state !== "no-driver") return;
      if (!this.#drivers.includes(driver)) continue;
      if (await this.#probeWith(core, driver)) return;
    }
  }

  async #probeWith(core: DeviceCore, driver: DriverCore): Promise<boolean> {
    const binding = new Binding(this.#hw, core, driver);
    core.binding = binding;
    this.#transition(core, "probing");
    this.#hw.log.add("probe-start", core, driver.name);
    try {
      const returned = driver.probe(binding.token);
      // A synchronous probe is over once it returns: a continuation it queued
      // (a spawned task's first step) must not run in the core context.
      if (!isThenable(returned)) binding.core = false;
      binding.instance = checkInstance(await returned, binding);
    } catch (error) {
      // Catches a probe that throws, or rejects at any await: the token dies
      // first, so a continuation still running cannot allocate more.
      binding.core = false;
      this.#hw.log.add("probe-failed", core, driver.name, errorText(error), error);
      const leak = await this.#teardown(binding, "probe failed");
      this.#transition(core, "no-driver");
      core.binding = undefined;
      if (leak !== undefined) throw leak;
      return false;
    }
    binding.core = false;
    this.#transition(core, "bound");
    this.#hw.log.add("probe-end", core, driver.name);
    return true;
  }

  async #remove(core: DeviceCore, reason: EndReason): Promise<void> {
    const binding = core.binding;
    const final = reason === "unplugged" ? "zombie" : "no-driver";
    if (binding === undefined) {
      if (final !== core.state) this.#transition(core, final);
      return;
    }
    this.#transition(core, "unbinding");
    binding.core = true;
    this.#hw.log.add("remove-start", core, binding.driver.name, reason);
    try {
      const instance = binding.instance;
      const remove = instance === undefined ? undefined : (hookOf(instance, "remove") as DriverInstance<unknown>["remove"]);
      const returned = remove?.call(instance, binding.token);
      // As for probe: a synchronous remove() is over once it returns.
      if (!isThenable(returned)) binding.core = false;
      await returned;
    } catch (error) {
      // remove() cannot veto an unbind: the device goes anyway, and so must
      // everything the binding holds.
      this.#hw.log.add("remove-failed", core, binding.driver.name, errorText(error), error);
    }
    binding.core = false;
    // dma-debug cannot see the device; the simulator can. The driver must have
    // halted it by the time remove() returns.
    const active = core.activeHolds();
    if (active.length > 0) {
      // Recorded whatever came before: `??=` would skip the report itself.
      const error = this.#hw.violation({
        kind: "dma-after-remove",
        device: core.name,
        driver: binding.driver.name,
        address: BigInt(active[0]!.address),
        size: active[0]!.length,
        message: `${binding.describe()}: remove() returned while the device was still doing DMA, with bus mastering on and holding ${active.map((h) => `${h.what} (0x${h.address.toString(16)}, ${h.length} bytes)`).join(", ")}. Devres frees that memory next. Halt the device in remove(): stop its engines and wait until it is idle.`,
      });
      binding.deferred ??= error;
    }
    const leak = await this.#teardown(binding, reason);
    this.#transition(core, final);
    core.binding = undefined;
    this.#hw.log.add("remove-end", core, binding.driver.name, reason);
    if (leak !== undefined) throw leak;
  }

  /**
   * The end of a binding: cancel and wait for its tasks, end it (its token
   * dies), release devres last in first out, then check what is left. Returns
   * the error to throw in `dmaDebug: "throw"` mode, once the device is at rest.
   */
  async #teardown(binding: Binding, reason: EndReason): Promise<Error | undefined> {
    const core = binding.device;
    const driver = binding.driver.name;
    // Cancel-and-wait: no task may outlive the memory it uses.
    const tasks = [...binding.tasks];
    for (const task of tasks) task.cancel();
    await Promise.allSettled(tasks.map((task) => task.done));
    binding.end(reason);
    await binding.releaseAll(
      async (resource) => {
        this.#hw.log.add("release", core, driver, resource.label);
        // Each step takes CPU time, and a device nobody halted keeps running.
        // What it does meanwhile (a violation in "throw" mode) is not the
        // release's failure: keep it for when the device is at rest. Another
        // device's errors stay for whoever runs the machine next.
        await this.#hw.clock.elapse(RELEASE_STEP_NS);
        const [own] = this.#hw.takeDeviceErrors(core);
        if (own !== undefined) binding.deferred ??= own instanceof Error ? own : new Error(String(own));
      },
      (resource, error) => {
        this.#hw.log.add("release-failed", core, driver, `${resource.label}: ${errorText(error)}`, error);
      },
    );
    let first = binding.deferred;
    const held = core.present ? [...core.holds.values()] : [];
    if (held.length > 0) {
      const error = this.#hw.violation({
        kind: "held-after-unbind",
        device: core.name,
        driver,
        address: BigInt(held[0]!.address),
        size: held[0]!.length,
        message: `${binding.describe()}: after devres release the device still holds ${held.map((h) => `${h.what} (0x${h.address.toString(16)}, ${h.length} bytes)`).join(", ")}. The memory behind it is gone; the next driver to turn on bus mastering lets the device DMA there. Reset the device in remove().`,
      });
      first ??= error;
    }
    for (const block of [...binding.blocks]) {
      // Never lose track of memory: report it, then take it back.
      const error = this.#hw.violation({
        kind: "leak",
        device: core.name,
        driver: binding.driver.name,
        address: BigInt(block.phys),
        size: block.bytes,
        message: `${binding.describe()}: ${block.bytes} bytes at 0x${block.phys.toString(16)} were still held after devres release. The pool reclaimed them; find what allocated them outside devres.`,
      });
      first ??= error;
    }
    // Reclaim through the allocations where there are any, so their IOMMU
    // mappings go with the memory; a bare block only has its pages.
    for (const allocation of [...binding.allocations.values()]) allocation.release();
    for (const block of [...binding.blocks]) this.#hw.pool.release(block);
    core.lastDriver = driver;
    return first;
  }

  #transition(core: DeviceCore, next: DeviceState): void {
    if (!TRANSITIONS[core.state].includes(next)) {
      throw new Error(`boundscope internal error: ${core.describe()}: ${core.state} -> ${next} is not a driver-model transition.`);
    }
    this.#hw.log.add("state", core, core.binding?.driver.name, `${core.state} -> ${next}`);
    core.state = next;
  }

  #own(dev: Device, operation: string): DeviceCore {
    const core = deviceCoreOf(dev);
    if (core === undefined || core.busId !== this) {
      throw fail("EINVAL", `${operation}: ${describe(dev)} is not a device of this bus. Pass the Device that plug() returned.`);
    }
    return core;
  }

  #track<Result>(operation: Promise<Result>): Promise<Result> {
    this.#pending.add(operation);
    const done = (): void => void this.#pending.delete(operation);
    operation.then(done, done);
    return operation;
  }

  #nextAddress(): string {
    for (;;) {
      const slot = ++this.#slots;
      const name = `${hex4(Math.floor(slot / 8192))}:${(Math.floor(slot / 32) % 256).toString(16).padStart(2, "0")}:${(slot % 32).toString(16).padStart(2, "0")}.0`;
      if (!this.#present.has(name)) return name;
    }
  }
}

/** What probe() returned, checked: `undefined` means "no remove()". */
function checkInstance(value: unknown, binding: Binding): DriverInstance<unknown> {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null) {
    throw fail("EINVAL", `probe: ${binding.describe()}: probe() must return a DriverInstance object, got ${describe(value)}.`);
  }
  const remove = hookOf(value, "remove");
  if (remove !== undefined && typeof remove !== "function") {
    throw fail("EINVAL", `probe: ${binding.describe()}: the returned remove must be a function.`);
  }
  return value as DriverInstance<unknown>;
}

function isThenable(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
