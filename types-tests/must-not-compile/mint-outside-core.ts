// Blocks: minting a token outside the core. Neither the minting function nor
// the brand symbols are exported, so user code can neither call the one nor
// write an object literal that carries the other; and no literal has the
// token classes' private member (`#private`), which the compilers now list
// as missing beside the brands.
// @expect-error TS2305 /has no exported member 'mintToken'/ -- the core's minting function
import { mintToken } from "boundscope";
// @expect-error TS2305 /has no exported member 'tokenOfOneBindingOnly'/ -- the token's brand symbol
import { tokenOfOneBindingOnly } from "boundscope";
// @expect-error TS2305 /has no exported member 'coreContextOnlyInProbeOrRemove'/ -- the core context's brand symbol
import { coreContextOnlyInProbeOrRemove } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

export const minted = mintToken(undefined as never);

// @expect-error TS2739 /is missing the following properties from type 'BoundDevice<"x">': #private, \[tokenOfOneBindingOnly\]/ -- a literal keyed by the brand symbol (an unresolved import: no key, and no private member)
export const forged: BoundDevice<"x"> = { name: "fake", vendor: 1, device: 2, state: "bound", [tokenOfOneBindingOnly]: <Probe>() => undefined as never };

// @expect-error TS2739 /is missing the following properties from type 'ProbeDevice<"y">': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])/ -- a literal keyed by both brand symbols (unresolved imports: no keys, and no private member)
export const forgedCore: ProbeDevice<"y"> = { name: "fake", vendor: 1, device: 2, state: "probing", [tokenOfOneBindingOnly]: <Probe>() => undefined as never, [coreContextOnlyInProbeOrRemove]: <Probe>() => undefined as never };
