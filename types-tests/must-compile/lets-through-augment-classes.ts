// Not refused: module augmentation of the public classes, which merge with an
// interface or a namespace of the same name by design: Machine takes a new
// member (`lastToken`), Revocable a new method (`tryAccess`), and a namespace
// merged into Devres a static `forge`. Every added member is a declaration
// with no code behind it, a promise TypeScript takes on trust like a cast
// (the `declare` is the user's); none reaches a token-taking member, which are
// properties (access, bytes) or constants (allocCoherent, iomap), and none
// makes a token, whose private member no augmentation can supply
// (must-not-compile/augment-*.ts). Once this file also merged a `register`
// overload into Bus, `Iterable` heritage into Bus, a `token` into TaskSignal
// and an overload into defineStruct: Bus and TaskSignal are now type aliases
// with function properties and defineStruct a constant, so those are refused
// (must-not-compile/augment-bus-and-functions.ts;
// must-not-compile/ts54-lets-through-alias-augmentation.ts for TaskSignal,
// which TypeScript 5.4 merges into the alias). Caught at run time: the added
// members are undefined, so `machine.lastToken` passed on as a token is
// refused, EINVAL "expected a device token" (Token.live in
// src/driver/binding.ts), and calling `forge` or `tryAccess` is a TypeError.
// @isolated -- a module augmentation would reach every fixture of a shared program
import { allocCoherent, Devres, Machine, Revocable } from "boundscope";
import type { BoundDevice } from "boundscope";

declare module "boundscope" {
  interface Machine {
    readonly lastToken: BoundDevice<unknown>;
  }
  interface Revocable<Value> {
    tryAccess(dev: BoundDevice<unknown>): Value;
  }
  namespace Devres {
    function forge<Scope, Value>(value: Value): Devres<Scope, Value>;
  }
}

const machine = new Machine();
export const last: BoundDevice<unknown> = machine.lastToken; // undefined at run time
allocCoherent(last, 64); // EINVAL at run time
export const forged = Devres.forge<"x", number>(1); // a TypeError at run time
new Revocable(1).tryAccess(last); // a TypeError at run time
