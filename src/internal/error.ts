/**
 * Errors are data: every failure boundscope reports is one {@link BoundscopeError}
 * whose `code` is the errno a kernel driver would see for the same mistake.
 *
 * Kernel: `include/uapi/asm-generic/errno-base.h`.
 *
 * # Invariants
 * - Everything boundscope throws on purpose is a `BoundscopeError` with a
 *   `code`; a plain `Error` is a bug in boundscope itself.
 *
 * @module
 */

/**
 * The error codes boundscope uses, named after the kernel errnos they mirror.
 *
 * - `ENXIO`: the binding is gone. A token, view or resource was used after
 *   unbind, unplug or a failed probe.
 * - `EINVAL`: a bad argument. A wrong size or mask, a double free, a token of
 *   another device, a request the device's state does not allow.
 * - `ENOMEM`: the coherent pool cannot satisfy the request (full, fragmented,
 *   or nothing free below the device's DMA mask).
 * - `EPERM`: a value the library did not mint, posing as a token; or a
 *   core-only operation called outside `probe()`/`remove()`.
 * - `EBUSY`: already so. A driver registered twice, a device that is already
 *   bound.
 * - `ETIMEDOUT`: a wait in virtual time ran out: a register poll whose
 *   condition never came true (`readPollTimeout`).
 *
 * @example
 * ```ts
 * const retryLater = (code: ErrorCode) => code === "ENOMEM";   // the pool may have room later
 * try {
 *   allocCoherent(dev, 1 << 20);
 * } catch (err) {
 *   if (!(err instanceof BoundscopeError && retryLater(err.code))) throw err;
 * }
 * ```
 */
export type ErrorCode = "ENXIO" | "EINVAL" | "ENOMEM" | "EPERM" | "EBUSY" | "ETIMEDOUT";

/**
 * The one error class boundscope throws. Branch on `code`, not on the message.
 *
 * @example
 * ```ts
 * declare const leakedToken: ProbeDevice<Scope>;   // kept after its binding ended
 * try {
 *   allocCoherent(leakedToken, 4096);
 * } catch (err) {
 *   if (err instanceof BoundscopeError && err.code === "ENXIO") {
 *     // the device was unbound: stop using this token
 *   }
 * }
 * ```
 */
export class BoundscopeError extends Error {
  /** The errno this failure mirrors. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BoundscopeError";
    this.code = code;
  }
}

/** Shorthand used throughout the library: `throw fail("EINVAL", "...")`. */
export function fail(code: ErrorCode, message: string, cause?: unknown): BoundscopeError {
  return new BoundscopeError(code, message, cause === undefined ? undefined : { cause });
}

/** A short, safe rendering of an arbitrary value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
    case "bigint":
      return `${value}n`;
    case "object":
      return Array.isArray(value) ? "an array" : "an object";
    case "function":
      return "a function";
    default:
      return String(value);
  }
}
