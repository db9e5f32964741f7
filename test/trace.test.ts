/**
 * The trace (src/trace.ts): every event with virtual and wall time, the
 * Chrome trace-event export, and the timeline picture, checked by looking at
 * its pixels.
 */

import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine } from "../src/index.js";
import type { ChromeTrace, ChromeTraceEvent, MachineEvent } from "../src/index.js";
import { ALLOCATION_COLOUR, LINK_COLOUR, renderTimeline, STATE_COLOURS, timeTicks, toChromeTrace, VIOLATION_COLOUR } from "../src/observe/trace.js";
import { runTimelineScenario } from "../examples/timeline.js";
import { expectCode, NIC } from "./helpers.js";

/** The scenario the demo draws: three devices, every state, eight violations. */
const scenario = await runTimelineScenario();

describe("machine.trace", () => {
  it("records every kind of event the issue names, each with virtual and wall time", () => {
    const kinds = new Set(scenario.trace.events.map((e) => e.kind));
    for (const kind of ["plug", "unplug", "state", "probe-start", "probe-end", "remove-start", "remove-end", "alloc", "free", "release", "revoke", "irq", "dma", "violation"]) {
      expect(kinds, kind).toContain(kind);
    }
    for (const e of scenario.trace.events) {
      expect(Number.isFinite(e.time)).toBe(true);
      expect(e.wall).toBeGreaterThanOrEqual(0);
    }
    const times = scenario.trace.events.map((e) => e.time);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it("alloc and free events carry the bus address and size", async () => {
    const machine = new Machine();
    let handle = 0n;
    await machine.pci.register(
      defineDriver({
        name: "a",
        ids: [NIC],
        probe(dev) {
          const buf = allocCoherent(dev, 100);
          handle = buf.dmaHandle;
          Devres.new(dev, 1);
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unplug(dev);
    const alloc = machine.trace.events.find((e) => e.kind === "alloc");
    const free = machine.trace.events.find((e) => e.kind === "free");
    expect(alloc).toMatchObject({ address: handle, size: 100, device: dev.name, driver: "a" });
    expect(free).toMatchObject({ address: handle, size: 100 });
    expect(machine.trace.events.filter((e) => e.kind === "revoke")).toHaveLength(1);
  });
});

describe("toChromeTrace", () => {
  const { traceEvents } = scenario.trace.toChromeTrace();

  it("gives each device its own named track", () => {
    const names = traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => e.args?.["name"]);
    // A child is indented under its parent and says which it is.
    expect(names).toEqual(["0000:00:04.0", "0000:00:05.0", "0000:00:06.0", "0000:00:1e.0", "  0000:00:07.0 (under 0000:00:1e.0)", "0000:00:08.0", "    accel.crypto.0 (under 0000:00:07.0)"]);
    // Tracks are sorted in tree order, each child right under its parent.
    const sort = new Map(traceEvents.filter((e) => e.ph === "M" && e.name === "thread_sort_index").map((e) => [e.tid, Number(e.args?.["sort_index"])]));
    const byTrack = traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").sort((a, b) => sort.get(a.tid)! - sort.get(b.tid)!);
    expect(byTrack.map((e) => String(e.args?.["name"]).trim().split(" ")[0])).toEqual(["0000:00:04.0", "0000:00:05.0", "0000:00:06.0", "0000:00:1e.0", "0000:00:07.0", "accel.crypto.0", "0000:00:08.0"]);
    // The device link is a flow from the supplier's track to the consumer's.
    const [start, end] = traceEvents.filter((e) => e.cat === "link" && (e.ph === "s" || e.ph === "f"));
    expect([start?.tid, end?.tid, start?.id === end?.id]).toEqual([byTrack[4]!.tid, byTrack[6]!.tid, true]);
    const tids = new Set(traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => e.tid));
    expect(tids.size).toBe(7);
  });

  it("draws probe and remove as balanced slices on the device's track", () => {
    for (const tid of new Set(traceEvents.filter((e) => e.tid > 0).map((e) => e.tid))) {
      let depth = 0;
      for (const e of traceEvents.filter((x) => x.tid === tid)) {
        if (e.ph === "B") depth++;
        if (e.ph === "E") depth--;
        expect(depth).toBeGreaterThanOrEqual(0);
      }
      expect(depth).toBe(0);
    }
    expect(traceEvents.filter((e) => e.ph === "B" && e.name.startsWith("probe")).length).toBeGreaterThanOrEqual(5);
    expect(traceEvents.filter((e) => e.ph === "B" && e.name.startsWith("remove")).length).toBeGreaterThanOrEqual(5);
  });

  it("marks each violation as an instant, and survives a JSON round trip", () => {
    const marks = traceEvents.filter((e) => e.ph === "i" && e.cat === "violation");
    expect(marks).toHaveLength(scenario.dmaDebug.violations.length);
    expect(JSON.parse(JSON.stringify({ traceEvents })).traceEvents).toHaveLength(traceEvents.length);
  });
});

describe("the timeline, rasterized", () => {
  const { svg, layout } = renderTimeline(scenario.trace.events);
  const image = new Resvg(svg, { background: "#ffffff" }).render();
  // Read once: resvg copies the whole buffer on every read of `pixels`.
  const pixels = image.pixels;
  const pixel = (x: number, y: number): string => {
    const i = (Math.round(y) * image.width + Math.round(x)) * 4;
    return `#${[pixels[i]!, pixels[i + 1]!, pixels[i + 2]!].map((c) => c.toString(16).padStart(2, "0")).join("")}`;
  };

  it("is an image of the size it says", () => {
    expect(image.width).toBe(layout.width);
    expect(image.height).toBe(layout.height);
  });

  it("shows one lane per device, each segment in its state's colour", () => {
    expect(layout.lanes.map((l) => l.device)).toEqual(["0000:00:04.0", "0000:00:05.0", "0000:00:06.0", "0000:00:1e.0", "0000:00:07.0", "accel.crypto.0", "0000:00:08.0"]);
    let sampled = 0;
    for (const lane of layout.lanes) {
      for (const segment of lane.segments) {
        if (segment.x1 - segment.x0 < 4) continue;
        // Sample off the violation marks: near the segment's left edge, at the lane's top third.
        const x = segment.x0 + 2;
        const y = lane.y + 3;
        expect(pixel(x, y), `${lane.device} ${segment.state} at ${x},${y}`).toBe(STATE_COLOURS[segment.state]);
        sampled++;
      }
    }
    expect(sampled).toBeGreaterThanOrEqual(15);
    const states = new Set(layout.lanes.flatMap((l) => l.segments.map((s) => s.state)));
    expect([...states].sort()).toEqual(["bound", "no-driver", "probing", "unbinding", "zombie"]);
  });

  it("shows allocation lifetimes as bars under the lanes", () => {
    expect(layout.allocations.length).toBeGreaterThanOrEqual(10);
    for (const bar of layout.allocations) {
      expect(pixel(bar.x0 + 1, bar.y + bar.height / 2)).toBe(ALLOCATION_COLOUR);
    }
  });

  it("indents children under their parents and draws each device link as an arrow to its supplier", () => {
    const depths = Object.fromEntries(layout.lanes.map((l) => [l.device, [l.depth, l.parent]]));
    expect(depths["0000:00:07.0"]).toEqual([1, "0000:00:1e.0"]);
    expect(depths["accel.crypto.0"]).toEqual([2, "0000:00:07.0"]);
    expect(svg).toContain("└ accel.crypto.0");
    expect(layout.links).toHaveLength(1);
    const [link] = layout.links;
    const lane = (device: string) => layout.lanes.find((l) => l.device === device)!;
    expect([link!.consumer, link!.supplier]).toEqual(["0000:00:08.0", "0000:00:07.0"]);
    expect(link!.y0).toBeGreaterThan(lane("0000:00:08.0").y);
    expect(link!.y1).toBeLessThan(lane("0000:00:07.0").y + lane("0000:00:07.0").height);
    expect(link!.removedAt).toBeDefined();
    // Dashed: some pixel of the arrow's first few is the link's colour.
    const along = [0, 1, 2, 3, 4, 5].map((d) => pixel(link!.x, Math.min(link!.y0, link!.y1) + 8 + d));
    expect(along).toContain(LINK_COLOUR);
  });

  it("marks every violation in red, with its message as the hover title", () => {
    expect(layout.violations).toHaveLength(scenario.dmaDebug.violations.length);
    for (const mark of layout.violations) {
      expect(pixel(mark.x, mark.y)).toBe(VIOLATION_COLOUR);
      expect(svg).toContain(`<title>${mark.message.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")}</title>`);
    }
    // A lane with no violation has no red on it.
    const clean = layout.lanes.find((l) => l.device === "0000:00:04.0")!;
    for (let x = clean.segments[0]!.x0; x < layout.width - 20; x += 5) expect(pixel(x, clean.y + clean.height / 2)).not.toBe(VIOLATION_COLOUR);
  });
});

/** Rasterizes an SVG once and reads its pixels as `#rrggbb`. */
function raster(svg: string): { width: number; height: number; pixel: (x: number, y: number) => string } {
  const image = new Resvg(svg, { background: "#ffffff" }).render();
  const pixels = image.pixels;
  return {
    width: image.width,
    height: image.height,
    pixel: (x, y) => {
      const i = (Math.round(y) * image.width + Math.round(x)) * 4;
      return `#${[pixels[i]!, pixels[i + 1]!, pixels[i + 2]!].map((c) => c.toString(16).padStart(2, "0")).join("")}`;
    },
  };
}

/** A device probed at t=0 (one coherent buffer), bound for 50 µs, then unbound: devres releases its buffer, and the last step takes 1 µs. */
async function fiftyMicroseconds(): Promise<Machine> {
  const machine = new Machine();
  await machine.pci.register(defineDriver({ name: "timed", ids: [NIC], probe: (dev) => (allocCoherent(dev, 4096), {}) }));
  const dev = machine.pci.plug(NIC);
  await machine.settled();
  await machine.run(50_000);
  await machine.pci.unbind(dev);
  return machine;
}

describe("the timeline in virtual time (toSvg({ axis: \"time\" }))", () => {
  it("labels its axis with round ticks at the x their time gives", async () => {
    const machine = await fiftyMicroseconds();
    const events = machine.trace.events;
    const [t0, t1] = [events[0]!.time, events.at(-1)!.time];
    expect([t0, t1]).toEqual([0, 51_000]);
    const { svg, layout } = renderTimeline(events, { axis: "time" });
    // 51 µs over 1000 px, ticks at least 90 px apart: every 5 µs.
    expect(layout.axis!.ticks.map((t) => t.label)).toEqual(["0", "5 µs", "10 µs", "15 µs", "20 µs", "25 µs", "30 µs", "35 µs", "40 µs", "45 µs", "50 µs"]);
    for (const tick of layout.axis!.ticks) expect(tick.x).toBeCloseTo(150 + (tick.time / 51_000) * 1000, 6);
    expect(svg).toContain(">25 µs</text>");
    expect(svg).toContain("virtual time →");
    // Each tick is drawn: a grey mark under the axis line at its x (anti-aliased: 1 px wide), and white just beside it.
    const picture = raster(svg);
    const grey = (colour: string) => [1, 3, 5].every((i) => parseInt(colour.slice(i, i + 2), 16) < 0xc0);
    for (const tick of layout.axis!.ticks) {
      expect(grey(picture.pixel(tick.x, layout.axis!.y + 3)), `${tick.label}: ${picture.pixel(tick.x, layout.axis!.y + 3)}`).toBe(true);
      expect(picture.pixel(tick.x + 6, layout.axis!.y + 3), tick.label).toBe("#ffffff");
    }
    // The unbind starts at 50 µs: the lane turns blue exactly there.
    const unbinding = layout.lanes[0]!.segments.find((s) => s.state === "unbinding")!;
    expect(unbinding.x0).toBeCloseTo(150 + (50_000 / 51_000) * 1000, 6);
    expect(picture.pixel(unbinding.x0 + 2, layout.lanes[0]!.y + 3)).toBe(STATE_COLOURS.unbinding);
    expect(picture.pixel(unbinding.x0 - 3, layout.lanes[0]!.y + 3)).toBe(STATE_COLOURS.bound);
  });

  it("picks a step of 1, 2 or 5 times a power of ten, in the unit that suits it", () => {
    expect(timeTicks(0, 800, 1000).map((t) => t.label).slice(0, 4)).toEqual(["0", "100 ns", "200 ns", "300 ns"]);
    expect(timeTicks(0, 3_000_000, 1000).map((t) => t.label).slice(0, 3)).toEqual(["0", "500 µs", "1 ms"]);
    expect(timeTicks(0, 20e9, 1000).map((t) => t.label).slice(0, 3)).toEqual(["0", "2 s", "4 s"]);
    expect(timeTicks(1_500, 1_510, 1000).map((t) => t.label)).toEqual(["1.5 µs", "1.501 µs", "1.502 µs", "1.503 µs", "1.504 µs", "1.505 µs", "1.506 µs", "1.507 µs", "1.508 µs", "1.509 µs", "1.51 µs"]);
  });

  it("keeps x increasing with time, and spreads what happened at one instant", () => {
    const { svg, layout } = renderTimeline(scenario.trace.events, { axis: "time" });
    const times = scenario.trace.events.map((e) => e.time);
    const at = (t: number) => 150 + ((t - times[0]!) / (times.at(-1)! - times[0]!)) * 1000;
    // Violations: in time order, x never goes back, is never before its time, and two on one lane never overlap.
    const marks = [...layout.violations].sort((a, b) => a.time - b.time);
    expect(marks.length).toBe(scenario.dmaDebug.violations.length);
    for (let i = 0; i < marks.length; i++) {
      expect(marks[i]!.x).toBeGreaterThanOrEqual(at(marks[i]!.time) - 1e-6);
      if (i > 0) expect(marks[i]!.x).toBeGreaterThanOrEqual(marks[i - 1]!.x);
      for (const other of marks.slice(0, i)) if (other.device === marks[i]!.device) expect(Math.abs(other.x - marks[i]!.x)).toBeGreaterThanOrEqual(14);
    }
    // Each lane's segments follow one another left to right.
    for (const lane of layout.lanes) {
      for (let i = 1; i < lane.segments.length; i++) expect(lane.segments[i]!.x0).toBeGreaterThanOrEqual(lane.segments[i - 1]!.x1 - 1e-6);
    }
    // A state that lasted no virtual time (probing, at one instant) is still a visible sliver of its colour.
    const picture = raster(svg);
    const probing = layout.lanes.flatMap((lane) => lane.segments.filter((s) => s.state === "probing").map((s) => ({ lane, s })));
    expect(probing.length).toBeGreaterThanOrEqual(5);
    for (const { lane, s } of probing) {
      expect(s.x1 - s.x0).toBeGreaterThanOrEqual(3);
      expect(picture.pixel(s.x0 + 1.5, lane.y + 3), `${lane.device} probing at ${s.x0}`).toBe(STATE_COLOURS.probing);
    }
  });

  it("draws marks after the event they name, in either axis, and keeps the default in event order", async () => {
    const machine = await fiftyMicroseconds();
    const unbindStart = machine.events.find((e) => e.kind === "remove-start")!;
    const marks = [{ afterSeq: unbindStart.seq, text: "unbind <injected>" }];
    const time = renderTimeline(machine.events, { axis: "time", marks });
    expect(time.layout.marks).toEqual([{ afterSeq: unbindStart.seq, text: "unbind <injected>", x: expect.closeTo(150 + (50_000 / 51_000) * 1000, 6) }]);
    expect(time.svg).toContain("unbind &lt;injected&gt;</text>");
    const order = renderTimeline(machine.events, { marks });
    const shownBefore = machine.events.filter((e) => e.seq <= unbindStart.seq && ["plug", "state", "alloc", "free", "violation", "unplug"].includes(e.kind)).length;
    expect(order.layout.marks[0]!.x).toBe(150 + shownBefore * 16);
    expect(order.layout.axis).toBeUndefined();
    expect(machine.trace.toSvg()).toBe(renderTimeline(machine.events).svg);
    expect(machine.trace.toSvg()).toContain("event order →");
    expect(machine.trace.toSvg({ axis: "time" })).toBe(renderTimeline(machine.events, { axis: "time" }).svg);
  });

  it("refuses options it cannot draw, with EINVAL", () => {
    expectCode(() => scenario.trace.toSvg({ axis: "seconds" as "time" }), "EINVAL");
    expectCode(() => scenario.trace.toSvg({ axis: "time", width: 10 }), "EINVAL");
    expectCode(() => scenario.trace.toSvg({ marks: [{ afterSeq: "3" as unknown as number, text: "x" }] }), "EINVAL");
  });
});

/**
 * What Perfetto's JSON importer needs of a trace (its trace processor's
 * json tokenizer and parser): an object with `traceEvents`; a `ts` on every
 * event but metadata; slices opened and closed on one track, each `E`
 * closing the slice opened last; a flow's `s` and `f` each inside an open
 * slice of their track, or the flow is dropped; instants scoped `t`, `p` or
 * `g`. Returns what it found wrong.
 */
function perfettoProblems(trace: ChromeTrace): string[] {
  const problems: string[] = [];
  const parsed = JSON.parse(JSON.stringify(trace)) as { traceEvents: ChromeTraceEvent[]; displayTimeUnit: string };
  if (!Array.isArray(parsed.traceEvents)) return ["no traceEvents array"];
  if (!["ns", "ms"].includes(parsed.displayTimeUnit)) problems.push(`displayTimeUnit ${parsed.displayTimeUnit}`);
  const open = new Map<number, string[]>();
  const flows = new Map<number, number>();
  let last = -Infinity;
  const named = new Set(parsed.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => e.tid));
  for (const e of parsed.traceEvents) {
    if (!Number.isInteger(e.pid) || e.pid < 0 || !Number.isInteger(e.tid) || e.tid < 0) problems.push(`bad pid/tid ${JSON.stringify(e)}`);
    if (e.ph === "M") continue;
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`bad ts ${JSON.stringify(e)}`);
    // In file order is in time order: Perfetto's sort keeps events of one instant as written.
    if (e.ts < last) problems.push(`ts goes back at ${JSON.stringify(e)}`);
    last = e.ts;
    if (e.tid > 0 && !named.has(e.tid)) problems.push(`track ${e.tid} has no thread_name`);
    const stack = open.get(e.tid) ?? [];
    open.set(e.tid, stack);
    if (e.ph === "B") stack.push(e.name);
    else if (e.ph === "E") {
      if (stack.at(-1) !== e.name) problems.push(`E "${e.name}" on track ${e.tid} closes "${stack.at(-1) ?? "nothing"}"`);
      stack.pop();
    } else if (e.ph === "i") {
      if (!["t", "p", "g"].includes(e.s ?? "t")) problems.push(`instant scope ${e.s}`);
    } else if (e.ph === "s" || e.ph === "f") {
      if (stack.length === 0) problems.push(`flow ${e.ph} ${e.id} on track ${e.tid} outside any slice`);
      if (e.ph === "s") flows.set(e.id!, (flows.get(e.id!) ?? 0) + 1);
      else if (!flows.has(e.id!)) problems.push(`flow end ${e.id} before its start`);
    } else problems.push(`phase ${e.ph}`);
  }
  return problems;
}

describe("the Chrome trace, as Perfetto imports it", () => {
  it("has nothing Perfetto's importer would drop or misread", () => {
    const trace = scenario.trace.toChromeTrace();
    expect(perfettoProblems(trace)).toEqual([]);
    // Every slice the scenario opened is closed: nothing was left running.
    expect(trace.traceEvents.filter((e) => e.ph === "B").length).toBe(trace.traceEvents.filter((e) => e.ph === "E").length);
    expect(trace.traceEvents.filter((e) => e.ph === "s").length).toBe(1);
  });

  it("gives ts in µs of virtual time, exactly", () => {
    const bySeq = new Map(scenario.trace.events.map((e) => [e.seq, e]));
    const trace = scenario.trace.toChromeTrace();
    let checked = 0;
    for (const e of trace.traceEvents) {
      const seq = e.args?.["seq"];
      if (typeof seq !== "number") continue;
      // As Perfetto reads a JSON number of µs: its decimal digits, shifted three places.
      const ns = Number(BigInt(Math.round(Number(JSON.stringify(e.ts)) * 1000)));
      expect(ns).toBe(bySeq.get(seq)!.time);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
    expect(trace.displayTimeUnit).toBe("ns");
  });

  it("numbers tracks in tree order, for a viewer that ignores thread_sort_index", () => {
    const names = scenario.trace
      .toChromeTrace()
      .traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name")
      .sort((a, b) => a.tid - b.tid)
      .map((e) => String(e.args?.["name"]).trim().split(" ")[0]);
    expect(names).toEqual(["0000:00:04.0", "0000:00:05.0", "0000:00:06.0", "0000:00:1e.0", "0000:00:07.0", "accel.crypto.0", "0000:00:08.0"]);
  });

  it("puts machine-wide events on the process's track, and leaves out an end whose begin fell off the log", () => {
    const all = scenario.trace.events;
    const register = scenario.trace.toChromeTrace().traceEvents.find((e) => e.cat === "register")!;
    expect(register).toMatchObject({ ph: "i", s: "p", tid: 0 });
    // The log keeps only its newest events: start it right after a probe began.
    const from = all.findIndex((e) => e.kind === "probe-start") + 1;
    const trimmed: readonly MachineEvent[] = all.slice(from);
    const trace = toChromeTrace(trimmed);
    expect(perfettoProblems(trace)).toEqual([]);
    expect(trace.traceEvents.filter((e) => e.ph === "E").length).toBe(toChromeTrace(all).traceEvents.filter((e) => e.ph === "E").length - 1);
  });
});
