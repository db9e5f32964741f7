// Not refused: a global augmentation of `CallableFunction` adding an untyped
// `call` overload (`...args: unknown[]`, returning `any`), which undoes
// strictBindCallApply for every function: when the library's typed `call`
// refuses the arguments, overload resolution falls through to the user's, and
// a plain Device or a look-alike reaches allocCoherent and iomap. The `any`
// and the ambient declaration are the user's own, taken on trust like a cast;
// no library type can refuse it, since the overload is on every function (the
// private member that refuses a global `interface Object` brand,
// must-not-compile/augment-global-object-brand.ts, is never even compared).
// Caught at run time: a plain Device or a literal is no token minted by the
// core, EPERM (Token.live in src/driver/binding.ts).
// @isolated -- a global augmentation would untype `call` in every fixture of a shared program
import { allocCoherent, iomap, Machine } from "boundscope";

declare global {
  interface CallableFunction {
    call(this: Function, thisArg: unknown, ...args: unknown[]): any;
  }
}

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
allocCoherent.call(undefined, plain, 64); // EPERM at run time
const fake = { name: "fake", vendor: 1, device: 1, state: "bound" };
allocCoherent.call(undefined, fake, 64); // EPERM at run time
iomap.call(undefined, plain, 0); // EPERM at run time
