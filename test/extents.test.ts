/**
 * The free-extent allocator under the pool (src/internal/extents.ts):
 * address-ordered first fit, coalescing, the limit, and its counters, checked
 * by hand and against a naive model over a few thousand random operations.
 */

import { describe, expect, it } from "vitest";
import { Extents } from "../src/internal/extents.js";

describe("counters", () => {
  it("a fresh range is one free extent", () => {
    const extents = new Extents(0, 64);
    expect([extents.free, extents.count, extents.largest]).toEqual([64, 1, 64]);
  });

  it("an empty range has nothing to give", () => {
    const extents = new Extents(0, 0);
    expect([extents.free, extents.count, extents.largest]).toEqual([0, 0, 0]);
    expect(extents.take(1, Infinity)).toBeUndefined();
  });

  it("taking a whole extent removes it", () => {
    const extents = new Extents(0, 8);
    expect(extents.take(8, 8)).toBe(0);
    expect([extents.free, extents.count, extents.largest]).toEqual([0, 0, 0]);
  });

  it("largest follows the biggest extent as it shrinks and grows", () => {
    const extents = new Extents(0, 16);
    extents.take(4, 16); // [4, 16) free
    expect(extents.largest).toBe(12);
    extents.take(10, 16); // [14, 16) free
    expect(extents.largest).toBe(2);
    extents.give(0, 4); // [0, 4) and [14, 16) free
    expect([extents.free, extents.count, extents.largest]).toEqual([6, 2, 4]);
  });

  it("a range that starts above zero hands out its own addresses", () => {
    const extents = new Extents(100, 10);
    expect(extents.take(4, 1000)).toBe(100);
    expect(extents.take(6, 1000)).toBe(104);
    expect(extents.take(1, 1000)).toBeUndefined();
  });
});

describe("first fit", () => {
  it("takes from the lowest address first", () => {
    const extents = new Extents(0, 10);
    expect(extents.take(3, 10)).toBe(0);
    expect(extents.take(2, 10)).toBe(3);
    extents.give(0, 3);
    expect(extents.take(1, 10)).toBe(0);
    expect(extents.take(2, 10)).toBe(1);
  });

  it("takes the lowest extent that fits, not the best fitting one", () => {
    const extents = new Extents(0, 10);
    extents.take(10, 10);
    extents.give(0, 4); // [0, 4)
    extents.give(5, 1); // [5, 6): an exact fit, but higher
    expect(extents.take(1, 10)).toBe(0);
  });

  it("skips extents too small for the request", () => {
    const extents = new Extents(0, 10);
    extents.take(10, 10);
    extents.give(0, 1);
    extents.give(2, 2);
    extents.give(5, 5);
    expect(extents.take(3, 10)).toBe(5);
    expect([extents.free, extents.count]).toEqual([5, 3]);
  });

  it("a request larger than every extent gets nothing and changes nothing", () => {
    const extents = new Extents(0, 10);
    extents.take(10, 10);
    extents.give(0, 3);
    extents.give(4, 3);
    expect(extents.take(4, 10)).toBeUndefined();
    expect([extents.free, extents.count, extents.largest]).toEqual([6, 2, 3]);
  });
});

describe("coalescing", () => {
  /** A range of 9 with [0, 3) and [6, 9) free and [3, 6) taken. */
  function gapped(): Extents {
    const extents = new Extents(0, 9);
    extents.take(9, 9);
    extents.give(0, 3);
    extents.give(6, 3);
    return extents;
  }

  it("a freed run joins its left neighbour", () => {
    const extents = gapped();
    extents.give(3, 1);
    expect([extents.free, extents.count, extents.largest]).toEqual([7, 2, 4]);
  });

  it("a freed run joins its right neighbour", () => {
    const extents = gapped();
    extents.give(5, 1);
    expect([extents.free, extents.count, extents.largest]).toEqual([7, 2, 4]);
  });

  it("a freed run joins both neighbours into one extent", () => {
    const extents = gapped();
    extents.give(3, 3);
    expect([extents.free, extents.count, extents.largest]).toEqual([9, 1, 9]);
    expect(extents.take(9, 9)).toBe(0);
  });

  it("a freed run with no free neighbour stands alone", () => {
    const extents = gapped();
    extents.give(4, 1);
    expect([extents.free, extents.count, extents.largest]).toEqual([7, 3, 3]);
  });
});

