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
 * The rest of the library tells it facts (`driver/ports.ts`: what was seen,
 * by whom, with the sites); the checker alone decides which kind a fact is,
 * whether it is a repeat, and words the message.
 *
 * # Invariants
 * - Every violation is recorded once per key: a runaway device repeating the
 *   same misuse is counted in `repeats`, not recorded again.
 * - In `off` mode nothing is recorded, remembered or thrown.
 * - A violation recorded is also a `violation` event, with the same fields.
 *
 * @module
 */

import { BoundscopeError } from "../internal/error.js";
import type { Site } from "../internal/site.js";
import { formatSite } from "../internal/site.js";
import type { DmaDirection, DmaFact, DmaRegionFact, EventRecord, Hold } from "../driver/ports.js";

/** Where the checker logs each violation it records. */
export type ViolationEmit = (event: EventRecord & { readonly violation: DmaViolationKind }) => void;

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

/** A mapping the device had, and when and where it was made and freed. */
interface FreedMapping {
  readonly address: number;
  readonly region: DmaRegionFact;
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
export interface DmaDebug {
  /** What the checker does with a violation. */
  readonly mode: DmaDebugMode;
  /** Every violation recorded so far, oldest first. Empty when mode is `off`. */
  readonly violations: readonly DmaViolation[];
  /**
   * Violations not recorded again: the same device repeating the same misuse
   * at the same mapping (a runaway engine DMAing into freed memory every
   * microsecond) is reported once and counted here, as dma-debug limits its
   * own reports.
   */
  readonly repeats: number;
  /** True unless the mode is `off`. */
  readonly enabled: boolean;
}

/** The checker itself: hears facts, decides, words, records. */
export class DmaChecker implements DmaDebug {
  readonly mode: DmaDebugMode;
  readonly #violations: DmaViolation[] = [];
  /** Keys of violations already recorded, so a runaway device reports once. */
  readonly #seen = new Set<string>();
  #repeats = 0;
  /** Per device, its most recently freed mappings, oldest first. */
  readonly #freed = new WeakMap<object, FreedMapping[]>();
  readonly #now: () => number;
  readonly #emit: ViolationEmit;

  constructor(mode: DmaDebugMode, now: () => number, emit: ViolationEmit) {
    this.mode = mode;
    this.#now = now;
    this.#emit = emit;
  }

  get violations(): readonly DmaViolation[] {
    return this.#violations;
  }

  get repeats(): number {
    return this.#repeats;
  }

  get enabled(): boolean {
    return this.mode !== "off";
  }

