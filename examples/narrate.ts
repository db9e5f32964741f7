/**
 * How the examples tell what happens: a `Narrate` callback, and a follower
 * that turns the machine's events and the DMA checker's violations into lines
 * as they happen.
 */

import type { DmaViolation, Machine } from "boundscope";

/** What an example reports as it runs. */
export type Narrate = (line: string) => void;

/**
 * Narrates every state change, devres release, driver failure and checker
 * violation on `machine` from now on. Returns the function that stops it,
 * after telling the violations not told yet.
 */
export function follow(machine: Machine, narrate: Narrate): () => void {
  let told = 0;
  // The checker has no event of its own: tell what it found before the next
  // event, so each violation comes out where it happened.
  const tell = (): void => {
    const violations = machine.dmaDebug.violations;
    for (; told < violations.length; told++) narrate(violationLine(violations[told]!));
  };
  const stop = machine.subscribe((event) => {
    tell();
    // Which line is told is the events' fields' to say; `detail` is only printed.
    if (event.kind === "state") narrate(`[${event.device}] ${event.from} -> ${event.to}`);
    if (event.kind === "release") narrate(`[${event.device}] devres released ${event.detail}`);
    if (event.kind.endsWith("-failed")) narrate(`[${event.device}] ${event.kind}: ${event.detail}`);
  });
  return () => {
    tell();
    stop();
  };
}

/** One violation as a line: its kind, when, and its message. */
export function violationLine(violation: DmaViolation): string {
  return `!! ${violation.kind} at t=${violation.time} ns: ${shortPaths(violation.message)}`;
}

/** Strips the working directory from file paths and URLs, so sites read `examples/ring-nic.ts:60:14`. */
export function shortPaths(text: string): string {
  const cwd = `${process.cwd()}/`;
  return text.replaceAll(`file://${cwd}`, "").replaceAll(cwd, "");
}
