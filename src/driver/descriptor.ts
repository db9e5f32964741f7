/**
 * Descriptor structs: typed little-endian fields at fixed offsets in DMA
 * memory, in the spirit of Rust-for-Linux's `dma_read!`/`dma_write!`. A ring
 * of descriptors is an array of one struct; the layout is computed once, C
 * style, so neither the driver nor the device model hand-computes offsets.
 * A field is a scalar (`"u8"` … `"i64"`), another struct (nested), or a
 * fixed-size array of either (`arrayOf("u16", 8)`); a nested field is named
 * by its path (`"hdr.len"`, `"ring.3"`, `"ring.3.id"`). `at(view, base)`
 * places structs `base` bytes into a view: a virtqueue's available ring after
 * its descriptor table, say.
 *
 * Both sides use the same struct: the driver on `allocation.view(dev)`, the
 * model on a `DataView` of the bytes it DMA'd.
 *
 * # Invariants
 * - A struct's layout is fixed when it is defined: C alignment (a scalar to
 *   its size, a struct to its largest member, an array to its element), each
 *   struct padded to its alignment, little-endian.
 * - A struct is frozen and made before any struct that nests it, so a layout
 *   has no cycle: by construction, not by a check.
 * - A write checks every value, nested ones included, before writing any: a
 *   bad value writes nothing.
 *
 * @module
 */

import type { Invariant, madeByArrayOf, memoryOfOneBindingOnly } from "../internal/brand.js";
import { describe, fail } from "../internal/error.js";
import type { RegisterValue } from "./dma.js";

/**
 * A scalar field's type: unsigned or signed, 8 to 64 bits, little-endian.
 *
 * @example
 * ```ts
 * const fields = { addr: "u64", len: "u32" } as const satisfies Record<string, FieldType>;
 * const Desc = defineStruct(fields);
 * ```
 */
export type FieldType = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";

/**
 * What a scalar field reads as: 64-bit fields are bigints, the rest numbers.
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
 * A fixed-size array field (`T name[Length]` in C), made by {@link arrayOf}:
 * `Length` elements of a scalar type or of a struct, aligned to the element.
 *
 * @example
 * ```ts
 * const ring: ArrayField<"u16", 256> = arrayOf("u16", 256);
 * const Avail = defineStruct({ flags: "u16", idx: "u16", ring });
 * Avail.size;   // 516
 * ```
 */
export interface ArrayField<Element extends FieldType | Struct<any>, Length extends number> {
  /** The brand: only `arrayOf` makes one (type-level only; see internal/brand.ts). */
  readonly [madeByArrayOf]: "ArrayField";
  /** The element: a scalar type or a struct. */
  readonly of: Element;
  /** How many elements. */
  readonly length: Length;
}

/**
 * What a struct field may be: a scalar type, another struct, or an array.
 *
 * @example
 * ```ts
 * const Elem = defineStruct({ id: "u32", len: "u32" });
 * const kinds: FieldSpec[] = ["u64", Elem, arrayOf(Elem, 8), arrayOf("u8", 6)];
 * ```
 */
export type FieldSpec = FieldType | Struct<any> | ArrayField<any, number>;

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
export type StructFields = Readonly<Record<string, FieldSpec>>;

/** What one field reads as: a scalar's value, a nested struct's object, an array's elements. */
type ValueOf<Spec> = Spec extends FieldType
  ? FieldValue<Spec>
  : Spec extends Struct<infer Fields>
    ? StructValue<Fields>
    : Spec extends ArrayField<infer Element, number>
      ? ValueOf<Element>[]
      : never;

/**
 * Every field of one struct, read at once: nested structs as objects,
 * arrays as arrays.
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
export type StructValue<Fields extends StructFields> = { -readonly [Name in keyof Fields]: ValueOf<Fields[Name]> };

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
 * What one field takes in a write: a scalar's input, some of a nested
 * struct's fields, or up to `Length` array elements (`undefined` skips one).
 */
