/**
 * PCI as a driver sees it: config space reads and writes, the capability
 * list, enabling and disabling the device, and function-level reset.
 *
 * Kernel: `pci_read_config_{byte,word,dword}`,
 * `pci_write_config_{byte,word,dword}`, `pci_find_capability`,
 * `pci_find_next_capability`, `pci_enable_device`, `pcim_enable_device`,
 * `pci_disable_device` and `pci_reset_function`, with the register names of
 * `include/uapi/linux/pci_regs.h` ({@link pciRegs}).
 *
 * Contexts: config reads and writes take any live token (`BoundDevice`), as
 * the kernel's config accessors work in atomic context too; enabling and
 * disabling are core-only (`ProbeDevice`: probe and remove); a reset sleeps
 * 100 ms, so it takes a `SleepableDevice` (probe, remove, a task).
 *
 * Firmware leaves memory decoding on and the BARs assigned, so `iomap`
 * works without `pciEnableDevice`, as drivers written before it expect.
 * `pciEnableDevice` turns memory decoding on again if the driver turned it
 * off, and counts; `pciDisableDevice` turns bus mastering off when the
 * count drops to zero, as the kernel's does. Turning memory decoding off
 * (a config write of the command register) makes MMIO reads all-ones and
 * drops writes, as on a real bus.
 *
 * # Invariants
 * - Every access checks the token first (`ENXIO` dead, `EPERM` forged),
 *   then the offset (inside the 4 KiB, aligned to its width) and the value
 *   (fits the width): `EINVAL`, and nothing is read or written.
 * - Once the device is gone, reads are all-ones and writes are dropped.
 * - One function-level reset of a device runs at a time.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { Binding } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import { mightSleep } from "./context.js";
import type { BoundDevice, ProbeDevice, SleepableDevice } from "./device.js";
import type { DevicePort } from "./ports.js";

/**
 * The config space registers and bits, by their kernel names without the
 * `PCI_` prefix (`PCI_COMMAND_MASTER` is `pciRegs.COMMAND_MASTER`). Offsets
 * inside a capability (`EXP_*`, `MSIX_*`) are from the capability's start.
 *
 * @example
 * ```ts
 * const command = pciReadConfigWord(dev, pciRegs.COMMAND);
 * const mastering = (command & pciRegs.COMMAND_MASTER) !== 0;
 * ```
 */
export const pciRegs = Object.freeze({
  VENDOR_ID: 0x00,
  DEVICE_ID: 0x02,
  COMMAND: 0x04,
  COMMAND_IO: 0x1,
  COMMAND_MEMORY: 0x2,
  COMMAND_MASTER: 0x4,
  COMMAND_PARITY: 0x40,
  COMMAND_SERR: 0x100,
  COMMAND_INTX_DISABLE: 0x400,
  STATUS: 0x06,
  STATUS_INTERRUPT: 0x8,
  STATUS_CAP_LIST: 0x10,
  STATUS_PARITY: 0x100,
  STATUS_SIG_TARGET_ABORT: 0x800,
  STATUS_REC_TARGET_ABORT: 0x1000,
  STATUS_REC_MASTER_ABORT: 0x2000,
  STATUS_SIG_SYSTEM_ERROR: 0x4000,
  STATUS_DETECTED_PARITY: 0x8000,
  REVISION_ID: 0x08,
  CLASS_PROG: 0x09,
  CLASS_DEVICE: 0x0a,
  CACHE_LINE_SIZE: 0x0c,
  LATENCY_TIMER: 0x0d,
  HEADER_TYPE: 0x0e,
  BIST: 0x0f,
  BASE_ADDRESS_0: 0x10,
  BASE_ADDRESS_SPACE_IO: 0x1,
  BASE_ADDRESS_MEM_TYPE_64: 0x4,
  BASE_ADDRESS_MEM_PREFETCH: 0x8,
  BASE_ADDRESS_MEM_MASK: 0xffff_fff0,
  SUBSYSTEM_VENDOR_ID: 0x2c,
  SUBSYSTEM_ID: 0x2e,
  CAPABILITY_LIST: 0x34,
  INTERRUPT_LINE: 0x3c,
  INTERRUPT_PIN: 0x3d,
  CAP_LIST_ID: 0,
  CAP_LIST_NEXT: 1,
  CAP_ID_VNDR: 0x09,
  CAP_ID_EXP: 0x10,
  CAP_ID_MSIX: 0x11,
  EXP_FLAGS: 0x02,
  EXP_DEVCAP: 0x04,
  EXP_DEVCAP_FLR: 0x1000_0000,
  EXP_DEVCTL: 0x08,
  EXP_DEVCTL_BCR_FLR: 0x8000,
  EXP_DEVSTA: 0x0a,
  MSIX_FLAGS: 0x02,
  MSIX_FLAGS_QSIZE: 0x07ff,
  MSIX_FLAGS_MASKALL: 0x4000,
  MSIX_FLAGS_ENABLE: 0x8000,
  MSIX_TABLE: 0x04,
  MSIX_TABLE_BIR: 0x7,
  MSIX_TABLE_OFFSET: 0xffff_fff8,
  MSIX_PBA: 0x08,
} as const);

