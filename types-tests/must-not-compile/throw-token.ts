// Blocks: throwing the token (or an allocation) out of probe() and catching
// it outside. Under `strict` a catch variable is `unknown`
// (useUnknownInCatchVariables), so what is caught is no token until a cast
// says so; annotating the catch variable with a token type is not allowed.
import { allocCoherent, defineDriver, Machine } from "boundscope";
import type { CoherentAllocation } from "boundscope";

const machine = new Machine();

export async function smuggle(): Promise<void> {
  try {
    await machine.pci.register(
      defineDriver({
        name: "thrower",
        ids: [{ vendor: 1, device: 1 }],
        probe(dev) {
          throw dev;
        },
      }),
    );
  } catch (caught) {
    // @expect-error TS2345 /Argument of type 'unknown' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- the caught token is unknown
    allocCoherent(caught, 64);
  }
  try {
    machine.pci.plug({ vendor: 1, device: 1 });
    // @expect-error TS1196 /Catch clause variable type annotation must be 'any' or 'unknown' if specified/ -- a token type on the catch variable
  } catch (ring: CoherentAllocation<"x">) {
    void ring;
  }
}