type InputOf<Spec, Scope> = Spec extends FieldType
  ? FieldInput<Spec, Scope>
  : Spec extends Struct<infer Fields>
    ? StructInput<Fields, Scope>
    : Spec extends ArrayField<infer Element, number>
      ? readonly (InputOf<Element, Scope> | undefined)[]
      : never;

/**
 * What `write` takes: any of the struct's fields, nested ones in part; the
 * others keep their bytes.
 *
 * @example
 * ```ts
 * const Hdr = defineStruct({ flags: "u8", len: "u16" });
 * const Pkt = defineStruct({ hdr: Hdr, csum: arrayOf("u16", 2) });
 * const change: StructInput<typeof Pkt extends Struct<infer F> ? F : never, unknown> = { hdr: { len: 60 }, csum: [undefined, 7] };
 * Pkt.write(allocCoherent(dev, Pkt.size).view(dev), 0, change);
 * ```
 */
export type StructInput<Fields extends StructFields, Scope> = { -readonly [Name in keyof Fields]?: InputOf<Fields[Name], Scope> };

/** The paths below a field of spec `Spec`: a nested struct's fields, an array's indexes. */
type SubPath<Spec> = Spec extends Struct<infer Fields>
  ? FieldPath<Fields>
  : Spec extends ArrayField<infer Element, number>
    ? `${number}` | `${number}.${SubPath<Element>}`
    : never;

/**
 * A field's path: its name, or a dotted path into a nested struct
 * (`"hdr.len"`) or an array (`"ring.3"`, `"ring.3.id"`).
 *
 * @example
 * ```ts
 * const Elem = defineStruct({ id: "u32", len: "u32" });
 * const Used = defineStruct({ flags: "u16", idx: "u16", ring: arrayOf(Elem, 8) });
 * const path: FieldPath<typeof Used extends Struct<infer F> ? F : never> = "ring.7.len";
 * Used.offsetOf(path);   // 4 + 7 * 8 + 4 = 64
 * ```
 */
export type FieldPath<Fields extends StructFields> = {
  [Name in keyof Fields & string]: Name | `${Name}.${SubPath<Fields[Name]>}`;
}[keyof Fields & string];

/** The spec of the field at `Path` below a field of spec `Spec`. */
type SpecBelow<Spec, Path extends string> = Spec extends Struct<infer Fields>
  ? SpecAt<Fields, Path>
  : Spec extends ArrayField<infer Element, number>
    ? Path extends `${number}`
      ? Element
      : Path extends `${number}.${infer Rest}`
        ? SpecBelow<Element, Rest>
        : never
    : never;

/** The spec of the field at `Path` in a struct of `Fields`. */
type SpecAt<Fields extends StructFields, Path extends string> = Path extends keyof Fields
  ? Fields[Path]
  : Path extends `${infer Name}.${infer Rest}`
    ? Name extends keyof Fields
      ? SpecBelow<Fields[Name], Rest>
      : never
    : never;

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
  /** The struct's alignment: its largest scalar's size. */
  readonly align: number;
  /** Each top-level field's byte offset within one struct. */
  readonly offsets: { readonly [Name in keyof Fields]: number };
  /** The byte offset within one struct of the field at `path`, nested or not. */
  offsetOf(path: FieldPath<Fields>): number;
  /** How many whole structs fit in `view`. */
  count(view: DataView): number;
  /**
   * A view of the structs that start `base` bytes into `view` (aligned to the
   * struct, with room for one at least): index 0 of it is the struct at
   * `base`. It has `view`'s memory, and its scope.
   */
  at<View extends DataView>(view: View, base: number): View;
  /** Reads the field at `path` of struct `index`: a scalar, or a nested struct or array whole. */
  get<Path extends FieldPath<Fields>>(view: DataView, index: number, field: Path): ValueOf<SpecAt<Fields, Path>>;
  /** Writes the field at `path` of struct `index`; a nested struct or array in part, as `write` does. */
  set<Path extends FieldPath<Fields>, Scope = any>(view: AnyView<Scope>, index: number, field: Path, value: NoInfer<InputOf<SpecAt<Fields, Path>, Scope>>): void;
  /** Reads every field of struct `index`. */
  read(view: DataView, index: number): StructValue<Fields>;
  /** Writes the given fields of struct `index`; the others keep their bytes. */
  write<Scope = any>(view: AnyView<Scope>, index: number, values: NoInfer<StructInput<Fields, Scope>>): void;
}

