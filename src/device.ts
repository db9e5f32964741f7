/**
 * The device, and the tokens that prove it is bound.
 *
 * A kernel `struct device` is in one of three broad substates: no driver,
 * driver attached, zombie (removed while references remain). boundscope adds
 * the two transitions in between, so there are five {@link DeviceState}s.
 *
 * A {@link Device} is a plain reference: anyone may hold one, and it grants
 * nothing. A {@link BoundDevice} is proof that a driver is bound, valid only in
 * the scope of that one binding; the core mints one per binding and hands it
 * to `probe()` as a {@link ProbeDevice}, the core context. This mirrors
 * Rust-for-Linux's `Device<Bound>` and `Device<Core>`.
 *
 * # Invariants
 * - The scope parameter is invariant (see `internal/brand.ts`), so a token
 *   cannot be widened, stored under another scope, or mixed with another
 *   binding's resources without a cast.
 * - At run time a token is an instance of a class with real private state;
 *   every use checks that state. Copies, `Object.create(token)` and proxies do
 *   not carry it. A token whose binding has ended is dead for good.
 *
 * @module
 */

import { describe, fail } from "./error.js";
import type { DmaDirection, Domain } from "./iommu.js";
import type { Binding } from "./internal/binding.js";
import type { Invariant, tokenBrand } from "./internal/brand.js";
import type { Irq, IrqHandle, IrqHandler } from "./irq.js";
import { requestIrq } from "./irq.js";
import type { IoMapping } from "./mmio.js";
import { iomap } from "./mmio.js";
import type { DeviceModel, Hold } from "./model.js";
import type { Task, TaskWork } from "./task.js";
import { spawn } from "./task.js";

/**
 * Where a device is in the driver model.
 *
 * - `no-driver`: present, no driver bound. Nothing may be allocated for it.
 * - `probing`: a driver's `probe()` is running.
 * - `bound`: a driver is attached; its token is live.
 * - `unbinding`: `remove()` and then devres release are running.
 * - `zombie`: unplugged. References remain; nothing works through them.
 *
 * @example
 * ```ts
 * await machine.settled();
 * const state: DeviceState = dev.state;   // "bound" once a driver took it
 * if (state === "zombie") console.log(`${dev.name} was unplugged`);
 * ```
 */
export type DeviceState = "no-driver" | "probing" | "bound" | "unbinding" | "zombie";

/**
 * A plain reference to a device. Anyone may hold one; it grants nothing: no
 * allocation, no devres, no hardware access takes a `Device`.
 *
 * @example
 * ```ts
 * const dev: Device = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * console.log(dev.name, dev.state); // "0000:00:01.0" "no-driver"
 * ```
 */
export interface Device {
  /** The bus address, like `0000:00:01.0`, or the name given to `plug`. */
  readonly name: string;
  /** PCI vendor id, 0 to 0xffff. */
  readonly vendor: number;
  /** PCI device id, 0 to 0xffff. */
  readonly device: number;
  /** The device's state now. */
  readonly state: DeviceState;
}

/**
 * Proof that a device is bound to a driver, valid in the scope `Scope` of one
 * binding. Only the driver core mints one. Allocation and devres take it.
 *
 * `Scope` is invariant: `BoundDevice<A>` is not a `BoundDevice<B>` nor a
 * `BoundDevice<unknown>`, so a token cannot leave its binding's scope in the
 * types. What leaves it anyway (a closure, `any`) is dead at run time once the
 * binding ends: every use throws `ENXIO`.
 *
 * @example
 * ```ts
 * // Generic helpers take the token and stay in its scope.
 * function ring<Scope>(dev: BoundDevice<Scope>): CoherentAllocation<Scope> {
 *   return allocCoherent(dev, 4096);
 * }
 * ```
 */
export interface BoundDevice<in out Scope> extends Device {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [tokenBrand]: Invariant<Scope>;
}

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

/** The 32-bit DMA mask every binding starts with, as for PCI devices. */
export const DEFAULT_DMA_MASK_BITS = 32;

/**
 * The run-time token. One per binding. `#binding` is real private state: it
 * cannot be read, copied, or faked from outside this class, so a structural
 * copy of a token (object spread, `Object.create`, a Proxy, a JSON round trip)
 * is not a token.
 */
class Token {
  readonly #binding: Binding;

  constructor(binding: Binding) {
    this.#binding = binding;
  }

  get name(): string {
    return this.#binding.device.name;
  }
  get vendor(): number {
    return this.#binding.device.vendor;
  }
  get device(): number {
    return this.#binding.device.device;
  }
  get state(): DeviceState {
    return this.#binding.device.state;
  }

  setDmaMask(bits: number): void {
    const binding = Token.live(this, "setDmaMask");
    binding.requireCore("setDmaMask");
    if (typeof bits !== "number" || !Number.isInteger(bits) || bits < 1 || bits > 64) {
      throw fail(
        "EINVAL",
        `${binding.describe()}: setDmaMask(${describe(bits)}): the mask is a whole number of bits from 1 to 64.`,
      );
    }
    binding.dmaMaskBits = bits;
  }

  enableBusMaster(): void {
    const binding = Token.live(this, "enableBusMaster");
    binding.requireCore("enableBusMaster");
    binding.enableBusMaster();
  }

