/**
 * The trace (src/trace.ts): every event with virtual and wall time, the
 * Chrome trace-event export, and the timeline picture, checked by looking at
 * its pixels.
 */

import { Resvg } from "@resvg/resvg-js";
import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine } from "../src/index.js";
import { ALLOCATION_COLOUR, LINK_COLOUR, renderTimeline, STATE_COLOURS, VIOLATION_COLOUR } from "../src/observe/trace.js";
import { runTimelineScenario } from "../examples/timeline.js";
import { NIC } from "./helpers.js";

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