const SIZES: Readonly<Record<FieldType, number>> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

/** The smallest and largest value of each scalar type: bigints for 64 bits, numbers otherwise. */
const RANGES: Readonly<Record<FieldType, readonly [number | bigint, number | bigint]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffff_ffff],
  i32: [-0x8000_0000, 0x7fff_ffff],
  u64: [0n, 0xffff_ffff_ffff_ffffn],
  i64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/**
 * The largest struct or array, in bytes: 1 GiB. Far beyond any descriptor,
 * and every offset below it is a safe integer a `DataView` takes.
 */
const MAX_BYTES = 2 ** 30;

/** A laid-out field: what it is, its size and its alignment. */
type Layout =
  | ScalarLayout
  | StructLayout
  | { readonly kind: "array"; readonly of: Layout; readonly length: number; readonly size: number; readonly align: number };

/** A scalar field, with the range of values it takes (bigints for 64 bits): what a write checks, read off the layout. */
interface ScalarLayout {
  readonly kind: "scalar";
  readonly type: FieldType;
  readonly size: number;
  readonly align: number;
  readonly min: number | bigint;
  readonly max: number | bigint;
}

interface StructLayout {
  readonly kind: "struct";
  readonly fields: ReadonlyMap<string, Member>;
  /** The same members, in layout order. */
  readonly order: readonly Member[];
  readonly size: number;
  readonly align: number;
}

/** A struct's field: its name, its place in layout order, its offset within the struct and its layout. */
interface Member {
  readonly name: string;
  readonly index: number;
  readonly offset: number;
  readonly layout: Layout;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** The layout behind each struct and array field this module made: what a look-alike object lacks. */
const LAYOUTS = new WeakMap<object, Layout>();

const SCALARS = new Map<string, ScalarLayout>(
  // Safe: the keys of SIZES are exactly the FieldTypes, as its type says.
  (Object.entries(SIZES) as [FieldType, number][]).map(([type, size]) => [type, Object.freeze({ kind: "scalar", type, size, align: size, min: RANGES[type][0], max: RANGES[type][1] })]),
);

/** The layout of a field spec, or undefined for anything this module did not make. */
function layoutOf(spec: unknown): Layout | undefined {
  if (typeof spec === "string") return SCALARS.get(spec);
  return typeof spec === "object" && spec !== null ? LAYOUTS.get(spec) : undefined;
}

const KINDS = `one of ${Object.keys(SIZES).join(", ")}, a struct from defineStruct, or arrayOf(...)`;

/** A whole index as a path segment: digits, no sign, no leading zero. */
const INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * A fixed-size array field: `length` elements of `element`, a scalar type or
 * a struct. In a struct it is aligned to its element; it reads as an array
 * and is written from one of at most `length` elements.
 *
 * Throws `EINVAL` for an unknown element, a length that is not a whole
 * number from 1 up, or an array larger than 1 GiB.
 *
 * @example
 * ```ts
 * const Elem = defineStruct({ id: "u32", len: "u32" });
 * const Used = defineStruct({ flags: "u16", idx: "u16", ring: arrayOf(Elem, 256), avail_event: "u16" });
 * Used.offsetOf("ring.1.len");   // 16
 * Used.offsets.avail_event;      // 2052
 * ```
 */
export const arrayOf = <const Element extends FieldType | Struct<any>, const Length extends number>(element: Element, length: Length): ArrayField<Element, Length> => {
  const of = layoutOf(element);
  // Covers JavaScript callers and casts: an unknown type name, or a struct look-alike.
  if (of === undefined || of.kind === "array") {
    throw fail("EINVAL", `arrayOf: the element must be ${KINDS.replace(", or arrayOf(...)", "")}; got ${describe(element)}. For an array of arrays, wrap the inner one in a struct.`);
  }
  // Covers `number`, which admits what no array length is: 0 (C's flexible array member), negatives, fractions, NaN.
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 1) {
    throw fail("EINVAL", `arrayOf: the length must be a whole number from 1 up, got ${describe(length)}. A flexible array member (ring[]) has no fixed size: give the ring's size.`);
  }
  if (of.size * length > MAX_BYTES) {
    throw fail("EINVAL", `arrayOf: ${length} elements of ${of.size} bytes exceed the ${MAX_BYTES}-byte limit of a descriptor struct.`);
  }
  const field = Object.freeze({ of: element, length });
  // INVARIANT: the layout is registered only for this frozen object, after every check.
  LAYOUTS.set(field, Object.freeze({ kind: "array", of, length, size: of.size * length, align: of.align }));
  // Safe: the brand is type-level only, and only this function registers an array field's layout.
  return field as unknown as ArrayField<Element, Length>;
};

