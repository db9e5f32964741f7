// Mutants of atomic versus sleepable context (src/driver/context.ts and the
// operations that may sleep): each weakens one guard, and
// test/context.test.ts, test/fuzz-context.test.ts (with the hostile rows and
// the type fixtures context-*) must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [
  {
    id: "context-sleep-any-token",
    what: "sleep() takes any bound token: a hard IRQ handler's IrqDevice sleeps",
    edits: [edit("src/driver/delay.ts", "export const sleep = <Scope>(dev: SleepableDevice<Scope>, ns: number): Promise<void> => {", "export const sleep = <Scope>(dev: BoundDevice<Scope>, ns: number): Promise<void> => {"), edit("src/driver/delay.ts", 'import type { SleepableDevice } from "./device.js";', 'import type { BoundDevice } from "./device.js";')],
  },
  {
    id: "context-async-accessor",
    what: "the atomic tryAccessWith takes an async accessor",
    edits: [edit("src/driver/revocable.ts", 'export type NotAPromise<Result> = Result extends PromiseLike<unknown> ? "a Revocable access must not sleep: make the accessor synchronous, or use tryAccessAsync" : Result;', "export type NotAPromise<Result> = Result;")],
  },
  {
    id: "context-vmalloc-atomic",
    what: "vmalloc takes an AtomicDevice: a hard IRQ handler vmallocs",
    edits: [edit("src/driver/kmalloc.ts", "export const vmalloc = <Scope>(dev: NotAtomicDevice<Scope>, size: number)", "export const vmalloc = <Scope>(dev: BoundDevice<Scope>, size: number)")],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "context-might-sleep-silent",
    what: "mightSleep never reports: every sleeping operation passes in atomic context",
    tests: ["context", "fuzz-context"],
    edits: [edit("src/driver/context.ts", '  if (depth === 0) return binding.port.schedulePoint("sleep", operation);', '  if (depth >= 0) return binding.port.schedulePoint("sleep", operation);')],
  },
  {
    id: "context-stack-leaks-on-throw",
    what: "an atomic section that throws leaves itself on the stack: everything after it is atomic",
    tests: ["context", "fuzz-context"],
    edits: [edit("src/driver/context.ts", "  try {\n    return run();\n  } finally {\n    sectionWhat.pop();\n    sectionOwner.pop();\n  }", "  const result = run();\n  sectionWhat.pop();\n  sectionOwner.pop();\n  return result;")],
  },
  {
    id: "context-outermost-section",
    what: "a report names the outermost atomic section, not the innermost",
    tests: ["context", "fuzz-context"],
    edits: [edit("src/driver/context.ts", "  const section = label(sectionWhat[depth - 1]!, sectionOwner[depth - 1], binding);", "  const section = label(sectionWhat[0]!, sectionOwner[0], binding);")],
  },
  {
    id: "context-gfp-atomic-sleeps",
    what: 'kmalloc(…, "atomic") is checked as if it slept: GFP_ATOMIC is reported in a hard IRQ handler',
    tests: ["context", "fuzz-context"],
    edits: [edit("src/driver/kmalloc.ts", '  if (gfp !== "atomic") mightSleep(binding,', "  mightSleep(binding,")],
  },
  {
    id: "context-async-accessor-untracked",
    what: "an async accessor smuggled into tryAccessWith is not waited for: the revoke releases the value under it",
    tests: ["context"],
    edits: [edit("src/driver/revocable.ts", "    Promise.resolve(result).then(settled, settled);\n", "    settled();\n")],
  },
  {
    id: "context-throw-mode-repeat-silent",
    what: "in throw mode only the first of the same call throws; the repeats sleep in atomic context unrefused",
    tests: ["context", "fuzz-context"],
    edits: [edit("src/observe/dma-debug.ts", '    return repeat && this.mode === "throw" ? new BoundscopeError("EINVAL", `dma-debug: sleep-in-atomic: ${message}`) : error;', "    return error;")],
  },
];
