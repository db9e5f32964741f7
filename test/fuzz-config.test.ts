/**
 * Config space fuzzing (src/sim/config-space.ts): random reads, writes,
 * device-raised error bits and function-level resets, each checked against a
 * small reference model that knows only which bits of which register are
 * read-only, read-write or write-one-to-clear, and which registers have side
 * effects (the bus-master bit, the FLR bit). A fixed seed keeps it
 * deterministic.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pciRegs } from "../src/index.js";
import { ConfigSpace } from "../src/sim/config-space.js";
import type { ConfigLayout, ConfigWidth } from "../src/sim/config-space.js";

const R = pciRegs;
const SEED = 20_260_113;
const RUNS = 200;

/** Which bits software writes (RW) and which it clears with one (RW1C), per register: the spec, written out apart from the implementation. */
function referenceMasks(layout: ConfigLayout, msixAt: number): { readonly rw: Uint8Array; readonly rw1c: Uint8Array } {
  const rw = new Uint8Array(4096);
  const rw1c = new Uint8Array(4096);
  const put = (masks: Uint8Array, offset: number, width: number, bits: number) => {
    for (let i = 0; i < width; i++) masks[offset + i] = (bits >>> (8 * i)) & 0xff;
  };
  put(rw, R.COMMAND, 2, 0x0546);
  put(rw1c, R.STATUS, 2, 0xf900);
  put(rw, R.CACHE_LINE_SIZE, 1, 0xff);
  layout.bars.forEach((size, i) => put(rw, R.BASE_ADDRESS_0 + 4 * i, 4, size <= 2 ** 31 ? ~(size - 1) & 0xffff_fff0 : 0));
  put(rw, R.INTERRUPT_LINE, 1, 0xff);
  put(rw, 0x40 + R.EXP_DEVCTL, 2, 0x7fff);
  put(rw1c, 0x40 + R.EXP_DEVSTA, 2, 0x000f);
  if (msixAt > 0) put(rw, msixAt + R.MSIX_FLAGS, 2, 0xc000);
  return { rw, rw1c };
}

type Op =
  | { readonly kind: "read"; readonly offset: number; readonly width: ConfigWidth }
  | { readonly kind: "write"; readonly offset: number; readonly width: ConfigWidth; readonly value: number }
  | { readonly kind: "raise"; readonly which: "status" | "devsta"; readonly bits: number };

/** Offsets where something happens, more often than the whole 4 KiB would give them. */
const INTERESTING = [R.COMMAND, R.STATUS, R.CACHE_LINE_SIZE, R.BASE_ADDRESS_0, R.BASE_ADDRESS_0 + 4, R.BASE_ADDRESS_0 + 8, R.INTERRUPT_LINE, R.VENDOR_ID, 0x40, 0x48, 0x4a, 0x7c, 0x7e, 0x88, 0x100];

const width = fc.constantFrom<ConfigWidth>(1, 2, 4);
const offsetFor = (w: ConfigWidth) => fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 0xff }), fc.integer({ min: 0, max: 4095 })).map((o) => Math.min(o - (o % w), 4096 - w));
const value = fc.oneof(fc.constant(0xffff_ffff), fc.constant(0), fc.constant(R.EXP_DEVCTL_BCR_FLR), fc.constant(R.COMMAND_MASTER), fc.integer({ min: 0, max: 0xffff_ffff }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: width.chain((w) => offsetFor(w).map((offset) => ({ kind: "read" as const, offset, width: w }))) },
  { weight: 5, arbitrary: width.chain((w) => fc.tuple(offsetFor(w), value).map(([offset, v]) => ({ kind: "write" as const, offset, width: w, value: v % 2 ** (8 * w) }))) },
  // The command register, as drivers write it: bus mastering on and off.
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((v) => ({ kind: "write" as const, offset: R.COMMAND, width: 2 as const, value: v })) },
  // The RW1C registers, as a driver clears them: status and Device Status words.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(R.STATUS, 0x40 + R.EXP_DEVSTA), fc.oneof(fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }))).map(([offset, v]) => ({ kind: "write" as const, offset, width: 2 as const, value: v })) },
  // A function-level reset, as a driver starts one: a word write of Device Control with the FLR bit.
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x7fff }).map((v) => ({ kind: "write" as const, offset: 0x48, width: 2 as const, value: v | R.EXP_DEVCTL_BCR_FLR })) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("raise" as const), which: fc.constantFrom("status" as const, "devsta" as const), bits: fc.oneof(fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })) }) },
);
const layout: fc.Arbitrary<ConfigLayout> = fc.record({
  vendor: fc.integer({ min: 0, max: 0xffff }),
  device: fc.integer({ min: 0, max: 0xffff }),
  revision: fc.integer({ min: 0, max: 0xff }),
  classCode: fc.integer({ min: 0, max: 0xff_ffff }),
  bars: fc.array(fc.integer({ min: 4, max: 32 }).map((bits) => 2 ** bits), { maxLength: 6 }),
  msix: fc.constantFrom(0, 1, 8, 64, 2048),
  capabilities: fc.array(fc.uint8Array({ maxLength: 12 }).map((bytes) => ({ id: 0x09, bytes })), { maxLength: 3 }),
});

