/**
 * Drivers: `struct pci_driver` and its id table (`struct pci_device_id`,
 * with `driver_data`), with `probe()` generic in its scope.
 *
 * `probe` is a rank-2 function, `<Scope>(dev: ProbeDevice<Scope>) => …`: the
 * core picks a fresh scope for every binding, so the driver's code can only be
 * generic in it. Everything the driver builds from the token carries the same
 * scope, and nothing of it can leave for a concrete scope without a cast.
 *
 * # Invariants
 * - Only `defineDriver` makes a {@link Driver}; its probe is kept in real
 *   private state, out of reach of anyone holding the driver.
 * - A hook (`probe`, `remove`, `drop`) is read from the object or its own
 *   prototypes, never from `Object.prototype`: pollution grants nothing.
 * - A driver's id table is checked, copied and frozen when it is defined,
 *   each entry's data frozen with it (deeply through plain objects and
 *   arrays): one table, shared by every binding, that no binding can change.
 * - `probe` receives the first entry, in table order, that matches the
 *   device: the one the bus matched it by.
 *
 * @module
 */

import type { onlyDefineDriverMakesADriver } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { ProbeDevice, SleepableDevice } from "./device.js";

/**
 * The driver's state for one binding: what `probe()` returns. Keep the
 * binding's allocations and devres here or in `probe`'s closure.
 *
 * Two hooks end a binding, in this order (the whole order is in
 * `core/dd.ts`):
 * - `remove(dev)`: unbind. Quiesce the hardware (stop DMA, mask
 *   interrupts), in the core context. The binding's child devices are
 *   already gone; its subsystem registrations and tasks are still up.
 * - `drop(dev)`: the driver data drop, as Rust-for-Linux drops a driver's
 *   data before devres release. Runs after `remove()`, once registrations
 *   are down and tasks stopped, so nothing of the driver runs any more; the
 *   token is still live and every devres resource still alive, so it may
 *   read what it owns (final statistics, a last flush to memory). Not the
 *   core context: it may sleep and use what it has, not set up more.
 *
 * The hooks have string names, not `[Symbol.dispose]`: every hook is
 * optional, so any object with a hook's key passes for an instance, and a
 * `CoherentAllocation` or a generator has `[Symbol.dispose]` (a probe
 * returning one, or a promise of one, would compile, and the core would
 * dispose it). None has a `drop` or `remove`.
 *
 * Each may be async: the core awaits it (under the watchdog). One that
 * throws or rejects is logged (`remove-failed`, `teardown-failed`) and the
 * unbind goes on. Both are read from the object or its own prototypes, never
 * from `Object.prototype`.
 *
 * @example
 * ```ts
 * class NicDriver<Scope> implements DriverInstance<Scope> {
 *   constructor(readonly ring: CoherentAllocation<Scope>) {}
 *   remove(dev: ProbeDevice<Scope>): void {
 *     this.ring.bytes(dev).fill(0);              // quiesce: the device stops using the ring
 *   }
 *   drop(dev: SleepableDevice<Scope>): void {
 *     console.log("last byte", this.ring.bytes(dev)[0]); // the ring is still allocated
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
  /**
   * The driver data drop: called after `remove()`, once registrations are
   * down and tasks stopped, with the token still live and devres resources
   * still alive; not in the core context. Typed as returning `void`, so any
   * function fits; a promise it returns is awaited. Rust-for-Linux's name
   * for it (`Drop` of the driver data).
   */
  readonly drop?: (dev: SleepableDevice<Scope>) => void;
};

/**
 * The fields of a PCI id an entry matches on: vendor and device always, and
 * optionally the subsystem ids and the class code. A field left out matches
 * any value, as the kernel's `PCI_ANY_ID` does.
 *
 * @example
 * ```ts
 * const storage: IdMatch = { vendor: 0x8086, device: 0x2922, class: 0x010601 };  // AHCI only
 * const anyMass: IdMatch = { vendor: 0x8086, device: 0x2922, class: 0x010000, classMask: 0xff0000 };
 * ```
 */
export type IdMatch = {
  readonly vendor: number;
  readonly device: number;
  /** The subsystem vendor (0 to 0xffff); left out, any. */
  readonly subvendor?: number;
  /** The subsystem device (0 to 0xffff); left out, any. */
  readonly subdevice?: number;
  /** The 24-bit class code, `base << 16 | sub << 8 | interface`; left out, any. */
  readonly class?: number;
  /** The bits of `class` that must match (default `0xffffff`); only with `class`. */
  readonly classMask?: number;
};

