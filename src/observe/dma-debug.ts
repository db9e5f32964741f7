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
 * | `wrong-size` …        | the rest of dma-debug's checks: see the README's parity table    |
 * | `dma-after-unmap`     | a device DMA hit a streaming mapping (or bounce slot) unmapped    |
 * | `dma-into-cpu-owned`  | a device DMA hit a streaming mapping the CPU owns now             |
 * | `dma-wrong-direction` | a device wrote a to-device mapping, or read a from-device one     |
 * | `cpu-access-device-owned` | the CPU took a view of memory the device owns (no sync-for-cpu) |
 * | `irq-nobody-cared`    | nearly every interrupt of a line was handled by nobody: disabled  |
 * | `irq-leaked`          | an IRQ requested without devres was still requested at binding end |
 * | `sleep-in-atomic`     | an operation that may sleep was called in atomic context (`might_sleep()`) |
 * | `hung`                | the core waited the watchdog's time for a remove(), task, release or call that never finished |
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
import type { DmaDirection, DmaFact, DmaMappingKind, DmaRegionFact, EventRecord, Hold } from "../driver/ports.js";

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
  | "leak"
  // The rest of the kernel's dma-debug checks (kernel/dma/debug.c).
  | "wrong-size"
  | "wrong-function"
  | "wrong-cpu-address"
  | "wrong-sg-count"
  | "wrong-direction"
  | "sync-unmapped"
  | "sync-outside-mapping"
  | "sync-wrong-direction"
  | "sync-read-only-for-cpu"
  | "sync-write-only-for-device"
  | "overlapping-cacheline"
  | "sg-segment-too-long"
  | "sg-segment-boundary"
  | "pending-at-unbind"
  // The kernel's note_interrupt() (kernel/irq/spurious.c): a line nobody handles.
  | "irq-nobody-cared"
  // request_irq() without free_irq(): the kernel WARNs when the vectors go with an action still on them (kernel/irq/msi.c).
  | "irq-leaked"
  // What only a simulator sees: the device and the CPU against the mapping's owner and direction.
  | "dma-after-unmap"
  | "dma-into-cpu-owned"
  | "dma-wrong-direction"
  | "cpu-access-device-owned"
  // The kernel's might_sleep(): sleeping in a hard IRQ handler or a Revocable access.
  | "sleep-in-atomic"
  // The kernel's hung-task detector: a wait of the driver core that never finished (sim/watchdog.ts).
  | "hung";

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
  /**
   * Where the call that broke the rule was made (an unmap, a sync, the CPU
   * taking a view), or where ownership last moved for a device transfer.
   */
  readonly callSite: string | undefined;
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
  readonly #freed = new WeakMap<object, { readonly entries: FreedMapping[]; next: number }>();
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
        const callSite = formatSite(fact.site);
        const freed = this.#freedAt(fact.instance, Number(fact.address));
        if (freed === undefined) {
          return this.#record({
            ...base,
            kind: "free-unknown",
            address: fact.address,
            callSite,
            message: `${fact.who}: freeCoherent(${hex}) at ${callSite}: the device has no allocation at this bus address. Pass the dmaHandle of one of this binding's allocations.`,
          });
        }
        const at = sites(freed.region);
        return this.#record({
          ...base,
          kind: "double-free",
          address: fact.address,
          size: freed.region.size,
          ...at,
          callSite,
          message: `${fact.who}: freeCoherent(${hex}) at ${callSite}: double free of ${freed.region.size} bytes, allocated at ${at.allocSite} and already freed at ${at.freeSite}.`,
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
      case "device-dma-state":
        return this.#deviceDmaState(fact);
      case "cpu-access": {
        const at = sites(fact.region);
        const stale = fact.region.bounced ? "the buffer is bounced, so the CPU reads what it held before the device wrote" : "on a machine whose DMA is not cache-coherent the CPU reads stale lines";
        return this.#record(
          {
            ...base,
            kind: "cpu-access-device-owned",
            address: fact.region.address,
            size: fact.region.size,
            ...at,
            callSite: formatSite(fact.site),
            message: `${fact.who}: the CPU took a view of a buffer at ${formatSite(fact.site)} while the device owns it: ${fact.region.label}, handed to the device ${handedOver(fact.ownerSite, fact.ownerTime, fact.region)}. A sync-for-cpu is missing: call syncForCpu (dma_sync_single_for_cpu) or unmap before the CPU reads it; ${stale}.`,
          },
          `cpu-access:${fact.device}:${fact.region.address}:${fact.region.serial ?? fact.region.allocTime}:${fact.site === undefined ? "" : formatSite(fact.site)}`,
        );
      }
      case "unmap-unknown":
        return this.#unknown(fact);
      case "unmap-mismatch":
        return this.#mismatch(fact);
      case "sync":
        return this.#sync(fact);
      case "cacheline-overlap": {
        const at = sites(fact.region);
        return this.#record({
          ...base,
          kind: "overlapping-cacheline",
          address: fact.region.address,
          size: fact.region.size,
          ...at,
          message: `${fact.who}: ${fact.region.label}, mapped at ${at.allocSite}, shares the cache line at physical 0x${fact.line.toString(16)} with ${fact.other.label}, mapped at ${formatSite(fact.other.allocSite)}, and the device may write one of them (dma-debug: "cacheline tracking EEXIST, overlapping mappings aren't supported"). On a machine whose DMA is not cache-coherent, a sync of one corrupts the other: give each buffer the device writes its own cache lines.`,
        });
      }
      case "sg-segment": {
        const hex = `0x${fact.address.toString(16)}`;
        const tooLong = fact.length > fact.maxSegment;
        return this.#record({
          ...base,
          kind: tooLong ? "sg-segment-too-long" : "sg-segment-boundary",
          address: fact.address,
          size: fact.length,
          callSite: formatSite(fact.site),
          message: tooLong
            ? `${fact.who}: mapSg at ${formatSite(fact.site)} made a segment of ${fact.length} bytes at ${hex}, longer than the device's maximum segment of ${fact.maxSegment} bytes (dma-debug: "mapping sg segment longer than device claims to support"). Split the buffers, or raise it with setMaxSegmentSize() if the device takes more.`
            : `${fact.who}: mapSg at ${formatSite(fact.site)} made a segment of ${fact.length} bytes at ${hex} that crosses the device's segment boundary (mask 0x${fact.boundary.toString(16)}) (dma-debug: "mapping sg segment across boundary"). Keep each buffer within one boundary window.`,
        });
      }
      case "might-sleep":
        return this.#mightSleep(fact);
      case "hung":
        return this.#record({
          ...base,
          kind: "hung",
          message: `${fact.who}: the driver core waited ${duration(fact.waitedNs)} of virtual time for ${fact.waitsOn}, and it has not finished (the watchdog's time, MachineOptions.watchdogNs; the kernel's hung-task detector). The core went on without it: the binding ends and devres is released, so whatever it still runs finds its token dead (ENXIO). A task must stop when its signal aborts (check signal.aborted, race signal.whenAborted, or call throwIfAborted()); remove(), a devres release or a subsystem call must not wait on something that never comes: give up after a timeout (readPollTimeout) instead.`,
        });
      case "irq-nobody-cared":
        return this.#record(
          {
            ...base,
            kind: "irq-nobody-cared",
            message: `irq ${fact.irq}: nobody cared (raised last by ${deviceWho(fact)}): ${fact.unhandled} of the last 100000 interrupts were handled by no handler, so the line is disabled for every device on it. Handlers: ${fact.handlers.length === 0 ? "none" : fact.handlers.join("; ")}. A handler must return "handled" when its device raised the interrupt (read and acknowledge its status register), and "none" only when it did not; a device that keeps raising must be acknowledged or stopped.`,
          },
          `irq-nobody-cared:${fact.device}:${fact.irq}`,
        );
      case "irq-leaked": {
        const site = formatSite(fact.site);
        const handler = fact.handler === undefined ? "" : ` (handler ${fact.handler})`;
        const when = fact.reason === "probe failed" ? "probe() failed" : `the binding ended (${fact.reason})`;
        return this.#record({
          ...base,
          kind: "irq-leaked",
          allocSite: site,
          allocTime: fact.time,
          message: `${fact.who}: ${fact.what}${handler}, requested without devres ({ managed: false }) at ${site} (t=${fact.time} ns), was still requested when ${when}: free() (free_irq) was never called. Its handler would run on a dead token, and on memory devres frees next; the kernel WARNs when the vectors are disabled with an action still on them. The driver core freed it. Free it in remove(), and in every error path of probe() after the request.`,
        });
      }
      case "pending-at-unbind": {
        const first = fact.regions[0]!;
        const at = sites(first);
        return this.#record({
          ...base,
          kind: "pending-at-unbind",
          address: first.address,
          size: first.size,
          ...at,
          message: `${fact.who}: ${fact.regions.length} DMA mapping${fact.regions.length === 1 ? " was" : "s were"} still live when the binding ended (dma-debug: "device driver has pending DMA allocations while released from device"); devres unmapped ${fact.regions.length === 1 ? "it" : "them"}. One of them: ${first.label}, made at ${at.allocSite}. Unmap what the device is done with in remove(), after halting the device.`,
        });
      }
    }
  };

  /**
   * A sleeping operation in atomic context. Recorded once per device,
   * operation, section and call site (a handler that allocates at every
   * interrupt is one report, its repeats counted); in `throw` mode thrown at
   * every call, repeats included, since each caller must be refused.
   */
  #mightSleep(fact: Extract<DmaFact, { seen: "might-sleep" }>): Error | undefined {
    const callSite = fact.site === undefined ? undefined : formatSite(fact.site);
    const what = fact.returnedPromise ? `${fact.operation} returned a promise (it is async, or awaits)` : `${fact.operation} at ${callSite}`;
    const advice = fact.returnedPromise
      ? "Keep the callback synchronous: move the async work to a task (spawn), a threaded handler's thread part, or tryAccessAsync() for a Revocable or Devres."
      : 'Use the non-sleeping form where the call has one ("atomic", GFP_ATOMIC), or move the work to a task (spawn) or a threaded handler\'s thread part.';
    const message = `${fact.who}: sleeping function called from invalid context: ${what}, inside ${fact.section}, which must not sleep. ${advice}`;
    const key = `sleep-in-atomic:${fact.device}:${fact.operation}:${fact.section}:${callSite ?? ""}`;
    const repeat = this.#seen.has(key);
    const error = this.#record({ device: fact.device, driver: fact.driver, kind: "sleep-in-atomic", callSite, message }, key);
    return repeat && this.mode === "throw" ? new BoundscopeError("EINVAL", `dma-debug: sleep-in-atomic: ${message}`) : error;
  }

  /** A device transfer inside one of its streaming mappings, in a state or direction that forbids it. */
  #deviceDmaState(fact: Extract<DmaFact, { seen: "device-dma-state" }>): Error | undefined {
    const { address, length, direction, within } = fact;
    const at = sites(within);
    const what = `${deviceWho(fact)} did a DMA ${direction} of ${length} bytes at 0x${address.toString(16)}, inside ${within.label} (mapped at ${at.allocSite})`;
    const base = { device: fact.device, driver: fact.driver, address, size: length, direction, ...at, callSite: fact.ownerSite === undefined ? undefined : formatSite(fact.ownerSite) };
    if (fact.owner === "cpu") {
      return this.#record(
        {
          ...base,
          kind: "dma-into-cpu-owned",
          message: `${what}, which the CPU owns since a sync for the CPU ${fact.ownerSite === undefined ? `at t=${fact.ownerTime} ns` : `at ${formatSite(fact.ownerSite)}`}. Hand it back to the device with syncForDevice (dma_sync_single_for_device) before the device may use it again.`,
        },
        `dma-into-cpu-owned:${fact.device}:${within.address}:${within.serial ?? within.allocTime}:${direction}`,
      );
    }
    const allowed = within.direction === "to-device" ? "only read" : "only write";
    return this.#record(
      {
        ...base,
        kind: "dma-wrong-direction",
        message: `${what}: a ${within.direction} mapping, which the device may ${allowed}. Map it ${direction === "write" ? '"from-device" or "bidirectional"' : '"to-device" or "bidirectional"'}, or fix the device's descriptor.`,
      },
      `dma-wrong-direction:${fact.device}:${within.address}:${within.serial ?? within.allocTime}:${direction}`,
    );
  }

  /** An unmap, free or sync of an address with no live mapping of the binding. */
  #unknown(fact: Extract<DmaFact, { seen: "unmap-unknown" }>): Error | undefined {
    const { call } = fact;
    const hex = `0x${call.address.toString(16)}`;
    const base = { device: fact.device, driver: fact.driver, address: call.address, size: call.size, callSite: formatSite(call.site) };
    const freed = this.#freedAt(fact.instance, Number(call.address));
    const sync = call.call.startsWith("sync");
    if (freed !== undefined) {
      const at = sites(freed.region);
      const ended = freed.region.kind === undefined || freed.region.kind === "coherent" || freed.region.kind === "pool" ? "freed" : "unmapped";
      return this.#record({
        ...base,
        kind: sync ? "sync-unmapped" : "double-free",
        size: freed.region.size,
        ...at,
        message: `${fact.who}: ${call.call}(${hex}) at ${formatSite(call.site)}: ${freed.region.label}, made at ${at.allocSite}, was already ${ended} ${at.freeSite === undefined ? `at t=${freed.region.freeTime} ns` : `at ${at.freeSite}`}.${sync ? " Sync only a live mapping (dma-debug: \"device driver tries to sync DMA memory it has not allocated\")." : " Unmap or free each mapping once."}`,
      });
    }
    return this.#record({
      ...base,
      kind: sync ? "sync-unmapped" : "free-unknown",
      message: sync
        ? `${fact.who}: ${call.call}(${hex}) at ${formatSite(call.site)}: the device has no mapping at this bus address (dma-debug: "device driver tries to sync DMA memory it has not allocated").`
        : `${fact.who}: ${call.call}(${hex}) at ${formatSite(call.site)}: the device has no ${call.kind === "coherent" ? "allocation" : "mapping"} at this bus address (dma-debug: "device driver tries to free DMA memory it has not allocated"). Pass an address this binding got from ${call.kind === "coherent" ? "allocCoherent" : call.kind === "pool" ? "DmaPool.alloc" : call.kind === "sg" ? "mapSg" : "mapSingle"}.`,
    });
  }

  /** An unmap or free that found its mapping but disagrees with it: each disagreement is its own violation, as in dma-debug. */
  #mismatch(fact: Extract<DmaFact, { seen: "unmap-mismatch" }>): Error | undefined {
    const { region, call } = fact;
    const at = sites(region);
    const hex = `0x${call.address.toString(16)}`;
    const base = { device: fact.device, driver: fact.driver, address: call.address, size: region.size, ...at, callSite: formatSite(call.site) };
    const head = `${fact.who}: ${call.call}(${hex}) at ${formatSite(call.site)} of ${region.label}, made at ${at.allocSite}`;
    const kindOf = region.kind ?? "coherent";
    let first: Error | undefined;
    const add = (kind: DmaViolationKind, message: string): void => {
      const error = this.#record({ ...base, kind, message: `${head}: ${message}` });
      first ??= error;
    };
    if (call.kind !== kindOf) add("wrong-function", `it was made by ${MAKER[kindOf]} and must be given back by ${UNMAKER[kindOf]}, not ${call.call} (dma-debug: "frees DMA memory with wrong function").`);
    if (call.size !== undefined && call.size !== region.size) add("wrong-size", `it is ${region.size} bytes, and the call says ${call.size} (dma-debug: "frees DMA memory with different size").`);
    if (call.otherCpuAddress === true) add("wrong-cpu-address", `the CPU address passed is not this memory's (dma-debug: "frees DMA memory with different CPU address"). Pass the view this allocation gave.`);
    if (call.entries !== undefined && region.entries !== undefined && call.entries !== region.entries) add("wrong-sg-count", `it was mapped with ${region.entries} entries, and the call says ${call.entries} (dma-debug: "frees DMA sg list with different entry count"). Pass the count given to mapSg, not the segments it returned.`);
    if (call.direction !== undefined && region.direction !== undefined && call.direction !== region.direction) add("wrong-direction", `it was mapped ${region.direction}, and the call says ${call.direction} (dma-debug: "frees DMA memory with different direction").`);
    return first;
  }

  /** A sync of a live mapping: the range and the direction against the mapping's. */
  #sync(fact: Extract<DmaFact, { seen: "sync" }>): Error | undefined {
    const { region, call, forCpu } = fact;
    const at = sites(region);
    const hex = `0x${call.address.toString(16)}`;
    const base = { device: fact.device, driver: fact.driver, address: call.address, size: call.size, ...at, callSite: formatSite(call.site) };
    const head = `${fact.who}: ${call.call}(${hex}) at ${formatSite(call.site)} of ${region.label}, mapped at ${at.allocSite}`;
    let first: Error | undefined;
    const add = (kind: DmaViolationKind, message: string): void => {
      const error = this.#record({ ...base, kind, message: `${head}: ${message}` });
      first ??= error;
    };
    const offset = call.offset ?? 0;
    const size = call.size ?? 0;
    if (offset + size > region.size) add("sync-outside-mapping", `bytes ${offset} to ${offset + size} lie outside the ${region.size} bytes mapped (dma-debug: "syncs DMA memory outside allocated range").`);
    const mapped = region.direction;
    const asked = call.direction;
    if (mapped !== undefined && asked !== undefined && mapped !== "bidirectional") {
      if (asked !== mapped) add("sync-wrong-direction", `it was mapped ${mapped}, and the sync says ${asked} (dma-debug: "syncs DMA memory with different direction").`);
      if (forCpu && mapped !== "from-device" && asked !== "to-device") add("sync-read-only-for-cpu", `the device only reads this memory, so there is nothing to sync for the CPU (dma-debug: "syncs device read-only DMA memory for cpu").`);
      if (!forCpu && mapped !== "to-device" && asked !== "from-device") add("sync-write-only-for-device", `the device only writes this memory (dma-debug: "syncs device write-only DMA memory to device").`);
    }
    return first;
  }

  /** A device transfer outside its live mappings: decide what it hit. */
  #deviceDma(fact: Extract<DmaFact, { seen: "device-dma" }>): Error | undefined {
    const { address, length, direction, within } = fact;
    const bus = Number(address);
    const what = `${deviceWho(fact)} did a DMA ${direction} of ${length} bytes at 0x${address.toString(16)}`;
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
      const streaming = freed.region.kind === "single" || freed.region.kind === "sg";
      // Word it from what was seen: a hold the device declared, or an address it had from elsewhere.
      const how = fact.held
        ? "The device still held the address (it declared the hold and never released it)"
        : "The device had not declared it held this address: it used one it had been given before (from a descriptor or a register)";
      if (streaming) {
        const where = freed.region.bounced ? `a swiotlb bounce slot of ${freed.region.label}, which was unmapped` : `${freed.region.label}, which was unmapped`;
        return this.#record(
          {
            ...base,
            kind: "dma-after-unmap",
            ...at,
            message: `${what}, inside ${where}: mapped at ${at.allocSite} (t=${freed.region.allocTime} ns), unmapped ${at.freeSite === undefined ? "" : `at ${at.freeSite} `}(t=${freed.region.freeTime} ns).${freed.region.bounced ? " What the device writes there never reaches the buffer, and the slot may be another mapping's now." : ""} ${how}. Unmap only once the device is done with the buffer.`,
          },
          key("dma-after-unmap", `${freed.address}:${freed.region.serial ?? freed.region.freeTime}`),
        );
      }
      return this.#record(
        {
          ...base,
          kind: "dma-after-free",
          ...at,
          message: `${what}, inside memory it had been given and that was freed: ${freed.region.size} bytes at 0x${freed.address.toString(16)}, allocated at ${at.allocSite} (t=${freed.region.allocTime} ns), freed at ${at.freeSite} (t=${freed.region.freeTime} ns). ${how}. ${fact.held ? "Halt it in remove() (stop its engine, wait for it to go idle) before the memory is freed." : "Take the address out of every descriptor and register the device reads, and stop the device, before the memory is freed."}`,
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
      callSite: undefined,
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
    let ring = this.#freed.get(device);
    if (ring === undefined) this.#freed.set(device, (ring = { entries: [], next: 0 }));
    const entry = { address: Number(region.address), region };
    // A ring of the last FREED_HISTORY: the oldest is overwritten, nothing is moved.
    if (ring.entries.length < FREED_HISTORY) ring.entries.push(entry);
    else ring.entries[ring.next] = entry;
    ring.next = (ring.next + 1) % FREED_HISTORY;
  }

  /** The most recent freed mapping of `device` whose pages held `address`. */
  #freedAt(device: object, address: number): FreedMapping | undefined {
    const ring = this.#freed.get(device);
    if (ring === undefined) return undefined;
    const { entries, next } = ring;
    for (let k = 1; k <= entries.length; k++) {
      const m = entries[(next - k + FREED_HISTORY) % FREED_HISTORY]!;
      if (address >= m.address && address < m.address + m.region.span) return m;
    }
    return undefined;
  }
}

