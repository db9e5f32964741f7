/**
 * The auxiliary bus, as drivers see it: a PCI driver splits its device into
 * parts (an RDMA engine, a crypto unit) and offers each part as an
 * auxiliary device, which another driver binds to. Kernel:
 * `include/linux/auxiliary_bus.h` (`auxiliary_device_init`/`_add`, the name
 * `modname.devname.id`, `struct auxiliary_driver` and its `id_table`), and
 * Rust-for-Linux's `auxiliary::Registration` and `Device::parent()`.
 *
 * The creator and the driver share one typed key, {@link auxiliaryType}: its
 * name is what the driver matches, and its types say what the parent shares,
 * so both sides agree on them. The parent shares two kinds of thing:
 * - plain data (`data`): values, read with {@link ParentData.access};
 * - call-through operations (`ops`): functions the parent writes in its own
 *   scope, which the core runs with the parent's token when the child calls
 *   them ({@link ParentData.call}). So the parent's resources stay branded
 *   with its scope and nobody closes over its token.
 *
 * An auxiliary device has no hardware of its own: no BARs, no interrupt, no
 * DMA (allocations and mappings on its token fail `EINVAL`; as in the
 * kernel, DMA goes through the parent's device, here through an op). Kernel
 * heap memory (`kmalloc`) works, as it needs no device.
 *
 * # Invariants
 * - An auxiliary device is created only in its parent driver's `probe()`,
 *   and is in that binding's `children`: the parent's unbind deletes it (its
 *   driver unbound, its calls into the parent finished) before the parent's
 *   `remove()`.
 * - `ParentData` answers only the child binding's live token, and only
 *   while the parent's binding is live too (`ENXIO` otherwise).
 * - A call-through op runs with the parent's live token; once the device is
 *   deleted, no new call starts, and the deletion waits for those running.
 *
 * @module
 */

import type { auxiliaryDataAgrees, Invariant, onlyDefineAuxiliaryDriverMakesOne, parentDataOfOneBinding } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import type { BoundDevice, Device, ProbeDevice, SleepableDevice } from "./device.js";
import type { DriverInstance } from "./driver.js";
import { hookOf } from "./driver.js";
import type { DevicePort } from "./ports.js";
import { Revocable } from "./revocable.js";

// ---------------------------------------------------------------- the key

/**
 * The operations a parent offers its auxiliary device, as the child calls
 * them: the parent's token is not among the arguments (the core adds it).
 *
 * @example
 * ```ts
 * type RdmaOps = { post(words: number): number; reset(): Promise<void> };
 * ```
 */
export type AuxiliaryOps = {
  /** Each op as the child calls it: its arguments and what it returns (a promise for an async op). */
  readonly [op: string]: (...args: never[]) => unknown;
};

/** The key's nominal shape: a declared class, so only {@link auxiliaryType} makes one. */
declare class AuxiliaryTypeShape<in out Data, in out Ops extends AuxiliaryOps> {
  #onlyAuxiliaryTypeMakesOne: true;
  /** The brand that makes both sides agree on `Data` and `Ops` (see internal/brand.ts). */
  readonly [auxiliaryDataAgrees]: Invariant<[Data, Ops]>;
  /** `modname.devname`: what drivers match; the device is `modname.devname.id`. */
  readonly name: string;
}

/**
 * The key an auxiliary device's creator and its driver share: the match
 * name `modname.devname` (`modname` is the creating driver's name), the
 * type of the plain data the parent shares and the operations it offers.
 * Only {@link auxiliaryType} makes one.
 *
 * @example
 * ```ts
 * const RDMA: AuxiliaryType<{ mtu: number }, { post(words: number): number }> =
 *   auxiliaryType<{ mtu: number }, { post(words: number): number }>("nic.rdma");
 * ```
 */
export type AuxiliaryType<Data, Ops extends AuxiliaryOps = {}> = AuxiliaryTypeShape<Data, Ops>;

/** Keys made by `auxiliaryType`: a look-alike object is not one. */
const keys = new WeakSet<object>();

