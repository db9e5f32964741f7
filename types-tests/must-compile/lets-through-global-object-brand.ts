// Not refused: a global augmentation of `Object` that gives every object the
// token's brand, with the key's type read off BoundDevice through `keyof`
// and the key merely declared. TypeScript looks a property up on the global
// Object type when an object type lacks it, so a plain Device, or any
// literal, then passes for a token of every scope (a witness returning
// `never` fits every scope's). Also: a global augmentation of
// CallableFunction adding an untyped `call`, which undoes strictBindCallApply
// for every function. Both are ambient declarations, taken on trust like a
// cast. A library could refuse the first only with a brand no augmentation
// can supply: a class-private member (nominal: it must come from the class's
// own declaration) instead of, or beside, the symbol-keyed property. Caught
// at run time: a plain Device is no token, EPERM (Token.live in
// src/driver/binding.ts).
// @isolated -- a global augmentation would make every object of a shared program a token
import { allocCoherent, iomap, Machine, setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

type TokenKey = Extract<keyof BoundDevice<unknown>, symbol>;
type CoreKey = Exclude<Extract<keyof ProbeDevice<unknown>, symbol>, TokenKey>;
declare const tokenKey: TokenKey;
declare const coreKey: CoreKey;

declare global {
  interface Object {
    readonly [tokenKey]: <Probe>() => never;
    readonly [coreKey]: <Probe>() => never;
  }
  interface CallableFunction {
    call(this: Function, thisArg: unknown, ...args: unknown[]): any;
  }
}

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
allocCoherent(plain, 64); // EPERM at run time
setDmaMask(plain, 64); // EPERM at run time
iomap({ name: "fake", vendor: 1, device: 1, state: "bound" }, 0); // EPERM at run time
export const anyScope: ProbeDevice<"any"> = plain;
const fake = { name: "fake" };
allocCoherent.call(undefined, fake, 64); // EPERM at run time