/**
 * Lays out a struct. Field order is layout order.
 *
 * Throws `EINVAL` for no fields, an unknown field type, a field name that
 * cannot be a path segment (empty, with a `.`, an array index, `__proto__`),
 * or a struct larger than 1 GiB.
 *
 * @example
 * ```ts
 * const TxDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
 * TxDesc.offsets.flags;   // 12
 * TxDesc.size;            // 16
 * const ring = allocCoherent(dev, TxDesc.size * 256);
 * TxDesc.write(ring.view(dev), 0, { addr: 0x1000n, len: 64 });
 * const Pkt = defineStruct({ hdr: defineStruct({ flags: "u8", len: "u16" }), mac: arrayOf("u8", 6) });
 * Pkt.offsetOf("hdr.len");   // 2
 * Pkt.offsets.mac;           // 4
 * ```
 */
export const defineStruct = <const Fields extends StructFields>(fields: Fields): Struct<Fields> => {
  // Covers JavaScript callers and `as` casts: StructFields cannot require a non-empty object.
  if (typeof fields !== "object" || fields === null || Object.keys(fields).length === 0) {
    throw fail("EINVAL", `defineStruct: expected an object of fields like { addr: "u64", len: "u32" }, got ${describe(fields)}.`);
  }
  const members = new Map<string, Member>();
  const offsets: Record<string, number> = {};
  let offset = 0;
  let align = 1;
  for (const [name, spec] of Object.entries(fields)) {
    // An own "__proto__" key (from JSON.parse) cannot be stored as a field of
    // the plain objects below: it would vanish from the layout without a word.
    if (name === "__proto__") throw fail("EINVAL", `defineStruct: "__proto__" cannot name a field; rename it.`);
    // Covers names a path cannot tell apart: "a.b" from a nested field, "" from nothing.
    if (name === "" || name.includes(".")) throw fail("EINVAL", `defineStruct: ${describe(name)} cannot name a field: a field's path is its names joined by ".".`);
    // Covers integer-like keys, which JavaScript enumerates first whatever their place: the layout would not be the order written.
    if (INDEX.test(name)) throw fail("EINVAL", `defineStruct: ${describe(name)} cannot name a field: JavaScript lists index-like keys first, so the layout would not follow your order.`);
    const layout = layoutOf(spec);
    if (layout === undefined) throw fail("EINVAL", `defineStruct: field "${name}" has type ${describe(spec)}; use ${KINDS}.`);
    offset = Math.ceil(offset / layout.align) * layout.align;
    offsets[name] = offset;
    members.set(name, { name, index: members.size, offset, layout });
    offset += layout.size;
    align = Math.max(align, layout.align);
  }
  const size = Math.ceil(offset / align) * align;
  if (size > MAX_BYTES) throw fail("EINVAL", `defineStruct: ${size} bytes exceed the ${MAX_BYTES}-byte limit of a descriptor struct.`);
  const self: StructLayout = Object.freeze({ kind: "struct", fields: members, order: Object.freeze([...members.values()]), size, align });
  const names = [...members.keys()];

  // A freed allocation's view is detached: reading its byteLength would throw a TypeError.
  const usable = (view: DataView, operation: string): void => {
    // Covers a view from `any`: a Uint8Array or ArrayBuffer in its place would misread.
    if (!(view instanceof DataView)) throw fail("EINVAL", `${operation}: expected a DataView, got ${describe(view)}.`);
    if (view.buffer.byteLength === 0) {
      throw fail("EINVAL", `${operation}: the memory behind this view was freed. Do not use descriptors after free().`);
    }
  };

  /**
   * The byte offset of struct `index` in `view`, for `name(index)` or
   * `name(index, "path")`: the operation's words are built only when a
   * message needs them, not on every access.
   */
  const base = (view: DataView, index: number, name: string, path?: unknown): number => {
    // Covers a view from `any` (a Uint8Array or ArrayBuffer in its place would misread), and a freed one.
    if (!(view instanceof DataView) || view.buffer.byteLength === 0) usable(view, operation(name, index, path));
    const count = Math.floor(view.byteLength / size);
    // Covers arithmetic on indexes: `number` admits fractions, negatives and NaN.
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
      throw fail("EINVAL", `${operation(name, index, path)}: index ${describe(index)} is outside the ${count} structs of ${size} bytes in this view.`);
    }
    return index * size;
  };

  /** The field at `path`: its offset within the struct and its layout. */
  const resolve = (path: unknown, operation: string): { offset: number; layout: Layout } => {
    // Covers `any`: the path is typed, a JavaScript caller's is not.
    const top = typeof path === "string" ? members.get(path) : undefined;
    if (top !== undefined) return top;
    const segments = typeof path === "string" ? path.split(".") : [];
    let where = 0;
    let layout: Layout = self;
    for (const [i, segment] of segments.entries()) {
      const so = segments.slice(0, i).join(".");
      if (layout.kind === "struct") {
        const member = layout.fields.get(segment);
        if (member === undefined) {
          const known = [...layout.fields.keys()].join(", ");
          throw fail("EINVAL", `${operation}: ${i === 0 ? "the struct" : `"${so}"`} has no field ${describe(segment)}; it has ${known}.`);
        }
        where += member.offset;
        layout = member.layout;
      } else if (layout.kind === "array") {
        const at = INDEX.test(segment) ? Number(segment) : Number.NaN;
        if (!(at < layout.length)) throw fail("EINVAL", `${operation}: "${so}" has elements 0 to ${layout.length - 1}; ${describe(segment)} is none of them.`);
        where += at * layout.of.size;
        layout = layout.of;
      } else {
        throw fail("EINVAL", `${operation}: "${so}" is a ${layout.type}; it has no ${describe(segment)}.`);
      }
    }
    if (segments.length === 0) throw fail("EINVAL", `${operation}: the struct has no field ${describe(path)}; it has ${names.join(", ")}.`);
    return { offset: where, layout };
  };

  const get = (view: DataView, index: number, path: string): unknown => {
    const at = base(view, index, "get", path);
    // A top-level field is a map hit; only a nested path (or a wrong one) is resolved.
    const field = members.get(path) ?? resolve(path, operation("get", index, path));
    return readLayout(view, at + field.offset, field.layout);
  };
  const set = (view: DataView, index: number, path: string, value: unknown): void => {
    const at = base(view, index, "set", path);
    const field = members.get(path) ?? resolve(path, operation("set", index, path));
    // Check the whole value before writing any of it, so a bad value writes nothing.
    if (!fits(field.layout, value)) checkLayout(field.layout, value, String(path), operation("set", index, path));
    writeLayout(view, at + field.offset, field.layout, value);
  };

  const struct = {
    size,
    align,
    offsets: Object.freeze(offsets),
    offsetOf: (path: string) => resolve(path, `offsetOf("${path}")`).offset,
    count: (view: DataView) => {
      usable(view, "count");
      return Math.floor(view.byteLength / size);
    },
    at: (view: DataView, start: number) => {
      usable(view, `at(${start})`);
      // Covers `number`, which admits fractions, negatives and NaN; and a base the struct's fields would be misaligned at.
      if (typeof start !== "number" || !Number.isInteger(start) || start < 0 || start % align !== 0) {
        throw fail("EINVAL", `at(${describe(start)}): the base must be a whole number of bytes from 0, a multiple of the struct's alignment ${align}.`);
      }
      if (start + size > view.byteLength) {
        throw fail("EINVAL", `at(${start}): a struct of ${size} bytes there would end past the view's ${view.byteLength} bytes.`);
      }
      return new DataView(view.buffer, view.byteOffset + start, view.byteLength - start);
    },
    get,
    set,
    read: (view: DataView, index: number) => readLayout(view, base(view, index, "read"), self),
    write: (view: DataView, index: number, values: unknown) => {
      const at = base(view, index, "write");
      // Covers `any`: the values parameter is typed, a JavaScript caller's is not.
      if (typeof values !== "object" || values === null) throw fail("EINVAL", `${operation("write", index)}: expected an object of field values.`);
      // The quiet check first; the worded one only to say what does not fit.
      if (!fits(self, values)) checkLayout(self, values, "", operation("write", index));
      writeLayout(view, at, self, values);
    },
  };
  // INVARIANT: registered once, frozen, after every check: a struct nests only structs made before it.
  LAYOUTS.set(struct, self);
  // Safe: `struct` has every member of Struct<Fields>; its get/set are typed by path only at this level.
  return Object.freeze(struct) as unknown as Struct<Fields>;
};

