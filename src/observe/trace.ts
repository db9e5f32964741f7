/**
 * What happened, as a picture: the machine's events exported to the Chrome
 * trace-event format (Perfetto, `chrome://tracing`) and drawn as a lifecycle
 * timeline in SVG.
 *
 * The timeline has two x axes. By default it is event order, not time: a
 * driver's whole probe can happen at one virtual instant, and the picture
 * must still show it; each step is labelled with its virtual time on hover.
 * With `{ axis: "time" }` it is virtual time, with a labelled axis (ticks of
 * 1, 2 or 5 times a power of ten ns, in ns, µs, ms or s): how long things
 * took, and when the traffic ran. Things at one instant are then offset,
 * never hidden: a state that lasted no time is a 3 px sliver before the
 * next, and violations at one instant are drawn side by side.
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
 * - The Chrome trace loads in Perfetto as well as `chrome://tracing`: `ts` is
 *   virtual time in µs (the format's unit; `displayTimeUnit: "ns"` only asks a
 *   viewer to show ns), every `B` has its `E` on the same track or is still
 *   running at the end, no `E` is without its `B`, and each flow starts and
 *   ends inside a slice (Perfetto drops a flow with no enclosing slice).
 * - In the time view, x never decreases as time increases.
 *
 * @module
 */

import type { DeviceState } from "../driver/device.js";
import { describe, fail } from "../internal/error.js";
import { duration } from "./dma-debug.js";
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
  /** The lifecycle timeline as an SVG document: in event order, or with `{ axis: "time" }` in virtual time with an axis. */
  toSvg(options?: TimelineOptions): string;
}

/**
 * A line drawn across the timeline right after the event numbered
 * `afterSeq` (`MachineEvent.seq`), labelled `text`: an injected unplug, a
 * phase of a test. `boundscope/testing`'s story marks have the same shape.
 *
 * @example
 * ```ts
 * const unplugged: TimelineMark = { afterSeq: 14, text: "unplug injected" };
 * const svg = machine.trace.toSvg({ axis: "time", marks: [unplugged] });
 * ```
 */
export interface TimelineMark {
  readonly afterSeq: number;
  readonly text: string;
}

/**
 * How `machine.trace.toSvg()` draws.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * const options: TimelineOptions = { axis: "time", width: 1600 };
 * writeFileSync("timeline.svg", machine.trace.toSvg(options));
 * ```
 */
export interface TimelineOptions {
  /**
   * `"order"` (the default): one step per lifecycle event, so a probe that
   * takes no virtual time is still seen. `"time"`: virtual time, with a
   * labelled axis; things at one instant are offset side by side.
   */
  readonly axis?: "order" | "time";
  /** `"time"` only: the width of the plot in px, 200 to 20,000. Default 1,000. */
  readonly width?: number;
  /** Lines across the lanes, each right after the event it names. */
  readonly marks?: readonly TimelineMark[];
}

/** Builds the `Trace` face of an event list. */
export function traceOf(events: () => readonly MachineEvent[]): Trace {
  return Object.freeze({
    get events() {
      return events();
    },
    toChromeTrace: () => toChromeTrace(events()),
    toSvg: (options?: TimelineOptions) => renderTimeline(events(), options).svg,
  });
}

const PID = 1;

