/**
 * Descriptor struct fuzzing (src/driver/descriptor.ts): random nested
 * layouts (scalars, structs, arrays of either, up to three levels), checked
 * against a small reference C-layout computation written here without the
 * library: every leaf's offset, each struct's size and alignment. Then
 * random values are written at a random index and base and read back,
 * through `read` and through each leaf's raw little-endian bytes; and a
 * write with one bad leaf, anywhere in the tree, writes nothing. A fixed
 * seed keeps `npm test` deterministic.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { arrayOf, BoundscopeError, defineStruct } from "../src/index.js";
import type { FieldSpec, FieldType, Struct, StructFields } from "../src/index.js";
import { smuggle } from "./helpers.js";

const SEED = 20_260_413;
const RUNS = 300;

/** A layout, as the reference sees it. */
type Shape =
  | { readonly kind: "scalar"; readonly type: FieldType }
  | { readonly kind: "struct"; readonly fields: readonly Shape[] }
  | { readonly kind: "array"; readonly of: Shape; readonly length: number };

const TYPES: readonly FieldType[] = ["u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64"];
const WIDTH: Readonly<Record<FieldType, number>> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

const scalar: fc.Arbitrary<Shape> = fc.constantFrom(...TYPES).map((type) => ({ kind: "scalar", type }));
const shape: fc.Arbitrary<Shape> = fc.letrec<{ field: Shape; struct: Shape; element: Shape }>((tie) => ({
  field: fc.oneof({ maxDepth: 3, depthIdentifier: "struct" }, scalar, scalar, tie("struct"), fc.record({ kind: fc.constant("array" as const), of: tie("element"), length: fc.integer({ min: 1, max: 4 }) })),
  element: fc.oneof({ maxDepth: 3, depthIdentifier: "struct" }, scalar, tie("struct")),
  struct: fc.record({ kind: fc.constant("struct" as const), fields: fc.array(tie("field"), { minLength: 1, maxLength: 5 }) }),
})).struct;

/** A leaf as the reference lays it out: its path, type and offset in the top struct. */
interface Leaf {
  readonly path: string;
  readonly type: FieldType;
  readonly offset: number;
}

/** The reference C layout: size and alignment, each member aligned to its own, the struct padded to its largest. */
function reference(s: Shape): { readonly size: number; readonly align: number } {
  switch (s.kind) {
    case "scalar":
      return { size: WIDTH[s.type], align: WIDTH[s.type] };
    case "array": {
      const element = reference(s.of);
      return { size: element.size * s.length, align: element.align };
    }
    case "struct": {
      let end = 0;
      let align = 1;
      for (const field of s.fields) {
        const r = reference(field);
        end = Math.ceil(end / r.align) * r.align + r.size;
        align = Math.max(align, r.align);
      }
      return { size: Math.ceil(end / align) * align, align };
    }
  }
}

/** Every leaf below `s`, at `base`. */
function leaves(s: Shape, path: string, base: number): Leaf[] {
  switch (s.kind) {
    case "scalar":
      return [{ path, type: s.type, offset: base }];
    case "array": {
      const stride = reference(s.of).size;
      return Array.from({ length: s.length }, (_, i) => leaves(s.of, `${path}.${i}`, base + i * stride)).flat();
    }
    case "struct": {
      let end = 0;
      return s.fields.flatMap((field, i) => {
        const r = reference(field);
        const at = Math.ceil(end / r.align) * r.align;
        end = at + r.size;
        return leaves(field, path === "" ? `f${i}` : `${path}.f${i}`, base + at);
      });
    }
  }
}

/** The library's spec for a shape. */
function build(s: Shape): FieldSpec {
  switch (s.kind) {
    case "scalar":
      return s.type;
    case "array":
      return arrayOf(smuggle<FieldType>(build(s.of)), s.length);
    case "struct":
      return defineStruct(Object.fromEntries(s.fields.map((field, i) => [`f${i}`, build(field)])) as StructFields);
  }
}

/** A valid value for a scalar type, from a seed number. */
function valueFor(type: FieldType, seed: bigint): number | bigint {
  const bits = BigInt(WIDTH[type] * 8);
  const value = type.startsWith("i") ? BigInt.asIntN(Number(bits), seed) : BigInt.asUintN(Number(bits), seed);
  return bits === 64n ? value : Number(value);
}