/** A config access width in bytes. */
type Width = 1 | 2 | 4;

/** The size of a PCI Express function's config space. */
const CONFIG_SIZE = 4096;
const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;
const WIDTH_NAME = ["", "Byte", "Word", "", "Dword"] as const;

/** How long a function-level reset takes: the PCI Express spec's 100 ms before the function may be accessed again. */
export const FLR_NS = 100_000_000;

/**
 * Checks a config access and returns the port. Covers what the types cannot
 * see: a dead or forged token (through a closure, `any`), and an offset from
 * arithmetic or `any` (`number` says neither the range nor the alignment).
 */
function access(dev: unknown, offset: number, width: Width, write: boolean): { readonly binding: Binding; readonly port: DevicePort } {
  const name = `pci${write ? "Write" : "Read"}Config${WIDTH_NAME[width]}`;
  const binding = liveBinding(dev, name);
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0 || offset + width > CONFIG_SIZE) {
    throw fail("EINVAL", `${name}(${describe(offset)}): ${binding.describe()}: config space has ${CONFIG_SIZE} bytes; the offset must be a whole number from 0 to ${CONFIG_SIZE - width}.`);
  }
  if (offset % width !== 0) {
    throw fail("EINVAL", `${name}(0x${offset.toString(16)}): ${binding.describe()}: a ${width}-byte config access must be ${width}-byte aligned.`);
  }
  return { binding, port: binding.port };
}

function read(dev: unknown, offset: number, width: Width): number {
  const { port } = access(dev, offset, width, false);
  return port.present ? port.configRead(offset, width) : ALL_ONES[width];
}

function write(dev: unknown, offset: number, width: Width, value: number): void {
  const { binding, port } = access(dev, offset, width, true);
  // Covers a value from arithmetic or `any`: `number` admits fractions, negatives and values wider than the register.
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > ALL_ONES[width]) {
    throw fail("EINVAL", `pciWriteConfig${WIDTH_NAME[width]}(0x${offset.toString(16)}, ${describe(value)}): ${binding.describe()}: the value must be a whole number from 0 to 0x${ALL_ONES[width].toString(16)}.`);
  }
  if (port.present) port.configWrite(offset, width, value);
}

/**
 * Reads the config byte at `offset` (`pci_read_config_byte`): 0xff once the
 * device is gone. Any live token; `EINVAL` for an offset outside 0 to 4095.
 *
 * @example
 * ```ts
 * const pin = pciReadConfigByte(dev, pciRegs.INTERRUPT_PIN);   // 1: INTA#
 * ```
 */
export const pciReadConfigByte = <Scope>(dev: BoundDevice<Scope>, offset: number): number => read(dev, offset, 1);

/**
 * Reads the config word at `offset` (`pci_read_config_word`): 0xffff once the
 * device is gone. `EINVAL` for an offset outside the 4 KiB or not 2-aligned.
 *
 * @example
 * ```ts
 * if (pciReadConfigWord(dev, pciRegs.VENDOR_ID) === 0xffff) console.log("the device is gone");
 * ```
 */
export const pciReadConfigWord = <Scope>(dev: BoundDevice<Scope>, offset: number): number => read(dev, offset, 2);

/**
 * Reads the config dword at `offset` (`pci_read_config_dword`): 0xffffffff
 * once the device is gone. `EINVAL` for an offset outside the 4 KiB or not
 * 4-aligned.
 *
 * @example
 * ```ts
 * const bar0 = pciReadConfigDword(dev, pciRegs.BASE_ADDRESS_0) & pciRegs.BASE_ADDRESS_MEM_MASK;
 * ```
 */
