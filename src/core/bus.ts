/**
 * A bus type's registry: which devices are on the bus, which drivers are
 * registered, the device tree, and the queue of state changes each device
 * goes through. One class serves every bus: PCI (`sim/pci.ts`) matches ids,
 * the auxiliary bus (`core/auxiliary.ts`) matches names; each driver says
 * what it matches (`BusDriver`).
 *
 * Kernel: `drivers/base/bus.c` (`bus_add_driver`, `bus_probe_device`,
 * `device_attach`, `driver_detach`), `core.c` (`device_del` of a subtree,
 * children first) and `dd.c`'s deferred-probe list. Binding and unbinding one
 * device is `dd.ts`; what hardware a device is, the bus that plugs it in
 * decides.
 *
 * # Invariants
 * - State changes of one device run one at a time, in the order they were
 *   asked for. `add` and `register` queue probes; `unbind`, `unplug` and
 *   `unregister` queue removals behind whatever is queued already.
 * - A device unbound by hand is not probed again until a driver registers.
 * - Drivers are tried in registration order.
 * - Deleting a device (unplug, software removal) deletes its subtree on this
 *   bus, deepest first, newest child first: every child's driver is removed
 *   before its parent's. The whole subtree leaves the bus at once.
 * - A device whose suppliers (`device-link.ts`) are not all bound is not
 *   probed: it is deferred, and probed once they are. A supplier unbinds
 *   its consumers before it unbinds.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { peekBinding } from "../driver/binding.js";
import type { Device } from "../driver/device.js";
import type { Emit, EndReason, MachineEventKind } from "../driver/ports.js";
import { probeDevice, removeDevice } from "./dd.js";
import type { DeviceLinks } from "./device-link.js";
import type { BusDriver, HostDevice, RecordBus } from "./device.js";
import { DeviceRecord } from "./device.js";

/** How a device leaves its bus: by surprise (the hardware is gone) or by software. */
export type Deletion = "unplugged" | "removed";

