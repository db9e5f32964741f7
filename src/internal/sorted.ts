/**
 * Items kept in order of a numeric key, with floor and ceiling lookup: the pool's live
 * blocks by physical address, a domain's mappings by IOVA.
 *
 * A treap (a binary search tree balanced by random priorities): insert,
 * delete and floor cost O(log n) expected, however many items are live. A
 * sorted array costs O(n) per insert and delete, which a pool with thousands
 * of live allocations pays on every allocation and free.
 *
 * Kernel: the role `struct rb_root` plays under `iova.c` and the page
 * allocator's lookups.
 *
 * # Invariants
 * - In-order traversal is in key order; a node's priority is at most its
 *   parent's.
 * - One item per key: `set` replaces.
 *
 * @module
 */

interface Node<Item> {
  readonly key: number;
  readonly item: Item;
  readonly priority: number;
  left: Node<Item> | undefined;
  right: Node<Item> | undefined;
}

export class OrderedMap<Item> {
  #root: Node<Item> | undefined;
  #size = 0;
  // A fixed-seed xorshift: the same operations always build the same tree.
  #seed = 0x2545f491;

  /** Items held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `item` under `key`, which must not be present. */
  set(key: number, item: Item): void {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    this.#root = insert(this.#root, { key, item, priority: this.#seed, left: undefined, right: undefined });
    this.#size++;
  }

  /** Removes the item under `key`; false if there was none. */
  delete(key: number): boolean {
    if (this.get(key) === undefined) return false;
    this.#root = remove(this.#root, key);
    this.#size--;
    return true;
  }

  /** The item under exactly `key`. */
  get(key: number): Item | undefined {
    let node = this.#root;
    while (node !== undefined && node.key !== key) node = key < node.key ? node.left : node.right;
    return node?.item;
  }

  /** The item with the greatest key at or below `key`. */
  floor(key: number): Item | undefined {
    let node = this.#root;
    let best: Node<Item> | undefined;
    while (node !== undefined) {
      if (node.key <= key) {
        best = node;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return best?.item;
  }

  /** The item with the least key at or above `key`. */
  ceiling(key: number): Item | undefined {
    let node = this.#root;
    let best: Node<Item> | undefined;
    while (node !== undefined) {
      if (node.key >= key) {
        best = node;
        node = node.left;
      } else {
        node = node.right;
      }
    }
    return best?.item;
  }
}

/** Inserts `fresh` below `node`, rotating it up while its priority is higher. */
function insert<Item>(node: Node<Item> | undefined, fresh: Node<Item>): Node<Item> {
  if (node === undefined) return fresh;
  if (fresh.key < node.key) {
    const left = insert(node.left, fresh);
    node.left = left;
    if (left.priority <= node.priority) return node;
    node.left = left.right;
    left.right = node;
    return left;
  }
  const right = insert(node.right, fresh);
  node.right = right;
  if (right.priority <= node.priority) return node;
  node.right = right.left;
  right.left = node;
  return right;
}

/** Removes the node under `key`, which is present. */
function remove<Item>(node: Node<Item> | undefined, key: number): Node<Item> | undefined {
  if (node === undefined) return undefined;
  if (key < node.key) node.left = remove(node.left, key);
  else if (key > node.key) node.right = remove(node.right, key);
  else return merge(node.left, node.right);
  return node;
}

/** Joins two treaps where every key in `a` is below every key in `b`. */
function merge<Item>(a: Node<Item> | undefined, b: Node<Item> | undefined): Node<Item> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.priority > b.priority) {
    a.right = merge(a.right, b);
    return a;
  }
  b.left = merge(a, b.left);
  return b;
}
