/**
 * The reference model: what the lifecycle fuzzer expects the machine to do,
 * written from the contract (README, API.md), not from src/.
 *
 * For every command it predicts, per device, the exact sequence of lifecycle
 * events and their structured fields (state changes, probe and remove with
 * their reason and error, each devres release by resource, in last-in
 * first-out order), the devices' states, the outcome of each bus call
 * and escaped-handle use, each binding's release callbacks in order, the live
 * allocations (for the pool's accounting), and the DMA checker's violations:
 * none from a correct driver, and from the buggy one the ones an engine left
 * running must cause.
 *
 * The model knows the contract's rules and nothing of how src/ meets them:
 * - state changes of one device run one at a time in the order asked for;
 *   whatever is queued behind one that waits (at a gate) waits too;
 * - `plug` queues a probe by the drivers registered then, in registration
 *   order, the first that binds wins; `register` queues one probe per
 *   present matching device; a device unbound by hand is not re-probed;
 *   `unregister` waits for the devices bound to the driver and those whose
 *   queued probe may yet bind it, not for other drivers' probes;
 * - unbind order: remove() with the live token, then the token dies, then
 *   devres release last in first out, then the leak check;
 * - a failed probe releases everything it took and leaves `no-driver`;
 * - a devres entry released early stays on the stack until its release is
 *   done: an unbind that reaches it waits for it;
 * - with dmaDebug "throw", an unbind (or a failed probe) whose checks found
 *   a violation throws once the device is at rest: the call that asked for
 *   it rejects with EINVAL, and a probe that throws ends its candidate loop;
 *   with "off", nothing is reported;
 * - surprise removal takes the hardware away at once.
 *
 * Each device's state changes are generators that yield the gate they wait
 * at, so a probe, a remove() or a devres walk can stop mid-way across
 * commands and go on when the fuzzer opens the gate.
 *
 * Addresses are observations, not predictions: the model asks the rig for an
 * allocation's bus address when it needs one (to tell which allocation a
 * release freed, a free by handle).
 *
 * @module
 */

import type { DeviceState, DmaViolationKind, EndReason, ErrorCode, MachineEventKind, ResourceKind } from "../../src/index.js";
import type { Command, DriverName, FuzzConfig, ProbePlan, ReleaseKind, Step, UseOp } from "./commands.js";
import { DRIVER_KINDS, drivesHardware } from "./commands.js";
import type { DeviceKind } from "./models.js";
import { hasEngine, RING_BYTES } from "./models.js";

/** Messages of the errors the fuzzed drivers throw on purpose: for people. */
export const MESSAGES = {
  planned: "fuzz: planned probe failure",
  removeThrew: "fuzz: remove() threw",
  removeRejected: "fuzz: remove() rejected",
  releaseThrew: "fuzz: release threw",
  releaseRejected: "fuzz: release rejected",
} as const;

/** Which error a fuzzed driver throws on purpose. */
export type Planned = keyof typeof MESSAGES;

/** An error a fuzzed driver throws on purpose: told apart by its `plan`, never by its message. */
export class PlannedError extends Error {
  constructor(readonly plan: Planned) {
    super(MESSAGES[plan]);
    this.name = "PlannedError";
  }
}

/** One coherent allocation a binding made: in a probe step, by a use, in remove(), or the engine's ring. */
export interface MAlloc {
  readonly owner: MBinding;
  /** Position in the owner's `allocs`, or -1 for the ring. */
  readonly index: number;
  readonly size: number;
  freed: boolean;
  /** Bytes written through a view, by offset; the rest reads zero. */
  readonly written: Map<number, number>;
}

export interface MDevres {
  readonly owner: MBinding;
  /** `<binding key>/d<n>`: what its release callback logs, and the gate a gated one waits at. */
  readonly id: string;
  readonly release: ReleaseKind;
  /** `releasing`: a gated release callback waits at its gate. */
  state: "live" | "releasing" | "released";
  /** Early `release()` calls waiting for a gated release to finish. */
  readonly waiters: number[];
}

/** An entry of a binding's devres stack. */
type MResource = { readonly r: "alloc"; readonly a: MAlloc } | { readonly r: "devres"; readonly d: MDevres } | { readonly r: "bus mastering" | "mmio" | "irq" };

export class MBinding {
  live = true;
  /** probe() or remove() is running: core-only calls work. */
  core = true;
  mask = 32;
  readonly stack: MResource[] = [];
  readonly allocs: MAlloc[] = [];
  ring: MAlloc | undefined;
  readonly devres: MDevres[] = [];
  regs = false;
  engineDone = false;
  probeGated = false;
  removeGated = false;

