/**
 * Model-based lifecycle fuzzing: random command sequences run on a real
 * machine (the rig) and on the reference model side by side, with every
 * invariant checked after every command. Shared by `test/fuzz.test.ts`
 * (a bounded run in `npm test`) and `scripts/fuzz.mjs` (long campaigns,
 * replay by seed and path), so both run exactly this property.
 *
 * Each sequence gets its own machine: strict or passthrough IOMMU, 4 KiB or
 * 512-byte pages, dmaDebug "report", "throw" or "off". Probes, remove()s and
 * devres release callbacks may wait at a gate that a later command opens,
 * so a device can sit in `probing` or `unbinding`, or an unbind's devres
 * walk wait on an early `release()` still in flight, while unplug, unbind,
 * register, unregister and escaped-token uses arrive. At the end every gate
 * is opened and every device unplugged, and nothing may remain.
 *
 * After every command:
 * - every device's lifecycle events (state changes, probe and remove with
 *   their reason and error, each devres release by resource, a coherent
 *   allocation's by the bus address and size it freed) are the ones the
 *   model predicts, in order, compared by their structured fields (never by
 *   `detail`, which is for people): so devres is released last in first out,
 *   after remove();
 * - each binding's release callbacks ran in the predicted order, and its
 *   devres stack holds as many entries as the model says;
 * - every device is in the predicted state, and the bus lists the devices
 *   the model says are present;
 * - every bus call and escaped-handle use settled as predicted (value or
 *   error code), allocations read back zero-filled or as written;
 * - the pool's accounting equals the page-rounded sum of the live
 *   allocations the model tracks; an ended binding's allocations are freed
 *   as its devres walk reaches them, all of them once it is done; live
 *   allocations do not overlap and fit the DMA mask they were made under;
 * - tokens of ended bindings, and everything made from them, refuse with
 *   ENXIO and allocate nothing; views of freed memory are dead; devres
 *   entries are revoked exactly when the model says;
 * - a task winds down after its abort with a live token; once an ended
 *   binding's IRQ is freed, its handler never runs;
 * - the DMA checker reports exactly what the model requires: nothing for a
 *   correct driver, and for the buggy one, unbound with its engine running,
 *   `dma-after-remove` and the frees it forces (the engine may also DMA
 *   into the freed ring before bus mastering goes, reported as
 *   `dma-after-free`, and run its handler on the dead token: allowed there
 *   only). Under "throw" the unbind rejects with the first; under "off"
 *   nothing is reported.
 *
 * Streaming DMA, on machines coherent or not, with a swiotlb pool of four
 * slots, sixteen or 4 MiB: kernel buffers (kmalloc, vmalloc) allocated,
 * written, read and freed by the CPU; single and sg mappings in every
 * direction, synced whole or in part through their handles (stale ones
 * included) or by address (with a wrong size, range or entry count at
 * times), unmapped, or left for devres; DMA pools; the device reading and
 * writing what it was given. After every command, besides the above:
 * - every call gives the code the model predicts, and every read (a
 *   buffer's bytes, a synced window, what the device read, a pool block)
 *   gives exactly the bytes the model predicts: what the device wrote once
 *   synced, stale bytes without the sync on a non-coherent machine or
 *   through bounce slots;
 * - the heap holds exactly the model's live buffers, swiotlb exactly the
 *   slots of the live bounced parts, the coherent pool the allocations and
 *   pool chunks; at the end, once every device is unplugged, swiotlb and the
 *   coherent pool are empty and the buffers left can all be freed;
 * - every mapping is in the predicted state (device, cpu, unmapped), bounced
 *   or not, with segments that add up to its size (one per part in
 *   passthrough); so every mapping is gone once its binding's devres walk is
 *   done; pools hold the predicted blocks; a CPU view taken before a map or
 *   a sync for the device is dead;
 * - the checker reports what the model requires (a `pending-at-unbind` per
 *   binding that left mappings or blocks, the dma-debug checks the calls
 *   break) and nothing else.
 *
 * @module
 */

import fc from "fast-check";
import { allocCoherent, BoundscopeError, Devres, kmalloc, mapSingle, setDmaMask } from "../../src/index.js";
import type { DmaViolation, KernelBuffer, MachineEvent } from "../../src/index.js";
import type { Command, FuzzConfig } from "./commands.js";
import { configArbitrary, sequenceArbitrary } from "./commands.js";
import type { Expectation, MAlloc, MBinding, MMapping, Observe, PError, PEvent, Predicted, ReferenceOptions, Resolved } from "./reference.js";
import { PlannedError, Reference } from "./reference.js";
import type { Actual, BindingRecord } from "./rig.js";
import { Rig } from "./rig.js";