/** What an access is called in messages: `get(3, "len")`, `write(3)`. */
const operation = (name: string, index: unknown, path?: unknown): string => (path === undefined ? `${name}(${index})` : `${name}(${index}, "${path}")`);

/** `prefix.name`, or `name` at the top. */
const join = (prefix: string, name: string | number): string => (prefix === "" ? String(name) : `${prefix}.${name}`);

/** Reads a field of `layout` at byte `at`. */
function readLayout(view: DataView, at: number, layout: Layout): unknown {
  switch (layout.kind) {
    case "scalar":
      return readField(view, at, layout.type);
    case "struct": {
      const out: Record<string, unknown> = {};
      for (const [name, member] of layout.fields) out[name] = readLayout(view, at + member.offset, member.layout);
      return out;
    }
    case "array":
      return Array.from({ length: layout.length }, (_, i) => readLayout(view, at + i * layout.of.size, layout.of));
  }
}

/**
 * Whether `checkLayout` would pass `value`, without building a word of its
 * messages: the check on the path every write takes. It holds exactly what
 * `checkLayout` holds, so a value it passes is one that `checkLayout`
 * passes; a value it fails goes to `checkLayout`, which says why.
 */
function fits(layout: Layout, value: unknown): boolean {
  switch (layout.kind) {
    case "scalar":
      return fitsScalar(layout, value);
    case "struct": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
      // Own enumerable string keys, as Object.entries lists them, without its array of pairs:
      // for-in with an own-property test is the form the JIT compiles to plain loads.
      let next = 0;
      for (const name in value) {
        if (!hasOwn.call(value, name)) continue;
        // Safe: `name` is an own key of `value`, an object.
        const field = (value as Record<string, unknown>)[name];
        if (field === undefined) continue;
        const member = memberNamed(layout, name, next);
        if (member === undefined) return false;
        // A scalar member is checked here, not by a call back into fits: the common descriptor is all scalars.
        const inner = member.layout;
        if (inner.kind === "scalar" ? !fitsScalar(inner, field) : !fits(inner, field)) return false;
        next = member.index + 1;
      }
      return true;
    }
    case "array": {
      if (!Array.isArray(value) || value.length > layout.length) return false;
      // Holes read as undefined: skipped, like a field left out.
      for (let i = 0; i < value.length; i++) if (value[i] !== undefined && !fits(layout.of, value[i])) return false;
      return true;
    }
  }
}