/**
 * Makes the key for auxiliary devices named `modname.devname`. Export it
 * from one module and import it on both sides: the creator's `data` and
 * `ops` and the driver's view of them are then checked against one type.
 *
 * Throws `EINVAL` for a name that is not `modname.devname` (two non-empty
 * parts of letters, digits, `_` and `-`).
 *
 * @example
 * ```ts
 * type Rdma = { readonly mtu: number };
 * type RdmaOps = { post(words: number): number };
 * export const NIC_RDMA = auxiliaryType<Rdma, RdmaOps>("nic.rdma");
 * ```
 */
export const auxiliaryType = <Data, Ops extends AuxiliaryOps = {}>(name: string): AuxiliaryType<Data, Ops> => {
  // Covers a name from JavaScript or a cast: `string` cannot say "modname.devname".
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(name)) {
    throw fail("EINVAL", `auxiliaryType: the name must be "modname.devname" (letters, digits, _ and -), got ${describe(name)}.`);
  }
  const key = Object.freeze({ name });
  keys.add(key);
  // Safe: the brand and the private member are type-level only; keys records that this function made it.
  return key as unknown as AuxiliaryType<Data, Ops>;
};

// ---------------------------------------------------------------- the hub

/**
 * What the driver layer asks of the machine's auxiliary bus; the driver
 * core implements it (`core/auxiliary.ts`).
 */
export interface AuxiliaryHub {
  /**
   * Puts a device named `name` (matched as `matchName`) on the auxiliary
   * bus under the parent binding's device, and queues its probe. Throws
   * `EBUSY` for a name on the bus already.
   */
  add(parent: Binding, name: string, matchName: string): AuxiliaryEntry;
}

/** One auxiliary device as its hub made it. */
export interface AuxiliaryEntry {
  readonly device: Device;
  /** The device it sits under: the creating binding's. */
  readonly parent: Device;
  /** The device's host: what its probe is handed. */
  readonly host: object;
  /** Deletes it (its driver unbound first); resolves once it is a zombie. */
  remove(): Promise<void>;
}

/** The hub of each device's machine, set by the driver core as it adds the device. */
const hubs = new WeakMap<DevicePort, AuxiliaryHub>();

/** Tells the driver layer which auxiliary bus children of `port` go on. */
export function setAuxiliaryHub(port: DevicePort, hub: AuxiliaryHub): void {
  hubs.set(port, hub);
}

// ---------------------------------------------------------------- the parent's side

/**
 * The operations as the parent writes them: each takes the parent's token
 * first, typed in the parent's scope, so it may use everything the parent
 * set up.
 *
 * @example
 * ```ts
 * type RdmaOps = { post(words: number): number };
 * function opsOf<Scope>(ring: CoherentAllocation<Scope>): ParentOps<Scope, RdmaOps> {
 *   return { post: (dev, words) => (ring.view(dev).setUint32(0, words, true), words) };
 * }
 * ```
 */
export type ParentOps<Scope, Ops extends AuxiliaryOps> = {
  readonly [Op in keyof Ops]: (dev: SleepableDevice<Scope>, ...args: Parameters<Ops[Op]>) => ReturnType<Ops[Op]> | Promise<Awaited<ReturnType<Ops[Op]>>>;
};

/**
 * What `addAuxiliaryDevice` takes: the device's `id` (the `.id` of its
 * name), the plain `data`, and the `ops` when the key declares any.
 *
 * @example
 * ```ts
 * const KEY = auxiliaryType<{ mtu: number }>("nic.stats");
 * const init: AuxiliaryInit<Scope, { mtu: number }> = { id: 0, data: { mtu: 1500 } };
 * ```
 */
export type AuxiliaryInit<Scope, Data, Ops extends AuxiliaryOps = {}> = {
  readonly id: number;
  readonly data: Data;
} & ([keyof Ops] extends [never] ? { readonly ops?: ParentOps<Scope, Ops> } : { readonly ops: ParentOps<Scope, Ops> });

/**
 * An auxiliary device as its creator holds it. It goes with the creating
 * binding (before its `remove()`); `remove(dev)` deletes it early.
 *
 * @example
 * ```ts
 * declare const aux: AuxiliaryDevice<Scope>;
 * console.log(aux.name, aux.device.state);   // "nic.rdma.0" "bound"
 * await aux.remove(dev);
 * ```
 */
