// Blocks: a plain number or bigint posing as a DmaAddress. Bus addresses come
// only from allocations; a made-up one would point the hardware anywhere.
import { freeCoherent } from "boundscope";
import type { BoundDevice, DmaAddress } from "boundscope";

// @expect-error TS2322 /Type 'number' is not assignable to type 'DmaAddress<"x">'/ -- a number
const fromNumber: DmaAddress<"x"> = 0x1000;

// @expect-error TS2322 /Type 'bigint' is not assignable to type 'DmaAddress<"x">'/ -- a plain bigint
const fromBigint: DmaAddress<"x"> = 0x1000n;

function program<Scope>(address: DmaAddress<Scope>): void {
  void address;
}

// @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'DmaAddress<Scope>'/ -- arithmetic on an address gives a plain bigint
export const next = <Scope>(base: DmaAddress<Scope>) => program<Scope>(base + 4096n);

// @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'DmaAddress<unknown>'/ -- BigInt() of a number
program(BigInt(0xfee0_0000));

export function freeMadeUp<Scope>(dev: BoundDevice<Scope>): void {
  // @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'DmaAddress<Scope, "coherent">'/ -- freeing a made-up bus address
  freeCoherent(dev, 0x1000n);
}

void [fromNumber, fromBigint];
