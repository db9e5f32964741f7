/**
 * Shared test plumbing: deferred promises to drive timing by hand, a one-tick
 * yield, assertions on `BoundscopeError` codes, bound devices to test with:
 * plain ones (`bindOne`) and simulated hardware (`OpenModel`, `bindModel`),
 * and readings of the event log built from the events' structured fields
 * (`transitions`, `released`): never from `detail`, which is for people.
 */

import { expect } from "vitest";
import { BoundscopeError, defineDriver, DeviceModel, setDmaMask } from "../src/index.js";
import type { Device, DeviceModelSpec, Driver, DriverInstance, ErrorCode, Machine, MachineEvent, ProbeDevice, Timer } from "../src/index.js";

/** The ids every test driver binds to unless it says otherwise. */
export const NIC = { vendor: 0x1af4, device: 0x1000 } as const;

/** A promise the test settles by hand. */
export interface Deferred<Value = void> {
  readonly promise: Promise<Value>;
  resolve(value: Value): void;
  reject(error: unknown): void;
}

export function deferred<Value = void>(): Deferred<Value> {
  let resolve!: (value: Value) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<Value>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued microtask and promise continuation run: one macrotask turn. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * The scope of a value smuggled out of its binding through a cast. The types
 * forbid this; the tests use it to check what the run time does instead.
 */
export type Smuggled = "smuggled";

/** A cast, named for what it does in these tests. */
export function smuggle<Value>(value: unknown): Value {
  return value as Value;
}

/** Asserts that `run` throws a `BoundscopeError` with `code`, and returns it. */
export function expectCode(run: () => unknown, code: ErrorCode): BoundscopeError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BoundscopeError);
  expect((caught as BoundscopeError).code).toBe(code);
  return caught as BoundscopeError;
}

/** Asserts that `promise` rejects with a `BoundscopeError` with `code`, and returns it. */
export async function expectReject(promise: Promise<unknown>, code: ErrorCode): Promise<BoundscopeError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BoundscopeError);
  expect((caught as BoundscopeError).code).toBe(code);
  return caught as BoundscopeError;
}

/** Runs `run` and returns what it threw, or `undefined`. */
export function thrownBy(run: () => unknown): unknown {
  try {
    run();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** A device bound for a test, with its token smuggled out of probe. */
export interface BoundForTest {
  readonly dev: Device;
  readonly driver: Driver;
  readonly token: ProbeDevice<Smuggled>;
}

let nextTestDevice = 0x2000;

/**
 * Plugs a fresh device into `machine` and binds it to a fresh driver that
 * leaks its token, optionally setting the DMA mask in probe. Each call uses
 * its own device id, so devices bound this way never match each other's
 * drivers.
 */
export async function bindOne(machine: Machine, options: { readonly dmaMask?: number } = {}): Promise<BoundForTest> {
  const id = { vendor: NIC.vendor, device: nextTestDevice++ };
  let token: ProbeDevice<Smuggled> | undefined;
  const driver = defineDriver({
    name: `test-driver-${id.device.toString(16)}`,
    ids: [id],
    probe(dev) {
      if (options.dmaMask !== undefined) setDmaMask(dev, options.dmaMask);
      token = smuggle(dev);
      return {};
    },
  });
  await machine.pci.register(driver);
  const dev = machine.pci.plug(id);
  await machine.settled();
  if (token === undefined) throw new Error("bindOne: the device was not probed");
  return { dev, driver, token };
}

/**
 * A device model whose protected services a test calls by hand: the test
 * plays the device's firmware. Each instance takes a fresh device id (unless
 * given one), so its test driver matches no other device on the machine.
 */
export class OpenModel extends DeviceModel {
  constructor(spec: Partial<DeviceModelSpec> = {}) {
    super({ vendor: NIC.vendor, device: nextTestDevice++, ...spec });
  }
  get time(): number {
    return this.now;
  }
  get mastering(): boolean {
    return this.busMaster;
  }
  get attached(): boolean {
    return this.present;
  }
  later(ns: number, work: () => void): Timer {
    return this.after(ns, work);
  }
  readInto(address: bigint, into: Uint8Array): Uint8Array {
    return this.dmaReadInto(address, into);
  }
  read(address: bigint, length: number): Uint8Array {
    return this.dmaRead(address, length);
  }
  write(address: bigint, data: Uint8Array): boolean {
    return this.dmaWrite(address, data);
  }
  interrupt(): void {
    this.raiseIrq();
  }
  holdRange(address: bigint, length: number, what: string): void {
    this.hold(address, length, what);
  }
  releaseRange(address: bigint): void {
    this.unhold(address);
  }
}

/** What a driver's probe does in {@link bindModel}: set up, and optionally return the instance. */
export type TestProbe = (dev: ProbeDevice<Smuggled>) => DriverInstance<Smuggled> | void;

/** A model bound for a test, with its driver's token smuggled out of probe. */
export interface ModelBound<Model extends DeviceModel> extends BoundForTest {
  readonly machine: Machine;
  readonly model: Model;
}

/**
 * Plugs `model` into `machine` and binds it to a fresh driver for its ids,
 * which runs `probe` with the core context (the place for iomap, requestIrq,
 * spawn and enableBusMaster) and leaks its token.
 */
export async function bindModel<Model extends DeviceModel>(
  machine: Machine,
  model: Model,
  probe: TestProbe = () => {},
): Promise<ModelBound<Model>> {
  const id = { vendor: model.vendor, device: model.device };
  let token: ProbeDevice<Smuggled> | undefined;
  const driver = defineDriver({
    name: `model-driver-${id.device.toString(16)}`,
    ids: [id],
    probe<Scope>(dev: ProbeDevice<Scope>) {
      token = smuggle(dev);
      return smuggle<DriverInstance<Scope>>(probe(smuggle(dev)) ?? {});
    },
  });
  await machine.pci.register(driver);
  const dev = machine.pci.plug(model);
  await machine.settled();
  if (token === undefined) throw new Error("bindModel: the device was not probed");
  return { machine, dev, driver, token, model };
}

// ---------------------------------------------------------------- the event log, by its fields

/** A `state` event's transition, from its `from` and `to`: `bound -> unbinding`. */
export function transitionOf(event: MachineEvent): string {
  return `${event.from} -> ${event.to}`;
}

/** The `state` transitions the event log recorded for `dev` (for every device if none is given), in order. */
export function transitions(machine: Machine, dev?: { readonly name: string }): string[] {
  return machine.events.filter((e) => e.kind === "state" && (dev === undefined || e.device === dev.name)).map(transitionOf);
}

/**
 * What devres released for `dev` (on every device if none is given), in
 * order, one name per `release` event, from its fields: `coherent 4096
 * bytes`, `devres`, `irq`, `mmio BAR 0`, `bus-master`.
 */
export function released(machine: Machine, dev?: { readonly name: string }): string[] {
  return machine.events.filter((e) => e.kind === "release" && (dev === undefined || e.device === dev.name)).map(resourceName);
}

/** A `release` event's resource, from its fields (see {@link released}). */
function resourceName(e: MachineEvent): string {
  switch (e.resource) {
    case "coherent":
      return `coherent ${e.size} bytes`;
    case "mmio":
      return `mmio BAR ${e.bar}`;
    default:
      return String(e.resource);
  }
}
