/**
 * Revocable (src/revocable.ts): readers get the value until it is revoked;
 * revoking waits for in-flight readers, then releases the value once. The
 * async reader is tryAccessAsync (tryAccessWith is atomic: test/context.test.ts).
 */

import { describe, expect, it } from "vitest";
import { Revocable } from "../src/index.js";
import { deferred, expectCode, smuggle, tick } from "./helpers.js";

describe("access", () => {
  it("tryAccess gives the value until it is revoked, then undefined", async () => {
    const regs = new Revocable({ base: 0x1000 });
    expect(regs.tryAccess()).toEqual({ base: 0x1000 });
    await regs.revoke();
    expect(regs.tryAccess()).toBeUndefined();
  });

  it("revoked turns true as soon as revoke() is called", () => {
    const gate = deferred();
    const value = new Revocable(1, () => gate.promise);
    expect(value.revoked).toBe(false);
    void value.revoke();
    expect(value.revoked).toBe(true);
    expect(value.tryAccess()).toBeUndefined();
    gate.resolve();
  });

  it("tryAccess gives a falsy value as it is", () => {
    expect(new Revocable(0).tryAccess()).toBe(0);
    expect(new Revocable("").tryAccess()).toBe("");
  });

  it("tryAccessWith returns what the accessor returns, tryAccessAsync resolves with it", async () => {
    const value = new Revocable(21);
    expect(value.tryAccessWith((v) => v * 2)).toBe(42);
    expect(await value.tryAccessAsync(async (v) => v + 1)).toBe(22);
  });

  it("tryAccessWith after a revoke resolves undefined without calling the accessor", async () => {
    const value = new Revocable(1);
    await value.revoke();
    let called = false;
    expect(value.tryAccessWith(() => (called = true))).toBeUndefined();
    expect(await value.tryAccessAsync(() => (called = true))).toBeUndefined();
    expect(called).toBe(false);
  });

  it("an accessor that throws rejects tryAccessAsync and does not hold up a revoke", async () => {
    const value = new Revocable(1);
    const cause = new Error("read failed");
    await expect(
      value.tryAccessAsync(async () => {
        await tick();
        throw cause;
      }),
    ).rejects.toBe(cause);
    await expect(value.revoke()).resolves.toBe(true);
  });
});

describe("revoke", () => {
  it("revoke() resolves true for the first caller", async () => {
    await expect(new Revocable(1).revoke()).resolves.toBe(true);
  });

  it("a later revoke() resolves false and does not release again", async () => {
    const released: number[] = [];
    const value = new Revocable(7, (v) => void released.push(v));
    expect(await value.revoke()).toBe(true);
    expect(await value.revoke()).toBe(false);
    expect(released).toEqual([7]);
  });

  it("the release function gets the value", async () => {
    const released: string[] = [];
    await new Revocable("bar0", (v) => void released.push(v)).revoke();
    expect(released).toEqual(["bar0"]);
  });

  it("a concurrent second revoker resolves false only after the first one's release completed", async () => {
    const gate = deferred();
    const log: string[] = [];
    const value = new Revocable("irq", async () => {
      log.push("release start");
      await gate.promise;
      log.push("release end");
    });
    const first = value.revoke().then((won) => log.push(`first ${won}`));
    const second = value.revoke().then((won) => log.push(`second ${won}`));
    await tick();
    expect(log).toEqual(["release start"]);
    gate.resolve();
    await Promise.all([first, second]);
    expect(log.indexOf("second false")).toBeGreaterThan(log.indexOf("release end"));
    expect(log).toContain("first true");
  });

  it("exactly one of many concurrent revokers wins", async () => {
    const value = new Revocable(1, async () => tick());
    const results = await Promise.all(Array.from({ length: 5 }, () => value.revoke()));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(results[0]).toBe(true);
  });

  it("revoke waits for an in-flight tryAccessAsync before releasing", async () => {
    const gate = deferred();
    const log: string[] = [];
    const value = new Revocable("dma", (v) => void log.push(`release ${v}`));
    const reading = value.tryAccessAsync(async (v) => {
      log.push(`read ${v}`);
      await gate.promise;
      log.push("read end");
      return v;
    });
    let revoked: boolean | undefined;
    const revoking = value.revoke().then((won) => (revoked = won));
    await tick();
    expect(log).toEqual(["read dma"]);
    expect(revoked).toBeUndefined();
    gate.resolve();
    await revoking;
    expect(await reading).toBe("dma");
    expect(log).toEqual(["read dma", "read end", "release dma"]);
    expect(revoked).toBe(true);
  });

  it("revoke waits for every in-flight accessor, whichever finishes last", async () => {
    const gates = [deferred(), deferred()] as const;
    const log: string[] = [];
    const value = new Revocable(1, () => void log.push("release"));
    const readers = gates.map((gate, i) =>
      value.tryAccessAsync(async () => {
        await gate.promise;
        log.push(`reader ${i} done`);
      }),
    );
    const revoking = value.revoke();
    gates[1].resolve();
    await tick();
    expect(log).toEqual(["reader 1 done"]);
    gates[0].resolve();
    await revoking;
    await Promise.all(readers);
    expect(log).toEqual(["reader 1 done", "reader 0 done", "release"]);
  });

  it("a second revoker during the wait for accessors also waits for the release", async () => {
    const gate = deferred();
    const log: string[] = [];
    const value = new Revocable(1, () => void log.push("release"));
    const reading = value.tryAccessAsync(() => gate.promise);
    const first = value.revoke();
    const second = value.revoke().then((won) => log.push(`second ${won}`));
    await tick();
    expect(log).toEqual([]);
    gate.resolve();
    await Promise.all([reading, first, second]);
    expect(log).toEqual(["release", "second false"]);
  });
});

describe("a release that fails", () => {
  it("a release that throws rejects the first revoke with that error and the value stays revoked", async () => {
    const cause = new Error("release failed");
    const value = new Revocable(1, () => {
      throw cause;
    });
    await expect(value.revoke()).rejects.toBe(cause);
    expect(value.revoked).toBe(true);
    expect(value.tryAccess()).toBeUndefined();
  });

  it("a release that rejects lets a second revoker resolve false, not reject", async () => {
    const cause = new Error("release failed");
    let calls = 0;
    const value = new Revocable(1, async () => {
      calls++;
      await tick();
      throw cause;
    });
    const first = value.revoke();
    const second = value.revoke();
    await expect(first).rejects.toBe(cause);
    await expect(second).resolves.toBe(false);
    await expect(value.revoke()).resolves.toBe(false);
    expect(calls).toBe(1);
  });
});

describe("construction", () => {
  it("a release that is not a function is EINVAL", () => {
    expectCode(() => new Revocable(1, smuggle<() => void>(42)), "EINVAL");
  });
});
