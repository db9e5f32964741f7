// `npm run test:mutation`: proof that the tests bite. Each mutant is a copy of
// the package with ONE known weakening applied, as an exact text replacement
// that must match (a pattern that no longer matches fails the run, so a
// mutant cannot rot into a copy of the original). Every mutant must be killed:
//
// - a type mutant weakens a type. Its copy is built (tsc, which must succeed)
//   and the type tests run against the copy's dist/ (scripts/type-tests.mjs
//   --root), under TypeScript 7, strict and with strictFunctionTypes off,
//   and under TypeScript 6 as well for some. At least one fixture must fail
//   under every compiler it runs with.
// - a run-time mutant disables a run-time guard. Its copy must type-check,
//   and vitest runs the test files that hold the guard against the copy's
//   src/. At least one test must fail.
//
// An unmutated copy of each kind runs the same way and must pass, or a kill
// would mean nothing. Mutants run two at a time. One line per mutant, then
// "killed k/N" per kind and overall; exit status 1 unless all are killed.
//
//   node scripts/mutation.mjs                 every mutant
//   node scripts/mutation.mjs --only ID,ID    these mutants (and the baseline)
//   node scripts/mutation.mjs --list          list the mutants
// (--only=ID,ID works too.)

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseCommandLine, usageError } from "./lib/args.mjs";
import { collect } from "./lib/child.mjs";
import { root } from "./lib/paths.mjs";
import { parallelism, pool } from "./lib/pool.mjs";

const workDir = join(root, ".tmp", "mutation");
const tsc7 = join(root, "node_modules/typescript/bin/tsc");
const vitest = join(root, "node_modules/vitest/vitest.mjs");

const TS7 = ["ts7-strict", "ts7-loose-fn"];

/** `from` must occur exactly `count` times in `file`; every occurrence becomes `to`. */
const edit = (file, from, to, count = 1) => ({ file, from, to, count });

// ---------------------------------------------------------------------------
// Type mutants: each weakens one guarantee of the types.

