// Not refused: a token literal keyed by the brand, with the brand key's type
// read off a public type through `keyof` and a value merely declared:
// `Extract<keyof BoundDevice<unknown>, symbol>` is the brand's unique symbol
// type, `declare const key: …` gives it a name, and a literal with `[key]`
// and a function that never returns as the witness is a BoundDevice of any
// scope. A `declare` is a promise TypeScript takes on trust, like a cast;
// the key's type cannot be hidden while the brand is a property of a public
// type (a class-private brand could be: see the report). Caught at run time:
// the literal is no token minted by the core, EPERM (Token.live in
// src/driver/binding.ts); and the declared key is undefined at run time.
import { allocCoherent } from "boundscope";
import type { BoundDevice } from "boundscope";

type TokenKey = Extract<keyof BoundDevice<unknown>, symbol>;
type Witness = BoundDevice<"forged">[TokenKey];
declare const tokenKey: TokenKey;

const never: Witness = () => {
  throw new Error("never called");
};
export const forged: BoundDevice<"forged"> = { [tokenKey]: never, name: "fake", vendor: 1, device: 1, state: "bound" };

export function use(): void {
  allocCoherent(forged, 64); // EPERM at run time
}
