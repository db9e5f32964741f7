/**
 * Nested descriptor structs (src/driver/descriptor.ts): struct fields,
 * fixed-size arrays of scalars and of structs, dotted paths, and structs
 * placed at a base offset. The layout follows C (a nested struct aligned to
 * its largest member, an array to its element); the VIRTIO 1.x split
 * virtqueue and virtio-net header are checked against the spec's offsets;
 * writes of nested values are all-or-nothing.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, arrayOf, defineStruct, Machine } from "../src/index.js";
import type { ArrayField, FieldType, Struct, StructFields } from "../src/index.js";
import { bindModel, expectCode, OpenModel, smuggle } from "./helpers.js";

const view = (bytes: number): DataView => new DataView(new ArrayBuffer(bytes));
const bytesOf = (v: DataView): number[] => [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)];

// VIRTIO 1.x, 2.7 "Split Virtqueues" (struct virtq_desc, virtq_avail, virtq_used) and 5.1.6 (struct virtio_net_hdr).
const QUEUE = 256;
const VirtqDesc = defineStruct({ addr: "u64", len: "u32", flags: "u16", next: "u16" });
const VirtqAvail = defineStruct({ flags: "u16", idx: "u16", ring: arrayOf("u16", QUEUE), used_event: "u16" });
const VirtqUsedElem = defineStruct({ id: "u32", len: "u32" });
const VirtqUsed = defineStruct({ flags: "u16", idx: "u16", ring: arrayOf(VirtqUsedElem, QUEUE), avail_event: "u16" });
const VirtioNetHdr = defineStruct({ flags: "u8", gso_type: "u8", hdr_len: "u16", gso_size: "u16", csum_start: "u16", csum_offset: "u16", num_buffers: "u16" });

describe("the VIRTIO 1.x split virtqueue and virtio-net header, as the spec lays them out", () => {
  it("virtq_desc: addr 0, len 8, flags 12, next 14; 16 bytes, the descriptor table's stride", () => {
    expect(VirtqDesc.offsets).toEqual({ addr: 0, len: 8, flags: 12, next: 14 });
    expect(VirtqDesc.size).toBe(16);
  });

  it("virtq_avail: ring[N] of le16 at 4, used_event at 4 + 2N; 6 + 2N bytes, aligned to 2", () => {
    expect(VirtqAvail.offsets).toEqual({ flags: 0, idx: 2, ring: 4, used_event: 4 + 2 * QUEUE });
    expect(VirtqAvail.offsetOf("ring.255")).toBe(4 + 2 * 255);
    expect(VirtqAvail.size).toBe(6 + 2 * QUEUE);
    expect(VirtqAvail.align).toBe(2);
  });

  it("virtq_used: ring[N] of virtq_used_elem (id, len) at 4, avail_event at 4 + 8N; aligned to 4", () => {
    expect(VirtqUsedElem.offsets).toEqual({ id: 0, len: 4 });
    expect(VirtqUsed.offsets).toEqual({ flags: 0, idx: 2, ring: 4, avail_event: 4 + 8 * QUEUE });
    expect(VirtqUsed.offsetOf("ring.3.len")).toBe(4 + 3 * 8 + 4);
    expect(VirtqUsed.align).toBe(4);
    // The spec sizes the used ring 6 + 8N; C's sizeof pads it to its alignment.
    expect(VirtqUsed.size).toBe(Math.ceil((6 + 8 * QUEUE) / 4) * 4);
  });

  it("virtio_net_hdr: flags 0, gso_type 1, hdr_len 2, gso_size 4, csum_start 6, csum_offset 8, num_buffers 10; 12 bytes", () => {
    expect(VirtioNetHdr.offsets).toEqual({ flags: 0, gso_type: 1, hdr_len: 2, gso_size: 4, csum_start: 6, csum_offset: 8, num_buffers: 10 });
    expect(VirtioNetHdr.size).toBe(12);
  });

  it("a whole queue in one allocation: table, then avail right after, then used at the next 4 KiB (legacy layout), placed with at()", () => {
    const tableBytes = VirtqDesc.size * QUEUE;
    const usedAt = Math.ceil((tableBytes + VirtqAvail.size) / 4096) * 4096;
    const queue = view(usedAt + VirtqUsed.size);
    VirtqDesc.write(queue, 7, { addr: 0x1234_5000n, len: 1526, flags: 2, next: 0 });
    const avail = VirtqAvail.at(queue, tableBytes);
    VirtqAvail.set(avail, 0, "ring.0", 7);
    VirtqAvail.set(avail, 0, "idx", 1);
    const used = VirtqUsed.at(queue, usedAt);
    VirtqUsed.write(used, 0, { idx: 1, ring: [{ id: 7, len: 60 }] });
    // The device's side: raw offsets from the spec.
    expect(queue.getBigUint64(7 * 16, true)).toBe(0x1234_5000n);
    expect(queue.getUint16(tableBytes + 2, true)).toBe(1);
    expect(queue.getUint16(tableBytes + 4, true)).toBe(7);
    expect(queue.getUint32(usedAt + 4, true)).toBe(7);
    expect(queue.getUint32(usedAt + 8, true)).toBe(60);
    expect(VirtqUsed.get(used, 0, "ring.0")).toEqual({ id: 7, len: 60 });
  });
});

describe("C layout of nested structs and arrays", () => {
  const Inner = defineStruct({ a: "u8", b: "u32" }); // 8 bytes, align 4
  it.each<[string, StructFields, Record<string, number>, number, number]>([
    ["a nested struct aligns to its largest member", { x: "u8", inner: Inner }, { x: 0, inner: 4 }, 12, 4],
    ["a byte after a nested struct is padded to the outer alignment", { inner: Inner, y: "u8" }, { inner: 0, y: 8 }, 12, 4],
    ["an array of bytes packs", { a: "u8", mac: arrayOf("u8", 6), b: "u8" }, { a: 0, mac: 1, b: 7 }, 8, 1],
    ["an array aligns to its element", { a: "u8", words: arrayOf("u32", 3) }, { a: 0, words: 4 }, 16, 4],
    ["an array of structs strides by the struct's padded size", { a: "u16", elems: arrayOf(Inner, 2) }, { a: 0, elems: 4 }, 20, 4],
    ["a struct of one array", { q: arrayOf("u64", 4) }, { q: 0 }, 32, 8],
  ])("%s", (_, fields, offsets, size, align) => {
    const struct = defineStruct(fields);
    expect(struct.offsets).toEqual(offsets);
    expect(struct.size).toBe(size);
    expect(struct.align).toBe(align);
  });

  it("offsetOf follows a path through structs and arrays", () => {
    const Outer = defineStruct({ x: "u8", inner: Inner, elems: arrayOf(Inner, 3) });
    expect(Outer.offsetOf("inner.b")).toBe(4 + 4);
    expect(Outer.offsetOf("elems.2.b")).toBe(12 + 2 * 8 + 4);
    expect(Outer.offsetOf("x")).toBe(0);
  });

  it("arrayOf gives a frozen { of, length }", () => {
    const field: ArrayField<"u16", 8> = arrayOf("u16", 8);
    expect(field).toEqual({ of: "u16", length: 8 });
    expect(Object.isFrozen(field)).toBe(true);
  });
});

describe("reading and writing nested values", () => {
  const Hdr = defineStruct({ flags: "u8", len: "u16" });
  const Pkt = defineStruct({ hdr: Hdr, addrs: arrayOf("u64", 2), tail: "u8" });

  it("read gives nested objects and arrays; get of a path gives one part", () => {
    const v = view(Pkt.size * 2);
    Pkt.write(v, 1, { hdr: { flags: 1, len: 60 }, addrs: [5n, 6n], tail: 9 });
    expect(Pkt.read(v, 1)).toEqual({ hdr: { flags: 1, len: 60 }, addrs: [5n, 6n], tail: 9 });
    expect(Pkt.get(v, 1, "hdr")).toEqual({ flags: 1, len: 60 });
    expect(Pkt.get(v, 1, "hdr.len")).toBe(60);
    expect(Pkt.get(v, 1, "addrs.1")).toBe(6n);
    expect(Pkt.read(v, 0)).toEqual({ hdr: { flags: 0, len: 0 }, addrs: [0n, 0n], tail: 0 });
  });

  it("bytes land where C puts them, little-endian", () => {
    const v = view(Pkt.size);
    Pkt.set(v, 0, "hdr.len", 0x0102);
    Pkt.set(v, 0, "addrs.1", 0x1122_3344_5566_7788n);
    Pkt.set(v, 0, "tail", 0xee);
    const expected = new Array<number>(Pkt.size).fill(0);
    expected.splice(2, 2, 0x02, 0x01);
    expected.splice(16, 8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
    expected[24] = 0xee;
    expect(bytesOf(v)).toEqual(expected);
  });

  it("a partial nested write keeps the other bytes: a field left out, an array element undefined or past the end given", () => {
    const v = view(Pkt.size);
    Pkt.write(v, 0, { hdr: { flags: 3, len: 4 }, addrs: [1n, 2n], tail: 5 });
    Pkt.write(v, 0, { hdr: { len: 40 }, addrs: [undefined, 20n] });
    Pkt.set(v, 0, "addrs", [7n]);
    Pkt.set(v, 0, "hdr", { flags: 9 });
    expect(Pkt.read(v, 0)).toEqual({ hdr: { flags: 9, len: 40 }, addrs: [7n, 20n], tail: 5 });
  });

  it.each<[string, unknown]>([
    ["a nested value out of range after good ones", { tail: 1, hdr: { flags: 1, len: 0x10000 } }],
    ["an unknown nested field", { tail: 1, hdr: { flags: 1, nope: 1 } }],
    ["a number in an array of 64-bit fields", { tail: 1, addrs: [1n, 2] }],
    ["an array longer than the field", { tail: 1, addrs: [1n, 2n, 3n] }],
    ["an object for an array", { tail: 1, addrs: { 0: 1n } }],
    ["an array for a struct", { tail: 1, hdr: [1, 2] }],
    ["null for a struct", { tail: 1, hdr: null }],
  ])("write is all-or-nothing: %s writes nothing", (_, values) => {
    const v = view(Pkt.size);
    Pkt.write(v, 0, { hdr: { flags: 3, len: 4 }, addrs: [1n, 2n], tail: 5 });
    const before = bytesOf(v);
    expectCode(() => Pkt.write(v, 0, smuggle<never>(values)), "EINVAL");
    expect(bytesOf(v)).toEqual(before);
  });

  it("set of a nested value is all-or-nothing too, and names the path that failed", () => {
    const v = view(Pkt.size);
    const error = expectCode(() => Pkt.set(v, 0, "hdr", smuggle<never>({ flags: 1, len: -1 })), "EINVAL");
    expect(error.message).toContain('"hdr.len" is u16');
    expect(bytesOf(v).every((b) => b === 0)).toBe(true);
    expect(expectCode(() => Pkt.set(v, 0, "addrs", smuggle<never>([0n, "1"])), "EINVAL").message).toContain('"addrs.1"');
  });

  it.each<[string, string, string]>([
    ["a field the nested struct lacks", "hdr.nope", 'has no field "nope"; it has flags, len'],
    ["an index past the array", "addrs.2", "elements 0 to 1"],
    ["a negative index", "addrs.-1", "elements 0 to 1"],
    ["an index with a leading zero", "addrs.01", "elements 0 to 1"],
    ["a fractional index", "addrs.0.5", "is a u64"],
    ["a path into a scalar", "tail.x", "is a u8"],
    ["an empty segment", "hdr.", 'has no field ""'],
    ["an empty path", "", 'has no field ""'],
  ])("a path with %s is EINVAL, and says why", (_, path, words) => {
    const v = view(Pkt.size);
    expect(expectCode(() => Pkt.get(v, 0, smuggle<"tail">(path)), "EINVAL").message).toContain(words);
    expectCode(() => Pkt.set(v, 0, smuggle<"tail">(path), 1), "EINVAL");
    expectCode(() => Pkt.offsetOf(smuggle<"tail">(path)), "EINVAL");
  });
});

describe("at(view, base): structs that start inside a view", () => {
  const S = defineStruct({ a: "u32", b: "u16" }); // 8 bytes, align 4

  it("index 0 is the struct at base, and the rest follow it", () => {
    const v = view(64);
    const placed = S.at(v, 20);
    expect(S.count(placed)).toBe(5);
    S.set(placed, 1, "b", 0xbeef);
    expect(v.getUint16(20 + 8 + 4, true)).toBe(0xbeef);
    expect(placed.buffer).toBe(v.buffer);
  });

  it("composes with a view that has its own byte offset", () => {
    const backing = new ArrayBuffer(64);
    const inner = new DataView(backing, 8, 32);
    S.set(S.at(inner, 16), 0, "a", 0xdeadbeef);
    expect(new DataView(backing).getUint32(8 + 16, true)).toBe(0xdeadbeef);
  });

  it.each<[string, unknown, string]>([
    ["negative", -4, "whole number"],
    ["fractional", 4.5, "whole number"],
    ["NaN", Number.NaN, "whole number"],
    ["a string", "4", "whole number"],
    ["misaligned for the struct", 2, "alignment 4"],
    ["with no room for one struct", 60, "past the view's 64 bytes"],
    ["past the end", 68, "past the view's 64 bytes"],
  ])("a base that is %s is EINVAL", (_, base, words) => {
    expect(expectCode(() => S.at(view(64), smuggle<number>(base)), "EINVAL").message).toContain(words);
  });

  it("over DMA memory: a placed view keeps the allocation's scope, and dies with it", async () => {
    const machine = new Machine();
    const { token } = await bindModel(machine, new OpenModel());
    const ring = allocCoherent(token, 4096);
    const placed = VirtqAvail.at(ring.view(token), 1024);
    VirtqAvail.set(placed, 0, "ring.2", 9);
    expect(ring.view(token).getUint16(1024 + 4 + 4, true)).toBe(9);
    ring.free();
    expect(expectCode(() => VirtqAvail.get(placed, 0, "idx"), "EINVAL").message).toContain("freed");
    expectCode(() => VirtqAvail.at(placed, 0), "EINVAL");
  });
});

describe("bad definitions", () => {
  const Inner = defineStruct({ a: "u8" });
  it.each<[string, () => unknown]>([
    ["arrayOf with length 0 (a flexible array member)", () => arrayOf("u16", 0)],
    ["arrayOf with a negative length", () => arrayOf("u16", -1)],
    ["arrayOf with a fractional length", () => arrayOf("u16", 1.5)],
    ["arrayOf with NaN", () => arrayOf("u16", Number.NaN)],
    ["arrayOf with Infinity", () => arrayOf("u16", Number.POSITIVE_INFINITY)],
    ["arrayOf with an unsafe length", () => arrayOf("u8", 2 ** 53)],
    ["arrayOf with more than 1 GiB", () => arrayOf("u64", 2 ** 27 + 1)],
    ["arrayOf of an unknown type", () => arrayOf(smuggle<FieldType>("u128"), 4)],
    ["arrayOf of an array (wrap it in a struct)", () => arrayOf(smuggle<FieldType>(arrayOf("u8", 2)), 4)],
    ["arrayOf of a struct look-alike", () => arrayOf(smuggle<Struct<{ a: "u8" }>>({ size: 1, align: 1, offsets: { a: 0 } }), 4)],
    ["a field that is an arrayOf look-alike", () => defineStruct({ a: smuggle<ArrayField<"u8", 4>>({ of: "u8", length: 4 }) })],
    ["a field that is a frozen copy of a struct", () => defineStruct({ a: smuggle<typeof Inner>(Object.freeze({ ...Inner })) })],
    ["a struct larger than 1 GiB", () => defineStruct({ a: arrayOf("u64", 2 ** 27), b: arrayOf("u8", 1) })],
    ["a field name with a dot", () => defineStruct({ "a.b": "u8" })],
    ["an empty field name", () => defineStruct({ "": "u8" })],
    ["an index-like field name, which JavaScript would list first", () => defineStruct({ b: "u8", 0: "u32" })],
  ])("%s is EINVAL", (_, define) => {
    expectCode(define, "EINVAL");
  });

  it("a 1 GiB struct is the largest", () => {
    expect(defineStruct({ a: arrayOf("u64", 2 ** 27) }).size).toBe(2 ** 30);
  });
});
