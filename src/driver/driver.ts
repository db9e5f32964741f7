/**
 * Drivers: `struct pci_driver`, with `probe()` generic in its scope.
 *
 * `probe` is a rank-2 function, `<Scope>(dev: ProbeDevice<Scope>) => …`: the
 * core picks a fresh scope for every binding, so the driver's code can only be
 * generic in it. Everything the driver builds from the token carries the same
 * scope, and nothing of it can leave for a concrete scope without a cast.
 *
 * # Invariants
 * - Only `defineDriver` makes a {@link Driver}; its probe is kept in real
 *   private state, out of reach of anyone holding the driver.
 * - A hook (`probe`, `remove`) is read from the object or its own
 *   prototypes, never from `Object.prototype`: pollution grants nothing.
 *
 * @module
 */

import type { onlyDefineDriverMakesADriver } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { ProbeDevice } from "./device.js";

/**
 * The driver's state for one binding: what `probe()` returns. Keep the
 * binding's allocations and devres here or in `probe`'s closure.
 *
 * @example
 * ```ts
 * class NicDriver<Scope> implements DriverInstance<Scope> {
 *   constructor(readonly ring: CoherentAllocation<Scope>) {}
 *   remove(dev: ProbeDevice<Scope>): void {
 *     this.ring.bytes(dev).fill(0);
 *   }
 * }
 * ```
 */
export type DriverInstance<Scope> = {
  /**
   * Called when the device is unbound or unplugged, with the binding's token
   * still live. Stop the hardware here: devres frees memory right after. It
   * may be async: the core awaits what it returns. Typed as returning `void`
   * so that any function fits (`(d) => ring.bytes(d).fill(0)` included), as
   * TypeScript lets a `void` callback return anything.
   */
  readonly remove?: (dev: ProbeDevice<Scope>) => void;
};

/**
 * A PCI id a driver binds to.
 *
 * @example
 * ```ts
 * const ids: readonly DeviceId[] = [
 *   { vendor: 0x8086, device: 0x100e },
 *   { vendor: 0x8086, device: 0x10d3 },
 * ];
 * const e1000 = defineDriver({ name: "e1000", ids, probe: () => ({}) });
 * ```
 */
export type DeviceId = {
  readonly vendor: number;
  readonly device: number;
};

/**
 * What `defineDriver` takes.
 *
 * @example
 * ```ts
 * const spec: DriverSpec = {
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {                     // dev: ProbeDevice<Scope>
 *     setDmaMask(dev, 64);
 *     return {};
 *   },
 * };
 * await machine.pci.register(defineDriver(spec));
 * ```
 */
export type DriverSpec = {
  /** The driver's name, used in messages. */
  readonly name: string;
  /** The devices it binds to. */
  readonly ids: readonly DeviceId[];
  /**
   * Called with the core context of a new binding. Throw or reject to refuse
   * the device: everything taken so far is released, and the device stays
   * `no-driver`.
   */
  readonly probe: <Scope>(dev: ProbeDevice<Scope>) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>;
};

/**
 * A driver, ready for `bus.register`. Only `defineDriver` makes one.
 *
 * @example
 * ```ts
 * const myDriver: Driver = defineDriver({ name: "mine", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe: () => ({}) });
 * await machine.pci.register(myDriver);
 * ```
 */
export type Driver = {
  /** The driver brand (type-level only; see internal/brand.ts). */
  readonly [onlyDefineDriverMakesADriver]: "Driver";
  readonly name: string;
  readonly ids: readonly DeviceId[];
};

/**
 * Defines a driver. `probe` must be generic in its scope: write it without a
 * type annotation on `dev`, and TypeScript infers `ProbeDevice<Scope>`.
 *
 * Throws `EINVAL` for a spec without a name, with malformed ids, or without a
 * probe function.
 *
 * A constant, not a function declaration, so that no declaration merging
 * (`declare module "boundscope"`) can add a weaker overload.
 *
 * @example
 * ```ts
 * const sample = defineDriver({
 *   name: "sample",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const buf = allocCoherent(dev, 4096);
 *     return { remove: (dev) => console.log(buf.bytes(dev)[0]) };
 *   },
 * });
 * ```
 */
