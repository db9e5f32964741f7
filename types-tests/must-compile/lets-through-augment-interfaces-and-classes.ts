// Not refused: module augmentation of the public types that are still
// interfaces or classes, which merge by design. Bus (machine.pci) is an
// interface with methods, so an overload of `register` for a look-alike
// driver merges; Machine, TaskSignal and Revocable take new members or
// overloads; a namespace merged into Devres adds a static `forge`; and
// defineStruct, a function declaration, takes an overload. Every added
// member is a promise no code keeps (TypeScript trusts `declare` as it
// trusts a cast); none reaches a token-taking member, which are constants or
// properties (must-not-compile/augment-*.ts). A library change could refuse
// the Bus overload by making Bus a type alias with `register` a readonly
// function property, as the token types are (cost: nothing for users, who
// never implement Bus); the others declare things that do not exist and
// fail when called. Caught at run time: `register` of a look-alike throws
// EINVAL, "expected a driver made by defineDriver()" (DriverCore.of in
// src/driver/driver.ts); the added members are undefined (a TypeError).
// @isolated -- a module augmentation would reach every fixture of a shared program
import { defineStruct, Devres, Machine, Revocable } from "boundscope";
import type { BoundDevice, DeviceId, TaskSignal } from "boundscope";

declare module "boundscope" {
  interface Bus {
    register(driver: { readonly name: string; readonly ids: readonly DeviceId[] }): Promise<void>;
  }
  interface Bus extends Iterable<BoundDevice<unknown>> {}
  interface Machine {
    readonly lastToken: BoundDevice<unknown>;
  }
  interface TaskSignal {
    readonly token: BoundDevice<unknown>;
  }
  interface Revocable<Value> {
    tryAccess(dev: BoundDevice<unknown>): Value;
  }
  namespace Devres {
    function forge<Scope, Value>(value: Value): Devres<Scope, Value>;
  }
  function defineStruct(token: BoundDevice<unknown>): BoundDevice<unknown>;
}

const machine = new Machine();
await machine.pci.register({ name: "look-alike", ids: [{ vendor: 1, device: 1 }] }); // EINVAL at run time
for (const token of machine.pci) void token; // a TypeError at run time: Bus is not iterable
export const last: BoundDevice<unknown> = machine.lastToken; // undefined at run time
export const fromStruct: BoundDevice<unknown> = defineStruct(last); // EINVAL at run time
export const forged = Devres.forge<"x", number>(1); // a TypeError at run time
declare const signal: TaskSignal;
export const fromSignal: BoundDevice<unknown> = signal.token;
new Revocable(1).tryAccess(last);
