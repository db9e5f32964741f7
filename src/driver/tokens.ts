/**
 * The nominal shapes of the token types. `device.ts` exports each under a
 * type alias of the same name; the classes live here so that the compiler's
 * messages name them as users do (`BoundDevice<Scope>`, `ProbeDevice<Scope>`)
 * while the exported names stay aliases, which no declaration merging can
 * reach. Types only: nothing here exists at run time (the run-time token is
 * a class of `binding.ts`).
 *
 * Kernel: Rust-for-Linux's `Device<Bound>` and `Device<Core>` contexts.
 *
 * # Invariants
 * - Each class has a private member, so it is nominal: no object literal, and
 *   no object given the brand by `declare global { interface Object … }`, is
 *   one of them.
 * - Each context (core, interrupt, task) adds its own invariant brand: none
 *   passes for another, even where TypeScript compares parameters both ways.
 *
 * @module
 */

import type {
  atomicContextMayNotSleep,
  coreContextOnlyInProbeOrRemove,
  interruptContextNotCore,
  Invariant,
  sleepableContext,
  taskContextNotCore,
  tokenOfOneBindingOnly,
} from "../internal/brand.js";
import type { DeviceState } from "./device-state.js";

/**
 * The token types' shape. A declared class, not an object type: its private
 * member makes it nominal, so nothing but the library's own declarations can
 * be one. An object literal cannot, even one keyed by the brand's symbol
 * read off this type through `keyof`, and neither can every object after a
 * `declare global { interface Object { … } }` that adds the brand, since no
 * augmentation can add a private member. At run time the token is a class of
 * `binding.ts`; this class exists only in the types.
 */
export declare class BoundDevice<in out Scope> {
  /** Only the driver core mints a token. */
  #onlyTheDriverCoreMintsTokens: true;
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [tokenOfOneBindingOnly]: Invariant<Scope>;
  /** The bus address, like `0000:00:01.0`. */
  readonly name: string;
  /** PCI vendor id. */
  readonly vendor: number;
  /** PCI device id. */
  readonly device: number;
  /** The device's state now: `probing`, `bound` or `unbinding` while the token lives. */
  readonly state: DeviceState;
}

/** A context that may sleep: the token with the sleepable brand. */
export declare class SleepableDevice<in out Scope> extends BoundDevice<Scope> {
  readonly [sleepableContext]: Invariant<Scope>;
}

/** A context that must not sleep: the token with the atomic brand. */
export declare class AtomicDevice<in out Scope> extends BoundDevice<Scope> {
  readonly [atomicContextMayNotSleep]: Invariant<Scope>;
}

/** The core context: the token with the core-context brand. */
export declare class ProbeDevice<in out Scope> extends SleepableDevice<Scope> {
  readonly [coreContextOnlyInProbeOrRemove]: Invariant<Scope>;
}

/** The interrupt context: the token with the interrupt-context brand. */
export declare class IrqDevice<in out Scope> extends AtomicDevice<Scope> {
  readonly [interruptContextNotCore]: Invariant<Scope>;
}

/** The task context: the token with the task-context brand. */
export declare class TaskDevice<in out Scope> extends SleepableDevice<Scope> {
  readonly [taskContextNotCore]: Invariant<Scope>;
}
