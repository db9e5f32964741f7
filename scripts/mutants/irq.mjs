// Mutants of interrupts (src/driver/irq.ts, src/sim/irq-chip.ts, and the
// leak check of unmanaged IRQs in src/core/dd.ts): each weakens one guard,
// and test/irq-*.test.ts, test/fuzz-irq.test.ts (with the hostile rows and
// the type fixtures irq-*) must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [
  {
    id: "irq-thread-gets-irq-context",
    what: "the thread part is typed as running in interrupt context: a thread claiming IrqDevice compiles, and one that sleeps does not",
    edits: [
      edit("src/driver/irq.ts", "export type IrqThread<Scope> = (dev: TaskDevice<Scope>) => void | Promise<void>;", "export type IrqThread<Scope> = (dev: IrqDevice<Scope>) => void | Promise<void>;"),
      // At run time the thread gets the one token object; only its type changes.
      edit("src/driver/irq.ts", "run = thread(binding.taskToken);", "run = thread(binding.irqToken);"),
    ],
  },
  {
    id: "irq-hard-handler-task-context",
    what: "the hard handler is typed as a task: one claiming TaskDevice compiles, and sleep() in it too",
    edits: [
      edit("src/driver/irq.ts", "export type IrqHandler<Scope> = (dev: IrqDevice<Scope>) => void;", "export type IrqHandler<Scope> = (dev: TaskDevice<Scope>) => void;"),
      edit("src/driver/irq.ts", "const token = binding.irqToken;", "const token = binding.taskToken;"),
    ],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "irq-line-shared-unchecked",
    what: "a line is shared whether or not its handlers agree to: a second exclusive request succeeds",
    tests: ["irq", "irq-shared"],
    edits: [edit("src/sim/irq-chip.ts", "      if (!first.shared || !action.shared) return \"exclusive\";", "      if (!first.shared && !action.shared && false) return \"exclusive\";")],
  },
  {
    id: "irq-nobody-cared-never",
    what: "note_interrupt never judges a line: a storm nobody handles goes on forever",
    tests: ["irq-shared"],
    edits: [edit("src/sim/irq-chip.ts", "    if (unhandled <= IRQ_STORM_UNHANDLED) return undefined;", "    if (unhandled <= IRQ_STORM_WINDOW) return undefined;")],
  },
  {
    id: "irq-enable-drops-pending",
    what: "the last enable() forgets the raise that came while the line was disabled",
    tests: ["irq-threaded", "irq-shared", "fuzz-irq"],
    edits: [edit("src/sim/irq-chip.ts", "    if (this.depth > 0 && --this.depth === 0) this.chip.resend(this);", "    if (this.depth > 0) --this.depth;")],
  },
  {
    id: "irq-free-does-not-wait",
    what: "free() resolves at once, while the thread part still runs with the token",
    tests: ["irq-threaded"],
    edits: [edit("src/driver/irq.ts", "      if (this.#teardown !== undefined) this.#binding.registrations.delete(this.#teardown);\n    }\n    return this.#threadRun ?? Promise.resolve();", "      if (this.#teardown !== undefined) this.#binding.registrations.delete(this.#teardown);\n    }\n    return Promise.resolve();")],
  },
  {
    id: "irq-thread-wakes-lost",
    what: "a wake while the thread runs is dropped instead of making one more run (IRQTF_RUNTHREAD)",
    tests: ["irq-threaded", "fuzz-irq"],
    edits: [edit("src/driver/irq.ts", "    if (this.#threadRun !== undefined) {\n      this.#again = true;", "    if (this.#threadRun !== undefined) {\n      this.#again = false;")],
  },
  {
    id: "irq-free-from-own-handler",
    what: "free() and synchronize() from the handler's own parts are not refused (a deadlock in the kernel)",
    tests: ["irq-threaded"],
    edits: [edit("src/driver/irq.ts", "    if (this.#inHard || this.#inThread) {", "    if ((this.#inHard || this.#inThread) && false) {")],
  },
  {
    id: "irq-leak-unreported",
    what: "an unmanaged IRQ still requested when the binding ends is freed silently: no irq-leaked violation",
    tests: ["irq-unmanaged"],
    edits: [edit("src/core/dd.ts", '    binding.keep(device.report({ ...binding.subject(), seen: "irq-leaked",', '    if (false) binding.keep(device.report({ ...binding.subject(), seen: "irq-leaked",')],
  },
  {
    id: "irq-leak-left-requested",
    what: "a leaked unmanaged IRQ is reported but left on its line: its handler runs on the dead token",
    tests: ["irq-unmanaged"],
    edits: [edit("src/core/dd.ts", "    await watch(record, binding, irq.release(), `the leaked", "    if (false) await watch(record, binding, irq.release(), `the leaked")],
  },
  {
    id: "irq-oneshot-unmasked",
    what: "a oneshot handler leaves the line open while its thread runs",
    tests: ["irq-threaded"],
    edits: [edit("src/driver/irq.ts", "    if (this.oneshot) this.#line.mask();\n", "")],
  },
];
