/**
 * Hostile input for subsystem registrations (src/driver/registration.ts,
 * netdev.ts, blkdev.ts) and the stacks' faces (src/subsys/): registering
 * with things that are not a live core token, with ops or options that are
 * not what the types say, and the driver-side and user-side calls with
 * values of the wrong kind or another binding's token.
 */

import { Machine, registerBlockDevice, registerNetdev } from "../../src/index.js";
import type { BlockRequest, Netdev, ProbeDevice } from "../../src/index.js";
import type { Rig, Row, Transient } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

type Token = ProbeDevice<"smuggled">;

const transmit = (): "ok" => "ok";

/** A transient device whose probe runs `inProbe` and keeps what it threw; then unbound, checked, and the error rethrown. */
async function inProbe(rig: Rig, body: (dev: Token) => unknown): Promise<unknown> {
  let thrown: unknown;
  let returned: unknown;
  const t: Transient = await rig.transient({
    then: (dev) => {
      try {
        returned = body(any<Token>(dev));
      } catch (error) {
        thrown = error;
      }
    },
  });
  await rig.machine.pci.unbind(t.dev);
  await t.expectReleased("no-driver");
  if (thrown !== undefined) throw thrown;
  return returned;
}

/** A netdev registered on a transient device, its token, and a way to end it. */
async function withNetdev(rig: Rig, act: (netdev: Netdev<"smuggled">, dev: Token) => unknown): Promise<unknown> {
  let netdev: Netdev<"smuggled"> | undefined;
  let token: Token | undefined;
  const t = await rig.transient({
    then: (dev) => {
      token = any<Token>(dev);
      netdev = registerNetdev(token, { transmit });
    },
  });
  try {
    return act(netdev!, token!);
  } finally {
    await rig.machine.pci.unbind(t.dev);
    await t.expectReleased("no-driver");
  }
}

const notCoreTokens: readonly (readonly [string, "EINVAL" | "EPERM" | "ENXIO", (rig: Rig) => unknown])[] = [
  ["`null`", "EINVAL", () => null],
  ['`"token"`', "EINVAL", () => "token"],
  ["`{}`", "EPERM", () => ({})],
  ["the plain `Device`", "EPERM", (rig) => rig.a.dev],
  ["a Proxy of the token", "EPERM", (rig) => new Proxy(rig.a.token, {})],
  ["a dead token", "ENXIO", (rig) => rig.dead.token],
  ["a live token outside probe() and remove()", "EPERM", (rig) => rig.a.token],
];

