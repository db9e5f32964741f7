/**
 * Interrupts: `devm_request_irq`. The handler gets the binding's token, typed
 * as an `IrqDevice` (not the core context: an interrupt handler may not set
 * the device up, and a handler that claims `ProbeDevice` does not compile). The IRQ is device-managed: freed at unbind, last in first
 * out with the binding's other resources, and once freed no handler runs.
 * The line itself is the platform's (`DevicePort.requestIrq`).
 *
 * # Invariants
 * - At most one handler per device; once freed, it never runs again.
 * - The line is masked while the handler runs: a raise from inside it runs
 *   the handler once more afterwards, never recursively.
 *
 * @module
 */

import type { Invariant, irqOfOneBindingOnly } from "../internal/brand.js";
import { fail } from "../internal/error.js";
import type { Binding, Resource } from "./binding.js";
import { coreBinding } from "./binding.js";
import type { IrqDevice, ProbeDevice } from "./device.js";

/**
 * An interrupt handler. It runs when the device raises its IRQ.
 *
 * @example
 * ```ts
 * function ackWith<Scope>(regs: IoMapping<Scope>): IrqHandler<Scope> {
 *   return (dev) => regs.write32(dev, 0x0c, 1);   // acknowledge the interrupt
 * }
 * // in probe(dev): requestIrq(dev, ackWith(iomap(dev, 0)));
 * ```
 */
export type IrqHandler<Scope> = (dev: IrqDevice<Scope>) => void;

/**
 * A requested IRQ.
 *
 * @example
 * ```ts
 * const IRQ_ACK = 0x0c;
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     const irq = requestIrq(dev, (dev) => regs.write32(dev, IRQ_ACK, 1));
 *     return { remove: () => console.log(irq.count, "interrupts") };
 *   },
 * });
 * ```
 */
export type IrqHandle<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [irqOfOneBindingOnly]: Invariant<Scope>;
  /** Interrupts the handler has run for. */
  readonly count: number;
  /** True once freed, early or by devres. */
  readonly freed: boolean;
  /** Frees the IRQ now: no handler runs after this returns. `EINVAL` if already freed. */
  free(): void;
  /** The same as `free()`, for `using`. */
  [Symbol.dispose](): void;
};

/**
 * Requests the device's interrupt (`devm_request_irq`): `handler` runs each
 * time the device raises it, with the token as an `IrqDevice`.
 * Device-managed: freed at unbind, last in first out; once freed, no handler
 * runs. Core-only. `EBUSY` if already requested.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     requestIrq(dev, (irqDev) => regs.write32(irqDev, 0x0c, 1));
 *     return {};
 *   },
 * });
 * ```
 */
export const requestIrq = <Scope>(dev: ProbeDevice<Scope>, handler: IrqHandler<Scope>): IrqHandle<Scope> => {
  const binding = coreBinding(dev, "requestIrq");
  // Covers a handler from `any` or JavaScript that is not a function.
  if (typeof handler !== "function") {
    throw fail("EINVAL", `requestIrq: ${binding.describe()}: the handler must be a function.`);
  }
  // Safe: checked to be a function just above; its parameter type is the caller's business.
  const irq = new Irq(binding, handler as IrqHandler<unknown>);
  if (!binding.port.requestIrq(irq.fire)) {
    throw fail("EBUSY", `requestIrq: ${binding.describe()}: the device's IRQ is already requested. Free it first, or handle every cause in one handler.`);
  }
  binding.devres.add(irq);
  // Safe: Irq implements IrqHandle<unknown> but for the brand, which is type-level only; the binding's scope is `Scope`.
  return irq as unknown as IrqHandle<Scope>;
};

class Irq implements Resource, Omit<IrqHandle<unknown>, typeof irqOfOneBindingOnly> {
  readonly kind = "irq";
  readonly #binding: Binding;
  readonly #handler: IrqHandler<unknown>;
  count = 0;
  freed = false;

  constructor(binding: Binding, handler: IrqHandler<unknown>) {
    this.#binding = binding;
    this.#handler = handler;
  }

  get label(): string {
    return "IRQ";
  }

  /**
   * Runs the handler, unless freed. The line is masked while it runs, as
   * the kernel masks it: a raise from inside the handler (a register write
   * that re-triggers the device) runs the handler again after it returns,
   * once, instead of recursing. A throwing handler is logged, not fatal.
   */
  readonly fire = (): void => {
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
        this.#binding.emit({ kind: "irq" });
        try {
          this.#handler(this.#binding.irqToken);
        } catch (error) {
          this.#binding.emit({ kind: "irq-failed", detail: error instanceof Error ? error.message : String(error), error });
        }
      } while (this.#pending);
    } finally {
      this.#running = false;
    }
  };

  #running = false;
  #pending = false;

  free(): void {
    if (this.freed) {
      throw fail("EINVAL", `free: ${this.#binding.describe()}: the IRQ was already freed${this.#binding.live ? "" : " (by devres, at unbind)"}.`);
    }
    this.#binding.devres.forget(this);
    this.release();
  }

  [Symbol.dispose](): void {
    this.free();
  }

  release(): void {
    this.freed = true;
    this.#binding.port.freeIrq(this.fire);
  }
}
