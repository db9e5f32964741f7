/**
 * One binding: a driver attached to a device, from the start of `probe()` to
 * the end of devres release. This is the token's private state: every token,
 * allocation, mapping and devres entry of the binding reaches it, and "is
 * this token still valid" is one field read.
 *
 * Kernel: the state `struct device` keeps for its bound driver (`dev->driver`,
 * `dev->devres_head`, `dev->dma_mask`), and what Rust-for-Linux's
 * `Device<Bound>` stands for. The driver core (`core/dd.ts`) makes one per
 * probe and ends it at unbind.
 *
 * # Invariants
 * - `live` goes from true to false once and never back.
 * - A binding has exactly one token, and the token's `#binding` is real
 *   private state: a copy, `Object.create(token)`, a proxy or a JSON round
 *   trip is not a token. So `dev === binding.token` proves a token genuine,
 *   which the hot paths use.
 * - `core` is true only while `probe()` or `remove()` of this binding runs.
 *
 * @module
 */

import type { atomicContextMayNotSleep, coreContextOnlyInProbeOrRemove, interruptContextNotCore, sleepableContext, taskContextNotCore, tokenOfOneBindingOnly } from "../internal/brand.js";
import type { AtomicDevice, DeviceState, IrqDevice, ProbeDevice, TaskDevice } from "./device.js";
import { describe, fail } from "../internal/error.js";
import type { Site } from "../internal/site.js";
import type { DevicePort, DmaMappingKind, DmaRegionFact, EndReason, EventRecord, FactSubject, ResourceKind } from "./ports.js";

/** Something released at unbind, last in first out (see `devres.ts`). */
export interface Resource {
  /** What it is, for people: `coherent allocation of 4096 bytes at …`. */
  readonly label: string;
  /** What kind it is, for the event log. */
  readonly kind: ResourceKind;
  /** For an MMIO mapping, its BAR, for the event log. */
  readonly bar?: number;
  /** For DMA memory, its bus address and size in bytes, for the event log. */
  readonly extent?: { readonly address: bigint; readonly size: number };
  /** Releases it. Called once, by the devres walk or by an early release. */
  release(): void | Promise<void>;
}

/** The binding's devres stack as a resource sees it; `devres.ts` implements it. */
export interface ResourceStack {
  /** Pushes `resource`: it is released at unbind unless forgotten first. */
  add(resource: Resource): void;
  /** Takes `resource` off the stack after an early release. */
  forget(resource: Resource): void;
  /** Resources on the stack now. */
  readonly size: number;
}

/** A live coherent allocation as `freeCoherent(dev, handle)` finds it. */
export interface CoherentRecord {
  readonly dmaHandle: bigint;
  readonly size: number;
  free(): void;
  /** True if `cpu` is the CPU view it handed out. */
  owns(cpu: unknown): boolean;
  region(): DmaRegionFact;
}

/** A live mapping or pool block as the address-taking calls find it. */
export interface MappedRecord {
  /** Which calls made it, and so give it back. */
  readonly mapKind: DmaMappingKind;
  readonly size: number;
  region(): DmaRegionFact;
}

/** Work the binding waits for at unbind (see `task.ts`). */
export interface BindingTask {
  cancel(): void;
  readonly done: Promise<void>;
  /** What the task is, for the watchdog's report: `task #2 (pollLink) of driver "nic"`. */
  readonly label: string;
}

/**
 * Something the driver core takes down at unbind, before devres release,
 * waiting for it: a subsystem registration (unregistered after `remove()`,
 * waiting for calls in flight) or a child device the binding created (removed
 * before `remove()`). Each says what it is, for the watchdog's report.
 */
export interface Teardown {
  /** What it is, for people: `netdev "eth0"`, `auxiliary device "nic.rdma.0"`. */
  readonly label: string;
  /** Takes it down; resolves once nothing of it runs any more. */
  takeDown(): Promise<void>;
}

/**
 * An IRQ requested without devres (`request_irq`, `irq.ts`): the driver must
 * free it before its binding ends; the driver core reports and frees one it
 * did not (`core/dd.ts`).
 */
export interface UnmanagedIrq {
  /** The interrupt number of its line or vector. */
  readonly irq: number;
  /** The line and its name, without the binding: `irq 17 "rx"`. */
  readonly what: string;
  /** The hard handler's (or thread part's) function name, if it has one. */
  readonly handlerName: string | undefined;
  /** Where it was requested, when the checker is on. */
  readonly site: Site | undefined;
  /** When it was requested, virtual ns. */
  readonly requestTime: number;
  /** Frees it (`free_irq`); resolves once a running thread part returned. */
  release(): Promise<void>;
}

