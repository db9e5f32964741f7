// Blocks: (under TypeScript 6 and 7) module augmentation of DriverSpec,
// DmaAddress, IrqHandler and TaskSignal by an interface of the same name,
// refused as a duplicate of the type alias. Not refused under TypeScript 5.4,
// marked `ts54=none` line by line: 5.4 accepts an interface merged into a type
// alias without a word and then resolves the library's references to the
// alias as `any`, so defineDriver takes a probe of a concrete scope (which
// parks the token), freeCoherent takes a made-up bigint, and an interrupt
// handler may claim the core context; or it merges the interface for real, so
// a task's signal has the `token` the augmentation declares (TaskSignal was an
// interface until it became a type alias with function properties; the
// augmentation moved here from must-compile/lets-through-augment-classes.ts).
// TypeScript's own bug (5.9 reports the duplicate, like 6 and 7); a library
// could sidestep it only by declaring these as interfaces, which the
// augmentation would then merge into for real (adding members, though not
// retyping `probe`). Caught at run time: the parked token is dead after
// unbind (ENXIO), a made-up address is refused (EINVAL, freeCoherent in
// src/driver/dma.ts), a core-only call from a handler throws EPERM
// (Binding.requireCore), and the signal's `token` is undefined, no token
// (EINVAL, Token.live in src/driver/binding.ts).
// @isolated -- a module augmentation would reach every fixture of a shared program
import { allocCoherent, defineDriver, freeCoherent, requestIrq, setDmaMask, spawn } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

declare module "boundscope" {
  // @expect-error TS2300 ts54=none /Duplicate identifier 'DriverSpec'/ -- an interface merged into DriverSpec
  interface DriverSpec {}
  // @expect-error TS2300 ts54=none /Duplicate identifier 'DmaAddress'/ -- an interface merged into DmaAddress
  interface DmaAddress<Scope> {}
  // @expect-error TS2300 ts54=none /Duplicate identifier 'IrqHandler'/ -- an interface merged into IrqHandler
  interface IrqHandler<Scope> {}
  // @expect-error TS2300 ts54=none /Duplicate identifier 'TaskSignal'/ -- a token merged into TaskSignal
  interface TaskSignal {
    readonly token: BoundDevice<unknown>;
  }
}

let parked: ProbeDevice<"x"> | undefined;
let fromSignal: BoundDevice<unknown> | undefined;

export const fixed = defineDriver({
  name: "fixed",
  ids: [{ vendor: 1, device: 1 }],
  // @expect-error TS2322 ts54=none /Type '\(dev: ProbeDevice<"x">\) => \{\}' is not assignable to type '<Scope>\(dev: ProbeDevice<Scope>, id: MatchedId<undefined>\) => DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- a probe of a concrete scope
  probe: (dev: ProbeDevice<"x">) => {
    parked = dev;
    // @expect-error TS2345 ts54=none /Argument of type 'bigint' is not assignable to parameter of type 'DmaAddress<"x", "coherent">'/ -- a made-up bus address
    freeCoherent(dev, 0x1000n);
    // @expect-error TS2345 ts54=none /Argument of type '\(irq: ProbeDevice<"x">\) => void' is not assignable to parameter of type 'IrqHandler<"x">'/ -- a handler claiming the core context
    requestIrq(dev, (irq: ProbeDevice<"x">) => setDmaMask(irq, 32));
    spawn(dev, async (_task, signal) => {
      // @expect-error TS2339 ts54=none /Property 'token' does not exist on type 'TaskSignal'/ -- a token read off the task's signal
      fromSignal = signal.token;
    });
    return {};
  },
});

export function afterUnbind(): void {
  if (parked !== undefined) allocCoherent(parked, 64);
  if (fromSignal !== undefined) allocCoherent(fromSignal, 64);
}