const TYPE_MUTANTS = [
  {
    id: "token-brand-empty",
    what: "drop the brand: BoundDevice has no token brand",
    edits: [
      edit(
        "src/driver/tokens.ts",
        "  /** The scope brand (type-level only; see internal/brand.ts). */\n  readonly [tokenOfOneBindingOnly]: Invariant<Scope>;\n",
        "",
      ),
    ],
  },
  {
    id: "token-brand-optional",
    what: "drop the brand: the token's brand property is optional",
    edits: [edit("src/driver/tokens.ts", "  readonly [tokenOfOneBindingOnly]: Invariant<Scope>;", "  readonly [tokenOfOneBindingOnly]?: Invariant<Scope>;")],
  },
  {
    id: "scope-covariant",
    what: "the token's scope is covariant: `out` for `in out`, and a covariant brand",
    configs: [...TS7, "ts6-strict"],
    edits: [
      edit("src/internal/brand.ts", 'export type Invariant<Scope> = <Probe>() => Probe extends Scope ? "this binding" : "another binding";', "export type Invariant<Scope> = () => Scope;"),
      // The tokens only: a handle whose members take a token is held invariant by those members anyway.
      edit("src/driver/tokens.ts", "<in out Scope>", "<out Scope>", 6),
    ],
  },
  {
    id: "brand-invariant-only-with-strict-function-types",
    what: "the brand is a callback parameter: invariant under strictFunctionTypes, covariant without it",
    configs: [...TS7, "ts6-loose-fn"],
    edits: [
      edit("src/internal/brand.ts", 'export type Invariant<Scope> = <Probe>() => Probe extends Scope ? "this binding" : "another binding";', "export type Invariant<Scope> = (scope: Scope) => Scope;"),
    ],
  },
  {
    id: "probe-not-generic",
    what: "probe is not generic: (dev: ProbeDevice<unknown>) => …",
    edits: [
      edit(
        "src/driver/driver.ts",
        "readonly probe: <Scope>(dev: ProbeDevice<Scope>, id: MatchedId<Data>) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>;",
        "readonly probe: (dev: ProbeDevice<unknown>, id: MatchedId<Data>) => DriverInstance<unknown> | Promise<DriverInstance<unknown>>;",
      ),
    ],
  },
  {
    id: "remove-any-scope",
    what: "remove() takes a token of any scope",
    edits: [edit("src/driver/driver.ts", "readonly remove?: (dev: ProbeDevice<Scope>) => void;", "readonly remove?: (dev: ProbeDevice<any>) => void;")],
  },
  {
    id: "remove-returns-void-or-promise",
    what: "remove() is typed `void | Promise<void>`: an arrow remove that returns a value no longer fits",
    edits: [edit("src/driver/driver.ts", "readonly remove?: (dev: ProbeDevice<Scope>) => void;", "readonly remove?: (dev: ProbeDevice<Scope>) => void | Promise<void>;")],
  },
  {
    id: "release-returns-void-or-promise",
    what: "a Devres release is typed `void | Promise<void>`: a release that returns a value no longer fits",
    edits: [edit("src/driver/devres.ts", "    release?: (value: Value) => void,\n  ): Devres<Scope, Value> {", "    release?: (value: Value) => void | Promise<void>,\n  ): Devres<Scope, Value> {")],
  },
  {
    id: "alloc-accepts-device",
    what: "allocCoherent accepts a plain Device",
    edits: [
      edit("src/driver/dma.ts", 'import type { BoundDevice, ProbeDevice } from "./device.js";', 'import type { BoundDevice, Device, ProbeDevice } from "./device.js";'),
      edit("src/driver/dma.ts", "export const allocCoherent = <Scope>(dev: BoundDevice<Scope>, size: number, gfp?: Gfp)", "export const allocCoherent = <Scope>(dev: BoundDevice<Scope> | Device, size: number, gfp?: Gfp)"),
    ],
  },
  {
    id: "alloc-a-function-declaration",
    what: "allocCoherent is a function declaration: module augmentation can add a weaker overload",
    edits: [
      edit("src/driver/dma.ts", "export const allocCoherent = <Scope>(dev: BoundDevice<Scope>, size: number, gfp?: Gfp): CoherentAllocation<Scope> => {", "export function allocCoherent<Scope>(dev: BoundDevice<Scope>, size: number, gfp?: Gfp): CoherentAllocation<Scope> {"),
      edit("src/driver/dma.ts", "  return new Coherent(binding, memory) as unknown as CoherentAllocation<Scope>;\n};", "  return new Coherent(binding, memory) as unknown as CoherentAllocation<Scope>;\n}"),
    ],
  },
  {
    id: "allocation-an-interface",
    what: "CoherentAllocation is an interface with methods: module augmentation can add weaker overloads",
    edits: [
      edit("src/driver/dma.ts", "export type CoherentAllocation<in out Scope> = {", "export interface CoherentAllocation<in out Scope> {"),
      edit("src/driver/dma.ts", "  readonly bytes: (dev: BoundDevice<Scope>) => Uint8Array;", "  bytes(dev: BoundDevice<Scope>): Uint8Array;"),
      edit("src/driver/dma.ts", "  /** The same as `free()`, for `using`. */\n  [Symbol.dispose](): void;\n};", "  /** The same as `free()`, for `using`. */\n  [Symbol.dispose](): void;\n}"),
    ],
  },
  {
    id: "devres-access-any-scope",
    what: "Devres.access accepts a token of any scope (BoundDevice<any>)",
    edits: [edit("src/driver/devres.ts", "readonly access = (dev: BoundDevice<Scope>): Value => {", "readonly access = (dev: BoundDevice<any>): Value => {")],
  },
  {
    id: "devres-access-a-method",
    what: "Devres.access is a method: module augmentation can add a weaker overload",
    edits: [
      edit("src/driver/devres.ts", "readonly access = (dev: BoundDevice<Scope>): Value => {", "access(dev: BoundDevice<Scope>): Value {"),
      edit("src/driver/devres.ts", "    return this.#revocable.tryAccess() as Value;\n  };", "    return this.#revocable.tryAccess() as Value;\n  }"),
    ],
  },
  {
    id: "export-brand-symbol",
    what: "the token's brand symbol is exported, so a literal can carry it",
    edits: [
      // internal/brand.ts exports it to the library's own modules; the mutant is the package exporting it.
      edit("src/index.ts", 'export { defineDriver, deviceTable } from "./driver/driver.js";', 'export { tokenOfOneBindingOnly } from "./internal/brand.js";\nexport { defineDriver, deviceTable } from "./driver/driver.js";'),
    ],
  },
  {
    id: "core-only-on-bound",
    what: "drop the core-context restriction: setDmaMask and iomap take a BoundDevice",
    edits: [
      edit("src/driver/dma.ts", "export const setDmaMask = <Scope>(dev: ProbeDevice<Scope>, bits: number): void => {", "export const setDmaMask = <Scope>(dev: BoundDevice<Scope>, bits: number): void => {"),
      edit("src/driver/mmio.ts", "export const iomap = <Scope>(dev: ProbeDevice<Scope>, bar: number): IoMapping<Scope> => {", "export const iomap = <Scope>(dev: BoundDevice<Scope>, bar: number): IoMapping<Scope> => {"),
    ],
  },
  {
    id: "register-takes-any-address",
    what: "write64 takes any bigint: another binding's bus address programs this device",
    edits: [edit("src/driver/mmio.ts", "value: RegisterValue<Scope>) => void;", "value: bigint) => void;")],
  },
  {
    id: "descriptor-takes-any-address",
    what: "a struct's 64-bit fields take any bigint: another binding's bus address lands in this binding's descriptor",
    edits: [edit("src/driver/descriptor.ts", 'type FieldInput<Type extends FieldType, Scope> = Type extends "u64" | "i64" ? RegisterValue<Scope> : number;', 'type FieldInput<Type extends FieldType, _Scope> = Type extends "u64" | "i64" ? bigint : number;')],
  },
  {
    id: "token-not-nominal",
    what: "the token types lose their private member: a literal keyed by the brand, or every object after a global augmentation, passes for a token",
    edits: [edit("src/driver/tokens.ts", "  /** Only the driver core mints a token. */\n  #onlyTheDriverCoreMintsTokens: true;\n", "")],
  },
  {
    id: "bus-an-interface",
    what: "Bus is an interface with methods: module augmentation can add a register() for look-alike drivers",
    edits: [
      edit("src/sim/pci.ts", "export type Bus = {", "export interface Bus {"),
      edit("src/sim/pci.ts", "  readonly register: (driver: Driver) => Promise<void>;", "  register(driver: Driver): Promise<void>;"),
      edit("src/sim/pci.ts", "  readonly settled: () => Promise<void>;\n};", "  readonly settled: () => Promise<void>;\n}"),
    ],
  },
  {
    id: "token-is-a-device",
    what: "drop the plain-reference brand: a token passes for a Device, and method bivariance lets a Device pass for a token",
    edits: [edit("src/driver/device.ts", '  readonly [plainDeviceGrantsNothing]: "a plain reference";\n', "")],
  },
  {
    id: "irq-handler-core-context",
    what: "the IRQ handler receives the core context (ProbeDevice)",
    edits: [
      edit("src/driver/irq.ts", "export type IrqHandler<Scope> = (dev: IrqDevice<Scope>) => void;", "export type IrqHandler<Scope> = (dev: ProbeDevice<Scope>) => void;"),
      // At run time the handler gets the one token object; only its type changes.
      edit("src/driver/irq.ts", "const token = binding.irqToken;", "const token = binding.token;"),
    ],
  },
  {
    id: "irq-context-brand-empty",
    what: "IrqDevice loses its context brand: with strictFunctionTypes off a handler can claim the core context",
    edits: [edit("src/driver/tokens.ts", "  readonly [interruptContextNotCore]: Invariant<Scope>;\n", "")],
  },
  {
    id: "task-context-brand-empty",
    what: "TaskDevice loses its context brand: with strictFunctionTypes off a task can claim the core context",
    edits: [edit("src/driver/tokens.ts", "  readonly [taskContextNotCore]: Invariant<Scope>;\n", "")],
  },
  {
    id: "dma-address-plain-bigint",
    what: "DmaAddress is a plain bigint",
    edits: [
      edit(
        "src/driver/dma.ts",
        "export type DmaAddress<Scope, Kind extends DmaMappingKind = DmaMappingKind> = bigint & {\n  readonly [busAddressOfOneBindingOnly]: Invariant<Scope>;\n  readonly [givenBackOnlyByTheCallThatMadeIt]: Kind;\n};",
        "export type DmaAddress<_Scope, _Kind extends DmaMappingKind = DmaMappingKind> = bigint;",
      ),
    ],
  },
  {
    id: "dma-address-no-scope",
    what: "DmaAddress is branded but carries no scope: one binding frees another's handle",
    edits: [edit("src/driver/dma.ts", "  readonly [busAddressOfOneBindingOnly]: Invariant<Scope>;\n  readonly [givenBackOnlyByTheCallThatMadeIt]: Kind;", '  readonly [busAddressOfOneBindingOnly]: "DmaAddress";\n  readonly [givenBackOnlyByTheCallThatMadeIt]: Kind;')],
  },
  {
    // Not "covariant only": bytes(dev: BoundDevice<Scope>) alone keeps the
    // allocation invariant while the token is, so that mutant is equivalent.
    id: "allocation-brand-empty",
    what: "drop the allocation brand: a look-alike object passes for an allocation",
    edits: [edit("src/driver/dma.ts", "  readonly [memoryOfOneBindingOnly]: Invariant<Scope>;\n", "")],
  },
  {
    id: "mmio-brand-empty",
    what: "drop the MMIO brand: a look-alike object passes for a mapping",
    edits: [edit("src/driver/mmio.ts", "  readonly [mappingOfOneBindingOnly]: Invariant<Scope>;\n", "")],
  },
  {
    id: "irq-brand-empty",
    what: "drop the IRQ brand: a look-alike object passes for an IRQ handle",
    edits: [edit("src/driver/irq.ts", "  readonly [irqOfOneBindingOnly]: Invariant<Scope>;\n", "")],
  },
  {
    id: "task-brand-empty",
    what: "drop the task brand: a look-alike object passes for a task",
    edits: [edit("src/driver/task.ts", "  readonly [taskOfOneBindingOnly]: Invariant<Scope>;\n", "")],
  },
  {
    id: "mmio-read32-any-token",
    what: "IoMapping.read32 accepts a token of any scope",
    edits: [edit("src/driver/mmio.ts", "readonly read32: (dev: BoundDevice<Scope>, offset: number) => number;", "readonly read32: (dev: BoundDevice<any>, offset: number) => number;")],
  },
  {
    id: "spawn-any-scope",
    what: "spawn() takes work written for any scope",
    edits: [edit("src/driver/task.ts", "export const spawn = <Scope>(dev: ProbeDevice<Scope>, work: TaskWork<Scope>): Task<Scope> => {", "export const spawn = <Scope>(dev: ProbeDevice<Scope>, work: TaskWork<any>): Task<Scope> => {")],
  },
  {
    id: "devres-constructor-public",
    what: "Devres' constructor is public: a Devres without Devres.new",
    edits: [edit("src/driver/devres.ts", "  private constructor(binding: Binding,", "  constructor(binding: Binding,")],
  },
  {
    id: "driver-brand-empty",
    what: "drop the driver brand: any { name, ids } registers",
    edits: [edit("src/driver/driver.ts", '  readonly [onlyDefineDriverMakesADriver]: "Driver";\n', "")],
  },
  // Streaming DMA (issue 12).
  {
    id: "streaming-address-no-direction",
    what: "a streaming address forgets its direction: unmap or sync it with any",
    edits: [edit("src/driver/streaming.ts", "  readonly [syncedAndUnmappedInItsOwnDirection]: Invariant<Dir>;\n", "")],
  },
  {
    id: "dma-address-no-kind",
    what: "a bus address forgets which call made it: free a streaming one with freeCoherent",
    edits: [edit("src/driver/dma.ts", "  readonly [givenBackOnlyByTheCallThatMadeIt]: Kind;\n", "")],
  },
  {
    id: "from-device-cpu-view-writable",
    what: "a CPU-owned from-device mapping hands out a writable view",
    edits: [edit("src/driver/streaming.ts", "  readonly bytes: (dev: BoundDevice<Scope>) => ReadonlyBytes;", "  readonly bytes: (dev: BoundDevice<Scope>) => Uint8Array;")],
  },
  {
    id: "to-device-has-cpu-sync",
    what: "a to-device mapping has a sync for the CPU",
    edits: [
      edit(
        "src/driver/streaming.ts",
        'export type DeviceOwnedToDevice<Scope> = StreamingMapping<Scope, "to-device"> & {\n  readonly owner: "device";\n',
        'export type DeviceOwnedToDevice<Scope> = StreamingMapping<Scope, "to-device"> & {\n  readonly owner: "device";\n  readonly syncForCpu: (dev: BoundDevice<Scope>, offset?: number, length?: number) => CpuOwnedBidirectional<Scope>;\n',
      ),
    ],
  },
  {
    id: "map-single-takes-vmalloc",
    what: "mapSingle takes a buffer of either allocator, vmalloc's scattered pages included",
    edits: [edit("src/driver/streaming.ts", '  buffer: KernelBuffer<"kmalloc">,', "  buffer: KernelBuffer,")],
  },
  {
    id: "readonly-bytes-buffer",
    what: "the read-only bytes expose their ArrayBuffer, over which any view writes",
    edits: [edit("src/driver/streaming.ts", '"sort" | "subarray" | "buffer">', '"sort" | "subarray">')],
  },
  {
    id: "sync-for-cpu-any-direction",
    what: "syncSingleForCpu takes an address of any direction, to-device included",
    edits: [edit("src/driver/streaming.ts", 'export const syncSingleForCpu = <Scope, Dir extends "from-device" | "bidirectional">(', "export const syncSingleForCpu = <Scope, Dir extends DataDirection>(")],
  },
];

