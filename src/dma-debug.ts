/**
 * The DMA checker, after the kernel's dma-debug (`kernel/dma/debug.c`): it
 * watches what the types cannot see and reports each misuse as a structured
 * violation.
 *
 * The core reports a leak: memory the pool still holds for a device after its
 * binding's devres release. The hardware simulator adds the device-side checks.
 *
 * @module
 */

import { BoundscopeError } from "./error.js";

/** What the checker does with a violation. */
export type DmaDebugMode = "report" | "throw" | "off";

/** The kinds of misuse the checker knows. */
export type DmaViolationKind = "leak";

/** One misuse the checker saw. */
export interface DmaViolation {
  readonly kind: DmaViolationKind;
  /** The device's name. */
  readonly device: string;
  /** The driver bound when it happened, if any. */
  readonly driver: string | undefined;
  /** The bus address involved, if any. */
  readonly address: bigint | undefined;
  /** The size in bytes involved, if any. */
  readonly size: number | undefined;
  /** One paragraph: what happened, where, and what to do. */
  readonly message: string;
}

/**
 * `machine.dmaDebug`.
 *
 * @example
 * ```ts
 * const machine = new Machine({ dmaDebug: "report" });
 * // … run drivers …
 * for (const v of machine.dmaDebug.violations) console.log(v.kind, v.message);
 * ```
 */
export class DmaDebug {
  readonly mode: DmaDebugMode;
  readonly #violations: DmaViolation[] = [];

  constructor(mode: DmaDebugMode) {
    this.mode = mode;
  }

  /** Every violation recorded so far, oldest first. Empty when mode is `off`. */
  get violations(): readonly DmaViolation[] {
    return this.#violations;
  }

  /**
   * Records `violation`. In `throw` mode, also returns the error the caller
   * must throw once it has left the machine consistent; otherwise `undefined`.
   */
  report(violation: DmaViolation): BoundscopeError | undefined {
    if (this.mode === "off") return undefined;
    this.#violations.push(Object.freeze(violation));
    return this.mode === "throw" ? new BoundscopeError("EINVAL", `dma-debug: ${violation.message}`) : undefined;
  }
}