  /**
   * Hears one fact. Returns the error the caller throws (or keeps for the
   * unbind) in `throw` mode; otherwise `undefined`.
   */
  readonly check = (fact: DmaFact): Error | undefined => {
    if (this.mode === "off") return undefined;
    const base = { device: fact.device, driver: fact.driver };
    switch (fact.seen) {
      case "freed": {
        this.#remember(fact.instance, fact.region);
        return undefined;
      }
      case "free-held": {
        const at = sites(fact.region);
        return this.#record({
          ...base,
          kind: "free-while-held",
          address: fact.region.address,
          size: fact.region.size,
          ...at,
          message: `${fact.who}: ${fact.region.label} is being freed while the device still holds it as ${fact.held.map((h) => h.what).join(", ")}, with bus mastering on. It was allocated at ${at.allocSite} and is freed at ${at.freeSite}. The device can DMA into it after the free: halt the device (in remove(), before devres frees its memory) first.`,
        });
      }
      case "free-again": {
        const at = sites({ ...fact.region, freeTime: undefined });
        return this.#record({
          ...base,
          kind: "double-free",
          address: fact.region.address,
          size: fact.region.size,
          ...at,
          message: `free: ${fact.region.label} of ${fact.who}: double free. It was allocated at ${at.allocSite} and already freed${fact.byDevres ? " (by devres, when the binding ended)" : ""} at ${at.freeSite}.`,
        });
      }
      case "free-handle": {
        const hex = `0x${fact.address.toString(16)}`;
        const freed = this.#freedAt(fact.instance, Number(fact.address));
        if (freed === undefined) {
          return this.#record({
            ...base,
            kind: "free-unknown",
            address: fact.address,
            message: `${fact.who}: freeCoherent(${hex}): the device has no allocation at this bus address. Pass the dmaHandle of one of this binding's allocations.`,
          });
        }
        const at = sites(freed.region);
        return this.#record({
          ...base,
          kind: "double-free",
          address: fact.address,
          size: freed.region.size,
          ...at,
          message: `${fact.who}: freeCoherent(${hex}): double free of ${freed.region.size} bytes, allocated at ${at.allocSite} and already freed at ${at.freeSite}.`,
        });
      }
      case "remove-returned-holding":
        return this.#record({
          ...base,
          kind: "dma-after-remove",
          address: BigInt(fact.held[0]!.address),
          size: fact.held[0]!.length,
          message: `${fact.who}: remove() returned while the device was still doing DMA, with bus mastering on and holding ${holdList(fact.held)}. Devres frees that memory next. Halt the device in remove(): stop its engines and wait until it is idle.`,
        });
      case "held-after-release":
        return this.#record({
          ...base,
          kind: "held-after-unbind",
          address: BigInt(fact.held[0]!.address),
          size: fact.held[0]!.length,
          message: `${fact.who}: after devres release the device still holds ${holdList(fact.held)}. The memory behind it is gone; the next driver to turn on bus mastering lets the device DMA there. Reset the device in remove().`,
        });
      case "left-over":
        return this.#record({
          ...base,
          kind: "leak",
          address: fact.address,
          size: fact.size,
          message: `${fact.who}: ${fact.size} bytes at 0x${fact.address.toString(16)} were still held after devres release. The pool reclaimed them; find what allocated them outside devres.`,
        });
      case "device-dma":
        return this.#deviceDma(fact);
    }
  };

  /** A device transfer outside its live mappings: decide what it hit. */
  #deviceDma(fact: Extract<DmaFact, { seen: "device-dma" }>): Error | undefined {
    const { address, length, direction, within } = fact;
    const bus = Number(address);
    const what = `${fact.who} did a DMA ${direction} of ${length} bytes at 0x${address.toString(16)}`;
    const base = { device: fact.device, driver: fact.driver, address, size: length, direction };
    const key = (kind: DmaViolationKind, rest: string): string => `${kind}:${fact.device}:${rest}`;
    if (within !== undefined) {
      const at = sites(within);
      const start = Number(within.address);
      const pagesEnd = start + within.span;
      const message =
        bus + length <= pagesEnd
          ? `${what}, which runs ${bus - start + length - within.size} bytes past the end of its ${within.size}-byte allocation`
          : `${what}, which starts in its ${within.size}-byte allocation at 0x${start.toString(16)} and runs ${bus + length - pagesEnd} bytes past the end of its pages`;
      return this.#record(
        { ...base, kind: "dma-outside-mapping", ...at, message: `${message} (allocated at ${at.allocSite}). Check the length the driver programs into the device.` },
        key("dma-outside-mapping", `past-end:${start}:${within.allocTime}`),
      );
    }
    // A transfer that starts in a live mapping is named by it (above), not by
    // a freed one that had its address before.
    const freed = this.#freedAt(fact.instance, bus);
    if (freed !== undefined) {
      const at = sites(freed.region);
      return this.#record(
        {
          ...base,
          kind: "dma-after-free",
          ...at,
          message: `${what}, inside memory it had been given and that was freed: ${freed.region.size} bytes at 0x${freed.address.toString(16)}, allocated at ${at.allocSite} (t=${freed.region.allocTime} ns), freed at ${at.freeSite} (t=${freed.region.freeTime} ns). The device still held the address: halt it in remove() (stop its engine, wait for it to go idle) before the memory is freed.`,
        },
        key("dma-after-free", `${freed.address}:${freed.region.freeTime}`),
      );
    }
    return this.#record(
      {
        ...base,
        kind: "dma-outside-mapping",
        message: `${what}, which was never mapped for it: another device's memory, or no memory at all. Program the device only with dmaHandle values of its own allocations.`,
      },
      key("dma-outside-mapping", `${bus}`),
    );
  }

  /**
   * Records a violation and logs it as an event. With a `key`, a repeat of the
   * same key is counted, not recorded again.
   */
  #record(report: Omit<Partial<DmaViolation>, "kind" | "device" | "message" | "time"> & Pick<DmaViolation, "kind" | "device" | "message">, key?: string): BoundscopeError | undefined {
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
      time: this.#now(),
    });
    this.#violations.push(violation);
    this.#emit({
      kind: "violation",
      device: violation.device,
      driver: violation.driver,
      detail: `${violation.kind}: ${violation.message}`,
      address: violation.address,
      size: violation.size,
      direction: violation.direction,
      violation: violation.kind,
    });
    return this.mode === "throw" ? new BoundscopeError("EINVAL", `dma-debug: ${violation.kind}: ${violation.message}`) : undefined;
  }

  /** Remembers a freed mapping of a device, to name its sites if the device uses it later. */
  #remember(device: object, region: DmaRegionFact): void {
    let list = this.#freed.get(device);
    if (list === undefined) this.#freed.set(device, (list = []));
    if (list.length >= FREED_HISTORY) list.shift();
    list.push({ address: Number(region.address), region });
  }

  /** The most recent freed mapping of `device` whose pages held `address`. */
  #freedAt(device: object, address: number): FreedMapping | undefined {
    const list = this.#freed.get(device);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i]!;
      if (address >= m.address && address < m.address + m.region.span) return m;
    }
    return undefined;
  }
}

function holdList(held: readonly Hold[]): string {
  return held.map((h) => `${h.what} (0x${h.address.toString(16)}, ${h.length} bytes)`).join(", ");
}

/** The site fields of a violation, formatted. */
function sites(m: { allocSite: Site | undefined; freeSite?: Site | undefined; allocTime: number; freeTime?: number | undefined }) {
  return {
    allocSite: formatSite(m.allocSite),
    freeSite: m.freeSite === undefined ? undefined : formatSite(m.freeSite),
    allocTime: m.allocTime,
    freeTime: m.freeTime,
  };
}
