// Not refused: a pool block used after it was freed, freed twice, or given
// back to another pool of the same binding; a pool used after destroy().
// Blocks and pools are scoped to their binding, not to their own lifetime
// (no type forgets a variable), and every pool of a binding takes a
// DmaAddress<Scope, "pool">. Caught at run time: bytes(), view() and free()
// of a freed block are EINVAL; a pool's free() of an address none of its
// blocks has is EINVAL and reported (free-unknown); alloc() of a destroyed
// pool is EINVAL (src/driver/dma-pool.ts).
import { createDmaPool, defineDriver } from "boundscope";

export const pools = defineDriver({
  name: "pool-misuse",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    const headers = createDmaPool(dev, "hdr", 12);
    const descriptors = createDmaPool(dev, "desc", 16, 16);
    const block = headers.alloc(dev);
    block.free();
    block.bytes(dev)[0] = 1; // EINVAL
    block.free(); // EINVAL
    const other = headers.alloc(dev);
    descriptors.free(dev, undefined, other.dmaHandle); // EINVAL, free-unknown
    other.free();
    descriptors.destroy();
    descriptors.alloc(dev); // EINVAL
    return {};
  },
});
