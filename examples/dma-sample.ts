/**
 * dma-sample: the flow of the kernel's `samples/rust/rust_dma.rs`, written for
 * boundscope.
 *
 * probe() sets a 64-bit DMA mask, allocates coherent memory for five small
 * structs and writes them. remove() reads them back and checks them. Nothing
 * is freed by hand: the allocation is device-managed, so devres frees it right
 * after remove() returns.
 */

import { allocCoherent, defineDriver, Machine } from "boundscope";
import type { CoherentAllocation, DriverInstance, ProbeDevice } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";

/** The PCI ids the sample binds to (QEMU's "edu" device). */
export const SAMPLE_ID = { vendor: 0x1234, device: 0x11e8 } as const;

/** One struct in the buffer: two little-endian u32 fields, `h` and `b`. */
const STRUCT_SIZE = 8;
const FIELD_H = 0;
const FIELD_B = 4;

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
      const gotH = view.getUint32(i * STRUCT_SIZE + FIELD_H, true);
      const gotB = view.getUint32(i * STRUCT_SIZE + FIELD_B, true);
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
      dev.setDmaMask(64);
      const ca = allocCoherent(dev, SAMPLE_DATA.length * STRUCT_SIZE);
      const view = ca.view(dev);
      SAMPLE_DATA.forEach(([h, b], i) => {
        view.setUint32(i * STRUCT_SIZE + FIELD_H, h, true);
        view.setUint32(i * STRUCT_SIZE + FIELD_B, b, true);
      });
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
  const dev = machine.pci.plug({ ...SAMPLE_ID, name: "0000:00:04.0" });
  narrate(`plugged ${dev.name}: state ${dev.state}`);
  await machine.settled();
  narrate(`after probe: state ${dev.state}; ${pool()}`);
  await machine.pci.unplug(dev);
  narrate(`after unplug: state ${dev.state}; ${pool()}`);
  return machine;
}
