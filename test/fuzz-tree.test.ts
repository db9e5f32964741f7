/**
 * Model-based fuzzing of device trees and device links (src/core/bus.ts,
 * src/core/device-link.ts, src/sim/pci.ts): random plug (under a random
 * parent), unplug, software remove, rescan, unbind, link, unlink, register
 * and unregister, checked after every command against a small reference
 * model of the tree, the links, the deferred list and each device's state.
 *
 * Checked as it happens, from the driver's own hooks: a driver's `remove()`
 * never runs while a child or a consumer of its device is still bound (the
 * deepest-first and consumers-first orders), and `probe()` never runs while
 * a supplier of its device is not bound.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BoundscopeError, defineDriver, Machine } from "../src/index.js";
import type { Device, DeviceLink, Driver } from "../src/index.js";

const NIC = { vendor: 0x1af4, device: 0x1000 } as const;
const SEED = 20_260_113;
const RUNS = 120;

type Command =
  | { readonly kind: "plug"; readonly parent: number | undefined }
  /** Plugs a device and links it to a supplier before its probe runs. */
  | { readonly kind: "plugConsumer"; readonly supplier: number }
  | { readonly kind: "unplug" | "remove" | "unbind"; readonly at: number }
  | { readonly kind: "rescan" | "register" | "unregister" }
  | { readonly kind: "link"; readonly consumer: number; readonly supplier: number }
  | { readonly kind: "unlink"; readonly at: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("plug" as const), parent: fc.option(fc.nat(20), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("plugConsumer" as const), supplier: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unplug" as const), at: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), at: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unbind" as const), at: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("rescan" as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom("register" as const, "unregister" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("link" as const), consumer: fc.nat(20), supplier: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("unlink" as const), at: fc.nat(20) }) },
);

/** One device as the model sees it: one plugged piece of hardware, through its removals and rescans. */
interface Node {
  readonly name: string;
  /** Its parent's hardware, if any. */
  readonly parent: Node | undefined;
  /** The device on the bus now; the old reference once deleted. */
  ref: Device;
  state: "bound" | "no-driver" | "zombie";
  /** On the bus. */
  present: boolean;
  /** Removed by software, hardware still there: a rescan finds it. */
  hidden: boolean;
  deferred: boolean;
}

interface ModelLink {
  readonly consumer: Node;
  readonly supplier: Node;
  readonly real: DeviceLink;
}

class Reference {
  readonly nodes: Node[] = [];
  links: ModelLink[] = [];
  registered = false;

  present(): Node[] {
    return this.nodes.filter((n) => n.present);
  }
  childrenOf(node: Node): Node[] {
    return this.nodes.filter((n) => n.parent === node && n.present);
  }
  suppliersOf(node: Node): Node[] {
    return this.links.filter((l) => l.consumer === node).map((l) => l.supplier);
  }
  consumersOf(node: Node): Node[] {
    return this.links.filter((l) => l.supplier === node).map((l) => l.consumer);
  }
  ready(node: Node): boolean {
    return this.suppliersOf(node).every((s) => s.state === "bound");
  }

  /** A probe of `node`: bound, or deferred while a supplier is not bound. */
  probe(node: Node): void {
    if (!node.present || node.state !== "no-driver") return;
    if (!this.ready(node)) {
      node.deferred = true;
      return;
    }
    node.deferred = false;
    if (!this.registered) return;
    node.state = "bound";
    for (const consumer of this.consumersOf(node)) this.retry(consumer);
  }

  retry(node: Node): void {
    if (node.deferred && node.present && this.ready(node)) this.probe(node);
  }

  /** Unbinds `node`, its consumers first (each deferred, as its supplier unbinds but stays). */
  unbind(node: Node, deferAfter: boolean): void {
    if (node.state !== "bound") return;
    for (const consumer of [...this.consumersOf(node)].reverse()) this.unbind(consumer, true);
    node.state = "no-driver";
    if (deferAfter && node.present) node.deferred = true;
  }

  /** Deletes `node`'s subtree, deepest first, newest child first. */
  delete(node: Node, hidden: boolean): void {
    const subtree: Node[] = [];
    const walk = (n: Node): void => {
      subtree.push(n);
      for (const child of this.childrenOf(n)) walk(child);
    };
    walk(node);
    for (const n of subtree) n.present = false;
    if (!hidden) {
      // Removed hardware under an unplugged device is gone too.
      for (let progress = true; progress; ) {
        progress = false;
        for (const n of this.nodes) {
          if (n.hidden && n.parent !== undefined && (subtree.includes(n.parent) || (!n.parent.present && !n.parent.hidden))) {
            n.hidden = false;
            progress = true;
          }
        }
      }
    }
    const removeOne = (n: Node): void => {
      for (const child of this.nodes.filter((c) => c.parent === n && subtree.includes(c) && c.state !== "zombie").reverse()) removeOne(child);
      for (const consumer of [...this.consumersOf(n)].reverse()) this.unbind(consumer, false);
      n.state = "zombie";
      n.deferred = false;
      n.hidden = hidden;
      const dropped = this.links.filter((l) => l.consumer === n || l.supplier === n);
      this.links = this.links.filter((l) => !dropped.includes(l));
      for (const link of dropped) if (link.consumer !== n) this.retry(link.consumer);
    };
    removeOne(node);
  }

