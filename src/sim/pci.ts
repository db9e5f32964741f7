/**
 * The simulated PCI bus: `machine.pci`. It plugs devices in (each with its
 * model and its own hardware state) and takes them out by surprise; which
 * driver binds what, and in which order, is the driver core's
 * (`core/bus.ts`).
 *
 * Devices form a tree: a device plugged with a `parent` (a bridge, the
 * first function of a multi-function device) sits under it. Unplugging or
 * removing a device takes its subtree with it, deepest first; a rescan
 * finds removed hardware again, parents first.
 *
 * Kernel: PCI hot-plug (`pci_scan_slot`, `pci_stop_and_remove_bus_device`),
 * handing each new function to `device_add`; sysfs `remove` and `rescan`
 * (`pci_rescan_bus`).
 *
 * # Invariants
 * - Two devices on the bus, or removed but still present, never share a name.
 * - A model is plugged in once (`sim/model.ts`), and stays connected to its
 *   hardware through a removal and rescan.
 * - Removed hardware is found again only under its own parent, once that is
 *   on the bus; unplugging a device takes the removed hardware under it too.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { hex4 } from "../driver/device.js";
import type { Device } from "../driver/device.js";
import type { Driver } from "../driver/driver.js";
import type { AuxiliaryBusCore } from "../core/auxiliary.js";
import { BusCore } from "../core/bus.js";
import type { DeviceLinks } from "../core/device-link.js";
import type { HostDevice } from "../core/device.js";
import { DeviceRecord } from "../core/device.js";
import { DriverCore } from "../driver/driver.js";
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
 * What `bus.plug` takes besides the device.
 *
 * @example
 * ```ts
 * const bridge = machine.pci.plug({ vendor: 0x8086, device: 0x244e, name: "0000:00:1e.0" });
 * const nic = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 }, { parent: bridge });
 * console.log(machine.pci.parent(nic)?.name);   // "0000:00:1e.0"
 * ```
 */
export interface PlugOptions {
  /** The device it sits under (a bridge, function 0 of its slot); on this bus, not unplugged. */
  readonly parent?: Device;
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
   * Throws `EINVAL` for ids outside 0 to 0xffff, a bad name, or a parent
   * not on this bus; `EBUSY` for a name already on the bus (or held by
   * removed hardware) or a model already plugged in.
   */
  readonly plug: (spec: PlugSpec | DeviceModel, options?: PlugOptions) => Device;
  /**
   * Surprise removal. The hardware is gone at once, the device's subtree's
   * with it; then, deepest first (each after whatever was queued for it),
   * `remove()` runs with the live token, devres is released, and the device
   * is a `zombie` for good.
   *
   * Rejects with `EINVAL` for a device not on this bus or already unplugged
   * or removed.
   */
  readonly unplug: (dev: Device) => Promise<void>;
  /**
   * Software removal (`echo 1 > /sys/bus/pci/devices/…/remove`): the device
   * and its subtree leave the bus, deepest first, each driver removed and
   * each device a `zombie`; the hardware stays, for `rescan()`.
   *
   * Rejects with `EINVAL` for a device not on this bus or already unplugged
   * or removed.
   */
  readonly remove: (dev: Device) => Promise<void>;
  /**
   * Finds removed hardware again (`echo 1 > /sys/bus/pci/rescan`), parents
   * first, once every removal has finished: each is a new device with a
   * fresh `Device` reference, its probe queued. Resolves with them.
   */
  readonly rescan: () => Promise<readonly Device[]>;
  /** The device `dev` sits under, if any. */
  readonly parent: (dev: Device) => Device | undefined;
  /** The devices under `dev`, oldest first; auxiliary devices its driver created included. */
  readonly children: (dev: Device) => readonly Device[];
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
   * Probes a device that has no driver with the registered drivers that
   * match it (`echo <dev> > /sys/bus/pci/drivers_probe`), after whatever was
   * queued for it: how a device unbound by `unbind` is bound again. Resolves
   * once the probe has settled; a failed probe leaves it `no-driver` (in
   * `machine.events`), and no matching driver leaves it as it is.
   *
   * Rejects with `EINVAL` for a device unplugged, removed or not on this
   * bus, and `EBUSY` for one still bound when its turn comes.
   */
  readonly bind: (dev: Device) => Promise<void>;
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
  readonly #aux: AuxiliaryBusCore;
  /** Removed hardware, still present, by name, in removal order (parents first). */
  readonly #hidden = new Map<string, HostDevice>();
  /** Each plugged device's parent hardware, for a rescan. */
  readonly #parentOf = new WeakMap<HostDevice, HostDevice>();
  /** Removals not yet finished: a rescan waits for them. */
  readonly #removals = new Set<Promise<void>>();
  #slots = 0;

  constructor(hw: Hardware, links: DeviceLinks, aux: AuxiliaryBusCore) {
    this.#hw = hw;
    this.#aux = aux;
    this.#core = new BusCore("pci", hw.emit, links);
  }

  get devices(): readonly Device[] {
    return this.#core.devices;
  }

  get drivers(): readonly Driver[] {
    // Safe: every driver registered here went through DriverCore.of: defineDriver made it.
    return this.#core.drivers as unknown as readonly Driver[];
  }