export const defineDriver = (spec: DriverSpec): Driver => {
  // Covers JavaScript callers and casts: DriverSpec is an object type, not a run-time guarantee.
  if (typeof spec !== "object" || spec === null) {
    throw fail("EINVAL", `defineDriver: expected a driver spec object, got ${describe(spec)}.`);
  }
  const { name, ids } = spec;
  const probe = hookOf(spec, "probe");
  // Covers an empty name, which `string` admits.
  if (typeof name !== "string" || name.trim() === "") {
    throw fail("EINVAL", `defineDriver: the driver needs a non-empty name, got ${describe(name)}.`);
  }
  // Covers an empty ids array, which `readonly DeviceId[]` admits.
  if (!Array.isArray(ids) || ids.length === 0) {
    throw fail("EINVAL", `defineDriver("${name}"): ids must be a non-empty array of { vendor, device }.`);
  }
  // Array.from visits the holes of a sparse array, which map() would skip unchecked.
  const checked = Array.from(ids, (id: unknown, i): DeviceId => {
    const { vendor, device } = (typeof id === "object" && id !== null ? id : {}) as Partial<DeviceId>;
    if (!isId(vendor) || !isId(device)) {
      throw fail("EINVAL", `defineDriver("${name}"): ids[${i}] must be { vendor, device } with whole numbers from 0 to 0xffff.`);
    }
    return Object.freeze({ vendor, device });
  });
  // Covers a spec from JavaScript without a probe function.
  if (typeof probe !== "function") {
    throw fail("EINVAL", `defineDriver("${name}"): probe must be a function, got ${describe(probe)}.`);
  }
  // Safe: DriverCore has the name and ids of Driver; the brand is type-level only, and only this function makes one.
  return new DriverCore(name, Object.freeze(checked), probe as DriverSpec["probe"]) as unknown as Driver;
};

/**
 * `value[key]` when the object or a prototype of its own defines it, never
 * when only `Object.prototype` does: a polluted `Object.prototype.probe` or
 * `.remove` must not be handed a live token.
 */
export function hookOf(value: object, key: "probe" | "remove"): unknown {
  for (let level: object | null = value; level !== null && level !== Object.prototype; level = Object.getPrototypeOf(level)) {
    if (Object.hasOwn(level, key)) return (value as Record<string, unknown>)[key];
  }
  return undefined;
}

export function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

/** The run-time driver. `#probe` keeps the callback out of reach. */
export class DriverCore {
  readonly #probe: DriverSpec["probe"];

  constructor(
    readonly name: string,
    readonly ids: readonly DeviceId[],
    probe: DriverSpec["probe"],
  ) {
    this.#probe = probe;
    Object.freeze(this);
  }

  matches(device: { readonly vendor: number; readonly device: number }): boolean {
    return this.ids.some((id) => id.vendor === device.vendor && id.device === device.device);
  }

  /** Runs probe for `device`, which this driver matches. */
  probe(dev: ProbeDevice<unknown>, _device: { readonly vendor: number; readonly device: number }): DriverInstance<unknown> | Promise<DriverInstance<unknown>> {
    return this.#probe(dev);
  }

  /** The driver behind a `Driver`, or `EINVAL` for anything else. */
  static of(value: unknown, operation: string): DriverCore {
    // Covers a look-alike driver object passed through a cast: the Driver brand is type-level only.
    if (typeof value !== "object" || value === null || !(#probe in value)) {
      throw fail("EINVAL", `${operation}: expected a driver made by defineDriver(), got ${describe(value)}.`);
    }
    return value as DriverCore;
  }
}