/** How much a run did: for the campaign's figures and the test's coverage floor. */
export interface FuzzStats {
  runs: number;
  commands: number;
  /** Commands by kind, `use:<op>` for uses. */
  readonly byKind: Record<string, number>;
  /** Paths worth having reached: gates, failed probes, buggy teardowns caught, dead tokens refused, and so on. */
  readonly seen: Record<string, number>;
  /** Uses by kind and outcome: `use:map ENOMEM`. */
  readonly outcomes: Record<string, number>;
}

export const stats: FuzzStats = { runs: 0, commands: 0, byKind: {}, seen: {}, outcomes: {} };

export function resetStats(): void {
  stats.runs = 0;
  stats.commands = 0;
  for (const key of Object.keys(stats.byKind)) delete stats.byKind[key];
  for (const key of Object.keys(stats.seen)) delete stats.seen[key];
  for (const key of Object.keys(stats.outcomes)) delete stats.outcomes[key];
}

function count(table: Record<string, number>, key: string, n = 1): void {
  table[key] = (table[key] ?? 0) + n;
}

export interface LifecycleOptions extends ReferenceOptions {
  /** Most commands per sequence. */
  readonly maxCommands?: number;
  /** Machine settings every sequence runs with, instead of drawn ones. */
  readonly machine?: Partial<FuzzConfig>;
  /** `streaming`: only the sequences about what bindings map. */
  readonly focus?: "any" | "streaming";
  /** Hears each command as it runs, for replaying a failure. */
  readonly trace?: (line: string) => void;
}

/** The property: any machine, any command sequence, every invariant holds. */
export function lifecycleProperty(options: LifecycleOptions = {}): fc.IAsyncProperty<[FuzzConfig, Command[]]> {
  const configs = options.machine === undefined ? configArbitrary : configArbitrary.map((config) => ({ ...config, ...options.machine }));
  return fc.asyncProperty(configs, sequenceArbitrary(options.maxCommands ?? 40, options.focus), (config, commands) =>
    runLifecycle(config, commands, options),
  );
}

/** Runs one sequence on a fresh machine and its model; throws at the first broken invariant. */
export async function runLifecycle(config: FuzzConfig, commands: readonly Command[], options: LifecycleOptions = {}): Promise<void> {
  const reference = new Reference(config, options);
  const rig = new Rig(config);
  const checker = new Checker(reference, rig);
  stats.runs++;
  count(stats.seen, `runs with dmaDebug ${config.dmaDebug}`);
  if (!config.dmaCoherent) count(stats.seen, "runs on a non-coherent machine");
  if (config.swiotlbBytes <= 32_768) count(stats.seen, "runs with a small swiotlb pool");
  try {
    for (const [i, command] of commands.entries()) {
      const resolved = reference.resolve(command);
      options.trace?.(`#${i} ${JSON.stringify(command)}${resolved === undefined ? " (names nothing: skipped)" : ""}`);
      if (resolved === undefined) continue;
      await checker.step(resolved, `command #${i}`);
    }
    // The end: every device unplugged, every gate opened (a remove() or a
    // devres walk may reach one on the way). Nothing may remain.
    for (;;) {
      const gate = reference.gates[0];
      if (gate !== undefined) {
        await checker.step({ c: "gate", key: gate }, "the end (open the gates)");
        continue;
      }
      const present = reference.devices.findIndex((d) => !d.unplugRequested);
      if (present < 0) break;
      await checker.step(reference.resolve({ c: "unplug", dev: present })!, "the end (unplug all)");
    }
    checker.unmapped();
    // Kernel buffers outlive every binding: nothing maps them now, so each one left frees.
    for (const buf of reference.buffers) if (!buf.freed) await checker.step(reference.freeBuffer(buf), "the end (free the kernel buffers)");
    checker.final();
    for (const [what, n] of Object.entries(reference.dmaReached)) count(stats.seen, what, n);
    count(stats.seen, "probes held at a gate", reference.reached.gatedProbes);
    count(stats.seen, "remove()s held at a gate", reference.reached.gatedRemoves);
    count(stats.seen, "devres releases held at a gate", reference.reached.gatedReleases);
    count(stats.seen, "devres walks waiting for an early release", reference.reached.walksWaited);
    count(stats.seen, "throw: candidates cut short", reference.reached.candidatesCut);
  } finally {
    rig.dispose();
  }
}

class Checker {
  /** Lifecycle events already compared, per device. */
  readonly #seenEvents = new Map<string, number>();
  #seenViolations = 0;
  #seenFaults = 0;
  #seenFailures = 0;
  /** A stray DMA in passthrough may land anywhere in the coherent pool: its contents are no longer the model's to predict. */
  #contentsTrusted = true;
  #commands = 0;
  /** What the model asks the rig: addresses, segments, times. */
  readonly #observe: Observe;

