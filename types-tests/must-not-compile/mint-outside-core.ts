// Blocks: minting a token outside the core. Neither the minting function nor
// the brand symbols are exported, so user code can neither call the one nor
// write an object literal that carries the other.
// @expect-error TS2305 /has no exported member 'mintToken'/ -- the core's minting function
import { mintToken } from "boundscope";
// @expect-error TS2305 /has no exported member 'tokenOfOneBindingOnly'/ -- the token's brand symbol
import { tokenOfOneBindingOnly } from "boundscope";
// @expect-error TS2305 /has no exported member 'coreContextOnlyInProbeOrRemove'/ -- the core context's brand symbol
import { coreContextOnlyInProbeOrRemove } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

export const minted = mintToken(undefined as never);

// @expect-error TS2741 /Property '\[tokenOfOneBindingOnly\]' is missing in type/ -- a literal keyed by the brand symbol
export const forged: BoundDevice<"x"> = { name: "fake", vendor: 1, device: 2, state: "bound", [tokenOfOneBindingOnly]: <Probe>() => undefined as never };

// @expect-error TS2739 /missing the following properties from type 'ProbeDevice<"y">': \[tokenOfOneBindingOnly\], \[coreContextOnlyInProbeOrRemove\]/ -- a literal keyed by both brand symbols
export const forgedCore: ProbeDevice<"y"> = { name: "fake", vendor: 1, device: 2, state: "probing", [tokenOfOneBindingOnly]: <Probe>() => undefined as never, [coreContextOnlyInProbeOrRemove]: <Probe>() => undefined as never };
