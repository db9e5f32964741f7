/**
 * The machine's event log: what the core did, in order, for narration, for
 * finding out why a probe failed or a release threw, and for the trace and
 * timeline (`trace.ts`).
 *
 * Kernel: tracepoints (`trace_event`), with their typed fields.
 *
 * # Invariants
 * - Every event has its structured fields (`driver/ports.ts`
 *   `EventRecord`); `detail` is prose for people, and nothing in boundscope
 *   reads it.
 * - `seq` increases by one per event; the log keeps the newest
 *   {@link EVENT_LOG_LIMIT} events.
 * - A listener that throws does not stop the log or the core.
 *
 * @module
 */

import type { DeviceState } from "../driver/device.js";
import type { DmaDirection, EndReason, EventRecord, MachineEventKind, ResourceKind } from "../driver/ports.js";
import type { DmaViolationKind } from "./dma-debug.js";

export type { EndReason, MachineEventKind, ResourceKind } from "../driver/ports.js";

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
  /** The bus address, for `alloc`, `free`, `dma`, `dma-blocked`, `iommu-fault`, `violation`, and `release` of coherent memory. */
  readonly address: bigint | undefined;
  /** Bytes, for the events that have an `address`. */
  readonly size: number | undefined;
  /** `dma`, `dma-blocked`, `iommu-fault`, device `violation`s: which way the device moved data. */
  readonly direction: DmaDirection | undefined;
  /** `state`: the state left. */
  readonly from: DeviceState | undefined;
  /** `state`: the state entered. */
  readonly to: DeviceState | undefined;
  /** `remove-start`, `remove-end`: why the binding ends. */
  readonly reason: EndReason | undefined;
  /** `release`, `release-failed`, `revoke`, `alloc`, `free`: what kind of resource. */
  readonly resource: ResourceKind | undefined;
  /** `release`, `release-failed` of an MMIO mapping: its BAR. */
  readonly bar: number | undefined;
  /** `hung`, `finished-late`: what the driver core waited on. */
  readonly waitsOn: string | undefined;
  /** `hung`, `finished-late`: virtual ns since the wait began. */
  readonly waitedNs: number | undefined;
  /** `plug`, `rescan`, `aux-add`: the device the new one sits under. */
  readonly parent: string | undefined;
  /** `link-add`, `link-remove`, `probe-deferred`: the supplier. */
  readonly supplier: string | undefined;
  /** `violation`: the checker's kind. */
  readonly violation: DmaViolationKind | undefined;
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

declare const performance: { now(): number };

/**
 * One logged event: every field starts `undefined`, one shape for all, and
 * the record's own fields are copied over it. Reading fifteen fields off
 * records of many shapes (each call site logs its own) made logging slow.
 */
class LoggedEvent {
  seq = 0;
  kind: MachineEventKind = "plug";
  device: string | undefined = undefined;
  driver: string | undefined = undefined;
  detail: string | undefined = undefined;
  error: unknown = undefined;
  time = 0;
  wall = 0;
  address: bigint | undefined = undefined;
  size: number | undefined = undefined;
  direction: DmaDirection | undefined = undefined;
  from: DeviceState | undefined = undefined;
  to: DeviceState | undefined = undefined;
  reason: EndReason | undefined = undefined;
  resource: ResourceKind | undefined = undefined;
  bar: number | undefined = undefined;
  waitsOn: string | undefined = undefined;
  waitedNs: number | undefined = undefined;
  parent: string | undefined = undefined;
  supplier: string | undefined = undefined;
  violation: DmaViolationKind | undefined = undefined;
}

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

  /** Logs one event; its fields are copied, the rest are `undefined`. */
  readonly add = (record: EventRecord & { readonly violation?: DmaViolationKind }, device?: string, driver?: string): void => {
    if (this.#events.length >= EVENT_LOG_LIMIT) this.#events.splice(0, EVENT_LOG_LIMIT / 10);
    const event = Object.assign(new LoggedEvent(), record);
    if (device !== undefined) event.device = device;
    if (driver !== undefined) event.driver = driver;
    event.seq = ++this.#seq;
    event.time = this.#now();
    event.wall = performance.now() - this.#start;
    Object.freeze(event);
    this.#events.push(event);
    if (this.#listeners.size === 0) return;
    // The listeners subscribed now: one that subscribes another (or itself
    // again) during the event must not make this loop endless.
    for (const listener of [...this.#listeners]) {
      // A listener is an observer: its failure must not break the core's walk.
      try {
        listener(event);
      } catch {}
    }
  };
}