  plug(spec: PlugSpec | DeviceModel, options: PlugOptions = {}): Device {
    // Covers a spec from `any` or JavaScript.
    if (typeof spec !== "object" || spec === null) {
      throw fail("EINVAL", `plug: expected a DeviceModel or { vendor, device, name? }, got ${describe(spec)}.`);
    }
    // Covers options from `any` or JavaScript.
    if (typeof options !== "object" || options === null) {
      throw fail("EINVAL", `plug: options must be an object like { parent }, got ${describe(options)}.`);
    }
    const parent = options.parent === undefined ? undefined : this.#parentRecord(options.parent);
    // A plain spec gets a model with no BARs; the model validates the ids.
    const model = spec instanceof DeviceModel ? spec : new DeviceModel({
            vendor: spec.vendor,
            device: spec.device,
            ...(spec.name === undefined ? {} : { name: spec.name }),
            ...(spec.dmaCoherent === undefined ? {} : { dmaCoherent: spec.dmaCoherent }),
          });
    const name = model.name ?? this.#nextAddress();
    if (this.#taken(name)) {
      throw fail("EBUSY", `plug: a device named "${name}" is already on the bus${this.#hidden.has(name) ? " (removed; rescan() finds it)" : ""}. Unplug it first, or pick another name.`);
    }
    const core = this.#core;
    const hardware: DeviceHardware = new DeviceHardware(this.#hw, name, model, {
      bound: () => core.boundDriver(hardware),
      last: () => core.lastDriver(hardware),
    });
    if (parent !== undefined) this.#parentOf.set(hardware, parent.host);
    hardware.emit({ kind: "plug", parent: parent?.name, detail: `${hex4(hardware.vendor)}:${hex4(hardware.device)}` });
    this.#aux.serve(hardware);
    return this.#core.add(hardware, parent);
  }

  unplug(dev: Device): Promise<void> {
    try {
      const { hosts, done } = this.#core.delete(dev, "unplugged", "unplug");
      this.#dropHidden(new Set(hosts));
      return done;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  remove(dev: Device): Promise<void> {
    try {
      const { hosts, done } = this.#core.delete(dev, "removed", "remove");
      for (const host of hosts) this.#hidden.set(host.name, host);
      const removal = done.catch(() => {});
      this.#removals.add(removal);
      void removal.then(() => this.#removals.delete(removal));
      return done;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async rescan(): Promise<readonly Device[]> {
    // A removal still running owns its hardware (the kernel's rescan/remove lock).
    while (this.#removals.size > 0) await Promise.allSettled([...this.#removals]);
    const found: Device[] = [];
    for (let progress = true; progress; ) {
      progress = false;
      for (const [name, host] of this.#hidden) {
        const parentHost = this.#parentOf.get(host);
        const parent = parentHost === undefined ? undefined : DeviceRecord.ofHost(parentHost);
        // Parents first: hardware under a parent still off the bus waits for it.
        if (parentHost !== undefined && (parent === undefined || parent.deleted)) continue;
        this.#hidden.delete(name);
        host.emit({ kind: "rescan", parent: parent?.name });
        found.push(this.#core.add(host, parent));
        progress = true;
      }
    }
    return Object.freeze(found);
  }

  parent(dev: Device): Device | undefined {
    return this.#core.parentOf(dev);
  }

  children(dev: Device): readonly Device[] {
    return this.#core.childrenOf(dev);
  }

  unbind(dev: Device): Promise<void> {
    return this.#core.unbind(dev);
  }

  bind(dev: Device): Promise<void> {
    return this.#core.bind(dev);
  }

  async register(driver: Driver): Promise<void> {
    return this.#core.register(DriverCore.of(driver, "register"));
  }

  async unregister(driver: Driver): Promise<void> {
    return this.#core.unregister(DriverCore.of(driver, "unregister"));
  }

  settled(): Promise<void> {
    return this.#core.settled();
  }

  /** True while a state change is queued or running on a PCI device. */
  get busy(): boolean {
    return this.#core.busy;
  }

  /** The record a new device goes under: on this bus and not deleted. */
  #parentRecord(dev: Device): DeviceRecord {
    const record = this.#core.record(dev, "plug");
    // Covers a reference kept after its device left: hardware cannot sit under a gone bridge.
    if (record.deleted) {
      throw fail("EINVAL", `plug: the parent, ${record.describe()}, was ${record.unplugRequested ? "unplugged" : "removed"}. Plug under a device on the bus.`);
    }
    return record;
  }

  /** Removed hardware under any of `gone` is gone too: its model hears of it. */
  #dropHidden(gone: Set<HostDevice>): void {
    for (let progress = true; progress; ) {
      progress = false;
      for (const [name, host] of this.#hidden) {
        const parent = this.#parentOf.get(host);
        if (parent !== undefined && gone.has(parent)) {
          this.#hidden.delete(name);
          host.remove();
          gone.add(host);
          progress = true;
        }
      }
    }
  }

  #taken(name: string): boolean {
    return this.#core.has(name) || this.#hidden.has(name);
  }

  #nextAddress(): string {
    for (;;) {
      const slot = ++this.#slots;
      const name = `${hex4(Math.floor(slot / 8192))}:${(Math.floor(slot / 32) % 256).toString(16).padStart(2, "0")}:${(slot % 32).toString(16).padStart(2, "0")}.0`;
      if (!this.#taken(name)) return name;
    }
  }
}
