/**
 * What happened, as a picture: the machine's events exported to the Chrome
 * trace-event format (Perfetto, `chrome://tracing`) and drawn as a lifecycle
 * timeline in SVG.
 *
 * The timeline's x axis is event order, not time: a driver's whole probe can
 * happen at one virtual instant, and the picture must still show it. Each
 * step is labelled with its virtual time on hover.
 *
 * Kernel: `trace-cmd`/Perfetto over tracepoints.
 *
 * # Invariants
 * - Both views read the events' structured fields (`to`, `violation`,
 *   `address`), never their `detail` text.
 *
 * @module
 */

import type { DeviceState } from "../driver/device.js";
import type { MachineEvent } from "./events.js";

/**
 * One Chrome trace event.
 *
 * @example
 * ```ts
 * const slices = machine.trace.toChromeTrace().traceEvents.filter((e) => e.ph === "B");
 * ```
 */
export interface ChromeTraceEvent {
  readonly name: string;
  /** Phase: `B`/`E` begin and end a slice, `i` an instant, `M` metadata. */
  readonly ph: "B" | "E" | "i" | "M";
  /** Time in µs (virtual time). */
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly s?: "t" | "p" | "g";
  readonly args?: Readonly<Record<string, string | number>>;
}

/**
 * A Chrome trace: `JSON.stringify` it to a `.json` file and open it in
 * Perfetto or `chrome://tracing`.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * const trace: ChromeTrace = machine.trace.toChromeTrace();
 * writeFileSync("trace.json", JSON.stringify(trace));
 * ```
 */
export interface ChromeTrace {
  readonly traceEvents: readonly ChromeTraceEvent[];
  readonly displayTimeUnit: "ns";
}

/**
 * `machine.trace`: every event with virtual and wall time, and two ways to
 * look at them.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * writeFileSync("trace.json", JSON.stringify(machine.trace.toChromeTrace()));
 * writeFileSync("timeline.svg", machine.trace.toSvg());
 * ```
 */
export interface Trace {
  /** Every event so far (the newest 100,000), oldest first. */
  readonly events: readonly MachineEvent[];
  /** The Chrome trace-event format: one track per device, slices for probe and remove, instants for violations. */
  toChromeTrace(): ChromeTrace;
  /** The lifecycle timeline as an SVG document. */
  toSvg(): string;
}

/** Builds the `Trace` face of an event list. */
export function traceOf(events: () => readonly MachineEvent[]): Trace {
  return Object.freeze({
    get events() {
      return events();
    },
    toChromeTrace: () => toChromeTrace(events()),
    toSvg: () => renderTimeline(events()).svg,
  });
}

const PID = 1;

/** Converts events to the Chrome trace-event format. */
export function toChromeTrace(events: readonly MachineEvent[]): ChromeTrace {
  const tids = new Map<string, number>();
  const out: ChromeTraceEvent[] = [{ name: "process_name", ph: "M", ts: 0, pid: PID, tid: 0, args: { name: "boundscope machine" } }];
  const tid = (device: string | undefined): number => {
    if (device === undefined) return 0;
    let id = tids.get(device);
    if (id === undefined) {
      id = tids.size + 1;
      tids.set(device, id);
      out.push({ name: "thread_name", ph: "M", ts: 0, pid: PID, tid: id, args: { name: device } });
    }
    return id;
  };
  for (const e of events) {
    const ts = e.time / 1000;
    const base = { ts, pid: PID, tid: tid(e.device) };
    const args = argsOf(e);
    switch (e.kind) {
      case "probe-start":
        out.push({ ...base, name: `probe ${e.driver ?? ""}`.trim(), ph: "B", cat: "driver", args });
        break;
      case "probe-end":
      case "probe-failed":
        out.push({ ...base, name: `probe ${e.driver ?? ""}`.trim(), ph: "E", cat: "driver", args });
        break;
      case "remove-start":
        out.push({ ...base, name: `remove ${e.driver ?? ""}`.trim(), ph: "B", cat: "driver", args });
        break;
      case "remove-end":
        out.push({ ...base, name: `remove ${e.driver ?? ""}`.trim(), ph: "E", cat: "driver", args });
        break;
      case "violation":
        out.push({ ...base, name: `violation: ${e.violation ?? ""}`, ph: "i", s: "t", cat: "violation", args });
        break;
      default:
        out.push({ ...base, name: e.kind, ph: "i", s: "t", cat: e.kind, args });
    }
  }
  return { traceEvents: out, displayTimeUnit: "ns" };
}

