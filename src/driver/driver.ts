/**
 * Drivers: `struct pci_driver`, with `probe()` generic in its scope, and the
 * core context `probe()` and `remove()` receive (Rust-for-Linux's
 * `Device<Core>`), with the run-time token behind it.
 *
 * `probe` is a rank-2 function, `<Scope>(dev: ProbeDevice<Scope>) => …`: the
 * core picks a fresh scope for every binding, so the driver's code can only be
 * generic in it. Everything the driver builds from the token carries the same
 * scope, and nothing of it can leave for a concrete scope without a cast.
 *
 * # Invariants
 * - Only `defineDriver` makes a {@link Driver}; its probe is kept in real
 *   private state, out of reach of anyone holding the driver.
 * - Only the driver core mints a token (`mintToken`), one per binding.
 * - A hook (`probe`, `remove`) is read from the object or its own
 *   prototypes, never from `Object.prototype`: pollution grants nothing.
 *
 * @module
 */

import type { DriverBrand, Invariant, tokenBrand } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { liveBinding, TokenState } from "./binding.js";
import type { BoundDevice, DeviceState } from "./device.js";
import { setDmaMask } from "./dma.js";
import type { IrqHandle, IrqHandler } from "./irq.js";
import { requestIrq } from "./irq.js";
import type { IoMapping } from "./mmio.js";
import { iomap } from "./mmio.js";
import type { Task, TaskWork } from "./task.js";
import { spawn } from "./task.js";

/**
 * The core context: the token `probe()` and `remove()` receive. Operations
 * that set the device up, such as {@link ProbeDevice.setDmaMask}, exist only
 * here, and at run time work only while `probe()` or `remove()` runs (`EPERM`
 * otherwise, even while the device is bound).
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "demo",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     dev.setDmaMask(64);
 *     const buf = allocCoherent(dev, 4096);
 *     return { remove: (d) => void buf.bytes(d) };
 *   },
 * });
 * ```
 */
export interface ProbeDevice<in out Scope> extends BoundDevice<Scope> {
  /**
   * Sets the device's DMA mask: every later bus address handed to this device
   * fits in `bits` bits, or the allocation fails with `ENOMEM`. `bits` is an
   * integer from 1 to 64. A binding starts with the PCI default of 32.
   */
  setDmaMask(bits: number): void;
  /**
   * Lets the device master the bus: its DMA works from now on. Device-managed:
   * turned off at unbind, and since a driver takes it first, released last.
   * `EBUSY` if already on.
   */
  enableBusMaster(): void;
  /** Maps BAR `bar` for MMIO. Device-managed: revoked at unbind. */
  iomap(bar: number): IoMapping<Scope>;
  /**
   * Requests the device's interrupt. The handler gets the token as a
   * `BoundDevice` (no core-only calls from interrupt context). Device-managed:
   * freed at unbind, last in first out; once freed, no handler runs. `EBUSY`
   * if already requested.
   */
  requestIrq(handler: IrqHandler<Scope>): IrqHandle<Scope>;
  /**
   * Starts async work bound to the binding. At unbind, after `remove()`
   * returns, its signal aborts and the core waits for it before devres
   * release.
   */
  spawn(work: TaskWork<Scope>): Task<Scope>;
}

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
export interface DriverInstance<Scope> {
  /**
   * Called when the device is unbound or unplugged, with the binding's token
   * still live. Stop the hardware here: devres frees memory right after.
   */
  remove?: (dev: ProbeDevice<Scope>) => void | Promise<void>;
}

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
export interface DeviceId {
  readonly vendor: number;
  readonly device: number;
}

/**
 * What `defineDriver` takes.
 *
 * @example
 * ```ts
 * const spec: DriverSpec = {
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {                     // dev: ProbeDevice<Scope>
 *     dev.setDmaMask(64);
 *     return {};
 *   },
 * };
 * await machine.pci.register(defineDriver(spec));
 * ```
 */
export interface DriverSpec {
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
}

/**
 * A driver, ready for `bus.register`. Only `defineDriver` makes one.
 *
 * @example
 * ```ts
 * const myDriver: Driver = defineDriver({ name: "mine", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe: () => ({}) });
 * await machine.pci.register(myDriver);
 * ```
 */
export interface Driver extends DriverBrand {
  readonly name: string;
  readonly ids: readonly DeviceId[];
}

/**
 * Defines a driver. `probe` must be generic in its scope: write it without a
 * type annotation on `dev`, and TypeScript infers `ProbeDevice<Scope>`.
 *
 * Throws `EINVAL` for a spec without a name, with malformed ids, or without a
 * probe function.
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
export function defineDriver(spec: DriverSpec): Driver {
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
}

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

/**
 * The run-time token: one per binding, handed to `probe()`, `remove()`,
 * handlers and tasks. Its private state is the binding (`binding.ts`); every
 * operation checks it, so a token that outlived its binding is dead.
 */
class Token extends TokenState implements Omit<ProbeDevice<unknown>, typeof tokenBrand> {
  get name(): string {
    return Token.#of(this).port.name;
  }
  get vendor(): number {
    return Token.#of(this).port.vendor;
  }
  get device(): number {
    return Token.#of(this).port.device;
  }
  get state(): DeviceState {
    return Token.#of(this).state;
  }

  setDmaMask(bits: number): void {
    setDmaMask(Token.#core(this, "setDmaMask"), bits);
  }

  enableBusMaster(): void {
    const binding = Token.#core(this, "enableBusMaster");
    const { port } = binding;
    if (port.busMaster) {
      throw fail("EBUSY", `enableBusMaster: ${binding.describe()}: bus mastering is already on.`);
    }
    port.setBusMaster(true);
    binding.devres.add({ label: "bus mastering", kind: "bus-master", release: () => port.setBusMaster(false) });
  }

  iomap(bar: number): IoMapping<unknown> {
    return iomap(Token.#core(this, "iomap"), bar);
  }

  requestIrq(handler: IrqHandler<unknown>): IrqHandle<unknown> {
    return requestIrq(Token.#core(this, "requestIrq"), handler);
  }

  spawn(work: TaskWork<unknown>): Task<unknown> {
    return spawn(Token.#core(this, "spawn"), work);
  }

  /** The binding, live or not: `this` was minted, so it has one. */
  static #of(token: Token): Binding {
    return TokenState.peek(token)!;
  }

  /**
   * The live binding, in its core context. Covers a method called on a
   * token (or through `Function.prototype.call` on a look-alike) after its
   * binding ended (`ENXIO`), or outside `probe()`/`remove()` (`EPERM`).
   */
  static #core(token: unknown, operation: string): Binding {
    const binding = liveBinding(token, operation);
    binding.requireCore(operation);
    return binding;
  }
}

/** Mints the token of a new binding. Only the driver core calls this. */
export function mintToken(binding: Binding): ProbeDevice<unknown> {
  // Safe: Token implements ProbeDevice<unknown> but for the brand, which is type-level only.
  return new Token(binding) as unknown as ProbeDevice<unknown>;
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

  probe(dev: ProbeDevice<unknown>): DriverInstance<unknown> | Promise<DriverInstance<unknown>> {
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