  constructor(
    /** `<device name>#<n>`: the device's n-th probe. */
    readonly key: string,
    readonly device: MDevice,
    readonly driver: DriverName,
    readonly plan: ProbePlan,
  ) {}
}

type ProbeOp = { readonly kind: "probe"; readonly candidates: readonly DriverName[]; readonly op: number | undefined };
type Op =
  | ProbeOp
  | { readonly kind: "unbind"; readonly op: number }
  | { readonly kind: "unplug"; readonly op: number }
  | { readonly kind: "unregister"; readonly driver: DriverName; readonly op: number };
type Reason = "unbound" | "unplugged" | "driver unregistered";

/** A state change in progress: it yields the key of each gate it waits at. */
type Flow<Result> = Generator<string, Result, void>;

export interface MDevice {
  readonly name: string;
  readonly kind: DeviceKind;
  readonly plans: readonly ProbePlan[];
  probes: number;
  state: DeviceState;
  present: boolean;
  unplugRequested: boolean;
  binding: MBinding | undefined;
  /** The engine runs (and holds its binding's ring). */
  engine: boolean;
  busMaster: boolean;
  /** The state change in progress, waiting at the gate `waitingAt`. */
  current: { readonly flow: Flow<void>; readonly waitingAt: string } | undefined;
  readonly queue: Op[];
}

/** A lifecycle event as predicted: its kind, its driver and its structured fields (a field not given must be absent). */
export interface PEvent extends PFields {
  readonly kind: MachineEventKind;
  readonly driver: string | undefined;
}

/** The structured fields a predicted event carries, beyond its kind and driver. */
export interface PFields {
  /** `state`: the states left and entered. */
  readonly from?: DeviceState;
  readonly to?: DeviceState;
  /** `remove-start`, `remove-end`: why the binding ends. */
  readonly reason?: EndReason;
  /** `release`, `release-failed`: what kind of resource, and an MMIO mapping's BAR. */
  readonly resource?: ResourceKind;
  readonly bar?: number;
  /** A coherent release: the allocation it frees (its bus address is observed, its size the model's). */
  readonly alloc?: MAlloc;
  /** `*-failed`: the error a driver callback threw: ours by plan, or a BoundscopeError with this code. */
  readonly error?: PError;
}

/** An error as predicted: one a fuzzed driver throws on purpose, or a BoundscopeError's code. */
export type PError = { readonly planned: Planned } | { readonly code: ErrorCode };

/** What a use is predicted to give. */
export interface Predicted {
  /** `ok`, an error code, `rejected` (our own error), or `skipped` (nothing to do). */
  readonly result: "ok" | ErrorCode | "rejected" | "skipped";
  /** A value read back: STATUS, or a byte through an old view. */
  readonly value?: number;
  /** The allocation whose contents `bytes` must show. */
  readonly bytesOf?: MAlloc;
}

/** A checker violation the model requires. */
export interface PViolation {
  readonly kind: DmaViolationKind;
  readonly device: string;
  readonly driver: string;
}

/** What one command must cause, beyond the state the model keeps. */
export interface Expectation {
  readonly required: PViolation[];
  /** Devices whose halted-too-late engine may DMA after free in this command (and fault, and run a handler with a dead token). */
  readonly stray: Set<string>;
  /** Bindings that ended in this command. */
  readonly died: MBinding[];
  /** Unbinds and failed probes that threw their violation (dmaDebug "throw"). */
  threw: number;
  outcome: Predicted | undefined;
}

/** A command with its indices resolved to the devices, bindings, gates and entries they name. */
export type Resolved =
  | { readonly c: "plug"; readonly kind: DeviceKind; readonly plans: readonly ProbePlan[]; readonly name: string }
  | { readonly c: "unplug" | "unbind"; readonly name: string; readonly op: number }
  | { readonly c: "register" | "unregister"; readonly driver: DriverName; readonly op: number }
  | { readonly c: "gate"; readonly key: string }
  | { readonly c: "run"; readonly ns: number }
  | {
      readonly c: "use";
      readonly key: string;
      /** The binding whose token the use passes. */
      readonly tokenKey: string;
      readonly op: UseOp;
      /** The allocation or devres entry it acts on: an index into the binding's list. */
      readonly target: number;
      readonly opId: number;
    };

