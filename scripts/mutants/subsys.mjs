// Mutants of subsystem registrations (src/driver/registration.ts, netdev.ts,
// blkdev.ts) and the stacks above them (src/subsys/): each weakens one guard,
// and the subsystem tests or type fixtures must catch it.

const edit = (file, from, to, count = 1) => ({ file, from, to, count });

export const TYPE_MUTANTS = [
  {
    id: "subsys-ops-not-scoped",
    what: "NetdevOps takes any binding's token: ops of one scope register with another's",
    edits: [
      edit(
        "src/driver/netdev.ts",
        "export const registerNetdev = <Scope>(dev: ProbeDevice<Scope>, ops: NetdevOps<Scope>, options: NetdevOptions = {}): Netdev<Scope> => {",
        "export const registerNetdev = <Scope>(dev: ProbeDevice<Scope>, ops: NetdevOps<any>, options: NetdevOptions = {}): Netdev<Scope> => {",
      ),
    ],
  },
  {
    id: "subsys-transmit-sleepable",
    what: "transmit gets a SleepableDevice: sleeping in ndo_start_xmit compiles",
    edits: [
      edit(
        "src/driver/netdev.ts",
        "  readonly transmit: (dev: AtomicDevice<Scope>, packet: Uint8Array) => NetdevTx;",
        "  readonly transmit: (dev: SleepableDevice<Scope>, packet: Uint8Array) => NetdevTx;",
      ),
    ],
  },
];

export const RUNTIME_MUTANTS = [
  {
    id: "subsys-call-after-unregister",
    what: "the registration does not refuse atomic calls once unregistering: a transmit after unbind reaches the driver",
    tests: ["registration"],
    edits: [edit("src/driver/registration.ts", "    if (this.#state !== REGISTERED) throw this.refused(name);\n    // Safe: the constructor checked", "    // Safe: the constructor checked")],
  },
  {
    id: "subsys-no-wait-in-flight",
    what: "unregister does not wait for calls in flight: devres is released under a running open()",
    tests: ["registration", "block"],
    edits: [edit("src/driver/registration.ts", "    if (this.#inFlight > 0) {\n      // The watchdog", "    if (false) {\n      // The watchdog")],
  },
  {
    id: "subsys-op-throw-escapes",
    what: "an atomic op that throws breaks the stack instead of being logged",
    tests: ["registration"],
    edits: [edit("src/driver/registration.ts", "    } catch (error) {\n      this.failed(name, error);\n      return OP_FAILED;\n    } finally {", "    } finally {")],
  },
  {
    id: "subsys-receive-any-binding",
    what: "netdev.receive takes another binding's token",
    tests: ["registration"],
    edits: [edit("src/driver/netdev.ts", "    if (binding !== this.#reg.binding) {\n      throw fail(\"EINVAL\", `netdev.receive", "    if (false) {\n      throw fail(\"EINVAL\", `netdev.receive")],
  },
  {
    id: "subsys-request-completes-twice",
    what: "a block request can be completed twice",
    tests: ["block"],
    edits: [edit("src/driver/blkdev.ts", "    if (request.completed) {\n      throw fail(", "    if (false) {\n      throw fail(")],
  },
  {
    id: "subsys-tags-unbounded",
    what: "the block layer hands the driver more requests than its queue depth",
    tests: ["block"],
    edits: [edit("src/subsys/block.ts", "while (this.#queue.length > 0 && this.#tags.length > 0 && !this.#busy && this.registered) {", "while (this.#queue.length > 0 && !this.#busy && this.registered) {")],
  },
];
