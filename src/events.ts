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
  | "iommu-fault";

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
}

/**
 * How many events a machine keeps: the newest ones. Enough to explain any
 * recent failure; bounded so a long fuzz campaign does not grow without end.
 */
export const EVENT_LOG_LIMIT = 10_000;

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

export class EventLog {
  readonly #events: MachineEvent[] = [];
  readonly #listeners = new Set<EventListener>();
  #seq = 0;

  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  get events(): readonly MachineEvent[] {
    return this.#events;
  }

  add(kind: MachineEventKind, device: DeviceCore | undefined, driver?: string, detail?: string, error?: unknown): void {
    if (this.#events.length >= EVENT_LOG_LIMIT) this.#events.splice(0, EVENT_LOG_LIMIT / 10);
    const event = Object.freeze({ seq: ++this.#seq, kind, device: device?.name, driver, detail, error });
    this.#events.push(event);
    for (const listener of this.#listeners) {
      // A listener is an observer: its failure must not break the core's walk.
      try {
        listener(event);
      } catch {}
    }
  }
}
