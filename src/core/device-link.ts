/**
 * Device links: a consumer device depends on a supplier device, maybe on
 * another bus. Kernel: `drivers/base/core.c` `device_link_add` with a
 * managed link (`DL_FLAG_AUTOREMOVE_*` off): the consumer is not probed
 * before its supplier is bound (it waits on the deferred-probe list, and is
 * probed once the supplier binds), and it is unbound before its supplier
 * unbinds. A link that would make a dependency cycle is refused, as
 * `device_is_dependent` refuses it.
 *
 * # Invariants
 * - The dependency graph, "a child depends on its parent" and "a consumer
 *   depends on its supplier", has no cycle: `add` refuses the link that
 *   would close one. So the queues that wait on each other at removal (a
 *   parent on its children, a supplier on its consumers) never wait in a
 *   circle.
 * - While a link exists, its consumer is bound only while its supplier is:
 *   a probe of the consumer defers while the supplier is not bound, and the
 *   supplier's unbind unbinds the consumer first.
 * - A deleted device (unplugged, removed) has no links.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { Device } from "../driver/device.js";
import type { Emit } from "../driver/ports.js";
import { DeviceRecord } from "./device.js";

/**
 * A managed link between two devices, from `machine.links.add(consumer,
 * supplier)`.
 *
 * @example
 * ```ts
 * const phy = machine.pci.plug({ vendor: 0x1af4, device: 0x1001 });
 * const mac = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * const link: DeviceLink = machine.links.add(mac, phy);   // mac waits for phy's driver
 * link.remove();
 * ```
 */
export type DeviceLink = {
  /** The device that depends: probed only after, and unbound before, its supplier. */
  readonly consumer: Device;
  /** The device depended on. */
  readonly supplier: Device;
  /** False once removed, or once either device was deleted. */
  readonly live: boolean;
  /** Drops the link; a consumer waiting only for this supplier is probed. Idempotent. */
  readonly remove: () => void;
};

/**
 * `machine.links`: device links across the machine's buses.
 *
 * @example
 * ```ts
 * const supplier = machine.pci.plug({ vendor: 0x1af4, device: 0x1001 });
 * const consumer = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * machine.links.add(consumer, supplier);
 * console.log(machine.links.of(consumer).length);   // 1
 * ```
 */
export type Links = {
  /**
   * Links `consumer` to `supplier`: the consumer is not probed before the
   * supplier is bound, and is unbound before it. Returns the existing link
   * if there is one.
   *
   * Throws `EINVAL` for a device not on this machine or deleted, or for a
   * link that would make a cycle (the message names it); `EBUSY` when the
   * consumer is bound (or probing) while the supplier is not.
   */
  readonly add: (consumer: Device, supplier: Device) => DeviceLink;
  /** The links of `dev`, as consumer or supplier, oldest first. */
  readonly of: (dev: Device) => readonly DeviceLink[];
};

/** One link, as the registry keeps it. */
class LinkState implements DeviceLink {
  live = true;
  constructor(
    readonly consumerRecord: DeviceRecord,
    readonly supplierRecord: DeviceRecord,
    readonly owner: DeviceLinks,
  ) {}
  get consumer(): Device {
    return this.consumerRecord.ref;
  }
  get supplier(): Device {
    return this.supplierRecord.ref;
  }
  readonly remove = (): void => this.owner.drop(this);
}

export class DeviceLinks {
  readonly #emit: Emit;
  /** Records of this machine's buses: a link joins only those. */
  readonly #known = new WeakSet<DeviceRecord>();
  /** Live links by consumer, and by supplier, oldest first. */
  readonly #bySupplier = new Map<DeviceRecord, LinkState[]>();
  readonly #byConsumer = new Map<DeviceRecord, LinkState[]>();
  /** The public face, `machine.links`. */
  readonly face: Links;

  constructor(emit: Emit) {
    this.#emit = emit;
    this.face = Object.freeze({ add: (consumer: Device, supplier: Device) => this.add(consumer, supplier), of: (dev: Device) => this.of(dev) });
  }

  /** A bus tells the registry about each device it adds. */
  track(record: DeviceRecord): void {
    this.#known.add(record);
  }