export const pciReadConfigDword = <Scope>(dev: BoundDevice<Scope>, offset: number): number => read(dev, offset, 4);

/**
 * Writes the config byte at `offset` (`pci_write_config_byte`); dropped once
 * the device is gone. Read-only bits ignore the write. `EINVAL` for an offset
 * outside the 4 KiB or a value outside 0 to 0xff.
 *
 * @example
 * ```ts
 * pciWriteConfigByte(dev, pciRegs.CACHE_LINE_SIZE, 64 / 4);   // in dwords
 * ```
 */
export const pciWriteConfigByte = <Scope>(dev: BoundDevice<Scope>, offset: number, value: number): void => write(dev, offset, 1, value);

/**
 * Writes the config word at `offset` (`pci_write_config_word`); dropped once
 * the device is gone. Read-only bits ignore the write; status bits clear
 * where written with one. The command register's bus-master bit is the
 * device's bus mastering (`enableBusMaster`). `EINVAL` for a bad offset or a
 * value outside 0 to 0xffff.
 *
 * @example
 * ```ts
 * const status = pciReadConfigWord(dev, pciRegs.STATUS);
 * pciWriteConfigWord(dev, pciRegs.STATUS, status & pciRegs.STATUS_REC_MASTER_ABORT);   // clear that error bit
 * ```
 */
export const pciWriteConfigWord = <Scope>(dev: BoundDevice<Scope>, offset: number, value: number): void => write(dev, offset, 2, value);

/**
 * Writes the config dword at `offset` (`pci_write_config_dword`); dropped
 * once the device is gone. Writing all-ones to a BAR and reading it back
 * gives its size mask, as BAR sizing does. `EINVAL` for a bad offset or a
 * value outside 0 to 0xffffffff.
 *
 * @example
 * ```ts
 * const bar = pciRegs.BASE_ADDRESS_0;
 * const saved = pciReadConfigDword(dev, bar);
 * pciWriteConfigDword(dev, bar, 0xffff_ffff);
 * const size = (~(pciReadConfigDword(dev, bar) & pciRegs.BASE_ADDRESS_MEM_MASK) >>> 0) + 1;
 * pciWriteConfigDword(dev, bar, saved);
 * ```
 */
export const pciWriteConfigDword = <Scope>(dev: BoundDevice<Scope>, offset: number, value: number): void => write(dev, offset, 4, value);

/** The most capabilities a walk visits: the kernel's bound, which stops a list that loops. */
const CAP_TTL = 48;

/** Checks a capability id. Covers an id from arithmetic or `any`: `number` admits anything. */
function checkId(binding: Binding, name: string, id: number): void {
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 0xff) {
    throw fail("EINVAL", `${name}: ${binding.describe()}: a capability id is a whole number from 0 to 0xff, got ${describe(id)}.`);
  }
}

/** Walks the list from the pointer at `from`, returning the offset of the first capability `id`, or 0. */
function walk(dev: unknown, from: number, id: number): number {
  let at = read(dev, from, 1) & ~3;
  for (let ttl = CAP_TTL; ttl > 0 && at >= 0x40; ttl--) {
    const found = read(dev, at + pciRegs.CAP_LIST_ID, 1);
    if (found === 0xff) return 0;
    if (found === id) return at;
    at = read(dev, at + pciRegs.CAP_LIST_NEXT, 1) & ~3;
  }
  return 0;
}

/**
 * The offset of the device's first capability `id` in config space
 * (`pci_find_capability`), or 0 if it has none. Any live token.
 *
 * @example
 * ```ts
 * const msix = pciFindCapability(dev, pciRegs.CAP_ID_MSIX);
 * const vectors = msix === 0 ? 0 : (pciReadConfigWord(dev, msix + pciRegs.MSIX_FLAGS) & pciRegs.MSIX_FLAGS_QSIZE) + 1;
 * ```
 */
export const pciFindCapability = <Scope>(dev: BoundDevice<Scope>, id: number): number => {
  const binding = liveBinding(dev, "pciFindCapability");
  checkId(binding, "pciFindCapability", id);
  if ((read(dev, pciRegs.STATUS, 2) & pciRegs.STATUS_CAP_LIST) === 0) return 0;
  return walk(dev, pciRegs.CAPABILITY_LIST, id);
};

