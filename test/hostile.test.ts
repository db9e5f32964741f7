/**
 * Hostile input: every row of the table in `test/hostile-table.ts` is one
 * test. Each runs on a fresh rig (two bound devices with one of each
 * resource, a dead binding, a parked probe, a zombie, a device of another
 * machine, and streaming mappings, kernel buffers and a DMA pool) and checks
 * three things: the entry point gives what the table says; nothing changed
 * that the input had no right to change (pool, heap and swiotlb stats and
 * fragmentation, device states, the bus, memory contents, registers, the
 * clock, the checker, the state of every mapping, buffer, pool and block);
 * and the machine still works afterwards: the streaming fixtures unmap and
 * free, every binding unbinds cleanly, releasing what it took, and the pool,
 * the heap and swiotlb end empty.
 */

import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { BoundscopeError } from "../src/index.js";
import type { Device, Machine, MachineEventKind } from "../src/index.js";
import { BOOM, ENTRY_POINTS, makeRig, markdown, RESOURCES, result, TABLE } from "./hostile-table.js";
import type { Rig, Row } from "./hostile-table.js";

/** Everything a hostile input must leave as it was. */
function snapshot(rig: Rig) {
  const { machine } = rig;
  const { highWater: _, ...stats } = machine.memory.stats();
  return {
    stats,
    fragmentation: machine.memory.fragmentation(),
    states: [rig.a.dev, rig.b.dev, rig.dead.dev, rig.parked.dev, rig.zombie].map((dev) => dev.state),
    devices: machine.pci.devices.map((dev) => dev.name),
    drivers: machine.pci.drivers.map((driver) => driver.name).filter((name) => !name.startsWith("transient-")),
    faults: machine.iommu.faults.length,
    timers: machine.clock.pending,
    memory: [rig.a, rig.b].map((side) => Buffer.from(side.buf.bytes(side.token)).toString("base64")),
    writes: [rig.a.model.writes, rig.b.model.writes, rig.parked.model.writes],
    mastering: [rig.a.model.mastering, rig.b.model.mastering, rig.parked.model.mastering],
    handles: [rig.a, rig.b].map((side) => [side.buf.freed, side.irq.freed, side.res.revoked]),
    foreign: [rig.foreign.machine.memory.stats(), rig.foreign.machine.memory.heap(), rig.foreign.machine.dmaDebug.violations.length, rig.foreign.dev.state],
    heap: withoutHighWater(machine.memory.heap()),
    swiotlb: withoutHighWater(machine.memory.swiotlb()),
    streaming: streamingState(rig),
  };
}

function withoutHighWater<Stats extends { readonly highWater: number }>(stats: Stats): Omit<Stats, "highWater"> {
  const { highWater: _, ...rest } = stats;
  return rest;
}

/**
 * The streaming fixtures as they are: each mapping's state and segments,
 * each buffer freed or not, the pool's blocks, and the bytes the CPU may
 * read now (never a buffer the device owns: that read is a violation).
 */
function streamingState(rig: Rig) {
  const s = rig.streaming;
  const token = rig.a.token;
  return {
    states: [s.stale, s.cpu, s.rx, s.tx, s.table].map((m) => (m as { readonly state: string }).state),
    addresses: [s.cpu.dmaAddress, s.rx.dmaAddress, s.tx.dmaAddress, ...s.table.segments.map((seg) => seg.dmaAddress)],
    freed: [s.kbuf, s.rxbuf, s.txbuf, s.vbuf, s.spare, s.freed].map((b) => b.freed),
    pool: [s.pool.inUse, s.block.freed],
    bytes: [s.cpu.bytes(token), s.spare.bytes(), s.block.bytes(rig.core)].map((b) => Buffer.from(b as Uint8Array).toString("base64")),
  };
}

/** The events a failing callback logs. */
const FAILURES: readonly MachineEventKind[] = ["probe-failed", "remove-failed", "release-failed", "irq-failed", "task-failed", "teardown-failed", "model-failed"];

const lastSeq = (machine: Machine): number => machine.events.at(-1)?.seq ?? 0;

/** Releases logged for `dev` since `seq`, failed ones included. */
function releases(machine: Machine, dev: Device, seq: number): number {
  return machine.events.filter((e) => e.seq > seq && e.device === dev.name && (e.kind === "release" || e.kind === "release-failed")).length;
}

const NOTHING = Symbol("nothing thrown");

