// Mutants of devres groups and the teardown order (src/driver/devres.ts,
// src/core/dd.ts, the DriverInstance hooks): each weakens one guard, and
// test/devres-group.test.ts, test/fuzz-devres.test.ts,
// test/teardown-order.test.ts (with the hostile rows and the type fixtures
// devres-*) must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [
  {
    id: "devres-group-release-any-token",
    what: "a group's release() takes any token: a group of one binding released with another's",
    edits: [edit("src/driver/devres.ts", "  readonly release: (dev: ProbeDevice<Scope>) => Promise<void>;", "  readonly release: (dev: ProbeDevice<any>) => Promise<void>;")],
  },
  {
    id: "devres-group-open-any-context",
    what: "openDevresGroup takes any bound token: a task or an interrupt handler opens a group",
    edits: [edit("src/driver/devres.ts", "export const openDevresGroup = <Scope>(dev: ProbeDevice<Scope>): DevresGroup<Scope> => {", "export const openDevresGroup = <Scope>(dev: BoundDevice<Scope>): DevresGroup<Scope> => {")],
  },
  {
    id: "drop-hook-any-token",
    what: "the drop hook takes any token: a hook typed for another scope fits",
    edits: [edit("src/driver/driver.ts", "  readonly drop?: (dev: SleepableDevice<Scope>) => void;", "  readonly drop?: (dev: any) => void;")],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "teardown-drop-after-end",
    what: "the driver data drop runs after the binding ended: its token is dead and devres access fails",
    tests: ["teardown-order"],
    edits: [
      edit("src/core/dd.ts", "  // Then the token dies.\n  binding.end(reason);\n", ""),
      edit("src/core/dd.ts", "  if (instance !== undefined) await drop(record, binding, instance);\n", "  binding.end(reason);\n  if (instance !== undefined) await drop(record, binding, instance);\n"),
    ],
  },
  {
    id: "teardown-children-oldest-first",
    what: "child devices and registrations are taken down oldest first",
    tests: ["teardown-order"],
    edits: [edit("src/core/dd.ts", "  for (const member of [...set].reverse()) {", "  for (const member of [...set]) {")],
  },
  {
    id: "devres-group-joins-outermost-only",
    what: "a resource joins only the outermost open group, not the innermost and its ancestors",
    tests: ["devres-group", "fuzz-devres"],
    edits: [edit("src/driver/devres.ts", '    for (const group of this.#groups) if (group.state === "open") group.members.add(resource);', '    for (const group of this.#groups) if (group.state === "open" && group.parent === undefined) group.members.add(resource);')],
  },
  {
    id: "devres-group-release-fifo",
    what: "a group's release frees its resources first in first out",
    tests: ["devres-group", "fuzz-devres"],
    edits: [edit("src/driver/devres.ts", "    for (let i = members.length - 1; i >= 0; i--) {\n      const resource = members[i]!;\n      // Released early meanwhile", "    for (let i = 0; i < members.length; i++) {\n      const resource = members[i]!;\n      // Released early meanwhile")],
  },
  {
    id: "devres-group-release-stays-on-stack",
    what: "a group's release leaves its resources on the binding's stack: the unbind releases them again",
    tests: ["devres-group", "fuzz-devres"],
    edits: [edit("src/driver/devres.ts", "      this.forget(resource);\n      await releaseOne(resource, binding, async (work) => {", "      group.members.delete(resource);\n      await releaseOne(resource, binding, async (work) => {")],
  },
  {
    id: "devres-group-other-binding",
    what: "a group accepts another binding's live token",
    tests: ["devres-group", "hostile"],
    edits: [edit("src/driver/devres.ts", "    if (binding !== owner) {", "    if (binding !== owner && false) {")],
  },
];