/** The PCI default: a binding starts with a 32-bit DMA mask (see `dma.ts`). */
export const DEFAULT_DMA_MASK_BITS = 32;

/** What the driver core gives a new binding. */
export interface BindingSetup {
  readonly port: DevicePort;
  readonly driver: string;
  readonly devres: ResourceStack;
  /** The device's state in the driver model, which the driver core keeps. */
  readonly state: () => DeviceState;
}

export class Binding {
  /** True from probe start until the binding ends. */
  live = true;
  /** True while probe() or remove() runs: the core context is usable. */
  core = true;
  /** The DMA mask for every handle given to this binding; `dma.ts` sets it. */
  dmaMaskBits = DEFAULT_DMA_MASK_BITS;
  /** The device beneath. */
  readonly port: DevicePort;
  /** The driver's name. */
  readonly driver: string;
  /** The devres stack. */
  readonly devres: ResourceStack;
  /** Live coherent allocations by bus address, for `freeCoherent(dev, handle)` (`dma.ts`). */
  readonly allocations = new Map<number, CoherentRecord>();
  /**
   * Live streaming mappings and pool blocks by the bus address of their
   * first byte, for the calls that take an address (`streaming.ts`,
   * `scatterlist.ts`, `dma-pool.ts`), and to name the right function when
   * the wrong one is called.
   */
  readonly streams = new Map<number, MappedRecord[]>();
  /** The longest sg segment the device takes (`dma_set_max_seg_size`); the kernel's default, 64 KiB. */
  maxSegment = 65536;
  /** The segment boundary mask (`dma_set_seg_boundary`); the kernel's default, 4 GiB. */
  segmentBoundary = 0xffff_ffffn;
  /** Mappings devres had to unmap at unbind, told to the checker at once afterwards (`core/dd.ts`). */
  readonly pending: DmaRegionFact[] = [];
  /** Spawned tasks not yet finished. */
  readonly tasks = new Set<BindingTask>();
  /** Tasks spawned so far: each task's number in its label. */
  spawned = 0;
  /** Child devices this binding created (auxiliary devices): removed before `remove()`, newest first. */
  readonly children = new Set<Teardown>();
  /** Subsystem registrations still registered: unregistered after `remove()`, before tasks are stopped. */
  readonly registrations = new Set<Teardown>();
  /** IRQs requested without devres and not yet freed: each one left when the binding ends is leaked. */
  readonly unmanagedIrqs = new Set<UnmanagedIrq>();
  /**
   * The binding's one token, handed to probe() and remove() (as the core
   * context), to interrupt handlers and to tasks: one object, typed for each.
   */
  readonly token: ProbeDevice<unknown>;
  readonly serial: number;
  readonly #state: () => DeviceState;
  #endReason: EndReason | undefined;
  #kept: Error | undefined;

  constructor(setup: BindingSetup) {
    this.port = setup.port;
    this.serial = setup.port.nextBindingSerial();
    // A platform narrower than the default mask (bus_dma_limit) caps it from the start.
    this.dmaMaskBits = Math.min(DEFAULT_DMA_MASK_BITS, setup.port.dmaLimitBits);
    this.driver = setup.driver;
    this.devres = setup.devres;
    this.#state = setup.state;
    // Safe: Token has every member of the token types but the brands, which are type-level only.
    this.token = new Token(this) as unknown as ProbeDevice<unknown>;
  }

  /** The device's state now. */
  get state(): DeviceState {
    return this.#state();
  }

  /** The token as an interrupt handler receives it: the same object. */
  get irqToken(): IrqDevice<unknown> {
    // Safe: one token object stands for every context; only its type differs.
    return this.token as unknown as IrqDevice<unknown>;
  }

  /** The token as an atomic entry point receives it (a subsystem's, say): the same object. */
  get atomicToken(): AtomicDevice<unknown> {
    // Safe: one token object stands for every context; only its type differs.
    return this.token as unknown as AtomicDevice<unknown>;
  }

  /** The token as a task receives it: the same object. */
  get taskToken(): TaskDevice<unknown> {
    // Safe: one token object stands for every context; only its type differs.
    return this.token as unknown as TaskDevice<unknown>;
  }

  describe(): string {
    return `${this.port.describe()}, driver "${this.driver}" (binding #${this.serial})`;
  }

