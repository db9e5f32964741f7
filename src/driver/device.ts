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
 * Types only. The run-time token is in `driver.ts` (it carries the core
 * context's operations), its private state in `binding.ts`. The core context
 * itself, {@link ProbeDevice}, is in `driver.ts`, beside the `probe` that
 * receives it, since its operations name MMIO, IRQ and task handles.
 *
 * # Invariants
 * - The scope parameter is invariant (see `internal/brand.ts`), so a token
 *   cannot be widened, stored under another scope, or mixed with another
 *   binding's resources without a cast.
 * - At run time a token is an instance of a class with real private state;
 *   every use checks that state (`binding.ts`). Copies, `Object.create(token)`
 *   and proxies do not carry it. A token whose binding has ended is dead for
 *   good.
 *
 * @module
 */

import type { atomicContextMayNotSleep, plainDeviceGrantsNothing } from "../internal/brand.js";
import type { DeviceState } from "./device-state.js";
import type {
  AtomicDevice as AtomicDeviceShape,
  BoundDevice as BoundDeviceShape,
  IrqDevice as IrqDeviceShape,
  ProbeDevice as ProbeDeviceShape,
  SleepableDevice as SleepableDeviceShape,
  TaskDevice as TaskDeviceShape,
} from "./tokens.js";

export type { DeviceState } from "./device-state.js";



/**
 * A plain reference to a device. Anyone may hold one; it grants nothing: no
 * allocation, no devres, no hardware access takes a `Device`. Only the bus
 * makes one (`machine.pci.plug`, `machine.pci.devices`).
 *
 * A token is not a `Device`, and a `Device` is not a token: each carries a
 * brand the other lacks, so neither passes for the other even where
 * TypeScript compares types both ways. A driver reads its device's name and
 * ids from the token itself (`dev.name`, `dev.vendor`, `dev.device`).
 *
 * A type alias, not an interface, so that no declaration merging
 * (`declare module "boundscope"`) can add to it.
 *
 * @example
 * ```ts
 * const dev: Device = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
 * console.log(dev.name, dev.state); // "0000:00:01.0" "no-driver"
 * ```
 */
export type Device = {
  /** The plain-reference brand (type-level only; see internal/brand.ts). */
  readonly [plainDeviceGrantsNothing]: "a plain reference";
  /** The bus address, like `0000:00:01.0`, or the name given to `plug`. */
  readonly name: string;
  /** PCI vendor id, 0 to 0xffff. */
  readonly vendor: number;
  /** PCI device id, 0 to 0xffff. */
  readonly device: number;
  /** The device's state now. */
  readonly state: DeviceState;
};

/**
 * Proof that a device is bound to a driver, valid in the scope `Scope` of one
 * binding. Only the driver core mints one. Allocation and devres take it.
 *
 * `Scope` is invariant: `BoundDevice<A>` is not a `BoundDevice<B>` nor a
 * `BoundDevice<unknown>`, so a token cannot leave its binding's scope in the
 * types. What leaves it anyway (a closure, `any`) is dead at run time once the
 * binding ends: every use throws `ENXIO`.
 *
 * The contexts a token is handed in are its subtypes: `ProbeDevice` (probe
 * and remove), `IrqDevice` (an interrupt handler), `TaskDevice` (a spawned
 * task). Each takes everything that takes a `BoundDevice`, and none passes
 * for another. In between, `SleepableDevice` (probe, remove, tasks) and
 * `AtomicDevice` (interrupt handlers) say whether the context may sleep.
 *
 * @example
 * ```ts
 * // Generic helpers take the token and stay in its scope.
 * function ring<Scope>(dev: BoundDevice<Scope>): CoherentAllocation<Scope> {
 *   return allocCoherent(dev, 4096);
 * }
 * ```
 */
export type BoundDevice<Scope> = BoundDeviceShape<Scope>;


/**
 * A token in a context that may sleep: the core context (`ProbeDevice`) and
 * a task's (`TaskDevice`), a threaded handler's thread part included. What
 * always sleeps takes it: `sleep(dev, ns)`, `task.stop(dev)`. A helper that
 * sleeps says so by taking it rather than a `BoundDevice`. Kernel: process
 * context, where `might_sleep()` is quiet.
 *
 * @example
 * ```ts
 * async function settle<Scope>(dev: SleepableDevice<Scope>): Promise<void> {
 *   await sleep(dev, 10_000);
 * }
 * ```
 */
export type SleepableDevice<Scope> = SleepableDeviceShape<Scope>;

/**
 * A token in a context that must not sleep: a hard interrupt handler's
 * (`IrqDevice`), or a subsystem's atomic entry point. It lacks the sleepable
 * brand, so `sleep(dev, ns)` and `task.stop(dev)` do not compile with it,
 * and it carries the atomic one, so `vmalloc(dev, size)` does not either.
 * Kernel: atomic context, where `might_sleep()` complains; the run time
 * reports what the types miss (`sleep-in-atomic`), a `kmalloc` without
 * `"atomic"` (GFP_ATOMIC) among them.
 *
 * @example
 * ```ts
 * function ack<Scope>(regs: IoMapping<Scope>, dev: AtomicDevice<Scope>): void {
 *   regs.write32(dev, 0x0c, 1);   // MMIO never sleeps
 * }
 * ```
 */
export type AtomicDevice<Scope> = AtomicDeviceShape<Scope>;

/**
 * A token the types do not know to be atomic: what an operation that may
 * sleep and is used from helpers takes (`vmalloc(dev, size)`). It takes a
 * `ProbeDevice`, a `TaskDevice` and a helper's `BoundDevice`, and refuses an
 * `AtomicDevice` (a hard IRQ handler's `IrqDevice` included). Looser than
 * {@link SleepableDevice} on purpose: a helper generic in the scope keeps
 * its `BoundDevice` parameter, and the run time reports it if an atomic
 * context calls it (`sleep-in-atomic`). A helper of a driver's own that
 * sleeps may take it too, to refuse the hard IRQ handler's token.
 *
 * @example
 * ```ts
 * function logBuffer<Scope>(dev: NotAtomicDevice<Scope>): KernelBuffer<"vmalloc"> {
 *   return vmalloc(dev, 16 * 4096);   // may sleep: no IrqDevice here
 * }
 * ```
 */
export type NotAtomicDevice<Scope> = BoundDevice<Scope> & {
  /** Absent: an `AtomicDevice` has it, and so does not fit (type-level only; see internal/brand.ts). */
  readonly [atomicContextMayNotSleep]?: never;
};

/**
 * The core context: the token `probe()` and `remove()` receive. The
 * operations that set the device up take it, and only it:
 * `setDmaMask(dev, bits)`, `enableBusMaster(dev)`, `iomap(dev, bar)`,
 * `requestIrq(dev, handler)` and `spawn(dev, work)`. At run time they also
 * work only while `probe()` or `remove()` runs (`EPERM` otherwise, even while
 * the device is bound). Rust-for-Linux's `Device<Core>`.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "demo",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     setDmaMask(dev, 64);
 *     const buf = allocCoherent(dev, 4096);
 *     return { remove: (d) => void buf.bytes(d) };
 *   },
 * });
 * ```
 */
export type ProbeDevice<Scope> = ProbeDeviceShape<Scope>;


/**
 * The token an interrupt handler receives: bound, but not the core context,
 * so a handler that claims `ProbeDevice` does not compile.
 *
 * @example
 * ```ts
 * const onIrq = <Scope>(regs: IoMapping<Scope>) => (dev: IrqDevice<Scope>) => regs.write32(dev, 0x0c, 1);
 * ```
 */
export type IrqDevice<Scope> = IrqDeviceShape<Scope>;


/**
 * The token a spawned task receives: bound, but not the core context, so a
 * task that claims `ProbeDevice` does not compile.
 *
 * @example
 * ```ts
 * const poll = async <Scope>(dev: TaskDevice<Scope>, signal: TaskSignal) => {
 *   while (!signal.aborted) await sleep(dev, 1_000);
 * };
 * ```
 */
export type TaskDevice<Scope> = TaskDeviceShape<Scope>;


/** Four hex digits, as PCI ids are written. */
export function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