export interface AuxiliaryDevice<in out Scope> {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [parentDataOfOneBinding]: Invariant<Scope>;
  /** `modname.devname.id`. */
  readonly name: string;
  /** The plain reference on `machine.auxiliary`. */
  readonly device: Device;
  /** True once deleted. */
  readonly removed: boolean;
  /**
   * Deletes it now (`auxiliary_device_delete`): its driver is unbound, its
   * calls into the parent finish, then it is a zombie. Core context of the
   * creating binding only. Idempotent.
   */
  readonly remove: (dev: ProbeDevice<Scope>) => Promise<void>;
}

/** What the core needs to answer the child: kept by the device's host. */
interface AuxiliarySource {
  readonly key: object;
  readonly name: string;
  readonly parent: Binding;
  readonly parentDevice: Device;
  readonly data: unknown;
  /** The call-through ops, revoked when the device is deleted. */
  readonly ops: Revocable<Readonly<Record<string, unknown>>>;
}

const sources = new WeakMap<object, AuxiliarySource>();

/**
 * Creates an auxiliary device under the device of `dev`'s binding and puts
 * it on `machine.auxiliary`: `auxiliary_device_init` + `_add`. Its name is
 * `modname.devname.id`; drivers whose ids hold `type` bind to it. Call it
 * from `probe()`: the device goes with this binding, before its `remove()`.
 *
 * Throws `EPERM` outside `probe()`, `ENXIO` for a dead token, `EINVAL` for a
 * key `auxiliaryType` did not make, a key whose `modname` is not this
 * driver's name, a bad `id`, or an op that is not a function; `EBUSY` for a
 * name on the bus already.
 *
 * @example
 * ```ts
 * type RdmaOps = { post(words: number): number };
 * const NIC_RDMA = auxiliaryType<{ mtu: number }, RdmaOps>("nic.rdma");
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const ring = allocCoherent(dev, 4096);
 *     addAuxiliaryDevice(dev, NIC_RDMA, {
 *       id: 0,
 *       data: { mtu: 1500 },
 *       ops: { post: (parent, words) => (ring.view(parent).setUint32(0, words, true), words) },
 *     });
 *     return {};
 *   },
 * });
 * ```
 */
export const addAuxiliaryDevice = <Scope, Data, Ops extends AuxiliaryOps = {}>(
  dev: ProbeDevice<Scope>,
  type: AuxiliaryType<Data, Ops>,
  init: AuxiliaryInit<Scope, Data, Ops>,
): AuxiliaryDevice<Scope> => {
  const binding = coreBinding(dev, "addAuxiliaryDevice");
  // Covers a device made after probe (from remove()): the unbind has taken its children down already.
  if (binding.state !== "probing") {
    throw fail("EPERM", `addAuxiliaryDevice: ${binding.describe()}: auxiliary devices are created in probe(), not while the device is ${binding.state}.`);
  }
  // Covers a look-alike key from JavaScript or a cast: only auxiliaryType makes the brand true.
  if (typeof type !== "object" || type === null || !keys.has(type)) {
    throw fail("EINVAL", `addAuxiliaryDevice: ${binding.describe()}: expected a key made by auxiliaryType(), got ${describe(type)}.`);
  }
  const [modname] = type.name.split(".");
  // Covers a key made for another driver: the kernel's modname is the creating module's.
  if (modname !== binding.driver) {
    throw fail("EINVAL", `addAuxiliaryDevice: ${binding.describe()}: the key "${type.name}" names module "${modname}", but the creating driver is "${binding.driver}". Name the key "${binding.driver}.<devname>".`);
  }
  // Covers JavaScript callers: AuxiliaryInit is an object type.
  if (typeof init !== "object" || init === null) {
    throw fail("EINVAL", `addAuxiliaryDevice: ${binding.describe()}: expected { id, data, ops? }, got ${describe(init)}.`);
  }
  const { id, data } = init;
  const ops: unknown = init.ops ?? {};
  // Covers an id from arithmetic: `number` admits fractions and negatives.
  if (typeof id !== "number" || !Number.isSafeInteger(id) || id < 0) {
    throw fail("EINVAL", `addAuxiliaryDevice: ${binding.describe()}: id must be a whole number from 0, got ${describe(id)}.`);
  }
  // Covers ops from JavaScript: ParentOps types each as a function.
  if (typeof ops !== "object" || ops === null || Object.values(ops).some((op) => typeof op !== "function")) {
    throw fail("EINVAL", `addAuxiliaryDevice: ${binding.describe()}: ops must be an object of functions.`);
  }
  const hub = hubs.get(binding.port);
  if (hub === undefined) throw new Error(`boundscope internal error: ${binding.describe()} has no auxiliary bus.`);
  const name = `${type.name}.${id}`;
  const entry = hub.add(binding, name, type.name);
  const source: AuxiliarySource = {
    key: type,
    name,
    parent: binding,
    parentDevice: entry.parent,
    data,
    ops: new Revocable(Object.freeze({ ...(ops as Record<string, unknown>) })),
  };
  sources.set(entry.host, source);
  let removed = false;
  const teardown = {
    label: `auxiliary device "${name}"`,
    takeDown: async (): Promise<void> => {
      binding.children.delete(teardown);
      removed = true;
      // The child's driver first (its remove() may still call in), then the calls still running.
      await entry.remove();
      await source.ops.revoke();
    },
  };
  binding.children.add(teardown);
  const handle = {
    name,
    device: entry.device,
    get removed() {
      return removed;
    },
    remove: async (token: ProbeDevice<Scope>): Promise<void> => {
      const caller = coreBinding(token, "AuxiliaryDevice.remove");
      // Covers a token of another binding passed through a cast or `any`: the invariant scope refuses it in the types.
      if (caller !== binding) {
        throw fail("EINVAL", `AuxiliaryDevice.remove: the token is for ${caller.describe()}, but "${name}" belongs to ${binding.describe()}.`);
      }
      if (!binding.children.has(teardown)) return;
      await teardown.takeDown();
    },
  };
  // Safe: the brand is type-level only; the handle has every run-time member of AuxiliaryDevice.
  return Object.freeze(handle) as unknown as AuxiliaryDevice<Scope>;
};

