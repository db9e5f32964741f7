/**
 * Interrupts: `devm_request_irq`. The handler gets the binding's token, typed
 * as a `BoundDevice` (not the core context: an interrupt handler may not set
 * the device up). The IRQ is device-managed: freed at unbind, last in first
 * out with the binding's other resources, and once freed no handler runs.
 *
 * @module
 */

import type { BoundDevice } from "./device.js";
import { fail } from "./error.js";
import type { Binding, Resource } from "./internal/binding.js";
import type { Invariant, irqBrand } from "./internal/brand.js";

/**
 * An interrupt handler. It runs when the device raises its IRQ.
 *
 * @example
 * ```ts
 * function ackWith<Scope>(regs: IoMapping<Scope>): IrqHandler<Scope> {
 *   return (dev) => regs.write32(dev, 0x0c, 1);   // acknowledge the interrupt
 * }
 * // in probe(dev): dev.requestIrq(ackWith(dev.iomap(0)));
 * ```
 */
export type IrqHandler<Scope> = (dev: BoundDevice<Scope>) => void;

/**
 * A requested IRQ.
 *
 * @example
 * ```ts
 * probe(dev) {
 *   const regs = dev.iomap(0);
 *   const irq = dev.requestIrq((dev) => regs.write32(dev, IRQ_ACK, 1));
 *   return { remove: () => console.log(irq.count, "interrupts") };
 * }
 * ```
 */
export interface IrqHandle<in out Scope> {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [irqBrand]: Invariant<Scope>;
  /** Interrupts the handler has run for. */
  readonly count: number;
  /** True once freed, early or by devres. */
  readonly freed: boolean;
  /** Frees the IRQ now: no handler runs after this returns. `EINVAL` if already freed. */
  free(): void;
  /** The same as `free()`, for `using`. */
  [Symbol.dispose](): void;
}

/** Registers `handler` as the device's interrupt handler. Core-only; the caller checked that. */
export function requestIrq(binding: Binding, handler: unknown): IrqHandle<unknown> {
  if (typeof handler !== "function") {
    throw fail("EINVAL", `requestIrq: ${binding.describe()}: the handler must be a function.`);
  }
  const core = binding.device;
  if (core.irq !== undefined) {
    throw fail("EBUSY", `requestIrq: ${binding.describe()}: the device's IRQ is already requested. Free it first, or handle every cause in one handler.`);
  }
  const irq = new Irq(binding, handler as IrqHandler<unknown>);
  core.irq = irq;
  return irq as unknown as IrqHandle<unknown>;
}

export class Irq implements Resource {
  readonly #binding: Binding;
  readonly #handler: IrqHandler<unknown>;
  count = 0;
  freed = false;

  constructor(binding: Binding, handler: IrqHandler<unknown>) {
    this.#binding = binding;
    this.#handler = handler;
    binding.add(this);
  }

  get label(): string {
    return "IRQ";
  }

  /** Runs the handler, unless freed. A throwing handler is logged, not fatal. */
  /**
   * Runs the handler, unless freed. The line is masked while it runs, as
   * the kernel masks it: a raise from inside the handler (a register write
   * that re-triggers the device) runs the handler again after it returns,
   * once, instead of recursing. A throwing handler is logged, not fatal.
   */
  fire(): void {
    if (this.freed) return;
    if (this.#running) {
      this.#pending = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#pending = false;
        if (this.freed) break;
        this.count++;
        this.#binding.log.add("irq", this.#binding.device, this.#binding.driver.name);
        try {
          this.#handler(this.#binding.token);
        } catch (error) {
          const core = this.#binding.device;
          this.#binding.log.add("irq-failed", core, this.#binding.driver.name, error instanceof Error ? error.message : String(error), error);
        }
      } while (this.#pending);
    } finally {
      this.#running = false;
    }
  }

  #running = false;
  #pending = false;

  free(): void {
    if (this.freed) {
      throw fail("EINVAL", `free: ${this.#binding.describe()}: the IRQ was already freed${this.#binding.live ? "" : " (by devres, at unbind)"}.`);
    }
    this.#binding.forget(this);
    this.release();
  }

  [Symbol.dispose](): void {
    this.free();
  }

  release(): void {
    this.freed = true;
    const core = this.#binding.device;
    if (core.irq === this) core.irq = undefined;
  }
}