/**
 * The member named `name`: first the one after the last found (values
 * usually list fields in layout order), else by name. Small, so the JIT
 * inlines it into the loops over a value's fields.
 */
function memberNamed(layout: StructLayout, name: string, next: number): Member | undefined {
  const guess = layout.order[next];
  return guess !== undefined && guess.name === name ? guess : layout.fields.get(name);
}

/** Whether `value` fits a scalar field: a whole number in its range, a bigint for 64 bits. */
function fitsScalar(layout: ScalarLayout, value: unknown): boolean {
  return layout.size === 8
    ? typeof value === "bigint" && value >= layout.min && value <= layout.max
    : typeof value === "number" && Number.isInteger(value) && value >= layout.min && value <= layout.max;
}

/** Checks a value for `layout`, all of it, throwing `EINVAL` at the first that does not fit. */
function checkLayout(layout: Layout, value: unknown, path: string, operation: string): void {
  switch (layout.kind) {
    case "scalar":
      return checkValue(layout, value, path, operation);
    case "struct": {
      // Covers `any` and casts: a nested input is typed, a JavaScript caller's is not.
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw fail("EINVAL", `${operation}: ${path === "" ? "the values" : `"${path}"`} must be an object of field values, got ${describe(value)}.`);
      }
      for (const [name, field] of Object.entries(value)) {
        if (field === undefined) continue;
        const member = layout.fields.get(name);
        if (member === undefined) {
          throw fail("EINVAL", `${operation}: ${path === "" ? "the struct" : `"${path}"`} has no field ${describe(name)}; it has ${[...layout.fields.keys()].join(", ")}.`);
        }
        checkLayout(member.layout, field, join(path, name), operation);
      }
      return;
    }
    case "array": {
      if (!Array.isArray(value) || value.length > layout.length) {
        throw fail("EINVAL", `${operation}: "${path}" takes an array of at most ${layout.length} elements, got ${describe(value)}.`);
      }
      // Array.from visits holes, which count as undefined: skipped, like a field left out.
      Array.from(value, (element: unknown, i) => element === undefined || checkLayout(layout.of, element, join(path, i), operation));
      return;
    }
  }
}