/**
 * How memory was handed to the device, for a message: the site of the call
 * if one was kept (the map, or an address-taking sync), else the sync's
 * virtual time and where the memory was mapped.
 */
function handedOver(site: Site | undefined, time: number, region: DmaRegionFact): string {
  return site !== undefined ? `at ${formatSite(site)}` : `by a sync for the device at t=${time} ns (mapped at ${formatSite(region.allocSite)})`;
}

/** Which call makes each kind of mapping, and which gives it back. */
const MAKER: Record<DmaMappingKind, string> = { coherent: "allocCoherent", single: "mapSingle", sg: "mapSg", pool: "DmaPool.alloc" };
const UNMAKER: Record<DmaMappingKind, string> = { coherent: "freeCoherent", single: "unmapSingle", sg: "unmapSg", pool: "DmaPool.free" };

/** Who did a device transfer: the device, and the driver that answers for it (bound now, or last). */
function deviceWho(fact: { readonly who: string; readonly driver: string | undefined }): string {
  return fact.driver === undefined ? fact.who : `${fact.who} (driver "${fact.driver}")`;
}

/** Virtual ns as people read them: `10 s`, `1.5 ms`, `800 ns`. Also the timeline's axis and `boundscope/testing`'s stories. */
export function duration(ns: number): string {
  if (ns >= 1e9) return `${+(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${+(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${+(ns / 1e3).toFixed(3)} µs`;
  return `${ns} ns`;
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
