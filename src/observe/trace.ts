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
 * Both views show the device tree and the device links: a child's lane (a
 * device plugged under a bridge, an auxiliary device) sits right under its
 * parent's, indented; a link is an arrow from the consumer's lane to its
 * supplier's where it was made (a flow event in the Chrome trace).
 *
 * # Invariants
 * - Both views read the events' structured fields (`to`, `violation`,
 *   `address`, `parent`, `supplier`), never their `detail` text.
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
  /** Phase: `B`/`E` begin and end a slice, `i` an instant, `M` metadata, `s`/`f` a flow (a device link: supplier to consumer). */
  readonly ph: "B" | "E" | "i" | "M" | "s" | "f";
  /** Time in µs (virtual time). */
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly s?: "t" | "p" | "g";
  /** A flow's id: its `s` and `f` share it. */
  readonly id?: number;
  /** A flow's end binds to the enclosing slice (`e`). */
  readonly bp?: "e";
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
  /** The Chrome trace-event format: one track per device (children sorted under their parents), slices for probe and remove, instants for violations, flows for device links. */
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
  const tree = treeOf(events);
  const tid = (device: string | undefined): number => {
    if (device === undefined) return 0;
    let id = tids.get(device);
    if (id === undefined) {
      id = tids.size + 1;
      tids.set(device, id);
      const depth = tree.depth.get(device) ?? 0;
      const parent = tree.parent.get(device);
      // Indented under its parent, and sorted there: the tree reads top to bottom.
      out.push({ name: "thread_name", ph: "M", ts: 0, pid: PID, tid: id, args: { name: `${"  ".repeat(depth)}${device}${parent === undefined ? "" : ` (under ${parent})`}` } });
      out.push({ name: "thread_sort_index", ph: "M", ts: 0, pid: PID, tid: id, args: { sort_index: tree.order.indexOf(device) } });
    }
    return id;
  };
  let flows = 0;
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
      case "link-add":
        out.push({ ...base, name: `link to ${e.supplier ?? "?"}`, ph: "i", s: "t", cat: "link", args });
        if (e.supplier !== undefined) {
          const id = ++flows;
          // A flow from the supplier's track to the consumer's: what depends on what.
          out.push({ ts, pid: PID, tid: tid(e.supplier), name: "device link", ph: "s", cat: "link", id });
          out.push({ ...base, name: "device link", ph: "f", bp: "e", cat: "link", id });
        }
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
  if (e.parent !== undefined) args["parent"] = e.parent;
  if (e.supplier !== undefined) args["supplier"] = e.supplier;
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

export const LINK_COLOUR = "#8e5ec8";

/**
 * The device tree as the events tell it (`plug`, `rescan` and `aux-add`
 * name a parent): each device's parent and depth, and the order that puts
 * every child right under its parent, oldest first.
 */
function treeOf(events: readonly MachineEvent[]): { parent: Map<string, string>; depth: Map<string, number>; order: string[] } {
  const parent = new Map<string, string>();
  const seen: string[] = [];
  for (const e of events) {
    if (e.device === undefined) continue;
    if (!seen.includes(e.device)) seen.push(e.device);
    if ((e.kind === "plug" || e.kind === "rescan" || e.kind === "aux-add") && e.parent !== undefined && e.parent !== e.device) parent.set(e.device, e.parent);
  }
  const depth = new Map<string, number>();
  const order: string[] = [];
  const children = new Map<string, string[]>();
  for (const device of seen) {
    const up = parent.get(device);
    if (up !== undefined && seen.includes(up)) children.set(up, [...(children.get(up) ?? []), device]);
  }
  const visit = (device: string, level: number): void => {
    if (depth.has(device)) return;
    depth.set(device, level);
    order.push(device);
    for (const child of children.get(device) ?? []) visit(child, level + 1);
  };
  for (const device of seen) {
    const up = parent.get(device);
    if (up === undefined || !seen.includes(up)) visit(device, 0);
  }
  // A cycle of names (a name reused under its own old child) still gets a lane.
  for (const device of seen) visit(device, 0);
  return { parent, depth, order };
}

/** Where the timeline drew things, for tests that look at the picture. */
export interface TimelineLayout {
  readonly width: number;
  readonly height: number;
  /** Per device, parents before their children: its lane's vertical band and its state segments. */
  readonly lanes: readonly {
    readonly device: string;
    /** The device it sits under, if any (a bridge; an auxiliary device's PCI device). */
    readonly parent: string | undefined;
    /** How deep in the tree: 0 for a root. */
    readonly depth: number;
    readonly y: number;
    readonly height: number;
    readonly segments: readonly { readonly state: DeviceState; readonly x0: number; readonly x1: number }[];
  }[];
  /** Allocation bars. */
  readonly allocations: readonly { readonly device: string; readonly x0: number; readonly x1: number; readonly y: number; readonly height: number }[];
  /** Violation marks: their centres. */
  readonly violations: readonly { readonly device: string; readonly x: number; readonly y: number; readonly message: string }[];
  /** Device links, where each was made: an arrow at `x` from the consumer's lane (`y0`) to the supplier's (`y1`). */
  readonly links: readonly { readonly consumer: string; readonly supplier: string; readonly x: number; readonly y0: number; readonly y1: number; readonly removedAt: number | undefined }[];
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
  /** Links this device consumes, by supplier: where made, and where dropped. */
  links: { supplier: string; x: number; removedAt: number | undefined }[];
}

/**
 * The lanes the events make, from their fields: a state segment per `to`, an
 * allocation bar per `alloc`/`free` pair of an `address`, a mark per
 * `violation`. `end` is the x where every open segment and bar stops.
 */
