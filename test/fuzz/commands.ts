/**
 * What the lifecycle fuzzer does, as plain data: the machine's configuration,
 * the commands of one sequence, and the plan each probe follows. Plain data
 * shrinks well and prints as a readable counterexample; the reference model
 * (reference.ts) and the rig (rig.ts) both interpret it.
 */

import fc from "fast-check";
import type { DmaDebugMode, IommuMode } from "../../src/index.js";
import type { DeviceKind } from "./models.js";

/** The drivers every fuzzed machine registers from. */
export type DriverName = "good" | "buggy" | "plain" | "spare";
export const DRIVERS: readonly DriverName[] = ["good", "buggy", "plain", "spare"];

/**
 * Which device kinds each driver binds. `good` and `buggy` drive the engine;
 * `buggy` is `good` with the halt forgotten. `plain` and `spare` never touch
 * hardware. Only `good` and `buggy` bind the engine kinds they could leave
 * running, so a hardware-blind driver never inherits a running engine.
 */
export const DRIVER_KINDS: Readonly<Record<DriverName, readonly DeviceKind[]>> = {
  good: ["tick", "copy"],
  buggy: ["tick"],
  plain: ["plain", "copy"],
  spare: ["plain"],
};

/** True for the drivers that set up and run the engine. */
export function drivesHardware(driver: DriverName): boolean {
  return driver === "good" || driver === "buggy";
}

/** How a devres entry's release function behaves; `gated` waits until the fuzzer opens its gate. */
export type ReleaseKind = "none" | "sync" | "async" | "gated" | "throws" | "rejects";
/** How a driver's remove() ends. */
export type RemoveKind = "sync" | "async" | "throws" | "rejects";

/** One step of a probe. */
export type Step =
  | { readonly t: "alloc"; readonly size: number }
  /** Frees one of this binding's live allocations (the `pick`-th, modulo). */
  | { readonly t: "free"; readonly pick: number }
  | { readonly t: "devres"; readonly release: ReleaseKind }
  /**
   * `sleep` waits on virtual time, driving the clock. Under dmaDebug "throw"
   * it is a tick instead: a driver driving the clock is handed any device's
   * violation, so another device's stray DMA would fail this probe.
   */
  | { readonly t: "await"; readonly how: "microtask" | "tick" | "sleep" }
  /** Waits until the fuzzer opens the gate: the probe stays in flight across commands. */
  | { readonly t: "gate" }
  | { readonly t: "mask"; readonly bits: number }
  /** Bus mastering, BAR 0, a ring, the IRQ, optionally a task, and the engine started. */
  | { readonly t: "engine"; readonly task: boolean }
  | { readonly t: "fail" };

/** One step of a remove(), after a correct driver has halted its engine. */
export type RemoveStep =
  | { readonly t: "alloc"; readonly size: number }
  | { readonly t: "free"; readonly pick: number }
  | { readonly t: "devres"; readonly release: ReleaseKind }
  | { readonly t: "await"; readonly how: "microtask" | "tick" }
  /** Waits until the fuzzer opens the gate: the device stays `unbinding` across commands. */
  | { readonly t: "gate" };

/** What one probe does, step by step, and what its remove() does and how it ends. */
export interface ProbePlan {
  readonly steps: readonly Step[];
  readonly inRemove: readonly RemoveStep[];
  readonly remove: RemoveKind;
}

/** A use, at a random later time, of a binding's escaped token or handles. */
export type UseOp =
  | { readonly o: "alloc"; readonly size: number }
  | { readonly o: "free"; readonly pick: number }
  | { readonly o: "freeCoherent"; readonly pick: number }
  /**
   * `bytes(token)` with the token of this binding (`token` -1), of any
   * binding (0 to 15, modulo) or of a live one (16 to 31, modulo; this
   * binding's if none is live).
   */
  | { readonly o: "bytes"; readonly pick: number; readonly token: number }
  | { readonly o: "write"; readonly pick: number; readonly offset: number; readonly value: number }
  | { readonly o: "devres"; readonly release: ReleaseKind }
  | { readonly o: "access"; readonly pick: number; readonly token: number }
  | { readonly o: "release"; readonly pick: number }
  | { readonly o: "mask"; readonly bits: number }
  | { readonly o: "mmio" };

