/**
 * MMIO: a driver's mapping of one BAR of its device (the kernel's
 * `pcim_iomap` and `readl`/`writel`), as Rust-for-Linux's `Devres<Bar>`
 * shapes it: every access takes the binding's token, and the mapping is
 * revoked at unbind.
 *
 * Surprise removal takes the hardware away at once: from then on reads return
 * all-ones and writes are dropped, as on a real bus, even while the token is
 * still live in `remove()`. A driver sees exactly what a real one would.
 *
 * # Invariants
 * - An access reaches the device only with the owning binding's live token,
 *   before the mapping is revoked, at an aligned offset inside the BAR.
 * - Once the device is gone, reads are all-ones and writes are dropped.
 *
 * @module
 */

import type { Invariant, mappingOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { Binding, Resource } from "./binding.js";
import { coreBinding, liveBinding } from "./binding.js";
import type { BoundDevice, ProbeDevice } from "./device.js";
import type { RegisterValue } from "./dma.js";
import type { DevicePort, MmioWidth } from "./ports.js";

export type { MmioWidth } from "./ports.js";
export type { RegisterValue } from "./dma.js";

/**
 * One BAR, mapped for one binding.
 *
 * @example
 * ```ts
 * defineDriver({
 *   name: "nic",
 *   ids: [{ vendor: 0x1af4, device: 0x1000 }],
 *   probe(dev) {
 *     const regs = iomap(dev, 0);
 *     regs.write32(dev, 0x00, 1);               // CTRL = enable
 *     const status = regs.read32(dev, 0x04);
 *     return {};
 *   },
 * });
 * ```
 */
export type IoMapping<in out Scope> = {
  /** The scope brand (type-level only; see internal/brand.ts). */
  readonly [mappingOfOneBindingOnly]: Invariant<Scope>;
  /** The BAR index. */
  readonly bar: number;
  /** The BAR's size in bytes. */
  readonly size: number;
  /** Reads the 8-bit register at byte `offset`; all-ones once the device is unplugged. */
  readonly read8: (dev: BoundDevice<Scope>, offset: number) => number;
  /** Reads the 16-bit register at byte `offset`; all-ones once the device is unplugged. */
  readonly read16: (dev: BoundDevice<Scope>, offset: number) => number;
  /** Reads the 32-bit register at byte `offset`; all-ones once the device is unplugged. */
  readonly read32: (dev: BoundDevice<Scope>, offset: number) => number;
  /** Reads the 64-bit register at byte `offset`; all-ones once the device is unplugged. */
  readonly read64: (dev: BoundDevice<Scope>, offset: number) => bigint;
  /** Writes the 8-bit register at byte `offset`; dropped once the device is unplugged. */
  readonly write8: (dev: BoundDevice<Scope>, offset: number, value: number) => void;
  /** Writes the 16-bit register at byte `offset`; dropped once the device is unplugged. */
  readonly write16: (dev: BoundDevice<Scope>, offset: number, value: number) => void;
  /** Writes the 32-bit register at byte `offset`; dropped once the device is unplugged. */
  readonly write32: (dev: BoundDevice<Scope>, offset: number, value: number) => void;
  /** Writes the 64-bit register at byte `offset`; dropped once the device is unplugged. */
  readonly write64: (dev: BoundDevice<Scope>, offset: number, value: RegisterValue<Scope>) => void;
  /** Unmaps the BAR now instead of at unbind (`pcim_iounmap`). `EINVAL` if already unmapped. */
  unmap(): void;
  /** The same as `unmap()`, for `using`. */
  [Symbol.dispose](): void;
};

/**
 * Maps BAR `bar` of the device for MMIO (`pcim_iomap`). Device-managed:
 * revoked at unbind. Core-only: it takes the core context, and at run time
 * works only while `probe()` or `remove()` runs (`EPERM` otherwise).
 *
 * @example
 * ```ts
 * defineDriver({ name: "nic", ids: [{ vendor: 0x1af4, device: 0x1000 }], probe(dev) { iomap(dev, 0).write32(dev, 0, 1); return {}; } });
 * ```
 */
export const iomap = <Scope>(dev: ProbeDevice<Scope>, bar: number): IoMapping<Scope> => {
  const binding: Binding = coreBinding(dev, "iomap");
  const bars = binding.port.bars;
  // Covers a BAR index from arithmetic or `any`: `number` cannot say which BARs exist.
  if (typeof bar !== "number" || !Number.isInteger(bar) || bar < 0 || bar >= bars.length) {
    throw fail(
      "EINVAL",
      `iomap(${describe(bar)}): ${binding.describe()}: the device has ${bars.length === 0 ? "no BARs" : `BARs 0 to ${bars.length - 1}`}.`,
    );
  }
  // Safe: Mmio implements IoMapping<unknown> but for the brand, which is type-level only; the binding's scope is `Scope`.
  return new Mmio(binding, bar, bars[bar]!) as unknown as IoMapping<Scope>;
};

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;

class Mmio implements Resource, Omit<IoMapping<unknown>, typeof mappingOfOneBindingOnly> {
  readonly kind = "mmio";
  readonly #binding: Binding;
  readonly bar: number;
  readonly size: number;
  #revoked = false;

  constructor(binding: Binding, bar: number, size: number) {
    this.#binding = binding;
    this.bar = bar;
    this.size = size;
    binding.devres.add(this);
  }

  get label(): string {
    return `MMIO mapping of BAR ${this.bar} (${this.size} bytes)`;
  }

  release(): void {
    this.#revoked = true;
  }

  unmap(): void {
    if (this.#revoked) {
      throw fail("EINVAL", `unmap: ${this.#binding.describe()}: this ${this.label} was already unmapped or revoked.`);
    }
    this.#binding.devres.forget(this);
    this.release();
  }

  [Symbol.dispose](): void {
    this.unmap();
  }

  read8(dev: unknown, offset: number): number {
    return this.#read(dev, offset, 1) as number;
  }
  read16(dev: unknown, offset: number): number {
    return this.#read(dev, offset, 2) as number;
  }
  read32(dev: unknown, offset: number): number {
    return this.#read(dev, offset, 4) as number;
  }
  read64(dev: unknown, offset: number): bigint {
    return this.#read(dev, offset, 8) as bigint;
  }
  write8(dev: unknown, offset: number, value: number): void {
    this.#write(dev, offset, 1, value);
  }
  write16(dev: unknown, offset: number, value: number): void {
    this.#write(dev, offset, 2, value);
  }
  write32(dev: unknown, offset: number, value: number): void {
    this.#write(dev, offset, 4, value);
  }
  write64(dev: unknown, offset: number, value: bigint): void {
    this.#write(dev, offset, 8, value);
  }

  #read(dev: unknown, offset: number, width: MmioWidth): number | bigint {
    const port = this.#check(dev, offset, width, "read");
    if (!port.present) return width === 8 ? 0xffff_ffff_ffff_ffffn : ALL_ONES[width];
    const value = port.mmioRead(this.bar, offset, width);
    // Checked before any conversion: BigInt(1.5) would throw a RangeError.
    // Covers a model written in plain JavaScript, or one that computes a fraction.
    if (typeof value !== "bigint" && !Number.isInteger(value)) {
      throw fail("EINVAL", `read${width * 8}(0x${offset.toString(16)}): ${port.describe()}: the device model returned ${describe(value)}, not a whole number.`);
    }
    if (width === 8) return BigInt.asUintN(64, BigInt(value));
    const n = typeof value === "bigint" ? Number(BigInt.asUintN(width * 8, value)) : value;
    return width === 4 ? n >>> 0 : n & ALL_ONES[width];
  }

  #write(dev: unknown, offset: number, width: MmioWidth, value: number | bigint): void {
    const port = this.#check(dev, offset, width, "write");
    const ok =
      width === 8
        ? typeof value === "bigint" && value >= 0n && value <= 0xffff_ffff_ffff_ffffn
        : typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= ALL_ONES[width];
    if (!ok) {
      throw fail(
        "EINVAL",
        `write${width * 8}(0x${offset.toString(16)}, ${describe(value)}): ${port.describe()}: the value must be ${width === 8 ? "a bigint" : "a whole number"} from 0 to 2**${width * 8}-1.`,
      );
    }
    if (!port.present) return;
    port.mmioWrite(this.bar, offset, width, value);
  }

  /**
   * Catches a dead or forged token (ENXIO, EPERM) that escaped the types
   * through a closure or a cast, a token of another binding (EINVAL), a
   * mapping used after unbind (ENXIO), and offsets the BAR does not have.
   */
  #check(dev: unknown, offset: number, width: MmioWidth, operation: string): DevicePort {
    // Fast path, small enough for the JIT to inline: the binding's one token
    // (identity proves it genuine), live, the mapping not revoked, and an
    // aligned offset inside the BAR. Anything else is refused below.
    const owner = this.#binding;
    if (dev === owner.token && owner.live && !this.#revoked && Number.isInteger(offset) && offset >= 0 && offset + width <= this.size && offset % width === 0) {
      return owner.port;
    }
    throw this.#refusal(dev, offset, width, operation);
  }

  /** Why an access is refused: the fast path's checks, in order, each with its message. */
  #refusal(dev: unknown, offset: number, width: MmioWidth, operation: string): Error {
    const name = `${operation}${width * 8}`;
    const binding = liveBinding(dev, name);
    if (binding !== this.#binding) {
      return fail("EINVAL", `${name}: the token is for ${binding.describe()}, but this ${this.label} belongs to ${this.#binding.describe()}.`);
    }
    if (this.#revoked) {
      return fail("ENXIO", `${name}: ${binding.describe()}: this ${this.label} was revoked at unbind.`);
    }
    // Covers an offset from arithmetic or `any`: `number` cannot say the BAR's size.
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0 || offset + width > this.size) {
      return fail("EINVAL", `${name}(${describe(offset)}): ${binding.describe()}: BAR ${this.bar} has ${this.size} bytes; the offset must be a whole number from 0 to ${this.size - width}.`);
    }
    return fail("EINVAL", `${name}(0x${offset.toString(16)}): ${binding.describe()}: a ${width}-byte access must be ${width}-byte aligned.`);
  }

}