  add(consumer: Device, supplier: Device): DeviceLink {
    const c = this.#own(consumer, "consumer");
    const s = this.#own(supplier, "supplier");
    const existing = (this.#byConsumer.get(c) ?? []).find((link) => link.supplierRecord === s);
    if (existing !== undefined) return existing;
    const cycle = c === s ? [s] : this.#dependencyPath(s, c);
    if (cycle !== undefined) {
      const path = [c, ...cycle].map((record) => record.name).join(" → ");
      throw fail(
        "EINVAL",
        `links.add: ${c.describe()} cannot consume from ${s.describe()}: ${c === s ? "a device cannot depend on itself" : `${s.name} already depends on ${c.name}`} (${path}), so the link would make a cycle.`,
      );
    }
    // Covers what the registry cannot repair by itself: a consumer already
    // bound to a supplier that is not. Unbind the consumer first.
    if (c.state !== "no-driver" && s.state !== "bound") {
      throw fail("EBUSY", `links.add: ${c.describe()} is ${c.state} but its supplier ${s.describe()} is ${s.state}. Unbind the consumer first, or bind the supplier.`);
    }
    const link = new LinkState(c, s, this);
    push(this.#byConsumer, c, link);
    push(this.#bySupplier, s, link);
    c.host.emit({ kind: "link-add", supplier: s.name, detail: `consumes from ${s.name}` });
    return link;
  }

  /** Drops a link (idempotent); a deferred consumer that no longer waits is probed. */
  drop(link: LinkState): void {
    if (!link.live) return;
    link.live = false;
    pull(this.#byConsumer, link.consumerRecord, link);
    pull(this.#bySupplier, link.supplierRecord, link);
    link.consumerRecord.host.emit({ kind: "link-remove", supplier: link.supplierRecord.name, detail: `no longer consumes from ${link.supplierRecord.name}` });
    this.#retry(link.consumerRecord);
  }

  /** Drops every link of a deleted device. */
  dropAll(record: DeviceRecord): void {
    for (const link of [...(this.#byConsumer.get(record) ?? []), ...(this.#bySupplier.get(record) ?? [])]) this.drop(link);
  }

  of(dev: Device): readonly DeviceLink[] {
    const record = DeviceRecord.of(dev);
    // Covers a value from `any`, or a device of another machine.
    if (record === undefined || !this.#known.has(record)) {
      throw fail("EINVAL", `links.of: ${describe(dev)} is not a device of this machine.`);
    }
    const all = [...(this.#byConsumer.get(record) ?? []), ...(this.#bySupplier.get(record) ?? [])];
    return Object.freeze(all);
  }

  /** The suppliers of `record` that are not bound now: what its probe waits for. */
  unboundSuppliers(record: DeviceRecord): DeviceRecord[] {
    return (this.#byConsumer.get(record) ?? []).map((link) => link.supplierRecord).filter((supplier) => supplier.state !== "bound");
  }

  /** The consumers of `record`, newest link first: unbound in that order. */
  consumersOf(record: DeviceRecord): DeviceRecord[] {
    return (this.#bySupplier.get(record) ?? []).map((link) => link.consumerRecord).reverse();
  }

  /** `record` is bound now: its deferred consumers that wait for nothing else are probed. */
  bound(record: DeviceRecord): void {
    for (const consumer of this.consumersOf(record).reverse()) this.#retry(consumer);
  }

  #retry(consumer: DeviceRecord): void {
    if (consumer.deferred && !consumer.deleted && this.unboundSuppliers(consumer).length === 0) consumer.bus.probeDeferred(consumer);
  }

  #own(dev: Device, role: string): DeviceRecord {
    const record = DeviceRecord.of(dev);
    // Covers a value from `any`, a token, or a device of another machine.
    if (record === undefined || !this.#known.has(record)) {
      throw fail("EINVAL", `links.add: the ${role}, ${describe(dev)}, is not a device of this machine. Pass the Device a bus returned.`);
    }
    // Covers a reference kept after unplug or removal: its links went with it.
    if (record.deleted) {
      throw fail("EINVAL", `links.add: the ${role}, ${record.describe()}, is no longer on its bus (unplugged or removed).`);
    }
    return record;
  }

  /**
   * The path by which `from` already depends on `to` (through its parents and
   * its suppliers), `from` first and `to` last, or `undefined` if it does not.
   */
  #dependencyPath(from: DeviceRecord, to: DeviceRecord): DeviceRecord[] | undefined {
    const previous = new Map<DeviceRecord, DeviceRecord | undefined>([[from, undefined]]);
    const queue = [from];
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (at === to) {
        const path: DeviceRecord[] = [];
        for (let step: DeviceRecord | undefined = at; step !== undefined; step = previous.get(step)) path.unshift(step);
        return path;
      }
      const next = [...(at.parent === undefined ? [] : [at.parent]), ...(this.#byConsumer.get(at) ?? []).map((link) => link.supplierRecord)];
      for (const dependency of next) {
        if (!previous.has(dependency)) {
          previous.set(dependency, at);
          queue.push(dependency);
        }
      }
    }
    return undefined;
  }
}

function push(map: Map<DeviceRecord, LinkState[]>, key: DeviceRecord, link: LinkState): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [link]);
  else list.push(link);
}

function pull(map: Map<DeviceRecord, LinkState[]>, key: DeviceRecord, link: LinkState): void {
  const list = map.get(key);
  if (list === undefined) return;
  list.splice(list.indexOf(link), 1);
  if (list.length === 0) map.delete(key);
}
