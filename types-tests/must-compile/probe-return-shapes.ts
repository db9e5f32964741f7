// What probe() may return: an instance with or without remove, synchronously
// or through a Promise.
import { allocCoherent, defineDriver } from "boundscope";

export const empty = defineDriver({ name: "empty", ids: [{ vendor: 1, device: 1 }], probe: () => ({}) });

export const emptyAsync = defineDriver({ name: "empty-async", ids: [{ vendor: 1, device: 2 }], probe: async () => ({}) });

export const explicitPromise = defineDriver({
  name: "explicit-promise",
  ids: [{ vendor: 1, device: 3 }],
  probe(dev) {
    const buf = allocCoherent(dev, 64);
    return Promise.resolve({ remove: (d: typeof dev) => void buf.bytes(d) });
  },
});

// This compiles, and is harmless. TypeScript does no excess-property check on
// what a contextually typed function returns, so extra fields ride along with
// remove. But probe's result goes only to the driver core, which reads remove
// and nothing else: the token and the allocation in it reach no user code.
export const extraFields = defineDriver({
  name: "extra-fields",
  ids: [{ vendor: 1, device: 4 }],
  probe(dev) {
    const buf = allocCoherent(dev, 64);
    return { remove() {}, dev, buf };
  },
});