/**
 * The offset of the next capability `id` after the one at `position`
 * (`pci_find_next_capability`), or 0. For walking every vendor capability.
 * `EINVAL` for a position outside the standard capability area (0x40 to
 * 0xfc, dword-aligned).
 *
 * @example
 * ```ts
 * for (let at = pciFindCapability(dev, pciRegs.CAP_ID_VNDR); at !== 0; at = pciFindNextCapability(dev, at, pciRegs.CAP_ID_VNDR)) {
 *   console.log(`vendor capability at 0x${at.toString(16)}, type ${pciReadConfigByte(dev, at + 3)}`);
 * }
 * ```
 */
export const pciFindNextCapability = <Scope>(dev: BoundDevice<Scope>, position: number, id: number): number => {
  const binding = liveBinding(dev, "pciFindNextCapability");
  checkId(binding, "pciFindNextCapability", id);
  // Covers a position from arithmetic or `any`: a capability starts dword-aligned in 0x40..0xfc.
  if (typeof position !== "number" || !Number.isInteger(position) || position < 0x40 || position > 0xfc || position % 4 !== 0) {
    throw fail("EINVAL", `pciFindNextCapability(${describe(position)}): ${binding.describe()}: a capability's position is a dword-aligned offset from 0x40 to 0xfc.`);
  }
  return walk(dev, position + pciRegs.CAP_LIST_NEXT, id);
};

/** How many times each device was enabled (`pci_dev.enable_cnt`). */
const enableCounts = new WeakMap<DevicePort, number>();

/** Memory decoding on, once more enabled. */
function enable(binding: Binding): void {
  const { port } = binding;
  if (!port.present) throw fail("ENXIO", `pciEnableDevice: ${binding.describe()}: the device is gone.`);
  const count = enableCounts.get(port) ?? 0;
  enableCounts.set(port, count + 1);
  const command = port.configRead(pciRegs.COMMAND, 2);
  if ((command & pciRegs.COMMAND_MEMORY) === 0) port.configWrite(pciRegs.COMMAND, 2, command | pciRegs.COMMAND_MEMORY);
}

/** Once less enabled; at zero, bus mastering off. */
function disable(binding: Binding): void {
  const { port } = binding;
  const count = enableCounts.get(port) ?? 0;
  enableCounts.set(port, count - 1);
  if (count === 1 && port.present && port.busMaster) port.setBusMaster(false);
}

/**
 * Enables the device (`pci_enable_device`): memory decoding on (firmware
 * left it on; this turns it on again if the driver turned it off), and one
 * more enable counted. Not device-managed: balance it with
 * `pciDisableDevice`, or use `pcimEnableDevice`. Core-only. `ENXIO` once the
 * device is gone.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     pciEnableDevice(dev);
 *     return { remove: (dev) => pciDisableDevice(dev) };
 *   },
 * });
 * ```
 */
export const pciEnableDevice = <Scope>(dev: ProbeDevice<Scope>): void => {
  enable(coreBinding(dev, "pciEnableDevice"));
};

/**
 * Enables the device, device-managed (`pcim_enable_device`): as
 * `pciEnableDevice`, and at unbind devres disables it (bus mastering off)
 * unless the driver did. Core-only.
 *
 * @example
 * ```ts
 * defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe(dev) { pcimEnableDevice(dev); enableBusMaster(dev); return {}; } });
 * ```
 */
export const pcimEnableDevice = <Scope>(dev: ProbeDevice<Scope>): void => {
  const binding = coreBinding(dev, "pcimEnableDevice");
  enable(binding);
  const { port } = binding;
  // The managed enable is taken back once: by the driver's pciDisableDevice or by this release, whichever comes first.
  const managed = { label: "enabled PCI device", kind: "pci-enable" as const, release: () => ((enableCounts.get(port) ?? 0) > 0 ? disable(binding) : undefined) };
  binding.devres.add(managed);
};

/**
 * Disables the device (`pci_disable_device`): one enable less, and at zero
 * bus mastering off, so the device's DMA stops. Memory decoding stays, as in
 * the kernel. Core-only. `EINVAL` if the device is not enabled.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     pciEnableDevice(dev);
 *     return { remove: (dev) => pciDisableDevice(dev) };
 *   },
 * });
 * ```
 */
export const pciDisableDevice = <Scope>(dev: ProbeDevice<Scope>): void => {
  const binding = coreBinding(dev, "pciDisableDevice");
  // Covers an unbalanced disable: the kernel warns "disabling already-disabled device".
  if ((enableCounts.get(binding.port) ?? 0) === 0) {
    throw fail("EINVAL", `pciDisableDevice: ${binding.describe()}: the device is not enabled. Balance each pciEnableDevice with one pciDisableDevice.`);
  }
  disable(binding);
};