export class BusCore implements RecordBus {
  readonly #emit: Emit;
  readonly #links: DeviceLinks;
  /** Devices on the bus by name, in plug order: added and not deleted. */
  readonly #present = new Map<string, DeviceRecord>();
  /** Every device ever added, by its host: a token leads to its host. */
  readonly #byHost = new WeakMap<object, DeviceRecord>();
  /** Registered drivers, in registration order (the order probes try them). */
  readonly #drivers: BusDriver[] = [];
  /** Every queued state change not yet finished, over all devices. */
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    /** `pci`, `auxiliary`: for messages. */
    readonly label: string,
    emit: Emit,
    links: DeviceLinks,
  ) {
    this.#emit = emit;
    this.#links = links;
  }

  /** True if a device named `name` is on the bus now. */
  has(name: string): boolean {
    return this.#present.has(name);
  }

  /** The devices on the bus now, in plug order. Deleted ones are gone. */
  get devices(): readonly Device[] {
    return Object.freeze(Array.from(this.#present.values(), (record) => record.ref));
  }

  /** The registered drivers, in registration order. */
  get drivers(): readonly BusDriver[] {
    return Object.freeze([...this.#drivers]);
  }

  /**
   * A device appears on the bus (`device_add`), under `parent` if given: its
   * probe by the drivers registered now is queued at once. Returns the plain
   * reference users hold.
   */
  add(host: HostDevice, parent?: DeviceRecord): Device {
    const record = new DeviceRecord(host, this, parent);
    this.#present.set(host.name, record);
    this.#byHost.set(host, record);
    this.#links.track(record);
    const candidates = this.#drivers.filter((driver) => driver.matches(host));
    // Nobody awaits this probe; in dmaDebug "throw" mode its error is in
    // dmaDebug.violations, so it must not also surface as unhandled.
    if (candidates.length > 0) this.#probe(record, candidates).catch(() => {});
    return record.ref;
  }

  /** The record of a device of this bus, for the layers that add children under it. */
  record(dev: Device, operation: string): DeviceRecord {
    return this.#own(dev, operation);
  }

  /** The driver bound to the device now, if any. */
  boundDriver(host: object): string | undefined {
    return this.#byHost.get(host)?.attached?.binding.driver;
  }

  /** The driver last bound to the device, once a binding has ended. */
  lastDriver(host: object): string | undefined {
    return this.#byHost.get(host)?.lastDriver;
  }

  /** The device `dev` sits under, if any (on any bus). */
  parentOf(dev: Device): Device | undefined {
    return this.#own(dev, "parent").parent?.ref;
  }

  /** The devices under `dev`, oldest first, on any bus (auxiliary devices included). */
  childrenOf(dev: Device): readonly Device[] {
    return Object.freeze(Array.from(this.#own(dev, "children").children, (child) => child.ref));
  }

  /**
   * Takes `dev` and its subtree on this bus off the bus at once, and queues
   * their removal, deepest first: `unplugged` (the hardware is gone too) or
   * `removed` (by software; the hardware stays). Returns the hosts taken
   * off, parents first, and the removal, which resolves once every driver
   * of the subtree is removed and every device is a `zombie`.
   *
   * Throws `EINVAL` for a device not on this bus or already deleted.
   */
  delete(dev: Device, how: Deletion, operation: string): { readonly hosts: readonly HostDevice[]; readonly done: Promise<void> } {
    const record = this.#own(dev, operation);
    if (record.deleted) {
      throw fail("EINVAL", `${operation}: ${record.describe()} was already ${record.unplugRequested ? "unplugged" : "removed"}.`);
    }
    return { hosts: this.deleteRecord(record, how), done: this.#track(this.#deleteTree(record, how)) };
  }

  /**
   * {@link delete} for a record the caller owns (an auxiliary device its
   * parent deletes): marks the subtree deleted and queues its removal;
   * returns the hosts taken off. `removal` is set on each.
   */
  deleteRecord(record: DeviceRecord, how: Deletion, kind: MachineEventKind = how === "unplugged" ? "unplug" : "device-remove"): HostDevice[] {
    const subtree = this.#subtree(record);
    for (const node of subtree) {
      node.deleted = true;
      // Surprise removal: the hardware is gone now, whatever is still queued.
      if (how === "unplugged") {
        node.unplugRequested = true;
        node.host.remove();
      }
      this.#present.delete(node.name);
      node.host.emit({ kind, driver: node.attached?.binding.driver, parent: node.parent?.name });
    }
    this.#deleteTree(record, how).catch(() => {});
    return subtree.map((node) => node.host);
  }

  /** The removal of a deleted record: resolves once it is a zombie. */
  removal(record: DeviceRecord): Promise<void> {
    return record.removal ?? Promise.resolve();
  }

  /**
   * Orderly unbind: after whatever was queued for the device, its consumers
   * are unbound, then `remove()` runs with the live token, devres is
   * released, and the device is `no-driver`. It is not probed again until a
   * driver is registered.
   *
   * Rejects with `EINVAL` for a device that is not bound (or whose queued
   * probe did not bind it), deleted, or not on this bus.
   */
  async unbind(dev: Device): Promise<void> {
    const record = this.#own(dev, "unbind");
    if (record.deleted) {
      throw fail("EINVAL", `unbind: ${record.describe()} was ${record.unplugRequested ? "unplugged" : "removed"}; there is nothing left to unbind.`);
    }
    if (record.state === "no-driver" && record.pending === 0) {
      throw fail("EINVAL", `unbind: ${record.describe()} has no driver bound.`);
    }
    await this.#track(
      record.enqueue(async () => {
        if (record.attached === undefined) {
          throw fail("EINVAL", `unbind: ${record.describe()} has no driver bound (its probe did not bind one).`);
        }
        await this.#unbind(record, "unbound");
      }),
    );
  }

  /**
   * Probes a device that has no driver with the registered drivers that
   * match it (`echo <dev> > /sys/bus/pci/drivers_probe`), after whatever was
   * queued for it: how a device unbound by {@link unbind} is bound again.
   * Resolves once the probe has settled; a failed probe leaves the device
   * `no-driver`, as at plug, and no matching driver leaves it as it is.
   *
   * Rejects with `EINVAL` for a device deleted or not on this bus, and
   * `EBUSY` for one that is bound (or being unbound) when its turn comes.
   */
  async bind(dev: Device): Promise<void> {
    const record = this.#own(dev, "bind");
    if (record.deleted) {
      throw fail("EINVAL", `bind: ${record.describe()} was ${record.unplugRequested ? "unplugged" : "removed"}; there is nothing left to bind.`);
    }
    await this.#track(
      record.enqueue(async () => {
        if (record.deleted) return;
        if (record.state !== "no-driver") {
          throw fail("EBUSY", `bind: ${record.describe()} is ${record.state}${record.attached === undefined ? "" : ` with driver "${record.attached.driver.name}"`}; unbind it first.`);
        }
        const candidates = this.#drivers.filter((driver) => driver.matches(record.host));
        if (candidates.length > 0) await this.#probeNow(record, candidates);
      }),
    );
  }

  /**
   * Registers a driver and probes every matching device that has no driver.
   * Resolves once every probe it started has settled; a probe that fails
   * leaves its device `no-driver` and is recorded in `machine.events`.
   *
   * Rejects with `EBUSY` if the driver is registered already.
   */
  async register(core: BusDriver): Promise<void> {
    if (this.#drivers.includes(core)) {
      throw fail("EBUSY", `register: driver "${core.name}" is already registered on this bus.`);
    }
    this.#drivers.push(core);
    this.#emit({ kind: "register", driver: core.name });
    const probes = [...this.#present.values()].filter((record) => core.matches(record.host)).map((record) => this.#probe(record, [core]));
    await Promise.all(probes);
  }

  /**
   * Unregisters a driver: no new probes by it, and every device bound to it
   * is unbound (after whatever was queued for it). Resolves once they are.
   *
   * Rejects with `EINVAL` for a driver that is not registered.
   */
  async unregister(core: BusDriver): Promise<void> {
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
            if (record.attached?.driver === core) await this.#unbind(record, "driver unregistered");
          }),
        ),
      );
    await Promise.all(removals);
  }

  /** Resolves once no state change is queued or running on any device. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** True while a state change is queued or running on a device of this bus. */
  get busy(): boolean {
    return this.#pending.size > 0;
  }

  // ------------------------------------------------------------ RecordBus

  probeDeferred(record: DeviceRecord): void {
    if (record.deleted || record.state !== "no-driver") return;
    this.#probe(
      record,
      this.#drivers.filter((driver) => driver.matches(record.host)),
    ).catch(() => {});
  }

  unbindConsumer(record: DeviceRecord, defer: boolean): Promise<void> {
    return this.#track(
      record.enqueue(async () => {
        if (record.attached === undefined) return;
        await this.#unbind(record, "supplier unbound");
        if (defer && !record.deleted) record.deferred = true;
      }),
    );
  }

  // ------------------------------------------------------------ internals

  /** Queues a probe by `candidates`; deferred while a supplier is not bound. */
  #probe(record: DeviceRecord, candidates: readonly BusDriver[]): Promise<void> {
    return this.#track(
      record.enqueue(async () => {
        // A probe queued before an unplug still runs, then the removal (as before trees).
        if (record.state !== "no-driver") return;
        await this.#probeNow(record, candidates);
      }),
    );
  }

  /** Inside the device's queue: probes by `candidates`, deferred while a supplier is not bound. */
  async #probeNow(record: DeviceRecord, candidates: readonly BusDriver[]): Promise<void> {
    const waiting = this.#links.unboundSuppliers(record);
    if (waiting.length > 0) {
      record.deferred = true;
      record.host.emit({ kind: "probe-deferred", supplier: waiting[0]!.name, detail: `waits for ${waiting.map((s) => s.name).join(", ")} to be bound` });
      return;
    }
    record.deferred = false;
    await probeDevice(record, candidates, (driver) => this.#drivers.includes(driver));
    // Bound now (a failed probe leaves no attachment): its deferred consumers may go.
    if (record.attached !== undefined) this.#links.bound(record);
  }

  /** Inside the device's queue: its consumers first, then its own unbind. */
  async #unbind(record: DeviceRecord, reason: EndReason): Promise<void> {
    await this.#unbindConsumers(record, true);
    await removeDevice(record, reason);
  }

  /** Unbinds every consumer of `record` (newest link first) and waits for each. */
  async #unbindConsumers(record: DeviceRecord, defer: boolean): Promise<void> {
    for (const consumer of this.#links.consumersOf(record)) {
      // A consumer's failure (a kept "throw"-mode error) is its own unbind's: the supplier goes on.
      await consumer.bus.unbindConsumer(consumer, defer).catch(() => {});
    }
  }

  /** `record` and its descendants on this bus that are not deleted yet, parents first. */
  #subtree(record: DeviceRecord): DeviceRecord[] {
    const out: DeviceRecord[] = [];
    const walk = (node: DeviceRecord): void => {
      out.push(node);
      for (const child of node.children) if (child.bus === this && !child.deleted) walk(child);
    };
    walk(record);
    return out;
  }

  /**
   * Removes a deleted subtree: each child's (newest first, deepest first),
   * then the device's own, in its queue. Rejects with the first error of a
   * removal this walk started (`dmaDebug: "throw"`), once all are done.
   */
  #deleteTree(record: DeviceRecord, how: Deletion): Promise<void> {
    record.removal ??= (async () => {
      let first: { error: unknown } | undefined;
      for (const child of record.childrenOn(this)) {
        const mine = child.removal === undefined;
        try {
          await this.#deleteTree(child, how);
        } catch (error) {
          if (mine) first ??= { error };
        }
      }
      try {
        await record.enqueue(() => this.#deleteOne(record, how));
      } catch (error) {
        first ??= { error };
      }
      if (first !== undefined) throw first.error;
    })();
    return record.removal;
  }

  /** Inside the device's queue: consumers, then `remove()`, then zombie; its links go. */
  async #deleteOne(record: DeviceRecord, how: Deletion): Promise<void> {
    try {
      await this.#unbindConsumers(record, false);
      await removeDevice(record, how);
    } finally {
      // A removed device ends no-driver: it leaves the bus for good, a zombie.
      if (record.state === "no-driver") await removeDevice(record, "unplugged");
      this.#links.dropAll(record);
      record.parent?.children.delete(record);
      record.deferred = false;
    }
  }

  /**
   * The record of a device of this bus, from its `Device` reference or a
   * token of it. Covers a value from `any`, or a device of another machine.
   */
  #own(dev: Device, operation: string): DeviceRecord {
    const binding = peekBinding(dev);
    const record = DeviceRecord.of(dev) ?? (binding === undefined ? undefined : this.#byHost.get(binding.port));
    if (record === undefined || record.bus !== this) {
      throw fail("EINVAL", `${operation}: ${describe(dev)} is not a device of this bus. Pass the Device that ${this.label === "pci" ? "plug()" : "the bus"} returned.`);
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
