/**
 * escape: a token smuggled out of its binding through a closure.
 *
 * The types stop a token from being stored under another scope, but a
 * closure that captures it is invisible to them: the closure's own type says
 * nothing about the token inside. The run time catches it: once the device is
 * unplugged, the binding is over and every use of the token throws `ENXIO`,
 * and nothing is allocated.
 */

import { allocCoherent, BoundscopeError, defineDriver, Machine } from "boundscope";
import type { Narrate } from "./narrate.js";

export const ESCAPE_ID = { vendor: 0x1af4, device: 0x10ff } as const;

/** Runs the escape and reports what happened to each use of the token. */
export async function runEscape(narrate: Narrate): Promise<{ before: string; after: string }> {
  let smuggled: (() => number) | undefined;

  const leaky = defineDriver({
    name: "leaky",
    ids: [ESCAPE_ID],
    probe(dev) {
      // The closure's type is () => number: the token inside is invisible.
      smuggled = () => allocCoherent(dev, 4096).size;
      return {};
    },
  });

  const machine = new Machine();
  await machine.pci.register(leaky);
  const dev = machine.pci.plug(ESCAPE_ID);
  await machine.settled();

  const use = (): string => {
    try {
      return `allocated ${smuggled!()} bytes`;
    } catch (error) {
      if (error instanceof BoundscopeError) return `threw ${error.code}: ${error.message}`;
      throw error;
    }
  };

  const before = use();
  narrate(`while ${dev.name} is bound, the smuggled closure works: ${before}`);
  await machine.pci.unplug(dev);
  const after = use();
  narrate(`after unplug (${dev.state}), the same closure: ${after}`);
  narrate(`pool after unplug: ${machine.memory.stats().bytesInUse} bytes in use`);
  return { before, after };
}
