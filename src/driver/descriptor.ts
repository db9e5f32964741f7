/**
 * Descriptor structs: typed little-endian fields at fixed offsets in DMA
 * memory, in the spirit of Rust-for-Linux's `dma_read!`/`dma_write!`. A ring
 * of descriptors is an array of one struct; the layout is computed once, C
 * style (each field aligned to its size, the struct padded to its largest
 * field), so neither the driver nor the device model hand-computes offsets.
 *
 * Both sides use the same struct: the driver on `allocation.view(dev)`, the
 * model on a `DataView` of the bytes it DMA'd.
 *
 * # Invariants
 * - A struct's layout is fixed when it is defined: C alignment, little-endian.
 * - A write checks every field before writing any: a bad value writes nothing.
 *
 * @module
 */

import type { Invariant, memoryOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { RegisterValue } from "./dma.js";

/**
 * A field's type: unsigned or signed, 8 to 64 bits, little-endian.
 *
 * @example
 * ```ts
 * const fields = { addr: "u64", len: "u32" } as const satisfies Record<string, FieldType>;
 * const Desc = defineStruct(fields);
 * ```
 */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";

/**
 * What a field reads as: 64-bit fields are bigints, the rest numbers.
 *
 * @example
 * ```ts
 * const Desc = defineStruct({ addr: "u64", len: "u32" });
 * const view = allocCoherent(dev, Desc.size).view(dev);
 * const addr: FieldValue<"u64"> = Desc.get(view, 0, "addr");   // a bigint
 * const len: FieldValue<"u32"> = Desc.get(view, 0, "len");     // a number
 * ```
 */
export type FieldValue<Type extends FieldType> = Type extends "u64" | "i64" ? bigint : number;

/**
 * A struct's fields, in layout order.
 *
 * @example
 * ```ts
 * const rx = { addr: "u64", len: "u16", status: "u16" } satisfies StructFields;
 * const RxDesc = defineStruct(rx);
 * RxDesc.offsets.status;   // 10
 * ```
 */
export type StructFields = Readonly<Record<string, FieldType>>;

/**
 * Every field of one struct, read at once.
 *
 * @example
 * ```ts
 * const rx = { addr: "u64", len: "u16", status: "u16" } as const;
 * const RxDesc = defineStruct(rx);
 * const show = (d: StructValue<typeof rx>) => `${d.len} bytes at 0x${d.addr.toString(16)}`;
 * const ring = allocCoherent(dev, RxDesc.size * 64);
 * console.log(show(RxDesc.read(ring.view(dev), 0)));
 * ```
 */
export type StructValue<Fields extends StructFields> = { -readonly [Name in keyof Fields]: FieldValue<Fields[Name]> };

/**
 * A view a struct reads and writes: any `DataView`, or a binding's
 * `ScopedView` from `allocation.view(dev)`, whose scope the struct learns.
 */
type AnyView<Scope> = DataView & { readonly [memoryOfOneBindingOnly]?: Invariant<Scope> };

/**
 * What a field takes when written through a view of scope `Scope`: a 64-bit
 * field takes a `RegisterValue<Scope>`, so through a binding's own view it
 * refuses another binding's bus address. Through a plain `DataView` (a
 * device model's), `Scope` is `any` and any bigint fits.
 */
type FieldInput<Type extends FieldType, Scope> = Type extends "u64" | "i64" ? RegisterValue<Scope> : number;

/**
 * A struct layout over DMA memory.
 *
 * @example
 * ```ts
 * const TxDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
 * TxDesc.size;                                   // 16
 * const ring = allocCoherent(dev, TxDesc.size * 256);
 * TxDesc.set(ring.view(dev), 3, "len", 1500);    // descriptor 3
 * TxDesc.read(ring.view(dev), 3);                // { addr: 0n, len: 1500, flags: 0, status: 0 }
 * ```
 */
export interface Struct<Fields extends StructFields> {
  /** Bytes per struct, padding included: the stride of an array of them. */
  readonly size: number;
  /** The struct's alignment: its largest field's size. */
  readonly align: number;
  /** Each field's byte offset within one struct. */
  readonly offsets: { readonly [Name in keyof Fields]: number };
  /** How many whole structs fit in `view`. */
  count(view: DataView): number;
  /** Reads one field of struct `index`. */
  get<Name extends keyof Fields & string>(view: DataView, index: number, field: Name): FieldValue<Fields[Name]>;
  /** Writes one field of struct `index`. */
  set<Name extends keyof Fields & string, Scope = any>(view: AnyView<Scope>, index: number, field: Name, value: NoInfer<FieldInput<Fields[Name], Scope>>): void;
  /** Reads every field of struct `index`. */
  read(view: DataView, index: number): StructValue<Fields>;
  /** Writes the given fields of struct `index`; the others keep their bytes. */
  write<Scope = any>(view: AnyView<Scope>, index: number, values: NoInfer<{ -readonly [Name in keyof Fields]?: FieldInput<Fields[Name], Scope> }>): void;
}

const SIZES: Readonly<Record<FieldType, number>> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

/**
 * Lays out a struct. Field order is layout order.
 *
 * Throws `EINVAL` for no fields or an unknown field type.
 *
 * @example
 * ```ts
 * const TxDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
 * TxDesc.offsets.flags;   // 12
 * TxDesc.size;            // 16
 * const ring = allocCoherent(dev, TxDesc.size * 256);
 * TxDesc.write(ring.view(dev), 0, { addr: 0x1000n, len: 64 });
 * ```
 */
export const defineStruct = <const Fields extends StructFields>(fields: Fields): Struct<Fields> => {
  // Covers JavaScript callers and `as` casts: StructFields cannot require a non-empty object.
  if (typeof fields !== "object" || fields === null || Object.keys(fields).length === 0) {
    throw fail("EINVAL", `defineStruct: expected an object of fields like { addr: "u64", len: "u32" }, got ${describe(fields)}.`);
  }
  const offsets: Record<string, number> = {};
  const types: Record<string, FieldType> = {};
  let offset = 0;
  let align = 1;
  for (const [name, type] of Object.entries(fields)) {
    // An own "__proto__" key (from JSON.parse) cannot be stored as a field of
    // the plain objects below: it would vanish from the layout without a word.
    if (name === "__proto__") throw fail("EINVAL", `defineStruct: "__proto__" cannot name a field; rename it.`);
    const size = SIZES[type as FieldType];
    if (size === undefined || !Object.hasOwn(SIZES, type)) {
      throw fail("EINVAL", `defineStruct: field "${name}" has type ${describe(type)}; use one of ${Object.keys(SIZES).join(", ")}.`);
    }
    offset = Math.ceil(offset / size) * size;
    offsets[name] = offset;
    types[name] = type as FieldType;
    offset += size;
    align = Math.max(align, size);
  }
  const size = Math.ceil(offset / align) * align;
  const names = Object.keys(types);

  // A freed allocation's view is detached: reading its byteLength would throw a TypeError.
  const usable = (view: DataView, operation: string): void => {
    // Covers a view from `any`: a Uint8Array or ArrayBuffer in its place would misread.
    if (!(view instanceof DataView)) throw fail("EINVAL", `${operation}: expected a DataView, got ${describe(view)}.`);
    if (view.buffer.byteLength === 0) {
      throw fail("EINVAL", `${operation}: the memory behind this view was freed. Do not use descriptors after free().`);
    }
  };

  const at = (view: DataView, index: number, name: string, operation: string): [number, FieldType] => {
    usable(view, operation);
    const type = Object.hasOwn(types, name) ? types[name] : undefined;
    if (type === undefined) throw fail("EINVAL", `${operation}: the struct has no field ${describe(name)}; it has ${names.join(", ")}.`);
    const count = Math.floor(view.byteLength / size);
    // Covers arithmetic on indexes: `number` admits fractions, negatives and NaN.
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
      throw fail("EINVAL", `${operation}: index ${describe(index)} is outside the ${count} structs of ${size} bytes in this view.`);
    }
    return [index * size + offsets[name]!, type];
  };

  const get = (view: DataView, index: number, name: string): number | bigint => {
    const [where, type] = at(view, index, name, `get(${index}, "${name}")`);
    return readField(view, where, type);
  };
  const set = (view: DataView, index: number, name: string, value: number | bigint): void => {
    const [where, type] = at(view, index, name, `set(${index}, "${name}")`);
    writeField(view, where, type, value, name);
  };

  const struct = {
    size,
    align,
    offsets: Object.freeze(offsets),
    count: (view: DataView) => {
      usable(view, "count");
      return Math.floor(view.byteLength / size);
    },
    get,
    set,
    read: (view: DataView, index: number) => {
      const out: Record<string, number | bigint> = {};
      for (const name of names) out[name] = get(view, index, name);
      return out;
    },
    write: (view: DataView, index: number, values: Record<string, number | bigint>) => {
      // Covers `any`: the values parameter is typed, a JavaScript caller's is not.
      if (typeof values !== "object" || values === null) throw fail("EINVAL", `write(${index}): expected an object of field values.`);
      // Check every field before writing any, so a bad value writes nothing.
      const entries = Object.entries(values).filter(([, value]) => value !== undefined);
      for (const [name, value] of entries) checkValue(at(view, index, name, `write(${index})`)[1], value, name);
      for (const [name, value] of entries) set(view, index, name, value);
    },
  };
  // Safe: `struct` has every member of Struct<Fields>; its get/set are typed by field name only at this level.
  return Object.freeze(struct) as unknown as Struct<Fields>;
};

