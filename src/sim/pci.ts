/**
 * The simulated PCI bus: `machine.pci`. It plugs devices in (each with its
 * model and its own hardware state) and takes them out by surprise; which
 * driver binds what, and in which order, is the driver core's
 * (`core/bus.ts`).
 *
 * Kernel: PCI hot-plug (`pci_scan_slot`, `pci_stop_and_remove_bus_device`),
 * handing each new function to `device_add`.
 *
 * # Invariants
 * - Two devices on the bus never share a name.
 * - A model is plugged in once (`sim/model.ts`).
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { hex4 } from "../driver/device.js";
import type { Device } from "../driver/device.js";
import type { Driver } from "../driver/driver.js";
import { BusCore } from "../core/bus.js";
import { DeviceHardware } from "./hardware.js";
import type { Hardware } from "./hardware.js";
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
  /** Whether the device snoops the CPU's caches; default the machine's `dmaCoherent`. */
  readonly dmaCoherent?: boolean;
}

/**
 * A simulated PCI bus: `machine.pci`. A type alias whose operations are
 * properties, so declaration merging cannot add a weaker overload (a
 * `register` for a look-alike driver, say).
 *
 * @example
 * ```ts
 * const driver = defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe: () => ({}) });
 * const dev = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * await machine.pci.register(driver);   // probes dev
 * await machine.pci.unplug(dev);        // remove(), devres release, zombie
 * ```
 */
export type Bus = {
  /** The devices on the bus now, in plug order. Unplugged ones are gone. */
  readonly devices: readonly Device[];
  /** The registered drivers, in registration order. */
  readonly drivers: readonly Driver[];
  /**
   * Hot-plugs a device and returns a plain reference to it at once. Pass a
   * {@link DeviceModel} for simulated hardware, or just the ids for a device
   * with no registers. Its probe by the drivers registered now is already
   * queued; `await machine.settled()` to see it bound.
   *
   * Throws `EINVAL` for ids outside 0 to 0xffff or a bad name, `EBUSY` for a
   * name already on the bus or a model already plugged in.
   */
  readonly plug: (spec: PlugSpec | DeviceModel) => Device;
  /**
   * Surprise removal. The hardware is gone at once; then, after whatever was
   * queued for the device, `remove()` runs with the live token, devres is
   * released, and the device is a `zombie` for good.
   *
   * Rejects with `EINVAL` for a device not on this bus or already unplugged.
   */
  readonly unplug: (dev: Device) => Promise<void>;
  /**
   * Orderly unbind: after whatever was queued for the device, `remove()` runs
   * with the live token, devres is released, and the device is `no-driver`.
   * It is not probed again until a driver is registered.
   *
   * Rejects with `EINVAL` for a device that is not bound (or whose queued
   * probe did not bind it), unplugged, or not on this bus.
   */
  readonly unbind: (dev: Device) => Promise<void>;
  /**
   * Registers a driver and probes every matching device that has no driver.
   * Resolves once every probe it started has settled; a probe that fails
   * leaves its device `no-driver` and is recorded in `machine.events`.
   *
   * Rejects with `EBUSY` if the driver is registered already, `EINVAL` for a
   * value `defineDriver` did not make.
   */
  readonly register: (driver: Driver) => Promise<void>;
  /**
   * Unregisters a driver: no new probes by it, and every device bound to it
   * is unbound (after whatever was queued for it). Resolves once they are.
   *
   * Rejects with `EINVAL` for a driver that is not registered.
   */
  readonly unregister: (driver: Driver) => Promise<void>;
  /** Resolves once no state change is queued or running on any device. */
  readonly settled: () => Promise<void>;
};

export class PciBus implements Bus {
  readonly #hw: Hardware;
  readonly #core: BusCore;
  #slots = 0;

  constructor(hw: Hardware) {
    this.#hw = hw;
    this.#core = new BusCore(hw.emit);
  }

  get devices(): readonly Device[] {
    return this.#core.devices;
  }

  get drivers(): readonly Driver[] {
    return this.#core.drivers;
  }

  plug(spec: PlugSpec | DeviceModel): Device {
    // Covers a spec from `any` or JavaScript.
    if (typeof spec !== "object" || spec === null) {
      throw fail("EINVAL", `plug: expected a DeviceModel or { vendor, device, name? }, got ${describe(spec)}.`);
    }
    // A plain spec gets a model with no BARs; the model validates the ids.
    const model = spec instanceof DeviceModel ? spec : new DeviceModel({
            vendor: spec.vendor,
            device: spec.device,
            ...(spec.name === undefined ? {} : { name: spec.name }),
            ...(spec.dmaCoherent === undefined ? {} : { dmaCoherent: spec.dmaCoherent }),
          });
    const name = model.name ?? this.#nextAddress();
    if (this.#core.has(name)) {
      throw fail("EBUSY", `plug: a device named "${name}" is already on the bus. Unplug it first, or pick another name.`);
    }
    const core = this.#core;
    const hardware: DeviceHardware = new DeviceHardware(this.#hw, name, model, {
      bound: () => core.boundDriver(hardware),
      last: () => core.lastDriver(hardware),
    });
    hardware.emit({ kind: "plug", detail: `${hex4(hardware.vendor)}:${hex4(hardware.device)}` });
    return this.#core.add(hardware);
  }

  unplug(dev: Device): Promise<void> {
    return this.#core.unplug(dev);
  }

  unbind(dev: Device): Promise<void> {
    return this.#core.unbind(dev);
  }

  register(driver: Driver): Promise<void> {
    return this.#core.register(driver);
  }

  unregister(driver: Driver): Promise<void> {
    return this.#core.unregister(driver);
  }

  settled(): Promise<void> {
    return this.#core.settled();
  }

  #nextAddress(): string {
    for (;;) {
      const slot = ++this.#slots;
      const name = `${hex4(Math.floor(slot / 8192))}:${(Math.floor(slot / 32) % 256).toString(16).padStart(2, "0")}:${(slot % 32).toString(16).padStart(2, "0")}.0`;
      if (!this.#core.has(name)) return name;
    }
  }
}
