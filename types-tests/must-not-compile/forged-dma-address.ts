// Blocks: a plain number or bigint posing as a DmaAddress. Bus addresses come
// only from allocations; a made-up one would point the hardware anywhere.
import type { DmaAddress } from "boundscope";

// @expect-error TS2322 /Type 'number' is not assignable to type 'DmaAddress'/ -- a number
const fromNumber: DmaAddress = 0x1000;

// @expect-error TS2322 /Type 'bigint' is not assignable to type 'DmaAddress'/ -- a plain bigint
const fromBigint: DmaAddress = 0x1000n;

function program(address: DmaAddress): void {
  void address;
}

// @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'DmaAddress'/ -- arithmetic on an address gives a plain bigint
export const next = (base: DmaAddress) => program(base + 4096n);

// @expect-error TS2345 /Argument of type 'bigint' is not assignable to parameter of type 'DmaAddress'/ -- BigInt() of a number
program(BigInt(0xfee0_0000));

void [fromNumber, fromBigint];
