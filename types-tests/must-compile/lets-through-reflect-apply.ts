// Not refused: calling the library's functions through Reflect.apply and
// Reflect.construct. Each has a typed overload and an untyped fallback
// (`apply(target: Function, thisArgument: any, argumentsList: ArrayLike<any>):
// any`); arguments the typed overload refuses select the fallback, which
// takes anything and returns `any`. Function.prototype.call, apply and bind
// are checked under strict (must-not-compile/call-apply-bind.ts); this is
// the lib's own `any`. Caught at run time: a plain Device is no token, EPERM
// (Token.live in src/driver/binding.ts); Devres's constructor expects a
// binding and fails on anything else.
import { allocCoherent, Devres, Machine, setDmaMask } from "boundscope";

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });

export function untyped(): void {
  const ring = Reflect.apply(allocCoherent, undefined, [plain, 64]); // EPERM at run time
  Reflect.apply(setDmaMask, undefined, [plain, 32]); // EPERM at run time
  const forged = Reflect.construct(Devres, [plain, 1, undefined]); // a TypeError at run time
  void [ring, forged];
}