  iomap(bar: number): IoMapping<unknown> {
    const binding = Token.live(this, "iomap");
    binding.requireCore("iomap");
    return iomap(binding, bar);
  }

  requestIrq(handler: IrqHandler<unknown>): IrqHandle<unknown> {
    const binding = Token.live(this, "requestIrq");
    binding.requireCore("requestIrq");
    return requestIrq(binding, handler);
  }

  spawn(work: TaskWork<unknown>): Task<unknown> {
    const binding = Token.live(this, "spawn");
    binding.requireCore("spawn");
    return spawn(binding, work);
  }

  /**
   * Checks a value claimed to be a token and returns its live binding.
   * Catches what the types cannot see: a forged token (through `any` or a
   * cast) is `EPERM`, a token that escaped its binding through a closure, an
   * async continuation or an outer variable is `ENXIO`.
   */
  static live(value: unknown, operation: string): Binding {
    if (typeof value !== "object" || value === null) {
      throw fail("EINVAL", `${operation}: expected a device token, got ${describe(value)}.`);
    }
    if (!(#binding in value)) {
      throw fail(
        "EPERM",
        `${operation}: this value is not a device token minted by boundscope. Tokens come only from a driver's probe(); copies, proxies and look-alike objects grant nothing.`,
      );
    }
    const binding = (value as Token).#binding;
    if (!binding.live) {
      throw fail("ENXIO", `${operation}: ${binding.describe()}: ${binding.deathNotice()}`);
    }
    return binding;
  }

  /** The binding behind a minted token, live or not; `undefined` for anything else. */
  static peek(value: unknown): Binding | undefined {
    return typeof value === "object" && value !== null && #binding in value ? (value as Token).#binding : undefined;
  }
}

/** Mints the token of a new binding. Only the driver core calls this. */
export function mintToken(binding: Binding): ProbeDevice<unknown> {
  // The brand is type-level only; the run-time proof is `#binding`.
  return new Token(binding) as unknown as ProbeDevice<unknown>;
}

/**
 * Returns the live binding behind `token`, or throws: `EINVAL` for a
 * non-object, `EPERM` for a value the core did not mint, `ENXIO` for a token
 * whose binding has ended.
 */
export const liveBinding: (token: unknown, operation: string) => Binding = Token.live;

/** The binding behind a minted token, live or dead; `undefined` otherwise. */
export const peekBinding: (token: unknown) => Binding | undefined = Token.peek;

/**
 * The kernel's `struct device`: identity, state, the current binding, and the
 * queue that serializes its state changes. Internal; users see it only through
 * a {@link Device} reference, which exposes nothing that grants access.
 */
export class DeviceCore {
  state: DeviceState = "no-driver";
  /** False from the moment an unplug is asked for: the hardware is gone. */
  present = true;
  /** Bus mastering: the device's DMA works only while it is on. */
  busMaster = false;
  /** Address ranges the device holds (by start address), declared by its model. */
  readonly holds = new Map<number, Hold>();
  /** The requested interrupt, if any. */
  irq: Irq | undefined;
  /** The driver of the last binding, for violations after it ended. */
  lastDriver: string | undefined;
  /** When and which way the last logged DMA went (see `record` in dma.ts). */
  lastDmaTime = -1;
  lastDmaDirection: DmaDirection | undefined;
  /** The binding while a driver is probing, bound or unbinding. */
  binding: Binding | undefined;
  /** Set when an unplug was asked for: the hardware is gone from then on. */
  unplugRequested = false;
  /** State changes asked for and not yet finished. */
  pending = 0;
  /** The tail of the serialized queue of state changes. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly ref: Device;

  constructor(
    readonly name: string,
    readonly vendor: number,
    readonly device: number,
    readonly busId: object,
    readonly model: DeviceModel,
    readonly domain: Domain,
  ) {
    this.ref = new DeviceRef(this) as Device;
  }

  /** The device raised its interrupt: run the handler, if one is requested. */
  raiseIrq(): void {
    if (!this.present) return;
    if (this.irq === undefined) {
      this.binding?.log.add("irq-unhandled", this, this.binding.driver.name);
      return;
    }
    this.irq.fire();
  }

  /** Holds that matter: the device can DMA only with bus mastering on. */
  activeHolds(): Hold[] {
    return this.present && this.busMaster ? [...this.holds.values()] : [];
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
    return `device ${this.name} (${hex4(this.vendor)}:${hex4(this.device)})`;
  }
}

/** A plain `Device` reference: read-only facts, no way to reach the core. */
class DeviceRef {
  readonly #core: DeviceCore;
  constructor(core: DeviceCore) {
    this.#core = core;
  }
  get name(): string {
    return this.#core.name;
  }
  get vendor(): number {
    return this.#core.vendor;
  }
  get device(): number {
    return this.#core.device;
  }
  get state(): DeviceState {
    return this.#core.state;
  }
  toJSON(): object {
    return { name: this.name, vendor: this.vendor, device: this.device, state: this.state };
  }
  static core(value: unknown): DeviceCore | undefined {
    return typeof value === "object" && value !== null && #core in value ? (value as DeviceRef).#core : undefined;
  }
}

/**
 * The device behind a `Device` reference or a token, or `undefined` when the
 * value is neither.
 */
export function deviceCoreOf(value: unknown): DeviceCore | undefined {
  return DeviceRef.core(value) ?? Token.peek(value)?.device;
}

export function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
