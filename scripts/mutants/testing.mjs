// Mutants of what boundscope/testing stands on and of the explorer
// (src/sim/fault-inject.ts, the scheduling points, dmaLimitBits, bus.bind,
// src/testing/explore.ts): each weakens one piece, and test/fault-inject.test.ts,
// test/testing-explore.test.ts or the hostile rows must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [];

export const RUNTIME_MUTANTS = [
  {
    id: "inject-never-fails",
    what: "faultInjection.shouldFail is asked but its answer ignored: no injected failure ever happens",
    tests: ["fault-inject", "testing-explore"],
    edits: [edit("src/sim/fault-inject.ts", "      yes = decide(kind, what, device) === true;", "      decide(kind, what, device);")],
  },
  {
    id: "inject-map-not-asked",
    what: "streaming mappings never ask the fault injector: fail-map can never fire",
    tests: ["fault-inject"],
    edits: [edit("src/sim/hardware.ts", '    const injected = this.hw.injector.fail("map", kind === "single" ? "mapSingle" : "mapSg", this.name);\n    if (injected !== undefined) throw injected;\n', "")],
  },
  {
    id: "points-skip-sleeps",
    what: "a sleeping operation is not a scheduling point: nothing can be injected while a driver awaits one",
    tests: ["fault-inject"],
    edits: [edit("src/driver/context.ts", '  if (depth === 0) return binding.port.schedulePoint("sleep", operation);', "  if (depth === 0) return;")],
  },
  {
    id: "points-skip-events",
    what: "a device event of the clock is not a scheduling point",
    tests: ["fault-inject", "testing-explore"],
    edits: [edit("src/sim/clock.ts", "    if (!entry.deadline) this.onFire?.();", "")],
  },
  {
    id: "dma-limit-ignored",
    what: "the platform's DMA limit does not cap the driver's mask: memory above it is mapped directly, never bounced",
    tests: ["fault-inject"],
    edits: [edit("src/driver/dma.ts", "  binding.dmaMaskBits = Math.min(bits, binding.port.dmaLimitBits);", "  binding.dmaMaskBits = bits;")],
  },
  {
    id: "bind-while-bound-wrong-code",
    what: "bus.bind of a bound device is refused with EINVAL, as if the device were gone, instead of EBUSY",
    tests: ["fault-inject", "hostile"],
    edits: [edit("src/core/bus.ts", '          throw fail("EBUSY", `bind: ', '          throw fail("EINVAL", `bind: ')],
  },
  {
    id: "explore-drops-actions",
    what: "the explorer counts points but never runs the action due at one: unbind and unplug are never injected",
    tests: ["testing-explore"],
    edits: [edit("src/testing/explore.ts", "        for (const action of due) queueMicrotask(() => act(action, where));", "")],
  },
  {
    id: "explore-excuses-clean-errors",
    what: "a BoundscopeError from the workload is excused even when nothing was injected",
    tests: ["testing-explore"],
    edits: [edit("src/testing/explore.ts", "        if (injected && error instanceof BoundscopeError) {", "        if (error instanceof BoundscopeError) {")],
  },
  {
    id: "explore-no-minimize",
    what: "the failing schedule is reported as found, never minimized",
    tests: ["testing-explore"],
    edits: [edit("src/testing/explore.ts", "      if (plan.minimize) {", "      if (false) {")],
  },
  {
    id: "explore-one-config",
    what: "the explorer runs only the first configuration: strict IOMMU and the DMA limit are never tried",
    tests: ["testing-explore"],
    edits: [edit("src/testing/explore.ts", "  const configs = [...new Set(iommu)].flatMap(", "  const configs = [...new Set(iommu)].slice(0, 1).flatMap(")],
  },
  {
    id: "explore-ignores-irq-failures",
    what: "an IRQ handler that threw (on a dead token) is not a problem: seeded bug 8 passes",
    tests: ["testing-seeded"],
    edits: [edit("src/testing/explore.ts", '"release-failed", "irq-failed", "task-failed"', '"release-failed", "task-failed"')],
  },
];
