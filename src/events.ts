/**
 * The machine's event log: what the core did, in order, for narration and
 * for finding out why a probe failed or a release threw.
 *
 * @module
 */

import type { DeviceCore } from "./device.js";

/**
 * What happened.
 *
 * @example
 * ```ts
 * const probes: readonly MachineEventKind[] = ["probe-start", "probe-end", "probe-failed"];
 * const history = machine.events.filter((e) => probes.includes(e.kind));
 * ```
 */
export type MachineEventKind =
  | "plug"
  | "unplug"
  | "register"
  | "unregister"
  | "state"
  | "probe-start"
  | "probe-end"
  | "probe-failed"
  | "remove-start"
  | "remove-end"
  | "remove-failed"
  | "release"
  | "release-failed"
  | "irq-failed"
  | "irq-unhandled"
  | "task-failed"
  | "dma-blocked"
  | "iommu-fault"
  | "alloc"
  | "free"
  | "revoke"
  | "irq"
  | "dma"
  | "violation"
  | "model-failed";

/**
 * One entry of `machine.events`.
 *
 * @example
 * ```ts
 * for (const e of machine.events) console.log(e.seq, e.kind, e.device ?? "-", e.detail ?? "");
 * ```
 */
export interface MachineEvent {
  /** Position in the machine's history, from 1. */
  readonly seq: number;
  readonly kind: MachineEventKind;
  /** The device's name, when a device is involved. */
  readonly device: string | undefined;
  /** The driver's name, when a driver is involved. */
  readonly driver: string | undefined;
  /** A short detail: `bound -> unbinding`, an error message, a reason. */
  readonly detail: string | undefined;
  /** The error a driver callback threw, for `*-failed` events. */
  readonly error: unknown;
  /** Virtual time, ns. */
  readonly time: number;
  /** Wall-clock time since the machine was made, ms. */
  readonly wall: number;
  /** The bus address, for `alloc`, `free`, `dma` and `violation`. */
  readonly address: bigint | undefined;
  /** Bytes, for `alloc`, `free`, `dma` and `violation`. */
  readonly size: number | undefined;
}

/**
 * How many events a machine keeps: the newest ones. Enough to explain any
 * recent failure; bounded so a long fuzz campaign does not grow without end.
 */
export const EVENT_LOG_LIMIT = 100_000;

/**
 * Hears each event as it is logged.
 *
 * @example
 * ```ts
 * const onFailure: EventListener = (e) => {
 *   if (e.kind === "probe-failed") console.error(e.device, e.driver, e.error);
 * };
 * const stop = machine.subscribe(onFailure);
 * // … later
 * stop();
 * ```
 */
export type EventListener = (event: MachineEvent) => void;

/** Where an event's address and size go, for events that have them. */
export interface EventExtent {
  readonly address?: bigint | undefined;
  readonly size?: number | undefined;
}

declare const performance: { now(): number };

export class EventLog {
  readonly #events: MachineEvent[] = [];
  readonly #listeners = new Set<EventListener>();
  readonly #now: () => number;
  readonly #start = performance.now();
  #seq = 0;

  /** @param now - the virtual clock's reading, ns. */
  constructor(now: () => number = () => 0) {
    this.#now = now;
  }

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  get events(): readonly MachineEvent[] {
    return this.#events;
  }

  add(
    kind: MachineEventKind,
    device: DeviceCore | string | undefined,
    driver?: string,
    detail?: string,
    error?: unknown,
    extent?: EventExtent,
  ): void {
    if (this.#events.length >= EVENT_LOG_LIMIT) this.#events.splice(0, EVENT_LOG_LIMIT / 10);
    const event: MachineEvent = Object.freeze({
      seq: ++this.#seq,
      kind,
      device: typeof device === "string" ? device : device?.name,
      driver,
      detail,
      error,
      time: this.#now(),
      wall: performance.now() - this.#start,
      address: extent?.address,
      size: extent?.size,
    });
    this.#events.push(event);
    // The listeners subscribed now: one that subscribes another (or itself
    // again) during the event must not make this loop endless.
    for (const listener of [...this.#listeners]) {
      // A listener is an observer: its failure must not break the core's walk.
      try {
        listener(event);
      } catch {}
    }
  }
}