/**
 * A PCI id a driver binds to, with the driver's data for devices it matches
 * (the kernel's `pci_device_id.driver_data`, Rust-for-Linux's `IdInfo`).
 * `data` is required when `Data` does not admit `undefined`, so a table
 * cannot leave out what `probe` expects.
 *
 * @example
 * ```ts
 * const ids: readonly DeviceId[] = [
 *   { vendor: 0x8086, device: 0x100e },
 *   { vendor: 0x8086, device: 0x10d3 },
 * ];
 * const e1000 = defineDriver({ name: "e1000", ids, probe: () => ({}) });
 * const queues: readonly DeviceId<{ queues: number }>[] = [
 *   { vendor: 0x1af4, device: 0x1000, data: { queues: 1 } },
 *   { vendor: 0x1af4, device: 0x1041, data: { queues: 4 } },
 * ];
 * ```
 */
export type DeviceId<Data = undefined> = IdMatch & (undefined extends Data ? { readonly data?: Data } : { readonly data: Data });

/**
 * The id table entry that matched the device being probed: `probe`'s second
 * argument. The first entry in table order that matches wins, as in the
 * kernel. The entry and its data are frozen, and shared by every binding of
 * the driver: keep per-device state in the instance `probe` returns.
 *
 * @example
 * ```ts
 * const virtio = deviceTable([
 *   { vendor: 0x1af4, device: 0x1000, data: { modern: false } },
 *   { vendor: 0x1af4, device: 0x1041, data: { modern: true } },
 * ]).defineDriver({
 *   name: "virtio-net",
 *   probe(dev, id: MatchedId<{ readonly modern: boolean }>) {
 *     console.log(`${id.device.toString(16)}: ${id.data.modern ? "modern" : "legacy"}`);
 *     return {};
 *   },
 * });
 * ```
 */
export type MatchedId<Data = undefined> = IdMatch & { readonly data: Data };

/**
 * What `defineDriver` takes. `probe` receives the matched id entry, with no
 * data; a table whose entries carry data defines its driver with
 * {@link DeviceTable.defineDriver} ({@link TableDriverSpec}).
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
   * Called with the core context of a new binding and the id entry that
   * matched. Throw or reject to refuse the device: everything taken so far
   * is released, and the device stays `no-driver`.
   */
  readonly probe: <Scope>(dev: ProbeDevice<Scope>, id: MatchedId) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>;
};

/**
 * What {@link DeviceTable.defineDriver} takes: a {@link DriverSpec} without
 * ids (the table gives them), whose `probe` receives the matched entry with
 * the table's `Data`. A type of its own, not `DriverSpec` made generic:
 * TypeScript then loses track of the probe's own `Scope` in a promise chain
 * it returns (`setup(dev).then(() => ({ remove }))`).
 *
 * @example
 * ```ts
 * const spec: TableDriverSpec<{ readonly queues: number }> = {
 *   name: "virtio-net",
 *   probe(dev, id) {
 *     const rings = allocCoherent(dev, 4096 * id.data.queues);
 *     return { remove: (dev) => rings.bytes(dev).fill(0) };
 *   },
 * };
 * ```
 */
export type TableDriverSpec<Data> = {
  /** The driver's name, used in messages. */
  readonly name: string;
  /**
   * Called with the core context of a new binding and the id entry that
   * matched. Throw or reject to refuse the device: everything taken so far
   * is released, and the device stays `no-driver`.
   */
  readonly probe: <Scope>(dev: ProbeDevice<Scope>, id: MatchedId<Data>) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>;
};

