/**
 * The bus type's registry: which devices are on the bus, which drivers are
 * registered, and the queue of state changes each device goes through.
 * Kernel: `drivers/base/bus.c` (`bus_add_driver`, `bus_probe_device`,
 * `device_attach`, `driver_detach`). Binding and unbinding one device is
 * `dd.ts`; what hardware a device is, the bus that plugs it in decides
 * (`sim/pci.ts`).
 *
 * # Invariants
 * - State changes of one device run one at a time, in the order they were
 *   asked for. `add` and `register` queue probes; `unbind`, `unplug` and
 *   `unregister` queue removals behind whatever is queued already.
 * - A device unbound by hand is not probed again until a driver registers.
 * - Drivers are tried in registration order.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { peekBinding } from "../driver/binding.js";
import type { Device } from "../driver/device.js";
import type { Driver } from "../driver/driver.js";
import { DriverCore } from "../driver/driver.js";
import type { Emit } from "../driver/ports.js";
import { probeDevice, removeDevice } from "./dd.js";
import type { HostDevice } from "./device.js";
import { DeviceRecord } from "./device.js";

export class BusCore {
  readonly #emit: Emit;
  /** Devices on the bus by name, in plug order: plugged and not unplugged. */
  readonly #present = new Map<string, DeviceRecord>();
  /** Every device ever added, by its host: a token leads to its host. */
  readonly #byHost = new WeakMap<object, DeviceRecord>();
  /** Registered drivers, in registration order (the order probes try them). */
  readonly #drivers: DriverCore[] = [];
  /** Every queued state change not yet finished, over all devices. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(emit: Emit) {
    this.#emit = emit;
  }

  /** True if a device named `name` is on the bus now. */
  has(name: string): boolean {
    return this.#present.has(name);
  }

  /** The devices on the bus now, in plug order. Unplugged ones are gone. */
  get devices(): readonly Device[] {
    return Object.freeze(Array.from(this.#present.values(), (record) => record.ref));
  }

  /** The registered drivers, in registration order. */
  get drivers(): readonly Driver[] {
    // Safe: every DriverCore here was made by defineDriver, which is what Driver stands for.
    return Object.freeze([...this.#drivers] as unknown as Driver[]);
  }

  /**
   * A device appears on the bus (`device_add`): its probe by the drivers
   * registered now is queued at once. Returns the plain reference users hold.
   */
  add(host: HostDevice): Device {
    const record = new DeviceRecord(host, this);
    this.#present.set(host.name, record);
    this.#byHost.set(host, record);
    const candidates = this.#drivers.filter((driver) => driver.matches(host));
    if (candidates.length > 0) {
      // Nobody awaits this probe; in dmaDebug "throw" mode its error is in
      // dmaDebug.violations, so it must not also surface as unhandled.
      this.#track(record.enqueue(() => probeDevice(record, candidates, (d) => this.#drivers.includes(d)))).catch(() => {});
    }
    return record.ref;
  }

  /** The driver bound to the device now, if any. */
  boundDriver(host: object): string | undefined {
    return this.#byHost.get(host)?.attached?.binding.driver;
  }

  /** The driver last bound to the device, once a binding has ended. */
  lastDriver(host: object): string | undefined {
    return this.#byHost.get(host)?.lastDriver;
  }

  /**
   * Surprise removal. The hardware is gone at once; then, after whatever was
   * queued for the device, `remove()` runs with the live token, devres is
   * released, and the device is a `zombie` for good.
   *
   * Rejects with `EINVAL` for a device not on this bus or already unplugged.
   */
  async unplug(dev: Device): Promise<void> {
    const record = this.#own(dev, "unplug");
    if (record.unplugRequested) {
      throw fail("EINVAL", `unplug: ${record.describe()} was already unplugged.`);
    }
    record.unplugRequested = true;
    // Surprise removal: the hardware is gone now, whatever is still queued.
    record.host.remove();
    this.#present.delete(record.name);
    record.host.emit({ kind: "unplug", driver: record.attached?.binding.driver });
    await this.#track(record.enqueue(() => removeDevice(record, "unplugged")));
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
    const record = this.#own(dev, "unbind");
    if (record.unplugRequested) {
      throw fail("EINVAL", `unbind: ${record.describe()} was unplugged; there is nothing left to unbind.`);
    }
    if (record.state === "no-driver" && record.pending === 0) {
      throw fail("EINVAL", `unbind: ${record.describe()} has no driver bound.`);
    }
    await this.#track(
      record.enqueue(async () => {
        if (record.attached === undefined) {
          throw fail("EINVAL", `unbind: ${record.describe()} has no driver bound (its probe did not bind one).`);
        }
        await removeDevice(record, "unbound");
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
    this.#emit({ kind: "register", driver: core.name });
    const probes = [...this.#present.values()]
      .filter((record) => core.matches(record.host))
      .map((record) => this.#track(record.enqueue(() => probeDevice(record, [core], (d) => this.#drivers.includes(d)))));
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
    this.#emit({ kind: "unregister", driver: core.name });
    const removals = [...this.#present.values()]
      // A device bound to it, or one whose queued probe may yet bind it.
      .filter((record) => record.attached?.driver === core || (record.pending > 0 && core.matches(record.host)))
      .map((record) =>
        this.#track(
          record.enqueue(async () => {
            if (record.attached?.driver === core) await removeDevice(record, "driver unregistered");
          }),
        ),
      );
    await Promise.all(removals);
  }

  /** Resolves once no state change is queued or running on any device. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /**
   * The record of a device of this bus, from its `Device` reference or a
   * token of it. Covers a value from `any`, or a device of another machine.
   */
  #own(dev: Device, operation: string): DeviceRecord {
    const binding = peekBinding(dev);
    const record = DeviceRecord.of(dev) ?? (binding === undefined ? undefined : this.#byHost.get(binding.port));
    if (record === undefined || record.bus !== this) {
      throw fail("EINVAL", `${operation}: ${describe(dev)} is not a device of this bus. Pass the Device that plug() returned.`);
    }
    return record;
  }

  #track<Result>(operation: Promise<Result>): Promise<Result> {
    this.#pending.add(operation);
    const done = (): void => void this.#pending.delete(operation);
    operation.then(done, done);
    return operation;
  }
}