// ---------------------------------------------------------------- the child's side

/**
 * What an auxiliary driver's `probe` gets beside its token: its parent's
 * shared data and ops, reachable with this binding's token while both this
 * binding and the parent's are live. Invariant in `Scope`: it cannot be
 * kept past the binding, nor used with another binding's token, without a
 * cast (and then it fails at run time).
 *
 * @example
 * ```ts
 * const RDMA = auxiliaryType<{ mtu: number }, { post(words: number): number }>("nic.rdma");
 * defineAuxiliaryDriver(RDMA)({
 *   name: "rdma",
 *   async probe(dev, parent) {
 *     const { mtu } = parent.access(dev);
 *     await parent.call(dev, "post", mtu / 4);
 *     return {};
 *   },
 * });
 * ```
 */
export interface ParentData<in out Scope, Data, Ops extends AuxiliaryOps = {}> {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [parentDataOfOneBinding]: Invariant<Scope>;
  /** The parent's device: a plain reference. */
  readonly parentDevice: Device;
  /**
   * The parent's plain data. Throws `ENXIO` for a dead token or once the
   * parent's binding has ended, `EINVAL` for a token of another binding,
   * `EPERM` for a forged one.
   */
  readonly access: (dev: BoundDevice<Scope>) => Data;
  /**
   * Runs the parent's op `op` with the parent's token and `args`, and
   * resolves with what it returns. The parent's unbind waits for it. Rejects
   * as `access` throws, and `ENXIO` once the device is being deleted.
   */
  readonly call: <Op extends keyof Ops & string>(dev: SleepableDevice<Scope>, op: Op, ...args: Parameters<Ops[Op]>) => Promise<Awaited<ReturnType<Ops[Op]>>>;
}

/** The run-time `ParentData`: the child binding and the source, in private state. */
class ParentView {
  readonly #child: Binding;
  readonly #source: AuxiliarySource;

  constructor(child: Binding, source: AuxiliarySource) {
    this.#child = child;
    this.#source = source;
  }

  get parentDevice(): Device {
    return this.#source.parentDevice;
  }

  readonly access = (dev: unknown): unknown => {
    this.#check(dev, "ParentData.access");
    return this.#source.data;
  };