/** What the model asks the rig: the bus address an allocation got. */
export type Observe = (alloc: MAlloc) => bigint;

export interface ReferenceOptions {
  /**
   * Predict the buggy driver as if it halted its engine: a deliberately
   * wrong model, which the fuzzer must refute (the self-test that it bites).
   */
  readonly trustBuggy?: boolean;
}

const MAX_DEVICES = 8;

export class Reference {
  readonly devices: MDevice[] = [];
  /** Registered drivers, in registration order. */
  readonly registered: DriverName[] = [];
  /** Every binding, in the order the model made them. */
  readonly bindings: MBinding[] = [];
  /** Predicted lifecycle events, per device. */
  readonly events = new Map<string, PEvent[]>();
  /** Predicted release callbacks, per binding key, in order. */
  readonly releases = new Map<string, string[]>();
  /** Bus calls and uses: settled or not, and how. */
  readonly ops = new Map<number, { settled: boolean; result: Predicted["result"] }>();
  /** Gates something waits at, in the order they were reached. */
  readonly gates: string[] = [];
  /** How often the paths worth reaching were reached. */
  readonly reached = { gatedProbes: 0, gatedRemoves: 0, gatedReleases: 0, walksWaited: 0, candidatesCut: 0 };
  /** Unsettled parts of each pending bus call. */
  readonly #parts = new Map<number, number>();
  #nextOp = 1;
  #slots = 0;
  #expect: Expectation = fresh();
  #observe: Observe = () => {
    throw new Error("reference: no observer");
  };

  constructor(
    readonly config: FuzzConfig,
    readonly options: ReferenceOptions = {},
  ) {}

  /** Live allocations of every binding, rings included. */
  liveAllocations(): MAlloc[] {
    const out: MAlloc[] = [];
    for (const b of this.bindings) {
      for (const a of b.allocs) if (!a.freed) out.push(a);
      if (b.ring !== undefined && !b.ring.freed) out.push(b.ring);
    }
    return out;
  }

  /**
   * Resolves a command's indices against the model, or `undefined` when it
   * names nothing (no device yet, no gate reached, no binding).
   */
  resolve(command: Command): Resolved | undefined {
    switch (command.c) {
      case "plug":
        if (this.devices.length >= MAX_DEVICES) return undefined;
        return { ...command, name: slotName(this.#slots + 1) };
      case "unplug":
      case "unbind":
        if (this.devices.length === 0) return undefined;
        return { c: command.c, name: this.devices[command.dev % this.devices.length]!.name, op: this.#nextOp };
      case "register":
      case "unregister":
        return { ...command, op: this.#nextOp };
      case "gate":
        if (this.gates.length === 0) return undefined;
        return { c: "gate", key: this.gates[command.pick % this.gates.length]! };
      case "run":
        return command;
      case "use": {
        if (this.bindings.length === 0) return undefined;
        const b = this.bindings[command.binding % this.bindings.length]!;
        const op = command.op;
        const token = "token" in op ? this.#tokenOf(op.token, b) : b;
        let target = 0;
        if (op.o === "free" || op.o === "freeCoherent" || op.o === "bytes" || op.o === "write") {
          if (b.allocs.length === 0) return undefined;
          target = op.pick % b.allocs.length;
        } else if (op.o === "access" || op.o === "release") {
          if (b.devres.length === 0) return undefined;
          target = op.pick % b.devres.length;
        } else if (op.o === "mmio" && !b.regs) {
          return undefined;
        }
        return { c: "use", key: b.key, tokenKey: token.key, op, target, opId: this.#nextOp };
      }
    }
  }

  /** Applies a resolved command to the model and returns what it must cause. */
  apply(command: Resolved, observe: Observe): Expectation {
    this.#expect = fresh();
    this.#observe = observe;
    // A devres walk waiting at a gate with the engine still running: any
    // command that moves the clock lets the engine tick into it.
    for (const device of this.devices) {
      if (device.binding?.live === false && device.present && device.engine) this.#expect.stray.add(device.name);
    }
    switch (command.c) {
      case "plug":
        this.#plug(command.kind, command.plans, command.name);
        break;
      case "unplug":
        this.#unplug(this.#device(command.name));
        break;
      case "unbind":
        this.#unbind(this.#device(command.name));
        break;
      case "register":
        this.#register(command.driver);
        break;
      case "unregister":
        this.#unregister(command.driver);
        break;
      case "gate":
        this.#open(command.key);
        break;
      case "run":
        break;
      case "use":
        this.#expect.outcome = this.#use(command);
        break;
    }
    for (const device of this.devices) this.#drain(device);
    return this.#expect;
  }

  // ---- bus calls ------------------------------------------------------------

  #plug(kind: DeviceKind, plans: readonly ProbePlan[], name: string): void {
    this.#slots++;
    const device: MDevice = {
      name,
      kind,
      plans,
      probes: 0,
      state: "no-driver",
      present: true,
      unplugRequested: false,
      binding: undefined,
      engine: false,
      busMaster: false,
      current: undefined,
      queue: [],
    };
    this.devices.push(device);
    this.events.set(name, []);
    this.#emit(device, "plug", undefined);
    const candidates = this.registered.filter((driver) => DRIVER_KINDS[driver].includes(kind));
    if (candidates.length > 0) device.queue.push({ kind: "probe", candidates, op: undefined });
  }

  #unplug(device: MDevice): void {
    const op = this.#op();
    if (device.unplugRequested) return this.#settle(op, "EINVAL");
    device.unplugRequested = true;
    device.present = false;
    // Surprise removal: the engine stops with the hardware, its holds go.
    device.engine = false;
    this.#emit(device, "unplug", device.binding?.driver);
    this.#enqueue(device, { kind: "unplug", op });
  }

  #unbind(device: MDevice): void {
    const op = this.#op();
    if (device.unplugRequested) return this.#settle(op, "EINVAL");
    if (device.state === "no-driver" && pending(device) === 0) return this.#settle(op, "EINVAL");
    this.#enqueue(device, { kind: "unbind", op });
  }

  #register(driver: DriverName): void {
    const op = this.#op();
    if (this.registered.includes(driver)) return this.#settle(op, "EBUSY");
    this.registered.push(driver);
    const targets = this.devices.filter((d) => d.present && DRIVER_KINDS[driver].includes(d.kind));
    this.#parts.set(op, targets.length);
    if (targets.length === 0) return this.#settle(op, "ok");
    for (const device of targets) device.queue.push({ kind: "probe", candidates: [driver], op });
  }

  #unregister(driver: DriverName): void {
    const op = this.#op();
    const at = this.registered.indexOf(driver);
    if (at < 0) return this.#settle(op, "EINVAL");
    this.registered.splice(at, 1);
    // A device bound to it, or one whose queued probe may yet bind it.
    const targets = this.devices.filter((d) => d.present && (d.binding?.driver === driver || (pending(d) > 0 && DRIVER_KINDS[driver].includes(d.kind))));
    this.#parts.set(op, targets.length);
    if (targets.length === 0) return this.#settle(op, "ok");
    for (const device of targets) device.queue.push({ kind: "unregister", driver, op });
  }

  #enqueue(device: MDevice, op: Exclude<Op, ProbeOp>): void {
    this.#parts.set(op.op, 1);
    device.queue.push(op);
  }

  // ---- running state changes ------------------------------------------------

  /** Runs the device's queued state changes until it is idle or one waits at a gate. */
  #drain(device: MDevice): void {
    while (device.current === undefined && device.queue.length > 0) {
      this.#advance(device, this.#operation(device, device.queue.shift()!));
    }
  }

  /** Runs `flow` until it ends or waits at a gate. */
  #advance(device: MDevice, flow: Flow<void>): void {
    const next = flow.next();
    device.current = next.done === true ? undefined : { flow, waitingAt: next.value };
    if (next.done !== true) this.#reach(next.value);
  }

  #reach(gate: string): void {
    if (!this.gates.includes(gate)) this.gates.push(gate);
  }

  /** Opens a gate: what waits there goes on. */
  #open(gate: string): void {
    this.gates.splice(this.gates.indexOf(gate), 1);
    // A gated devres release: its callback returns now.
    const devres = this.bindings.flatMap((b) => b.devres).find((d) => d.id === gate);
    if (devres !== undefined) {
      devres.state = "released";
      this.#forget(devres);
      for (const op of devres.waiters.splice(0)) this.#settle(op, "ok");
    }
    for (const device of this.devices) {
      if (device.current?.waitingAt === gate) this.#advance(device, device.current.flow);
    }
  }

  *#operation(device: MDevice, op: Op): Flow<void> {
    switch (op.kind) {
      case "probe": {
        const threw = yield* this.#probe(device, op.candidates);
        if (op.op !== undefined) this.#partDone(op.op, threw);
        return;
      }
      case "unbind":
        if (device.binding === undefined) return this.#settle(op.op, "EINVAL");
        return this.#partDone(op.op, yield* this.#remove(device, "unbound"));
      case "unplug":
        return this.#partDone(op.op, yield* this.#remove(device, "unplugged"));
      case "unregister":
        if (device.binding?.driver !== op.driver) return this.#partDone(op.op);
        return this.#partDone(op.op, yield* this.#remove(device, "driver unregistered"));
    }
  }

  // ---- probe ----------------------------------------------------------------

  /**
   * Tries `candidates` in order until one binds or none is left; returns true
   * when a failed probe threw (its teardown raised a violation in dmaDebug
   * "throw" mode), which ends the loop.
   */
  *#probe(device: MDevice, candidates: readonly DriverName[]): Flow<boolean> {
    for (const [i, driver] of candidates.entries()) {
      if (device.state !== "no-driver") return false;
      if (!this.registered.includes(driver)) continue;
      const result = yield* this.#probeWith(device, driver);
      if (result === "bound") return false;
      if (result === "threw") {
        if (i < candidates.length - 1) this.reached.candidatesCut++;
        return true;
      }
    }
    return false;
  }

  *#probeWith(device: MDevice, driver: DriverName): Flow<"bound" | "failed" | "threw"> {
    const n = device.probes++;
    const binding = new MBinding(`${device.name}#${n}`, device, driver, device.plans[n % device.plans.length]!);
    this.bindings.push(binding);
    this.releases.set(binding.key, []);
    device.binding = binding;
    this.#state(device, "probing");
    this.#emit(device, "probe-start", driver);
    // A correct driver resets its device first: an engine left running by
    // someone else stops before this binding enables bus mastering.
    if (driver === "good" && hasEngine(device.kind)) {
      binding.regs = true;
      binding.stack.push({ r: "mmio" });
      this.#ctrl(device, binding, 0);
    }
    for (const step of binding.plan.steps) {
      if (step.t === "gate") {
        if (binding.probeGated) continue;
        binding.probeGated = true;
        this.reached.gatedProbes++;
        yield `${binding.key}/probe`;
        continue;
      }
      const failure = this.#step(binding, step);
      if (failure !== undefined) return yield* this.#probeFailed(binding, failure);
    }
    binding.core = false;
    this.#state(device, "bound");
    this.#emit(device, "probe-end", driver);
    return "bound";
  }

  /** Does one step; returns why the probe fails, if it does. */
  #step(binding: MBinding, step: Exclude<Step, { t: "gate" }>): "planned" | ErrorCode | undefined {
    const device = binding.device;
    switch (step.t) {
      case "alloc":
        return this.#alloc(binding, step.size, false) === undefined ? "ENOMEM" : undefined;
      case "free":
        this.#freeLive(binding, step.pick);
        return undefined;
      case "devres":
        this.#devres(binding, step.release);
        return undefined;
      case "await":
        return undefined;
      case "mask":
        binding.mask = step.bits;
        return undefined;
      case "fail":
        return "planned";
      case "engine": {
        if (!drivesHardware(binding.driver) || !hasEngine(device.kind) || binding.engineDone) return undefined;
        binding.engineDone = true;
        if (!binding.regs) {
          binding.regs = true;
          binding.stack.push({ r: "mmio" });
        }
        this.#ctrl(device, binding, 0);
        device.busMaster = true;
        binding.stack.push({ r: "bus mastering" });
        if (this.#alloc(binding, RING_BYTES, true) === undefined) return "ENOMEM";
        binding.stack.push({ r: "irq" });
        this.#ctrl(device, binding, 1);
        return undefined;
      }
    }
  }

  *#probeFailed(binding: MBinding, why: "planned" | ErrorCode): Flow<"failed" | "threw"> {
    const device = binding.device;
    binding.core = false;
    // The error path of a correct driver halts what it started.
    if (this.#halts(binding) && binding.regs) this.#ctrl(device, binding, 0);
    this.#emit(device, "probe-failed", binding.driver, { error: why === "planned" ? { planned: why } : { code: why } });
    const violated = yield* this.#teardown(binding);
    this.#state(device, "no-driver");
    device.binding = undefined;
    if (!violated || this.config.dmaDebug !== "throw") return "failed";
    this.#expect.threw++;
    return "threw";
  }

  // ---- remove and teardown --------------------------------------------------

  /** Unbinds; returns true when it throws (dmaDebug "throw" and a violation), once the device is at rest. */
  *#remove(device: MDevice, reason: Reason): Flow<boolean> {
    const final = reason === "unplugged" ? "zombie" : "no-driver";
    const binding = device.binding;
    if (binding === undefined) {
      if (device.state !== final) this.#state(device, final);
      return false;
    }
    this.#state(device, "unbinding");
    binding.core = true;
    this.#emit(device, "remove-start", binding.driver, { reason });
    if (this.#halts(binding) && binding.regs) this.#ctrl(device, binding, 0);
    let failed: ErrorCode | undefined;
    for (const step of binding.plan.inRemove) {
      if (step.t === "gate") {
        if (binding.removeGated) continue;
        binding.removeGated = true;
        this.reached.gatedRemoves++;
        yield `${binding.key}/remove`;
      } else if (step.t === "alloc") {
        if (this.#alloc(binding, step.size, false) === undefined) {
          failed = "ENOMEM";
          break;
        }
      } else if (step.t === "devres") {
        this.#devres(binding, step.release);
      } else if (step.t === "free") {
        this.#freeLive(binding, step.pick);
      }
    }
    const remove = binding.plan.remove;
    if (failed !== undefined) {
      this.#emit(device, "remove-failed", binding.driver, { error: { code: failed } });
    } else if (remove === "throws" || remove === "rejects") {
      this.#emit(device, "remove-failed", binding.driver, { error: { planned: remove === "throws" ? "removeThrew" : "removeRejected" } });
    }
    binding.core = false;
    let violated = false;
    if (device.present && device.busMaster && device.engine) {
      violated = this.#violation({ kind: "dma-after-remove", device: device.name, driver: binding.driver });
    }
    violated = (yield* this.#teardown(binding)) || violated;
    this.#state(device, final);
    device.binding = undefined;
    this.#emit(device, "remove-end", binding.driver, { reason });
    if (!violated || this.config.dmaDebug !== "throw") return false;
    this.#expect.threw++;
    return true;
  }

  /**
   * The token dies; devres is released last in first out, waiting for a
   * release already in flight; then the checks. Returns true if the checker
   * reported.
   */
  *#teardown(binding: MBinding): Flow<boolean> {
    const device = binding.device;
    const driver = binding.driver;
    let violated = false;
    binding.live = false;
    binding.core = false;
    this.#expect.died.push(binding);
    // Popped one by one: an entry freed early while the walk waits is not there to pop.
    for (let entry = binding.stack.pop(); entry !== undefined; entry = binding.stack.pop()) {
      // An engine still running keeps ticking through the release steps
      // (which may span commands, if the walk waits at a gate): its IRQ may
      // meet the dead token, its DMA the freed ring.
      if (device.present && device.engine) this.#expect.stray.add(device.name);
      switch (entry.r) {
        case "alloc": {
          if (device.present && device.busMaster && device.engine && entry.a === binding.ring) {
            // Freed while the running engine holds it: reported, and the
            // engine may DMA into it until bus mastering goes.
            violated = this.#violation({ kind: "free-while-held", device: device.name, driver }) || violated;
          }
          entry.a.freed = true;
          this.#emit(device, "release", driver, { resource: "coherent", alloc: entry.a });
          break;
        }
        case "devres": {
          const devres = entry.d;
          let failed: Planned | undefined;
          if (devres.state === "releasing") {
            // Released early and not done: the walk waits for that release.
            this.reached.walksWaited++;
            yield devres.id;
          } else {
            const revoked = this.#revoke(devres);
            failed = revoked.failed;
            if (revoked.waits) yield devres.id;
          }
          this.#emit(device, failed === undefined ? "release" : "release-failed", driver, failed === undefined ? { resource: "devres" } : { resource: "devres", error: { planned: failed } });
          break;
        }
        case "bus mastering":
          device.busMaster = false;
          this.#emit(device, "release", driver, { resource: "bus-master" });
          break;
        case "mmio":
          this.#emit(device, "release", driver, { resource: "mmio", bar: 0 });
          break;
        case "irq":
          this.#emit(device, "release", driver, { resource: "irq" });
          break;
      }
    }
    if (device.present && device.engine) {
      violated = this.#violation({ kind: "held-after-unbind", device: device.name, driver }) || violated;
    }
    return violated;
  }

  /** True when the binding's driver halts its engine (in remove() and in its probe's error path). */
  #halts(binding: MBinding): boolean {
    return binding.driver === "good" || (binding.driver === "buggy" && this.options.trustBuggy === true);
  }

  /** A write of CTRL: dropped once the device is unplugged. */
  #ctrl(device: MDevice, binding: MBinding, value: 0 | 1): void {
    if (!device.present) return;
    if (value === 0) device.engine = false;
    else if (binding.ring !== undefined && !binding.ring.freed) device.engine = true;
  }

  // ---- resources ------------------------------------------------------------

  /** Allocates, or returns `undefined` for ENOMEM (nothing allocated). */
  #alloc(binding: MBinding, size: number, ring: boolean): MAlloc | undefined {
    if (this.#enomem(binding.mask)) return undefined;
    const alloc: MAlloc = { owner: binding, index: ring ? -1 : binding.allocs.length, size, freed: false, written: new Map() };
    if (ring) binding.ring = alloc;
    else binding.allocs.push(alloc);
    binding.stack.push({ r: "alloc", a: alloc });
    return alloc;
  }

  /**
   * The pool starts at 1 GiB and holds far less than 1 GiB, so in passthrough
   * a mask of 31 bits or more reaches all of it and 30 or less none. Strict
   * IOVAs start at 1 MiB, so 20 bits or less reach none and 24 plenty.
   */
  #enomem(bits: number): boolean {
    return this.config.iommu === "strict" ? bits <= 20 : bits <= 30;
  }

  /** Frees the `pick`-th live allocation of the binding's own list, if it has one. */
  #freeLive(binding: MBinding, pick: number): void {
    const live = binding.allocs.filter((a) => !a.freed);
    if (live.length > 0) this.#free(live[pick % live.length]!);
  }

  #free(alloc: MAlloc): void {
    alloc.freed = true;
    remove(alloc.owner.stack, (e) => e.r === "alloc" && e.a === alloc);
  }

  #devres(binding: MBinding, release: ReleaseKind): void {
    const devres: MDevres = { owner: binding, id: `${binding.key}/d${binding.devres.length}`, release, state: "live", waiters: [] };
    binding.devres.push(devres);
    binding.stack.push({ r: "devres", d: devres });
  }

  /**
   * Revokes a live devres entry: its callback runs once. A gated one waits at
   * its gate (`releasing`); the others are done at once. Says whether it
   * waits, and the error the callback raised, if any.
   */
  #revoke(devres: MDevres): { readonly waits: boolean; readonly failed: Planned | undefined } {
    devres.state = "released";
    if (devres.release === "none") return { waits: false, failed: undefined };
    this.releases.get(devres.owner.key)!.push(devres.id);
    switch (devres.release) {
      case "gated":
        devres.state = "releasing";
        this.reached.gatedReleases++;
        this.#reach(devres.id);
        return { waits: true, failed: undefined };
      case "throws":
        return { waits: false, failed: "releaseThrew" };
      case "rejects":
        return { waits: false, failed: "releaseRejected" };
      default:
        return { waits: false, failed: undefined };
    }
  }

  /** Takes a devres entry off its binding's stack, once its early release is done. */
  #forget(devres: MDevres): void {
    remove(devres.owner.stack, (e) => e.r === "devres" && e.d === devres);
  }

  // ---- escaped tokens and handles -------------------------------------------

  #use(command: Extract<Resolved, { c: "use" }>): Predicted {
    const b = this.#binding(command.key);
    const t = this.#binding(command.tokenKey);
    const op = command.op;
    const id = this.#op();
    const done = (result: Predicted["result"], extra: Omit<Predicted, "result"> = {}): Predicted => {
      this.#settle(id, result);
      return { result, ...extra };
    };
    switch (op.o) {
      case "alloc":
        if (!b.live) return done("ENXIO");
        return done(this.#alloc(b, op.size, false) === undefined ? "ENOMEM" : "ok");
      case "free": {
        const a = b.allocs[command.target]!;
        if (a.freed) {
          this.#violation({ kind: "double-free", device: b.device.name, driver: b.driver });
          return done("EINVAL");
        }
        this.#free(a);
        return done("ok");
      }
      case "freeCoherent": {
        if (!b.live) return done("ENXIO");
        const a = b.allocs[command.target]!;
        if (!a.freed) {
          this.#free(a);
          return done("ok");
        }
        // Freed already: the address may have gone to a later allocation of
        // the same binding, which a free by handle then frees.
        const handle = this.#observe(a);
        if (b.ring !== undefined && !b.ring.freed && this.#observe(b.ring) === handle) return done("skipped");
        const reused = b.allocs.find((x) => !x.freed && this.#observe(x) === handle);
        if (reused !== undefined) {
          this.#free(reused);
          return done("ok");
        }
        this.#violation({ kind: "double-free", device: b.device.name, driver: b.driver });
        return done("EINVAL");
      }
      case "bytes": {
        const a = b.allocs[command.target]!;
        if (!t.live) return done("ENXIO");
        if (t !== b || a.freed) return done("EINVAL");
        return done("ok", { bytesOf: a });
      }
      case "write": {
        const a = b.allocs[command.target]!;
        if (!b.live) return done("ENXIO");
        if (a.freed) return done("EINVAL");
        a.written.set(op.offset % a.size, op.value);
        return done("ok", { value: op.value });
      }
      case "devres":
        if (!b.live) return done("ENXIO");
        this.#devres(b, op.release);
        return done("ok");
      case "access": {
        const d = b.devres[command.target]!;
        if (!t.live) return done("ENXIO");
        if (t !== b) return done("EINVAL");
        return done(d.state === "live" ? "ok" : "ENXIO");
      }
      case "release": {
        const d = b.devres[command.target]!;
        if (d.state === "released") return done("ok");
        if (d.state === "releasing") {
          // Another release is in flight: this one returns when it is done.
          d.waiters.push(id);
          return { result: "ok" };
        }
        const revoked = this.#revoke(d);
        if (revoked.waits) {
          d.waiters.push(id);
          return { result: "ok" };
        }
        this.#forget(d);
        return done(revoked.failed === undefined ? "ok" : "rejected");
      }
      case "mask":
        if (!b.live) return done("ENXIO");
        if (!b.core) return done("EPERM");
        b.mask = op.bits;
        return done("ok");
      case "mmio": {
        if (!b.live) return done("ENXIO");
        const device = b.device;
        return done("ok", { value: !device.present ? 0xffff_ffff : device.engine ? 1 : 0 });
      }
    }
  }

  /** The binding whose token a use passes: see `UseOp`. */
  #tokenOf(token: number, own: MBinding): MBinding {
    if (token < 0) return own;
    if (token < 16) return this.bindings[token % this.bindings.length]!;
    const live = this.bindings.filter((b) => b.live);
    return live.length === 0 ? own : live[(token - 16) % live.length]!;
  }

  // ---- bookkeeping ----------------------------------------------------------

  #state(device: MDevice, next: DeviceState): void {
    this.#emit(device, "state", device.binding?.driver, { from: device.state, to: next });
    device.state = next;
  }

  #emit(device: MDevice, kind: MachineEventKind, driver: string | undefined, fields: PFields = {}): void {
    this.events.get(device.name)!.push({ kind, driver, ...fields });
  }

  #op(): number {
    const id = this.#nextOp++;
    this.ops.set(id, { settled: false, result: "ok" });
    return id;
  }

  #settle(op: number, result: Predicted["result"]): void {
    this.ops.set(op, { settled: true, result });
    this.#parts.delete(op);
  }

  /**
   * One device's part of a bus call is done. A part that threw rejects the
   * call at once, as `Promise.all` does, whatever the other parts still do.
   */
  #partDone(op: number, threw = false): void {
    const left = this.#parts.get(op);
    if (left === undefined) return;
    if (threw) this.#settle(op, "EINVAL");
    else if (left > 1) this.#parts.set(op, left - 1);
    else this.#settle(op, "ok");
  }

  /** The checker reports `violation`, unless it is off. Returns true if it does. */
  #violation(violation: PViolation): boolean {
    if (this.config.dmaDebug === "off") return false;
    this.#expect.required.push(violation);
    return true;
  }

  #device(name: string): MDevice {
    return this.devices.find((d) => d.name === name)!;
  }

  #binding(key: string): MBinding {
    return this.bindings.find((b) => b.key === key)!;
  }
}

function fresh(): Expectation {
  return { required: [], stray: new Set(), died: [], threw: 0, outcome: undefined };
}

/** State changes asked for and not finished: the one in progress, and those queued behind it. */
function pending(device: MDevice): number {
  return (device.current === undefined ? 0 : 1) + device.queue.length;
}

function remove<Item>(items: Item[], match: (item: Item) => boolean): void {
  const at = items.findIndex(match);
  if (at >= 0) items.splice(at, 1);
}

/** The name the bus gives its n-th unnamed device. */
function slotName(slot: number): string {
  return `${hex4(Math.floor(slot / 8192))}:${(Math.floor(slot / 32) % 256).toString(16).padStart(2, "0")}:${(slot % 32).toString(16).padStart(2, "0")}.0`;
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
