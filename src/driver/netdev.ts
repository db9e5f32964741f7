/**
 * Network devices as a driver registers them: `register_netdev` with its
 * `net_device_ops`, NAPI, and the transmit queue's flow control.
 *
 * Kernel: `register_netdev`/`unregister_netdev`, `ndo_open`/`ndo_stop`/
 * `ndo_start_xmit` (`NETDEV_TX_OK`, `NETDEV_TX_BUSY`), `napi_schedule`,
 * the NAPI poll with its budget and `napi_complete_done`,
 * `napi_gro_receive`/`netif_receive_skb`, `netif_stop_queue`/
 * `netif_wake_queue`.
 *
 * The stack calls the ops through the registration (`registration.ts`):
 * `open` and `stop` get the token as a `SleepableDevice` and may sleep;
 * `transmit` and `poll` run in atomic context with an `AtomicDevice`, as
 * `ndo_start_xmit` and a NAPI poll run in softirq context. A poll that
 * handles fewer frames than its budget is done (the stack completes NAPI for
 * it, `napi_complete_done`); one that uses the whole budget is polled again.
 *
 * # Invariants
 * - Registered only in `probe()` (core context); unregistered once, by
 *   `unregister()` or by the driver core at unbind, after `remove()` and
 *   before devres release.
 * - After unregistering begins, no op runs; `napiSchedule()` and the queue
 *   calls do nothing; `receive()` is refused (`ENXIO`).
 *
 * @module
 */

import type { Invariant, registrationOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import type { AtomicDevice, BoundDevice, ProbeDevice, SleepableDevice } from "./device.js";
import { OP_FAILED, Registration } from "./registration.js";
import type { NetdevEndpoint, NetdevLink, TransmitOutcome } from "./subsystems.js";

/**
 * What `transmit` answers: `"ok"`, the packet is the driver's now
 * (`NETDEV_TX_OK`), or `"busy"`, it was not taken and the stack keeps it
 * (`NETDEV_TX_BUSY`). A driver whose ring is full stops the queue
 * (`netdev.stopQueue()`) and answers `"ok"` for the last packet it took;
 * `"busy"` is for the rare case it could not tell in advance.
 *
 * @example
 * ```ts
 * declare function ringFull(): boolean;
 * const answer = (): NetdevTx => (ringFull() ? "busy" : "ok");
 * ```
 */
export type NetdevTx = "ok" | "busy";

/**
 * A netdev's ops, as the network stack calls them (`struct net_device_ops`
 * plus the NAPI poll). Generic in the scope like `probe`: build them inside
 * `probe` or a class generic in `Scope`, and they take that binding's token.
 *
 * @example
 * ```ts
 * function nicOps<Scope>(regs: IoMapping<Scope>, tx: CoherentAllocation<Scope>): NetdevOps<Scope> {
 *   return {
 *     open: (dev) => regs.write32(dev, 0x00, 1),          // start the engine
 *     stop: (dev) => regs.write32(dev, 0x00, 0),
 *     transmit: (dev, packet) => {
 *       tx.bytes(dev).set(packet);                        // copy it into the TX buffer
 *       regs.write32(dev, 0x10, packet.length);           // ring the doorbell
 *       return "ok";
 *     },
 *   };
 * }
 * ```
 */
export type NetdevOps<Scope> = {
  /** `ndo_open`: the interface goes up. May sleep. */
  readonly open?: (dev: SleepableDevice<Scope>) => void | Promise<void>;
  /** `ndo_stop`: the interface goes down, or is unregistered while up. May sleep; wait here for transmits the device has not finished. */
  readonly stop?: (dev: SleepableDevice<Scope>) => void | Promise<void>;
  /** `ndo_start_xmit`, in atomic context. `packet` is the stack's until this returns: copy it. */
  readonly transmit: (dev: AtomicDevice<Scope>, packet: Uint8Array) => NetdevTx;
  /**
   * The NAPI poll, in atomic context: hand up to `budget` received frames
   * to the stack (`netdev.receive(dev, frame)`) and answer how many. Fewer
   * than `budget` means done: re-enable the device's interrupt before
   * returning. Needed if the driver calls `napiSchedule()`.
   */
  readonly poll?: (dev: AtomicDevice<Scope>, budget: number) => number;
};

/**
 * What `registerNetdev` takes besides the ops.
 *
 * @example
 * ```ts
 * const options: NetdevOptions = { name: "wan%d", mtu: 9000, weight: 16 };
 * ```
 */
export interface NetdevOptions {
  /** The interface name; a `%d` is replaced by the first free number. Default `"eth%d"`. */
  readonly name?: string;
  /** The largest frame `transmit` gets, in bytes. Default 1514 (a 1500-byte payload and its Ethernet header). */
  readonly mtu?: number;
  /** The NAPI budget per poll (`NAPI_POLL_WEIGHT`). Default 64. */
  readonly weight?: number;
}

/**
 * A registered network device: what the driver keeps to talk to the stack.
 * Scoped to its binding like every handle.
 *
 * @example
 * ```ts
 * class Nic<Scope> {
 *   constructor(readonly netdev: Netdev<Scope>) {}
 *   interrupt(dev: IrqDevice<Scope>): void {
 *     this.netdev.napiSchedule();            // mask the RX interrupt, poll later
 *   }
 * }
 * ```
 */
export type Netdev<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [registrationOfOneBindingOnly]: Invariant<Scope>;
  /** The interface name the stack gave it: `eth0`. */
  readonly name: string;
  /** True until unregistering begins. */
  readonly registered: boolean;
  /** True while the stack holds back transmits (`stopQueue()`). */
  readonly queueStopped: boolean;
  /**
   * Asks the stack for a poll (`napi_schedule`), typically from the IRQ
   * handler with the device's interrupt masked. False if a poll is already
   * pending, or once unregistering began.
   */
  napiSchedule(): boolean;
  /** Hands a received frame to the stack (`napi_gro_receive`); it is copied. `ENXIO` once unregistering began. */
  receive(dev: BoundDevice<Scope>, frame: Uint8Array): void;
  /** The ring is full: the stack holds back transmits (`netif_stop_queue`). */
  stopQueue(): void;
  /** Room again: the stack resumes transmitting (`netif_wake_queue`). */
  wakeQueue(): void;
  /**
   * Unregisters (`unregister_netdev`): transmits and polls stop at once; the
   * interface is closed (`stop`) if up; then calls in flight are waited for.
   * The driver core does it at unbind if the driver has not; idempotent.
   */
  unregister(): Promise<void>;
};

