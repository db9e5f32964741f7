/** The ordered map under the pool's live blocks and the IOMMU's mappings. */

import { describe, expect, it } from "vitest";
import { OrderedMap } from "../src/internal/sorted.js";

describe("OrderedMap", () => {
  it("agrees with a sorted array on set, delete, get and floor, over a random workload", () => {
    const map = new OrderedMap<number>();
    const keys: number[] = [];
    let x = 12345;
    const random = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    for (let step = 0; step < 20_000; step++) {
      const key = random(5000);
      const present = keys.includes(key);
      if (!present && random(3) !== 0) {
        map.set(key, key * 10);
        keys.push(key);
        keys.sort((a, b) => a - b);
      } else if (present) {
        expect(map.delete(key)).toBe(true);
        keys.splice(keys.indexOf(key), 1);
      } else {
        expect(map.delete(key)).toBe(false);
      }
      const probe = random(5200) - 100;
      const floor = keys.filter((k) => k <= probe).pop();
      expect(map.floor(probe)).toBe(floor === undefined ? undefined : floor * 10);
      expect(map.get(probe)).toBe(keys.includes(probe) ? probe * 10 : undefined);
      expect(map.size).toBe(keys.length);
    }
  });

  it("stays shallow when keys arrive in order, as addresses do", () => {
    const map = new OrderedMap<number>();
    for (let i = 0; i < 100_000; i++) map.set(i * 4096, i);
    // A degenerate tree would overflow the stack in the recursive delete.
    for (let i = 0; i < 100_000; i += 2) expect(map.delete(i * 4096)).toBe(true);
    expect(map.size).toBe(50_000);
    expect(map.floor(4096 * 4 + 5)).toBe(3);
  });
});