describe("the limit", () => {
  it("a run that would end past the limit is not taken and nothing changes", () => {
    const extents = new Extents(0, 10);
    expect(extents.take(5, 4)).toBeUndefined();
    expect([extents.free, extents.count]).toEqual([10, 1]);
  });

  it("a run that ends exactly at the limit is taken", () => {
    const extents = new Extents(0, 10);
    expect(extents.take(4, 4)).toBe(0);
  });

  it("a fitting extent above the limit is not used when the low ones are too small", () => {
    const extents = new Extents(0, 20);
    extents.take(20, 20);
    extents.give(0, 2);
    extents.give(10, 10);
    expect(extents.take(4, 12)).toBeUndefined();
    expect(extents.take(4, 14)).toBe(10);
  });

  it("a negative limit gives nothing", () => {
    expect(new Extents(0, 10).take(1, -5)).toBeUndefined();
  });
});

/** A seeded PRNG (mulberry32), so a failure replays exactly. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The naive model: one flag per unit, scanned in full on every request. */
class Model {
  readonly free: boolean[];
  constructor(size: number) {
    this.free = Array.from({ length: size }, () => true);
  }

  /** Maximal free runs, lowest first, as [start, length]. */
  runs(): [number, number][] {
    const runs: [number, number][] = [];
    let start = -1;
    for (let i = 0; i <= this.free.length; i++) {
      if (i < this.free.length && this.free[i]) {
        if (start < 0) start = i;
      } else if (start >= 0) {
        runs.push([start, i - start]);
        start = -1;
      }
    }
    return runs;
  }

  take(size: number, limit: number): number | undefined {
    const run = this.runs().find(([, length]) => length >= size);
    if (run === undefined || run[0] + size > limit) return undefined;
    this.free.fill(false, run[0], run[0] + size);
    return run[0];
  }

  give(start: number, size: number): void {
    for (let i = start; i < start + size; i++) {
      if (this.free[i]) throw new Error(`model: unit ${i} given back twice`);
      this.free[i] = true;
    }
  }
}

describe("against a naive model", () => {
  it.each([1, 2, 3])("agrees with the model over 3000 random operations (seed %i)", (seed) => {
    const size = 256;
    const next = random(seed);
    const int = (below: number): number => Math.floor(next() * below);
    const extents = new Extents(0, size);
    const model = new Model(size);
    const held: [number, number][] = [];
    for (let op = 0; op < 3000; op++) {
      if (held.length === 0 || next() < 0.55) {
        const want = 1 + int(next() < 0.8 ? 8 : 64);
        const limit = next() < 0.7 ? size : int(size + 1);
        const got = extents.take(want, limit);
        expect(got, `op ${op}: take(${want}, ${limit})`).toBe(model.take(want, limit));
        if (got !== undefined) held.push([got, want]);
      } else {
        const [start, length] = held.splice(int(held.length), 1)[0]!;
        if (length > 1 && next() < 0.3) {
          // Give back only the tail and keep holding the head.
          const keep = 1 + int(length - 1);
          extents.give(start + keep, length - keep);
          model.give(start + keep, length - keep);
          held.push([start, keep]);
        } else {
          extents.give(start, length);
          model.give(start, length);
        }
      }
      const runs = model.runs();
      expect(extents.free, `op ${op}: free`).toBe(runs.reduce((sum, [, length]) => sum + length, 0));
      expect(extents.count, `op ${op}: count`).toBe(runs.length);
      expect(extents.largest, `op ${op}: largest`).toBe(Math.max(0, ...runs.map(([, length]) => length)));
    }
  });
});
