/**
 * PCI configuration space: the 4 KiB every simulated PCI function answers
 * config reads and writes with. The standard type 0 header (ids, command,
 * status, class, the BARs, the interrupt line and pin), and a capability list
 * from 0x40: a PCI Express capability that offers function-level reset, an
 * MSI-X capability when the model has MSI-X vectors, and the model's own
 * vendor-specific capabilities. Extended space (0x100 up) has no capability
 * of its own.
 *
 * Each byte has a mask of the bits software may write and a mask of the bits
 * it clears by writing one (RW1C); every other bit is read-only and ignores
 * writes. Registers with side effects tell the device (`ConfigEvents`): the
 * command register's bus-master bit is the device's bus mastering; a write of
 * the PCI Express "initiate function-level reset" bit resets the function.
 *
 * Firmware leaves each function with memory decoding on (the command
 * register's memory-space bit) and its BARs assigned, as a PC's firmware
 * does for the devices it finds, so a driver that maps a BAR without
 * enabling the device first still reaches its registers.
 *
 * Kernel: the hardware side of `pci_read_config_*`/`pci_write_config_*`,
 * with the registers of `include/uapi/linux/pci_regs.h` (`pciRegs`). QEMU's
 * `PCIDevice.config` with its `wmask` and `w1cmask` is the closest model.
 *
 * # Invariants
 * - A read returns the stored bytes, but inside a vendor capability's body
 *   or extended space, where the model's hook answers; the capability list
 *   itself is never the model's to change.
 * - A write changes only writable bits, and clears only RW1C bits written as
 *   one.
 * - The command register's bus-master bit is `busMaster`: there is no other
 *   copy of it.
 * - A function-level reset puts every register back to its power-on value.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import { pciRegs } from "../driver/pci.js";

/**
 * A config access width in bytes, as a model's `configRead`/`configWrite`
 * hooks receive it.
 *
 * @example
 * ```ts
 * class Virtio extends DeviceModel {
 *   override configRead(offset: number, width: ConfigWidth, stored: number): number {
 *     return width === 1 && offset === 0x100 ? 0 : stored;
 *   }
 * }
 * ```
 */
export type ConfigWidth = 1 | 2 | 4;

/** The size of a PCI Express function's config space. */
export const CONFIG_SPACE_SIZE = 4096;

/**
 * A vendor-specific capability a model adds to its config space: the
 * capability id, 0x09, and the body, the bytes after the three-byte header
 * (id, next pointer, length), which the config space fills in.
 *
 * @example
 * ```ts
 * // A virtio-style capability: cfg_type 1 (common config) in BAR 0 at 0x0, 0x38 bytes.
 * const common: PciCapabilitySpec = { id: 0x09, bytes: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x38, 0, 0, 0) };
 * const model = new DeviceModel({ vendor: 0x1af4, device: 0x1041, bars: [0x1000], capabilities: [common] });
 * ```
 */
export interface PciCapabilitySpec {
  /** The capability id: 0x09, vendor-specific (`pciRegs.CAP_ID_VNDR`). */
  readonly id: number;
  /** The body after the header: at most 252 bytes (the length byte counts the header too). */
  readonly bytes: Uint8Array;
}

/** Where the PCI Express capability sits, and its length (a version 2 endpoint's). */
const PCIE_CAP = 0x40;
const PCIE_CAP_LENGTH = 0x3c;
/** The MSI-X capability's length: header, message control, table and PBA. */
const MSIX_CAP_LENGTH = 12;
/** The longest vendor capability body: its length byte counts the three header bytes too. */
export const MAX_VENDOR_BODY = 0xff - 3;

/** What the config space is built from: the model's spec, as `DeviceModel` checked it. */
export interface ConfigLayout {
  readonly vendor: number;
  readonly device: number;
  readonly revision: number;
  /** The 24-bit class code: base class, subclass, programming interface. */
  readonly classCode: number;
  readonly bars: readonly number[];
  /** MSI-X table size; 0 for none. */
  readonly msix: number;
  readonly capabilities: readonly PciCapabilitySpec[];
}