function argsOf(e: MachineEvent): Record<string, string | number> {
  const args: Record<string, string | number> = { seq: e.seq, wall_ms: Number(e.wall.toFixed(3)) };
  if (e.driver !== undefined) args["driver"] = e.driver;
  if (e.detail !== undefined) args["detail"] = e.detail;
  if (e.address !== undefined) args["address"] = `0x${e.address.toString(16)}`;
  if (e.size !== undefined) args["size"] = e.size;
  return args;
}

/** Lane colours by state; also the legend. */
export const STATE_COLOURS: Readonly<Record<DeviceState, string>> = {
  "no-driver": "#9e9e9e",
  probing: "#f5a623",
  bound: "#2e9d4f",
  unbinding: "#3b7dd8",
  zombie: "#6a3d9a",
};
export const ALLOCATION_COLOUR = "#26a6b4";
export const VIOLATION_COLOUR = "#e53935";

/** Where the timeline drew things, for tests that look at the picture. */
export interface TimelineLayout {
  readonly width: number;
  readonly height: number;
  /** Per device: its lane's vertical band and its state segments. */
  readonly lanes: readonly {
    readonly device: string;
    readonly y: number;
    readonly height: number;
    readonly segments: readonly { readonly state: DeviceState; readonly x0: number; readonly x1: number }[];
  }[];
  /** Allocation bars. */
  readonly allocations: readonly { readonly device: string; readonly x0: number; readonly x1: number; readonly y: number; readonly height: number }[];
  /** Violation marks: their centres. */
  readonly violations: readonly { readonly device: string; readonly x: number; readonly y: number; readonly message: string }[];
}

const STEP = 16;
const LEFT = 150;
const TOP = 46;
const LANE = 26;
const BAR = 6;
const GAP = 12;
const MAX_STEPS = 1500;

/** One device's lane, as the events build it up. */
interface LaneBuild {
  device: string;
  state: DeviceState;
  since: number;
  segments: { state: DeviceState; x0: number; x1: number }[];
  open: Map<string, { x0: number; row: number; title: string }>;
  rows: number[];
  bars: { x0: number; x1: number; row: number; title: string }[];
  marks: { x: number; message: string }[];
}

/**
 * The lanes the events make, from their fields: a state segment per `to`, an
 * allocation bar per `alloc`/`free` pair of an `address`, a mark per
 * `violation`. `end` is the x where every open segment and bar stops.
 */
function lanesOf(events: readonly MachineEvent[]): { lanes: Map<string, LaneBuild>; end: number } {
  // DMA, IRQs and the like would drown the lifecycle; they are in the Chrome trace.
  const shown = events.filter((e) => e.device !== undefined && ["plug", "state", "alloc", "free", "violation", "unplug"].includes(e.kind));
  const steps = Math.min(shown.length, MAX_STEPS);
  const stride = shown.length > MAX_STEPS ? shown.length / MAX_STEPS : 1;
  const xOf = (index: number): number => LEFT + Math.floor(index / stride) * STEP;
  const end = LEFT + (steps + 1) * STEP;
  const lanes = new Map<string, LaneBuild>();
  shown.forEach((e, index) => {
    const device = e.device!;
    const x = xOf(index);
    let lane = lanes.get(device);
    if (lane === undefined) {
      lane = { device, state: "no-driver", since: x, segments: [], open: new Map(), rows: [], bars: [], marks: [] };
      lanes.set(device, lane);
    }
    if (e.kind === "state" && e.to !== undefined) {
      lane.segments.push({ state: lane.state, x0: lane.since, x1: x });
      lane.state = e.to;
      lane.since = x;
    } else if (e.kind === "alloc" && e.address !== undefined) {
      let row = lane.rows.findIndex((busyUntil) => busyUntil < x);
      if (row < 0) row = lane.rows.push(0) - 1;
      lane.rows[row] = Number.POSITIVE_INFINITY;
      lane.open.set(e.address.toString(), { x0: x, row, title: `${e.size ?? "?"} bytes at 0x${e.address.toString(16)}, allocated at t=${e.time} ns` });
    } else if (e.kind === "free" && e.address !== undefined) {
      const open = lane.open.get(e.address.toString());
      if (open !== undefined) {
        lane.open.delete(e.address.toString());
        lane.rows[open.row] = x;
        lane.bars.push({ x0: open.x0, x1: x, row: open.row, title: `${open.title}, freed at t=${e.time} ns` });
      }
    } else if (e.kind === "violation") {
      // The mark's hover text is the violation's message, for people.
      lane.marks.push({ x, message: e.detail ?? "violation" });
    }
  });
  return { lanes, end };
}

