/**
 * What one machine's parts share: the clock, the pool, the IOMMU's fault log,
 * the checker and the event log. The bus, every device and every model reach
 * the machine through this one object.
 *
 * @module
 */

import type { Clock } from "../clock.js";
import type { DmaDebug, ViolationReport } from "../dma-debug.js";
import type { EventLog } from "../events.js";
import type { IommuFault, IommuMode } from "../iommu.js";
import type { CoherentPool } from "../memory.js";

/** CPU time one devres release step takes: device events due meanwhile fire. */
export const RELEASE_STEP_NS = 1_000;

export class Hardware {
  readonly faults: IommuFault[] = [];
  /** Errors device models raised in clock events, not yet handed to anyone. */
  readonly #deviceErrors: { device: object; error: unknown }[] = [];

  constructor(
    readonly clock: Clock,
    readonly pool: CoherentPool,
    readonly debug: DmaDebug,
    readonly log: EventLog,
    readonly iommu: IommuMode,
  ) {}

  /**
   * A device's clock event threw (a "throw"-mode violation, or a broken
   * model). The error belongs to whoever runs the machine or tears that
   * device down, not to another driver that happens to be driving the clock
   * (sleeping in its probe): keep it, and stop the clock at this instant.
   */
  deviceError(device: object, error: unknown): void {
    this.#deviceErrors.push({ device, error });
    this.clock.stop();
  }

  /** Takes the kept errors: those of `device`, or all when none is named. */
  takeDeviceErrors(device?: object): unknown[] {
    const taken: unknown[] = [];
    for (let i = this.#deviceErrors.length - 1; i >= 0; i--) {
      const entry = this.#deviceErrors[i]!;
      if (device !== undefined && entry.device !== device) continue;
      taken.unshift(entry.error);
      this.#deviceErrors.splice(i, 1);
    }
    return taken;
  }

  /**
   * Records a checker violation; returns the error to throw in "throw" mode.
   * With a `key`, a repeat of the same key is counted, not recorded again.
   */
  violation(report: Omit<ViolationReport, "time">, key?: string): Error | undefined {
    const before = this.debug.violations.length;
    const error = this.debug.report({ ...report, time: this.clock.now }, key);
    if (this.debug.violations.length > before) {
      this.log.add("violation", report.device, report.driver, `${report.kind}: ${report.message}`, undefined, report);
    }
    return error;
  }
}