  /** True if `from` already depends on `to`, through parents and suppliers. */
  dependsOn(from: Node, to: Node): boolean {
    const seen = new Set<Node>();
    const queue = [from];
    while (queue.length > 0) {
      const at = queue.shift()!;
      if (at === to) return true;
      if (seen.has(at)) continue;
      seen.add(at);
      if (at.parent !== undefined) queue.push(at.parent);
      queue.push(...this.suppliersOf(at));
    }
    return false;
  }
}

/** What the runs reached: a fuzzer that never gets there proves nothing. */
const reached: Record<string, number> = {};
const saw = (what: string, n = 1): void => void (reached[what] = (reached[what] ?? 0) + n);

async function codeOf(run: () => unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (error) {
    if (error instanceof BoundscopeError) return error.code;
    throw error;
  }
}

async function runCommands(commands: readonly Command[]): Promise<void> {
  const machine = new Machine();
  const model = new Reference();
  const problems: string[] = [];
  const byName = new Map<string, Node>();
  const driver: Driver = defineDriver({
    name: "drv",
    ids: [NIC],
    probe(dev) {
      const node = byName.get(dev.name);
      for (const link of node === undefined ? [] : machine.links.of(node.ref)) {
        if (link.consumer === node!.ref && link.supplier.state !== "bound") problems.push(`probe of ${dev.name} while its supplier ${link.supplier.name} is ${link.supplier.state}`);
      }
      return {
        remove(d) {
          const at = byName.get(d.name);
          if (at === undefined) return;
          // Children go first when the device leaves the bus; an unbind leaves them bound.
          const reason = [...machine.events].reverse().find((e) => e.kind === "remove-start" && e.device === d.name)?.reason;
          for (const child of reason === "unplugged" || reason === "removed" ? machine.pci.children(at.ref) : []) {
            if (child.state === "bound") problems.push(`remove of ${d.name} while its child ${child.name} is bound`);
          }
          for (const link of machine.links.of(at.ref)) {
            if (link.supplier === at.ref && link.consumer.state === "bound") problems.push(`remove of ${d.name} while its consumer ${link.consumer.name} is bound`);
          }
        },
      };
    },
  });
  let plugs = 0;
  const pick = <Item>(items: readonly Item[], at: number): Item | undefined => (items.length === 0 ? undefined : items[at % items.length]);

  for (const [step, cmd] of commands.entries()) {
    const where = `step ${step}: ${JSON.stringify(cmd)}`;
    switch (cmd.kind) {
      case "plug": {
        const parent = cmd.parent === undefined ? undefined : pick(model.present(), cmd.parent);
        const name = `d${plugs++}`;
        const ref = machine.pci.plug({ ...NIC, name }, parent === undefined ? {} : { parent: parent.ref });
        const node: Node = { name, parent, ref, state: "no-driver", present: true, hidden: false, deferred: false };
        model.nodes.push(node);
        byName.set(name, node);
        if (model.registered) model.probe(node);
        break;
      }
      case "plugConsumer": {
        const supplier = pick(model.present(), cmd.supplier);
        if (supplier === undefined) continue;
        const name = `d${plugs++}`;
        const ref = machine.pci.plug({ ...NIC, name });
        const node: Node = { name, parent: undefined, ref, state: "no-driver", present: true, hidden: false, deferred: false };
        model.nodes.push(node);
        byName.set(name, node);
        model.links.push({ consumer: node, supplier, real: machine.links.add(ref, supplier.ref) });
        if (model.registered) model.probe(node);
        break;
      }
      case "unplug":
      case "remove": {
        const node = pick(model.nodes, cmd.at);
        if (node === undefined) continue;
        const code = await codeOf(() => (cmd.kind === "unplug" ? machine.pci.unplug(node.ref) : machine.pci.remove(node.ref)));
        expect(code, where).toBe(node.present ? undefined : "EINVAL");
        if (node.present) model.delete(node, cmd.kind === "remove");
        break;
      }
      case "unbind": {
        const node = pick(model.nodes, cmd.at);
        if (node === undefined) continue;
        const code = await codeOf(() => machine.pci.unbind(node.ref));
        expect(code, where).toBe(node.present && node.state === "bound" ? undefined : "EINVAL");
        if (node.present) model.unbind(node, false);
        break;
      }
      case "rescan": {
        const found = await machine.pci.rescan();
        const expected: Node[] = [];
        for (let progress = true; progress; ) {
          progress = false;
          for (const node of model.nodes) {
            if (node.hidden && (node.parent === undefined || node.parent.present)) {
              node.hidden = false;
              node.present = true;
              node.state = "no-driver";
              expected.push(node);
              progress = true;
            }
          }
        }
        expect(found.map((d) => d.name).sort(), where).toEqual(expected.map((n) => n.name).sort());
        saw("rescan found", found.length);
        for (const dev of found) byName.get(dev.name)!.ref = dev;
        for (const node of expected) if (model.registered) model.probe(node);
        break;
      }
      case "register": {
        const code = await codeOf(() => machine.pci.register(driver));
        expect(code, where).toBe(model.registered ? "EBUSY" : undefined);
        if (!model.registered) {
          model.registered = true;
          for (const node of model.present()) model.probe(node);
        }
        break;
      }
      case "unregister": {
        const code = await codeOf(() => machine.pci.unregister(driver));
        expect(code, where).toBe(model.registered ? undefined : "EINVAL");
        if (model.registered) {
          model.registered = false;
          // Each device's own unbind is queued first, so none ends deferred by another's.
          const bound = model.present().filter((n) => n.state === "bound");
          for (const node of bound) node.state = "no-driver";
        }
        break;
      }
      case "link": {
        const present = model.present();
        const consumer = pick(present, cmd.consumer);
        const supplier = pick(present, cmd.supplier);
        if (consumer === undefined || supplier === undefined) continue;
        const existing = model.links.find((l) => l.consumer === consumer && l.supplier === supplier);
        let expected: string | undefined;
        if (consumer === supplier || model.dependsOn(supplier, consumer)) expected = "EINVAL";
        else if (existing === undefined && consumer.state !== "no-driver" && supplier.state !== "bound") expected = "EBUSY";
        let real: DeviceLink | undefined;
        const code = await codeOf(() => (real = machine.links.add(consumer.ref, supplier.ref)));
        expect(code, where).toBe(expected);
        saw(`link ${code ?? "made"}`);
        if (existing !== undefined) expect(real, where).toBe(existing.real);
        else if (expected === undefined) model.links.push({ consumer, supplier, real: real! });
        break;
      }
      case "unlink": {
        const link = pick(model.links, cmd.at);
        if (link === undefined) continue;
        link.real.remove();
        model.links = model.links.filter((l) => l !== link);
        model.retry(link.consumer);
        break;
      }
    }
    await machine.settled();
    expect(problems, where).toEqual([]);
    expect(machine.pci.devices.map((d) => d.name).sort(), where).toEqual(model.present().map((n) => n.name).sort());
    for (const node of model.nodes) expect(`${node.name} ${node.ref.state}`, where).toBe(`${node.name} ${node.state}`);
    for (const node of model.present()) {
      expect(machine.pci.parent(node.ref)?.name, where).toBe(node.parent?.name);
      const real = machine.links.of(node.ref).filter((l) => l.consumer === node.ref).map((l) => l.supplier.name);
      expect(real.sort(), where).toEqual(model.suppliersOf(node).map((n) => n.name).sort());
    }
  }
  saw("deferred probes", machine.events.filter((e) => e.kind === "probe-deferred").length);
  saw("children removed with a parent", machine.events.filter((e) => (e.kind === "unplug" || e.kind === "device-remove") && e.parent !== undefined).length);
  saw("consumers unbound first", machine.events.filter((e) => e.kind === "remove-start" && e.reason === "supplier unbound").length);
  await machine[Symbol.asyncDispose]();
  expect(machine.pci.devices).toEqual([]);
  expect(machine.memory.stats().bytesInUse).toBe(0);
}

