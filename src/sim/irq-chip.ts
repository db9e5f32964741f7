/**
 * The simulated interrupt controller: every interrupt line and vector of one
 * machine, what runs when a device raises one, and the detector of lines
 * nobody handles.
 *
 * - A legacy (INTx) line is a device's own, or shared by every device plugged
 *   with the same `intx`: each raise runs every handler on it, in the order
 *   they were requested.
 * - An MSI or MSI-X vector is a line of its own, made when a driver enables
 *   the device's vectors and gone when it disables them.
 * - A line can be disabled (a depth, as `disable_irq` nests) or masked (while
 *   a oneshot thread runs); a raise meanwhile is kept pending, one per line,
 *   and delivered when the line is open again.
 * - While any hard handler runs, interrupts are off on the (one) CPU: a raise
 *   then is queued and delivered after it returns, never nested; a raise of
 *   the line that runs now runs its handlers once more afterwards.
 * - `note_interrupt`: of every 100,000 interrupts of a line, if more than
 *   99,900 were handled by no handler, with no gap of 100 ms (virtual)
 *   between them, the line is disabled for good ("irq N: nobody cared"), a
 *   fact for the checker and an `irq-disabled` event. It stays disabled until
 *   its last handler is freed.
 *
 * Kernel: `kernel/irq/` (`handle_irq_event`, `__setup_irq`'s sharing rules,
 * `note_interrupt` in `spurious.c`) with an IOAPIC and the PCI MSI-X table
 * beneath. The driver model's side (handles, threads, atomic context) is
 * `driver/irq.ts`.
 *
 * # Invariants
 * - A line's handlers are all `shared` and agree on `oneshot`, or there is
 *   one.
 * - No hard handler runs inside another: the chip runs one line at a time.
 * - A released action's hard part is never called again (the action list is
 *   copied on write, and the driver model's `hard()` checks its own freed flag
 *   for the one run in progress).
 * - A broken line runs nothing until it has no handlers left.
 * - `requested()` lists exactly the lines that have a handler now.
 *
 * @module
 */

import type { FactSubject, IrqAction, IrqKind, IrqLine, Report } from "../driver/ports.js";

/** How many interrupts `note_interrupt` looks at before it judges a line. */
export const IRQ_STORM_WINDOW = 100_000;
/** More unhandled ones than this in a window, and nobody cared. */
export const IRQ_STORM_UNHANDLED = 99_900;
/** A gap this long (ns) between two unhandled interrupts restarts their count (the kernel's HZ/10). */
export const IRQ_STORM_GAP_NS = 100_000_000;

/** The device that raised a line, as the chip needs it. The machine's `DeviceHardware` is one. */
export interface IrqSource {
  readonly now: number;
  subject(): FactSubject;
  readonly report: Report;
  /** A raise reached no handler: logged while a driver is bound. */
  unclaimed(why: string): void;
  /** The line was disabled: logs `irq-disabled`. */
  lineDisabled(irq: number): void;
  /** An error of a raise that has no caller to throw to (delivered late, by an enable). */
  failed(error: unknown): void;
}

/** One line or vector: `struct irq_desc`. */
class Line implements IrqLine {
  actions: readonly IrqAction[] = [];
  depth = 0;
  masks = 0;
  pending = false;
  broken = false;
  /** Who raised it last: who a "nobody cared" is about. */
  source: IrqSource | undefined;
  /** `note_interrupt`'s counts. */
  count = 0;
  unhandled = 0;
  lastUnhandled = -Infinity;

  constructor(
    readonly chip: IrqChip,
    readonly irq: number,
    readonly kind: IrqKind,
  ) {}

  get open(): boolean {
    return this.depth === 0 && this.masks === 0 && !this.broken && this.actions.length > 0;
  }

  request(action: IrqAction): "exclusive" | "oneshot" | undefined {
    const first = this.actions[0];
    if (first !== undefined) {
      if (!first.shared || !action.shared) return "exclusive";
      if (first.oneshot !== action.oneshot) return "oneshot";
    }
    this.actions = [...this.actions, action];
    this.chip.inUse(this, true);
    return undefined;
  }

  release(action: IrqAction): void {
    this.actions = this.actions.filter((a) => a !== action);
    if (this.actions.length > 0) return;
    this.chip.inUse(this, false);
    // The last handler went: the line starts over, as the kernel shuts it down.
    this.depth = 0;
    this.masks = 0;
    this.pending = false;
    this.broken = false;
    this.count = 0;
    this.unhandled = 0;
    this.lastUnhandled = -Infinity;
  }

  disable(): void {
    this.depth++;
  }

  enable(): void {
    if (this.depth > 0 && --this.depth === 0) this.chip.resend(this);
  }

  mask(): void {
    this.masks++;
  }

