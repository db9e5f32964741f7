/**
 * dma-sample: the flow of the kernel's `samples/rust/rust_dma.rs`, written for
 * boundscope.
 *
 * probe() sets a 64-bit DMA mask, allocates coherent memory for five small
 * structs and writes them. remove() reads them back and checks them. Nothing
 * is freed by hand: the allocation is device-managed, so devres frees it right
 * after remove() returns. The device is a model of QEMU's edu device
 * (models/edu-model.ts); the sample needs only something to bind to.
 */

import { allocCoherent, defineDriver, defineStruct, Machine, setDmaMask } from "boundscope";
import type { CoherentAllocation, DriverInstance, ProbeDevice } from "boundscope";
import { EDU_ID, EduModel } from "./models/edu-model.js";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";

/** The PCI ids the sample binds to (QEMU's "edu" device). */
export const SAMPLE_ID = EDU_ID;

/** One struct in the buffer, the sample's `MyStruct`: two little-endian u32 fields. */
const MyStruct = defineStruct({ h: "u32", b: "u32" });

/** The values written in probe() and expected back in remove(). */
export const SAMPLE_DATA: readonly (readonly [h: number, b: number])[] = [
  [0x42, 0x43],
  [0x44, 0x45],
  [0x46, 0x47],
  [0x48, 0x49],
  [0x4a, 0x4b],
];

/** The driver's state for one binding: generic in its scope, like every binding. */
class DmaSample<Scope> implements DriverInstance<Scope> {
  constructor(
    private readonly ca: CoherentAllocation<Scope>,
    private readonly narrate: Narrate,
  ) {}

  remove(dev: ProbeDevice<Scope>): void {
    const view = this.ca.view(dev);
    SAMPLE_DATA.forEach(([h, b], i) => {
      const { h: gotH, b: gotB } = MyStruct.read(view, i);
      if (gotH !== h || gotB !== b) {
        throw new Error(`dma-sample: struct ${i} reads {h: ${gotH}, b: ${gotB}}, expected {h: ${h}, b: ${b}}`);
      }
    });
    this.narrate(`remove(): read back and verified ${SAMPLE_DATA.length} structs`);
  }
}

/** Builds the driver; `narrate` hears what it does. */
export function dmaSampleDriver(narrate: Narrate = () => {}) {
  return defineDriver({
    name: "rust-dma-sample",
    ids: [SAMPLE_ID],
    probe(dev) {
      setDmaMask(dev, 64);
      const ca = allocCoherent(dev, SAMPLE_DATA.length * MyStruct.size);
      const view = ca.view(dev);
      SAMPLE_DATA.forEach(([h, b], i) => MyStruct.write(view, i, { h, b }));
      narrate(`probe(): ${ca.size} bytes of coherent memory at bus address 0x${ca.dmaHandle.toString(16)}, ${SAMPLE_DATA.length} structs written`);
      return new DmaSample(ca, narrate);
    },
  });
}

/** Plug, probe, unplug, with the device's state and the pool at each step. */
export async function runDmaSample(narrate: Narrate): Promise<Machine> {
  const machine = new Machine();
  follow(machine, narrate);
  const pool = () => {
    const { bytesInUse, allocations, highWater } = machine.memory.stats();
    return `pool: ${bytesInUse} bytes in use in ${allocations} allocation(s), high water ${highWater}`;
  };
  await machine.pci.register(dmaSampleDriver(narrate));
  const dev = machine.pci.plug(new EduModel("0000:00:04.0"));
  narrate(`plugged ${dev.name}: state ${dev.state}`);
  await machine.settled();
  narrate(`after probe: state ${dev.state}; ${pool()}`);
  await machine.pci.unplug(dev);
  narrate(`after unplug: state ${dev.state}; ${pool()}`);
  return machine;
}
