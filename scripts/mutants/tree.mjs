// Mutants of device trees, the auxiliary bus and device links
// (src/core/bus.ts, src/core/device-link.ts, src/sim/pci.ts,
// src/driver/auxiliary.ts): each weakens one guard, and test/hierarchy,
// test/auxiliary, test/device-link, test/fuzz-tree (with the hostile rows
// and the type fixtures tree-*) must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [
  {
    id: "tree-key-data-unchecked",
    what: "the auxiliary key forgets its data type: creator and driver may disagree",
    edits: [
      edit(
        "src/driver/auxiliary.ts",
        "declare class AuxiliaryTypeShape<in out Data, in out Ops extends AuxiliaryOps> {\n  #onlyAuxiliaryTypeMakesOne: true;\n  /** The brand that makes both sides agree on `Data` and `Ops` (see internal/brand.ts). */\n  readonly [auxiliaryDataAgrees]: Invariant<[Data, Ops]>;",
        "declare class AuxiliaryTypeShape<Data, Ops extends AuxiliaryOps> {\n  #onlyAuxiliaryTypeMakesOne: true;",
      ),
      edit("src/driver/auxiliary.ts", 'import type { auxiliaryDataAgrees, Invariant, onlyDefineAuxiliaryDriverMakesOne, parentDataOfOneBinding } from "../internal/brand.js";', 'import type { Invariant, onlyDefineAuxiliaryDriverMakesOne, parentDataOfOneBinding } from "../internal/brand.js";'),
    ],
  },
  {
    id: "tree-parent-data-any-token",
    what: "ParentData.access takes any binding's token: the parent's own passes",
    edits: [edit("src/driver/auxiliary.ts", "  readonly access: (dev: BoundDevice<Scope>) => Data;", "  readonly access: (dev: BoundDevice<any>) => Data;")],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "tree-parent-before-children",
    what: "a deleted subtree's parent is removed before its children",
    tests: ["hierarchy", "fuzz-tree"],
    edits: [
      edit(
        "src/core/bus.ts",
        "      for (const child of record.childrenOn(this)) {\n        const mine = child.removal === undefined;",
        "      await record.enqueue(() => this.#deleteOne(record, how)).catch(() => {});\n      for (const child of record.childrenOn(this)) {\n        const mine = child.removal === undefined;",
      ),
    ],
  },
  {
    id: "tree-consumer-not-deferred",
    what: "a consumer is probed while its supplier is not bound",
    tests: ["device-link", "fuzz-tree"],
    edits: [edit("src/core/bus.ts", "    if (waiting.length > 0) {", "    if (waiting.length < 0) {")],
  },
  {
    id: "tree-supplier-unbinds-first",
    what: "a supplier unbinds without unbinding its consumers first",
    tests: ["device-link", "fuzz-tree"],
    edits: [edit("src/core/bus.ts", "    await this.#unbindConsumers(record, true);\n    await removeDevice(record, reason);", "    await removeDevice(record, reason);")],
  },
  {
    id: "tree-cycle-allowed",
    what: "a link that closes a dependency cycle is accepted",
    tests: ["device-link", "fuzz-tree"],
    edits: [edit("src/core/device-link.ts", "    const cycle = c === s ? [s] : this.#dependencyPath(s, c);", "    const cycle = c === s ? [s] : undefined;")],
  },
  {
    id: "tree-aux-outlives-parent",
    what: "an auxiliary device is not in its creator's children: the parent's unbind leaves it bound",
    tests: ["auxiliary", "examples-aux"],
    edits: [edit("src/driver/auxiliary.ts", "  binding.children.add(teardown);", "  void teardown;")],
  },
  {
    id: "tree-parent-data-any-binding",
    what: "ParentData answers any live token, the parent's included",
    tests: ["auxiliary"],
    edits: [edit("src/driver/auxiliary.ts", "    if (binding !== this.#child) {", '    if (binding !== this.#child && binding.driver === "") {')],
  },
  {
    id: "tree-hidden-survives-unplug",
    what: "removed hardware under an unplugged parent is found again by a rescan",
    tests: ["hierarchy", "fuzz-tree"],
    edits: [edit("src/sim/pci.ts", "      this.#dropHidden(new Set(hosts));", "      void hosts;")],
  },
];
