// Blocks: nested descriptor accesses the layout does not have, or values
// that do not fit them: a path to no field, a value of the wrong type at a
// nested path or in an array, another binding's bus address in a nested
// field, and an array field forged as a literal instead of arrayOf.
import { arrayOf, defineStruct } from "boundscope";
import type { ArrayField, BoundDevice, CoherentAllocation } from "boundscope";

const Hdr = defineStruct({ flags: "u8", len: "u16" });
const Pkt = defineStruct({ hdr: Hdr, addrs: arrayOf("u64", 2) });

export function paths<A, B>(devA: BoundDevice<A>, ringA: CoherentAllocation<A>, bufB: CoherentAllocation<B>): void {
  const view = ringA.view(devA);
  // @expect-error TS2345 /Argument of type '"hdr.nope"' is not assignable to parameter of type/ -- a nested field the struct lacks
  Pkt.get(view, 0, "hdr.nope");
  // @expect-error TS2345 /Argument of type '"tail"' is not assignable to parameter of type/ -- a top-level field the struct lacks
  Pkt.set(view, 0, "tail", 1);
  // @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'number'/ -- a bigint for a u16 at a nested path
  Pkt.set(view, 0, "hdr.len", 1n);
  // @expect-error TS2322 /Type 'number' is not assignable to type 'RegisterValue<A>'/ -- a number in an array of u64
  Pkt.write(view, 0, { addrs: [1] });
  // @expect-error TS2345 /Argument of type 'DmaAddress<B, "coherent">' is not assignable to parameter of type 'RegisterValue<A>'/ -- B's bus address at a nested path of A's descriptor
  Pkt.set(view, 0, "addrs.1", bufB.dmaHandle);
  // @expect-error TS2322 /Type 'DmaAddress<B, "coherent">' is not assignable to type 'RegisterValue<A>'/ -- B's bus address in an array of A's descriptor
  Pkt.write(view, 0, { addrs: [bufB.dmaHandle] });
  // @expect-error TS2353 /'nope' does not exist in type/ -- an unknown field of a nested struct
  Pkt.write(view, 0, { hdr: { nope: 1 } });
}

// @expect-error TS2322 /Property '\[madeByArrayOf\]' is missing in type|is not assignable to type 'FieldSpec'/ -- an array field forged as a literal
export const Forged = defineStruct({ ring: { of: "u16", length: 4 } });
export const ok: ArrayField<"u16", 4> = arrayOf("u16", 4);