  readonly call = async (dev: unknown, op: unknown, ...args: unknown[]): Promise<unknown> => {
    this.#check(dev, "ParentData.call");
    const source = this.#source;
    const ops = source.ops.tryAccess();
    // Covers a call racing the deletion: the types cannot see the device going.
    if (ops === undefined) {
      throw fail("ENXIO", `ParentData.call: auxiliary device "${source.name}" is being deleted; its parent takes no more calls.`);
    }
    const run = typeof op === "string" && Object.hasOwn(ops, op) ? ops[op] : undefined;
    // Covers an op name from a cast or JavaScript: keyof Ops names only declared ops.
    if (typeof run !== "function") {
      throw fail("EINVAL", `ParentData.call: the parent of "${source.name}" offers no op ${describe(op)} (it offers ${Object.keys(ops).join(", ") || "none"}).`);
    }
    return source.ops.tryAccessAsync(() => run.call(ops, source.parent.taskToken, ...args));
  };

  /**
   * Covers what the types cannot see: a token of another binding passed
   * through a cast (`EINVAL`), the view used after its binding ended, or
   * after the parent's ended (the watchdog gave up on the order), `ENXIO`.
   */
  #check(dev: unknown, operation: string): void {
    const binding = liveBinding(dev, operation);
    if (binding !== this.#child) {
      throw fail("EINVAL", `${operation}: the token is for ${binding.describe()}, but this is the parent data of ${this.#child.describe()}. Use that binding's token.`);
    }
    if (!this.#source.parent.live) {
      throw fail("ENXIO", `${operation}: ${this.#child.describe()}: the parent's binding (${this.#source.parent.describe()}) has ended; its data is gone.`);
    }
  }
}

/**
 * What the function `defineAuxiliaryDriver(...keys)` returns takes: the
 * driver's name and a probe generic in its scope, which also gets the
 * parent's {@link ParentData} typed by the keys.
 *
 * @example
 * ```ts
 * const STATS = auxiliaryType<{ queues: number }>("nic.stats");
 * const spec: AuxiliaryDriverSpec<{ queues: number }> = {
 *   name: "stats",
 *   probe: (dev, parent) => (console.log(parent.access(dev).queues), {}),
 * };
 * const stats = defineAuxiliaryDriver(STATS)(spec);
 * ```
 */
export type AuxiliaryDriverSpec<Data, Ops extends AuxiliaryOps = {}> = {
  /** The driver's name, used in messages. */
  readonly name: string;
  /**
   * Called with the core context of a new binding and the parent's data.
   * Throw or reject to refuse the device: everything taken so far is
   * released, and the device stays `no-driver`.
   */
  readonly probe: <Scope>(dev: ProbeDevice<Scope>, parent: ParentData<Scope, Data, Ops>) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>;
};

/**
 * An auxiliary driver, ready for `machine.auxiliary.register`. Only
 * `defineAuxiliaryDriver` makes one.
 *
 * @example
 * ```ts
 * declare const rdma: AuxiliaryDriver;
 * await machine.auxiliary.register(rdma);
 * ```
 */
export type AuxiliaryDriver = {
  /** The driver brand (type-level only; see internal/brand.ts). */
  readonly [onlyDefineAuxiliaryDriverMakesOne]: "AuxiliaryDriver";
  readonly name: string;
  /** The names it matches, `modname.devname`. */
  readonly ids: readonly { readonly name: string }[];
};

/**
 * Defines an auxiliary driver (`struct auxiliary_driver`) for the devices
 * made with `keys` (its id table), in two calls:
 * `defineAuxiliaryDriver(KEY)({ name, probe })`. The first fixes the
 * parent's data and op types from the keys; the second takes the probe,
 * which gets the token and the parent's data: write it without annotations
 * and TypeScript infers both. (In one call, TypeScript would infer the
 * keys' types and the probe's scope together, and give the `remove` it
 * returns a scope unrelated to the probe's.)
 *
 * Throws `EINVAL` for no keys or keys `auxiliaryType` did not make; the
 * returned function throws `EINVAL` for an empty name or no probe function.
 *
 * @example
 * ```ts
 * const RDMA = auxiliaryType<{ mtu: number }>("nic.rdma");
 * const rdma = defineAuxiliaryDriver(RDMA)({
 *   name: "rdma",
 *   probe(dev, parent) {
 *     const mtu = parent.access(dev).mtu;   // number
 *     return { remove: (dev) => console.log(dev.name, "gone; mtu was", parent.access(dev).mtu) };
 *   },
 * });
 * await machine.auxiliary.register(rdma);
 * ```
 */