/** Draws the lifecycle timeline and says where everything is. */
export function renderTimeline(events: readonly MachineEvent[]): { svg: string; layout: TimelineLayout } {
  const { lanes, end } = lanesOf(events);

  const layoutLanes: TimelineLayout["lanes"][number][] = [];
  const allocations: TimelineLayout["allocations"][number][] = [];
  const violations: TimelineLayout["violations"][number][] = [];
  const parts: string[] = [];
  let y = TOP;
  for (const lane of lanes.values()) {
    lane.segments.push({ state: lane.state, x0: lane.since, x1: end });
    for (const open of lane.open.values()) lane.bars.push({ x0: open.x0, x1: end, row: open.row, title: `${open.title}, still allocated` });
    const segments = lane.segments.filter((s) => s.x1 > s.x0);
    parts.push(`<text x="8" y="${y + LANE / 2 + 4}" font-family="sans-serif" font-size="12" fill="#222">${escape(lane.device)}</text>`);
    for (const s of segments) {
      parts.push(`<rect x="${s.x0}" y="${y}" width="${s.x1 - s.x0}" height="${LANE}" fill="${STATE_COLOURS[s.state]}"><title>${s.state}</title></rect>`);
    }
    layoutLanes.push({ device: lane.device, y, height: LANE, segments });
    const barTop = y + LANE + 3;
    for (const bar of lane.bars) {
      const by = barTop + bar.row * (BAR + 2);
      const width = Math.max(bar.x1 - bar.x0, 2);
      parts.push(`<rect x="${bar.x0}" y="${by}" width="${width}" height="${BAR}" fill="${ALLOCATION_COLOUR}"><title>${escape(bar.title)}</title></rect>`);
      allocations.push({ device: lane.device, x0: bar.x0, x1: bar.x0 + width, y: by, height: BAR });
    }
    for (const mark of lane.marks) {
      const cy = y + LANE / 2;
      const cx = mark.x + STEP / 2;
      parts.push(
        `<g><title>${escape(mark.message)}</title><circle cx="${cx}" cy="${cy}" r="7" fill="${VIOLATION_COLOUR}" stroke="#fff" stroke-width="1.5"/></g>`,
      );
      violations.push({ device: lane.device, x: cx, y: cy, message: mark.message });
    }
    y = barTop + Math.max(lane.rows.length, 1) * (BAR + 2) + GAP;
  }

  const width = end + 20;
  const height = y + 10;
  const legend = (Object.entries(STATE_COLOURS) as [DeviceState, string][])
    .map(([state, colour], i) => `<rect x="${LEFT + i * 110}" y="12" width="12" height="12" fill="${colour}"/><text x="${LEFT + i * 110 + 16}" y="22" font-family="sans-serif" font-size="11" fill="#222">${state}</text>`)
    .concat(
      `<rect x="${LEFT + 5 * 110}" y="15" width="16" height="${BAR}" fill="${ALLOCATION_COLOUR}"/><text x="${LEFT + 5 * 110 + 20}" y="22" font-family="sans-serif" font-size="11" fill="#222">allocation</text>`,
      `<circle cx="${LEFT + 6 * 110 + 6}" cy="18" r="6" fill="${VIOLATION_COLOUR}"/><text x="${LEFT + 6 * 110 + 16}" y="22" font-family="sans-serif" font-size="11" fill="#222">violation</text>`,
    )
    .join("");
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="22" font-family="sans-serif" font-size="12" font-weight="bold" fill="#222">boundscope</text>`,
    legend,
    ...parts,
    `<text x="${LEFT}" y="${height - 2}" font-family="sans-serif" font-size="10" fill="#666">event order →</text>`,
    `</svg>`,
  ].join("\n");
  return { svg, layout: { width, height, lanes: layoutLanes, allocations, violations } };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