/** Checks that `caught` is what the row's outcome says. */
function expectOutcome(row: Row, caught: unknown, rig: Rig, seq: number): void {
  const { outcome } = row;
  if ("code" in outcome) {
    expect(caught).toBeInstanceOf(BoundscopeError);
    expect((caught as BoundscopeError).code).toBe(outcome.code);
    return;
  }
  if ("own" in outcome) {
    expect(caught).toBe(BOOM);
    return;
  }
  expect(caught).toBe(NOTHING);
  if ("logged" in outcome) {
    const logged = rig.machine.events.filter((e) => e.seq > seq && e.kind === outcome.logged);
    expect(logged.length).toBeGreaterThan(0);
    if (outcome.errorCode !== undefined) {
      for (const event of logged) expect(event.error).toMatchObject({ name: "BoundscopeError", code: outcome.errorCode });
    }
  }
}

/** The machine still works: the streaming fixtures unmap and free, every binding unbinds cleanly and releases what it took; the pool, the heap and swiotlb end empty. */
async function expectHealthy(rig: Rig, row: Row, seq: number, violations: number): Promise<void> {
  const { machine } = rig;
  rig.streaming.cleanUp();
  expect(machine.memory.heap()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  expect(machine.memory.swiotlb()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  rig.parked.gate.resolve();
  await machine.settled();
  expect(rig.parked.dev.state).toBe("bound");
  for (const dev of [rig.a.dev, rig.b.dev, rig.parked.dev]) {
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
  }
  expect([rig.a.dev, rig.b.dev, rig.parked.dev].map((dev) => releases(machine, dev, seq))).toEqual([RESOURCES, RESOURCES, 1]);
  await Promise.all(machine.pci.devices.map((dev) => machine.pci.unplug(dev)));
  await machine.settled();
  expect(machine.pci.devices).toEqual([]);
  expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  expect(machine.memory.fragmentation()).toEqual({ largestFree: machine.memory.capacity, free: machine.memory.capacity });
  expect(machine.dmaDebug.violations.slice(violations).map((v) => v.kind)).toEqual(row.violation === undefined ? [] : [row.violation]);
  const allowed = "logged" in row.outcome ? row.outcome.logged : undefined;
  // Chosen by kind; the detail is there to read in the diff.
  expect(machine.events.filter((e) => e.seq > seq && FAILURES.includes(e.kind) && e.kind !== allowed).map((e) => `${e.kind}: ${e.detail}`)).toEqual([]);
}

describe("hostile input", () => {
  it.each(TABLE.map((row) => [`${row.entry}: ${row.input} -> ${result(row)}`, row] as const))("%s", async (_, row) => {
    const rig = await makeRig(row.machine);
    const before = snapshot(rig);
    const now = rig.machine.clock.now;
    const violations = rig.machine.dmaDebug.violations.length;
    const seq = lastSeq(rig.machine);
    let caught: unknown = NOTHING;
    try {
      await row.act(rig);
    } catch (error) {
      caught = error;
    }
    expectOutcome(row, caught, rig, seq);
    expect(snapshot(rig)).toEqual(before);
    // A transient device's unbind takes virtual time; nothing else may move the clock.
    if (rig.transients === 0) expect(rig.machine.clock.now).toBe(now);
    expect(rig.machine.dmaDebug.violations.slice(violations).map((v) => v.kind)).toEqual(row.violation === undefined ? [] : [row.violation]);
    await expectHealthy(rig, row, seq, violations);
  });
});

describe("the table", () => {
  it("names every public entry point, and every runtime export of the package", () => {
    const entries = [...new Set(TABLE.map((row) => row.entry))];
    expect(entries.sort()).toEqual([...ENTRY_POINTS].sort());
    // BoundscopeError is what the table checks for, not an entry point.
    const exports = Object.keys(api).filter((name) => name !== "BoundscopeError");
    for (const name of exports) expect(ENTRY_POINTS.filter((entry) => entry.includes(name)), name).not.toEqual([]);
  });

  it("renders as markdown: one line per entry point and result, or one per test", () => {
    const grouped = markdown().split("\n");
    const full = markdown(true).split("\n");
    expect(full).toHaveLength(TABLE.length + 2);
    for (const entry of ENTRY_POINTS) expect(grouped.some((line) => line.startsWith(`| \`${entry}\` |`)), entry).toBe(true);
  });
});

describe("the README's hostile-input table", () => {
  it("is the table these tests are generated from", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const copy = /<!-- hostile-table:start -->\n([\s\S]*?)\n<!-- hostile-table:end -->/.exec(readme)?.[1];
    const { execFileSync } = await import("node:child_process");
    const generated = execFileSync(process.execPath, [new URL("../scripts/hostile-table.mjs", import.meta.url).pathname], { encoding: "utf8" }).trimEnd();
    expect(copy).toBe(generated);
  });
});
