/**
 * Hostile input for PCI as drivers see it and for register polls
 * (src/driver/pci.ts, src/driver/iopoll.ts, src/sim/config-space.ts):
 * config offsets outside the 4 KiB, misaligned or not numbers; values that
 * do not fit the width; dead, forged and missing tokens; capability ids and
 * positions out of range; enable and disable outside the core context or
 * unbalanced; resets with dead tokens; polls with bad options, callbacks
 * that are not functions; vendor capabilities that do not fit;
 * writes to read-only registers. Each is refused with a clear code and
 * changes nothing (a read-only register just keeps its value).
 */

import {
  DeviceModel,
  pciDisableDevice,
  pciEnableDevice,
  pciFindCapability,
  pciFindNextCapability,
  pcimEnableDevice,
  pciReadConfigByte,
  pciReadConfigDword,
  pciReadConfigWord,
  pciRegs,
  pciResetFunction,
  pciWriteConfigByte,
  pciWriteConfigDword,
  pciWriteConfigWord,
  readPollTimeout,
  readPollTimeoutAtomic,
} from "../../src/index.js";
import type { AtomicPollOptions, DeviceModelSpec, PollOptions, ProbeDevice } from "../../src/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const EINVAL = { code: "EINVAL" } as const;
const EPERM = { code: "EPERM" } as const;
const ENXIO = { code: "ENXIO" } as const;
const IGNORED = { ignored: true } as const;

type Token = ProbeDevice<"hostile">;
/** A token-shaped argument: the probe context's type passes for every context. */
const tok = (value: unknown): Token => value as Token;
const live = (rig: Rig): Token => tok(rig.a.token);
const dead = (rig: Rig): Token => tok(rig.dead.token);

/** Fails the row if `ok` is false: for rows whose outcome is "nothing thrown". */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`hostile row: ${what}`);
}

const rows: Row[] = [];

function table(entry: string, outcome: Row["outcome"], inputs: readonly (readonly [input: string, act: (rig: Rig) => unknown])[], note?: string): void {
  for (const [input, act] of inputs) rows.push({ entry, input, outcome, act, ...(note === undefined ? {} : { note }) });
}

const READ = "pciReadConfigByte/pciReadConfigWord/pciReadConfigDword(dev, offset)";
const WRITE = "pciWriteConfigByte/pciWriteConfigWord/pciWriteConfigDword(dev, offset, value)";

table(READ, EINVAL, [
  ["`offset` `4096`", (rig) => pciReadConfigByte(live(rig), 4096)],
  ["`offset` `-1`", (rig) => pciReadConfigByte(live(rig), -1)],
  ["`offset` `1.5`", (rig) => pciReadConfigByte(live(rig), 1.5)],
  ['`offset` `"4"`', (rig) => pciReadConfigWord(live(rig), any("4"))],
  ["`offset` `NaN`", (rig) => pciReadConfigWord(live(rig), Number.NaN)],
  ["a word at `0x05` (misaligned)", (rig) => pciReadConfigWord(live(rig), 0x05)],
  ["a dword at `0x06` (misaligned)", (rig) => pciReadConfigDword(live(rig), 0x06)],
  ["a dword at `4094` (past the end)", (rig) => pciReadConfigDword(live(rig), 4094)],
  ["`dev` `null`", () => pciReadConfigDword(tok(null), 0)],
]);
table(READ, ENXIO, [["a dead token", (rig) => pciReadConfigDword(dead(rig), 0)]]);
table(READ, EPERM, [["a look-alike token `{ name, vendor, device }`", (rig) => pciReadConfigDword(tok({ name: rig.a.dev.name, vendor: 0x1af4, device: 1 }), 0)]]);

