// Blocks: module augmentation of Bus (machine.pci) and defineStruct: a
// `register` overload for a look-alike driver merged into Bus, `Iterable`
// heritage that would list the bound devices' tokens, and a defineStruct
// overload that turns a token into a token. Once let through (as
// must-compile/lets-through-augment-interfaces-and-classes.ts), while Bus was
// an interface with methods and defineStruct a function declaration. Now Bus
// is a type alias whose members are readonly function properties, and
// defineStruct a constant: nothing merges into either. TypeScript 6 and 7
// refuse each declaration as a duplicate (and keep the library's types at the
// uses); TypeScript 5.4 accepts them without a word (`ts54=none`), merges
// nothing into the library's Bus, drops the `function` that collides with the
// constant, and refuses the uses. (Under 6 and 7 the defineStruct overload
// still applies to the call; the declaration is where they refuse it.)
// @isolated -- a module augmentation would reach every fixture of a shared program
import { defineStruct, Machine } from "boundscope";
import type { BoundDevice, DeviceId } from "boundscope";

declare module "boundscope" {
  // @expect-error TS2300 ts54=none /Duplicate identifier 'Bus'/ -- a register overload for a look-alike driver
  interface Bus {
    register(driver: { readonly name: string; readonly ids: readonly DeviceId[] }): Promise<void>;
  }
  // @expect-error TS2300 ts54=none /Duplicate identifier 'Bus'/ -- Bus made iterable over tokens
  interface Bus extends Iterable<BoundDevice<unknown>> {}
  // @expect-error TS2300 ts54=none /Duplicate identifier 'defineStruct'/ -- a defineStruct overload that takes and returns a token
  function defineStruct(token: BoundDevice<unknown>): BoundDevice<unknown>;
}

const machine = new Machine();
// @expect-error TS2345 ts7=TS2741 /Property '\[onlyDefineDriverMakesADriver\]' is missing in type '\{ name: string; ids: \{ vendor: number; device: number; \}\[\]; \}' but required in type 'Driver'/ -- register keeps taking only a driver made by defineDriver
await machine.pci.register({ name: "look-alike", ids: [{ vendor: 1, device: 1 }] });
// @expect-error TS2488 /Type 'Bus' must have a '\[Symbol\.iterator\]\(\)' method that returns an iterator/ -- Bus stays not iterable
for (const token of machine.pci) void token;

export function fromStruct(dev: BoundDevice<unknown>): void {
  // @expect-error TS2345 ts6=none ts7=none /Argument of type 'BoundDevice<unknown>' is not assignable to parameter of type 'Readonly<Record<string, FieldSpec>>'/ -- TypeScript 5.4 kept the library's defineStruct
  void defineStruct(dev);
}