  /** Who a fact about this binding is about: the same for its whole life, so built once, when first asked for. */
  readonly subject = (): FactSubject => (this.#subject ??= Object.freeze({ device: this.port.name, instance: this.port, driver: this.driver, who: this.describe() }));
  #subject: FactSubject | undefined;

  /** Logs an event about this binding's device and driver. */
  emit(event: Omit<EventRecord, "device" | "driver">): void {
    this.port.emit(event, this.driver);
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

  /**
   * Keeps a `dmaDebug: "throw"` error that has no caller to throw to (a free
   * made by the devres walk): the unbind throws the first one kept, once the
   * device is at rest. `undefined` is ignored.
   */
  keep(error: Error | undefined): void {
    this.#kept ??= error;
  }

  /** The first error kept, if any. */
  get kept(): Error | undefined {
    return this.#kept;
  }

  /**
   * Throws `EPERM` unless probe() or remove() of this binding is running.
   * Covers what the types cannot see: a `ProbeDevice` captured by a closure
   * or continuation that runs after probe() returned, while still bound.
   */
  requireCore(operation: string): void {
    if (!this.core) {
      throw fail(
        "EPERM",
        `${operation}: ${this.describe()}: this is a core-only operation, usable only while probe() or remove() runs. Call it from there, not from a callback or continuation that outlives them.`,
      );
    }
  }
}

type TokenFace = Omit<
  ProbeDevice<unknown> & IrqDevice<unknown> & TaskDevice<unknown>,
  | typeof tokenOfOneBindingOnly
  | typeof coreContextOnlyInProbeOrRemove
  | typeof interruptContextNotCore
  | typeof taskContextNotCore
  | typeof sleepableContext
  | typeof atomicContextMayNotSleep
>;

/**
 * The run-time token: one per binding. Its private state is the binding: it
 * cannot be read, copied or faked from outside this class, so a structural
 * copy of a token (object spread, `Object.create`, a Proxy, a JSON round trip)
 * is not a token. It offers the device's name and ids; everything else takes
 * it as an argument and checks it.
 */
class Token implements TokenFace {
  readonly #binding: Binding;

  constructor(binding: Binding) {
    this.#binding = binding;
  }

  get name(): string {
    return this.#binding.port.name;
  }
  get vendor(): number {
    return this.#binding.port.vendor;
  }
  get device(): number {
    return this.#binding.port.device;
  }
  get state(): DeviceState {
    return this.#binding.state;
  }

  /**
   * Checks a value claimed to be a token and returns its live binding.
   * Covers what the types cannot see: a value that is not a token at all
   * (`EINVAL`), a forged token passed through `any` or a cast (`EPERM`), and
   * a token that escaped its binding through a closure, an async continuation
   * or an outer variable (`ENXIO`).
   */
  static live(value: unknown, operation: string): Binding {
    // Covers `any`: the parameter types say BoundDevice, but a primitive can arrive.
    if (typeof value !== "object" || value === null) {
      throw fail("EINVAL", `${operation}: expected a device token, got ${describe(value)}.`);
    }
    if (!(#binding in value)) {
      throw fail(
        "EPERM",
        `${operation}: this value is not a device token minted by boundscope. Tokens come only from a driver's probe(); copies, proxies and look-alike objects grant nothing.`,
      );
    }
    const binding = value.#binding;
    if (!binding.live) {
      throw fail("ENXIO", `${operation}: ${binding.describe()}: ${binding.deathNotice()}`);
    }
    return binding;
  }

  /** The binding behind a minted token, live or not; `undefined` for anything else. */
  static peek(value: unknown): Binding | undefined {
    return typeof value === "object" && value !== null && #binding in value ? value.#binding : undefined;
  }
}

/** {@link Token.live}: the live binding behind a token, or the error that says why not. */
export const liveBinding: (token: unknown, operation: string) => Binding = Token.live;

/** {@link Token.peek}: the binding behind a minted token, live or dead. */
export const peekBinding: (token: unknown) => Binding | undefined = Token.peek;

/**
 * The live binding behind a token, in its core context: what every core-only
 * operation checks first. Covers a `ProbeDevice` that escaped through a
 * closure or continuation: `ENXIO` once the binding ended, `EPERM` while it
 * is bound but outside `probe()`/`remove()`.
 */
export function coreBinding(token: unknown, operation: string): Binding {
  const binding = Token.live(token, operation);
  binding.requireCore(operation);
  return binding;
}
