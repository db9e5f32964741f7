/**
 * Shared test plumbing: deferred promises to drive timing by hand, a one-tick
 * yield, and assertions on `BoundscopeError` codes.
 */

import { expect } from "vitest";
import { BoundscopeError, defineDriver } from "../src/index.js";
import type { Device, Driver, ErrorCode, Machine, ProbeDevice } from "../src/index.js";

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
      if (options.dmaMask !== undefined) dev.setDmaMask(options.dmaMask);
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