/** What the config space tells the device it belongs to. */
export interface ConfigEvents {
  /** The command register's bus-master bit changed through a config write or a reset. */
  busMasterChanged(on: boolean): void;
  /** Software initiated a function-level reset; the registers are at their power-on values already. */
  functionReset(): void;
  /** A read inside a vendor capability's body or extended space: the model's answer, given what is stored. */
  hookRead(offset: number, width: ConfigWidth, stored: number): number;
  /** A write inside a vendor capability's body or extended space, for the model. */
  hookWrite(offset: number, width: ConfigWidth, value: number): void;
}

/** Where the capabilities go after the fixed ones, and where each vendor capability lands. */
function capabilityOffsets(msix: number, capabilities: readonly PciCapabilitySpec[]): { readonly msixAt: number; readonly vendorAt: readonly number[]; readonly end: number } {
  const msixAt = msix > 0 ? PCIE_CAP + PCIE_CAP_LENGTH : 0;
  let at = msix > 0 ? msixAt + MSIX_CAP_LENGTH : PCIE_CAP + PCIE_CAP_LENGTH;
  const vendorAt: number[] = [];
  for (const cap of capabilities) {
    vendorAt.push(at);
    // Each capability starts on a dword boundary (the low two bits of a next pointer are reserved).
    at += (3 + cap.bytes.length + 3) & ~3;
  }
  return { msixAt, vendorAt, end: at };
}

/**
 * Checks a model's capabilities and returns a frozen copy whose bytes the
 * model can no longer change. Covers a spec from JavaScript or a computed
 * one: the types say neither which ids are allowed nor how much fits in the
 * 192 bytes of the standard capability area.
 */
export function checkCapabilities(capabilities: unknown, msix: number): readonly PciCapabilitySpec[] {
  if (capabilities === undefined) return Object.freeze([]);
  if (!Array.isArray(capabilities)) {
    throw fail("EINVAL", `DeviceModel: capabilities must be an array of { id: 0x09, bytes: Uint8Array }, got ${describe(capabilities)}.`);
  }
  const copies: PciCapabilitySpec[] = [];
  // A dense copy: a sparse array's holes would otherwise be skipped.
  for (const [i, cap] of Array.from(capabilities as unknown[]).entries()) {
    if (typeof cap !== "object" || cap === null) {
      throw fail("EINVAL", `DeviceModel: capabilities[${i}] must be { id: 0x09, bytes: Uint8Array }, got ${describe(cap)}.`);
    }
    const { id, bytes } = cap as { id?: unknown; bytes?: unknown };
    if (id !== pciRegs.CAP_ID_VNDR) {
      throw fail("EINVAL", `DeviceModel: capabilities[${i}].id is ${describe(id)}; a model adds only vendor-specific capabilities (id 0x09). The PCI Express and MSI-X capabilities come from the config space itself.`);
    }
    if (!(bytes instanceof Uint8Array) || bytes.length > MAX_VENDOR_BODY) {
      throw fail("EINVAL", `DeviceModel: capabilities[${i}].bytes must be a Uint8Array of at most ${MAX_VENDOR_BODY} bytes (the body after the 3-byte header), got ${describe(bytes)}${bytes instanceof Uint8Array ? ` of ${bytes.length} bytes` : ""}.`);
    }
    copies.push(Object.freeze({ id, bytes: Uint8Array.from(bytes) }));
  }
  const { end } = capabilityOffsets(msix, copies);
  if (end > 0x100) {
    throw fail("EINVAL", `DeviceModel: the vendor capabilities take ${end - capabilityOffsets(msix, []).end} bytes with their headers, but only ${0x100 - capabilityOffsets(msix, []).end} are left in the standard capability area (up to 0x100).`);
  }
  return Object.freeze(copies);
}

/** The bits software may write in a BAR of `size` bytes: the address bits above the size, none for a BAR a 32-bit BAR cannot hold. */
function barWritable(size: number): number {
  return size <= 0x8000_0000 ? ~(size - 1) & 0xffff_fff0 : 0;
}

