/**
 * One schedule of the lifecycle explorer, as data and as the one-line text a
 * report prints and `replay()` takes back:
 *
 *     iommu=strict;limit=32;unplug:0@14;fail-alloc#3
 *
 * - `iommu=…`: the machine's IOMMU mode; `limit=…`: its DMA limit in bits
 *   (`none` for no limit);
 * - `unplug:0@14`: unplug the device at index 0 of `machine.pci.devices`
 *   at the 14th scheduling point (also `unbind`, and `rebind`, which is an
 *   unbind then a `bind`);
 * - `fail-alloc#3`: the third allocation fails (`fail-map`, `fail-irq`).
 *
 * Kernel: the fault-injection framework's knobs (`fail_page_alloc`'s
 * `times` and `space`) and a syzkaller reproducer, in one line.
 *
 * # Invariants
 * - `parseSchedule(formatSchedule(s))` equals `s`; a text that is not a
 *   schedule is `EINVAL`, naming the part that is wrong.
 * - Actions are kept in point order, faults in (kind, nth) order: one
 *   schedule has one text.
 *
 * @module
 */

import { fail } from "../internal/error.js";
import type { IommuMode } from "../index.js";

/**
 * What the explorer injects (`ExploreOptions.injections`): an
 * action on a device at a scheduling point (`unplug`, `unbind`, `rebind`),
 * or the Nth operation of a kind failing (`fail-alloc`, `fail-map`,
 * `fail-irq`).
 *
 * @example
 * ```ts
 * const onlyFaults: InjectionKind[] = ["fail-alloc", "fail-map", "fail-irq"];
 * ```
 */
export type InjectionKind = "unplug" | "unbind" | "rebind" | "fail-alloc" | "fail-map" | "fail-irq";

/** What the explorer does to a device at a scheduling point. */
export type ActionKind = Extract<InjectionKind, "unplug" | "unbind" | "rebind">;

/** What the explorer makes fail: the Nth allocation, mapping or IRQ request. */
export type FailureKind = Exclude<InjectionKind, ActionKind>;

/** One action of a schedule: `kind` on the device at `device` in `machine.pci.devices`, at point `at` (from 1). */
export interface ScheduledAction {
  readonly kind: ActionKind;
  readonly device: number;
  readonly at: number;
}

/** One injected failure: the `nth` (from 1) operation of `kind` fails. */
export interface ScheduledFailure {
  readonly kind: FailureKind;
  readonly nth: number;
}

/** A whole schedule: the machine it runs on, and what is injected. */
export interface Schedule {
  readonly iommu: IommuMode;
  /** The platform's DMA limit in bits, or `null` for none. */
  readonly limit: number | null;
  readonly actions: readonly ScheduledAction[];
  readonly failures: readonly ScheduledFailure[];
}

const ACTIONS: readonly ActionKind[] = ["unplug", "unbind", "rebind"];
const FAILURES: readonly FailureKind[] = ["fail-alloc", "fail-map", "fail-irq"];

/** Every injection kind, in the order the explorer tries them. */
export const INJECTIONS: readonly InjectionKind[] = [...ACTIONS, ...FAILURES];

/** Whether `kind` is an action on a device (not an injected failure). */
export function isAction(kind: InjectionKind): kind is ActionKind {
  return (ACTIONS as readonly string[]).includes(kind);
}

/** The schedule with its parts in their one order (actions by point, failures by kind and count). */
export function normalize(schedule: Schedule): Schedule {
  return {
    iommu: schedule.iommu,
    limit: schedule.limit,
    actions: [...schedule.actions].sort((a, b) => a.at - b.at || ACTIONS.indexOf(a.kind) - ACTIONS.indexOf(b.kind) || a.device - b.device),
    failures: [...schedule.failures].sort((a, b) => FAILURES.indexOf(a.kind) - FAILURES.indexOf(b.kind) || a.nth - b.nth),
  };
}

/** The schedule's one-line text (the module doc shows the grammar). */
export function formatSchedule(schedule: Schedule): string {
  const { iommu, limit, actions, failures } = normalize(schedule);
  return [
    `iommu=${iommu}`,
    `limit=${limit === null ? "none" : limit}`,
    ...actions.map((a) => `${a.kind}:${a.device}@${a.at}`),
    ...failures.map((f) => `${f.kind}#${f.nth}`),
  ].join(";");
}

/** Reads a schedule's text back. `EINVAL`, naming the part, for anything else. */
export function parseSchedule(text: unknown): Schedule {
  // Covers JavaScript callers and `any`: replay() takes the text a report printed, and a string is all the types can say.
  if (typeof text !== "string" || text.length === 0 || text.length > 100_000) {
    throw invalid(`a schedule is the non-empty text a report printed (like "iommu=strict;limit=none;unplug:0@14"), got ${typeof text === "string" ? "an empty or oversized string" : typeof text}`);
  }
  let iommu: IommuMode | undefined;
  let limit: number | null | undefined;
  const actions: ScheduledAction[] = [];
  const failures: ScheduledFailure[] = [];
  for (const part of text.split(";")) {
    let m: RegExpExecArray | null;
    if ((m = /^iommu=(strict|passthrough)$/.exec(part)) !== null && iommu === undefined) {
      iommu = m[1] as IommuMode; // Safe: the pattern admits only the two modes.
    } else if ((m = /^limit=(none|\d{2})$/.exec(part)) !== null && limit === undefined) {
      limit = m[1] === "none" ? null : Number(m[1]);
      if (limit !== null && (limit < 24 || limit > 64)) throw invalid(`"${part}": the DMA limit is from 24 to 64 bits, or none`);
    } else if ((m = /^(unplug|unbind|rebind):(\d{1,4})@(\d{1,9})$/.exec(part)) !== null) {
      const at = Number(m[3]);
      if (at < 1) throw invalid(`"${part}": points count from 1`);
      actions.push({ kind: m[1] as ActionKind, device: Number(m[2]), at }); // Safe: the pattern admits only the three actions.
    } else if ((m = /^(fail-alloc|fail-map|fail-irq)#(\d{1,9})$/.exec(part)) !== null) {
      const nth = Number(m[2]);
      if (nth < 1) throw invalid(`"${part}": operations count from 1`);
      failures.push({ kind: m[1] as FailureKind, nth }); // Safe: the pattern admits only the three failures.
    } else {
      throw invalid(`"${part}" is not a part of a schedule (iommu=…, limit=…, unplug:D@P, unbind:D@P, rebind:D@P, fail-alloc#N, fail-map#N, fail-irq#N; iommu and limit once each)`);
    }
  }
  if (iommu === undefined || limit === undefined) throw invalid(`"${text}" lacks its iommu=… or limit=… part`);
  return normalize({ iommu, limit, actions, failures });
}

function invalid(why: string): Error {
  return fail("EINVAL", `replay: ${why}.`);
}