/** Converts events to the Chrome trace-event format. */
export function toChromeTrace(events: readonly MachineEvent[]): ChromeTrace {
  const out: ChromeTraceEvent[] = [{ name: "process_name", ph: "M", ts: 0, pid: PID, tid: 0, args: { name: "boundscope machine" } }];
  const tree = treeOf(events);
  // Track ids in tree order: a viewer that ignores thread_sort_index (Perfetto) sorts tracks by id.
  const tids = new Map(tree.order.map((device, index) => [device, index + 1]));
  const named = new Set<string>();
  const tid = (device: string): number => {
    let id = tids.get(device);
    // A supplier named only by a link (its own events fell off the bounded log) gets a track after the rest.
    if (id === undefined) tids.set(device, (id = tids.size + 1));
    if (!named.has(device)) {
      named.add(device);
      const depth = tree.depth.get(device) ?? 0;
      const parent = tree.parent.get(device);
      // Indented under its parent, and sorted there: the tree reads top to bottom.
      out.push({ name: "thread_name", ph: "M", ts: 0, pid: PID, tid: id, args: { name: `${"  ".repeat(depth)}${device}${parent === undefined ? "" : ` (under ${parent})`}` } });
      out.push({ name: "thread_sort_index", ph: "M", ts: 0, pid: PID, tid: id, args: { sort_index: id - 1 } });
    }
    return id;
  };
  // Open slices per track, by name: an `E` whose `B` fell off the bounded event log is left out.
  const open = new Map<number, string[]>();
  const begin = (event: ChromeTraceEvent): void => {
    open.set(event.tid, [...(open.get(event.tid) ?? []), event.name]);
    out.push(event);
  };
  const end = (event: ChromeTraceEvent): void => {
    const names = open.get(event.tid) ?? [];
    const at = names.lastIndexOf(event.name);
    if (at < 0) return;
    names.splice(at, 1);
    out.push(event);
  };
  let flows = 0;
  for (const e of events) {
    // The format's unit is the µs; virtual time is in ns.
    const ts = e.time / 1000;
    const args = argsOf(e);
    if (e.device === undefined) {
      // Machine-wide (a driver registered): an instant on the process's own track.
      out.push({ ts, pid: PID, tid: 0, name: e.driver === undefined ? e.kind : `${e.kind} ${e.driver}`, ph: "i", s: "p", cat: e.kind, args });
      continue;
    }
    const base = { ts, pid: PID, tid: tid(e.device) };
    switch (e.kind) {
      case "probe-start":
        begin({ ...base, name: `probe ${e.driver ?? ""}`.trim(), ph: "B", cat: "driver", args });
        break;
      case "probe-end":
      case "probe-failed":
        end({ ...base, name: `probe ${e.driver ?? ""}`.trim(), ph: "E", cat: "driver", args });
        break;
      case "remove-start":
        begin({ ...base, name: `remove ${e.driver ?? ""}`.trim(), ph: "B", cat: "driver", args });
        break;
      case "remove-end":
        end({ ...base, name: `remove ${e.driver ?? ""}`.trim(), ph: "E", cat: "driver", args });
        break;
      case "violation":
        out.push({ ...base, name: `violation: ${e.violation ?? ""}`, ph: "i", s: "t", cat: "violation", args });
        break;
      case "link-add": {
        const name = `link to ${e.supplier ?? "?"}`;
        if (e.supplier === undefined) {
          out.push({ ...base, name, ph: "i", s: "t", cat: "link", args });
          break;
        }
        // A flow from the supplier's track to the consumer's: what depends on
        // what. Each end sits in a slice of no length, as Perfetto binds a flow
        // only to a slice open where it starts and ends.
        const id = ++flows;
        const supplier = { ts, pid: PID, tid: tid(e.supplier), cat: "link" };
        out.push({ ...supplier, name: `supplies ${e.device}`, ph: "B" }, { ...supplier, name: "device link", ph: "s", id }, { ...supplier, name: `supplies ${e.device}`, ph: "E" });
        out.push({ ...base, name, ph: "B", cat: "link", args }, { ...base, name: "device link", ph: "f", bp: "e", cat: "link", id }, { ...base, name, ph: "E", cat: "link" });
        break;
      }
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
  /** Violation marks: their centres, and the virtual time of each. */
  readonly violations: readonly { readonly device: string; readonly x: number; readonly y: number; readonly message: string; readonly time: number }[];
  /** Device links, where each was made: an arrow at `x` from the consumer's lane (`y0`) to the supplier's (`y1`). */
  readonly links: readonly { readonly consumer: string; readonly supplier: string; readonly x: number; readonly y0: number; readonly y1: number; readonly removedAt: number | undefined }[];
  /** The lines of `TimelineOptions.marks` that could be placed (their event is in the log). */
  readonly marks: readonly { readonly afterSeq: number; readonly text: string; readonly x: number }[];
  /** The time axis: each tick's virtual time, x and label; `undefined` in event order. */
  readonly axis: { readonly y: number; readonly ticks: readonly { readonly time: number; readonly x: number; readonly label: string }[] } | undefined;
}

const STEP = 16;
const LEFT = 150;
const TOP = 46;
const LANE = 26;
const BAR = 6;
const GAP = 12;
const MAX_STEPS = 1500;
/** Time axis: the plot's default width, and how far apart ticks are at least, px. */
const TIME_WIDTH = 1000;
const TICK_SPACING = 90;
/** Time axis: how wide a state that lasted no time is drawn, px. */
const SLIVER = 3;
const MARK_RADIUS = 7;
const MARK_COLOUR = "#333333";

/** One device's lane, as the events build it up. */
interface LaneBuild {
  device: string;
  state: DeviceState;
  since: number;
  segments: { state: DeviceState; x0: number; x1: number }[];
  open: Map<string, { x0: number; row: number; title: string }>;
  rows: number[];
  bars: { x0: number; x1: number; row: number; title: string }[];
  marks: { x: number; message: string; time: number }[];
  /** Links this device consumes, by supplier: where made, and where dropped. */
  links: { supplier: string; x: number; removedAt: number | undefined }[];
}

/**
 * Where events go on the x axis. `x` is where the event at `index` of the
 * shown ones is; `point` turns it into where a mark of it is centred (the
 * middle of its step in event order; the instant itself in time); `end` is
 * where every open segment and bar stops; `offsets` says whether things at
 * one x are spread out (time) or already apart (order).
 */
interface Placement {
  readonly x: (event: MachineEvent, index: number) => number;
  readonly point: (x: number) => number;
  readonly end: number;
  readonly offsets: boolean;
}

/** Which events the timeline draws: DMA, IRQs and the like would drown the lifecycle; they are in the Chrome trace. */
const SHOWN = new Set<string>(["plug", "state", "alloc", "free", "violation", "unplug", "aux-add", "rescan", "link-add", "link-remove"]);

/**
 * The lanes the events make, from their fields: a state segment per `to`, an
 * allocation bar per `alloc`/`free` pair of an `address`, a mark per
 * `violation`.
 */
function lanesOf(shown: readonly MachineEvent[], place: Placement): Map<string, LaneBuild> {
  const lanes = new Map<string, LaneBuild>();
  shown.forEach((e, index) => {
    // Safe: only events with a device are shown.
    const device = e.device!;
    const x = place.x(e, index);
    let lane = lanes.get(device);
    if (lane === undefined) {
      lane = { device, state: "no-driver", since: x, segments: [], open: new Map(), rows: [], bars: [], marks: [], links: [] };
      lanes.set(device, lane);
    }
    if (e.kind === "state" && e.to !== undefined) {
      // In time, a state that lasted no time is still a sliver: each change is at least SLIVER past the last.
      const at = place.offsets ? Math.max(x, lane.since + SLIVER) : x;
      lane.segments.push({ state: lane.state, x0: lane.since, x1: at });
      lane.state = e.to;
      lane.since = at;
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
      // The mark's hover text is the violation's message, for people. In
      // time, violations at one instant sit side by side, not on each other.
      const last = lane.marks.at(-1);
      const at = place.point(x);
      const cx = place.offsets && last !== undefined ? Math.max(at, last.x + 2 * MARK_RADIUS + 2) : at;
      lane.marks.push({ x: cx, message: e.detail ?? "violation", time: e.time });
    } else if (e.kind === "link-add" && e.supplier !== undefined) {
      lane.links.push({ supplier: e.supplier, x, removedAt: undefined });
    } else if (e.kind === "link-remove" && e.supplier !== undefined) {
      const link = lane.links.find((l) => l.supplier === e.supplier && l.removedAt === undefined);
      if (link !== undefined) link.removedAt = x;
    }
  });
  return lanes;
}

/** Event order: one step of STEP px per shown event, strided down to MAX_STEPS. */
function orderPlacement(shown: readonly MachineEvent[]): Placement & { readonly after: (seq: number) => number } {
  const steps = Math.min(shown.length, MAX_STEPS);
  const stride = shown.length > MAX_STEPS ? shown.length / MAX_STEPS : 1;
  const at = (index: number): number => LEFT + Math.floor(index / stride) * STEP;
  return {
    x: (_e, index) => at(index),
    point: (x) => x + STEP / 2,
    end: LEFT + (steps + 1) * STEP,
    offsets: false,
    // The boundary after the last shown event at or before `seq`.
    after: (seq) => at(shown.filter((e) => e.seq <= seq).length),
  };
}

/** Virtual time: linear from the first event's time to the last's, over `width` px. */
function timePlacement(events: readonly MachineEvent[], width: number): Placement & { readonly at: (time: number) => number; readonly t0: number; readonly t1: number } {
  const t0 = events[0]?.time ?? 0;
  const last = events.at(-1)?.time ?? t0;
  // All at one instant: an axis of 1 µs, so the ticks still say when.
  const t1 = last > t0 ? last : t0 + 1000;
  const at = (time: number): number => LEFT + ((time - t0) / (t1 - t0)) * width;
  return { x: (e) => at(e.time), point: (x) => x, end: LEFT + width, offsets: true, at, t0, t1 };
}

/**
 * Ticks for `[t0, t1]` ns over `width` px: a step of 1, 2 or 5 times a power
 * of ten ns, the smallest that keeps ticks TICK_SPACING px apart; each tick
 * at a multiple of the step, labelled in the unit that suits it.
 */
export function timeTicks(t0: number, t1: number, width: number): { time: number; label: string }[] {
  const span = Math.max(t1 - t0, 1);
  const wanted = Math.max(1, Math.floor(width / TICK_SPACING));
  const raw = span / wanted;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power);
  const ticks: { time: number; label: string }[] = [];
  for (let time = Math.ceil(t0 / step) * step; time <= t1; time += step) {
    ticks.push({ time, label: time === 0 ? "0" : duration(time) });
  }
  return ticks;
}

/** Draws the lifecycle timeline and says where everything is. */
export function renderTimeline(events: readonly MachineEvent[], options: TimelineOptions = {}): { svg: string; layout: TimelineLayout } {
  // Covers options from JavaScript, or cast: the types say which values are allowed.
  if (typeof options !== "object" || options === null) throw fail("EINVAL", `trace.toSvg: options must be an object, got ${describe(options)}.`);
  const { axis = "order", width: plotWidth = TIME_WIDTH, marks: wantedMarks = [] } = options;
  if (axis !== "order" && axis !== "time") throw fail("EINVAL", `trace.toSvg: axis must be "order" or "time", got ${describe(axis)}.`);
  if (typeof plotWidth !== "number" || !Number.isFinite(plotWidth) || plotWidth < 200 || plotWidth > 20_000) {
    throw fail("EINVAL", `trace.toSvg: width must be a number of px from 200 to 20,000, got ${describe(plotWidth)}.`);
  }
  if (!Array.isArray(wantedMarks) || wantedMarks.some((m) => typeof m !== "object" || m === null || typeof m.afterSeq !== "number" || typeof m.text !== "string")) {
    throw fail("EINVAL", `trace.toSvg: marks must be an array of { afterSeq: number, text: string }, got ${describe(wantedMarks)}.`);
  }

  const shown = events.filter((e) => e.device !== undefined && SHOWN.has(e.kind));
  const order = axis === "order" ? orderPlacement(shown) : undefined;
  const time = axis === "time" ? timePlacement(events, plotWidth) : undefined;
  // Safe: exactly one of the two is made, by axis.
  const place: Placement = (order ?? time)!;
  const end = place.end;
  const byDevice = lanesOf(shown, place);
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
    lane.segments.push({ state: lane.state, x0: lane.since, x1: Math.max(end, lane.since) });
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
      parts.push(
        `<g><title>${escape(mark.message)}</title><circle cx="${mark.x}" cy="${cy}" r="${MARK_RADIUS}" fill="${VIOLATION_COLOUR}" stroke="#fff" stroke-width="1.5"/></g>`,
      );
      violations.push({ device: lane.device, x: mark.x, y: cy, message: mark.message, time: mark.time });
    }
    y = barTop + Math.max(lane.rows.length, 1) * (BAR + 2) + GAP;
  }

  // Links last, over the lanes: a dashed arrow from the consumer down (or up) to its supplier.
  for (const lane of lanes) {
    for (const link of lane.links) {
      const from = laneY.get(lane.device);
      const to = laneY.get(link.supplier);
      if (from === undefined || to === undefined) continue;
      const x = place.point(link.x);
      const y0 = from + LANE / 2;
      const y1 = to + (to > from ? 2 : LANE - 2);
      const title = `${lane.device} consumes from ${link.supplier}${link.removedAt === undefined ? "" : " (link dropped later)"}`;
      parts.push(
        `<g><title>${escape(title)}</title><line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="${LINK_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/><path d="M ${x - 4} ${y1 + (to > from ? -6 : 6)} L ${x} ${y1} L ${x + 4} ${y1 + (to > from ? -6 : 6)}" fill="none" stroke="${LINK_COLOUR}" stroke-width="2"/></g>`,
      );
      links.push({ consumer: lane.device, supplier: link.supplier, x, y0, y1, removedAt: link.removedAt });
    }
  }

  // The marks: a dashed line across every lane, right after the event each names.
  const marks: TimelineLayout["marks"][number][] = [];
  for (const mark of wantedMarks) {
    let x: number | undefined;
    if (order !== undefined) x = order.after(mark.afterSeq);
    else if (time !== undefined) {
      // The event it follows; one that fell off the bounded log cannot be placed.
      const event = events.find((e) => e.seq === mark.afterSeq);
      if (event !== undefined) x = time.at(event.time);
    }
    if (x === undefined) continue;
    marks.push({ afterSeq: mark.afterSeq, text: mark.text, x });
    parts.push(
      `<g><title>${escape(`${mark.text} (after event #${mark.afterSeq})`)}</title><line x1="${x}" y1="${TOP - 12}" x2="${x}" y2="${y}" stroke="${MARK_COLOUR}" stroke-width="1.5" stroke-dasharray="6 3"/><text x="${x + 3}" y="${TOP - 4}" font-family="sans-serif" font-size="10" fill="${MARK_COLOUR}">${escape(mark.text)}</text></g>`,
    );
  }

  // The time axis under the lanes: a tick and a label at each step, a faint line up through the lanes.
  let layoutAxis: TimelineLayout["axis"];
  const under: string[] = [];
  if (time !== undefined) {
    const axisY = y;
    const ticks = timeTicks(time.t0, time.t1, plotWidth).map((tick) => ({ ...tick, x: time.at(tick.time) }));
    under.push(`<line x1="${LEFT}" y1="${axisY}" x2="${end}" y2="${axisY}" stroke="#444" stroke-width="1"/>`);
    for (const tick of ticks) {
      // Behind the lanes: seen only in the gaps between them.
      parts.unshift(`<line x1="${tick.x}" y1="${TOP}" x2="${tick.x}" y2="${axisY}" stroke="#e6e6e6" stroke-width="1"/>`);
      under.push(`<line x1="${tick.x}" y1="${axisY}" x2="${tick.x}" y2="${axisY + 5}" stroke="#444" stroke-width="1"/><text x="${tick.x}" y="${axisY + 17}" text-anchor="middle" font-family="sans-serif" font-size="10" fill="#444">${escape(tick.label)}</text>`);
    }
    layoutAxis = { y: axisY, ticks };
    y = axisY + 22;
  }

  const width = end + 20 + (time !== undefined ? 20 : 0);
  const height = y + 10;
  const legend = (Object.entries(STATE_COLOURS) as [DeviceState, string][])
    .map(([state, colour], i) => `<rect x="${LEFT + i * 110}" y="12" width="12" height="12" fill="${colour}"/><text x="${LEFT + i * 110 + 16}" y="22" font-family="sans-serif" font-size="11" fill="#222">${state}</text>`)
    .concat(
      `<rect x="${LEFT + 5 * 110}" y="15" width="16" height="${BAR}" fill="${ALLOCATION_COLOUR}"/><text x="${LEFT + 5 * 110 + 20}" y="22" font-family="sans-serif" font-size="11" fill="#222">allocation</text>`,
      `<circle cx="${LEFT + 6 * 110 + 6}" cy="18" r="6" fill="${VIOLATION_COLOUR}"/><text x="${LEFT + 6 * 110 + 16}" y="22" font-family="sans-serif" font-size="11" fill="#222">violation</text>`,
      `<line x1="${LEFT + 7 * 110}" y1="18" x2="${LEFT + 7 * 110 + 16}" y2="18" stroke="${LINK_COLOUR}" stroke-width="2" stroke-dasharray="4 2"/><text x="${LEFT + 7 * 110 + 20}" y="22" font-family="sans-serif" font-size="11" fill="#222">device link</text>`,
    )
    .join("");
  const caption = time !== undefined ? "virtual time →" : "event order →";
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="8" y="22" font-family="sans-serif" font-size="12" font-weight="bold" fill="#222">boundscope</text>`,
    legend,
    ...parts,
    ...under,
    `<text x="${time !== undefined ? 8 : LEFT}" y="${height - 2}" font-family="sans-serif" font-size="10" fill="#666">${caption}</text>`,
    `</svg>`,
  ].join("\n");
  return { svg, layout: { width, height, lanes: layoutLanes, allocations, violations, links, marks, axis: layoutAxis } };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
