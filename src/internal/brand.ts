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
 * Each key is named after the rule it enforces, because TypeScript prints
 * the key in its errors: passing a plain `Device` where a token is needed
 * reads "Property '[tokenOfOneBindingOnly]' is missing in type 'Device'",
 * and mixing two bindings reads "The types returned by
 * '[memoryOfOneBindingOnly]()' are incompatible", then "Type '"another
 * binding"' is not assignable to type '"this binding"'".
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
 * Carried by `BoundDevice<Scope>` and the context tokens. Invariant: a token
 * of one binding must not pass for a token of another, nor widen to
 * `BoundDevice<unknown>`, or it could be parked outside its probe and used
 * after unbind.
 */
export declare const tokenOfOneBindingOnly: unique symbol;

/**
 * Carried by `ProbeDevice<Scope>`: the core context. Interrupt handlers and
 * tasks get a token without it, and a context of their own, so a callback
 * that claims the core context is refused even with `strictFunctionTypes`
 * off (where parameters are compared both ways).
 */
export declare const coreContextOnlyInProbeOrRemove: unique symbol;

/** Carried by `IrqDevice<Scope>`: the token an interrupt handler gets. */
export declare const interruptContextNotCore: unique symbol;

/** Carried by `TaskDevice<Scope>`: the token a spawned task gets. */
export declare const taskContextNotCore: unique symbol;

/**
 * Carried by the contexts that may sleep (`ProbeDevice`, `TaskDevice`):
 * what `sleep()` and the other sleeping operations take. An atomic context
 * lacks it, so a hard IRQ handler that sleeps does not compile.
 */
export declare const sleepableContext: unique symbol;

/**
 * Carried by the contexts that must not sleep (`IrqDevice`, a subsystem's
 * atomic entry points): `AtomicDevice<Scope>`.
 */
export declare const atomicContextMayNotSleep: unique symbol;

/**
 * Carried by `Device`, which tokens do not carry: a token is not a plain
 * reference and a plain reference is not a token, so neither stands for the
 * other even where TypeScript compares both ways (method parameters, and
 * every parameter with `strictFunctionTypes` off).
 */
export declare const plainDeviceGrantsNothing: unique symbol;

/**
 * Carried by `CoherentAllocation<Scope>`. Invariant: covariance would let an
 * allocation widen to `CoherentAllocation<unknown>` and be read with any token,
 * including one of a device whose binding outlives the allocation's.
 */
export declare const memoryOfOneBindingOnly: unique symbol;

/**
 * Carried by `Devres<Scope, Value>`. Invariant for the same reason as the
 * allocation brand: a devres entry is only valid with its own binding's token.
 */
export declare const devresOfOneBindingOnly: unique symbol;

/**
 * Carried by `DevresGroup<Scope>`. Invariant: a group marks a span of one
 * binding's devres stack; used with another binding's token it would release
 * (or hand over) resources that binding does not own.
 */
export declare const devresGroupOfOneBindingOnly: unique symbol;

/**
 * Carried by `IoMapping<Scope>`. Invariant: an MMIO mapping outliving its
 * binding and read with a later binding's token would touch registers of a
 * device the driver no longer owns.
 */
export declare const mappingOfOneBindingOnly: unique symbol;

/** Carried by `IrqHandle<Scope>`; invariant like every per-binding handle. */
export declare const irqOfOneBindingOnly: unique symbol;

/**
 * Carried by `IrqVectors<Scope>`. Invariant: the vectors request handlers
 * typed for their binding; covariant, another binding's handlers (whose
 * resources are freed at its unbind) could be put on them.
 */
export declare const irqVectorsOfOneBindingOnly: unique symbol;

/** Carried by `Task<Scope>`; invariant like every per-binding handle. */
export declare const taskOfOneBindingOnly: unique symbol;

/**
 * Carried by a subsystem registration (`Netdev<Scope>`, `BlockDevice<Scope>`).
 * Invariant: a registration kept past its binding, under a wider scope,
 * would let a stale handle schedule polls or hand frames up for a device
 * the driver no longer owns.
 */
export declare const registrationOfOneBindingOnly: unique symbol;

/** Carried by `BlockRequest<Scope>`: only its own binding's token completes it. */
export declare const requestOfOneBindingOnly: unique symbol;

/**
 * Carried by `DmaAddress<Scope>`. Invariant: one binding's bus address must
 * not be freed or programmed by another, and a plain bigint is not one.
 */
export declare const busAddressOfOneBindingOnly: unique symbol;

/** Carried by `Driver`, so only `defineDriver` output registers. */
export declare const onlyDefineDriverMakesADriver: unique symbol;

/** Carried by `AuxiliaryDriver`, so only `defineAuxiliaryDriver` output registers on the auxiliary bus. */
export declare const onlyDefineAuxiliaryDriverMakesOne: unique symbol;

/**
 * Carried by `AuxiliaryType<Data, Ops>`. Invariant in both: the key is what
 * makes the creator of an auxiliary device and the driver that binds to it
 * agree on the data's type; covariant, a key of a wider type would let one
 * side read what the other never wrote.
 */
export declare const auxiliaryDataAgrees: unique symbol;

/**
 * Carried by `ParentData<Scope, …>` and `AuxiliaryDevice<Scope>`. Invariant:
 * a child driver's view of its parent's data is valid only in its own
 * binding; kept under a wider scope, it would outlive the child binding
 * whose token proves both are still bound.
 */
export declare const parentDataOfOneBinding: unique symbol;

/**
 * Carried by `DmaAddress<Scope, Kind>`: which family of calls made the
 * address, so only the matching call gives it back (`freeCoherent` takes a
 * coherent address, `unmapSingle` a streaming one). dma-debug's "frees DMA
 * memory with wrong function", refused in the types.
 */
export declare const givenBackOnlyByTheCallThatMadeIt: unique symbol;

/**
 * Carried by a streaming address: the direction it was mapped with,
 * invariant, so an unmap or sync must name the same one. dma-debug's "frees
 * DMA memory with different direction" and "syncs DMA memory with different
 * direction", refused in the types.
 */
export declare const syncedAndUnmappedInItsOwnDirection: unique symbol;

/**
 * A function type that is assignable to `Invariant<Other>` only when `Other`
 * is identical to `Scope`. Its results are named for the error they cause:
 * "Type '"another binding"' is not assignable to type '"this binding"'".
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
export type Invariant<Scope> = <Probe>() => Probe extends Scope ? "this binding" : "another binding";

/**
 * Carried by `ArrayField`: only `arrayOf` makes one, checked once, so a
 * struct cannot be given a look-alike `{ of, length }` whose length was never
 * checked. Not a scope brand: a layout belongs to no binding.
 */
export declare const madeByArrayOf: unique symbol;
