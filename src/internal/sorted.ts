/**
 * Binary search over arrays kept sorted by a numeric key: the pool's live
 * blocks by physical address, a domain's mappings by IOVA.
 *
 * @module
 */

/** The index of the first item whose key is at or above `key`. */
export function lowerBound<Item>(items: readonly Item[], key: number, keyOf: (item: Item) => number): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyOf(items[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The last item whose key is at or below `key`, if any. */
export function floorItem<Item>(items: readonly Item[], key: number, keyOf: (item: Item) => number): Item | undefined {
  return items[lowerBound(items, key + 1, keyOf) - 1];
}
