// A known hole, kept here so that a change in it is noticed. Two drivers whose
// probes are both left unannotated and written one inside the other share one
// scope type: TypeScript gives every contextually typed probe the type
// parameter declared in DriverSpec, and nesting makes both visible at once.
// Making defineDriver generic (so each call gets a fresh scope) closes it but
// breaks the contextual typing of `remove(dev)` in returned objects, which
// every ordinary driver relies on. The run time still refuses the mix: EINVAL,
// "the token is for another binding" (test/driver.test.ts). Annotating the
// probes (`probe<A>(devA: ProbeDevice<A>)`) makes the types refuse it too
// (must-not-compile/mix-scopes-two-drivers.ts).
import { allocCoherent, defineDriver, Devres } from "boundscope";

export const outer = defineDriver({
  name: "outer",
  ids: [{ vendor: 1, device: 1 }],
  probe(devA) {
    const bufA = allocCoherent(devA, 64);
    const resA = Devres.new(devA, { count: 0 });
    const inner = defineDriver({
      name: "inner",
      ids: [{ vendor: 1, device: 2 }],
      probe(devB) {
        bufA.bytes(devB);
        resA.access(devB);
        return {
          remove(devB2) {
            bufA.view(devB2);
          },
        };
      },
    });
    void inner;
    return {
      remove(devA2) {
        bufA.bytes(devA2);
        resA.access(devA2).count++;
      },
    };
  },
});
