/**
 * Interrupt fuzzing (src/driver/irq.ts, src/sim/irq-chip.ts): random raises,
 * disables, enables, frees and synchronizes over two MSI-X vectors (one of
 * them threaded) and a legacy line shared by two devices, checked after
 * every command against a reference model of what each handler must have
 * run: a raise of an open line runs every live handler on it once; of a
 * disabled one, is kept (one) until the line's depth is back at zero; a
 * freed handle's disables are undone, and a line left with no handler
 * forgets its pending raise; a threaded handle's wakes before the thread
 * starts make one run, and none after its free.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocIrqVectors, defineDriver, Machine, requestIrq } from "../src/index.js";
import type { IrqHandle, IrqReturn } from "../src/index.js";
import { OpenModel, smuggle, tick } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const SEED = 20_260_413;
const RUNS = 100;

class FuzzModel extends OpenModel {
  raised = false;
  vector(index: number): void {
    this.raiseMsi(index);
  }
}

/** The handles: 0 and 1 are A's vectors (1 threaded), 2 and 3 are B's and C's handlers on shared line 7. */
const HANDLES = 4;
/** Which line each handle is on. */
const LINE_OF: readonly number[] = [0, 1, 2, 2];

type Command =
  | { readonly kind: "raise"; readonly target: number }
  | { readonly kind: "disable" | "enable" | "free"; readonly handle: number }
  | { readonly kind: "synchronize"; readonly handle: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("raise" as const), target: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom("disable" as const, "enable" as const), handle: fc.integer({ min: 0, max: HANDLES - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("free" as const), handle: fc.integer({ min: 0, max: HANDLES - 1 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("synchronize" as const), handle: fc.integer({ min: 0, max: HANDLES - 1 }) }) },
);

/** The reference model: per handle, live, own depth and hard runs; per line, pending; the thread's runs. */
class Reference {
  readonly live = Array<boolean>(HANDLES).fill(true);
  readonly depth = Array<number>(HANDLES).fill(0);
  readonly count = Array<number>(HANDLES).fill(0);
  readonly pending = [false, false, false];
  threadRuns = 0;
  #woken = false;

  #handles(line: number): number[] {
    return [0, 1, 2, 3].filter((h) => LINE_OF[h] === line && this.live[h]);
  }

  #lineDepth(line: number): number {
    return this.#handles(line).reduce((sum, h) => sum + this.depth[h]!, 0);
  }

  #deliver(line: number): void {
    for (const h of this.#handles(line)) {
      this.count[h]!++;
      if (h === 1) this.#woken = true;
    }
  }

  raise(line: number): void {
    if (this.#handles(line).length === 0) return;
    if (this.#lineDepth(line) > 0) this.pending[line] = true;
    else this.#deliver(line);
  }

  /** True if the call must succeed. */
  disable(h: number): boolean {
    if (!this.live[h]) return false;
    this.depth[h]!++;
    return true;
  }

  enable(h: number): boolean {
    if (!this.live[h] || this.depth[h] === 0) return false;
    this.depth[h]!--;
    this.#reopen(LINE_OF[h]!);
    return true;
  }

  free(h: number): boolean {
    if (!this.live[h]) return false;
    this.live[h] = false;
    this.depth[h] = 0;
    const line = LINE_OF[h]!;
    if (this.#handles(line).length === 0) this.pending[line] = false;
    else this.#reopen(line);
    return true;
  }

  #reopen(line: number): void {
    if (this.#lineDepth(line) === 0 && this.pending[line]) {
      this.pending[line] = false;
      this.#deliver(line);
    }
  }

  /** Microtasks ran: the thread ran once for the wakes since, unless freed first. */
  settle(): void {
    if (this.#woken && this.live[1]) this.threadRuns++;
    this.#woken = false;
  }
}

async function rig() {
  const machine = new Machine();
  const a = new FuzzModel({ msix: 2 });
  const b = new FuzzModel({ intx: 7 });
  const c = new FuzzModel({ intx: 7 });
  const handles: IrqHandle<Smuggled>[] = [];
  const actual = { threadRuns: 0 };
  const polite = (model: FuzzModel) => (): IrqReturn => {
    if (!model.raised) return "none";
    model.raised = false;
    return "handled";
  };
  for (const [i, model] of [a, b, c].entries()) {
    await machine.pci.register(
      defineDriver({
        name: `fuzz-irq-${i}`,
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          if (model === a) {
            const vectors = allocIrqVectors(dev, 2, 2, { msix: true });
            handles[0] = smuggle(vectors.request(0, () => "handled"));
            handles[1] = smuggle(vectors.request(1, () => "wake-thread", { thread: () => void actual.threadRuns++ }));
          } else {
            handles[model === b ? 2 : 3] = smuggle(requestIrq(dev, polite(model), { shared: true }));
          }
          return {};
        },
      }),
    );
    machine.pci.plug(model);
  }
  await machine.settled();
  const raise = [() => a.vector(0), () => a.vector(1), () => ((b.raised = true), b.interrupt()), () => ((c.raised = true), c.interrupt())];
  return { machine, handles, actual, raise };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await tick();
}

describe("interrupt fuzzing", () => {
  it(`${RUNS} random sequences of raise, disable, enable, free and synchronize keep every handler's count (seed ${SEED})`, async () => {
    const seen = { raise: 0, delivered: 0, pendingDelivered: 0, refused: 0, freed: 0, threadRuns: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 8, maxLength: 30, size: "max" }), async (commands) => {
        const { machine, handles, actual, raise } = await rig();
        const ref = new Reference();
        for (const cmd of commands) {
          if (cmd.kind === "raise") {
            seen.raise++;
            const before = ref.count.reduce((s, n) => s + n, 0);
            raise[cmd.target]!();
            // Targets 2 and 3 raise the same line.
            ref.raise(Math.min(cmd.target, 2));
            if (ref.count.reduce((s, n) => s + n, 0) > before) seen.delivered++;
          } else if (cmd.kind === "synchronize") {
            const sync = handles[cmd.handle]!.synchronize();
            await sync;
            await settle();
            ref.settle();
          } else {
            const handle = handles[cmd.handle]!;
            const beforeCounts = ref.count.join();
            const ok = ref[cmd.kind](cmd.handle);
            if (ok) {
              if (cmd.kind === "free") {
                await handle.free();
                seen.freed++;
              } else handle[cmd.kind]();
              if (ref.count.join() !== beforeCounts) seen.pendingDelivered++;
            } else {
              seen.refused++;
              expect(() => handle[cmd.kind]()).toThrow(expect.objectContaining({ code: "EINVAL" }));
            }
            // free() was awaited: microtasks ran.
            if (cmd.kind === "free" && ok) ref.settle();
          }
          expect(handles.map((h) => h.count)).toEqual(ref.count);
          expect(handles.map((h) => h.freed)).toEqual(ref.live.map((l) => !l));
        }
        await settle();
        ref.settle();
        expect(actual.threadRuns).toBe(ref.threadRuns);
        seen.threadRuns += actual.threadRuns;
        expect(machine.events.filter((e) => e.kind === "irq-failed")).toEqual([]);
        for (const dev of machine.pci.devices) await machine.pci.unbind(dev);
        expect(machine.dmaDebug.violations).toEqual([]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The run reached what it claims to check.
    expect(seen.delivered).toBeGreaterThan(RUNS);
    expect(seen.pendingDelivered).toBeGreaterThan(RUNS / 20);
    expect(seen.refused).toBeGreaterThan(RUNS / 10);
    expect(seen.freed).toBeGreaterThan(RUNS / 10);
    expect(seen.threadRuns).toBeGreaterThan(RUNS / 10);
  });
});
