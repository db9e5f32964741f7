/**
 * The auxiliary bus as the driver core keeps it: `machine.auxiliary`, its
 * registry of auxiliary devices and drivers (a `BusCore` matching names),
 * and each device's host, which has no hardware of its own. Kernel:
 * `drivers/base/auxiliary.c` (`auxiliary_device_add`, `auxiliary_match_id`,
 * `auxiliary_device_delete`). The driver-facing API is `driver/auxiliary.ts`.
 *
 * # Invariants
 * - An auxiliary device is a child of its parent's device record: it is in
 *   the parent's `children` until deleted, and deleted (its driver unbound)
 *   before the parent's `remove()` runs (`Binding.children`, `core/dd.ts`).
 * - Its host delegates time, sleeping, the watchdog, the kernel heap, the
 *   event log and the checker to the parent's host, and refuses every
 *   hardware operation (MMIO, bus mastering, interrupts, DMA) with `EINVAL`.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import type { AuxiliaryDriver, AuxiliaryEntry, AuxiliaryHub } from "../driver/auxiliary.js";
import { AuxiliaryDriverCore, setAuxiliaryHub } from "../driver/auxiliary.js";
import type { Binding } from "../driver/binding.js";
import type { Device } from "../driver/device.js";
import type { Emit } from "../driver/ports.js";
import { BusCore } from "./bus.js";
import type { DeviceLinks } from "./device-link.js";
import type { HostDevice } from "./device.js";
import { DeviceRecord } from "./device.js";

/**
 * The auxiliary bus: `machine.auxiliary`. Devices appear on it when a driver
 * calls `addAuxiliaryDevice` in its probe, and leave with that binding.
 *
 * @example
 * ```ts
 * const RDMA = auxiliaryType<{ mtu: number }>("nic.rdma");
 * await machine.auxiliary.register(defineAuxiliaryDriver(RDMA)({ name: "rdma", probe: () => ({}) }));
 * await machine.settled();
 * console.log(machine.auxiliary.devices.map((d) => `${d.name} ${d.state}`));
 * ```
 */
export type AuxiliaryBus = {
  /** The auxiliary devices now, in creation order. */
  readonly devices: readonly Device[];
  /** The registered auxiliary drivers, in registration order. */
  readonly drivers: readonly AuxiliaryDriver[];
  /**
   * Registers an auxiliary driver and probes every device it matches that
   * has no driver. Rejects `EBUSY` if registered already, `EINVAL` for a
   * value `defineAuxiliaryDriver` did not make.
   */
  readonly register: (driver: AuxiliaryDriver) => Promise<void>;
  /** Unregisters it: every device bound to it is unbound. Rejects `EINVAL` if not registered. */
  readonly unregister: (driver: AuxiliaryDriver) => Promise<void>;
  /**
   * Unbinds the device's driver (its consumers first); it stays on the bus,
   * `no-driver`. Rejects `EINVAL` for a device that is not bound or not on
   * this bus.
   */
  readonly unbind: (dev: Device) => Promise<void>;
  /** The device an auxiliary device sits under: its parent's PCI device. */
  readonly parent: (dev: Device) => Device | undefined;
  /** Resolves once no state change is queued or running on an auxiliary device. */
  readonly settled: () => Promise<void>;
};

export class AuxiliaryBusCore implements AuxiliaryHub {
  readonly core: BusCore;
  readonly #emit: Emit;
  /** The public face, `machine.auxiliary`. */
  readonly face: AuxiliaryBus;

  constructor(emit: Emit, links: DeviceLinks) {
    this.#emit = emit;
    this.core = new BusCore("auxiliary", emit, links);
    const core = this.core;
    this.face = Object.freeze({
      get devices() {
        return core.devices;
      },
      get drivers() {
        // Safe: every driver registered here went through AuxiliaryDriverCore.of: defineAuxiliaryDriver made it.
        return core.drivers as unknown as readonly AuxiliaryDriver[];
      },
      register: async (driver: AuxiliaryDriver) => core.register(AuxiliaryDriverCore.of(driver, "auxiliary.register")),
      unregister: async (driver: AuxiliaryDriver) => core.unregister(AuxiliaryDriverCore.of(driver, "auxiliary.unregister")),
      unbind: (dev: Device) => core.unbind(dev),
      parent: (dev: Device) => core.parentOf(dev),
      settled: () => core.settled(),
    });
  }

  /** Lets children of `host` (a device of any bus) be created on this bus. */
  serve(host: HostDevice): void {
    setAuxiliaryHub(host, this);
  }

