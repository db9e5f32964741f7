/**
 * The story of a machine: its events told as lines a person reads, each
 * with its virtual time, its event number and its device, indented under
 * the callback it happened in (a probe, an unbind's `remove()`, devres
 * releasing, an IRQ handler, a task, a subsystem call, the device's own
 * DMA). Violations stand out with their kind, the callback and the
 * checker's message; marks (what a test injected) sit right after the event
 * they name. Long runs of routine events (per-packet DMA, IRQs,
 * allocations) are folded into one line that counts them.
 *
 * Kernel: what a developer reads out of `dmesg` and `trace-cmd report`
 * after a failure, put in order.
 *
 * # Invariants
 * - Told from the events' structured fields (`kind`, `to`, `reason`,
 *   `violation`, `address`, `waitsOn`); `detail` is only quoted, never
 *   parsed.
 * - Every violation, failure, hang and mark is told, however long the
 *   story: folding and trimming only ever hide routine lines.
 * - The callback of an event is inferred from the events before it on the
 *   same device (`probe-start` opens a probe, `remove-start` an unbind, the
 *   first devres `release` of an unbind its devres walk; what follows an
 *   `irq` event at its instant is the hard IRQ handler's) and from its own
 *   kind (`dma` is the device): an approximation, as the log does not say
 *   where one of the driver's awaits resumed, nor when a task or a
 *   subsystem call ran.
 *
 * @module
 */

import { Machine } from "../index.js";
import type { MachineEvent } from "../index.js";
import { describe, fail } from "../internal/error.js";
import { duration } from "../observe/dma-debug.js";

/**
 * A line put into a story right after the event numbered `afterSeq`
 * (`MachineEvent.seq`): an injection the explorer made, a step of a test.
 * The same shape as the timeline's `TimelineMark`, so one list serves both.
 *
 * @example
 * ```ts
 * import { tellStory } from "boundscope/testing";
 * import type { StoryMark } from "boundscope/testing";
 * const before = machine.events.at(-1)?.seq ?? 0;
 * const mark: StoryMark = { afterSeq: before, text: "test: hot-unplug the NIC" };
 * console.log(tellStory(machine, [mark]));
 * ```
 */
export interface StoryMark {
  readonly afterSeq: number;
  readonly text: string;
}

/** Routine events: folded when many come in a row. */
const ROUTINE = new Set<string>(["dma", "irq", "irq-unhandled", "dma-blocked", "alloc", "free"]);
/** A run of routine events is folded when it is longer than this: the first FOLD_HEAD and last FOLD_TAIL are told. */
const FOLD_OVER = 5;
const FOLD_HEAD = 2;
const FOLD_TAIL = 1;
/** The most lines a story tells; past it, routine lines in the middle give way. */
const MAX_LINES = 240;
const KEEP_HEAD = 40;
const KEEP_TAIL = 150;
/** Violation kinds that are the device's own transfer, not a call of the driver. */
const DEVICE_DMA = new Set<string>(["dma-after-free", "dma-after-remove", "dma-outside-mapping", "dma-after-unmap", "dma-into-cpu-owned", "dma-wrong-direction"]);

/** Where a device is in its life, as its events tell it. */
interface Phase {
  readonly kind: "none" | "probe" | "probe-teardown" | "bound" | "remove" | "devres";
  readonly driver: string | undefined;
  readonly reason: string | undefined;
}

/** What the story knows of each device as it goes: its phase, and the instant of its last interrupt while nothing else of it has happened since. */
interface Devices {
  readonly phases: Map<string, Phase>;
  readonly interrupted: Map<string, number>;
}

/** One line of the story, before layout. */
interface Line {
  readonly time: number | undefined;
  readonly seq: number | undefined;
  readonly device: string | undefined;
  /** Indented under its device's callback. */
  readonly inner: boolean;
  readonly text: string;
  /** Lines under it, for a message. */
  readonly more: readonly string[];
  /** Told whatever the length: violations, failures, hangs, marks, lifecycle steps. */
  readonly key: boolean;
  /** For folding: the event's kind, when routine. */
  readonly routine: string | undefined;
}

/**
 * Tells what happened on `machine` as a story: one line per event (routine
 * runs folded), with its virtual time, its number and its device, indented
 * under the callback it happened in; violations marked `!!` with their
 * kind, callback and message; each of `marks` right after the event it
 * names. Used by the assertions' messages and the explorer's reports.
 *
 * @example
 * ```ts
 * import { tellStory } from "boundscope/testing";
 * const machine = new Machine();
 * // … register a driver, plug a device, run traffic, unplug it …
 * console.log(tellStory(machine));
 * // story: 278 events, t=0 ns to t=28 µs, 2 violations
 * //   t=0 ns      #4    0000:00:05.0  probe() by "ring-nic" begins
 * //   t=0 ns      #5    0000:00:05.0    allocates 512 bytes of coherent memory at 0x40000000
 * //   …
 * ```
 */
