/**
 * Hostile input for per-id driver data and nested descriptor structs
 * (src/driver/driver.ts, src/driver/descriptor.ts): malformed ids and match
 * fields, id tables and specs; bad array fields and struct definitions
 * (lengths of zero, negative, unsafe, too large; look-alikes of structs and
 * arrays; field names a path cannot tell apart); bad base offsets and views
 * too small; nested paths and values that do not fit. Each is `EINVAL`, and
 * a refused write leaves A's memory as it was.
 */

import { arrayOf, defineDriver, defineStruct, deviceTable } from "../../src/index.js";
import type { ArrayField, DeviceId, DriverSpec, FieldType, Struct } from "../../src/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const EINVAL = { code: "EINVAL" } as const;
const probe = (): object => ({});
const NIC = { vendor: 0x1af4, device: 0x1000 };

/** A nested descriptor over A's 4096 bytes: 32 bytes, so A's buffer holds 128 of them. */
const Hdr = defineStruct({ flags: "u8", len: "u16" });
const Pkt = defineStruct({ hdr: Hdr, addrs: arrayOf("u64", 2), ring: arrayOf(Hdr, 2) });

const rows: Row[] = [];

function table(entry: string, inputs: readonly (readonly [input: string, act: (rig: Rig) => unknown])[], note?: string): void {
  for (const [input, act] of inputs) rows.push({ entry, input, outcome: EINVAL, act, ...(note === undefined ? {} : { note }) });
}

const badIds: readonly (readonly [string, unknown])[] = [
  ["an id with an unknown key `subVendor` (a typo)", { ...NIC, subVendor: 1 }],
  ["an id with `subvendor` `0x10000`", { ...NIC, subvendor: 0x10000 }],
  ['an id with `subdevice` `"1"`', { ...NIC, subdevice: "1" }],
  ["an id with `class` `0x1000000` (over 24 bits)", { ...NIC, class: 0x100_0000 }],
  ["an id with `classMask` and no `class`", { ...NIC, classMask: 0xff0000 }],
  ["an id with `class` bits outside `classMask`", { ...NIC, class: 0x010601, classMask: 0xff0000 }],
];

table(
  "defineDriver(spec)",
  badIds.map(([input, id]) => [input, () => defineDriver(any<DriverSpec>({ name: "d", ids: [id], probe }))] as const),
);

table("deviceTable(ids)", [
  ["`null`", () => deviceTable(any<readonly DeviceId[]>(null))],
  ["`[]`", () => deviceTable([])],
  ["a sparse array `[ , ]`", () => deviceTable(any<readonly DeviceId[]>(new Array(1)))],
  ["an entry `null`", () => deviceTable(any<readonly DeviceId[]>([null]))],
  ["an entry with `vendor` `-1`", () => deviceTable(any<readonly DeviceId[]>([{ vendor: -1, device: 0, data: 1 }]))],
  ...badIds.map(([input, id]) => [input, () => deviceTable(any<readonly DeviceId[]>([id]))] as const),
]);

const tableOfOne = () => deviceTable([{ ...NIC, data: { queues: 1 } }]);
table("table.defineDriver(spec)", [
  ["`null`", () => tableOfOne().defineDriver(any<never>(null))],
  ['`name` `""`', () => tableOfOne().defineDriver(any<never>({ name: "", probe }))],
  ["no `probe`", () => tableOfOne().defineDriver(any<never>({ name: "d" }))],
  ["a spec with `ids` of its own", () => tableOfOne().defineDriver(any<never>({ name: "d", ids: [NIC], probe }))],
]);

