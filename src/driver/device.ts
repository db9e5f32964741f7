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

import type { Invariant, tokenBrand } from "../internal/brand.js";

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

/** Four hex digits, as PCI ids are written. */
export function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