/**
 * A driver, ready for `bus.register`. Only `defineDriver` makes one. Its
 * ids' data type is erased: only its own `probe` sees it typed.
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
  readonly ids: readonly DeviceId<unknown>[];
};

/**
 * Defines a driver. `probe` must be generic in its scope: write it without a
 * type annotation on `dev`, and TypeScript infers `ProbeDevice<Scope>`. Its
 * second parameter is the id entry that matched; for ids that carry data,
 * use {@link deviceTable}.
 *
 * The ids are checked, copied and frozen. Throws `EINVAL` for a spec without
 * a name, with malformed ids, or without a probe function.
 *
 * A constant, not a function declaration, so that no declaration merging
 * (`declare module "boundscope"`) can add a weaker overload. Not generic:
 * a generic call would clone `probe`'s `Scope` between its parameters and
 * the `remove(dev)` of the object it returns, and refuse correct drivers.
 *
 * @example
 * ```ts
 * const sample = defineDriver({
 *   name: "sample",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev, id) {
 *     const buf = allocCoherent(dev, id.device === 0x1000 ? 4096 : 8192);
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
  const name = checkName("defineDriver", spec.name);
  return makeDriver(name, spec, checkIds(`defineDriver("${name}")`, spec.ids));
};

/**
 * An id table whose entries carry typed data (`MODULE_DEVICE_TABLE` with
 * `driver_data`; Rust-for-Linux's `pci_device_table!` with its `IdInfo`),
 * and the driver that binds by it. Made by {@link deviceTable}.
 *
 * @example
 * ```ts
 * const table: DeviceTable<{ readonly queues: 1 } | { readonly queues: 4 }> = deviceTable([
 *   { vendor: 0x1af4, device: 0x1000, data: { queues: 1 } },
 *   { vendor: 0x1af4, device: 0x1041, data: { queues: 4 } },
 * ]);
 * table.ids[1]?.data.queues;   // 4
 * ```
 */
export interface DeviceTable<Data> {
  /** The entries, checked, copied and frozen, each with its (frozen) data. */
  readonly ids: readonly MatchedId<Data>[];
  /**
   * Defines the driver that binds by this table: `defineDriver` with the
   * table's ids, whose `probe` receives the matched entry with its `Data`.
   * Throws `EINVAL` as `defineDriver` does, and for a spec that brings ids
   * of its own.
   */
  defineDriver(spec: TableDriverSpec<Data>): Driver;
}

/**
 * Makes an id table whose entries carry data. `Data` is inferred from the
 * entries (as `const`: literals stay literal and readonly), or given, as in
 * `deviceTable<Info>([...])`; every entry must then carry a `Data`, unless
 * `Data` admits `undefined`. Two steps, not a `data` on `defineDriver`'s
 * ids, so that `defineDriver` stays a non-generic call (see there).
 *
 * Each `data` is frozen in place, deeply through plain objects and arrays
 * (another object, a `Map` or a class instance, is shared as it is): it is
 * shared by every binding of the driver, as the kernel's `driver_data` is.
 *
 * Throws `EINVAL` for a table that is empty or has a malformed entry.
 *
 * @example
 * ```ts
 * const virtioNet = deviceTable([
 *   { vendor: 0x1af4, device: 0x1000, data: { modern: false, queues: 1 } },
 *   { vendor: 0x1af4, device: 0x1041, data: { modern: true, queues: 4 } },
 * ]).defineDriver({
 *   name: "virtio-net",
 *   probe(dev, id) {
 *     const rings = allocCoherent(dev, 4096 * id.data.queues);
 *     return { remove: (dev) => rings.bytes(dev).fill(0) };
 *   },
 * });
 * await machine.pci.register(virtioNet);
 * ```
 */
export const deviceTable = <const Data = undefined>(ids: readonly DeviceId<Data>[]): DeviceTable<Data> => {
  // Safe: checkIds copies each entry field by field, keeping its data as it was given, which the type says is a Data (or undefined where Data admits it).
  const checked = checkIds("deviceTable", ids) as readonly MatchedId<Data>[];
  const table: DeviceTable<Data> = {
    ids: checked,
    defineDriver(spec) {
      // Covers JavaScript callers and casts, as defineDriver does.
      if (typeof spec !== "object" || spec === null) {
        throw fail("EINVAL", `table.defineDriver: expected a driver spec object, got ${describe(spec)}.`);
      }
      const name = checkName("table.defineDriver", spec.name);
      // Covers a JavaScript spec with ids of its own: two tables, and which one would the bus match by?
      if ("ids" in spec) {
        throw fail("EINVAL", `table.defineDriver("${name}"): the table gives the ids; leave ids out of the spec.`);
      }
      // Safe: the probe takes MatchedId<Data>, and the driver hands it only entries of `checked`.
      return makeDriver(name, spec as Pick<TableDriverSpec<unknown>, "probe">, checked);
    },
  };
  return Object.freeze(table);
};

