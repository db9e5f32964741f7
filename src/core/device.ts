/**
 * The driver core's side of a device: its state in the driver model, its
 * binding, the queue that serializes its state changes, and its place in the
 * device tree (its parent and children). Kernel: the parts of `struct device`
 * that `drivers/base/core.c` and `dd.c` keep (`dev->driver`, `dev->p->dead`,
 * `dev->parent`, the klist of children, the device lock).
 *
 * The hardware beneath is a {@link HostDevice}, which the simulated machine
 * implements (an auxiliary device's is the driver core's own,
 * `core/auxiliary.ts`); users see a device only through a {@link Device}
 * reference, which exposes nothing that grants access.
 *
 * # Invariants
 * - State changes of one device run one at a time, in the order asked for.
 * - `attached` is set from the start of a probe until its binding's teardown
 *   is over, and only then.
 * - A record is in its parent's `children` from `add` until its deletion is
 *   over; `deleted` goes from false to true once (unplug or removal).
 * - A parent's queued operations may wait for its children's (and a
 *   supplier's for its consumers'), never the other way: the device tree
 *   and the device links form one acyclic graph (`core/device-link.ts`), so
 *   no two queues wait on each other.
 *
 * @module
 */

import type { plainDeviceGrantsNothing } from "../internal/brand.js";
import type { Binding } from "../driver/binding.js";
import type { DevresStack } from "../driver/devres.js";
import type { Device, DeviceState, ProbeDevice } from "../driver/device.js";
import type { DriverInstance } from "../driver/driver.js";
import type { DevicePort, Hold } from "../driver/ports.js";

/**
 * A device as the driver core reaches it: the driver model's port, and what
 * the core needs for teardown. The simulated machine implements it.
 */
export interface HostDevice extends DevicePort {
  /** What the device holds now, while present (empty once unplugged). */
  holds(): readonly Hold[];
  /** What it holds and can reach: present, with bus mastering on. */
  activeHolds(): readonly Hold[];
  /**
   * Takes back whatever DMA memory is still allocated for `owner`, with its
   * mappings, and says what it took: the leak check's reclaim.
   */
  reclaim(owner: object): readonly { readonly address: bigint; readonly size: number }[];
  /** CPU time passing in the core: device events due meanwhile fire. */
  elapse(ns: number): Promise<void>;
  /** Takes the errors this device raised while the clock ran (`dmaDebug: "throw"`). */
  takeErrors(): unknown[];
  /** Tells the device model that its device was surprise-removed. */
  remove(): void;
  /**
   * The name drivers of a bus that matches by name compare with their ids:
   * an auxiliary device's `modname.devname`. Absent on PCI, which matches ids.
   */
  readonly matchName?: string | undefined;
}

/**
 * A driver as the driver core runs it, on any bus: PCI drivers
 * (`driver/driver.ts` `DriverCore`) match vendor and device ids, auxiliary
 * drivers (`driver/auxiliary.ts`) match names.
 */
export interface BusDriver {
  readonly name: string;
  /** True if the driver binds to `device` (its ids, or its name). */
  matches(device: HostDevice): boolean;
  /** Runs the driver's probe for `device`, which it matches. */
  probe(dev: ProbeDevice<unknown>, device: HostDevice): DriverInstance<unknown> | Promise<DriverInstance<unknown>>;
}

/** One binding as the driver core keeps it. */
export interface Attachment {
  readonly binding: Binding;
  readonly driver: BusDriver;
  readonly devres: DevresStack;
  /** What probe() returned, once it has. */
  instance: DriverInstance<unknown> | undefined;
}

/**
 * What a device's bus does for the device links (`core/device-link.ts`),
 * which may join devices of two buses.
 */
export interface RecordBus {
  /** `pci`, `auxiliary`: for messages. */
  readonly label: string;
  /** Queues a probe of a deferred device whose suppliers are all bound now. */
  probeDeferred(record: DeviceRecord): void;
  /**
   * Unbinds a consumer because its supplier is going, after whatever is
   * queued for it; `defer` puts it back on the deferred list (the supplier
   * stays on its bus). Resolves once it is unbound.
   */
  unbindConsumer(record: DeviceRecord, defer: boolean): Promise<void>;
}

export class DeviceRecord {
  state: DeviceState = "no-driver";
  /** The binding while a driver is probing, bound or unbinding. */
  attached: Attachment | undefined;
  /** The driver of the last binding, for violations after it ended. */
  lastDriver: string | undefined;
  /** Set when an unplug was asked for: the hardware is gone from then on. */
  unplugRequested = false;
  /** Set when the device left its bus (unplug, software removal, auxiliary delete). */
  deleted = false;
  /** Its deletion, once scheduled: children wait is over when it settles. */
  removal: Promise<void> | undefined;
  /** Waiting for a supplier to bind before it is probed (`device-link.ts`). */
  deferred = false;
  /** Children, oldest first, on any bus: removed before this device is. */
  readonly children = new Set<DeviceRecord>();
  /** State changes asked for and not yet finished. */
  pending = 0;
  /** The tail of the serialized queue of state changes. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly ref: Device;

  constructor(
    readonly host: HostDevice,
    /** The bus it is on: operations check a device belongs to their bus. */
    readonly bus: RecordBus,
    /** The device it sits under, if any (a bridge, the PCI function of an auxiliary device). */
    readonly parent: DeviceRecord | undefined,
  ) {
    // Safe: DeviceRef has Device's four read-only fields and nothing else public; the brand is type-level only.
    this.ref = new DeviceRef(this) as unknown as Device;
    parent?.children.add(this);
    hostRecords.set(host, this);
  }

  get name(): string {
    return this.host.name;
  }

  /** Runs `op` after every state change asked for before it has finished. */
  enqueue<Result>(op: () => Promise<Result>): Promise<Result> {
    this.pending++;
    const run = this.#tail.then(op);
    this.#tail = run.then(
      () => this.pending--,
      () => this.pending--,
    );
    return run;
  }

  describe(): string {
    return this.host.describe();
  }

  /** Its children on `bus`, newest first: the order a removal walks them. */
  childrenOn(bus: RecordBus): DeviceRecord[] {
    return [...this.children].filter((child) => child.bus === bus).reverse();
  }

  /** The record behind a `Device` reference, or `undefined` for any other value. */
  static of(value: unknown): DeviceRecord | undefined {
    return DeviceRef.record(value);
  }

  /** The newest record of a host (a rescan makes a new one for the same hardware). */
  static ofHost(host: object): DeviceRecord | undefined {
    return hostRecords.get(host);
  }
}

/** Each host's newest record: the parent a child device is created under. */
const hostRecords = new WeakMap<object, DeviceRecord>();

/** A plain `Device` reference: read-only facts, no way to reach the record. */
class DeviceRef implements Omit<Device, typeof plainDeviceGrantsNothing> {
  readonly #record: DeviceRecord;
  constructor(record: DeviceRecord) {
    this.#record = record;
  }
  get name(): string {
    return this.#record.host.name;
  }
  get vendor(): number {
    return this.#record.host.vendor;
  }
  get device(): number {
    return this.#record.host.device;
  }
  get state(): DeviceState {
    return this.#record.state;
  }
  toJSON(): object {
    return { name: this.name, vendor: this.vendor, device: this.device, state: this.state };
  }
  static record(value: unknown): DeviceRecord | undefined {
    return typeof value === "object" && value !== null && #record in value ? value.#record : undefined;
  }
}
