/**
 * Descriptor structs (src/descriptor.ts): typed little-endian fields at
 * C-layout offsets over DMA memory. The layout is computed once (each field
 * aligned to its size, the struct padded to its largest field); every access
 * is checked for its field, index and value; a write of several fields is
 * all-or-nothing; a freed allocation's view is refused.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineStruct, enableBusMaster, Machine } from "../src/index.js";
import type { FieldType, StructFields } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";

const view = (bytes: number): DataView => new DataView(new ArrayBuffer(bytes));

describe("layout", () => {
  it.each<[string, StructFields, Record<string, number>, number, number]>([
    ["a ring descriptor", { addr: "u64", len: "u32", flags: "u16", status: "u16" }, { addr: 0, len: 8, flags: 12, status: 14 }, 16, 8],
    ["a byte before a word", { a: "u8", b: "u32" }, { a: 0, b: 4 }, 8, 4],
    ["a quad then a byte, padded to the quad", { a: "u64", b: "u8" }, { a: 0, b: 8 }, 16, 8],
    ["packed bytes and a half-word", { a: "u8", b: "u8", c: "u16" }, { a: 0, b: 1, c: 2 }, 4, 2],
    ["bytes only", { a: "u8", b: "i8", c: "u8" }, { a: 0, b: 1, c: 2 }, 3, 1],
    ["a half-word between bytes", { a: "i8", b: "i16", c: "u8" }, { a: 0, b: 2, c: 4 }, 6, 2],
    ["a word after a half-word", { a: "u16", b: "i32", c: "u16" }, { a: 0, b: 4, c: 8 }, 12, 4],
    ["a single i64", { v: "i64" }, { v: 0 }, 8, 8],
  ])("%s", (_, fields, offsets, size, align) => {
    const struct = defineStruct(fields);
    expect(struct.offsets).toEqual(offsets);
    expect(struct.size).toBe(size);
    expect(struct.align).toBe(align);
  });

  it("the struct and its offsets are frozen", () => {
    const struct = defineStruct({ a: "u32" });
    expect(Object.isFrozen(struct)).toBe(true);
    expect(Object.isFrozen(struct.offsets)).toBe(true);
  });

  it("count() is how many whole structs fit in a view", () => {
    const struct = defineStruct({ a: "u64", b: "u32" });
    expect(struct.count(view(16 * 10))).toBe(10);
    expect(struct.count(view(16 * 10 + 15))).toBe(10);
    expect(struct.count(view(15))).toBe(0);
    expectCode(() => struct.count(smuggle<DataView>(new Uint8Array(32))), "EINVAL");
  });

  it.each<[string, unknown]>([
    ["no fields", {}],
    ["null", null],
    ["a string", "u32"],
    ["an unknown type", { a: "u128" }],
    ["a type in capitals", { a: "U32" }],
    ["a type that is an Object.prototype key", { a: "toString" }],
    ["a number type", { a: 4 }],
  ])("%s is EINVAL", (_, fields) => {
    expectCode(() => defineStruct(smuggle<StructFields>(fields)), "EINVAL");
  });
});

describe("fields", () => {
  const All = defineStruct({ u8: "u8", i8: "i8", u16: "u16", i16: "i16", u32: "u32", i32: "i32", u64: "u64", i64: "i64" });

  it("round-trip at their extremes", () => {
    const v = view(All.size);
    const extremes: [keyof typeof All.offsets & string, number | bigint, number | bigint][] = [
      ["u8", 0, 0xff],
      ["i8", -128, 127],
      ["u16", 0, 0xffff],
      ["i16", -32768, 32767],
      ["u32", 0, 0xffff_ffff],
      ["i32", -(2 ** 31), 2 ** 31 - 1],
      ["u64", 0n, 2n ** 64n - 1n],
      ["i64", -(2n ** 63n), 2n ** 63n - 1n],
    ];
    for (const [field, low, high] of extremes) {
      All.set(v, 0, field, smuggle<never>(low));
      expect(All.get(v, 0, field)).toBe(low);
      All.set(v, 0, field, smuggle<never>(high));
      expect(All.get(v, 0, field)).toBe(high);
    }
  });

  it("64-bit fields are bigints; the others are numbers", () => {
    const v = view(All.size);
    const value = All.read(v, 0);
    expect(typeof value.u64).toBe("bigint");
    expect(typeof value.i64).toBe("bigint");
    expect(typeof value.u32).toBe("number");
  });

  it("are little-endian, at their offsets, in the struct at the index", () => {
    const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });
    const v = view(Desc.size * 4);
    Desc.set(v, 2, "addr", 0x1122_3344_5566_7788n);
    Desc.set(v, 2, "len", 0x0102_0304);
    Desc.set(v, 2, "status", 0xabcd);
    const bytes = new Uint8Array(v.buffer, 32, 16);
    expect([...bytes]).toEqual([0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x04, 0x03, 0x02, 0x01, 0, 0, 0xcd, 0xab]);
    expect(new Uint8Array(v.buffer, 0, 32).every((b) => b === 0)).toBe(true);
  });

  it("signed fields read back the two's complement written", () => {
    const S = defineStruct({ a: "i16", b: "u16" });
    const v = view(S.size);
    S.set(v, 0, "a", -2);
    expect(v.getUint16(0, true)).toBe(0xfffe);
    v.setUint16(2, 0xffff, true);
    expect(S.get(v, 0, "b")).toBe(0xffff);
  });

  it("work on a view with a byte offset, as a model's DataView of DMA'd bytes", () => {
    const S = defineStruct({ a: "u32", b: "u32" });
    const backing = new Uint8Array(64);
    const v = new DataView(backing.buffer, 8, 16);
    S.set(v, 1, "b", 0xdeadbeef);
    expect(new DataView(backing.buffer).getUint32(8 + 8 + 4, true)).toBe(0xdeadbeef);
    expect(S.count(v)).toBe(2);
  });
});

describe("read and write", () => {
  const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });

  it("read gives every field; write sets the given ones and keeps the rest", () => {
    const v = view(Desc.size * 2);
    Desc.write(v, 1, { addr: 0x1000n, len: 1500, flags: 3, status: 0 });
    Desc.write(v, 1, { status: 1 });
    Desc.write(v, 1, smuggle<never>({ len: undefined }));
    expect(Desc.read(v, 1)).toEqual({ addr: 0x1000n, len: 1500, flags: 3, status: 1 });
    expect(Desc.read(v, 0)).toEqual({ addr: 0n, len: 0, flags: 0, status: 0 });
  });

  it.each<[string, Record<string, unknown>]>([
    ["a value out of range after a good one", { len: 1, flags: 0x10000 }],
    ["a number for a 64-bit field", { len: 1, addr: 5 }],
    ["an unknown field", { len: 1, nope: 1 }],
    ["a string value", { len: 1, status: "1" }],
  ])("write is all-or-nothing: %s writes nothing", (_, values) => {
    const v = view(Desc.size);
    Desc.write(v, 0, { addr: 7n, len: 9, flags: 2, status: 4 });
    expectCode(() => Desc.write(v, 0, smuggle<never>(values)), "EINVAL");
    expect(Desc.read(v, 0)).toEqual({ addr: 7n, len: 9, flags: 2, status: 4 });
  });

  it("write takes the value's own fields in any order, and ignores inherited ones, as Object.entries does", () => {
    const v = view(Desc.size);
    Desc.write(v, 0, { status: 2, flags: 1, addr: 0x2000n, len: 60 });
    const inherited: Record<string, unknown> = Object.create({ len: 99, nope: 1 });
    inherited.status = 3;
    Desc.write(v, 0, smuggle<never>(inherited));
    expect(Desc.read(v, 0)).toEqual({ addr: 0x2000n, len: 60, flags: 1, status: 3 });
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a number", 5],
  ])("write of %s is EINVAL", (_, values) => {
    expectCode(() => Desc.write(view(Desc.size), 0, smuggle<never>(values)), "EINVAL");
  });
});

describe("checks", () => {
  const Desc = defineStruct({ addr: "u64", len: "u32" });

  it.each<[string, unknown]>([
    ["one past the last struct", 4],
    ["a negative index", -1],
    ["a fractional index", 0.5],
    ["a string index", "0"],
    ["NaN", Number.NaN],
  ])("index %s is EINVAL, naming how many structs there are", (_, index) => {
    const v = view(Desc.size * 4);
    const error = expectCode(() => Desc.get(v, smuggle<number>(index), "len"), "EINVAL");
    expect(error.message).toContain("4 structs");
    expectCode(() => Desc.set(v, smuggle<number>(index), "len", 1), "EINVAL");
    expectCode(() => Desc.read(v, smuggle<number>(index)), "EINVAL");
    expectCode(() => Desc.write(v, smuggle<number>(index), { len: 1 }), "EINVAL");
  });

  it("a view too short for one struct has no index at all", () => {
    expectCode(() => Desc.get(view(Desc.size - 1), 0, "addr"), "EINVAL");
  });

  it.each(["nope", "__proto__", "toString", "constructor"])("a field named %s that the struct lacks is EINVAL, naming the fields", (field) => {
    const error = expectCode(() => Desc.get(view(Desc.size), 0, smuggle<"len">(field)), "EINVAL");
    expect(error.message).toContain("addr, len");
  });

  it("a value that is not a DataView is EINVAL", () => {
    expectCode(() => Desc.get(smuggle<DataView>(new Uint8Array(16)), 0, "len"), "EINVAL");
  });

  it.each<[FieldType, unknown]>([
    ["u8", 256],
    ["u8", -1],
    ["u8", 1.5],
    ["i8", 128],
    ["i8", -129],
    ["u16", 65536],
    ["i16", 32768],
    ["u32", 2 ** 32],
    ["u32", -1],
    ["i32", 2 ** 31],
    ["i32", -(2 ** 31) - 1],
    ["u32", Number.NaN],
    ["u32", 1n],
    ["u64", 1],
    ["u64", -1n],
    ["u64", 2n ** 64n],
    ["i64", 2n ** 63n],
    ["i64", -(2n ** 63n) - 1n],
    ["i64", "1"],
  ])("%s does not take %s: EINVAL, and the memory is unchanged", (type, value) => {
    const S = defineStruct({ f: type });
    const v = view(S.size);
    new Uint8Array(v.buffer).fill(0x5a);
    const error = expectCode(() => S.set(v, 0, "f", smuggle<never>(value)), "EINVAL");
    expect(error.message).toContain(type);
    expect(new Uint8Array(v.buffer).every((b) => b === 0x5a)).toBe(true);
  });
});

describe("over DMA memory", () => {
  const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });

  it("driver and device read the same descriptor through one struct", async () => {
    const machine = new Machine({ iommu: "strict" });
    const { token, model } = await bindModel(machine, new OpenModel(), (dev) => enableBusMaster(dev));
    const ring = allocCoherent(token, Desc.size * 8);
    Desc.write(ring.view(token), 5, { addr: 0xabc000n, len: 1500, flags: 1 });
    const fetched = model.read(ring.dmaHandle + BigInt(5 * Desc.size), Desc.size);
    const seen = new DataView(fetched.buffer, fetched.byteOffset, fetched.byteLength);
    expect(Desc.read(seen, 0)).toEqual({ addr: 0xabc000n, len: 1500, flags: 1, status: 0 });
    // The device writes back a status; the driver sees it.
    Desc.set(seen, 0, "status", 0x8000);
    model.write(ring.dmaHandle + BigInt(5 * Desc.size), fetched);
    expect(Desc.get(ring.view(token), 5, "status")).toBe(0x8000);
  });

  it("a view of a freed allocation is EINVAL for every access", async () => {
    const machine = new Machine();
    const { token } = await bindModel(machine, new OpenModel());
    const ring = allocCoherent(token, Desc.size * 4);
    const v = ring.view(token);
    Desc.set(v, 0, "len", 64);
    ring.free();
    expect(expectCode(() => Desc.get(v, 0, "len"), "EINVAL").message).toContain("freed");
    expectCode(() => Desc.set(v, 0, "len", 1), "EINVAL");
    expectCode(() => Desc.read(v, 0), "EINVAL");
    expectCode(() => Desc.write(v, 0, { len: 1 }), "EINVAL");
    expectCode(() => Desc.count(v), "EINVAL");
  });

  it("a view kept past unbind is as dead as the memory devres freed", async () => {
    const machine = new Machine();
    const { token, dev } = await bindModel(machine, new OpenModel());
    const v = allocCoherent(token, Desc.size).view(token);
    await machine.pci.unbind(dev);
    expectCode(() => Desc.get(v, 0, "addr"), "EINVAL");
  });
});
