// Blocks: minting a token outside the core. Neither the minting function nor
// the brand symbols are exported, so user code can neither call the one nor
// write an object literal that carries the other.
// @expect-error TS2305 /has no exported member 'mintToken'/ -- the core's minting function
import { mintToken } from "boundscope";
// @expect-error TS2305 /has no exported member 'tokenBrand'/ -- the token's brand symbol
import { tokenBrand } from "boundscope";
import type { BoundDevice } from "boundscope";

export const minted = mintToken(undefined as never);

// @expect-error TS2741 /Property '\[tokenBrand\]' is missing in type/ -- a literal keyed by the brand symbol
export const forged: BoundDevice<"x"> = { name: "fake", vendor: 1, device: 2, state: "bound", [tokenBrand]: <Probe>() => undefined as never };
