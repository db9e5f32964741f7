// Blocks: a streaming mapping, an sg table, a DMA pool or a pool block handed
// out of probe() (as its return value, in a closure, in an object that is not
// an instance) or parked in a variable outside it typed with a concrete
// scope, to be used after the binding has ended, as
// probe-returns-allocation.ts and park-in-outer-variable.ts do for a
// coherent allocation.
import { createDmaPool, defineDriver, kmalloc, mapSg, mapSingle } from "boundscope";
import type { DeviceOwned, DmaPool, PoolBlock, SgTable, StreamingAddress } from "boundscope";

export const mapping = defineDriver({
  name: "mapping",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 /Type 'DeviceOwnedFromDevice<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a streaming mapping as the instance
  probe: (dev) => mapSingle(dev, kmalloc(dev, 64), "from-device"),
});

export const table = defineDriver({
  name: "table",
  ids: [{ vendor: 1, device: 2 }],
  // @expect-error TS2322 /Type 'SgTable<Scope, "to-device">' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- an sg table as the instance
  probe: (dev) => mapSg(dev, kmalloc(dev, 64), "to-device"),
});

export const pool = defineDriver({
  name: "pool",
  ids: [{ vendor: 1, device: 3 }],
  // @expect-error TS2322 /Type 'DmaPool<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a DMA pool as the instance
  probe: (dev) => createDmaPool(dev, "desc", 16),
});

export const block = defineDriver({
  name: "block",
  ids: [{ vendor: 1, device: 4 }],
  // @expect-error TS2322 /Type '\(\) => PoolBlock<Scope>' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a closure returning a pool block
  probe: (dev) => () => createDmaPool(dev, "desc", 16).alloc(dev),
});

export const holder = defineDriver({
  name: "holder",
  ids: [{ vendor: 1, device: 5 }],
  // @expect-error TS2322 /Type '\{ rx: CpuOwnedFromDevice<Scope>; \}' is not assignable to type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- an object holding a CPU-owned mapping
  probe(dev) {
    return { rx: mapSingle(dev, kmalloc(dev, 64), "from-device").syncForCpu(dev) };
  },
});

let keepRx: DeviceOwned<"x", "from-device"> | undefined;
let keepTable: SgTable<string, "to-device"> | undefined;
let keepPool: DmaPool<"x"> | undefined;
let keepBlock: PoolBlock<unknown> | undefined;
let keepAddress: StreamingAddress<"x", "from-device"> | undefined;

export const parked = defineDriver({
  name: "parked",
  ids: [{ vendor: 1, device: 6 }],
  probe(dev) {
    const rx = mapSingle(dev, kmalloc(dev, 64), "from-device");
    // @expect-error TS2322 /Type 'DeviceOwnedFromDevice<Scope>' is not assignable to type 'DeviceOwnedFromDevice<"x"> \| undefined'/ -- a mapping into a concrete-scope variable
    keepRx = rx;
    // @expect-error TS2322 /Type 'SgTable<Scope, "to-device">' is not assignable to type 'SgTable<string, "to-device"> \| undefined'/ -- an sg table into a concrete-scope variable
    keepTable = mapSg(dev, kmalloc(dev, 64), "to-device");
    // @expect-error TS2322 /Type 'DmaPool<Scope>' is not assignable to type 'DmaPool<"x">'/ -- a pool into a concrete-scope variable
    keepPool = createDmaPool(dev, "desc", 16);
    // @expect-error TS2322 /Type 'PoolBlock<Scope>' is not assignable to type 'PoolBlock<unknown>'/ -- a pool block widened to unknown scope
    keepBlock = createDmaPool(dev, "hdr", 12).alloc(dev);
    // @expect-error TS2322 /Type 'StreamingAddress<Scope, "from-device">' is not assignable to type 'StreamingAddress<"x", "from-device"> \| undefined'/ -- a streaming address into a concrete-scope variable
    keepAddress = rx.dmaAddress;
    return {};
  },
});

void [keepRx, keepTable, keepPool, keepBlock, keepAddress];
