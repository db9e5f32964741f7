// Blocks: nothing that is wrong. A known false positive, kept so that a fix
// is noticed: `this.ring` inside a method of the object literal a probe
// returns. TypeScript types `this` in an object literal's method as the
// literal's contextual type, here DriverInstance<Scope>, which has no
// `ring`, so correct code is refused. Write the state in the closure
// (`ring.bytes(dev)`, must-compile/closure-driver.ts) or in a class
// (must-compile/class-patterns.ts). Should TypeScript (or DriverInstance)
// ever type `this` as the literal itself, this fixture fails with
// missing-error: move it to must-compile.
import { allocCoherent, defineDriver } from "boundscope";

export const literalThis = defineDriver({
  name: "literal-this",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    return {
      ring: allocCoherent(dev, 64),
      remove(d) {
        // @expect-error TS2339 /Property 'ring' does not exist on type 'DriverInstance<Scope> \| Promise<DriverInstance<Scope>>'/ -- the false positive: `this` is the contextual type, not the literal
        this.ring.bytes(d).fill(0);
      },
    };
  },
});
