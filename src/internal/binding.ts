/**
 * One binding: a driver attached to a device, from the start of `probe()` to
 * the end of devres release. The kernel keeps this state spread over
 * `struct device` (`dev->driver`, `dev->devres_head`); here it is one object,
 * so that "is this token still valid" is one field read.
 *
 * # Invariants
 * - `live` goes from true to false once and never back. Every token,
 *   allocation and devres entry of the binding checks it.
 * - `resources` is the devres stack: insertion order is acquisition order, and
 *   release walks it backwards.
 *
 * @module
 */

import { fail } from "../error.js";
import type { DeviceCore } from "../device.js";
import type { DriverCore } from "../driver.js";
import type { EventLog } from "../events.js";
import type { Block, CoherentPool } from "../memory.js";
import type { ProbeDevice } from "../device.js";
import type { DriverInstance } from "../driver.js";
import type { TaskRun } from "../task.js";
import { DEFAULT_DMA_MASK_BITS, mintToken } from "../device.js";
import type { Hardware } from "./hardware.js";

/** Something released at unbind, last in first out. */
export interface Resource {
  /** What it is, for messages and the event log: `coherent 4096 bytes at 0x…`. */
  readonly label: string;
  /** Releases it. Called once, by the binding or by an early release. */
  release(): void | Promise<void>;
}

/** Why a binding ended, for the `ENXIO` message of a token used afterwards. */
export type EndReason = "probe failed" | "unbound" | "unplugged" | "driver unregistered";

let nextSerial = 1;

export class Binding {
  /** True from probe start until remove() returns (or probe fails). */
  live = true;
  /** True while probe() or remove() runs: the core context is usable. */
  core = true;
  /** The DMA mask for every handle given to this binding. */
  dmaMaskBits = DEFAULT_DMA_MASK_BITS;
  /** The devres stack. */
  readonly resources = new Set<Resource>();
  /** Pool blocks this binding holds, kept by the pool for the leak check. */
  readonly blocks = new Set<Block>();
  /** The binding's one token, handed to probe() and remove(). */
  readonly token: ProbeDevice<unknown>;
  /** What probe() returned, once it has. */
  instance: DriverInstance<unknown> | undefined;
  /** Live coherent allocations by bus address, for `freeCoherent`. */
  readonly allocations = new Map<number, Resource & { free(): void }>();
  /** Spawned tasks not yet finished. */
  readonly tasks = new Set<TaskRun>();
  /** The first checker error to throw in "throw" mode once the unbind is done. */
  deferred: Error | undefined;
  readonly serial = nextSerial++;
  #endReason: EndReason | undefined;

  constructor(
    readonly hw: Hardware,
    readonly device: DeviceCore,
    readonly driver: DriverCore,
  ) {
    this.token = mintToken(this);
  }

  get pool(): CoherentPool {
    return this.hw.pool;
  }

  get log(): EventLog {
    return this.hw.log;
  }

  /** Turns bus mastering on, as a devres entry that turns it off. */
  enableBusMaster(): void {
    const core = this.device;
    if (core.busMaster) {
      throw fail("EBUSY", `enableBusMaster: ${this.describe()}: bus mastering is already on.`);
    }
    core.busMaster = true;
    core.model.notify("busMasterChanged", () => core.model.busMasterChanged(true));
    this.add({
      label: "bus mastering",
      release: () => {
        core.busMaster = false;
        core.model.notify("busMasterChanged", () => core.model.busMasterChanged(false));
      },
    });
  }

  describe(): string {
    return `${this.device.describe()}, driver "${this.driver.name}" (binding #${this.serial})`;
  }

  /** Ends the binding: every token and resource of it is dead from now on. */
  end(reason: EndReason): void {
    this.live = false;
    this.core = false;
    this.#endReason = reason;
  }

  deathNotice(): string {
    return `this token is dead: the binding ended (${this.#endReason ?? "unknown"}). A token is valid only while its driver is bound; stop work that uses it in remove(), and get a fresh token from the next probe().`;
  }

  /** Throws `EPERM` unless probe() or remove() of this binding is running. */
  requireCore(operation: string): void {
    if (!this.core) {
      throw fail(
        "EPERM",
        `${operation}: ${this.describe()}: this is a core-only operation, usable only while probe() or remove() runs. Call it from there, not from a callback or continuation that outlives them.`,
      );
    }
  }

  /** Pushes `resource` on the devres stack. */
  add(resource: Resource): void {
    this.resources.add(resource);
  }

  /** Takes `resource` off the stack after an early release. */
  forget(resource: Resource): void {
    this.resources.delete(resource);
  }

  /**
   * Releases every resource, last in first out, awaiting each before the next.
   * A release that throws or rejects is reported and the walk goes on: one bad
   * release must not leak everything acquired before it.
   */
  async releaseAll(
    onReleased: (resource: Resource) => void | Promise<void>,
    onError: (resource: Resource, error: unknown) => void,
  ): Promise<void> {
    const stack = [...this.resources];
    for (let i = stack.length - 1; i >= 0; i--) {
      const resource = stack[i]!;
      // An earlier release may have released this one too (a devres entry
      // whose release frees an allocation of the same binding).
      if (!this.resources.has(resource)) continue;
      this.resources.delete(resource);
      try {
        await resource.release();
        await onReleased(resource);
      } catch (error) {
        onError(resource, error);
      }
    }
  }
}