function readField(view: DataView, at: number, type: FieldType): number | bigint {
  switch (type) {
    case "u8":
      return view.getUint8(at);
    case "i8":
      return view.getInt8(at);
    case "u16":
      return view.getUint16(at, true);
    case "i16":
      return view.getInt16(at, true);
    case "u32":
      return view.getUint32(at, true);
    case "i32":
      return view.getInt32(at, true);
    case "u64":
      return view.getBigUint64(at, true);
    case "i64":
      return view.getBigInt64(at, true);
  }
}

function checkValue(type: FieldType, value: unknown, name: string): void {
  const bits = SIZES[type] * 8;
  const signed = type.startsWith("i");
  const ok =
    bits === 64
      ? typeof value === "bigint" && (signed ? BigInt.asIntN(64, value) === value : BigInt.asUintN(64, value) === value)
      : typeof value === "number" &&
        Number.isInteger(value) &&
        (signed ? value >= -(2 ** (bits - 1)) && value < 2 ** (bits - 1) : value >= 0 && value < 2 ** bits);
  if (!ok) {
    throw fail("EINVAL", `field "${name}" is ${type}: ${describe(value)} does not fit. ${bits === 64 ? "64-bit fields take a bigint." : ""}`.trim());
  }
}

function writeField(view: DataView, at: number, type: FieldType, value: number | bigint, name: string): void {
  checkValue(type, value, name);
  switch (type) {
    case "u8":
      return view.setUint8(at, value as number);
    case "i8":
      return view.setInt8(at, value as number);
    case "u16":
      return view.setUint16(at, value as number, true);
    case "i16":
      return view.setInt16(at, value as number, true);
    case "u32":
      return view.setUint32(at, value as number, true);
    case "i32":
      return view.setInt32(at, value as number, true);
    case "u64":
      return view.setBigUint64(at, value as bigint, true);
    case "i64":
      return view.setBigInt64(at, value as bigint, true);
  }
}
