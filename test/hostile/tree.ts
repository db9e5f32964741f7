/**
 * Hostile input for device hierarchies, the auxiliary bus and device links
 * (src/sim/pci.ts, src/core/bus.ts, src/driver/auxiliary.ts,
 * src/core/auxiliary.ts, src/core/device-link.ts): parents that are not on
 * the bus, devices removed twice, links that would close a cycle or join
 * devices of two machines, auxiliary keys and drivers that are look-alikes,
 * parent data reached with another binding's token or after the child's
 * binding ended. Each is refused with a clear code and changes nothing.
 */

import { addAuxiliaryDevice, auxiliaryType, defineAuxiliaryDriver, defineDriver, Machine } from "../../src/index.js";
import type { AuxiliaryDevice, AuxiliaryType, BoundDevice, Device, ParentData, ProbeDevice } from "../../src/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const EINVAL = { code: "EINVAL" } as const;
const EBUSY = { code: "EBUSY" } as const;
const EPERM = { code: "EPERM" } as const;
const ENXIO = { code: "ENXIO" } as const;

const NIC = { vendor: 0x1af4, device: 0x1000 } as const;

type Token = ProbeDevice<"hostile">;
/** The parked binding's core context: a live token inside probe(). */
const core = (rig: Rig): Token => rig.core as unknown as Token;

const rows: Row[] = [];

function table(entry: string, outcome: Row["outcome"], inputs: readonly (readonly [input: string, act: (rig: Rig) => unknown])[], note?: string): void {
  for (const [input, act] of inputs) rows.push({ entry, input, outcome, act, ...(note === undefined ? {} : { note }) });
}

type Ops = { ping(n: number): number };
const KEY = auxiliaryType<{ mtu: number }, Ops>("nic.aux");

/**
 * A machine of its own: a NIC whose driver creates `nic.aux.0`, an
 * auxiliary driver bound to it, and what each kept (smuggled out for the
 * row to misuse).
 */
async function auxRig(): Promise<{ machine: Machine; pci: Device; parent: ParentData<"x", { mtu: number }, Ops>; child: BoundDevice<"x">; parentToken: ProbeDevice<"x">; aux: AuxiliaryDevice<"x"> }> {
  const machine = new Machine();
  let parentToken: ProbeDevice<"x"> | undefined;
  let aux: AuxiliaryDevice<"x"> | undefined;
  let parent: ParentData<"x", { mtu: number }, Ops> | undefined;
  let child: BoundDevice<"x"> | undefined;
  await machine.pci.register(
    defineDriver({
      name: "nic",
      ids: [NIC],
      probe(dev) {
        parentToken = any(dev);
        aux = any(addAuxiliaryDevice(dev, KEY, { id: 0, data: { mtu: 1500 }, ops: { ping: (_dev, n) => n } }));
        return {};
      },
    }),
  );
  await machine.auxiliary.register(
    defineAuxiliaryDriver(KEY)({
      name: "aux",
      probe(dev, data) {
        parent = any(data);
        child = any(dev);
        return {};
      },
    }),
  );
  const pci = machine.pci.plug(NIC);
  await machine.settled();
  return { machine, pci, parent: parent!, child: child!, parentToken: parentToken!, aux: aux! };
}

table("machine.pci.plug(spec, { parent })", EINVAL, [
  ["a parent of another machine", (rig) => rig.machine.pci.plug(NIC, { parent: rig.foreign.dev })],
  ["an unplugged parent", (rig) => rig.machine.pci.plug(NIC, { parent: rig.zombie })],
  ["a parent `{}` (a look-alike)", (rig) => rig.machine.pci.plug(NIC, { parent: any({}) })],
  ["options `null`", (rig) => rig.machine.pci.plug(NIC, any(null))],
]);

table("machine.pci.remove(dev)", EINVAL, [
  ["a device of another machine", (rig) => rig.machine.pci.remove(rig.foreign.dev)],
  ["an unplugged device", (rig) => rig.machine.pci.remove(rig.zombie)],
  ["a token instead of the Device", (rig) => rig.machine.pci.remove(any({ name: rig.a.dev.name }))],
  [
    "a device removed already",
    async () => {
      const machine = new Machine();
      const dev = machine.pci.plug(NIC);
      await machine.pci.remove(dev);
      return machine.pci.remove(dev);
    },
  ],
]);

table(
  "machine.pci.rescan()",
  { ignored: true },
  [
    [
      "twice in a row, with nothing removed",
      async (rig) => {
        const first = await rig.machine.pci.rescan();
        const second = await rig.machine.pci.rescan();
        if (first.length !== 0 || second.length !== 0) throw new Error("hostile row: rescan found hardware that was never removed");
      },
    ],
  ],
  "finds nothing: only removed hardware is found again",
);

table("machine.pci.parent(dev)/children(dev)", EINVAL, [
  ["a device of another machine", (rig) => rig.machine.pci.children(rig.foreign.dev)],
  ["`null`", (rig) => rig.machine.pci.parent(any(null))],
]);