/** The driver's name, or `EINVAL`. */
function checkName(operation: string, name: unknown): string {
  // Covers an empty name, which `string` admits.
  if (typeof name !== "string" || name.trim() === "") {
    throw fail("EINVAL", `${operation}: the driver needs a non-empty name, got ${describe(name)}.`);
  }
  return name;
}

/** The ids, checked and copied, their data frozen; or `EINVAL`, having frozen nothing. */
function checkIds(operation: string, ids: unknown): readonly MatchedId<unknown>[] {
  // Covers an empty ids array, which `readonly DeviceId[]` admits.
  if (!Array.isArray(ids) || ids.length === 0) {
    throw fail("EINVAL", `${operation}: ids must be a non-empty array of { vendor, device }.`);
  }
  // Array.from visits the holes of a sparse array, which map() would skip unchecked.
  const checked = Array.from(ids, (id: unknown, i) => checkId(`${operation}: ids[${i}]`, id));
  // Every entry passed: only now is the data frozen, so a refused table changes nothing.
  for (const id of checked) freezeData(id.data);
  return Object.freeze(checked);
}

/** The driver of `spec`'s probe over checked `ids`, or `EINVAL` for a spec without a probe function. */
function makeDriver(name: string, spec: object, ids: readonly MatchedId<unknown>[]): Driver {
  const probe = hookOf(spec, "probe");
  // Covers a spec from JavaScript without a probe function.
  if (typeof probe !== "function") {
    throw fail("EINVAL", `defineDriver("${name}"): probe must be a function, got ${describe(probe)}.`);
  }
  // Safe: probe is the spec's, whose id parameter takes its table's MatchedId<Data>, and DriverCore hands it only entries of `ids`, that table.
  const erased = probe as TableDriverSpec<unknown>["probe"];
  // Safe: DriverCore has the name and ids of Driver; the brand is type-level only, and only this module makes one.
  return new DriverCore(name, ids, erased) as unknown as Driver;
}

/** The keys an id may have: anything else is a typo the types would have refused. */
const ID_KEYS: ReadonlySet<string> = new Set(["vendor", "device", "subvendor", "subdevice", "class", "classMask", "data"]);

/** The largest class code: 24 bits. */
const CLASS_BITS = 0xff_ffff;

/** One id, checked and copied: `EINVAL` names the entry and what is wrong with it. */
function checkId(where: string, value: unknown): MatchedId<unknown> {
  if (typeof value !== "object" || value === null) {
    throw fail("EINVAL", `${where} must be { vendor, device } with whole numbers from 0 to 0xffff, got ${describe(value)}.`);
  }
  // Covers a misspelt key from JavaScript (`subVendor`), which would otherwise match any device silently.
  const unknown = Object.keys(value).filter((key) => !ID_KEYS.has(key));
  if (unknown.length > 0) {
    throw fail("EINVAL", `${where} has unknown key ${describe(unknown[0])}; an id takes ${[...ID_KEYS].join(", ")}.`);
  }
  // Read each field once: a getter cannot answer the check one value and the copy another.
  const { vendor, device, subvendor, subdevice, class: classCode, classMask, data } = value as Partial<MatchedId<unknown>>;
  if (!isId(vendor) || !isId(device)) {
    throw fail("EINVAL", `${where} must be { vendor, device } with whole numbers from 0 to 0xffff.`);
  }
  // Covers `number`, which admits what no 16-bit subsystem id is.
  for (const [key, field] of [["subvendor", subvendor], ["subdevice", subdevice]] as const) {
    if (field !== undefined && !isId(field)) {
      throw fail("EINVAL", `${where}: ${key} must be a whole number from 0 to 0xffff, or left out to match any; got ${describe(field)}.`);
    }
  }
  for (const [key, field] of [["class", classCode], ["classMask", classMask]] as const) {
    if (field !== undefined && !isClassBits(field)) {
      throw fail("EINVAL", `${where}: ${key} must be a whole number from 0 to 0xffffff, or left out; got ${describe(field)}.`);
    }
  }
  if (classMask !== undefined && classCode === undefined) {
    throw fail("EINVAL", `${where}: classMask without class; give the class bits the mask selects.`);
  }
  const mask = classMask ?? CLASS_BITS;
  // Covers class bits the mask ignores: the entry would match devices of another class than it says.
  if (classCode !== undefined && (classCode & ~mask) !== 0) {
    throw fail("EINVAL", `${where}: class 0x${classCode.toString(16)} has bits outside classMask 0x${mask.toString(16)}.`);
  }
  const entry = Object.freeze({
    vendor,
    device,
    ...(subvendor === undefined ? {} : { subvendor }),
    ...(subdevice === undefined ? {} : { subdevice }),
    ...(classCode === undefined ? {} : { class: classCode, classMask: mask }),
    // Left out when undefined, so a table without data reads as the ids it was given; `id.data` is undefined all the same.
    ...(data === undefined ? {} : { data }),
  });
  // Safe: a `data` left out reads as undefined, which is what MatchedId<unknown>'s data then holds.
  return entry as MatchedId<unknown>;
}