function lanesOf(events: readonly MachineEvent[]): { lanes: Map<string, LaneBuild>; end: number } {
  // DMA, IRQs and the like would drown the lifecycle; they are in the Chrome trace.
  const shown = events.filter((e) => e.device !== undefined && ["plug", "state", "alloc", "free", "violation", "unplug", "aux-add", "rescan", "link-add", "link-remove"].includes(e.kind));
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
      lane = { device, state: "no-driver", since: x, segments: [], open: new Map(), rows: [], bars: [], marks: [], links: [] };
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
    } else if (e.kind === "link-add" && e.supplier !== undefined) {
      lane.links.push({ supplier: e.supplier, x, removedAt: undefined });
    } else if (e.kind === "link-remove" && e.supplier !== undefined) {
      const link = lane.links.find((l) => l.supplier === e.supplier && l.removedAt === undefined);
      if (link !== undefined) link.removedAt = x;
    }
  });
  return { lanes, end };
}

/** Draws the lifecycle timeline and says where everything is. */
export function renderTimeline(events: readonly MachineEvent[]): { svg: string; layout: TimelineLayout } {
  const { lanes: byDevice, end } = lanesOf(events);
  const tree = treeOf(events);
  // Parents before their children, each child right under its parent.
  const lanes = tree.order.map((device) => byDevice.get(device)).filter((lane): lane is LaneBuild => lane !== undefined);

  const layoutLanes: TimelineLayout["lanes"][number][] = [];
  const allocations: TimelineLayout["allocations"][number][] = [];
  const violations: TimelineLayout["violations"][number][] = [];
  const links: TimelineLayout["links"][number][] = [];
  const laneY = new Map<string, number>();
  const parts: string[] = [];
  let y = TOP;
  for (const lane of lanes.values()) {
    lane.segments.push({ state: lane.state, x0: lane.since, x1: end });
    for (const open of lane.open.values()) lane.bars.push({ x0: open.x0, x1: end, row: open.row, title: `${open.title}, still allocated` });
    const segments = lane.segments.filter((s) => s.x1 > s.x0);
    const depth = tree.depth.get(lane.device) ?? 0;
    const parent = tree.parent.get(lane.device);
    laneY.set(lane.device, y);
    // A child is indented under its parent, with a corner that joins them.
    const label = depth === 0 ? escape(lane.device) : `└ ${escape(lane.device)}`;
    parts.push(`<text x="${8 + (depth - (depth > 0 ? 1 : 0)) * 12}" y="${y + LANE / 2 + 4}" font-family="sans-serif" font-size="12" fill="#222">${label}${parent === undefined ? "" : `<title>under ${escape(parent)}</title>`}</text>`);
    for (const s of segments) {
      parts.push(`<rect x="${s.x0}" y="${y}" width="${s.x1 - s.x0}" height="${LANE}" fill="${STATE_COLOURS[s.state]}"><title>${s.state}</title></rect>`);
    }
    layoutLanes.push({ device: lane.device, parent, depth, y, height: LANE, segments });
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

  // Links last, over the lanes: a dashed arrow from the consumer down (or up) to its supplier.
  for (const lane of lanes) {
    for (const link of lane.links) {
      const from = laneY.get(lane.device);
      const to = laneY.get(link.supplier);
      if (from === undefined || to === undefined) continue;
      const x = link.x + STEP / 2;
      const y0 = from + LANE / 2;
      const y1 = to + (to > from ? 2 : LANE - 2);
      const title = `${lane.device} consumes from ${link.supplier}${link.removedAt === undefined ? "" : " (link dropped later)"}`;
      parts.push(
        `<g><title>${escape(title)}</title><line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="${LINK_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/><path d="M ${x - 4} ${y1 + (to > from ? -6 : 6)} L ${x} ${y1} L ${x + 4} ${y1 + (to > from ? -6 : 6)}" fill="none" stroke="${LINK_COLOUR}" stroke-width="2"/></g>`,
      );
      links.push({ consumer: lane.device, supplier: link.supplier, x, y0, y1, removedAt: link.removedAt });
    }
  }

  const width = end + 20;
  const height = y + 10;
  const legend = (Object.entries(STATE_COLOURS) as [DeviceState, string][])
    .map(([state, colour], i) => `<rect x="${LEFT + i * 110}" y="12" width="12" height="12" fill="${colour}"/><text x="${LEFT + i * 110 + 16}" y="22" font-family="sans-serif" font-size="11" fill="#222">${state}</text>`)
    .concat(
      `<rect x="${LEFT + 5 * 110}" y="15" width="16" height="${BAR}" fill="${ALLOCATION_COLOUR}"/><text x="${LEFT + 5 * 110 + 20}" y="22" font-family="sans-serif" font-size="11" fill="#222">allocation</text>`,
      `<circle cx="${LEFT + 6 * 110 + 6}" cy="18" r="6" fill="${VIOLATION_COLOUR}"/><text x="${LEFT + 6 * 110 + 16}" y="22" font-family="sans-serif" font-size="11" fill="#222">violation</text>`,
      `<line x1="${LEFT + 7 * 110}" y1="18" x2="${LEFT + 7 * 110 + 16}" y2="18" stroke="${LINK_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/><text x="${LEFT + 7 * 110 + 20}" y="22" font-family="sans-serif" font-size="11" fill="#222">device link</text>`,
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
  return { svg, layout: { width, height, lanes: layoutLanes, allocations, violations, links } };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