table(
  WRITE,
  EINVAL,
  [
    ["a byte `0x100`", (rig) => pciWriteConfigByte(live(rig), pciRegs.INTERRUPT_LINE, 0x100)],
    ["a word `-1`", (rig) => pciWriteConfigWord(live(rig), pciRegs.COMMAND, -1)],
    ["a word `NaN`", (rig) => pciWriteConfigWord(live(rig), pciRegs.COMMAND, Number.NaN)],
    ["a word `0x4.8` (a fraction)", (rig) => pciWriteConfigWord(live(rig), pciRegs.COMMAND, 4.5)],
    ["a dword `2 ** 32`", (rig) => pciWriteConfigDword(live(rig), pciRegs.BASE_ADDRESS_0, 2 ** 32)],
    ["a dword `0n` (a bigint)", (rig) => pciWriteConfigDword(live(rig), pciRegs.BASE_ADDRESS_0, any(0n))],
    ['a word `"4"`', (rig) => pciWriteConfigWord(live(rig), pciRegs.COMMAND, any("4"))],
    ["a dword at `0x12` (misaligned)", (rig) => pciWriteConfigDword(live(rig), 0x12, 0)],
    ["a byte at `4096`", (rig) => pciWriteConfigByte(live(rig), 4096, 0)],
  ],
  "nothing is written",
);
table(WRITE, ENXIO, [["a dead token", (rig) => pciWriteConfigWord(dead(rig), pciRegs.COMMAND, 0)]]);
table(
  WRITE,
  IGNORED,
  [
    [
      "the read-only vendor id, revision and capability pointer",
      (rig) => {
        const before = [pciReadConfigDword(live(rig), 0), pciReadConfigDword(live(rig), 8), pciReadConfigByte(live(rig), pciRegs.CAPABILITY_LIST)];
        pciWriteConfigDword(live(rig), 0, 0);
        pciWriteConfigByte(live(rig), pciRegs.REVISION_ID, 0xff);
        pciWriteConfigByte(live(rig), pciRegs.CAPABILITY_LIST, 0);
        const after = [pciReadConfigDword(live(rig), 0), pciReadConfigDword(live(rig), 8), pciReadConfigByte(live(rig), pciRegs.CAPABILITY_LIST)];
        check(JSON.stringify(after) === JSON.stringify(before), "a read-only register changed");
      },
    ],
    [
      "all-ones over the status register (RW1C, nothing set)",
      (rig) => {
        pciWriteConfigWord(live(rig), pciRegs.STATUS, 0xffff);
        check(pciReadConfigWord(live(rig), pciRegs.STATUS) === pciRegs.STATUS_CAP_LIST, "status changed");
      },
    ],
  ],
  "the register keeps its value",
);

table("pciFindCapability(dev, id)", EINVAL, [
  ["`id` `0x100`", (rig) => pciFindCapability(live(rig), 0x100)],
  ["`id` `-1`", (rig) => pciFindCapability(live(rig), -1)],
  ['`id` `"16"`', (rig) => pciFindCapability(live(rig), any("16"))],
]);
table("pciFindCapability(dev, id)", ENXIO, [["a dead token", (rig) => pciFindCapability(dead(rig), pciRegs.CAP_ID_EXP)]]);
table("pciFindNextCapability(dev, position, id)", EINVAL, [
  ["`position` `0x41` (misaligned)", (rig) => pciFindNextCapability(live(rig), 0x41, pciRegs.CAP_ID_VNDR)],
  ["`position` `0x3c` (inside the header)", (rig) => pciFindNextCapability(live(rig), 0x3c, pciRegs.CAP_ID_VNDR)],
  ["`position` `0x100` (extended space)", (rig) => pciFindNextCapability(live(rig), 0x100, pciRegs.CAP_ID_VNDR)],
  ["`id` `NaN`", (rig) => pciFindNextCapability(live(rig), 0x40, Number.NaN)],
]);

const core = (rig: Rig): Token => tok(rig.core);
const escaped = (rig: Rig): Token => tok(rig.a.token);
table("pciEnableDevice/pcimEnableDevice(dev)", EPERM, [
  ["`pciEnableDevice` with a token outside probe and remove", (rig) => pciEnableDevice(escaped(rig))],
  ["`pcimEnableDevice` with a token outside probe and remove", (rig) => pcimEnableDevice(escaped(rig))],
]);
table("pciEnableDevice/pcimEnableDevice(dev)", ENXIO, [
  ["`pciEnableDevice` with a dead token", (rig) => pciEnableDevice(tok(rig.dead.token))],
  ["`pcimEnableDevice` with a dead token", (rig) => pcimEnableDevice(tok(rig.dead.token))],
]);
table("pciDisableDevice(dev)", EINVAL, [["a device never enabled (core context)", (rig) => pciDisableDevice(core(rig))]]);
table("pciDisableDevice(dev)", EPERM, [["a token outside probe and remove", (rig) => pciDisableDevice(escaped(rig))]]);

table("pciResetFunction(dev)", ENXIO, [["a dead token", (rig) => pciResetFunction(tok(rig.dead.token))]]);
table("pciResetFunction(dev)", EPERM, [["a look-alike token", () => pciResetFunction(tok({ name: "x", vendor: 1, device: 2 }))]]);