// ---------------------------------------------------------------------------
// Run-time mutants: each disables one guard; `tests` hold that guard.

const RUNTIME_MUTANTS = [
  {
    id: "token-live-check",
    what: "Token.live skips the liveness check: dead tokens work",
    tests: ["device", "coherent", "devres"],
    edits: [edit("src/driver/binding.ts", "    if (!binding.live) {", "    if (!binding.live && false) {")],
  },
  {
    id: "token-private-state-check",
    what: "Token.live skips the `#binding in value` check: forged tokens pass it",
    tests: ["device"],
    edits: [
      edit("src/driver/binding.ts", "    if (!(#binding in value)) {", "    if (!(#binding in value) && false) {"),
      // Without the check TypeScript no longer narrows `value`, so the copy
      // would not type-check: the cast the code had before the check narrowed
      // it. Type-only; a forged token then reaches `#binding` (a TypeError,
      // not EPERM).
      edit("src/driver/binding.ts", "    const binding = value.#binding;\n", "    const binding = (value as Token).#binding;\n"),
    ],
  },
  {
    id: "coherent-fast-path-liveness",
    what: "bytes()/view() take the binding's own token as proof without checking it is still live",
    tests: ["coherent", "devres"],
    edits: [
      edit("src/driver/dma.ts", 'if (dev !== owner.token || !owner.live || this.#freed) this.#check(dev, "bytes");', 'if (dev !== owner.token || this.#freed) this.#check(dev, "bytes");'),
      edit("src/driver/dma.ts", 'if (dev !== owner.token || !owner.live || this.#freed) this.#check(dev, "view");', 'if (dev !== owner.token || this.#freed) this.#check(dev, "view");'),
    ],
  },
  {
    id: "devres-fast-path-liveness",
    what: "Devres.access takes the binding's own token as proof without checking it is still live",
    tests: ["devres"],
    edits: [edit("src/driver/devres.ts", "if (dev === owner.token && owner.live && !this.#revoked)", "if (dev === owner.token && !this.#revoked)")],
  },
  {
    id: "devres-fast-path-revoked",
    what: "Devres.access gives the value of an entry released early",
    tests: ["devres"],
    edits: [edit("src/driver/devres.ts", "if (dev === owner.token && owner.live && !this.#revoked)", "if (dev === owner.token && owner.live)")],
  },
  {
    id: "mmio-fast-path-liveness",
    what: "MMIO takes the binding's own token as proof without checking it is still live",
    tests: ["mmio", "devres"],
    edits: [edit("src/driver/mmio.ts", "if (dev === owner.token && owner.live && !this.#revoked", "if (dev === owner.token && !this.#revoked")],
  },
  {
    id: "coherent-binding-match",
    what: "an allocation accepts another binding's token",
    tests: ["coherent"],
    edits: [edit("src/driver/dma.ts", "    if (binding !== this.#binding) {", "    if (binding !== this.#binding && false) {")],
  },
  {
    id: "devres-binding-match",
    what: "Devres.access accepts another binding's token",
    tests: ["devres"],
    edits: [edit("src/driver/devres.ts", "    if (binding !== this.#binding) {", "    if (binding !== this.#binding && false) {")],
  },
  {
    id: "mmio-binding-match",
    what: "an MMIO mapping accepts another binding's token",
    tests: ["mmio"],
    edits: [edit("src/driver/mmio.ts", "    if (binding !== this.#binding) {", "    if (binding !== this.#binding && false) {")],
  },
  {
    id: "mmio-unmap-revokes",
    what: "an unmapped MMIO mapping still reaches the device",
    tests: ["using", "mmio"],
    edits: [edit("src/driver/mmio.ts", "owner.live && !this.#revoked && Number.isInteger(offset)", "owner.live && Number.isInteger(offset)")],
  },
  {
    id: "coherent-use-after-free-check",
    what: "bytes()/view() of a freed allocation are not refused",
    tests: ["coherent"],
    edits: [edit("src/driver/dma.ts", "    if (this.#freed) {\n      throw fail(\"EINVAL\", `${operation}:", "    if (this.#freed && false) {\n      throw fail(\"EINVAL\", `${operation}:")],
  },
  {
    id: "free-no-detach",
    what: "free does not detach the buffer: views handed out before still work",
    tests: ["coherent", "memory"],
    edits: [edit("src/sim/memory.ts", "    detach(block.buffer);\n", "")],
  },
  {
    id: "allocation-not-device-managed",
    what: "an allocation is not pushed on the devres stack",
    tests: ["coherent"],
    edits: [edit("src/driver/dma.ts", "    binding.devres.add(this);\n    binding.allocations.set(memory.handle, this);", "    binding.allocations.set(memory.handle, this);")],
  },
  {
    id: "core-context-check",
    what: "requireCore lets core-only calls through outside probe()/remove()",
    tests: ["device", "task"],
    edits: [edit("src/driver/binding.ts", "    if (!this.core) {", "    if (!this.core && false) {")],
  },
  {
    id: "sync-probe-keeps-core",
    what: "a synchronous probe's continuations keep the core context",
    tests: ["task", "device"],
    edits: [
      edit(
        "src/core/dd.ts",
        "    const returned = driver.probe(binding.token, record.host);\n    // A synchronous probe is over once it returns: a continuation it queued\n    // (a spawned task's first step) must not run in the core context.\n    if (!isThenable(returned)) binding.core = false;\n",
        "    const returned = driver.probe(binding.token, record.host);\n",
      ),
    ],
  },
  {
    id: "devres-fifo",
    what: "devres is released first in first out",
    tests: ["devres"],
    edits: [edit("src/driver/devres.ts", "for (let i = stack.length - 1; i >= 0; i--) {", "for (let i = 0; i < stack.length; i++) {")],
  },
  {
    id: "task-no-cancel",
    what: "unbind does not abort the tasks' signals",
    tests: ["task"],
    edits: [edit("src/core/dd.ts", "  for (const task of tasks) task.cancel();\n", "")],
  },
  {
    id: "task-no-wait",
    what: "unbind does not wait for the tasks before devres release",
    tests: ["task"],
    edits: [edit("src/core/dd.ts", "for (const task of tasks) await watch(record, binding, task.done, task.label);", "for (const task of tasks) void watch(record, binding, task.done, task.label);")],
  },
  {
    // The simulator sees the holds and tells the checker (observe/dma-debug.ts),
    // which words the violation; the guard is whether it is told at all.
    id: "free-while-held-check",
    what: "freeing memory the device holds is not reported",
    tests: ["dma-debug"],
    edits: [edit("src/sim/hardware.ts", "const error = held.length > 0 ? this.report(", "const error = held.length > 0 && false ? this.report(")],
  },
  {
    id: "irq-handler-runs-after-free",
    what: "a freed IRQ stays wired to the device and still runs its handler",
    tests: ["irq"],
    edits: [
      edit("src/driver/irq.ts", "    if (this.freed) return \"none\";\n", ""),
      // The interrupt line is the controller's (sim/irq-chip.ts): the action stays on it.
      edit("src/sim/irq-chip.ts", "    this.actions = this.actions.filter((a) => a !== action);\n", ""),
    ],
  },
  {
    id: "revocable-no-drain",
    what: "revoke releases without waiting for in-flight accessors",
    tests: ["revocable", "devres"],
    edits: [edit("src/driver/revocable.ts", "    if (this.#inFlight > 0) {", "    if (this.#inFlight > 0 && false) {")],
  },
  {
    id: "revocable-loser-returns-early",
    what: "a second revoker returns before the first one's release is done",
    tests: ["revocable", "devres"],
    edits: [
      edit(
        "src/driver/revocable.ts",
        "      return this.#done.then(\n        () => false,\n        () => false,\n      );",
        "      return Promise.resolve(false);",
      ),
    ],
  },
  {
    id: "dma-without-bus-master",
    what: "device DMA works with bus mastering off",
    tests: ["dma"],
    edits: [edit("src/sim/device-dma.ts", "  if (!core.busMaster) {", "  if (!core.busMaster && false) {")],
  },
  {
    id: "strict-iommu-passthrough",
    what: "a strict IOMMU lets unmapped DMA through",
    tests: ["iommu"],
    edits: [
      edit(
        "src/sim/device-dma.ts",
        '  const ranges = domain.mode === "passthrough" ? undefined : domain.translate(bus, length, write);',
        '  const ranges = domain.mode === "passthrough" ? undefined : (domain.translate(bus, length, write) ?? [{ phys: bus, length }]);',
      ),
    ],
  },
  {
    id: "model-plugged-once",
    what: "a model already plugged in is connected again: no EBUSY",
    tests: ["model"],
    edits: [
      edit(
        "src/sim/model.ts",
        '      if (model.#host !== undefined) {\n        throw fail("EBUSY", `plug: this ${model.constructor.name} is already plugged in as ${model.#host.name}. Make a new model for each device.`);\n      }\n',
        "",
      ),
    ],
  },
  {
    id: "dma-debug-face-not-frozen",
    what: "machine.dmaDebug, a read-only face, is not frozen: a cast can write to it",
    tests: ["machine"],
    edits: [edit("src/machine.ts", "    this.dmaDebug = Object.freeze({", "    this.dmaDebug = ({")],
  },
  // Streaming DMA (issue 12).
  {
    id: "streaming-stale-handle",
    what: "a handle kept after a sync or unmap still works",
    tests: ["streaming"],
    edits: [edit("src/driver/streaming.ts", "  if (stream.current !== handle) {", "  if (stream.current !== handle && false) {")],
  },
  {
    id: "cpu-access-unreported",
    what: "the CPU taking a view of a buffer the device owns is not reported",
    tests: ["streaming"],
    edits: [edit("src/sim/heap.ts", '      if (mapping.owner !== "device") continue;', "      continue;")],
  },
  {
    id: "map-keeps-cpu-views",
    what: "mapping a buffer leaves the CPU's earlier views alive",
    tests: ["streaming"],
    edits: [edit("src/sim/dma-map.ts", "    object.backing.cpu = transferBuffer(object.backing.cpu);", "    object.backing.cpu = object.backing.cpu;")],
  },
  {
    id: "swiotlb-no-copy-out",
    what: "a sync for the CPU does not copy a bounced buffer out of its slot",
    tests: ["streaming"],
    edits: [edit("src/sim/dma-map.ts", 'if (forCpu ? dir !== "to-device" : dir !== "from-device") this.#bounce(part, at, size, forCpu);', 'if (!forCpu && dir !== "from-device") this.#bounce(part, at, size, forCpu);')],
  },
  {
    id: "noncoherent-no-invalidate",
    what: "a sync for the CPU on a non-coherent device does not invalidate the CPU's lines",
    tests: ["streaming"],
    edits: [edit("src/sim/dma-map.ts", '          if (dir !== "to-device") cacheSync(', "          if (false) cacheSync(")],
  },
  {
    id: "iommu-ignores-permissions",
    what: "the strict IOMMU lets a device write a page mapped read-only",
    tests: ["streaming"],
    edits: [edit("src/sim/iommu.ts", "      if (pte === undefined || !(write ? pte.write : pte.read)) return undefined;", "      if (pte === undefined) return undefined;")],
  },
  {
    id: "device-dma-ignores-owner",
    what: "a device DMA into a mapping the CPU owns is not reported",
    tests: ["streaming"],
    edits: [edit("src/sim/device-dma.ts", '    if (stream.owner === "device" && allowed) return undefined;', "    if (allowed) return undefined;")],
  },
  {
    id: "pending-at-unbind-unreported",
    what: "mappings devres had to unmap at unbind are not reported",
    tests: ["streaming"],
    edits: [edit("src/core/dd.ts", "  if (binding.pending.length > 0) binding.keep(", "  if (false) binding.keep(")],
  },
  {
    id: "unmap-size-unchecked",
    what: "an unmap with another size than mapped is not reported",
    tests: ["streaming"],
    edits: [edit("src/observe/dma-debug.ts", '    if (call.size !== undefined && call.size !== region.size) add("wrong-size",', '    if (false) add("wrong-size",')],
  },
  {
    id: "no-bounce",
    what: "a buffer beyond the device's mask is mapped at its physical address instead of bouncing",
    tests: ["streaming"],
    edits: [edit("src/sim/dma-map.ts", "    const limit = 2 ** maskBits;", "    const limit = 2 ** 64;")],
  },
  {
    id: "cacheline-tracks-to-device",
    what: "to-device mappings are tracked for cache-line overlaps, which they cannot cause",
    tests: ["dma-parity"],
    edits: [edit("src/sim/dma-map.ts", '    if (this.direction !== "to-device") {', "    if (true) {")],
  },
  {
    id: "sg-merge-ignores-max-segment",
    what: "the strict IOMMU merges sg segments past the device's maximum segment size",
    tests: ["scatterlist"],
    edits: [edit("src/sim/dma-map.ts", "  if (last.length + part.length > limits.maxSegment) return false;\n", "")],
  },
  {
    id: "kfree-while-mapped",
    what: "a heap buffer still mapped for a device can be freed",
    tests: ["heap"],
    edits: [edit("src/sim/heap.ts", "    if (object.mappings.size > 0) {", "    if (false) {")],
  },
  {
    id: "pool-ignores-boundary",
    what: "a DMA pool hands out blocks across its boundary",
    tests: ["dma-pool"],
    edits: [edit("src/driver/dma-pool.ts", "      if (this.boundary !== 0 && Math.floor(start / this.boundary) !== Math.floor((start + this.size - 1) / this.boundary)) continue;\n", "")],
  },
  {
    id: "map-foreign-machine",
    what: "a device maps a heap buffer of another machine",
    tests: ["heap"],
    edits: [edit("src/sim/hardware.ts", "      if ((piece.memory as HeapObject).heap !== this.hw.heap) {", "      if ((piece.memory as HeapObject).heap !== this.hw.heap && false) {")],
  },
  {
    id: "pool-free-foreign-token",
    what: "another binding's token frees a pool's blocks",
    tests: ["dma-pool"],
    edits: [edit("src/driver/dma-pool.ts", "    if (binding !== this.#binding) throw fail(\"EINVAL\", `DmaPool.free: the token", "    if (binding !== this.#binding && false) throw fail(\"EINVAL\", `DmaPool.free: the token")],
  },
  {
    id: "unmap-single-direction-unchecked",
    what: "unmapSingle takes a value that is no direction, and compares it with the mapping's",
    tests: ["hostile"],
    edits: [edit("src/driver/streaming.ts", '  checkDirection(binding, direction, "unmapSingle");\n', "")],
  },
  {
    id: "sg-entries-unchecked",
    what: "unmapSg and the sg syncs take an entry count that is no count",
    tests: ["hostile"],
    edits: [edit("src/driver/scatterlist.ts", "  if (!Number.isSafeInteger(entries) || (entries as number) <= 0) {", "  if (false) {")],
  },
  {
    id: "buffer-look-alike",
    what: "a look-alike of a KernelBuffer (Object.create(buffer)) is read as one: a raw TypeError",
    tests: ["hostile"],
    edits: [edit("src/driver/kmalloc.ts", "    return typeof value === \"object\" && value !== null && #memory in value ? value.#memory : undefined;", "    return (value as Buffer).#memory;")],
  },
  {
    id: "map-single-range-unchecked",
    what: "mapSingle maps an offset and length outside its buffer",
    tests: ["heap"],
    edits: [edit("src/driver/streaming.ts", '  checkRange(binding, "mapSingle", from, size, memory.bytes, memory);\n', "")],
  },
  {
    id: "handle-sync-owner-unchecked",
    what: "a handle syncs for the side that owns the mapping already",
    tests: ["streaming", "hostile"],
    edits: [edit("src/driver/streaming.ts", '    if (mapping.owner === (forCpu ? "cpu" : "device")) {', "    if (false) {")],
  },
  {
    id: "to-device-cpu-sync-at-run-time",
    what: "a to-device mapping cast to another type syncs for the CPU",
    tests: ["streaming", "dma-parity", "hostile"],
    edits: [edit("src/driver/streaming.ts", '    if (forCpu && mapping.direction === "to-device") {', "    if (false) {")],
  },
  {
    id: "map-single-vmalloc-at-run-time",
    what: "mapSingle of a vmalloc buffer (after a cast) maps its scattered pages as one",
    tests: ["heap"],
    edits: [edit("src/driver/streaming.ts", '  if (memory.allocator === "vmalloc") {', "  if (false) {")],
  },
  {
    id: "swiotlb-full-keeps-slots",
    what: "a map that runs out of bounce slots keeps the slots it took for its earlier parts",
    tests: ["heap", "scatterlist", "hostile"],
    edits: [edit("src/sim/dma-map.ts", "          for (const t of taken) if (t.slot !== undefined) swiotlb.give(t.slot, t.length);\n", "")],
  },
  {
    id: "pool-destroy-busy",
    what: "a pool is destroyed with blocks still out",
    tests: ["dma-pool"],
    edits: [edit("src/driver/dma-pool.ts", "    if (this.#blocks.size > 0) {", "    if (false) {")],
  },
  {
    id: "pool-alloc-after-destroy",
    what: "a destroyed pool allocates",
    tests: ["dma-pool"],
    edits: [edit("src/driver/dma-pool.ts", "    if (this.#destroyed) throw fail(\"EINVAL\", `DmaPool.alloc:", "    if (this.#destroyed && false) throw fail(\"EINVAL\", `DmaPool.alloc:")],
  },
  {
    id: "kfree-twice",
    what: "a heap buffer freed twice goes back to its slab twice",
    tests: ["heap"],
    edits: [edit("src/sim/heap.ts", "    if (!object.live) throw fail(", "    if (!object.live && false) throw fail(")],
  },
  {
    id: "sg-segment-unreported",
    what: "an sg segment longer than the device takes, or across its boundary, is not reported",
    tests: ["dma-parity"],
    edits: [edit("src/driver/scatterlist.ts", "      if (segment.length > maxSegment || crosses) {", "      if (false) {")],
  },
  {
    id: "sync-range-unchecked",
    what: "an address-taking sync outside its mapping goes ahead",
    tests: ["dma-parity", "streaming"],
    edits: [edit("src/driver/streaming.ts", "  if (!inRange) {", "  if (false) {")],
  },
  {
    id: "holds-not-counted",
    what: "the first unhold of a range held twice drops both holds",
    tests: ["fidelity"],
    edits: [edit("src/sim/hardware.ts", "      if (--entry.count === 0) this.#holds.delete(key);", "      this.#holds.delete(key);")],
  },
];

