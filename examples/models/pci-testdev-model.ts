/**
 * pci-testdev-model: QEMU's `pci-testdev` (`-device pci-testdev`), the device
 * Rust-for-Linux's `samples/rust/rust_dma.rs` binds to, for
 * examples/rust-dma.ts.
 *
 * In QEMU it is a Red Hat PCI function (1b36:0005) with a memory BAR and an
 * I/O BAR whose registers exercise ioeventfd. The sample touches neither, and
 * does no DMA of its own with it: it needs only a device to bind to, so this
 * model has the ids and the two BARs (both MMIO here), reading zero.
 */

import { DeviceModel } from "boundscope";

/** The PCI ids of QEMU's pci-testdev: PCI_VENDOR_ID_REDHAT, PCI_DEVICE_ID_REDHAT_TEST. */
export const PCI_TESTDEV_ID = { vendor: 0x1b36, device: 0x0005 } as const;

export class PciTestdevModel extends DeviceModel {
  constructor(name?: string) {
    // BAR 0: 2 KiB of test registers; BAR 1: 256 bytes (an I/O BAR in QEMU).
    super({ ...PCI_TESTDEV_ID, ...(name === undefined ? {} : { name }), bars: [0x800, 0x100] });
  }
}