table("machine.links.add(consumer, supplier)", EINVAL, [
  ["the same device twice (a cycle of one)", (rig) => rig.machine.links.add(rig.a.dev, rig.a.dev)],
  ["a supplier of another machine", (rig) => rig.machine.links.add(rig.a.dev, rig.foreign.dev)],
  ["an unplugged consumer", (rig) => rig.machine.links.add(rig.zombie, rig.a.dev)],
  ["a consumer `{}` (a look-alike)", (rig) => rig.machine.links.add(any({}), rig.a.dev)],
  [
    "a link that closes a cycle `a → b → a`",
    () => {
      const machine = new Machine();
      const a = machine.pci.plug(NIC);
      const b = machine.pci.plug(NIC);
      machine.links.add(a, b);
      return machine.links.add(b, a);
    },
  ],
  [
    "a parent consuming from its own child",
    () => {
      const machine = new Machine();
      const parent = machine.pci.plug(NIC);
      const child = machine.pci.plug(NIC, { parent });
      return machine.links.add(parent, child);
    },
  ],
]);
table("machine.links.add(consumer, supplier)", EBUSY, [["a bound consumer of a supplier with no driver", (rig) => rig.machine.links.add(rig.a.dev, rig.dead.dev)]], "unbind the consumer first");
table("machine.links.of(dev)", EINVAL, [["a device of another machine", (rig) => rig.machine.links.of(rig.foreign.dev)]]);

table("auxiliaryType(name)", EINVAL, [
  ['`"nodot"`', () => auxiliaryType("nodot")],
  ['`"a.b.c"` (a third part)', () => auxiliaryType("a.b.c")],
  ['`"a b.c"` (a space)', () => auxiliaryType("a b.c")],
  ["`42`", () => auxiliaryType(any(42))],
]);

table("addAuxiliaryDevice(dev, type, init)", EINVAL, [
  ["a key `{ name }` not made by auxiliaryType", (rig) => addAuxiliaryDevice(core(rig), any<AuxiliaryType<number>>({ name: "parked.x" }), { id: 0, data: 1 })],
  ["a key whose modname is another driver's", (rig) => addAuxiliaryDevice(core(rig), auxiliaryType<number>("other.x"), { id: 0, data: 1 })],
  ["`id` `-1`", (rig) => addAuxiliaryDevice(core(rig), auxiliaryType<number>("parked.x"), { id: -1, data: 1 })],
  ["`id` `1.5`", (rig) => addAuxiliaryDevice(core(rig), auxiliaryType<number>("parked.x"), { id: 1.5, data: 1 })],
  ["`init` `null`", (rig) => addAuxiliaryDevice(core(rig), auxiliaryType<number>("parked.x"), any(null))],
]);
table("addAuxiliaryDevice(dev, type, init)", ENXIO, [["a dead token", (rig) => addAuxiliaryDevice(any<Token>(rig.dead.token), KEY, { id: 0, data: { mtu: 1 }, ops: { ping: () => 0 } })]]);
table("addAuxiliaryDevice(dev, type, init)", EPERM, [["a live token outside probe()", (rig) => addAuxiliaryDevice(any<Token>(rig.a.token), KEY, { id: 0, data: { mtu: 1 }, ops: { ping: () => 0 } })]]);

table("defineAuxiliaryDriver(...keys)(spec)", EINVAL, [
  ["no keys", () => defineAuxiliaryDriver()],
  ["a key `{ name }` not made by auxiliaryType", () => defineAuxiliaryDriver(any<AuxiliaryType<number>>({ name: "a.b" }))],
  ['a spec with name `""`', () => defineAuxiliaryDriver(KEY)({ name: "", probe: () => ({}) })],
  ["a spec without probe", () => defineAuxiliaryDriver(KEY)(any({ name: "x" }))],
]);

table("machine.auxiliary.register(driver)/unregister(driver)/unbind(dev)", EINVAL, [
  ["a PCI driver", (rig) => rig.machine.auxiliary.register(any(rig.stray))],
  ["a driver never registered", (rig) => rig.machine.auxiliary.unregister(defineAuxiliaryDriver(KEY)({ name: "x", probe: () => ({}) }))],
  ["a PCI device", (rig) => rig.machine.auxiliary.unbind(rig.a.dev)],
]);

table("ParentData.access(dev)/call(dev, op, ...args)", EINVAL, [
  [
    "the parent's token instead of the child's",
    async () => {
      const { parent, parentToken } = await auxRig();
      return parent.access(parentToken);
    },
  ],
  [
    'an op the parent does not offer (`"nope"`)',
    async () => {
      const { parent, child } = await auxRig();
      return parent.call(any(child), any<"ping">("nope"), 1);
    },
  ],
]);
table("ParentData.access(dev)/call(dev, op, ...args)", ENXIO, [
  [
    "the child's token after its parent was unplugged",
    async () => {
      const { machine, pci, parent, child } = await auxRig();
      await machine.pci.unplug(pci);
      return parent.access(child);
    },
  ],
]);
table("ParentData.access(dev)/call(dev, op, ...args)", EPERM, [
  [
    "a look-alike token",
    async () => {
      const { parent } = await auxRig();
      return parent.access(any({ name: "nic.aux.0" }));
    },
  ],
]);

table("AuxiliaryDevice.remove(dev)", EPERM, [
  [
    "the parent's token after probe returned",
    async () => {
      const { aux, parentToken } = await auxRig();
      return aux.remove(parentToken);
    },
  ],
]);

export { rows };

/** The entry points these rows cover, in README order. */
export const entries: string[] = [
  "machine.pci.plug(spec, { parent })",
  "machine.pci.remove(dev)",
  "machine.pci.rescan()",
  "machine.pci.parent(dev)/children(dev)",
  "machine.links.add(consumer, supplier)",
  "machine.links.of(dev)",
  "auxiliaryType(name)",
  "addAuxiliaryDevice(dev, type, init)",
  "defineAuxiliaryDriver(...keys)(spec)",
  "machine.auxiliary.register(driver)/unregister(driver)/unbind(dev)",
  "ParentData.access(dev)/call(dev, op, ...args)",
  "AuxiliaryDevice.remove(dev)",
];