// ---------------------------------------------------------------------------
// Copies

/** Makes `.tmp/mutation/<id>/` with the files a run needs, and applies the edits. */
function prepare(id, edits, withTests) {
  const dir = join(workDir, id);
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
  for (const file of ["tsconfig.json", "tsconfig.build.json"]) cpSync(join(root, file), join(dir, file));
  // The tests, the examples some of them import, and the vitest config whose
  // "boundscope" alias then points at the copy's src/.
  // README.md and the script that renders its hostile-input table too: a test compares the two.
  if (withTests) for (const path of ["test", "examples", "vitest.config.ts", "README.md", "scripts/hostile-table.mjs", "scripts/lib"]) cpSync(join(root, path), join(dir, path), { recursive: true });
  const problems = [];
  for (const e of edits) {
    const path = join(dir, e.file);
    const text = readFileSync(path, "utf8");
    const found = text.split(e.from).length - 1;
    if (found !== e.count) {
      problems.push(`${id}: ${e.file}: expected ${e.count} occurrence${e.count === 1 ? "" : "s"} of ${JSON.stringify(e.from)}, found ${found}`);
      continue;
    }
    writeFileSync(path, text.replaceAll(e.from, e.to));
  }
  return { dir, problems };
}

/** Runs `node args` from the root without colours; resolves with its status and `output` (stdout and stderr). */
const exec = (args) => collect(process.execPath, args, { cwd: root, env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } });

