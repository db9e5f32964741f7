/**
 * Devres groups fuzzed against a reference model (src/driver/devres.ts):
 * random sequences of open, close, release, remove/keep, allocations (devres
 * entries and coherent memory) and early frees inside one probe, then an
 * unbind or a failed probe. After every command the machine must agree with
 * the model on which resources are live, each group's state and size, and the
 * order everything was released in (last in first out, once each).
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocCoherent, BoundscopeError, defineDriver, Devres, Machine, openDevresGroup } from "../src/index.js";
import type { CoherentAllocation, DevresGroup, DevresGroupState, ProbeDevice } from "../src/index.js";
import { NIC, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const SEED = 20_260_113;
const RUNS = 300;

/** What the runs reached: a fuzzer that never gets there proves nothing. */
const reached = { nonEmptyReleases: 0, nestedReleases: 0, refused: 0, earlyFreesInGroups: 0 };

type Command =
  | { readonly o: "open" }
  | { readonly o: "alloc"; readonly coherent: boolean }
  | { readonly o: "free"; readonly pick: number }
  | { readonly o: "close" | "release" | "remove" | "keep"; readonly pick: number };

interface Plan {
  readonly commands: readonly Command[];
  readonly end: "unbind" | "fail";
}

const pick = fc.nat({ max: 15 });
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ o: "open" as const }) },
  { weight: 6, arbitrary: fc.boolean().map((coherent) => ({ o: "alloc" as const, coherent })) },
  { weight: 2, arbitrary: pick.map((p) => ({ o: "free" as const, pick: p })) },
  { weight: 3, arbitrary: pick.map((p) => ({ o: "release" as const, pick: p })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom("close" as const, "remove" as const, "keep" as const), pick).map(([o, p]) => ({ o, pick: p })) },
);
const plan: fc.Arbitrary<Plan> = fc.record({ commands: fc.array(command, { minLength: 8, maxLength: 40 }), end: fc.constantFrom("unbind" as const, "fail" as const) });

// ---------------------------------------------------------------- the reference model

interface ModelGroup {
  state: DevresGroupState;
  parent: ModelGroup | undefined;
  /** Member ids, in acquisition order. */
  members: number[];
}

/** Which resources are live, which groups hold which, and the release order the contract implies. */
class Model {
  /** Resource ids in acquisition order, live or not. */
  readonly order: number[] = [];
  readonly live = new Set<number>();
  readonly groups: ModelGroup[] = [];
  readonly released: number[] = [];