table("pciRegs", IGNORED, [
  [
    '`Reflect.set(pciRegs, "COMMAND", 5)`',
    () => {
      check(!Reflect.set(pciRegs, "COMMAND", 5) && pciRegs.COMMAND === 4, "pciRegs changed");
    },
  ],
], "it is frozen");

const poll = (rig: Rig, options: unknown, read: unknown = () => 0, cond: unknown = () => false) =>
  readPollTimeout(tok(rig.a.token), any<() => number>(read), any<(value: number) => boolean>(cond), any<PollOptions>(options));
table("readPollTimeout(dev, read, cond, options)", EINVAL, [
  ["`sleepNs` `0`", (rig) => poll(rig, { sleepNs: 0, timeoutNs: 1_000 })],
  ["`sleepNs` `NaN`", (rig) => poll(rig, { sleepNs: Number.NaN, timeoutNs: 1_000 })],
  ["`timeoutNs` `-1`", (rig) => poll(rig, { sleepNs: 1, timeoutNs: -1 })],
  ["`timeoutNs` `Infinity`", (rig) => poll(rig, { sleepNs: 1, timeoutNs: Infinity })],
  ["`options` `null`", (rig) => poll(rig, null)],
  ["`read` `0`", (rig) => poll(rig, { sleepNs: 1, timeoutNs: 1 }, 0)],
  ['`cond` `"ready"`', (rig) => poll(rig, { sleepNs: 1, timeoutNs: 1 }, () => 0, "ready")],
]);
table("readPollTimeout(dev, read, cond, options)", ENXIO, [["a dead token", (rig) => readPollTimeout(tok(rig.dead.token), () => 0, () => true, { sleepNs: 1, timeoutNs: 1 })]]);

const spin = (rig: Rig, options: unknown, read: unknown = () => 0, cond: unknown = () => false) =>
  readPollTimeoutAtomic(tok(rig.a.token), any<() => number>(read), any<(value: number) => boolean>(cond), any<AtomicPollOptions>(options));
table("readPollTimeoutAtomic(dev, read, cond, options)", EINVAL, [
  ["`delayNs` `0`", (rig) => spin(rig, { delayNs: 0, timeoutNs: 1_000 })],
  ["`timeoutNs` `0` (would spin forever)", (rig) => spin(rig, { delayNs: 1, timeoutNs: 0 })],
  ["`timeoutNs` `1e9` with `delayNs` `1` (a billion reads)", (rig) => spin(rig, { delayNs: 1, timeoutNs: 1e9 })],
  ["`delayNs` `0.5`", (rig) => spin(rig, { delayNs: 0.5, timeoutNs: 10 })],
  ["`read` `null`", (rig) => spin(rig, { delayNs: 1, timeoutNs: 1 }, null)],
]);
table("readPollTimeoutAtomic(dev, read, cond, options)", ENXIO, [["a dead token", (rig) => readPollTimeoutAtomic(tok(rig.dead.token), () => 0, () => true, { delayNs: 1, timeoutNs: 1 })]]);

const model = (spec: Partial<DeviceModelSpec>) => new DeviceModel(any<DeviceModelSpec>({ vendor: 1, device: 2, ...spec }));
table("new DeviceModel(spec)", EINVAL, [
  ["`capabilities` with id `0x11` (MSI-X comes from `msix`)", () => model({ capabilities: [{ id: 0x11, bytes: new Uint8Array(8) }] })],
  ["`capabilities` with `bytes` `[1, 2]` (not a Uint8Array)", () => model({ capabilities: any([{ id: 9, bytes: [1, 2] }]) })],
  ["`capabilities` over the 192 bytes below 0x100", () => model({ capabilities: [{ id: 9, bytes: new Uint8Array(120) }, { id: 9, bytes: new Uint8Array(120) }] })],
  ["`capabilities` a sparse array `[ , ]`", () => model({ capabilities: any(new Array(1)) })],
  ["`revision` `0x100`", () => model({ revision: 0x100 })],
  ["`classCode` `-1`", () => model({ classCode: -1 })],
]);

export { rows };

export const entries: readonly string[] = [
  READ,
  WRITE,
  "pciFindCapability(dev, id)",
  "pciFindNextCapability(dev, position, id)",
  "pciEnableDevice/pcimEnableDevice(dev)",
  "pciDisableDevice(dev)",
  "pciResetFunction(dev)",
  "pciRegs",
  "readPollTimeout(dev, read, cond, options)",
  "readPollTimeoutAtomic(dev, read, cond, options)",
];