  constructor(
    readonly reference: Reference,
    readonly rig: Rig,
  ) {
    this.#observe = {
      alloc: (alloc) => this.#handle(alloc),
      mapping: (m) => rig.mapping(m.binding.key, m.index),
      block: (block) => rig.block(block.pool.owner.key, block.pool.index, block.index),
    };
  }

  async step(command: Resolved, where: string): Promise<void> {
    this.#commands++;
    stats.commands++;
    count(stats.byKind, command.c === "use" ? `use:${command.op.o}` : command.c === "buf" ? `buf:${command.op.b}` : command.c);
    try {
      const expect = this.reference.apply(command, this.#observe);
      const actual = await this.rig.apply(command);
      let restless: unknown;
      try {
        await this.rig.quiesce({
          gates: [...this.reference.gates],
          events: new Map([...this.reference.events].map(([name, events]) => [name, events.length])),
          settled: [...this.reference.ops].filter(([, op]) => op.settled).map(([id]) => id),
          stacks: new Map(this.reference.devices.filter((d) => d.current !== undefined && d.binding !== undefined).map((d) => [d.binding!.key, d.binding!.stack.length])),
        });
      } catch (error) {
        restless = error;
      }
      // A machine that never reached the predicted rest has usually gone
      // somewhere else: the checks say where, more precisely than a timeout.
      this.#check(command, expect, actual);
      if (restless !== undefined) throw restless;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${where}, ${JSON.stringify(command)}: ${message}`, { cause: error });
    }
  }

  /** After the last unplug: nothing is mapped, nothing bounces. */
  unmapped(): void {
    const bounce = this.rig.machine.memory.swiotlb();
    if (bounce.bytesInUse !== 0 || bounce.allocations !== 0) fail(`after every device was unplugged swiotlb still holds ${bounce.bytesInUse} bytes in ${bounce.allocations} allocations`);
    for (const record of this.rig.records.values()) {
      for (const [i, map] of record.maps.entries()) if (map.handles.at(-1)!.state !== "unmapped") fail(`mapping #${i} of ${record.key} is still ${map.handles.at(-1)!.state} after every device was unplugged`);
    }
  }

  /** After the last unplug and the last free: nothing held, nothing alive. */
  final(): void {
    const pool = this.rig.machine.memory.stats();
    if (pool.bytesInUse !== 0 || pool.allocations !== 0) fail(`after every device was unplugged the pool still holds ${pool.bytesInUse} bytes in ${pool.allocations} allocations`);
    const heap = this.rig.machine.memory.heap();
    if (heap.bytesInUse !== 0 || heap.allocations !== 0) fail(`after every kernel buffer was freed the heap still holds ${heap.bytesInUse} bytes in ${heap.allocations} allocations`);
    for (const binding of this.reference.bindings) {
      if (binding.live) fail(`binding ${binding.key} is live after every device was unplugged`);
      this.#dead(binding, true);
    }
    for (const record of this.rig.records.values()) {
      count(stats.seen, "IRQ handler runs", record.handlerRuns);
      count(stats.seen, "task iterations", record.taskRuns);
      count(stats.seen, "task drains after abort", record.taskDrains);
    }
    if (this.rig.machine.clock.pending !== 0) fail(`${this.rig.machine.clock.pending} device events are still scheduled after every device was unplugged`);
  }

  #check(command: Resolved, expect: Expectation, actual: Actual | undefined): void {
    this.#checkEvents();
    this.#checkStates();
    this.#checkOps();
    if ((command.c === "use" && command.op.o !== "release") || command.c === "buf") {
      this.#checkOutcome(expect.outcome!, actual!);
      count(stats.outcomes, `${command.c === "use" ? `use:${command.op.o}` : `buf:${command.op.b}`} ${expect.outcome!.result}`);
    }
    this.#checkReleases();
    this.#checkViolations(expect);
    this.#checkMemory();
    this.#checkStreaming();
    count(stats.seen, "throw: an unbind or probe threw its violation", expect.threw);
    for (const binding of expect.died) {
      count(stats.seen, "bindings ended");
      this.#dead(binding, true);
    }
    // An older dead binding, a different one each command: its token is still dead.
    const dead = this.reference.bindings.filter((b) => !b.live);
    if (dead.length > 0) this.#dead(dead[this.#commands % dead.length]!, false);
    this.#checkHandlers();
  }

  #checkEvents(): void {
    for (const [name, predicted] of this.reference.events) {
      const observed = this.rig.events.get(name) ?? [];
      const from = this.#seenEvents.get(name) ?? 0;
      const length = Math.max(predicted.length, observed.length);
      for (let i = from; i < length; i++) {
        const p = predicted[i];
        const o = observed[i];
        if (p === undefined || o === undefined || !this.#eventMatches(p, o)) {
          fail(
            `device ${name}: event #${i} is ${o === undefined ? "missing" : this.#describeObserved(o)}; the model expected ${p === undefined ? "no more events" : this.#describePredicted(p)}.\n  observed since: ${observed.slice(from).map((e) => this.#describeObserved(e)).join(" | ")}\n  expected since: ${predicted.slice(from).map((e) => this.#describePredicted(e)).join(" | ")}`,
          );
        }
        if (o.kind === "release-failed" || o.kind === "remove-failed" || o.kind === "probe-failed") count(stats.seen, o.kind);
      }
      this.#seenEvents.set(name, length);
    }
  }

  /** Every structured field: the ones the model predicts are equal, the others absent. */
  #eventMatches(p: PEvent, o: MachineEvent): boolean {
    if (p.kind !== o.kind || p.driver !== o.driver) return false;
    if (o.from !== p.from || o.to !== p.to || o.reason !== p.reason || o.resource !== p.resource || o.bar !== p.bar) return false;
    if (o.direction !== undefined || o.violation !== undefined || !errorMatches(p.error, o.error)) return false;
    if (p.alloc !== undefined) return o.address === this.#handle(p.alloc) && o.size === p.alloc.size;
    if (p.stream !== undefined) return o.address === this.#observe.mapping(p.stream).address && o.size === p.stream.size;
    return o.address === undefined && o.size === undefined;
  }

  /** A predicted event, for failure messages: `release[good] coherent 64 bytes (0000:00:01.0#0 #1)`. */
  #describePredicted(e: PEvent): string {
    const alloc =
      e.alloc !== undefined ? `${e.alloc.size} bytes (${e.alloc.owner.key} #${e.alloc.index})` : e.stream !== undefined ? `${e.stream.size} bytes (${e.stream.binding.key} mapping #${e.stream.index})` : undefined;
    return describe(e.kind, e.driver, [
      e.from === undefined && e.to === undefined ? undefined : `${e.from} -> ${e.to}`,
      e.reason,
      e.resource === "mmio" ? `mmio BAR ${e.bar}` : e.resource,
      alloc,
      e.error === undefined ? undefined : "planned" in e.error ? `error ${e.error.planned}` : `error ${e.error.code}`,
    ]);
  }

  /** An observed event, from its fields, for failure messages: `release[good] coherent 64 bytes at 0x100000`. */
  #describeObserved(e: MachineEvent): string {
    const error = e.error === undefined ? undefined : e.error instanceof PlannedError ? e.error.plan : e.error instanceof BoundscopeError ? e.error.code : `thrown ${String(e.error)}`;
    return describe(e.kind, e.driver, [
      e.from === undefined && e.to === undefined ? undefined : `${e.from} -> ${e.to}`,
      e.reason,
      e.resource === "mmio" ? `mmio BAR ${e.bar}` : e.resource,
      e.address === undefined ? undefined : `${e.size ?? "?"} bytes at 0x${e.address.toString(16)}`,
      error === undefined ? undefined : `error ${error}`,
    ]);
  }

  #checkStates(): void {
    for (const device of this.reference.devices) {
      const actual = this.rig.devices.get(device.name)!.ref!.state;
      if (actual !== device.state) fail(`device ${device.name} is ${actual}; the model expected ${device.state}`);
    }
    const present = this.reference.devices.filter((d) => d.present).map((d) => d.name);
    const listed = this.rig.machine.pci.devices.map((d) => d.name);
    if (present.join() !== listed.join()) fail(`the bus lists [${listed.join(", ")}]; the model expected [${present.join(", ")}]`);
  }

  #checkOps(): void {
    for (const [id, predicted] of this.reference.ops) {
      const actual = this.rig.ops.get(id);
      if (actual === undefined) fail(`call ${id} was never made`);
      if (actual.settled !== predicted.settled || (predicted.settled && actual.result !== predicted.result)) {
        fail(`call ${id} is ${actual.settled ? `settled (${actual.result})` : "pending"}; the model expected ${predicted.settled ? `settled (${predicted.result})` : "pending"}`);
      }
    }
  }

  #checkOutcome(predicted: Predicted, actual: Actual): void {
    if (predicted.result !== actual.result) fail(`gave ${actual.result}; the model expected ${predicted.result}`);
    if (predicted.result === "ENXIO") count(stats.seen, "dead handle refused");
    if (predicted.value !== undefined && actual.value !== predicted.value) fail(`read ${actual.value}; the model expected ${predicted.value}`);
    const alloc = predicted.bytesOf ?? predicted.blockOf;
    if (alloc !== undefined && this.#contentsTrusted) {
      const bytes = actual.bytes!;
      const size = "pool" in alloc ? alloc.pool.size : alloc.size;
      if (bytes.length !== size) fail(`bytes() has ${bytes.length} bytes; the allocation has ${size}`);
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] !== (alloc.written.get(i) ?? 0)) fail(`byte ${i} reads ${bytes[i]}; the model expected ${alloc.written.get(i) ?? 0} (zero-filled, then written)`);
      }
    }
    const data = predicted.data;
    if (data !== undefined) {
      const bytes = actual.bytes!;
      if (bytes.length !== data.length) fail(`read ${bytes.length} bytes; the model expected ${data.length}`);
      for (let i = 0; i < data.length; i++) {
        if (bytes[i] !== data[i]) fail(`byte ${i} of ${data.length} reads ${bytes[i]}; the model expected ${data[i]} (reads ${hexBytes(bytes)}; expected ${hexBytes(data)})`);
      }
    }
  }

  /**
   * The heap and swiotlb hold what the model says; every mapping is in its
   * predicted state, bounced as predicted, with segments that add up; every
   * buffer, pool and block freed or not as predicted.
   */
  #checkStreaming(): void {
    const { memory } = this.rig.machine;
    const heap = memory.heap();
    const expectHeap = this.reference.heap();
    if (heap.bytesInUse !== expectHeap.bytesInUse || heap.allocations !== expectHeap.allocations) {
      fail(`the heap holds ${heap.bytesInUse} bytes in ${heap.allocations} buffers; the model's live buffers come to ${expectHeap.bytesInUse} bytes in ${expectHeap.allocations}`);
    }
    const bounce = memory.swiotlb();
    const expectBounce = this.reference.swiotlb();
    if (bounce.bytesInUse !== expectBounce.bytesInUse || bounce.allocations !== expectBounce.allocations) {
      fail(`swiotlb holds ${bounce.bytesInUse} bytes in ${bounce.allocations} allocations; the model's bounced parts come to ${expectBounce.bytesInUse} bytes in ${expectBounce.allocations}`);
    }
    if (this.rig.buffers.size !== this.reference.buffers.length) fail(`the rig has ${this.rig.buffers.size} kernel buffers; the model expected ${this.reference.buffers.length}`);
    for (const buf of this.reference.buffers) {
      const real = this.rig.buffers.get(buf.id)?.buffer;
      if (real === undefined) fail(`the rig has no kernel buffer ${buf.id}; the model expected one`);
      if (real.freed !== buf.freed || real.size !== buf.size) fail(`kernel buffer ${buf.id} is ${real.freed ? "freed" : "live"} (${real.size} bytes); the model expected ${buf.freed ? "freed" : "live"} (${buf.size} bytes)`);
    }
    const passthrough = this.rig.config.iommu === "passthrough";
    for (const binding of this.reference.bindings) {
      const record = this.#record(binding);
      if (record.maps.length !== binding.maps.length) fail(`binding ${binding.key} made ${record.maps.length} mappings; the model expected ${binding.maps.length}`);
      for (const m of binding.maps) this.#checkMapping(m, record.maps[m.index]!, passthrough);
      if (record.pools.length !== binding.pools.length) fail(`binding ${binding.key} made ${record.pools.length} DMA pools; the model expected ${binding.pools.length}`);
      for (const pool of binding.pools) {
        const real = record.pools[pool.index]!;
        if (real.pool.inUse !== pool.live().length) fail(`pool #${pool.index} of ${binding.key} has ${real.pool.inUse} blocks out; the model expected ${pool.live().length}`);
        if (real.blocks.length !== pool.blocks.length) fail(`pool #${pool.index} of ${binding.key} gave ${real.blocks.length} blocks; the model expected ${pool.blocks.length}`);
        for (const block of pool.blocks) {
          const b = real.blocks[block.index]!;
          const where = `block #${block.index} of pool #${pool.index} of ${binding.key}`;
          if (b.block.freed !== block.freed) fail(`${where} is ${b.block.freed ? "freed" : "live"}; the model expected ${block.freed ? "freed" : "live"}`);
          if (!block.freed && b.bytes.byteLength !== pool.size) fail(`a view of a live block of ${binding.key} reaches ${b.bytes.byteLength} bytes, not ${pool.size}`);
          // Where it lies: aligned, within one boundary window, at its offset in the chunk (the last freed is handed out first).
          const address = b.handle;
          if (address % BigInt(pool.align) !== 0n) fail(`${where} lies at 0x${address.toString(16)}, not ${pool.align}-byte aligned`);
          if (pool.boundary !== 0 && address / BigInt(pool.boundary) !== (address + BigInt(pool.size - 1)) / BigInt(pool.boundary)) fail(`${where} crosses a ${pool.boundary}-byte boundary`);
          const first = block.chunk.first!;
          const offset = address - real.blocks[first.index]!.handle;
          if (offset !== BigInt(block.offset - first.offset)) fail(`${where} lies at ${offset} bytes from its chunk's first block; the model expected ${block.offset - first.offset}`);
        }
      }
    }
  }

  #checkMapping(m: MMapping, real: BindingRecord["maps"][number], passthrough: boolean): void {
    const where = `mapping #${m.index} of ${m.binding.key} (${m.kind}, ${m.dir}, ${m.size} bytes)`;
    const handle = real.handles.at(-1)!;
    const state = m.live ? m.owner : "unmapped";
    if (handle.state !== state) fail(`${where} is ${handle.state}; the model expected ${state}`);
    if (real.handles.length !== m.handles) fail(`${where}: the driver holds ${real.handles.length} handles; the model expected ${m.handles}`);
    if (handle.bounced !== m.bounced) fail(`${where} is ${handle.bounced ? "" : "not "}bounced; the model expected ${m.bounced ? "" : "not "}bounced`);
    if (real.size !== m.size || real.entries !== m.entries) fail(`${where}: the rig has ${real.size} bytes in ${real.entries} entries; the model expected ${m.size} in ${m.entries}`);
    const segments = real.facts.segments;
    const total = segments.reduce((n, s) => n + s.length, 0);
    if (total !== m.size) fail(`${where}: its segments add up to ${total} bytes`);
    // In passthrough every physically contiguous part is a segment; behind a strict IOMMU parts may merge.
    if (passthrough ? segments.length !== m.parts.length : segments.length > m.parts.length) fail(`${where} has ${segments.length} segments for ${m.parts.length} parts`);
    if (!passthrough && segments.length < m.parts.length) count(stats.seen, "sg segments merged behind a strict IOMMU");
  }

  #checkReleases(): void {
    for (const [key, predicted] of this.reference.releases) {
      const actual = this.rig.releases.get(key) ?? [];
      if (actual.join() !== predicted.join()) fail(`binding ${key} ran its devres releases as [${actual.join(", ")}]; the model expected [${predicted.join(", ")}] (last in first out)`);
    }
  }

  #checkViolations(expect: Expectation): void {
    const all = this.rig.machine.dmaDebug.violations;
    const fresh: DmaViolation[] = all.slice(this.#seenViolations);
    this.#seenViolations = all.length;
    const left = [...fresh];
    for (const want of expect.required) {
      const at = left.findIndex((v) => v.kind === want.kind && v.device === want.device && v.driver === want.driver);
      if (at < 0) fail(`the checker did not report ${want.kind} on ${want.device} (driver ${want.driver}); it reported [${fresh.map(describeViolation).join("; ")}]`);
      left.splice(at, 1);
      if (want.driver === "buggy") count(stats.seen, `buggy: ${want.kind}`);
    }
    for (const v of left) {
      if (v.kind === "dma-after-free" && expect.stray.has(v.device)) {
        count(stats.seen, "buggy: dma-after-free");
        if (this.rig.config.iommu === "passthrough") this.#contentsTrusted = false;
        continue;
      }
      fail(`unexpected violation ${describeViolation(v)}: ${v.message}`);
    }
    const faults = this.rig.machine.iommu.faults;
    for (const f of faults.slice(this.#seenFaults)) {
      if (!expect.stray.has(f.device)) fail(`unexpected IOMMU fault: ${f.device} ${f.direction} at 0x${f.address.toString(16)}`);
    }
    this.#seenFaults = faults.length;
    for (const e of this.rig.failures.slice(this.#seenFailures)) {
      // A buggy driver's handler may run between the token's death and the IRQ's release.
      if (e.kind === "irq-failed" && expect.stray.has(e.device!)) continue;
      fail(`unexpected ${e.kind} on ${e.device}: ${e.detail}`);
    }
    this.#seenFailures = this.rig.failures.length;
  }

  #checkMemory(): void {
    const pageSize = this.rig.config.pageSize;
    const live = this.reference.liveAllocations();
    const chunks = this.reference.poolChunks();
    const expected = live.reduce((sum, a) => sum + Math.ceil(a.size / pageSize) * pageSize, 0) + chunks.bytes;
    const pool = this.rig.machine.memory.stats();
    if (pool.bytesInUse !== expected || pool.allocations !== live.length + chunks.count) {
      fail(`the pool holds ${pool.bytesInUse} bytes in ${pool.allocations} allocations; the model's live allocations and pool chunks come to ${expected} bytes in ${live.length + chunks.count}`);
    }
    if (pool.highWater < pool.bytesInUse) fail(`the pool's high water ${pool.highWater} is below its use ${pool.bytesInUse}`);
    for (const binding of this.reference.bindings) {
      const record = this.#record(binding);
      const stack = this.rig.stackSize(binding.key);
      if (stack !== binding.stack.length) fail(`binding ${binding.key} holds ${stack} entries on its devres stack; the model expected ${binding.stack.length}`);
      const pairs: [MAlloc, BindingRecord["allocs"][number]][] = binding.allocs.map((a, i) => [a, record.allocs[i]!]);
      if (binding.ring !== undefined) pairs.push([binding.ring, record.ring!]);
      if (record.allocs.length !== binding.allocs.length) fail(`binding ${binding.key} made ${record.allocs.length} allocations; the model expected ${binding.allocs.length}`);
      for (const [model, real] of pairs) {
        if (real.alloc.freed !== model.freed) fail(`an allocation of ${binding.key} (${model.size} bytes) is ${real.alloc.freed ? "freed" : "live"}; the model expected ${model.freed ? "freed" : "live"}${binding.live ? "" : " (its binding has ended: nothing may stay allocated)"}`);
        // A view taken before the free is dead after it.
        if (model.freed && real.bytes.byteLength !== 0) fail(`a view of a freed allocation of ${binding.key} still reaches ${real.bytes.byteLength} bytes`);
        if (!model.freed && real.bytes.byteLength !== model.size) fail(`a view of a live allocation of ${binding.key} reaches ${real.bytes.byteLength} bytes, not ${model.size}`);
      }
      for (const [i, model] of binding.devres.entries()) {
        const real = record.devres[i];
        if (real === undefined) fail(`binding ${binding.key} has no devres entry #${i}; the model expected one`);
        const value = real.devres.tryAccess();
        const revoked = model.state !== "live";
        if (real.devres.revoked !== revoked || value !== (revoked ? undefined : real.value)) {
          fail(`devres entry ${model.id} is ${real.devres.revoked ? "revoked" : "live"} (tryAccess ${value === undefined ? "undefined" : "gives its value"}); the model expected ${revoked ? "revoked" : "live"}`);
        }
      }
      if (record.devres.length !== binding.devres.length) fail(`binding ${binding.key} made ${record.devres.length} devres entries; the model expected ${binding.devres.length}`);
    }
    this.#checkPlacement(live);
  }

  /** Live allocations are page-aligned, below the mask they were made under, and never overlap (in one domain). */
  #checkPlacement(live: MAlloc[]): void {
    const pageSize = this.rig.config.pageSize;
    const strict = this.rig.config.iommu === "strict";
    const ranges = live.map((a) => {
      const real = a.index < 0 ? this.#record(a.owner).ring! : this.#record(a.owner).allocs[a.index]!;
      const start = real.handle;
      const end = start + BigInt(Math.ceil(a.size / pageSize) * pageSize);
      if (start % BigInt(pageSize) !== 0n) fail(`an allocation of ${a.owner.key} is at 0x${start.toString(16)}, not page-aligned`);
      if (end > 1n << BigInt(real.mask)) fail(`an allocation of ${a.owner.key} ends at 0x${end.toString(16)}, above its ${real.mask}-bit DMA mask`);
      return { domain: strict ? a.owner.device.name : "", start, end, key: a.owner.key };
    });
    ranges.sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
    for (let i = 1; i < ranges.length; i++) {
      const a = ranges[i - 1]!;
      const b = ranges[i]!;
      if (a.domain === b.domain && b.start < a.end) fail(`live allocations of ${a.key} and ${b.key} overlap at 0x${b.start.toString(16)}`);
    }
  }

  /**
   * Everything an ended binding let escape refuses to work, and allocates
   * nothing. What is released by now is the model's to say (a devres walk
   * may wait mid-way at a gated release); what is, is dead.
   */
  /**
   * `thorough`: every allocation, devres entry and streaming handle (as the
   * binding ends, and at the end); otherwise, for the older binding a
   * command samples, a rotating few of its allocations and entries (each
   * refusal costs an error's stack, and runs now keep many bindings).
   */
  #dead(binding: MBinding, thorough: boolean): void {
    const record = this.#record(binding);
    const sample = <Item>(items: readonly Item[]): readonly Item[] => (thorough || items.length <= 2 ? items : [items[this.#commands % items.length]!, items.at(-1)!]);
    const before = this.rig.machine.memory.stats();
    const heapBefore = this.rig.machine.memory.heap();
    const bounceBefore = this.rig.machine.memory.swiotlb();
    expectCode(() => allocCoherent(record.token, 64), "ENXIO", `allocCoherent with the dead token of ${binding.key}`);
    // Streaming, when thorough: nothing maps, allocates or unmaps with the dead token.
    if (thorough) {
      expectCode(() => kmalloc(record.token, 64), "ENXIO", `kmalloc with the dead token of ${binding.key}`);
      const live = [...this.rig.buffers.values()].find((b) => !b.buffer.freed && b.buffer.allocator === "kmalloc");
      if (live !== undefined) expectCode(() => mapSingle(record.token, live.buffer as KernelBuffer<"kmalloc">, "bidirectional"), "ENXIO", `mapSingle with the dead token of ${binding.key}`);
      for (const pool of record.pools) expectCode(() => pool.pool.alloc(record.token), "ENXIO", `DmaPool.alloc with the dead token of ${binding.key}`);
      for (const map of record.maps) {
        const handle = map.handles.at(-1)!;
        expectCode(() => handle.unmap(record.token), "ENXIO", `unmap with the dead token of ${binding.key}`);
      }
    }
    expectCode(() => Devres.new(record.token, 0), "ENXIO", `Devres.new with the dead token of ${binding.key}`);
    expectCode(() => setDmaMask(record.token, 64), "ENXIO", `setDmaMask on the dead token of ${binding.key}`);
    for (const a of sample(record.ring === undefined ? record.allocs : [...record.allocs, record.ring])) {
      expectCode(() => a.alloc.bytes(record.token), "ENXIO", `bytes() with the dead token of ${binding.key}`);
      if (!a.alloc.freed) continue;
      if (a.bytes.byteLength !== 0) fail(`a view of a freed allocation of the ended binding ${binding.key} still works`);
      let detached = false;
      try {
        a.view.getUint8(0);
      } catch (error) {
        detached = error instanceof TypeError;
      }
      if (!detached) fail(`a DataView of an allocation of the ended binding ${binding.key} still reads`);
    }
    for (const entry of sample(record.devres)) {
      expectCode(() => entry.devres.access(record.token), "ENXIO", `Devres.access with the dead token of ${binding.key}`);
    }
    if (record.regs !== undefined) expectCode(() => record.regs!.read32(record.token, 0), "ENXIO", `an MMIO read with the dead token of ${binding.key}`);
    const irqHeld = binding.stack.some((e) => e.r === "irq");
    if (record.irq !== undefined && record.irq.freed === irqHeld) fail(`the IRQ of the ended binding ${binding.key} is ${irqHeld ? "freed" : "not freed"}; the model expected ${irqHeld ? "it held until the walk reaches it" : "it freed"}`);
    const after = this.rig.machine.memory.stats();
    if (after.bytesInUse !== before.bytesInUse || after.allocations !== before.allocations) fail(`a dead token of ${binding.key} allocated memory`);
    const heapAfter = this.rig.machine.memory.heap();
    const bounceAfter = this.rig.machine.memory.swiotlb();
    if (heapAfter.allocations !== heapBefore.allocations || bounceAfter.allocations !== bounceBefore.allocations) fail(`a dead token of ${binding.key} allocated a kernel buffer or a bounce slot`);
    count(stats.seen, "dead tokens checked");
  }

  /** Tasks wind down with a live token; the IRQ count is the handler's; once an ended binding's IRQ is freed, its handler never runs again. */
  #checkHandlers(): void {
    for (const binding of this.reference.bindings) {
      const record = this.#record(binding);
      if (record.drainFailures.length > 0) fail(`a task of ${binding.key} winding down after its abort failed with ${record.drainFailures.join(", ")}: its token must stay live until the task is done`);
      if (record.irq === undefined) continue;
      if (record.irq.count !== record.handlerRuns) fail(`the IRQ of ${binding.key} counts ${record.irq.count} interrupts but its handler ran ${record.handlerRuns} times`);
      if (binding.live || binding.stack.some((e) => e.r === "irq")) continue;
      if (record.handlerRunsAtDeath === undefined) record.handlerRunsAtDeath = record.handlerRuns;
      else if (record.handlerRuns !== record.handlerRunsAtDeath) fail(`the IRQ handler of the ended binding ${binding.key} ran after its IRQ was freed`);
    }
  }

  #record(binding: MBinding): BindingRecord {
    const record = this.rig.records.get(binding.key);
    if (record === undefined) fail(`binding ${binding.key} was never probed; the model expected a probe`);
    return record;
  }

  #handle(alloc: MAlloc): bigint {
    return this.rig.handle(alloc.owner.key, alloc.index);
  }
}

