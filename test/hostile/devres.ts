/**
 * Hostile input for devres groups and the driver data teardown
 * (src/driver/devres.ts, src/core/dd.ts): `openDevresGroup` with things that
 * are not a live core token, a group used with another binding's token,
 * outside probe()/remove(), after it ended or after its binding ended; and a
 * `drop()` hook that throws, rejects or is not a function.
 */

import { openDevresGroup } from "../../src/index.js";
import type { DevresGroup, ProbeDevice } from "../../src/index.js";
import type { Rig, Row, Transient } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

type Token = ProbeDevice<"smuggled">;

/** What the hostile callbacks throw: a plain error, not the library's. */
const BOOM = new Error("hostile drop");

/**
 * A transient device whose probe opens a group (and runs `inProbe`, whose
 * error it keeps): the group, the binding's token, and what `inProbe` threw.
 */
async function withGroup(rig: Rig, inProbe?: (dev: Token, group: DevresGroup<"smuggled">) => Promise<void> | void) {
  let group: DevresGroup<"smuggled"> | undefined;
  let token: Token | undefined;
  let thrown: unknown;
  const t: Transient = await rig.transient({
    then: async (dev) => {
      token = any<Token>(dev);
      group = any<DevresGroup<"smuggled">>(openDevresGroup(dev));
      try {
        await inProbe?.(token, group);
      } catch (error) {
        thrown = error;
      }
    },
  });
  return { t, group: group!, token: token!, thrown };
}

/** Rethrows what the transient's probe caught, after its device was unbound and checked. */
async function rethrowAfterUnbind(rig: Rig, t: Transient, thrown: unknown): Promise<never> {
  await rig.machine.pci.unbind(t.dev);
  await t.expectReleased("no-driver");
  throw thrown;
}

const notCoreTokens: readonly (readonly [string, "EINVAL" | "EPERM" | "ENXIO", (rig: Rig) => unknown])[] = [
  ["`null`", "EINVAL", () => null],
  ["`undefined`", "EINVAL", () => undefined],
  ['`"token"`', "EINVAL", () => "token"],
  ["`{}`", "EPERM", () => ({})],
  ["the plain `Device`", "EPERM", (rig) => rig.a.dev],
  ["`Object.create(token)`", "EPERM", (rig) => Object.create(rig.a.token)],
  ["a Proxy of the token", "EPERM", (rig) => new Proxy(rig.a.token, {})],
  ["a dead token", "ENXIO", (rig) => rig.dead.token],
  ["a live token outside probe() and remove()", "EPERM", (rig) => rig.a.token],
];

export const rows: Row[] = [
  ...notCoreTokens.map(
    ([input, code, make]): Row => ({
      entry: "openDevresGroup(dev)",
      input: `\`dev\` ${input}`,
      outcome: { code },
      act: (rig) => openDevresGroup(any<Token>(make(rig))),
    }),
  ),
  {
    entry: "group.release(dev)",
    input: "another binding's live token, in its core context",
    outcome: { code: "EINVAL" },
    note: "the group is untouched",
    act: async (rig) => {
      const { t, group } = await withGroup(rig);
      let thrown: unknown;
      try {
        await group.release(any<Token>(rig.core));
      } catch (error) {
        thrown = error;
      }
      if (group.state !== "open") throw new Error(`the group is ${group.state}`);
      return rethrowAfterUnbind(rig, t, thrown);
    },
  },
  {
    entry: "group.release(dev)",
    input: "the group's own token, after its binding ended",
    outcome: { code: "ENXIO" },
    act: async (rig) => {
      const { t, group, token } = await withGroup(rig);
      await rig.machine.pci.unbind(t.dev);
      await t.expectReleased("no-driver");
      return group.release(token);
    },
  },
  {
    entry: "group.release(dev)",
    input: "a group already released",
    outcome: { code: "EINVAL" },
    act: async (rig) => {
      const { t, thrown } = await withGroup(rig, async (dev, group) => {
        await group.release(dev);
        await group.release(dev);
      });
      return rethrowAfterUnbind(rig, t, thrown);
    },
  },
  {
    entry: "group.close(dev)",
    input: "a group released with its enclosing group",
    outcome: { code: "EINVAL" },
    act: async (rig) => {
      const { t, thrown } = await withGroup(rig, async (dev, outer) => {
        const inner = openDevresGroup(dev);
        await outer.release(dev);
        inner.close(dev);
      });
      return rethrowAfterUnbind(rig, t, thrown);
    },
  },
  {
    entry: "group.remove(dev)",
    input: "the group's own live token, outside probe() and remove()",
    outcome: { code: "EPERM" },
    act: async (rig) => {
      const { t, group, token } = await withGroup(rig);
      let thrown: unknown;
      try {
        group.remove(token);
      } catch (error) {
        thrown = error;
      }
      return rethrowAfterUnbind(rig, t, thrown);
    },
  },
  {
    entry: "group.keep(dev)",
    input: "a group already removed",
    outcome: { code: "EINVAL" },
    act: async (rig) => {
      const { t, thrown } = await withGroup(rig, (dev, group) => {
        group.remove(dev);
        group.keep(dev);
      });
      return rethrowAfterUnbind(rig, t, thrown);
    },
  },
  {
    entry: "group.close(dev)",
    input: "`dev` a Proxy of the group's own token",
    outcome: { code: "EPERM" },
    act: async (rig) => {
      const { t, thrown } = await withGroup(rig, (dev, group) => group.close(new Proxy(dev, {})));
      return rethrowAfterUnbind(rig, t, thrown);
    },
  },
  ...(
    [
      ["throws", () => {
        throw BOOM;
      }],
      ["rejects", () => Promise.reject(BOOM)],
    ] as const
  ).map(
    ([how, hook]): Row => ({
      entry: "drop(dev)",
      input: `a hook that ${how}, at unbind`,
      outcome: { logged: "teardown-failed" },
      note: "the unbind goes on: the binding ends and devres is released",
      act: async (rig) => {
        const t = await rig.transient({ then: () => ({ drop: hook }) });
        await rig.machine.pci.unbind(t.dev);
        await t.expectReleased("no-driver");
      },
    }),
  ),
  {
    entry: "drop(dev)",
    input: "`42`, not a function",
    outcome: { logged: "probe-failed", errorCode: "EINVAL" },
    note: "checked when probe() returns: the probe fails and everything it took is released",
    act: async (rig) => {
      const t = await rig.transient({ then: () => ({ drop: 42 }) });
      await t.expectReleased("no-driver");
    },
  },
];

/** The entry points these rows cover, as the README names them. */
export const entries: string[] = ["openDevresGroup(dev)", "group.close(dev)", "group.release(dev)", "group.remove(dev)", "group.keep(dev)", "drop(dev)"];