export function tellStory(machine: Machine, marks: readonly StoryMark[] = []): string {
  // Covers a value that is not a Machine, from JavaScript or a cast.
  if (!(machine instanceof Machine)) throw fail("EINVAL", `tellStory: expected a Machine, got ${describe(machine)}.`);
  return storyOf(machine.events, marks);
}

/** The story of an event list (`tellStory` without the machine). */
function storyOf(events: readonly MachineEvent[], marks: readonly StoryMark[] = []): string {
  // Covers marks from JavaScript or a cast: each must say where it goes.
  if (!Array.isArray(marks) || marks.some((m) => typeof m !== "object" || m === null || typeof m.afterSeq !== "number" || typeof m.text !== "string")) {
    throw fail("EINVAL", `tellStory: marks must be an array of { afterSeq: number, text: string }, got ${describe(marks)}.`);
  }
  const sorted = [...marks].sort((a, b) => a.afterSeq - b.afterSeq);
  const devices: Devices = { phases: new Map(), interrupted: new Map() };
  const lines: Line[] = [];
  let nextMark = 0;
  const markLine = (mark: StoryMark): Line => ({ time: undefined, seq: undefined, device: undefined, inner: false, text: `>> ${mark.text}`, more: [], key: true, routine: undefined });
  for (const e of events) {
    // Marks for events before this one (or before the log's first event) go first.
    while (nextMark < sorted.length && sorted[nextMark]!.afterSeq < e.seq) lines.push(markLine(sorted[nextMark++]!));
    lines.push(lineOf(e, devices));
    while (nextMark < sorted.length && sorted[nextMark]!.afterSeq === e.seq) lines.push(markLine(sorted[nextMark++]!));
  }
  while (nextMark < sorted.length) lines.push(markLine(sorted[nextMark++]!));

  const violations = events.filter((e) => e.kind === "violation").length;
  const first = events[0];
  const last = events.at(-1);
  const header =
    first === undefined || last === undefined
      ? "story: no events"
      : `story: ${events.length} event${events.length === 1 ? "" : "s"}, t=${duration(first.time)} to t=${duration(last.time)}, ${violations} violation${violations === 1 ? "" : "s"}` +
        (first.seq > 1 ? ` (the ${first.seq - 1} events before #${first.seq} fell off the bounded log)` : "");
  return [header, ...layout(trim(fold(lines)))].join("\n");
}