export const defineAuxiliaryDriver = <Data, Ops extends AuxiliaryOps = {}>(
  ...ids: readonly AuxiliaryType<Data, Ops>[]
): ((spec: AuxiliaryDriverSpec<Data, Ops>) => AuxiliaryDriver) => {
  // Covers no keys, or look-alike keys through a cast: only auxiliaryType makes one.
  if (ids.length === 0 || !ids.every((id: unknown) => typeof id === "object" && id !== null && keys.has(id))) {
    throw fail("EINVAL", `defineAuxiliaryDriver: pass one or more keys made by auxiliaryType(), got ${ids.length === 0 ? "none" : describe(ids.find((id: unknown) => typeof id !== "object" || id === null || !keys.has(id)))}.`);
  }
  const table = Object.freeze([...ids]) as readonly { readonly name: string }[];
  return (spec: AuxiliaryDriverSpec<Data, Ops>): AuxiliaryDriver => {
    // Covers JavaScript callers and casts: the spec is an object type, not a run-time guarantee.
    if (typeof spec !== "object" || spec === null) {
      throw fail("EINVAL", `defineAuxiliaryDriver: expected a driver spec object { name, probe }, got ${describe(spec)}.`);
    }
    const { name } = spec;
    const probe = hookOf(spec, "probe");
    // Covers an empty name, which `string` admits.
    if (typeof name !== "string" || name.trim() === "") {
      throw fail("EINVAL", `defineAuxiliaryDriver: the driver needs a non-empty name, got ${describe(name)}.`);
    }
    // Covers a spec from JavaScript without a probe function.
    if (typeof probe !== "function") {
      throw fail("EINVAL", `defineAuxiliaryDriver("${name}"): probe must be a function, got ${describe(probe)}.`);
    }
    // Safe: AuxiliaryDriverCore has the run-time members of AuxiliaryDriver; the brand is type-level only.
    return new AuxiliaryDriverCore(name, table, probe as AuxiliaryProbe) as unknown as AuxiliaryDriver;
  };
};

type AuxiliaryProbe = (dev: ProbeDevice<unknown>, parent: unknown) => DriverInstance<unknown> | Promise<DriverInstance<unknown>>;

/**
 * The run-time auxiliary driver: what the driver core's bus runs
 * (`core/device.ts` `BusDriver`). `#probe` keeps the callback out of reach.
 */
export class AuxiliaryDriverCore {
  readonly #probe: AuxiliaryProbe;

  constructor(
    readonly name: string,
    readonly ids: readonly { readonly name: string }[],
    probe: AuxiliaryProbe,
  ) {
    this.#probe = probe;
    Object.freeze(this);
  }

  matches(device: { readonly matchName?: string | undefined }): boolean {
    return this.ids.some((id) => id.name === device.matchName);
  }

  /** Runs probe for the auxiliary device whose host is `device`, with its parent's data. */
  probe(dev: ProbeDevice<unknown>, device: object): DriverInstance<unknown> | Promise<DriverInstance<unknown>> {
    const source = sources.get(device);
    const child = liveBinding(dev, "probe");
    // Covers a core bug, not a driver's: this bus probes only auxiliary devices.
    if (source === undefined) throw fail("ENXIO", `${this.name}: probe of a device that is not an auxiliary device (${describe(device)}).`);
    // Covers two keys made separately for one name, whose types the compiler cannot compare.
    if (!this.ids.includes(source.key as { readonly name: string })) {
      throw fail(
        "EINVAL",
        `probe: auxiliary driver "${this.name}" matches "${source.name}" by name, but its key is not the one the device was created with. Share one auxiliaryType() key between creator and driver, so their data types agree.`,
      );
    }
    return this.#probe(dev, new ParentView(child, source));
  }

  /** The driver behind an `AuxiliaryDriver`, or `EINVAL` for anything else. */
  static of(value: unknown, operation: string): AuxiliaryDriverCore {
    // Covers a look-alike driver object passed through a cast: the brand is type-level only.
    if (typeof value !== "object" || value === null || !(#probe in value)) {
      throw fail("EINVAL", `${operation}: expected a driver made by defineAuxiliaryDriver(), got ${describe(value)}.`);
    }
    return value as AuxiliaryDriverCore;
  }
}
