// Blocks: writing the brand key without its value, to forge a token literal:
// a `unique symbol` of the same name, a `Symbol()` and a `Symbol.for()`
// named like it, a symbol index signature in place of the brand, the key
// from the package's internal module (not in its `exports`) or from a type
// query on the module. A unique symbol is a key only with the declaration it
// came from, and that declaration is not exported. The symbol index
// signature lacks the token classes' private member (`#private`) too. (With
// the key's type taken through keyof and a value merely declared, a literal
// has the brand, and the private member refuses it:
// forged-brand-key-nominal.ts.)
import type { BoundDevice } from "boundscope";
// @expect-error TS2307 /Cannot find module 'boundscope\/dist\/internal\/brand\.js'/ -- the internal brand module through the package
import type { tokenOfOneBindingOnly as internalKey } from "boundscope/dist/internal/brand.js";

declare const tokenOfOneBindingOnly: unique symbol;
const made = Symbol("tokenOfOneBindingOnly");
const registered = Symbol.for("tokenOfOneBindingOnly");
type Witness = <Probe>() => Probe extends "x" ? "this binding" : "another binding";
const witness: Witness = () => {
  throw new Error("never called");
};

// @expect-error TS2353 /Object literal may only specify known properties, and '\[tokenOfOneBindingOnly\]' does not exist in type 'BoundDevice<"x">'/ -- a unique symbol of the same name
export const sameName: BoundDevice<"x"> = { name: "f", vendor: 1, device: 1, state: "bound", [tokenOfOneBindingOnly]: witness };
// @expect-error TS2353 /Object literal may only specify known properties, and '\[made\]' does not exist in type 'BoundDevice<"x">'/ -- a Symbol() named like the key
export const fromSymbol: BoundDevice<"x"> = { name: "f", vendor: 1, device: 1, state: "bound", [made]: witness };
// @expect-error TS2353 /Object literal may only specify known properties, and '\[registered\]' does not exist in type 'BoundDevice<"x">'/ -- a Symbol.for() named like the key
export const fromRegistry: BoundDevice<"x"> = { name: "f", vendor: 1, device: 1, state: "bound", [registered]: witness };

declare const indexed: { readonly [key: symbol]: Witness; readonly name: string; readonly vendor: number; readonly device: number; readonly state: "bound" };
// @expect-error TS2739 /Type '\{ readonly \[key: symbol\]: Witness;[^']*' is missing the following properties from type 'BoundDevice<"x">': #private, \[tokenOfOneBindingOnly\]/ -- a symbol index signature in place of the brand
export const fromIndex: BoundDevice<"x"> = indexed;

// @expect-error TS2339 /Property 'tokenOfOneBindingOnly' does not exist on type 'typeof import\(/ -- the key from a type query on the module
export type Queried = (typeof import("boundscope"))["tokenOfOneBindingOnly"];
export type Internal = typeof internalKey;