/** The story line of one event, and what it does to its device's phase. */
function lineOf(e: MachineEvent, { phases, interrupted }: Devices): Line {
  const device = e.device;
  const phase = (device === undefined ? undefined : phases.get(device)) ?? { kind: "none", driver: undefined, reason: undefined };
  const driver = e.driver ?? phase.driver;
  const set = (next: Phase): void => void (device !== undefined && phases.set(device, next));
  // The hard IRQ handler runs right after its `irq` event, at the same instant: what follows it there is likely its doing.
  const inIrq = device !== undefined && interrupted.get(device) === e.time;
  if (device !== undefined) {
    if (e.kind === "irq") interrupted.set(device, e.time);
    else if (!inIrq || ["state", "probe-start", "remove-start", "unplug"].includes(e.kind)) interrupted.delete(device);
  }
  const line = (text: string, options: { inner?: boolean; key?: boolean; more?: readonly string[] } = {}): Line => ({
    time: e.time,
    seq: e.seq,
    device,
    inner: options.inner ?? phase.kind !== "none",
    text,
    more: options.more ?? [],
    key: options.key ?? false,
    routine: ROUTINE.has(e.kind) ? e.kind : undefined,
  });
  const quoted = (text: string | undefined): string => (text === undefined || text === "" ? "" : `: ${text}`);
  const at = e.address === undefined ? "" : ` at 0x${e.address.toString(16)}`;
  switch (e.kind) {
    case "register":
      return line(`driver "${e.driver ?? "?"}" registered`, { inner: false });
    case "unregister":
      return line(`driver "${e.driver ?? "?"}" unregistered`, { inner: false, key: true });
    case "plug":
      return line(`plugged${e.parent === undefined ? "" : ` under ${e.parent}`}${e.detail === undefined ? "" : ` (${e.detail})`}`, { inner: false, key: true });
    case "unplug":
      return line("hot-unplugged: the hardware is gone", { inner: false, key: true });
    case "state":
      return line(`${e.from ?? "?"} → ${e.to ?? "?"}`, { inner: false });
    case "probe-start":
      set({ kind: "probe", driver, reason: undefined });
      return line(`probe() by "${driver ?? "?"}" begins`, { inner: false, key: true });
    case "probe-end":
      set({ kind: "bound", driver, reason: undefined });
      return line(`probe() by "${driver ?? "?"}" returned: bound`, { inner: false, key: true });
    case "probe-failed":
      set({ kind: "probe-teardown", driver, reason: "probe failed" });
      return line(`!! probe() by "${driver ?? "?"}" failed${quoted(e.detail)}; what it set up is taken down`, { inner: false, key: true });
    case "probe-deferred":
      return line(`probe deferred: waits for its supplier ${e.supplier ?? "?"}`, { inner: false, key: true });
    case "remove-start":
      set({ kind: "remove", driver, reason: e.reason });
      return line(`unbind begins (${e.reason ?? "?"}): remove() of "${driver ?? "?"}"`, { inner: false, key: true });
    case "remove-end":
      set({ kind: "none", driver: undefined, reason: undefined });
      return line(`unbind done (${e.reason ?? "?"})`, { inner: false, key: true });
    case "remove-failed":
      return line(`!! remove() of "${driver ?? "?"}" threw${quoted(e.detail)}`, { key: true });
    case "release":
    case "revoke":
    case "release-failed": {
      // The first release of an unbind (or of a failed probe's teardown) starts its devres walk.
      if (phase.kind === "remove" || phase.kind === "probe-teardown") set({ kind: "devres", driver, reason: phase.reason });
      if (e.kind === "release-failed") return line(`!! devres release failed${quoted(e.detail)}`, { key: true });
      return line(`${e.kind === "revoke" ? "revokes" : "devres releases"} ${e.detail ?? e.resource ?? "a resource"}`);
    }
    case "alloc":
      return line(`allocates ${e.size ?? "?"} bytes of ${e.resource ?? "coherent"} memory${at}`);
    case "free":
      return line(`frees ${e.size ?? "?"} bytes of ${e.resource ?? "coherent"} memory${at}`);
    case "irq":
      return line(`IRQ handler of "${driver ?? "?"}" runs`);
    case "irq-failed":
      return line(`!! the IRQ handler of "${driver ?? "?"}" threw${quoted(e.detail)}`, { key: true });
    case "irq-unhandled":
      return line(`an interrupt no handler claimed${quoted(e.detail)}`);
    case "irq-disabled":
      return line(`!! interrupt line disabled${quoted(e.detail)}`, { key: true });
    case "task-failed":
      return line(`!! a task of "${driver ?? "?"}" threw${quoted(e.detail)}`, { key: true });
    case "teardown-failed":
      return line(`!! a teardown step failed${quoted(e.detail)}`, { key: true });
    case "subsys-register":
      return line(`registers ${e.detail ?? "with a subsystem"}`);
    case "subsys-unregister":
      return line(`unregisters ${e.detail ?? "from a subsystem"}`);
    case "subsys-failed":
      return line(`!! a subsystem call to "${driver ?? "?"}" threw${quoted(e.detail)}`, { key: true });
    case "dma":
      return line(`device DMA ${e.direction ?? ""} of ${e.size ?? "?"} bytes${at}`.replace("DMA  of", "DMA of"));
    case "dma-blocked":
      return line(`device DMA blocked by the IOMMU${quoted(e.detail)}`);
    case "iommu-fault":
      return line(`IOMMU fault${quoted(e.detail)}`, { key: true });
    case "violation": {
      const where = DEVICE_DMA.has(e.violation ?? "")
        ? `the device's DMA during ${callback(phase)}`
        : inIrq
          ? `in the IRQ handler of "${driver ?? "?"}" (its interrupt came just before, at this instant)`
          : `in ${callback(phase)}`;
      return line(`!! VIOLATION ${e.violation ?? "?"}: ${where}`, { key: true, more: (e.detail ?? "").split("\n") });
    }
    case "hung":
      return line(`!! HUNG: the driver core gave up waiting for ${e.waitsOn ?? "?"} after ${duration(e.waitedNs ?? 0)}, in ${callback(phase)}`, { key: true });
    case "finished-late":
      return line(`${e.waitsOn ?? "?"} finished after all, ${duration(e.waitedNs ?? 0)} after the wait began`, { key: true });
    case "model-failed":
      return line(`!! the device model threw${quoted(e.detail)}`, { key: true });
    case "pci-reset":
      return line("function-level reset: the device stops and its model starts over", { key: true });
    case "device-remove":
      return line("removed from the bus by software (its hardware stays, for a rescan)", { inner: false, key: true });
    case "rescan":
      return line(`found again by a rescan${e.parent === undefined ? "" : ` under ${e.parent}`}`, { inner: false, key: true });
    case "aux-add":
      return line(`auxiliary device created under ${e.parent ?? "?"}`, { inner: false, key: true });
    case "aux-del":
      return line("auxiliary device deleted", { inner: false, key: true });
    case "link-add":
      return line(`now consumes from ${e.supplier ?? "?"} (device link)`, { inner: false });
    case "link-remove":
      return line(`no longer consumes from ${e.supplier ?? "?"}`, { inner: false });
    default:
      // A kind newer than this file: told plainly.
      return line(`${String(e.kind)}${quoted(e.detail)}`);
  }
}

