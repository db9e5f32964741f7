/**
 * The branding machinery, all in one place. Nothing here exists at run time:
 * these are type-level keys and witnesses that make a scope part of a type.
 *
 * None of these symbols is exported from the package entry point, so user code
 * cannot name a brand and so cannot write a value that carries one. A value
 * that claims a brand anyway (through `any` or a cast) is caught at run time:
 * see `src/device.ts`, which checks real private state on every use.
 *
 * Each scoped interface carries its brand as its own property,
 * `readonly [tokenBrand]: Invariant<Scope>`, not by extending a brand
 * interface: a base interface is instantiated again (twice, with and without
 * its `this` type) for every scope a driver's generic helper or class
 * declares, which cost about a quarter of a driver's type instantiations
 * (issue 6, scripts/bench).
 *
 * Kernel: Rust-for-Linux's `Device<Bound>` lifetime brands play this role;
 * TypeScript has no lifetimes, so an invariant phantom scope stands in.
 *
 * # Invariants
 * - Every scoped handle's brand is {@link Invariant} in its scope.
 * - No brand key is exported from the package entry point.
 *
 * @module
 */

// Declared only: nothing exists at run time, and the package entry point does
// not export them, so user code cannot name these keys. The library's own
// modules import them (type-only) to put the brands on their interfaces.

/**
 * Carried by `BoundDevice<Scope>`. Invariant: a token of one binding must not
 * pass for a token of another, nor widen to `BoundDevice<unknown>`, or it
 * could be parked outside its probe and used after unbind.
 */
export declare const tokenBrand: unique symbol;

/**
 * Carried by `CoherentAllocation<Scope>`. Invariant: covariance would let an
 * allocation widen to `CoherentAllocation<unknown>` and be read with any token,
 * including one of a device whose binding outlives the allocation's.
 */
export declare const allocationBrand: unique symbol;

/**
 * Carried by `Devres<Scope, Value>`. Invariant for the same reason as the
 * allocation brand: a devres entry is only valid with its own binding's token.
 */
export declare const devresBrand: unique symbol;

/**
 * Carried by `IoMapping<Scope>`. Invariant: an MMIO mapping outliving its
 * binding and read with a later binding's token would touch registers of a
 * device the driver no longer owns.
 */
export declare const mmioBrand: unique symbol;

/** Carried by `IrqHandle<Scope>`; invariant like every per-binding handle. */
export declare const irqBrand: unique symbol;

/** Carried by `Task<Scope>`; invariant like every per-binding handle. */
export declare const taskBrand: unique symbol;

declare const dmaAddressBrand: unique symbol;
declare const driverBrand: unique symbol;

/**
 * A function type that is assignable to `Invariant<Other>` only when `Other`
 * is identical to `Scope`.
 *
 * Why a function and not a plain property: a property of type `Scope` is
 * covariant, so `Token<"a">` would widen to `Token<unknown>` and a token could
 * be parked in an outer variable and used anywhere. A callback parameter
 * would be contravariant only under `strictFunctionTypes`; with that flag off
 * parameters turn bivariant and the brand would turn covariant again. TypeScript
 * relates two generic signatures whose return types are conditional types on
 * the signature's own type parameter by *identity* of the types they test
 * against, under every flag. So this brand stays invariant even in a project
 * compiled with `strictFunctionTypes: false`, and the `in out` annotations on
 * the interfaces that carry it only make the compiler's fast path agree.
 */
export type Invariant<Scope> = <Probe>() => Probe extends Scope ? 1 : 0;

/** Carried by `DmaAddress`, so a plain number or bigint cannot pose as one. */
export interface DmaAddressBrand {
  readonly [dmaAddressBrand]: "DmaAddress";
}

/** Carried by `Driver`, so only `defineDriver` output registers. */
export interface DriverBrand {
  readonly [driverBrand]: "Driver";
}