table("arrayOf(element, length)", [
  ["`length` `0` (a flexible array member)", () => arrayOf("u16", 0)],
  ["`length` `-1`", () => arrayOf("u16", -1)],
  ["`length` `1.5`", () => arrayOf("u16", 1.5)],
  ["`length` `NaN`", () => arrayOf("u16", Number.NaN)],
  ["`length` `2 ** 53` (unsafe)", () => arrayOf("u8", 2 ** 53)],
  ['`length` `"4"`', () => arrayOf("u8", any<number>("4"))],
  ["more than 1 GiB", () => arrayOf("u64", 2 ** 27 + 1)],
  ['`element` `"u128"`', () => arrayOf(any<FieldType>("u128"), 4)],
  ["`element` an array (nest it in a struct)", () => arrayOf(any<FieldType>(arrayOf("u8", 2)), 4)],
  ["`element` a struct look-alike `{ size, align, offsets }`", () => arrayOf(any<Struct<{ a: "u8" }>>({ size: 1, align: 1, offsets: { a: 0 } }), 4)],
]);

table("defineStruct(fields)", [
  ["a field that is an `arrayOf` look-alike `{ of, length }`", () => defineStruct({ a: any<ArrayField<"u8", 4>>({ of: "u8", length: 4 }) })],
  ["a field that is a copy of a struct", () => defineStruct({ a: any<typeof Hdr>({ ...Hdr }) })],
  ["a struct over 1 GiB", () => defineStruct({ a: arrayOf("u64", 2 ** 27), b: "u8" })],
  ['a field named `"a.b"`', () => defineStruct({ "a.b": "u8" })],
  ['a field named `""`', () => defineStruct({ "": "u8" })],
  ['a field named `"0"` (JavaScript lists it first)', () => defineStruct({ b: "u8", 0: "u32" })],
]);

table("struct.at(view, base)", [
  ["`base` `-32`", (rig) => Pkt.at(rig.a.view, -32)],
  ["`base` `1.5`", (rig) => Pkt.at(rig.a.view, 1.5)],
  ["`base` `NaN`", (rig) => Pkt.at(rig.a.view, Number.NaN)],
  ['`base` `"32"`', (rig) => Pkt.at(rig.a.view, any<number>("32"))],
  ["`base` `2` (misaligned for the struct)", (rig) => Pkt.at(rig.a.view, 2)],
  ["`base` `4080` (no room for one struct)", (rig) => Pkt.at(rig.a.view, 4080)],
  ["`base` `8192` (past the view)", (rig) => Pkt.at(rig.a.view, 8192)],
  ["a view of freed memory", (rig) => Pkt.at(rig.dead.view, 0)],
  ["a view that is not a `DataView`", (rig) => Pkt.at(any<DataView>(rig.a.buf.bytes(rig.a.token)), 0)],
]);

table(
  "struct.get/set/read/write/count(view, …)",
  [
    ['nested path `"hdr.nope"`', (rig) => Pkt.get(rig.a.view, 0, any<"hdr">("hdr.nope"))],
    ['nested path `"addrs.2"` (past the array)', (rig) => Pkt.set(rig.a.view, 0, any<"addrs.0">("addrs.2"), 1n)],
    ['nested path `"addrs.01"`', (rig) => Pkt.get(rig.a.view, 0, any<"addrs.0">("addrs.01"))],
    ['nested path `"hdr.len.x"` (into a scalar)', (rig) => Pkt.get(rig.a.view, 0, any<"hdr.len">("hdr.len.x"))],
    ["a nested value out of range, after good ones", (rig) => Pkt.write(rig.a.view, 0, { addrs: [1n, 2n], hdr: { flags: 1, len: any<number>(0x10000) } })],
    ["an array longer than the field", (rig) => Pkt.set(rig.a.view, 0, "addrs", [1n, 2n, 3n])],
    ["a bad element in an array of structs", (rig) => Pkt.set(rig.a.view, 0, "ring", [{ len: 1 }, { flags: any<number>(-1) }])],
    ["an object for an array field", (rig) => Pkt.write(rig.a.view, 0, any<never>({ addrs: { 0: 1n } }))],
  ],
  "nothing is written",
);

export { rows };

export const entries: readonly string[] = ["deviceTable(ids)", "table.defineDriver(spec)", "arrayOf(element, length)", "struct.at(view, base)"];