/** A value for the whole shape, leaf by leaf from `seeds`. */
function valueOf(s: Shape, seeds: () => bigint): unknown {
  switch (s.kind) {
    case "scalar":
      return valueFor(s.type, seeds());
    case "array":
      return Array.from({ length: s.length }, () => valueOf(s.of, seeds));
    case "struct":
      return Object.fromEntries(s.fields.map((field, i) => [`f${i}`, valueOf(field, seeds)]));
  }
}

/** Reads a leaf's raw little-endian bytes. */
function raw(view: DataView, at: number, type: FieldType): number | bigint {
  const bits = WIDTH[type] * 8;
  let value = 0n;
  for (let i = WIDTH[type] - 1; i >= 0; i--) value = (value << 8n) | BigInt(view.getUint8(at + i));
  const typed = type.startsWith("i") ? BigInt.asIntN(bits, value) : value;
  return bits === 64 ? typed : Number(typed);
}

/** Bad values for a scalar type: out of range, the wrong kind, not whole. */
const BAD: Readonly<Record<FieldType, readonly unknown[]>> = {
  u8: [256, -1, 1.5, 1n, "1"],
  i8: [128, -129, Number.NaN],
  u16: [65536, -1, null],
  i16: [32768, -32769, 0.5],
  u32: [2 ** 32, -1, 1n],
  i32: [2 ** 31, -(2 ** 31) - 1, {}],
  u64: [1, -1n, 2n ** 64n],
  i64: [2n ** 63n, -(2n ** 63n) - 1n, 0],
};

/** Replaces the leaf at `path` of `value` with `bad`. */
function poison(value: unknown, path: string, bad: unknown): unknown {
  const keys = path.split(".");
  let node = value as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = bad;
  return value;
}

const seedList = fc.array(fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }), { minLength: 1, maxLength: 16 });

describe("struct fuzzing", () => {
  it(`${RUNS} random nested layouts match the reference C layout, round-trip, and refuse a bad leaf whole (seed ${SEED})`, () => {
    let leafChecks = 0;
    let refused = 0;
    let nested = 0;
    fc.assert(
      fc.property(shape, seedList, fc.nat({ max: 3 }), fc.nat({ max: 2 }), fc.nat(), fc.nat(), (top, seeds, index, slots, pick, badPick) => {
        const struct = build(top) as Struct<StructFields>;
        const expected = reference(top);
        expect(struct.size).toBe(expected.size);
        expect(struct.align).toBe(expected.align);
        const all = leaves(top, "", 0);
        if (all.some((leaf) => leaf.path.includes("."))) nested++;
        for (const leaf of all) expect(struct.offsetOf(smuggle<string>(leaf.path) as never), leaf.path).toBe(leaf.offset);

        // Structs placed `slots` alignments into a buffer with room for `index + 1` of them.
        const base = slots * struct.align;
        const buffer = new DataView(new ArrayBuffer(base + struct.size * (index + 1)));
        const view = struct.at(buffer, base);
        let next = 0;
        const value = valueOf(top, () => seeds[next++ % seeds.length]!);
        struct.write(view, index, smuggle<never>(value));
        expect(struct.read(view, index)).toEqual(value);
        for (const leaf of all) {
          expect(raw(buffer, base + index * struct.size + leaf.offset, leaf.type), leaf.path).toBe(struct.get(view, index, smuggle<never>(leaf.path)));
          leafChecks++;
        }

        // One bad leaf anywhere: nothing is written, by write or by set of its top-level field.
        const before = new Uint8Array(buffer.buffer).slice();
        const target = all[pick % all.length]!;
        const bads = BAD[target.type];
        const bad = bads[badPick % bads.length];
        const fresh = valueOf(top, () => seeds[next++ % seeds.length]!);
        const poisoned = poison(fresh, target.path, bad) as Record<string, unknown>;
        expect(() => struct.write(view, index, smuggle<never>(poisoned))).toThrow(BoundscopeError);
        const field = target.path.split(".")[0]!;
        expect(() => struct.set(view, index, smuggle<never>(field), smuggle<never>(poisoned[field]))).toThrow(BoundscopeError);
        expect(new Uint8Array(buffer.buffer)).toEqual(before);
        refused++;
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The run reached what it claims to check.
    expect(refused).toBe(RUNS);
    expect(nested).toBeGreaterThan(RUNS / 3);
    expect(leafChecks).toBeGreaterThan(RUNS * 3);
  });
});
