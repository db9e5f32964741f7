// Blocks: an id table whose data does not fit: data of the wrong type in a
// table typed ahead, an entry without the data the others carry, and data
// on defineDriver's ids, which its probe never receives typed.
import { defineDriver, deviceTable } from "boundscope";
import type { DeviceId } from "boundscope";

interface Info {
  readonly queues: number;
}

// @expect-error TS2322 /Type 'string' is not assignable to type 'number'/ -- a string where the table's type wants a number
export const wrong = deviceTable<Info>([{ vendor: 1, device: 1, data: { queues: "4" } }]);

export const typedAhead: readonly DeviceId<Info>[] = [
  // @expect-error TS2322 /Property 'data' is missing in type '\{ vendor: number; device: number; \}' but required in type '\{ readonly data: Info; \}'/ -- an entry without the data
  { vendor: 1, device: 2 },
];

// @expect-error TS2322 /Property 'data' is missing in type '\{ vendor: number; device: number; \}' but required in type '\{ readonly data: \{ readonly queues: 2; \}; \}'/ -- inferred from the first entry, missing from the second
export const mixed = deviceTable([{ vendor: 1, device: 1, data: { queues: 2 } }, { vendor: 1, device: 2 }]);

export const onPlain = defineDriver({
  name: "on-plain",
  // @expect-error TS2322 /Type 'number' is not assignable to type 'undefined'/ -- data on defineDriver's ids
  ids: [{ vendor: 1, device: 1, data: 4 }],
  probe: () => ({}),
});