/** Devices a function-level reset runs on now. */
const resetting = new WeakSet<DevicePort>();

/** The registers a reset saves and restores, as `pci_save_state` does: offset and width. */
function savedRegisters(exp: number, msix: number): readonly (readonly [number, Width])[] {
  return [
    ...[0, 1, 2, 3, 4, 5].map((i) => [pciRegs.BASE_ADDRESS_0 + 4 * i, 4] as const),
    [pciRegs.CACHE_LINE_SIZE, 1],
    [pciRegs.INTERRUPT_LINE, 1],
    [exp + pciRegs.EXP_DEVCTL, 2],
    ...(msix === 0 ? [] : [[msix + pciRegs.MSIX_FLAGS, 2] as const]),
    // The command register last: memory decoding comes back once the BARs are in place.
    [pciRegs.COMMAND, 2],
  ];
}

/**
 * Resets the function (`pci_reset_function`, by PCI Express function-level
 * reset): saves the config state, starts the reset, waits the 100 ms the
 * spec gives the function, and restores the state. The device stops at
 * once: its DMA, timers and interrupts, and what it held; its model goes
 * back to power-on (`DeviceModel.reset`).
 *
 * Unlike the kernel, which restores the whole command register, bus
 * mastering stays off after the reset: the device forgot its rings, so turn
 * it on (`enableBusMaster`) once you have set them up again. MSI-X is
 * restored as the kernel restores it. The binding's allocations, mappings
 * and IRQ handles stay; the device no longer holds any memory.
 *
 * Sleeps: a `SleepableDevice` (probe, remove, a task). Rejects with `ENXIO`
 * if the device is gone (before or during the reset) or the binding ends
 * meanwhile, and `EBUSY` if a reset of the device is already running.
 *
 * @example
 * ```ts
 * async function recover<Scope>(dev: SleepableDevice<Scope>, regs: IoMapping<Scope>): Promise<void> {
 *   await pciResetFunction(dev);
 *   regs.write32(dev, 0x00, 1);   // set the device up again
 * }
 * ```
 */
export const pciResetFunction = async <Scope>(dev: SleepableDevice<Scope>): Promise<void> => {
  const binding = liveBinding(dev, "pciResetFunction");
  // Covers a token the types let through into atomic context (a Revocable access, `any`): the reset sleeps.
  mightSleep(binding, "pciResetFunction");
  const { port } = binding;
  if (!port.present) throw fail("ENXIO", `pciResetFunction: ${binding.describe()}: the device is gone; there is nothing to reset.`);
  if (resetting.has(port)) throw fail("EBUSY", `pciResetFunction: ${binding.describe()}: a reset of this device is already running; await it.`);
  const exp = pciFindCapability(dev, pciRegs.CAP_ID_EXP);
  // Covers a device whose model offers no reset: every simulated function has it, so only a broken platform lands here.
  if (exp === 0 || (port.configRead(exp + pciRegs.EXP_DEVCAP, 4) & pciRegs.EXP_DEVCAP_FLR) === 0) {
    throw fail("EINVAL", `pciResetFunction: ${binding.describe()}: the device does not offer function-level reset.`);
  }
  const registers = savedRegisters(exp, pciFindCapability(dev, pciRegs.CAP_ID_MSIX));
  const saved = registers.map(([offset, width]) => port.configRead(offset, width));
  resetting.add(port);
  try {
    port.configWrite(exp + pciRegs.EXP_DEVCTL, 2, port.configRead(exp + pciRegs.EXP_DEVCTL, 2) | pciRegs.EXP_DEVCTL_BCR_FLR);
    await port.sleep(FLR_NS);
    if (!binding.live) throw fail("ENXIO", `pciResetFunction: ${binding.describe()}: ${binding.deathNotice()}`);
    if (!port.present) throw fail("ENXIO", `pciResetFunction: ${binding.describe()}: the device went away during the reset.`);
    registers.forEach(([offset, width], i) => {
      let value = saved[i]!;
      if (offset === pciRegs.COMMAND) value &= ~pciRegs.COMMAND_MASTER;
      if (offset === exp + pciRegs.EXP_DEVCTL) value &= ~pciRegs.EXP_DEVCTL_BCR_FLR;
      port.configWrite(offset, width, value);
    });
  } finally {
    resetting.delete(port);
  }
};