function isClassBits(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= CLASS_BITS;
}

/**
 * Freezes `value` and, through plain objects and arrays, what it holds.
 * Other objects (a `Map`, a class instance) are left as they are: freezing
 * one would not stop its methods, and may break them.
 */
function freezeData(value: unknown, seen = new Set<object>()): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  const proto: unknown = Object.getPrototypeOf(value);
  if (!Array.isArray(value) && proto !== Object.prototype && proto !== null) return;
  seen.add(value);
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) {
    const property = Object.getOwnPropertyDescriptor(value, key);
    if (property !== undefined && "value" in property) freezeData(property.value, seen);
  }
}

/**
 * `value[key]` when the object or a prototype of its own defines it, never
 * when only `Object.prototype` does: a polluted `Object.prototype.probe` or
 * `.remove` (or `.drop`) must not be handed a live token.
 */
export function hookOf(value: object, key: "probe" | "remove" | "drop"): unknown {
  for (let level: object | null = value; level !== null && level !== Object.prototype; level = Object.getPrototypeOf(level)) {
    if (Object.hasOwn(level, key)) return (value as Record<PropertyKey, unknown>)[key];
  }
  return undefined;
}

export function isId(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}

/**
 * What the bus knows of a device, to match ids against. The subsystem ids
 * and class code are optional: a device that does not report one matches
 * only entries that leave it out.
 */
export type PciIdentity = {
  readonly vendor: number;
  readonly device: number;
  readonly subvendor?: number;
  readonly subdevice?: number;
  /** The 24-bit class code, as config space holds it. */
  readonly classCode?: number;
};

/** Whether `id` matches `dev`: every field the id gives, and the class under its mask. */
function idMatches(id: MatchedId<unknown>, dev: PciIdentity): boolean {
  return (
    id.vendor === dev.vendor &&
    id.device === dev.device &&
    (id.subvendor === undefined || id.subvendor === dev.subvendor) &&
    (id.subdevice === undefined || id.subdevice === dev.subdevice) &&
    (id.class === undefined || (dev.classCode !== undefined && ((id.class ^ dev.classCode) & (id.classMask ?? CLASS_BITS)) === 0))
  );
}

/** The run-time driver. `#probe` keeps the callback out of reach. */
export class DriverCore {
  readonly #probe: TableDriverSpec<unknown>["probe"];

  constructor(
    readonly name: string,
    readonly ids: readonly MatchedId<unknown>[],
    probe: TableDriverSpec<unknown>["probe"],
  ) {
    this.#probe = probe;
    Object.freeze(this);
  }

  matches(device: PciIdentity): boolean {
    return this.ids.some((id) => idMatches(id, device));
  }

  /** The first entry of the table that matches `device`, as the kernel's `pci_match_id` walks it. */
  matchedId(device: PciIdentity): MatchedId<unknown> | undefined {
    return this.ids.find((id) => idMatches(id, device));
  }

  /** Runs probe for `device`, which this driver matches, handing it the entry that matched. */
  probe(dev: ProbeDevice<unknown>, device: PciIdentity): DriverInstance<unknown> | Promise<DriverInstance<unknown>> {
    const id = this.matchedId(device);
    // Covers a core bug, not a driver's: the bus probes only with a driver that matches the device.
    if (id === undefined) throw fail("ENXIO", `${this.name}: probe of a device none of its ids match (${describe(device)}).`);
    return this.#probe(dev, id);
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
