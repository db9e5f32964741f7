// Blocks: naming a scope in explicit type arguments to the library's
// functions, to get handles of a scope the driver can park: allocCoherent,
// iomap, requestIrq and spawn with `unknown` or a literal. The token then
// has to be of that scope, and the binding's is not.
import { allocCoherent, defineDriver, iomap, requestIrq, spawn } from "boundscope";

export const explicit = defineDriver({
  name: "explicit",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- allocCoherent<unknown>
    allocCoherent<unknown>(dev, 64);
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<"regs">'/ -- iomap<"regs">
    iomap<"regs">(dev, 0);
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<never>'/ -- requestIrq<never>
    requestIrq<never>(dev, () => {});
    // @expect-error TS2345 /Argument of type 'ProbeDevice<Scope>' is not assignable to parameter of type 'ProbeDevice<any\[\]>'/ -- spawn<any[]>
    spawn<any[]>(dev, async () => {});
    return {};
  },
});
