/**
 * Sharded exploration: worker threads import the scenario from its module
 * (test/shards/scenario.mjs, plain JavaScript against the built package, as
 * a user's CI would) and run every Nth schedule. One worker and two must
 * report the same first failing schedule, at the same index, and the clean
 * driver must pass the whole budget either way. Needs dist/ (npm test
 * builds it first).
 */

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

interface Found {
  readonly ok: boolean;
  readonly schedules: number;
  readonly planned: number;
  readonly schedule?: string;
  readonly index?: number;
  readonly problems?: readonly string[];
}

function run(exportName: string, workers: number, budget: number): Found {
  const out = execFileSync(process.execPath, ["test/shards/run.mjs", exportName, String(workers), String(budget)], { encoding: "utf8", timeout: 120_000 });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Found;
}

describe("explore across worker threads", () => {
  it("finds the same first failing schedule with one worker and with two", () => {
    const one = run("scenario", 1, 200);
    const two = run("scenario", 2, 200);
    expect(one.ok).toBe(false);
    expect(one.schedule).toBe("iommu=passthrough;limit=none;fail-alloc#2");
    expect(one.problems?.[0]).toMatch(/kernel heap still holds 256 bytes/);
    expect(two).toEqual(one);
  });

  it("passes the careful driver over the same budget with two workers", () => {
    const two = run("careful", 2, 200);
    expect(two).toMatchObject({ ok: true, schedules: 200 });
    // The budget ran part of the whole systematic space.
    expect(two.planned).toBeGreaterThan(200);
    expect(two).toEqual(run("careful", 1, 200));
  });
});