/** One command. Device, binding and gate choices are indices, taken modulo what exists. */
export type Command =
  | { readonly c: "plug"; readonly kind: DeviceKind; readonly plans: readonly ProbePlan[] }
  | { readonly c: "unplug"; readonly dev: number }
  | { readonly c: "unbind"; readonly dev: number }
  | { readonly c: "register"; readonly driver: DriverName }
  | { readonly c: "unregister"; readonly driver: DriverName }
  /** Opens one of the gates something waits at: a probe's, a remove()'s or a devres release's. */
  | { readonly c: "gate"; readonly pick: number }
  | { readonly c: "run"; readonly ns: number }
  | { readonly c: "use"; readonly binding: number; readonly op: UseOp };

/** The machine one sequence runs on. */
export interface FuzzConfig {
  readonly iommu: IommuMode;
  readonly pageSize: number;
  readonly dmaDebug: DmaDebugMode;
}

/** DMA masks a step or a use may set. Below the pool (passthrough) or the IOVA base (strict), allocation fails. */
export const MASKS = [16, 24, 32, 64] as const;

const size = fc.oneof(
  fc.integer({ min: 1, max: 64 }),
  fc.constantFrom(511, 512, 513, 4095, 4096, 4097, 8192),
  fc.integer({ min: 1, max: 3 * 4096 + 17 }),
);
const pick = fc.nat({ max: 15 });
const release = fc.constantFrom<ReleaseKind>("none", "sync", "async", "async", "sync", "gated", "throws", "rejects");
const token = fc.oneof({ weight: 3, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat({ max: 15 }) }, { weight: 2, arbitrary: fc.integer({ min: 16, max: 31 }) });

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant("alloc" as const), size }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("free" as const), pick }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("devres" as const), release }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("await" as const), how: fc.constantFrom("microtask" as const, "tick" as const, "sleep" as const) }) },
  { weight: 2, arbitrary: fc.constant({ t: "gate" as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("mask" as const), bits: fc.constantFrom(...MASKS, 32, 64) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("engine" as const), task: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ t: "fail" as const }) },
);

const removeStep: fc.Arbitrary<RemoveStep> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ t: fc.constant("alloc" as const), size }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("free" as const), pick }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("devres" as const), release }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("await" as const), how: fc.constantFrom("microtask" as const, "tick" as const) }) },
  { weight: 2, arbitrary: fc.constant({ t: "gate" as const }) },
);

const plan: fc.Arbitrary<ProbePlan> = fc.record({
  steps: fc.array(step, { maxLength: 7 }),
  inRemove: fc.array(removeStep, { maxLength: 3 }),
  remove: fc.constantFrom<RemoveKind>("sync", "async", "sync", "async", "throws", "rejects"),
});

const use: fc.Arbitrary<UseOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ o: fc.constant("alloc" as const), size }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("free" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ o: fc.constant("freeCoherent" as const), pick }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("bytes" as const), pick, token }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("write" as const), pick, offset: fc.nat({ max: 5000 }), value: fc.integer({ min: 1, max: 255 }) }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("devres" as const), release }) },
  { weight: 2, arbitrary: fc.record({ o: fc.constant("access" as const), pick, token }) },
  { weight: 3, arbitrary: fc.record({ o: fc.constant("release" as const), pick }) },
  { weight: 1, arbitrary: fc.record({ o: fc.constant("mask" as const), bits: fc.constantFrom(...MASKS) }) },
  { weight: 1, arbitrary: fc.constant({ o: "mmio" as const }) },
);

const kind = fc.constantFrom<DeviceKind>("tick", "copy", "plain", "tick");
const driver = fc.constantFrom<DriverName>(...DRIVERS);
const index = fc.nat({ max: 15 });

export const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ c: fc.constant("plug" as const), kind, plans: fc.array(plan, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("unplug" as const), dev: index }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("unbind" as const), dev: index }) },
  { weight: 4, arbitrary: fc.record({ c: fc.constant("register" as const), driver }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant("unregister" as const), driver }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("gate" as const), pick: index }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant("run" as const), ns: fc.integer({ min: 0, max: 20_000 }) }) },
  { weight: 10, arbitrary: fc.record({ c: fc.constant("use" as const), binding: fc.nat({ max: 31 }), op: use }) },
);

export const configArbitrary: fc.Arbitrary<FuzzConfig> = fc.record({
  iommu: fc.constantFrom<IommuMode>("passthrough", "strict"),
  pageSize: fc.constantFrom(4096, 512),
  dmaDebug: fc.constantFrom<DmaDebugMode>("report", "report", "throw", "off"),
});
