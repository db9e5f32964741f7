/**
 * How the examples tell what happens: a `Narrate` callback, and a follower
 * that turns the machine's events into lines as they happen.
 */

import type { Machine } from "boundscope";

/** What an example reports as it runs. */
export type Narrate = (line: string) => void;

/** Narrates every state change and driver failure on `machine` from now on. */
export function follow(machine: Machine, narrate: Narrate): () => void {
  return machine.subscribe((event) => {
    if (event.kind === "state") narrate(`[${event.device}] ${event.detail}`);
    if (event.kind === "release") narrate(`[${event.device}] devres released ${event.detail}`);
    if (event.kind.endsWith("-failed")) narrate(`[${event.device}] ${event.kind}: ${event.detail}`);
  });
}