describe("device tree fuzzing", () => {
  it(`${RUNS} random sequences of plug, unplug, remove, rescan, unbind, link, unlink, register and unregister match the reference model (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 50 }), async (commands) => {
        await runCommands([{ kind: "register" }, ...commands]);
      }),
      { seed: Number(process.env["TREE_SEED"] ?? SEED), numRuns: Number(process.env["TREE_RUNS"] ?? RUNS) },
    );
    for (const what of ["rescan found", "link made", "link EINVAL", "children removed with a parent"]) {
      expect(reached[what] ?? 0, what).toBeGreaterThan(RUNS / 20);
    }
    // Rarer: a consumer probed while its supplier has no driver needs an unregister first;
    // a consumer unbound first needs a link between two bound devices, then the supplier's unbind.
    for (const what of ["link EBUSY", "deferred probes", "consumers unbound first"]) expect(reached[what] ?? 0, what).toBeGreaterThanOrEqual(3);
  });

  it("the model is not vacuous: a wrong order would be caught", async () => {
    // A reference that forgets consumers-first disagrees with the machine at once.
    const model = new Reference();
    const a: Node = { name: "a", parent: undefined, ref: undefined as never, state: "bound", present: true, hidden: false, deferred: false };
    const b: Node = { name: "b", parent: undefined, ref: undefined as never, state: "bound", present: true, hidden: false, deferred: false };
    model.nodes.push(a, b);
    model.links.push({ consumer: b, supplier: a, real: undefined as never });
    model.unbind(a, false);
    expect([a.state, b.state, b.deferred]).toEqual(["no-driver", "no-driver", true]);
  });
});
