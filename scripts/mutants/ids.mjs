// Mutants of per-id driver data (src/driver/driver.ts) and nested descriptor
// structs (src/driver/descriptor.ts): each weakens one guard, and the ids
// fixtures (types-tests/*/ids-*.ts) or tests (driver-ids, descriptor-nested,
// fuzz-struct) must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

const DRIVER = "src/driver/driver.ts";
const DESCRIPTOR = "src/driver/descriptor.ts";

export const TYPE_MUTANTS = [
  {
    id: "ids-data-always-optional",
    what: "an id's data is optional whatever its type: a table can leave out the data probe expects",
    edits: [edit(DRIVER, "IdMatch & (undefined extends Data ? { readonly data?: Data } : { readonly data: Data });", "IdMatch & { readonly data?: Data };")],
  },
  {
    id: "ids-probe-id-any",
    what: "probe's id parameter is MatchedId<any>: a probe may expect data its table does not give",
    edits: [edit(DRIVER, "readonly probe: <Scope>(dev: ProbeDevice<Scope>, id: MatchedId<Data>) =>", "readonly probe: <Scope>(dev: ProbeDevice<Scope>, id: MatchedId<any>) =>")],
  },
  {
    id: "struct-path-any-string",
    what: "a struct path is any string: a path to no field compiles",
    edits: [edit(DESCRIPTOR, "  [Name in keyof Fields & string]: Name | `${Name}.${SubPath<Fields[Name]>}`;", "  [Name in keyof Fields & string]: string;")],
  },
  {
    id: "array-field-unbranded",
    what: "ArrayField loses its brand: a literal { of, length } passes for arrayOf's",
    edits: [edit(DESCRIPTOR, '  readonly [madeByArrayOf]: "ArrayField";\n', "")],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "ids-last-match-wins",
    what: "probe receives the last matching entry, not the first in table order",
    tests: ["driver-ids"],
    edits: [edit(DRIVER, "return this.ids.find((id) => idMatches(id, device));", "return [...this.ids].reverse().find((id) => idMatches(id, device));")],
  },
  {
    id: "ids-data-not-frozen",
    what: "id data is not frozen: one binding can change what every other binding of the driver reads",
    tests: ["driver-ids"],
    edits: [edit(DRIVER, "  seen.add(value);\n  Object.freeze(value);\n", "  seen.add(value);\n")],
  },
  {
    id: "ids-unknown-key-ignored",
    what: "an id with a misspelt key (subVendor) is accepted, and matches any subsystem",
    tests: ["driver-ids"],
    edits: [edit(DRIVER, "  if (unknown.length > 0) {", "  if (unknown.length > 0 && false) {")],
  },
  {
    id: "struct-write-without-check",
    what: "a nested write is not checked before it starts: a bad value deep in it leaves the good ones before it written",
    tests: ["descriptor-nested", "fuzz-struct"],
    edits: [edit(DESCRIPTOR, '      if (!fits(self, values)) checkLayout(self, values, "", operation("write", index));\n', "")],
  },
  {
    id: "struct-array-unaligned",
    what: "an array field is aligned to 1, not to its element: offsets after a byte differ from C's",
    tests: ["descriptor-nested", "fuzz-struct"],
    edits: [edit(DESCRIPTOR, 'LAYOUTS.set(field, Object.freeze({ kind: "array", of, length, size: of.size * length, align: of.align }));', 'LAYOUTS.set(field, Object.freeze({ kind: "array", of, length, size: of.size * length, align: 1 }));')],
  },
  {
    id: "struct-at-misaligned",
    what: "at() takes a base that is not a multiple of the struct's alignment",
    tests: ["descriptor-nested"],
    edits: [edit(DESCRIPTOR, " || start < 0 || start % align !== 0) {", " || start < 0) {")],
  },
];