const tail = (text, lines = 15) => text.trim().split("\n").slice(-lines).map((l) => `      ${l}`).join("\n");

// ---------------------------------------------------------------------------
// Running one copy. Each returns { failing: [what failed], error?: why the
// run says nothing about the mutant }.

async function runTypes(dir, configs) {
  const build = await exec([tsc7, "-p", join(dir, "tsconfig.build.json"), "--pretty", "false"]);
  if (build.status !== 0) return { failing: [], error: `the copy does not build:\n${tail(build.output)}` };
  const run = await exec(["scripts/type-tests.mjs", `--root=${dir}`, `--configs=${configs.join(",")}`]);
  if (/^FAIL the \S+ program itself/m.test(run.output) || ![0, 1].includes(run.status) || !/^\d+ passed, \d+ failed$/m.test(run.output)) {
    return { failing: [], error: `the type tests did not run cleanly:\n${tail(run.output, 25)}` };
  }
  // `FAIL <fixture>` then `  [configurations] line N: kind: …` lines.
  const failing = [];
  let current;
  for (const line of run.output.split("\n")) {
    const head = /^FAIL (\S+)$/.exec(line);
    if (head) failing.push((current = { name: head[1], configs: new Set() }));
    else if (current && /^ {2}\[/.test(line)) {
      const where = /^ {2}\[([^\]]+)\]/.exec(line)[1];
      for (const id of where === "all configurations" ? configs : where.split(", ")) current.configs.add(id);
    } else if (line.trim() === "") current = undefined;
  }
  if (run.status === 1 && failing.length === 0) return { failing, error: `the type tests failed with no fixture named:\n${tail(run.output, 25)}` };
  return { failing };
}