/** The longest frame a netdev may declare, in bytes (a jumbo frame). */
const MAX_MTU = 65535;

/**
 * Registers a network device with the machine's network stack
 * (`register_netdev`). Core-only: call it in `probe()`. The stack calls
 * `ops` only while registered, each with the binding's token; the
 * interface starts down (`machine.net.interface(name).up()` opens it).
 * `EBUSY` if the name is taken; `EINVAL` for bad ops or options.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     const netdev = registerNetdev(dev, {
 *       transmit: (dev, packet) => {
 *         regs.write32(dev, 0x10, packet.length);
 *         return "ok";
 *       },
 *     });
 *     return { remove: () => netdev.unregister() };
 *   },
 * });
 * ```
 */
export const registerNetdev = <Scope>(dev: ProbeDevice<Scope>, ops: NetdevOps<Scope>, options: NetdevOptions = {}): Netdev<Scope> => {
  const binding = coreBinding(dev, "registerNetdev");
  // Covers `any` and JavaScript: NetdevOptions is an object type.
  if (typeof options !== "object" || options === null) {
    throw fail("EINVAL", `registerNetdev: ${binding.describe()}: options must be an object, got ${describe(options)}.`);
  }
  const { name = "eth%d", mtu = 1514, weight = 64 } = options;
  // Covers `any` and JavaScript: the name is typed as a string.
  if (typeof name !== "string") throw fail("EINVAL", `registerNetdev: ${binding.describe()}: the name must be a string, got ${describe(name)}.`);
  // Covers sizes from arithmetic: `number` admits fractions, NaN and negatives.
  if (typeof mtu !== "number" || !Number.isSafeInteger(mtu) || mtu < 60 || mtu > MAX_MTU) {
    throw fail("EINVAL", `registerNetdev: ${binding.describe()}: mtu must be a whole number of bytes from 60 to ${MAX_MTU}, got ${describe(mtu)}.`);
  }
  if (typeof weight !== "number" || !Number.isSafeInteger(weight) || weight < 1 || weight > 1024) {
    throw fail("EINVAL", `registerNetdev: ${binding.describe()}: weight must be a whole number from 1 to 1024, got ${describe(weight)}.`);
  }
  const netdev = new NetdevRegistration(binding, ops, name, mtu, weight);
  // Safe: NetdevRegistration implements Netdev<unknown> but for the brand, which is type-level only; the binding's scope is `Scope`.
  return netdev as unknown as Netdev<Scope>;
};

