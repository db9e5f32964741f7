/**
 * rust-dma: a port of Rust-for-Linux's current `samples/rust/rust_dma.rs`,
 * the Rust DMA API test driver, to boundscope.
 *
 * Concept: the two kinds of DMA memory a driver holds for its whole binding.
 * A coherent array of structs, shared with the device and always in sync;
 * and a buffer that is contiguous only for the CPU (vmalloc'd, page by page
 * scattered in physical memory), lent to the device as a scatter-gather
 * table whose segments are what the device is told.
 *
 * Kernel counterpart: `rust_dma.rs` binds to QEMU's pci-testdev
 * (models/pci-testdev-model.ts). Its probe sets a 64-bit mask, allocates a
 * zeroed `Coherent<[MyStruct]>` of five `(h, b)` u32 pairs and writes the
 * test values into it, then makes an `SGTable` of a four-page `VVec`
 * (`vmalloc`) mapped to-device (`dma_map_sgtable`). Its drop checks the
 * five pairs and prints each mapped entry's DMA address; dropping the table
 * unmaps it and frees the pages, dropping the array frees it. Here:
 * `allocCoherent` + `defineStruct` is the `Coherent<[MyStruct]>` (an index
 * past the end throws, as `io_project!`'s `panic` does), `vmalloc` +
 * `mapSg` the `SGTable<Owned<VVec<u8>>>`, and `remove()` the drop.
 * (examples/dma-sample.ts ports the sample's earlier version, before it had
 * an SGTable.)
 *
 * What it shows:
 * - The coherent pairs written at probe read back intact at remove.
 * - `vmalloc` pages are physically scattered: in passthrough (no IOMMU) each
 *   page is a DMA segment of its own, at its physical address above 4 GiB.
 *   Behind a strict IOMMU the four entries are mapped at consecutive IOVAs
 *   and merge into fewer segments (here one of 16 KiB): the device sees one
 *   contiguous buffer.
 * - remove() walks the segments, checks they cover the buffer, and gives the
 *   table and the pages back itself, as the Rust drop does; the checker
 *   records nothing, and the heap is empty after unbind.
 */

import { allocCoherent, defineDriver, defineStruct, Machine, mapSg, setDmaMask, vmalloc } from "boundscope";
import type { CoherentAllocation, DriverInstance, IommuMode, KernelBuffer, ProbeDevice, SgTable } from "boundscope";
import { PCI_TESTDEV_ID, PciTestdevModel } from "./models/pci-testdev-model.js";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";

/** The sample's `MyStruct`: two little-endian u32 fields. */
const MyStruct = defineStruct({ h: "u32", b: "u32" });

/** The sample's `TEST_VALUES`: written at probe, expected back at remove. */
export const TEST_VALUES: readonly (readonly [h: number, b: number])[] = [
  [0xa, 0xb],
  [0xc, 0xd],
  [0xe, 0xf],
  [0xab, 0xba],
  [0xcd, 0xef],
];

/** `page::PAGE_SIZE`. */
export const PAGE_SIZE = 4096;
/** The size of the sample's `VVec`: four pages. */
export const SG_BYTES = 4 * PAGE_SIZE;

/** What probe() mapped: the table's entries and the DMA segments the device is given. */
export interface SgTableInfo {
  readonly entries: number;
  readonly segments: readonly { readonly dmaAddress: bigint; readonly length: number }[];
  readonly bounced: boolean;
}

/** The driver's state, the sample's `DmaSampleDriver`: the coherent array and the table. */
class DmaSampleDriver<Scope> implements DriverInstance<Scope> {
  constructor(
    private readonly ca: CoherentAllocation<Scope>,
    private readonly pages: KernelBuffer,
    private readonly sgt: SgTable<Scope, "to-device">,
    private readonly narrate: Narrate,
  ) {}

  /** The sample's `check_dma`. */
  #checkDma(dev: ProbeDevice<Scope>): void {
    const view = this.ca.view(dev);
    TEST_VALUES.forEach(([h, b], i) => {
      const got = MyStruct.read(view, i);
      if (got.h !== h || got.b !== b) throw new Error(`rust_dma: pair ${i} reads (0x${got.h.toString(16)}, 0x${got.b.toString(16)}), expected (0x${h.toString(16)}, 0x${b.toString(16)})`);
    });
    this.narrate(`check_dma: the ${TEST_VALUES.length} (h, b) pairs read back intact`);
  }

  /** The sample's drop. */
  remove(dev: ProbeDevice<Scope>): void {
    this.narrate("Unload DMA test driver.");
    this.#checkDma(dev);
    let covered = 0;
    this.sgt.segments.forEach((entry, i) => {
      this.narrate(`Entry[${i}]: DMA address: 0x${entry.dmaAddress.toString(16)}, length ${entry.length}`);
      covered += entry.length;
    });
    if (covered !== SG_BYTES) throw new Error(`rust_dma: the segments cover ${covered} bytes, not the ${SG_BYTES} mapped`);
    // Dropping the SGTable<Owned<VVec<u8>>>: unmap the table, then free the pages.
    this.sgt.unmap(dev);
    this.pages.free();
  }
}

/** Builds the driver; `narrate` hears its `dev_info!` lines, `onTable` what probe() mapped. */
export function rustDmaDriver(narrate: Narrate = () => {}, onTable?: (table: SgTableInfo) => void) {
  return defineDriver({
    name: "rust_dma",
    ids: [PCI_TESTDEV_ID],
    probe(dev) {
      narrate("Probe DMA test driver.");
      setDmaMask(dev, 64);
      // Coherent::zeroed_slice(dev, TEST_VALUES.len()), then one struct written per index.
      const ca = allocCoherent(dev, TEST_VALUES.length * MyStruct.size);
      const view = ca.view(dev);
      TEST_VALUES.forEach(([h, b], i) => MyStruct.write(view, i, { h, b }));
      // VVec::with_capacity(4 * PAGE_SIZE), and SGTable::new(dev, pages, DataDirection::ToDevice).
      const pages = vmalloc(dev, SG_BYTES);
      const sgt = mapSg(dev, pages, "to-device");
      narrate(`probe(): ${TEST_VALUES.length} pairs in coherent memory at 0x${ca.dmaHandle.toString(16)}; an SGTable of ${SG_BYTES / PAGE_SIZE} vmalloc pages: ${sgt.entries} entries, ${sgt.segments.length} DMA segment${sgt.segments.length === 1 ? "" : "s"}`);
      onTable?.({ entries: sgt.entries, segments: sgt.segments.map(({ dmaAddress, length }) => ({ dmaAddress, length })), bounced: sgt.bounced });
      return new DmaSampleDriver(ca, pages, sgt, narrate);
    },
  });
}

export interface RustDmaRun {
  readonly machine: Machine;
  /** What probe() mapped. */
  readonly table: SgTableInfo | undefined;
}

/** Plug a pci-testdev, let the sample probe, unbind it. */
export async function runRustDma(narrate: Narrate, { iommu = "passthrough" }: { iommu?: IommuMode } = {}): Promise<RustDmaRun> {
  const machine = new Machine({ iommu });
  const stop = follow(machine, narrate);
  let table: SgTableInfo | undefined;
  await machine.pci.register(rustDmaDriver(narrate, (t) => (table = t)));
  const dev = machine.pci.plug(new PciTestdevModel("0000:00:08.0"));
  await machine.settled();
  await machine.pci.unbind(dev);
  stop();
  return { machine, table };
}