async function runTests(dir, tests) {
  const check = await exec([tsc7, "-p", join(dir, "tsconfig.build.json"), "--noEmit", "--pretty", "false"]);
  if (check.status !== 0) return { failing: [], error: `the copy does not type-check:\n${tail(check.output)}` };
  const report = join(dir, "vitest.json");
  const run = await exec([
    vitest,
    "run",
    `--config=${join(dir, "vitest.config.ts")}`,
    `--root=${dir}`,
    "--maxWorkers=1",
    "--pool=threads",
    // One failure kills the mutant; a guard whose loss makes a test hang
    // (a task never aborted) costs seconds, not the suite's 20 s timeout.
    "--bail=1",
    "--testTimeout=5000",
    "--reporter=json",
    `--outputFile.json=${report}`,
    ...tests.map((t) => `test/${t}.test.ts`),
  ]);
  if (!existsSync(report)) return { failing: [], error: `vitest wrote no report:\n${tail(run.output)}` };
  const json = JSON.parse(readFileSync(report, "utf8"));
  const failing = json.testResults.flatMap((file) =>
    file.assertionResults.filter((t) => t.status === "failed").map((t) => ({ name: `${file.name.slice(dir.length + 1)}: ${t.fullName}` })),
  );
  const broken = json.testResults.filter((file) => file.status === "failed" && file.assertionResults.length === 0);
  if (broken.length > 0) return { failing, error: `test files failed to load: ${broken.map((f) => f.name).join(", ")}\n${tail(broken[0].message ?? "")}` };
  if (json.numTotalTests === 0) return { failing, error: "no tests ran" };
  return { failing };
}