describe("config space fuzzing", () => {
  it(`${RUNS} random command sequences keep RO, RW and RW1C bits, bus mastering and FLR as the reference says (seed ${SEED})`, () => {
    let resets = 0;
    let masterFlips = 0;
    let cleared = 0;
    fc.assert(
      fc.property(layout, fc.array(op, { minLength: 10, maxLength: 60 }), (shape, ops) => {
        const heard: string[] = [];
        const space = new ConfigSpace(shape, {
          busMasterChanged: (on) => heard.push(`master ${on}`),
          functionReset: () => heard.push("reset"),
          hookRead: (_o, _w, stored) => stored,
          hookWrite: () => {},
        });
        const { rw, rw1c } = referenceMasks(shape, space.msixAt);
        // The power-on image, as read through the space itself; header values are the unit tests' to check.
        const dwords = (read: (o: number) => number) => Array.from({ length: 1024 }, (_, i) => read(4 * i));
        const initial = new Uint8Array(Uint32Array.from(dwords((o) => space.read(o, 4))).buffer);
        const model = initial.slice();
        const get = (offset: number, w: number) => {
          let v = 0;
          for (let i = 0; i < w; i++) v |= model[offset + i]! << (8 * i);
          return v >>> 0;
        };
        const master = () => (model[R.COMMAND]! & R.COMMAND_MASTER) !== 0;
        for (const step of ops) {
          const expected: string[] = [];
          if (step.kind === "read") {
            expect(space.read(step.offset, step.width)).toBe(get(step.offset, step.width));
          } else if (step.kind === "write") {
            const was = master();
            for (let i = 0; i < step.width; i++) {
              const at = step.offset + i;
              const b = (step.value >>> (8 * i)) & 0xff;
              if ((model[at]! & b & rw1c[at]!) !== 0) cleared++;
              model[at] = ((model[at]! & ~rw[at]!) | (b & rw[at]!)) & ~(b & rw1c[at]!);
            }
            const flrByte = 0x49;
            const flr = step.offset <= flrByte && flrByte < step.offset + step.width && ((step.value >>> (8 * (flrByte - step.offset))) & 0x80) !== 0;
            if (flr) {
              if (was) expected.push("master false");
              expected.push("reset");
              model.set(initial);
              resets++;
            } else if (master() !== was) {
              expected.push(`master ${master()}`);
              masterFlips++;
            }
            space.write(step.offset, step.width, step.value);
          } else {
            const at = step.which === "status" ? R.STATUS : 0x40 + R.EXP_DEVSTA;
            for (let i = 0; i < 2; i++) model[at + i]! |= ((step.bits >>> (8 * i)) & 0xff) & rw1c[at + i]!;
            space.raise(at, step.bits);
          }
          expect(heard.splice(0)).toEqual(expected);
          expect(space.busMaster).toBe(master());
          expect(space.memoryEnabled).toBe((model[R.COMMAND]! & R.COMMAND_MEMORY) !== 0);
          expect(space.msixEnabled).toBe(space.msixAt > 0 && (get(space.msixAt + R.MSIX_FLAGS, 2) & R.MSIX_FLAGS_ENABLE) !== 0);
        }
        // The whole space agrees at the end, byte by byte.
        expect(dwords((o) => space.read(o, 4))).toEqual(dwords((o) => get(o, 4)));
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // The run reached what it claims to check.
    expect(resets).toBeGreaterThan(RUNS / 10);
    expect(masterFlips).toBeGreaterThan(RUNS / 10);
    expect(cleared).toBeGreaterThan(RUNS / 10);
  }, 20_000);
});