/** The callback a device's event happened in, for violations and hangs. */
function callback(phase: Phase): string {
  const driver = `"${phase.driver ?? "?"}"`;
  switch (phase.kind) {
    case "probe":
      return `probe() by ${driver}`;
    case "probe-teardown":
      return `the take-down after ${driver}'s failed probe()`;
    case "remove":
      return `remove() of ${driver} or the teardown after it (unbind: ${phase.reason ?? "?"})`;
    case "devres":
      return `devres release of ${driver}'s resources (unbind: ${phase.reason ?? "?"})`;
    case "bound":
      return `the bound life of ${driver} (an IRQ handler, a task or a subsystem call)`;
    case "none":
      return "no binding";
  }
}

/** Folds each run of more than FOLD_OVER routine lines (one device, no other line between) into its head, a count, and its tail. */
function fold(lines: readonly Line[]): Line[] {
  const out: Line[] = [];
  let run: Line[] = [];
  const flush = (): void => {
    if (run.length <= FOLD_OVER) out.push(...run);
    else {
      const hidden = run.slice(FOLD_HEAD, run.length - FOLD_TAIL);
      const counts = new Map<string, number>();
      // Safe: only routine lines join a run.
      for (const l of hidden) counts.set(l.routine!, (counts.get(l.routine!) ?? 0) + 1);
      const kinds = [...counts].map(([kind, n]) => `${n} ${kind}`).join(", ");
      const first = hidden[0]!;
      const last = hidden.at(-1)!;
      out.push(...run.slice(0, FOLD_HEAD), {
        time: first.time,
        seq: first.seq,
        device: first.device,
        inner: first.inner,
        text: `… ${hidden.length} more routine events (${kinds}), to #${last.seq ?? "?"} at t=${duration(last.time ?? 0)}`,
        more: [],
        key: false,
        routine: undefined,
      });
      out.push(...run.slice(run.length - FOLD_TAIL));
    }
    run = [];
  };
  for (const l of lines) {
    if (l.routine !== undefined && (run.length === 0 || run[0]!.device === l.device)) run.push(l);
    else {
      flush();
      if (l.routine !== undefined) run.push(l);
      else out.push(l);
    }
  }
  flush();
  return out;
}

/** Past MAX_LINES: the first KEEP_HEAD and last KEEP_TAIL lines, and every key line between, each gap counted. */
function trim(lines: readonly Line[]): Line[] {
  if (lines.length <= MAX_LINES) return [...lines];
  const out: Line[] = [];
  let gap = 0;
  lines.forEach((l, index) => {
    if (index < KEEP_HEAD || index >= lines.length - KEEP_TAIL || l.key) {
      if (gap > 0) out.push({ time: undefined, seq: undefined, device: undefined, inner: false, text: `… ${gap} lines left out …`, more: [], key: false, routine: undefined });
      gap = 0;
      out.push(l);
    } else gap++;
  });
  return out;
}

/** Columns: time, event number, device; then the text, indented under its callback; a message's lines under it. */
function layout(lines: readonly Line[]): string[] {
  const times = lines.map((l) => (l.time === undefined ? "" : `t=${duration(l.time)}`));
  const seqs = lines.map((l) => (l.seq === undefined ? "" : `#${l.seq}`));
  const devices = lines.map((l) => (l.time === undefined ? "" : (l.device ?? "machine")));
  const widths = [times, seqs, devices].map((column) => Math.max(0, ...column.map((c) => c.length)));
  const out: string[] = [];
  lines.forEach((l, i) => {
    if (l.time === undefined) {
      out.push(`  ${l.text}`);
      return;
    }
    const head = `  ${times[i]!.padEnd(widths[0]!)}  ${seqs[i]!.padEnd(widths[1]!)}  ${devices[i]!.padEnd(widths[2]!)}  `;
    out.push(`${head}${l.inner ? "  " : ""}${l.text}`);
    for (const more of l.more) out.push(`${" ".repeat(head.length + 5)}${more}`);
  });
  return out;
}
