// Blocks: parking the token as `unknown`, `{}`, `object` or `Object`, which
// compiles (those types grant nothing), and using it from there: a top type
// is no token, and there is no way back to the brand without a cast.
import { allocCoherent, defineDriver, iomap } from "boundscope";

let asUnknown: unknown;
let asEmpty: {} = {};
let asObject: object = {};
let asBoxed: Object = {};

export const parking = defineDriver({
  name: "parking",
  ids: [{ vendor: 1, device: 1 }],
  probe(dev) {
    asUnknown = dev;
    asEmpty = dev;
    asObject = dev;
    asBoxed = dev;
    return {};
  },
});

export function later(): void {
  // @expect-error TS2345 /Argument of type 'unknown' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- back from unknown
  allocCoherent(asUnknown, 64);
  // @expect-error TS2345 ts7=TS2740 /Type '\{\}' is missing the following properties from type 'BoundDevice<unknown>': #private, |Argument of type '\{\}' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- back from {} (5.4 and 6 list #private and the fields, 7 the brand too)
  allocCoherent(asEmpty, 64);
  // @expect-error TS2345 /Argument of type 'object' is not assignable to parameter of type 'ProbeDevice<unknown>'/ -- back from object
  iomap(asObject, 0);
  // @expect-error TS2345 /Argument of type 'Object' is not assignable to parameter of type 'BoundDevice<unknown>'/ -- back from Object
  allocCoherent(asBoxed, 64);
}