// ---------------------------------------------------------------------------
// Main

/**
 * The mutants of each area of the library, one module per area in
 * `scripts/mutants/`: each exports `TYPE_MUTANTS` and `RUNTIME_MUTANTS` in
 * the shape above, with edits as `{ file, from, to, count? }`.
 */
async function areaMutants() {
  const dir = join(root, "scripts", "mutants");
  const type = [];
  const runtime = [];
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".mjs")).sort() : [];
  for (const file of files) {
    const area = await import(pathToFileURL(join(dir, file)).href);
    const normal = (m) => ({ ...m, edits: m.edits.map((e) => edit(e.file, e.from, e.to, e.count ?? 1)) });
    type.push(...(area.TYPE_MUTANTS ?? []).map(normal));
    runtime.push(...(area.RUNTIME_MUTANTS ?? []).map(normal));
  }
  return { type, runtime };
}

function listNames(items, max = 3) {
  const names = items.map((i) => i.name);
  return names.slice(0, max).join("; ") + (names.length > max ? `; +${names.length - max} more` : "");
}

const USAGE = `usage: node scripts/mutation.mjs [--list] [--only ID,ID]

  --list         list the mutants and stop
  --only ID,ID   run only these mutants (and the baseline they need)`;

async function main() {
  const { values } = parseCommandLine({
    usage: USAGE,
    options: { list: { type: "boolean" }, only: { type: "string" } },
  });
  const only = values.only?.split(",");
  const more = await areaMutants();
  const all = [
    ...[...TYPE_MUTANTS, ...more.type].map((m) => ({ ...m, kind: "type", configs: m.configs ?? TS7 })),
    ...[...RUNTIME_MUTANTS, ...more.runtime].map((m) => ({ ...m, kind: "run-time" })),
  ];
  const unknownIds = (only ?? []).filter((id) => !all.some((m) => m.id === id));
  if (unknownIds.length > 0) usageError(USAGE, `no mutant named ${unknownIds.join(", ")}`);
  if (values.list) {
    for (const m of all) console.log(`${m.kind.padEnd(8)}  ${m.id.padEnd(48)}  ${m.what}`);
    return 0;
  }
  const mutants = only ? all.filter((m) => only.includes(m.id)) : all;
  const started = performance.now();

  rmSync(workDir, { recursive: true, force: true });
  const jobs = [];
  const problems = [];
  const types = mutants.filter((m) => m.kind === "type");
  const runtime = mutants.filter((m) => m.kind === "run-time");
  // The baselines: the unmutated copy, with every configuration and test
  // file the mutants use. They must pass.
  const baselines = [];
  if (types.length > 0) {
    const configs = [...new Set(types.flatMap((m) => m.configs))];
    baselines.push({ id: "baseline-types", kind: "type", configs, edits: [] });
  }
  if (runtime.length > 0) {
    const tests = [...new Set(runtime.flatMap((m) => m.tests))].sort();
    baselines.push({ id: "baseline-run-time", kind: "run-time", tests, edits: [] });
  }
  for (const m of [...baselines, ...mutants]) {
    const copy = prepare(m.id, m.edits, m.kind === "run-time");
    problems.push(...copy.problems);
    jobs.push(() => (m.kind === "type" ? runTypes(copy.dir, m.configs) : runTests(copy.dir, m.tests)));
  }
  if (problems.length > 0) {
    console.log("Mutations whose pattern is not in the sources (update them with the code they weaken):");
    for (const p of problems) console.log(`  ${p}`);
    console.log(`killed 0/${mutants.length} overall`);
    return 1;
  }
  console.log(`mutation testing: ${types.length} type mutants, ${runtime.length} run-time mutants, in .tmp/mutation/`);

  const results = await pool(jobs, parallelism);
  const baseResults = results.slice(0, baselines.length);
  const mutantResults = results.slice(baselines.length);

  let baselineOk = true;
  baselines.forEach((b, i) => {
    const r = baseResults[i];
    if (r.error || r.failing.length > 0) {
      baselineOk = false;
      console.log(`BASELINE FAILS  ${b.id}: the unmutated copy must pass, or no kill means anything`);
      if (r.error) console.log(`      ${r.error}`);
      for (const f of r.failing.slice(0, 10)) console.log(`      ${f.name}`);
    }
  });

  const tally = { type: { killed: 0, total: 0 }, "run-time": { killed: 0, total: 0 } };
  const width = Math.max(...mutants.map((m) => m.id.length));
  mutants.forEach((m, i) => {
    const r = mutantResults[i];
    tally[m.kind].total++;
    let verdict;
    let detail;
    if (r.error) {
      verdict = "ERROR";
      detail = r.error;
    } else if (m.kind === "type") {
      // Killed under every compiler it ran with: TS 6 users are covered too.
      const compilers = [...new Set(m.configs.map((c) => c.slice(0, 3)))];
      const missed = compilers.filter((c) => !r.failing.some((f) => [...f.configs].some((id) => id.startsWith(c))));
      verdict = r.failing.length > 0 && missed.length === 0 ? "killed" : "SURVIVED";
      const seen = [...new Set(r.failing.flatMap((f) => [...f.configs]))].sort();
      detail =
        r.failing.length === 0
          ? `every fixture passes (${m.configs.join(", ")})`
          : `by ${listNames(r.failing)} [${seen.join(", ")}]${missed.length > 0 ? `; nothing fails under ${missed.join(", ")}` : ""}`;
    } else {
      verdict = r.failing.length > 0 ? "killed" : "SURVIVED";
      detail = r.failing.length === 0 ? `every test passes (${m.tests.map((t) => `test/${t}.test.ts`).join(", ")})` : `by ${r.failing.length} test${r.failing.length === 1 ? "" : "s"}: ${listNames(r.failing, 2)}`;
    }
    if (verdict === "killed") tally[m.kind].killed++;
    if (verdict === "killed") console.log(`${verdict.padEnd(8)}  ${m.kind.padEnd(8)}  ${m.id.padEnd(width)}  ${detail}`);
    else console.log(`${verdict.padEnd(8)}  ${m.kind.padEnd(8)}  ${m.id.padEnd(width)}  ${m.what}\n      ${detail}`);
  });

  const killed = tally.type.killed + tally["run-time"].killed;
  console.log("");
  if (tally.type.total > 0) console.log(`type mutants: killed ${tally.type.killed}/${tally.type.total}`);
  if (tally["run-time"].total > 0) console.log(`run-time mutants: killed ${tally["run-time"].killed}/${tally["run-time"].total}`);
  console.log(`wall time ${((performance.now() - started) / 1000).toFixed(1)}s`);
  // A failing baseline voids every kill.
  console.log(`killed ${baselineOk ? killed : 0}/${mutants.length} overall`);
  return baselineOk && killed === mutants.length ? 0 : 1;
}

process.exitCode = await main();
