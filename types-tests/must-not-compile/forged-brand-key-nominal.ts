// Blocks: a token literal keyed by the brand, with the brand key's type read
// off a public type through `keyof` and a value merely declared:
// `Extract<keyof BoundDevice<unknown>, symbol>` is the brand's unique symbol
// type, `declare const key: …` gives it a name, and a literal with `[key]` and
// a function that never returns as the witness has every property a token
// type lists. Once let through (as must-compile/lets-through-forged-brand-key.ts);
// now refused by the private member (`#private` in the messages) of the
// declared classes the token types alias (src/driver/tokens.ts): a private
// member makes a class nominal, so no literal has it, nor an instance of a
// user's class that declares one of the same name or `implements` the token
// type. The brand key is still readable; it no longer suffices.
import { allocCoherent } from "boundscope";
import type { BoundDevice, DeviceState, ProbeDevice, SleepableDevice } from "boundscope";

type TokenKey = Extract<keyof BoundDevice<unknown>, symbol>;
// One key each: a computed property name needs a unique symbol, not the union
// of the core key with the sleepable one.
type SleepKey = Exclude<Extract<keyof SleepableDevice<unknown>, symbol>, TokenKey>;
type CoreKey = Exclude<Extract<keyof ProbeDevice<unknown>, symbol>, TokenKey | SleepKey>;
type Witness = BoundDevice<"forged">[TokenKey];
declare const tokenKey: TokenKey;
declare const sleepKey: SleepKey;
declare const coreKey: CoreKey;

const never: Witness = () => {
  throw new Error("never called");
};
// @expect-error TS2741 /Property '#private' is missing in type '\{ \[tokenOfOneBindingOnly\]: Invariant<"forged">;[^']*\}' but required in type 'BoundDevice<"forged">'/ -- a literal keyed by the brand read through keyof
export const forged: BoundDevice<"forged"> = { [tokenKey]: never, name: "fake", vendor: 1, device: 1, state: "bound" };
// @expect-error TS2741 /Property '#private' is missing in type '\{ \[tokenOfOneBindingOnly\]: Invariant<"forged">; \[sleepableContext\]: Invariant<"forged">; \[coreContextOnlyInProbeOrRemove\]: Invariant<(?:"forged"|\.\.\.)>;[^']*\}' but required in type 'ProbeDevice<"forged">'/ -- a literal keyed by every brand read through keyof (6 and 7 shorten the last brand's type to Invariant<...>)
export const forgedCore: ProbeDevice<"forged"> = { [tokenKey]: never, [sleepKey]: never, [coreKey]: never, name: "fake", vendor: 1, device: 1, state: "probing" };

class SameNamedPrivate {
  #onlyTheDriverCoreMintsTokens = true as const;
  readonly [tokenKey]: Witness = never;
  readonly name = "fake";
  readonly vendor = 1;
  readonly device = 1;
  readonly state: DeviceState = "bound";
}
// @expect-error TS2741 /Property '#private' is missing in type 'SameNamedPrivate' but required in type 'BoundDevice<"forged">'/ -- a class with a private member of the same name
export const fromClass: BoundDevice<"forged"> = new SameNamedPrivate();

// @expect-error TS2720 /Class 'Implementer' incorrectly implements class 'BoundDevice<"forged">'.*\n.*Property '#private' is missing in type 'Implementer' but required in type 'BoundDevice<"forged">'/ -- a class that implements the token type
class Implementer implements BoundDevice<"forged"> {
  readonly [tokenKey]: Witness = never;
  readonly name = "fake";
  readonly vendor = 1;
  readonly device = 1;
  readonly state: DeviceState = "bound";
}

export function use(): void {
  // @expect-error TS2345 ts7=TS2741 /Property '#private' is missing in type '\{ \[tokenOfOneBindingOnly\]: Invariant<"forged">;[^']*\}' but required in type 'BoundDevice<"forged">'|Argument of type '\{ \[tokenOfOneBindingOnly\]: Invariant<"forged">;[^']*\}' is not assignable to parameter of type 'BoundDevice<"forged">'/ -- the literal passed to allocCoherent
  allocCoherent({ [tokenKey]: never, name: "fake", vendor: 1, device: 1, state: "bound" }, 64);
  // @expect-error TS2345 ts7=TS2741 /Property '#private' is missing in type 'Implementer' but required in type 'BoundDevice<"forged">'|Argument of type 'Implementer' is not assignable to parameter of type 'BoundDevice<"forged">'/ -- an instance of the implementing class passed to allocCoherent
  allocCoherent(new Implementer(), 64);
}
