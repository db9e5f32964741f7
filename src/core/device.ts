/**
 * The driver core's side of a device: its state in the driver model, its
 * binding, and the queue that serializes its state changes. Kernel: the
 * parts of `struct device` that `drivers/base/core.c` and `dd.c` keep
 * (`dev->driver`, `dev->p->dead`, the device lock).
 *
 * The hardware beneath is a {@link HostDevice}, which the simulated machine
 * implements; users see a device only through a {@link Device} reference,
 * which exposes nothing that grants access.
 *
 * # Invariants
 * - State changes of one device run one at a time, in the order asked for.
 * - `attached` is set from the start of a probe until its binding's teardown
 *   is over, and only then.
 *
 * @module
 */

import type { plainDeviceGrantsNothing } from "../internal/brand.js";
import type { Binding } from "../driver/binding.js";
import type { DevresStack } from "../driver/devres.js";
import type { Device, DeviceState } from "../driver/device.js";
import type { DriverCore, DriverInstance } from "../driver/driver.js";
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
}

/** One binding as the driver core keeps it. */
export interface Attachment {
  readonly binding: Binding;
  readonly driver: DriverCore;
  readonly devres: DevresStack;
  /** What probe() returned, once it has. */
  instance: DriverInstance<unknown> | undefined;
}

export class DeviceRecord {
  state: DeviceState = "no-driver";
  /** The binding while a driver is probing, bound or unbinding. */
  attached: Attachment | undefined;
  /** The driver of the last binding, for violations after it ended. */
  lastDriver: string | undefined;
  /** Set when an unplug was asked for: the hardware is gone from then on. */
  unplugRequested = false;
  /** State changes asked for and not yet finished. */
  pending = 0;
  /** The tail of the serialized queue of state changes. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly ref: Device;

  constructor(
    readonly host: HostDevice,
    /** The bus it is on: operations check a device belongs to their bus. */
    readonly bus: object,
  ) {
    // Safe: DeviceRef has Device's four read-only fields and nothing else public; the brand is type-level only.
    this.ref = new DeviceRef(this) as unknown as Device;
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

  /** The record behind a `Device` reference, or `undefined` for any other value. */
  static of(value: unknown): DeviceRecord | undefined {
    return DeviceRef.record(value);
  }
}

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
