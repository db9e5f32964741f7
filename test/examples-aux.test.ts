/**
 * examples/aux-parent.ts: a parent PCI driver exposing an auxiliary device
 * to a second driver, hot-unplugged (and unbound) while the child is busy in
 * a call into the parent.
 */

import { describe, expect, it } from "vitest";
import { runAuxParent } from "../examples/aux-parent.js";

const quiet = (): void => {};

describe("aux-parent", () => {
  it.each(["unplug", "unbind"] as const)("%s of the parent mid-call: the child goes first, then the parent; no violation, nothing leaked", async (end) => {
    const { machine, stats, busyAtEnd, child, order, model } = await runAuxParent(quiet, { end });
    expect(stats.roundTrips).toBeGreaterThan(0);
    expect(busyAtEnd).toBe(true);
    expect(order).toEqual(["crypto", "accel"]);
    expect(child.state).toBe("zombie");
    expect(machine.auxiliary.devices).toEqual([]);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
    expect(machine.memory.stats().bytesInUse).toBe(0);
    // The child's remove() cancelled the call in the engine through its parent.
    expect(stats.failed).toBe(1);
    expect(model.jobs).toBe(2 * stats.roundTrips + 1);
    // The child was removed before the parent's remove() started.
    const kinds = machine.events.filter((e) => e.kind === "remove-start" || e.kind === "remove-end").map((e) => `${e.kind} ${e.device}`);
    expect(kinds).toEqual(["remove-start 0000:00:07.0", "remove-start accel.crypto.0", "remove-end accel.crypto.0", "remove-end 0000:00:07.0"]);
  });
});