class NetdevRegistration implements NetdevEndpoint, Omit<Netdev<unknown>, typeof registrationOfOneBindingOnly> {
  readonly #reg: Registration;
  readonly #link: NetdevLink;
  readonly requestedName: string;
  readonly mtu: number;
  readonly weight: number;
  /** The atomic sections' names, made once. */
  readonly #txSection: string;
  readonly #pollSection: string;

  constructor(binding: Binding, ops: unknown, name: string, mtu: number, weight: number) {
    this.#reg = new Registration(binding, `netdev "${name}"`, ops, ["transmit"], ["open", "stop", "poll"], "registerNetdev");
    this.requestedName = name;
    this.mtu = mtu;
    this.weight = weight;
    this.#link = binding.port.subsystems.net.attach(this);
    this.#reg.label = `netdev "${this.#link.name}"`;
    this.#txSection = `transmit of ${this.#reg.label}`;
    this.#pollSection = `NAPI poll of ${this.#reg.label}`;
    const link = this.#link;
    this.#reg.register({ shutdown: () => link.shutdown(), closed: () => link.detach() });
  }

  get device(): string {
    return this.#reg.binding.port.name;
  }
  get driver(): string {
    return this.#reg.binding.driver;
  }
  get name(): string {
    return this.#link.name;
  }
  get registered(): boolean {
    return this.#reg.registered;
  }
  get queueStopped(): boolean {
    return this.#link.queueStopped;
  }

  // ------------------------------------------------ the stack's side

  open(): Promise<void> {
    return this.#reg.callSleepable("open");
  }

  stop(): Promise<void> {
    return this.#reg.callSleepable("stop", true);
  }

  transmit(packet: Uint8Array): TransmitOutcome {
    const answer = this.#reg.callAtomic("transmit", this.#txSection, packet);
    if (answer === "ok" || answer === "busy") return answer;
    if (answer !== OP_FAILED) {
      // Covers JavaScript and casts: NetdevTx is "ok" or "busy".
      this.#reg.failed("transmit", fail("EINVAL", `transmit must answer "ok" or "busy", got ${describe(answer)}; the packet is dropped.`));
    }
    return "dropped";
  }

  poll(budget: number): number {
    // Covers a driver that schedules NAPI without a poll op: nothing can take the frames.
    if (!this.#reg.has("poll")) {
      this.#reg.failed("poll", fail("EINVAL", "napiSchedule() was called but the netdev has no poll op."));
      return 0;
    }
    const done = this.#reg.callAtomic("poll", this.#pollSection, budget);
    if (typeof done === "number" && Number.isInteger(done) && done >= 0 && done <= budget) return done;
    if (done !== OP_FAILED) {
      // Covers JavaScript and casts: the poll answers a whole number up to its budget.
      this.#reg.failed("poll", fail("EINVAL", `poll must answer how many frames it handled, 0 to ${budget}, got ${describe(done)}.`));
    }
    // A poll that failed is done: it is not called again until the next napiSchedule().
    return 0;
  }

  // ------------------------------------------------ the driver's side

  napiSchedule(): boolean {
    return this.#reg.registered && this.#link.napiSchedule();
  }

  receive(dev: unknown, frame: unknown): void {
    const binding = liveBinding(dev, "netdev.receive");
    // Covers a token of another binding passed through a cast: the scope brand says it must be this one's.
    if (binding !== this.#reg.binding) {
      throw fail("EINVAL", `netdev.receive: ${binding.describe()}: this token is not of the binding that registered ${this.#reg.label}.`);
    }
    if (!this.#reg.registered) throw this.#reg.refused("netdev.receive");
    // Covers `any` and JavaScript: the frame is typed as bytes.
    if (!(frame instanceof Uint8Array) || frame.length === 0) {
      throw fail("EINVAL", `netdev.receive: ${this.#reg.label}: the frame must be a non-empty Uint8Array, got ${describe(frame)}.`);
    }
    this.#link.receive(frame);
  }

  stopQueue(): void {
    if (this.#reg.registered) this.#link.stopQueue();
  }

  wakeQueue(): void {
    if (this.#reg.registered) this.#link.wakeQueue();
  }

  unregister(): Promise<void> {
    return this.#reg.unregister();
  }
}
