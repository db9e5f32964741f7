// Mutants of PCI config space, function-level reset and register polls
// (src/sim/config-space.ts, src/driver/pci.ts, src/driver/iopoll.ts, the
// reset in src/sim/hardware.ts): each weakens one guard, and
// test/config-space.test.ts, test/fuzz-config.test.ts, test/pci-reset.test.ts,
// test/iopoll.test.ts (with the hostile rows and the type fixtures pci-*)
// must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [
  {
    id: "pci-reset-any-token",
    what: "pciResetFunction takes any bound token: a hard IRQ handler resets the function and sleeps 100 ms",
    edits: [edit("src/driver/pci.ts", "export const pciResetFunction = async <Scope>(dev: SleepableDevice<Scope>): Promise<void> => {", "export const pciResetFunction = async <Scope>(dev: BoundDevice<Scope>): Promise<void> => {")],
  },
  {
    id: "pci-enable-not-core",
    what: "pciEnableDevice takes any bound token: a handler or task enables the device",
    edits: [edit("src/driver/pci.ts", "export const pciEnableDevice = <Scope>(dev: ProbeDevice<Scope>): void => {", "export const pciEnableDevice = <Scope>(dev: BoundDevice<Scope>): void => {")],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "pci-rw1c-not-cleared",
    what: "writing one to an RW1C status bit leaves it set",
    tests: ["config-space", "fuzz-config"],
    edits: [edit("src/sim/config-space.ts", "this.#bytes[at] = ((this.#bytes[at]! & ~w) | (byte & w)) & ~(byte & c);", "this.#bytes[at] = (this.#bytes[at]! & ~w) | (byte & w);")],
  },
  {
    id: "pci-read-only-writable",
    what: "config writes ignore the writable mask: read-only ids, pointers and BAR size bits change",
    tests: ["config-space", "fuzz-config"],
    edits: [edit("src/sim/config-space.ts", "this.#bytes[at] = ((this.#bytes[at]! & ~w) | (byte & w)) & ~(byte & c);", "this.#bytes[at] = byte & ~(byte & c);")],
  },
  {
    id: "pci-bus-master-write-silent",
    what: "a config write of the bus-master bit does not tell the device",
    tests: ["config-space", "fuzz-config"],
    edits: [edit("src/sim/config-space.ts", "    if (this.busMaster !== wasMaster) this.#events.busMasterChanged(this.busMaster);\n", "")],
  },
  {
    id: "pci-reset-keeps-timers",
    what: "a function-level reset leaves the model's timers running: the device keeps working through its reset",
    tests: ["pci-reset"],
    edits: [edit("src/sim/hardware.ts", "    this.#control.stopTimers();\n", "")],
  },
  {
    id: "pci-reset-keeps-holds",
    what: "a function-level reset leaves what the device held: freeing an old ring is reported once bus mastering is back",
    tests: ["pci-reset"],
    edits: [edit("src/sim/hardware.ts", "  #functionReset(): void {\n    this.#holds.clear();\n", "  #functionReset(): void {\n")],
  },
  {
    id: "pci-config-alignment-unchecked",
    what: "a config access need not be aligned to its width",
    tests: ["config-space"],
    edits: [edit("src/driver/pci.ts", "  if (offset % width !== 0) {", "  if (offset % width !== 0 && width > 4) {")],
  },
  {
    id: "iopoll-deadline-early",
    what: "the poll times out at the deadline, without the read after it",
    tests: ["iopoll"],
    edits: [edit("src/driver/iopoll.ts", "    const expired = timeoutNs > 0 && port.now > deadline;", "    const expired = timeoutNs > 0 && port.now >= deadline;")],
  },
];