function fail(message: string): never {
  throw new Error(message);
}

function expectCode(run: () => unknown, code: string, what: string): void {
  try {
    run();
  } catch (error) {
    if (error instanceof BoundscopeError && error.code === code) return;
    fail(`${what} threw ${error instanceof BoundscopeError ? error.code : String(error)}, not ${code}`);
  }
  fail(`${what} worked; it must throw ${code}`);
}

/** Whether an event's `error` is the one predicted: ours by its plan, a BoundscopeError by its code; none if none is. */
function errorMatches(predicted: PError | undefined, error: unknown): boolean {
  if (predicted === undefined) return error === undefined;
  if ("planned" in predicted) return error instanceof PlannedError && error.plan === predicted.planned;
  return error instanceof BoundscopeError && error.code === predicted.code;
}

/** `kind[driver] field field …`, the fields given. */
function describe(kind: string, driver: string | undefined, fields: readonly (string | undefined)[]): string {
  return [`${kind}[${driver ?? "-"}]`, ...fields.filter((f) => f !== undefined)].join(" ");
}

function hexBytes(bytes: Uint8Array): string {
  const shown = [...bytes.subarray(0, 24)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return bytes.length > 24 ? `${shown} …` : shown;
}

function describeViolation(v: DmaViolation): string {
  return `${v.kind} on ${v.device} (driver ${v.driver ?? "none"})`;
}