export const rows: Row[] = [
  ...notCoreTokens.map(([input, code, token]): Row => ({
    entry: "registerNetdev",
    input: `${input} as the token`,
    outcome: { code },
    act: (rig) => registerNetdev(any<Token>(token(rig)), { transmit }),
  })),
  ...(
    [
      ["ops `null`", null],
      ["ops without `transmit`", {}],
      ["`transmit: 1`", { transmit: 1 }],
      ['`poll: "fast"`', { transmit, poll: "fast" }],
    ] as const
  ).map(([input, ops]): Row => ({ entry: "registerNetdev", input, outcome: { code: "EINVAL" }, act: (rig) => inProbe(rig, (dev) => registerNetdev(dev, any(ops))) })),
  ...(
    [
      ["`mtu: NaN`", { mtu: Number.NaN }],
      ["`mtu: 1e9`", { mtu: 1e9 }],
      ["`weight: 0`", { weight: 0 }],
      ["`name: 42`", { name: 42 }],
      ['`name: "a%d%d"`', { name: "a%d%d" }],
      ['`name: "has space"`', { name: "has space" }],
      ["options `null`", null],
    ] as const
  ).map(([input, options]): Row => ({ entry: "registerNetdev", input, outcome: { code: "EINVAL" }, act: (rig) => inProbe(rig, (dev) => registerNetdev(dev, { transmit }, any(options))) })),
  {
    entry: "registerNetdev",
    input: "a name another netdev has",
    outcome: { code: "EBUSY" },
    act: (rig) =>
      inProbe(rig, (dev) => {
        registerNetdev(dev, { transmit }, { name: "taken" });
        registerNetdev(dev, { transmit }, { name: "taken" });
      }),
  },
  ...notCoreTokens.map(([input, code, token]): Row => ({
    entry: "registerBlockDevice",
    input: `${input} as the token`,
    outcome: { code },
    act: (rig) => registerBlockDevice(any<Token>(token(rig)), { submit: () => {} }, { sectors: 8 }),
  })),
  ...(
    [
      ["no options", undefined],
      ["`sectors: -1`", { sectors: -1 }],
      ["`sectors: 2 ** 60`", { sectors: 2 ** 60 }],
      ["`sectorSize: 3`", { sectors: 8, sectorSize: 3 }],
      ["`queueDepth: 1.5`", { sectors: 8, queueDepth: 1.5 }],
    ] as const
  ).map(([input, options]): Row => ({ entry: "registerBlockDevice", input, outcome: { code: "EINVAL" }, act: (rig) => inProbe(rig, (dev) => registerBlockDevice(dev, { submit: () => {} }, any(options))) })),
  {
    entry: "registerBlockDevice",
    input: "ops without `submit`",
    outcome: { code: "EINVAL" },
    act: (rig) => inProbe(rig, (dev) => registerBlockDevice(dev, any({}), { sectors: 8 })),
  },
  {
    entry: "netdev.receive",
    input: "another binding's token",
    outcome: { code: "EINVAL" },
    act: (rig) => withNetdev(rig, (netdev) => netdev.receive(any(rig.b.token), new Uint8Array(4))),
  },
  {
    entry: "netdev.receive",
    input: "a dead token",
    outcome: { code: "ENXIO" },
    act: (rig) => withNetdev(rig, (netdev) => netdev.receive(any(rig.dead.token), new Uint8Array(4))),
  },
  ...(
    [
      ['`"frame"`', "frame"],
      ["an empty `Uint8Array`", new Uint8Array(0)],
      ["`[1, 2, 3]`", [1, 2, 3]],
    ] as const
  ).map(([input, frame]): Row => ({ entry: "netdev.receive", input: `${input} as the frame`, outcome: { code: "EINVAL" }, act: (rig) => withNetdev(rig, (netdev, dev) => netdev.receive(dev, any(frame))) })),
  {
    entry: "request.complete",
    input: 'status `"maybe"`',
    outcome: { code: "EINVAL" },
    act: async () => {
      const machine = new Machine();
      let request: BlockRequest<"smuggled"> | undefined;
      let token: Token | undefined;
      const { defineDriver } = await import("../../src/index.js");
      const id = { vendor: 0x1af4, device: 0x7fff };
      await machine.pci.register(
        defineDriver({
          name: "hostile-disk",
          ids: [id],
          probe(dev) {
            token = any(dev);
            registerBlockDevice(dev, { submit: (_dev, r) => void (request = any(r)) }, { sectors: 8 });
            return {};
          },
        }),
      );
      machine.pci.plug(id);
      await machine.settled();
      void machine.block.disk("disk0").read(0, 1).catch(() => {});
      try {
        request!.complete(token!, any("maybe"));
      } finally {
        await machine[Symbol.asyncDispose]();
      }
    },
  },
  ...(
    [
      ["`42`", 42],
      ["`null`", null],
      ['`"eth9"`', "eth9"],
    ] as const
  ).map(([input, name]): Row => ({ entry: "machine.net", input: `socket(${input})`, outcome: { code: "ENXIO" }, act: (rig) => rig.machine.net.socket(any(name)) })),
  ...(
    [
      ["`undefined`", undefined],
      ['`"disk9"`', "disk9"],
    ] as const
  ).map(([input, name]): Row => ({ entry: "machine.block", input: `disk(${input})`, outcome: { code: "ENXIO" }, act: (rig) => rig.machine.block.disk(any(name)) })),
];

export const entries: string[] = ["registerNetdev", "netdev.receive", "registerBlockDevice", "request.complete", "machine.net", "machine.block"];