/** Writes a value `checkLayout` passed. */
function writeLayout(view: DataView, at: number, layout: Layout, value: unknown): void {
  switch (layout.kind) {
    case "scalar":
      // Safe: checkLayout passed it for this type: a bigint for 64 bits, a number otherwise.
      return writeField(view, at, layout.type, value as number | bigint);
    case "struct": {
      // Own enumerable string keys, as checkLayout saw them.
      let next = 0;
      for (const name in value as object) {
        if (!hasOwn.call(value, name)) continue;
        // Safe: checkLayout passed it as an object of known fields.
        const field = (value as Record<string, unknown>)[name];
        if (field === undefined) continue;
        const member = memberNamed(layout, name, next)!;
        const inner = member.layout;
        // Safe: checkLayout passed a scalar's value for its type.
        if (inner.kind === "scalar") writeField(view, at + member.offset, inner.type, field as number | bigint);
        else writeLayout(view, at + member.offset, inner, field);
        next = member.index + 1;
      }
      return;
    }
    case "array":
      // Safe: checkLayout passed it as an array of at most `length` elements.
      Array.from(value as readonly unknown[], (element, i) => element === undefined || writeLayout(view, at + i * layout.of.size, layout.of, element));
      return;
  }
}

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

function checkValue(layout: ScalarLayout, value: unknown, name: string, operation: string): void {
  const { type } = layout;
  const bits = layout.size * 8;
  if (!fitsScalar(layout, value)) {
    throw fail("EINVAL", `${operation}: field "${name}" is ${type}: ${describe(value)} does not fit. ${bits === 64 ? "64-bit fields take a bigint." : ""}`.trim());
  }
}

function writeField(view: DataView, at: number, type: FieldType, value: number | bigint): void {
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