/** A function's config space. */
export class ConfigSpace {
  readonly #layout: ConfigLayout;
  readonly #events: ConfigEvents;
  readonly #bytes = new Uint8Array(CONFIG_SPACE_SIZE);
  /** The power-on values, for a function-level reset. */
  readonly #initial = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Per byte: the bits a write sets or clears. */
  readonly #writable = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Per byte: the bits a write of one clears. */
  readonly #clearable = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Per byte: true where the model's hook answers (vendor capability bodies, extended space). */
  readonly #hooked = new Uint8Array(CONFIG_SPACE_SIZE);
  /** Where the MSI-X capability sits; 0 for none. */
  readonly msixAt: number;

  constructor(layout: ConfigLayout, events: ConfigEvents) {
    this.#layout = layout;
    this.#events = events;
    const { msixAt, vendorAt } = capabilityOffsets(layout.msix, layout.capabilities);
    this.msixAt = msixAt;
    const r = pciRegs;
    const init = this.#initial;
    this.#set(init, r.VENDOR_ID, 2, layout.vendor);
    this.#set(init, r.DEVICE_ID, 2, layout.device);
    // Firmware turned memory decoding on (see the module comment).
    this.#set(init, r.COMMAND, 2, r.COMMAND_MEMORY);
    this.#mask(this.#writable, r.COMMAND, 2, r.COMMAND_MEMORY | r.COMMAND_MASTER | r.COMMAND_PARITY | r.COMMAND_SERR | r.COMMAND_INTX_DISABLE);
    this.#set(init, r.STATUS, 2, r.STATUS_CAP_LIST);
    this.#mask(this.#clearable, r.STATUS, 2, STATUS_RW1C);
    this.#set(init, r.REVISION_ID, 1, layout.revision);
    this.#set(init, r.CLASS_PROG, 1, layout.classCode & 0xff);
    this.#set(init, r.CLASS_DEVICE, 2, layout.classCode >>> 8);
    this.#mask(this.#writable, r.CACHE_LINE_SIZE, 1, 0xff);
    // Firmware assigned each BAR a naturally aligned address (nothing decodes it: MMIO goes through iomap).
    let next = 0x8000_0000;
    layout.bars.forEach((size, i) => {
      const writable = barWritable(size);
      if (writable === 0) return;
      const address = Math.ceil(next / size) * size;
      next = address + size;
      this.#set(init, r.BASE_ADDRESS_0 + 4 * i, 4, address < 2 ** 32 ? address : 0);
      this.#mask(this.#writable, r.BASE_ADDRESS_0 + 4 * i, 4, writable);
    });
    this.#set(init, r.SUBSYSTEM_VENDOR_ID, 2, layout.vendor);
    this.#set(init, r.SUBSYSTEM_ID, 2, layout.device);
    this.#set(init, r.CAPABILITY_LIST, 1, PCIE_CAP);
    this.#set(init, r.INTERRUPT_PIN, 1, 1);
    this.#mask(this.#writable, r.INTERRUPT_LINE, 1, 0xff);
    // The PCI Express capability: a version 2 endpoint that offers function-level reset.
    const chain = [PCIE_CAP, ...(msixAt > 0 ? [msixAt] : []), ...vendorAt];
    this.#set(init, PCIE_CAP, 1, r.CAP_ID_EXP);
    this.#set(init, PCIE_CAP + r.EXP_FLAGS, 2, 2);
    this.#set(init, PCIE_CAP + r.EXP_DEVCAP, 4, r.EXP_DEVCAP_FLR);
    this.#set(init, PCIE_CAP + r.EXP_DEVCTL, 2, DEVCTL_DEFAULT);
    this.#mask(this.#writable, PCIE_CAP + r.EXP_DEVCTL, 2, DEVCTL_WRITABLE);
    this.#mask(this.#clearable, PCIE_CAP + r.EXP_DEVSTA, 2, DEVSTA_RW1C);
    if (msixAt > 0) {
      const { table, pba } = msixPlacement(layout.bars, layout.msix);
      this.#set(init, msixAt, 1, r.CAP_ID_MSIX);
      this.#set(init, msixAt + r.MSIX_FLAGS, 2, layout.msix - 1);
      this.#mask(this.#writable, msixAt + r.MSIX_FLAGS, 2, r.MSIX_FLAGS_ENABLE | r.MSIX_FLAGS_MASKALL);
      this.#set(init, msixAt + r.MSIX_TABLE, 4, table);
      this.#set(init, msixAt + r.MSIX_PBA, 4, pba);
    }
    layout.capabilities.forEach((cap, i) => {
      const at = vendorAt[i]!;
      this.#set(init, at, 1, cap.id);
      this.#set(init, at + 2, 1, 3 + cap.bytes.length);
      init.set(cap.bytes, at + 3);
      this.#hooked.fill(1, at + 3, at + 3 + cap.bytes.length);
    });
    chain.forEach((at, i) => this.#set(init, at + 1, 1, chain[i + 1] ?? 0));
    this.#hooked.fill(1, 0x100);
    this.#bytes.set(init);
  }

  /** Reads `width` bytes at `offset` (aligned, inside the space: the caller checked). */
  read(offset: number, width: ConfigWidth): number {
    const stored = this.#get(this.#bytes, offset, width);
    if (!this.#touchesHook(offset, width)) return stored;
    const answer = this.#events.hookRead(offset, width, stored);
    // Covers a model in JavaScript, or one that computes its answer: the return type says number, not which.
    if (!Number.isInteger(answer) || answer < 0 || answer > WIDTH_MAX[width]) {
      throw fail("EINVAL", `config read${width * 8}(0x${offset.toString(16)}): the device model's configRead returned ${describe(answer)}, not a whole number from 0 to 0x${WIDTH_MAX[width].toString(16)}.`);
    }
    // The model answers for its hooked bytes only: the capability headers stay the list's.
    let merged = 0;
    for (let i = 0; i < width; i++) {
      const byte = this.#hooked[offset + i] === 1 ? (answer >>> (8 * i)) & 0xff : this.#bytes[offset + i]!;
      merged |= byte << (8 * i);
    }
    return merged >>> 0;
  }

  /** Writes `value` (in range: the caller checked) as `width` bytes at `offset`. */
  write(offset: number, width: ConfigWidth, value: number): void {
    const r = pciRegs;
    const wasMaster = this.busMaster;
    // The FLR bit is bit 7 of Device Control's high byte; a write of one there resets the function.
    const flrByte = PCIE_CAP + r.EXP_DEVCTL + 1;
    const flr = offset <= flrByte && flrByte < offset + width && ((value >>> (8 * (flrByte - offset))) & (r.EXP_DEVCTL_BCR_FLR >>> 8)) !== 0;
    for (let i = 0; i < width; i++) {
      const at = offset + i;
      const byte = (value >>> (8 * i)) & 0xff;
      const w = this.#writable[at]!;
      const c = this.#clearable[at]!;
      this.#bytes[at] = ((this.#bytes[at]! & ~w) | (byte & w)) & ~(byte & c);
    }
    if (this.#touchesHook(offset, width)) this.#events.hookWrite(offset, width, value);
    if (flr) {
      this.reset();
      return;
    }
    if (this.busMaster !== wasMaster) this.#events.busMasterChanged(this.busMaster);
  }

  /**
   * A function-level reset: every register goes back to its power-on value.
   * The device hears bus mastering go off first, then the reset.
   */
  reset(): void {
    const wasMaster = this.busMaster;
    this.#bytes.set(this.#initial);
    if (wasMaster) this.#events.busMasterChanged(false);
    this.#events.functionReset();
  }

  /** The device sets RW1C status bits (an error it saw): `bits` of the 16-bit register at `offset`. */
  raise(offset: number, bits: number): void {
    for (let i = 0; i < 2; i++) this.#bytes[offset + i]! |= ((bits >>> (8 * i)) & 0xff) & this.#clearable[offset + i]!;
  }

  /** The command register's bus-master bit: the device's bus mastering. */
  get busMaster(): boolean {
    return (this.#bytes[pciRegs.COMMAND]! & pciRegs.COMMAND_MASTER) !== 0;
  }

  /** Sets the bus-master bit without telling the device (the caller tells it). */
  setBusMaster(on: boolean): void {
    if (on) this.#bytes[pciRegs.COMMAND]! |= pciRegs.COMMAND_MASTER;
    else this.#bytes[pciRegs.COMMAND]! &= ~pciRegs.COMMAND_MASTER;
  }

  /** The command register's memory-space bit: the device answers MMIO only while it is on. */
  get memoryEnabled(): boolean {
    return (this.#bytes[pciRegs.COMMAND]! & pciRegs.COMMAND_MEMORY) !== 0;
  }

  /** The command register's INTx-disable bit: the legacy line stays quiet while it is on. */
  get intxDisabled(): boolean {
    return (this.#bytes[pciRegs.COMMAND + 1]! & (pciRegs.COMMAND_INTX_DISABLE >>> 8)) !== 0;
  }

  /** The MSI-X enable bit; false for a device without MSI-X. */
  get msixEnabled(): boolean {
    return this.msixAt > 0 && (this.#get(this.#bytes, this.msixAt + pciRegs.MSIX_FLAGS, 2) & pciRegs.MSIX_FLAGS_ENABLE) !== 0;
  }

  /** The MSI-X function mask bit: no vector is delivered while it is on. */
  get msixMasked(): boolean {
    return this.msixAt > 0 && (this.#get(this.#bytes, this.msixAt + pciRegs.MSIX_FLAGS, 2) & pciRegs.MSIX_FLAGS_MASKALL) !== 0;
  }

  /** Sets the MSI-X enable and mask bits, as the platform's MSI-X set-up does; no-op without MSI-X. */
  setMsix(enabled: boolean, masked: boolean): void {
    if (this.msixAt === 0) return;
    const at = this.msixAt + pciRegs.MSIX_FLAGS;
    const control = this.#get(this.#bytes, at, 2) & ~(pciRegs.MSIX_FLAGS_ENABLE | pciRegs.MSIX_FLAGS_MASKALL);
    this.#set(this.#bytes, at, 2, control | (enabled ? pciRegs.MSIX_FLAGS_ENABLE : 0) | (masked ? pciRegs.MSIX_FLAGS_MASKALL : 0));
  }

  /** The layout it was built from. */
  get layout(): ConfigLayout {
    return this.#layout;
  }

  #touchesHook(offset: number, width: ConfigWidth): boolean {
    for (let i = 0; i < width; i++) if (this.#hooked[offset + i] === 1) return true;
    return false;
  }

  #get(bytes: Uint8Array, offset: number, width: number): number {
    let value = 0;
    for (let i = 0; i < width; i++) value |= bytes[offset + i]! << (8 * i);
    return value >>> 0;
  }

  #set(bytes: Uint8Array, offset: number, width: number, value: number): void {
    for (let i = 0; i < width; i++) bytes[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  #mask(masks: Uint8Array, offset: number, width: number, bits: number): void {
    this.#set(masks, offset, width, bits);
  }
}

/** The largest value of each width. */
const WIDTH_MAX = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;

/** Status bits a device sets on an error and software clears by writing one. */
const STATUS_RW1C = 0x8000 | 0x4000 | 0x2000 | 0x1000 | 0x0800 | 0x0100;

/** Device Control at power-on: relaxed ordering and no-snoop allowed, 512-byte read requests. */
const DEVCTL_DEFAULT = 0x2810;
/** Device Control bits software may write (the FLR bit is a command, read as zero). */
const DEVCTL_WRITABLE = 0x7fff;
/** Device Status error bits: correctable, non-fatal, fatal, unsupported request. */
const DEVSTA_RW1C = 0x000f;

/**
 * Where the MSI-X capability says the table and the PBA are: at the top of
 * the last BAR, where they leave the model's registers alone, or at the
 * start of BAR 0 when no BAR is large enough. The simulated table is not in
 * MMIO: the platform programs the vectors (`allocIrqVectors`), so these are
 * what a driver reads, nothing more.
 */
function msixPlacement(bars: readonly number[], vectors: number): { readonly table: number; readonly pba: number } {
  const tableBytes = 16 * vectors;
  const pbaBytes = 8 * Math.ceil(vectors / 64);
  const bir = bars.length > 0 ? bars.length - 1 : 0;
  const size = bars[bir] ?? 0;
  const table = size >= tableBytes + pbaBytes && size <= 0x8000_0000 ? size - tableBytes - pbaBytes : 0;
  return { table: (table | bir) >>> 0, pba: ((table + tableBytes) | bir) >>> 0 };
}
