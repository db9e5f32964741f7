/**
 * The DMA checker, after the kernel's dma-debug (`kernel/dma/debug.c`).
 *
 * dma-debug tracks every mapping a driver makes and complains when a free does
 * not match one, or a mapping outlives its driver. A simulator can see more:
 * the device side. So this checker also watches every device DMA, and knows
 * which addresses a running device holds. What it catches:
 *
 * | kind                  | what happened                                                    |
 * | --------------------- | ---------------------------------------------------------------- |
 * | `dma-after-free`      | a device DMA hit memory freed from one of its own mappings        |
 * | `free-while-held`     | memory freed while its device holds the address, bus master on   |
 * | `dma-after-remove`    | `remove()` returned while the device was still doing DMA          |
 * | `dma-outside-mapping` | a device DMA hit another device's memory, or past an allocation  |
 * | `free-unknown`        | a free of a bus address the device never had                     |
 * | `double-free`         | a free of memory already freed                                   |
 * | `held-after-unbind`   | the device still held addresses after devres release             |
 * | `leak`                | the pool still held memory for the binding after devres release  |
 *
 * @module
 */

import { BoundscopeError } from "./error.js";
import type { DmaDirection } from "./iommu.js";
import type { Site } from "./internal/site.js";
import { formatSite } from "./internal/site.js";

/**
 * What the checker does with a violation: record it, record and throw it, or nothing.
 *
 * @example
 * ```ts
 * const machine = new Machine({ dmaDebug: "throw" });   // a violation throws EINVAL where it happens
 * ```
 */
export type DmaDebugMode = "report" | "throw" | "off";

/**
 * The kinds of misuse the checker knows.
 *
 * @example
 * ```ts
 * const count = (kind: DmaViolationKind) => machine.dmaDebug.violations.filter((v) => v.kind === kind).length;
 * console.log(count("leak"), count("dma-after-free"));
 * ```
 */
export type DmaViolationKind =
  | "dma-after-free"
  | "free-while-held"
  | "dma-after-remove"
  | "dma-outside-mapping"
  | "free-unknown"
  | "double-free"
  | "held-after-unbind"
  | "leak";

/**
 * One misuse the checker saw. Fields that do not apply are `undefined`.
 *
 * @example
 * ```ts
 * for (const v of machine.dmaDebug.violations) {
 *   console.log(`${v.kind} on ${v.device} (driver ${v.driver ?? "none"}): ${v.message}`);
 * }
 * ```
 */
export interface DmaViolation {
  readonly kind: DmaViolationKind;
  /** The device's name. */
  readonly device: string;
  /** The driver bound (or last bound) when it happened. */
  readonly driver: string | undefined;
  /** The bus address involved. */
  readonly address: bigint | undefined;
  /** The size in bytes involved. */
  readonly size: number | undefined;
  /** For device DMA: which way it went. */
  readonly direction: DmaDirection | undefined;
  /** Virtual time of the violation, ns. */
  readonly time: number;
  /** Where the memory involved was allocated (`function (file:line:col)`). */
  readonly allocSite: string | undefined;
  /** Where it was freed. */
  readonly freeSite: string | undefined;
  /** Virtual time of the allocation, ns. */
  readonly allocTime: number | undefined;
  /** Virtual time of the free, ns. */
  readonly freeTime: number | undefined;
  /** One paragraph: what happened, where, and what to do. */
  readonly message: string;
}

/** What the core tells the checker about one violation. */
export type ViolationReport = Partial<Omit<DmaViolation, "kind" | "device" | "message" | "time">> &
  Pick<DmaViolation, "kind" | "device" | "message" | "time">;

/** A mapping the device had, and when and where it was made and freed. */
export interface FreedMapping {
  readonly address: number;
  /** Bytes the allocation asked for. */
  readonly size: number;
  /** Bytes of whole pages the device could reach. */
  readonly span: number;
  readonly allocSite: Site | undefined;
  readonly freeSite: Site | undefined;
  readonly allocTime: number;
  readonly freeTime: number;
}

/** How many freed mappings the checker remembers per device. */
export const FREED_HISTORY = 1024;

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
  /** Keys of violations already recorded, so a runaway device reports once. */
  readonly #seen = new Set<string>();
  #repeats = 0;
  /** Per device, its most recently freed mappings, oldest first. */
  readonly #freed = new WeakMap<object, FreedMapping[]>();

  constructor(mode: DmaDebugMode) {
    this.mode = mode;
  }

  /** Every violation recorded so far, oldest first. Empty when mode is `off`. */
  get violations(): readonly DmaViolation[] {
    return this.#violations;
  }

  /**
   * Violations not recorded again: the same device repeating the same misuse
   * at the same mapping (a runaway engine DMAing into freed memory every
   * microsecond) is reported once and counted here, as dma-debug limits its
   * own reports.
   */
  get repeats(): number {
    return this.#repeats;
  }

  /** True unless the mode is `off`: sites are worth capturing. */
  get enabled(): boolean {
    return this.mode !== "off";
  }

  /**
   * Records a violation. In `throw` mode, also returns the error the caller
   * must throw once it has left the machine consistent; otherwise `undefined`.
   *
   * @internal The core reports; users read `violations`.
   */
  report(report: ViolationReport, key?: string): BoundscopeError | undefined {
    if (this.mode === "off") return undefined;
    if (key !== undefined) {
      if (this.#seen.has(key)) {
        this.#repeats++;
        return undefined;
      }
      this.#seen.add(key);
    }
    const violation: DmaViolation = Object.freeze({
      driver: undefined,
      address: undefined,
      size: undefined,
      direction: undefined,
      allocSite: undefined,
      freeSite: undefined,
      allocTime: undefined,
      freeTime: undefined,
      ...report,
    });
    this.#violations.push(violation);
    return this.mode === "throw" ? new BoundscopeError("EINVAL", `dma-debug: ${violation.kind}: ${violation.message}`) : undefined;
  }

  /**
   * Remembers a freed mapping of `device`, to name its sites if the device uses it later.
   *
   * @internal Called by the core at each free.
   */
  remember(device: object, mapping: FreedMapping): void {
    if (this.mode === "off") return;
    let list = this.#freed.get(device);
    if (list === undefined) this.#freed.set(device, (list = []));
    if (list.length >= FREED_HISTORY) list.shift();
    list.push(mapping);
  }

  /**
   * The most recent freed mapping of `device` whose pages held `address`.
   *
   * @internal Called by the core to name a violation's sites.
   */
  freedAt(device: object, address: number): FreedMapping | undefined {
    const list = this.#freed.get(device);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i]!;
      if (address >= m.address && address < m.address + m.span) return m;
    }
    return undefined;
  }
}

/** The site fields of a violation, formatted. */
export function sites(m: { allocSite: Site | undefined; freeSite?: Site | undefined; allocTime: number; freeTime?: number }) {
  return {
    allocSite: formatSite(m.allocSite),
    freeSite: m.freeSite === undefined ? undefined : formatSite(m.freeSite),
    allocTime: m.allocTime,
    freeTime: m.freeTime,
  };
}
