/**
 * The free space of an address range, as a set of disjoint free extents.
 *
 * A treap keyed by start address, each node also holding the largest extent
 * in its subtree. That gives, in O(log n) expected time:
 * - the lowest-addressed extent large enough for a request (address-ordered
 *   first fit, which keeps low addresses for devices with narrow DMA masks and
 *   keeps fragmentation low);
 * - insertion with coalescing of both neighbours.
 *
 * Only numbers are stored, never memory: a 64 GiB range costs one node.
 *
 * Kernel: the free-range bookkeeping of `iova.c` (`alloc_iova` with
 * `size_aligned` off) and, for the pool, a first-fit page allocator.
 *
 * # Invariants
 * - Free extents never overlap and never touch: a give coalesces with both
 *   neighbours.
 * - A failed take changes nothing.
 *
 * @module
 */

interface Node {
  start: number;
  size: number;
  /** Largest `size` in this subtree. */
  max: number;
  priority: number;
  left: Node | undefined;
  right: Node | undefined;
}

function update(node: Node): void {
  let max = node.size;
  if (node.left !== undefined && node.left.max > max) max = node.left.max;
  if (node.right !== undefined && node.right.max > max) max = node.right.max;
  node.max = max;
}

/** Splits `node` into extents starting below `key` and at or above it. */
function split(node: Node | undefined, key: number): [Node | undefined, Node | undefined] {
  if (node === undefined) return [undefined, undefined];
  if (node.start < key) {
    const [l, r] = split(node.right, key);
    node.right = l;
    update(node);
    return [node, r];
  }
  const [l, r] = split(node.left, key);
  node.left = r;
  update(node);
  return [l, node];
}

/** Joins two treaps where every start in `a` is below every start in `b`. */
function merge(a: Node | undefined, b: Node | undefined): Node | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.priority > b.priority) {
    a.right = merge(a.right, b);
    update(a);
    return a;
  }
  b.left = merge(a, b.left);
  update(b);
  return b;
}

export class Extents {
  #root: Node | undefined;
  #free = 0;
  #count = 0;
  // A fixed-seed xorshift: the same operations always build the same tree.
  #seed = 0x9e3779b9;

  /** Starts with `[start, start + size)` free. */
  constructor(start: number, size: number) {
    if (size > 0) this.#insert(start, size);
    this.#free = size;
  }

  /** Total free units. */
  get free(): number {
    return this.#free;
  }

  /** Number of free extents. */
  get count(): number {
    return this.#count;
  }

  /** The largest free extent's size (0 when nothing is free). */
  get largest(): number {
    return this.#root?.max ?? 0;
  }

  /**
   * Takes `size` units from the lowest-addressed extent that can hold them,
   * if the result ends at or below `limit`. Returns the start, or `undefined`.
   */
  take(size: number, limit: number): number | undefined {
    let node = this.#root;
    if (node === undefined || node.max < size) return undefined;
    // Descend to the lowest-addressed node with size >= `size`.
    for (;;) {
      if (node.left !== undefined && node.left.max >= size) node = node.left;
      else if (node.size >= size) break;
      else node = node.right!;
    }
    const start = node.start;
    // Any other fitting extent starts higher, so it cannot fit the limit either.
    if (start + size > limit) return undefined;
    const rest = node.size - size;
    this.#remove(start);
    if (rest > 0) this.#insert(start + size, rest);
    this.#free -= size;
    return start;
  }

  /** Returns `[start, start + size)` to the free set, joining neighbours. */
  give(start: number, size: number): void {
    let from = start;
    let length = size;
    const before = this.#floor(start);
    if (before !== undefined && before.start + before.size === start) {
      from = before.start;
      length += before.size;
      this.#remove(before.start);
    }
    const after = this.#find(start + size);
    if (after !== undefined) {
      length += after.size;
      this.#remove(after.start);
    }
    this.#insert(from, length);
    this.#free += size;
  }

  /** The extent with the greatest start below `key`. */
  #floor(key: number): Node | undefined {
    let node = this.#root;
    let best: Node | undefined;
    while (node !== undefined) {
      if (node.start < key) {
        best = node;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return best;
  }

  #find(start: number): Node | undefined {
    let node = this.#root;
    while (node !== undefined && node.start !== start) node = start < node.start ? node.left : node.right;
    return node;
  }

  #insert(start: number, size: number): void {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    const node: Node = { start, size, max: size, priority: this.#seed, left: undefined, right: undefined };
    const [l, r] = split(this.#root, start);
    this.#root = merge(merge(l, node), r);
    this.#count++;
  }

  #remove(start: number): void {
    const [l, rest] = split(this.#root, start);
    const [, r] = split(rest, start + 1);
    this.#root = merge(l, r);
    this.#count--;
  }
}
