// Blocks: an object literal posing as a token. It has every public field of a
// device, but not the brand, which user code cannot name, nor the private
// member (`#private` in the messages) of the declared class each token type
// aliases, which no literal has: the compilers now list both as missing.
import { allocCoherent, Devres } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

const lookalike = { name: "0000:00:01.0", vendor: 0x1af4, device: 0x1000, state: "bound" } as const;

// @expect-error TS2345 ts7=TS2739 /Type '\{[^']*\}' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type '\{[^']*\}' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a look-alike passed to allocCoherent
allocCoherent(lookalike, 4096);

// @expect-error TS2345 ts7=TS2739 /Type '\{[^']*\}' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type '\{[^']*\}' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- an inline literal passed to allocCoherent
allocCoherent({ name: "fake", vendor: 1, device: 2, state: "bound" }, 64);

// @expect-error TS2739 /Type '\{[^']*\}' is missing the following properties from type 'BoundDevice<"x">': #private, \[tokenOfOneBindingOnly\]/ -- a literal assigned to a BoundDevice
const forged: BoundDevice<"x"> = { name: "fake", vendor: 1, device: 2, state: "bound" };

// @expect-error TS2739 /Type '\{[^']*\}' is missing the following properties from type 'ProbeDevice<"x">': \[coreContextOnlyInProbeOrRemove\], (\[sleepableContext\], #private, \[tokenOfOneBindingOnly\]|#private, \[tokenOfOneBindingOnly\], \[sleepableContext\])/ -- a literal assigned to the core context
const forgedCore: ProbeDevice<"x"> = { name: "fake", vendor: 1, device: 2, state: "probing" };

// @expect-error TS2345 ts7=TS2739 /Type '\{[^']*\}' is missing the following properties from type 'BoundDevice<unknown>': #private, \[tokenOfOneBindingOnly\]|Argument of type '\{[^']*\}' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- a look-alike passed to Devres.new
Devres.new(lookalike, 1);

void [forged, forgedCore];