  unmask(): void {
    if (this.masks > 0 && --this.masks === 0) this.chip.resend(this);
  }
}

/** One machine's interrupt controller. */
export class IrqChip {
  /** Lines shared by `intx` number. */
  readonly #shared = new Map<number, Line>();
  /** The next number for a line of its own or a vector: above every `intx`. */
  #next = 256;
  /** True while a line's handlers run: interrupts are off. */
  #running = false;
  /** Lines raised while another ran, in order. */
  readonly #queue = new Set<Line>();
  /** Lines with at least one handler, oldest first: what `requested()` reads. */
  readonly #inUse = new Set<Line>();

  /** A line got its first handler (`true`) or lost its last (`false`). For `Line` only. */
  inUse(line: Line, used: boolean): void {
    if (used) this.#inUse.add(line);
    else this.#inUse.delete(line);
  }

  /**
   * Every line that has a handler now, with each handler's label
   * (`driver "nic" on device …`): what `boundscope/testing`'s
   * `assertIrqsFreed` finds left after teardown. Read-only.
   */
  requested(): readonly { readonly irq: number; readonly kind: IrqKind; readonly handlers: readonly string[] }[] {
    return [...this.#inUse].map((line) => ({ irq: line.irq, kind: line.kind, handlers: line.actions.map((a) => a.label) }));
  }

  /** The legacy line of a device plugged with `intx`: shared with every device of the same one, or else its own. */
  legacyLine(intx: number | undefined): IrqLine {
    if (intx === undefined) return new Line(this, this.#next++, "legacy");
    let line = this.#shared.get(intx);
    if (line === undefined) this.#shared.set(intx, (line = new Line(this, intx, "legacy")));
    return line;
  }

  /** `count` vectors of `kind`, each a line of its own. */
  vectors(kind: "msix" | "msi", count: number): readonly IrqLine[] {
    return Array.from({ length: count }, () => new Line(this, this.#next++, kind));
  }

  /**
   * `source` raised `line`. Throws the checker's error (`dmaDebug: "throw"`)
   * if this raise made the line nobody cared for.
   */
  raise(line: IrqLine, source: IrqSource): void {
    // Safe: every IrqLine is made by this chip's legacyLine or vectors.
    const l = line as Line;
    if (l.broken) return;
    if (l.actions.length === 0) {
      source.unclaimed(`irq ${l.irq} has no handler`);
      return;
    }
    l.pending = true;
    l.source = source;
    if (!l.open) return;
    if (this.#running) {
      this.#queue.add(l);
      return;
    }
    const error = this.#run(l);
    if (error !== undefined) throw error;
  }

  /** A line opened again (enable, unmask): deliver what is pending on it. */
  resend(line: IrqLine): void {
    // Safe: as in raise.
    const l = line as Line;
    if (!l.pending || !l.open) return;
    if (this.#running) {
      this.#queue.add(l);
      return;
    }
    const error = this.#run(l);
    if (error !== undefined) l.source?.failed(error);
  }

  /** Runs `first`, then every line raised meanwhile; returns the first checker error. */
  #run(first: Line): Error | undefined {
    this.#running = true;
    let error: Error | undefined;
    try {
      error = this.#handle(first);
      // A Set iterates what is added while it iterates: lines raised by the handlers below.
      for (const line of this.#queue) {
        this.#queue.delete(line);
        error ??= this.#handle(line);
      }
    } finally {
      this.#running = false;
    }
    return error;
  }

  /** Runs every handler of `line` once per pending raise, while it is open. */
  #handle(line: Line): Error | undefined {
    let error: Error | undefined;
    while (line.pending && line.open) {
      line.pending = false;
      let handled = false;
      const actions = line.actions;
      for (let i = 0; i < actions.length; i++) if (actions[i]!.hard() !== "none") handled = true;
      error ??= this.#note(line, handled);
    }
    return error;
  }

  /** `note_interrupt`: counts, and judges the line every window. */
  #note(line: Line, handled: boolean): Error | undefined {
    const source = line.source;
    if (source === undefined) return undefined;
    if (!handled) {
      const now = source.now;
      line.unhandled = now - line.lastUnhandled > IRQ_STORM_GAP_NS ? 1 : line.unhandled + 1;
      line.lastUnhandled = now;
    }
    if (++line.count < IRQ_STORM_WINDOW) return undefined;
    const unhandled = line.unhandled;
    line.count = 0;
    line.unhandled = 0;
    if (unhandled <= IRQ_STORM_UNHANDLED) return undefined;
    line.broken = true;
    line.pending = false;
    source.lineDisabled(line.irq);
    return source.report({ ...source.subject(), seen: "irq-nobody-cared", irq: line.irq, unhandled, handlers: line.actions.map((a) => a.label) });
  }
}