  #current(): ModelGroup[] {
    return this.groups.filter((g) => g.state === "open" || g.state === "closed");
  }

  #encloses(outer: ModelGroup, group: ModelGroup): boolean {
    for (let at: ModelGroup | undefined = group; at !== undefined; at = at.parent) if (at === outer) return true;
    return false;
  }

  open(): void {
    const parent = this.groups.filter((g) => g.state === "open").at(-1);
    this.groups.push({ state: "open", parent, members: [] });
  }

  alloc(id: number): void {
    this.order.push(id);
    this.live.add(id);
    for (const g of this.groups) if (g.state === "open") g.members.push(id);
  }

  #drop(id: number): void {
    this.live.delete(id);
    this.released.push(id);
    for (const g of this.groups) g.members = g.members.filter((m) => m !== id);
  }

  free(id: number): void {
    this.#drop(id);
  }

  /** False when the contract says EINVAL. */
  close(group: ModelGroup): boolean {
    if (group.state === "released" || group.state === "removed") return false;
    for (const g of this.groups) if (g.state === "open" && this.#encloses(group, g)) g.state = "closed";
    return true;
  }

  release(group: ModelGroup): boolean {
    if (group.state === "released" || group.state === "removed") return false;
    const members = group.members;
    for (const g of this.#current()) {
      if (!this.#encloses(group, g)) continue;
      g.state = "released";
      g.members = [];
    }
    for (const id of [...members].reverse()) if (this.live.has(id)) this.#drop(id);
    return true;
  }

  remove(group: ModelGroup): boolean {
    if (group.state === "released" || group.state === "removed") return false;
    group.state = "removed";
    group.members = [];
    for (const g of this.groups) if (g.parent === group) g.parent = group.parent;
    return true;
  }

  end(): void {
    for (const g of this.#current()) {
      g.state = "released";
      g.members = [];
    }
    for (const id of [...this.order].reverse()) if (this.live.has(id)) this.#drop(id);
  }
}

// ---------------------------------------------------------------- one run

type Handle = { readonly id: number } & ({ readonly devres: Devres<Smuggled, number> } | { readonly coherent: CoherentAllocation<Smuggled> });

function isLive(handle: Handle): boolean {
  return "devres" in handle ? !handle.devres.revoked : !handle.coherent.freed;
}

/** Runs `plan` in one probe and returns every disagreement with the model (none expected). */
async function runPlan(plan: Plan): Promise<string[]> {
  const machine = new Machine();
  const model = new Model();
  const log: number[] = [];
  const problems: string[] = [];
  const handles: Handle[] = [];
  const groups: DevresGroup<Smuggled>[] = [];
  const byAddress = new Map<bigint, number>();
  machine.subscribe((e) => {
    if (e.kind === "free" && e.address !== undefined && byAddress.has(e.address)) log.push(byAddress.get(e.address)!);
  });

  const compare = (step: string): void => {
    for (const handle of handles) {
      if (isLive(handle) !== model.live.has(handle.id)) problems.push(`${step}: resource ${handle.id} is ${isLive(handle) ? "live" : "released"}`);
    }
    groups.forEach((group, i) => {
      const expected = model.groups[i]!;
      if (group.state !== expected.state || group.size !== expected.members.length) {
        problems.push(`${step}: group ${i} is ${group.state} with ${group.size}, the model says ${expected.state} with ${expected.members.length}`);
      }
    });
    if (log.join() !== model.released.join()) problems.push(`${step}: released [${log.join()}], the model says [${model.released.join()}]`);
  };

  await machine.pci.register(
    defineDriver({
      name: "fuzzed",
      ids: [NIC],
      async probe(probeDev) {
        const dev = smuggle<ProbeDevice<Smuggled>>(probeDev);
        for (const [n, c] of plan.commands.entries()) {
          const step = `#${n} ${JSON.stringify(c)}`;
          if (c.o === "open") {
            groups.push(openDevresGroup(dev));
            model.open();
          } else if (c.o === "alloc") {
            const id = handles.length;
            if (c.coherent) {
              const coherent = allocCoherent(dev, 64);
              byAddress.set(coherent.dmaHandle, id);
              handles.push({ id, coherent });
            } else {
              handles.push({ id, devres: Devres.new(dev, id, (value) => void log.push(value)) });
            }
            model.alloc(id);
          } else if (c.o === "free") {
            const live = handles.filter(isLive);
            if (live.length === 0) continue;
            const handle = live[c.pick % live.length]!;
            if (model.groups.some((g) => g.members.includes(handle.id))) reached.earlyFreesInGroups++;
            if ("devres" in handle) await handle.devres.release();
            else handle.coherent.free();
            model.free(handle.id);
          } else {
            if (groups.length === 0) continue;
            const i = c.pick % groups.length;
            const group = groups[i]!;
            const expected = model.groups[i]!;
            if (c.o === "release" && expected.members.length > 0) reached.nonEmptyReleases++;
            if (c.o === "release" && model.groups.some((g) => g !== expected && g.parent === expected && g.state !== "removed")) reached.nestedReleases++;
            const allowed = c.o === "close" ? model.close(expected) : c.o === "release" ? model.release(expected) : model.remove(expected);
            if (!allowed) reached.refused++;
            let code: string | undefined;
            try {
              if (c.o === "release") await group.release(dev);
              else group[c.o](dev);
            } catch (error) {
              code = error instanceof BoundscopeError ? error.code : String(error);
            }
            if ((code === undefined) !== allowed || (code !== undefined && code !== "EINVAL")) problems.push(`${step}: ${code ?? "succeeded"}, the model says ${allowed ? "succeeds" : "EINVAL"}`);
          }
          compare(step);
        }
        if (plan.end === "fail") throw new Error("planned failure");
        return {};
      },
    }),
  );
  const device = machine.pci.plug(NIC);
  await machine.settled();
  if (plan.end === "unbind") await machine.pci.unbind(device);
  model.end();
  compare(plan.end);
  if (device.state !== "no-driver") problems.push(`the device is ${device.state}`);
  if (machine.memory.stats().allocations !== 0) problems.push(`${machine.memory.stats().allocations} allocations left`);
  if (machine.events.some((e) => e.kind === "release-failed")) problems.push("a release failed");
  return problems;
}

describe("devres group fuzzing", () => {
  it(`${RUNS} random open/close/release/remove/alloc/free sequences agree with the reference model (seed ${SEED})`, async () => {
    await fc.assert(
      fc.asyncProperty(plan, async (p) => {
        expect(await runPlan(p)).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(reached.nonEmptyReleases).toBeGreaterThan(RUNS / 3);
    expect(reached.nestedReleases).toBeGreaterThan(RUNS / 5);
    expect(reached.refused).toBeGreaterThan(RUNS / 10);
    expect(reached.earlyFreesInGroups).toBeGreaterThan(RUNS / 4);
  });

  it("a fixed sequence through every operation, nested, with early frees", async () => {
    const commands: Command[] = [
      { o: "alloc", coherent: false },
      { o: "open" },
      { o: "alloc", coherent: true },
      { o: "open" },
      { o: "alloc", coherent: false },
      { o: "alloc", coherent: true },
      { o: "free", pick: 1 },
      { o: "close", pick: 1 },
      { o: "alloc", coherent: false },
      { o: "open" },
      { o: "alloc", coherent: false },
      { o: "remove", pick: 0 },
      { o: "release", pick: 1 },
      { o: "release", pick: 1 },
      { o: "keep", pick: 2 },
      { o: "alloc", coherent: true },
    ];
    expect(await runPlan({ commands, end: "unbind" })).toEqual([]);
    expect(await runPlan({ commands, end: "fail" })).toEqual([]);
  });
});
