/**
 * The clean originals of the seeded bugs (test/seeded/clean.ts: the example
 * drivers ring-nic, streaming-nic, net-nic, blk and aux-parent, each with
 * its model and a workload) pass the explorer's whole systematic plan with
 * its default options: every injected allocation, mapping and IRQ-request
 * failure, and every unplug, unbind and rebind at every scheduling point,
 * on both IOMMU modes, with and without a 32-bit DMA limit. The number of
 * schedules that is, as measured, is stated per driver: a change that
 * shrinks the plan fails here. (The seeded copies: testing-seeded.test.ts.)
 */

import { describe, expect, it } from "vitest";
import { explore } from "boundscope/testing";
import { CLEAN } from "./seeded/clean.js";

/** Each clean original's whole systematic plan, in schedules, as measured. */
const PLAN: Readonly<Record<keyof typeof CLEAN, number>> = {
  "ring-nic": 432,
  "streaming-nic": 732,
  "net-nic": 440,
  blk: 464,
  "aux-parent": 144,
};

describe("each clean original passes its whole systematic plan", () => {
  for (const [name, scenario] of Object.entries(CLEAN) as [keyof typeof CLEAN, (typeof CLEAN)[keyof typeof CLEAN]][]) {
    it(`${name}: ${PLAN[name]} schedules`, async () => {
      const report = await explore(scenario, { mode: "systematic", budget: PLAN[name] });
      expect(report.failure?.story).toBeUndefined();
      expect(report).toMatchObject({ ok: true, schedules: PLAN[name], planned: PLAN[name] });
    });
  }
});