  add(parent: Binding, name: string, matchName: string): AuxiliaryEntry {
    const parentRecord = DeviceRecord.ofHost(parent.port);
    // Covers a core bug: every binding's port is a host some bus added.
    if (parentRecord === undefined) throw new Error(`boundscope internal error: ${parent.describe()} has no device record.`);
    if (this.core.has(name)) {
      throw fail("EBUSY", `addAuxiliaryDevice: ${parent.describe()}: an auxiliary device named "${name}" exists already. Give each device of one key its own id.`);
    }
    const host = auxiliaryHost(parentRecord.host, name, matchName, this.#emit);
    this.serve(host);
    host.emit({ kind: "aux-add", parent: parentRecord.name, detail: `under ${parentRecord.name}` }, parent.driver);
    const device = this.core.add(host, parentRecord);
    const record = this.core.record(device, "addAuxiliaryDevice");
    return {
      device,
      parent: parentRecord.ref,
      host,
      remove: () => {
        if (!record.deleted) this.core.deleteRecord(record, "removed", "aux-del");
        return this.core.removal(record);
      },
    };
  }
}

/**
 * The host of an auxiliary device: the parent's for time, sleep, the
 * watchdog, the heap, events and facts; nothing for hardware.
 */
function auxiliaryHost(parent: HostDevice, name: string, matchName: string, emit: Emit): HostDevice {
  const what = `auxiliary device ${name} (under ${parent.describe()})`;
  // Covers a driver that reaches for hardware on an auxiliary device's
  // token: it has none. The types cannot tell the two kinds of token apart.
  const refuse = (operation: string) => (): never => {
    throw fail("EINVAL", `${operation}: ${what} has no hardware of its own: no BARs, interrupt or DMA. Do DMA through the parent's device: ask its driver with an op it offers (ParentData.call).`);
  };
  let gone = false;
  const own: HostDevice = {
    name,
    vendor: parent.vendor,
    device: parent.device,
    matchName,
    describe: () => what,
    get present() {
      return parent.present && !gone;
    },
    bars: Object.freeze([]),
    busMaster: false,
    get checking() {
      return parent.checking;
    },
    get now() {
      return parent.now;
    },
    sleep: (ns: number) => parent.sleep(ns),
    watch: (...args: Parameters<HostDevice["watch"]>) => parent.watch(...args),
    emit: (event: Parameters<HostDevice["emit"]>[0], driver?: string) => emit(event, name, driver),
    report: (fact: Parameters<HostDevice["report"]>[0]) => parent.report(fact),
    get dmaLimitBits() {
      return parent.dmaLimitBits;
    },
    // The parent's fault injection and scheduling points: one machine, one harness.
    injectedFailure: (...args: Parameters<HostDevice["injectedFailure"]>) => parent.injectedFailure(...args),
    schedulePoint: (...args: Parameters<HostDevice["schedulePoint"]>) => parent.schedulePoint(...args),
    nextBindingSerial: () => parent.nextBindingSerial(),
    heapAlloc: (...args: Parameters<HostDevice["heapAlloc"]>) => parent.heapAlloc(...args),
    heapFree: (...args: Parameters<HostDevice["heapFree"]>) => parent.heapFree(...args),
    holds: () => [],
    activeHolds: () => [],
    reclaim: () => [],
    elapse: (ns: number) => parent.elapse(ns),
    takeErrors: () => [],
    remove: () => void (gone = true),
    mmioRead: refuse("MMIO read"),
    mmioWrite: refuse("MMIO write"),
    setBusMaster: refuse("enableBusMaster"),
    allocCoherent: refuse("allocCoherent"),
    freeCoherent: refuse("freeCoherent"),
    mapStreaming: refuse("DMA mapping"),
    syncStreaming: refuse("DMA sync"),
    unmapStreaming: refuse("DMA unmap"),
    // Config space, the interrupt lines and the subsystems' hardware-facing
    // side are hardware too: reaching for them throws, naming them; the
    // parent's are never handed out. A member DevicePort grows must be
    // listed here (the `HostDevice` annotation makes that a compile error).
    configRead: refuse("configRead"),
    configWrite: refuse("configWrite"),
    busyWait: refuse("busyWait"),
    get legacyIrq(): never {
      return refuse("legacyIrq")();
    },
    irqCapacity: refuse("irqCapacity"),
    get msiVectors(): never {
      return refuse("msiVectors")();
    },
    enableMsi: refuse("enableMsi"),
    disableMsi: refuse("disableMsi"),
    get subsystems(): never {
      return refuse("subsystems")();
    },
  };
  return own;
}
