// Blocks: a global augmentation of `Object` that gives every object the
// token's brands, with the keys' types read off BoundDevice, SleepableDevice
// and ProbeDevice through `keyof` (one key each: the core key alone, not a
// union with the sleepable one, which a computed property name refuses) and
// the keys merely declared. TypeScript looks a property up
// on the global Object type when an object type lacks it, so a plain Device or
// any literal then carries both brands, with a witness returning `never` that
// fits every scope. Once let through (as
// must-compile/lets-through-global-object-brand.ts); now refused by the private
// member (`#private` in the messages) of the declared classes the token types
// alias (src/driver/tokens.ts): no augmentation can add a private member, so
// the brands alone no longer make a token, under any compiler. (The same file
// once held an untyped `CallableFunction.call` overload, which still compiles:
// must-compile/lets-through-untyped-call-overload.ts.)
// @isolated -- a global augmentation would make every object of a shared program carry the brands
import { allocCoherent, iomap, Machine, setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice, SleepableDevice } from "boundscope";

type TokenKey = Extract<keyof BoundDevice<unknown>, symbol>;
type SleepKey = Exclude<Extract<keyof SleepableDevice<unknown>, symbol>, TokenKey>;
type CoreKey = Exclude<Extract<keyof ProbeDevice<unknown>, symbol>, TokenKey | SleepKey>;
declare const tokenKey: TokenKey;
declare const sleepKey: SleepKey;
declare const coreKey: CoreKey;

declare global {
  interface Object {
    readonly [tokenKey]: <Probe>() => never;
    readonly [sleepKey]: <Probe>() => never;
    readonly [coreKey]: <Probe>() => never;
  }
}

const plain = new Machine().pci.plug({ vendor: 1, device: 1 });
// @expect-error TS2345 ts7=TS2741 /Property '#private' is missing in type 'Device' but required in type 'BoundDevice<unknown>'/ -- a plain Device, brands from Object, as a token
allocCoherent(plain, 64);
// @expect-error TS2345 ts7=TS2741 /Property '#private' is missing in type 'Device' but required in type 'ProbeDevice<unknown>'/ -- a plain Device, every brand from Object, as the core context
setDmaMask(plain, 64);
// @expect-error TS2345 ts7=TS2741 /Property '#private' is missing in type '\{ name: string; vendor: number; device: number; state: "bound"; \}' but required in type 'ProbeDevice<unknown>'/ -- a literal, brands from Object, as the core context
iomap({ name: "fake", vendor: 1, device: 1, state: "bound" }, 0);
// @expect-error TS2741 /Property '#private' is missing in type 'Device' but required in type 'ProbeDevice<"any">'/ -- a plain Device as the core context of any scope
export const anyScope: ProbeDevice<"any"> = plain;
