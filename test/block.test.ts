/**
 * The block layer (`subsys/block.ts`) and block device registrations
 * (`driver/blkdev.ts`): reads and writes reach the driver's submit, in
 * atomic context, with tags below the queue depth; each resolves when the
 * driver completes it; unregistering refuses new I/O and waits for the
 * requests the driver holds.
 */

import { describe, expect, it } from "vitest";
import { atomicContext } from "../src/driver/context.js";
import { defineDriver, Machine, registerBlockDevice } from "../src/index.js";
import type { BlockRequest, ProbeDevice } from "../src/index.js";
import { expectCode, expectReject, smuggle, thrownBy, tick } from "./helpers.js";
import { freshId, ramDiskDriver } from "./subsys-rig.js";

async function disk(options: Parameters<typeof ramDiskDriver>[0] = {}) {
  const machine = new Machine();
  const rig = ramDiskDriver(options);
  await machine.pci.register(rig.driver);
  const dev = machine.pci.plug(rig.id);
  await machine.settled();
  return { machine, dev, disk: machine.block.disks[0]!, ...rig };
}

const sector = (byte: number, count = 1): Uint8Array => new Uint8Array(512 * count).fill(byte);

describe("reads and writes go through the driver's submit", () => {
  it("what is written reads back; the disk says who serves it", async () => {
    const { disk: d, dev, log } = await disk();
    expect(d).toMatchObject({ name: "disk0", device: dev.name, sectors: 64, sectorSize: 512, registered: true });
    await d.write(3, sector(0x5a, 2));
    expect(await d.read(3, 2)).toEqual(sector(0x5a, 2));
    expect(await d.read(5, 1)).toEqual(sector(0));
    expect(log.order).toEqual(["submit write 3", "submit read 3", "submit read 5"]);
    expect(d.stats).toMatchObject({ reads: 2, writes: 1, sectorsRead: 3, sectorsWritten: 2, errors: 0 });
  });

  it("submit runs in atomic context with the binding's token, and completion takes only that token", async () => {
    let seen: { atomic: string | undefined; token: unknown; other: unknown } | undefined;
    const other = await disk();
    const { disk: d, log } = await disk({
      submit: (dev, request) => {
        seen = { atomic: atomicContext(), token: dev, other: thrownBy(() => request.complete(smuggle(other.log.tokens[0]))) };
        request.complete(dev);
      },
    });
    await d.read(0, 1);
    expect(seen!.atomic).toMatch(/^submit of block device "disk0" of device /);
    expect(seen!.token).toBe(log.tokens[0]);
    expect(seen!.other).toMatchObject({ code: "EINVAL" });
  });

  it("a request completed twice is EINVAL; an error status fails the I/O with ENXIO", async () => {
    const again: unknown[] = [];
    const { disk: d } = await disk({
      submit: (dev, request) => {
        request.complete(dev, request.op === "read" ? "error" : "ok");
        again.push(thrownBy(() => request.complete(dev)));
      },
    });
    await d.write(0, sector(1));
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ code: "EINVAL" });
    await expectReject(d.read(0, 1), "ENXIO");
    expect(d.stats.errors).toBe(1);
  });

  it("a promise returned by submit completes the request when it settles", async () => {
    const { disk: d } = await disk({ submit: async (_dev, request) => void request.data.fill(7) });
    expect(await d.read(1, 1)).toEqual(sector(7));
  });

  it("bad ranges and data are EINVAL and never reach the driver", async () => {
    const { disk: d, log } = await disk();
    await expectReject(d.read(63, 2), "EINVAL");
    await expectReject(d.read(-1, 1), "EINVAL");
    await expectReject(d.read(0, 0), "EINVAL");
    await expectReject(d.read(0.5, 1), "EINVAL");
    await expectReject(d.write(0, new Uint8Array(100)), "EINVAL");
    await expectReject(d.write(0, smuggle("bytes")), "EINVAL");
    expect(log.order).toEqual([]);
  });
});

describe("tags and the queue depth", () => {
  it("at most queueDepth requests are with the driver, each with its own tag; the rest wait their turn", async () => {
    const { disk: d, log } = await disk({ hold: true, queueDepth: 4 });
    const reads = Array.from({ length: 10 }, (_, i) => d.read(i, 1));
    await tick();
    expect(log.held).toHaveLength(4);
    expect(new Set(log.held.map((r) => r.tag))).toEqual(new Set([0, 1, 2, 3]));
    expect([d.inFlight, d.queued]).toEqual([4, 6]);
    const token = log.tokens[0];
    while (log.held.length > 0) {
      const request = log.held.shift()!;
      request.complete(smuggle(token));
      await tick();
      expect(d.inFlight).toBeLessThanOrEqual(4);
    }
    expect(await Promise.all(reads)).toHaveLength(10);
  });

  it('"busy" puts the request back: it is submitted again after the next completion', async () => {
    const machine = new Machine();
    const id = freshId();
    const taken: BlockRequest<unknown>[] = [];
    let token: unknown;
    await machine.pci.register(
      defineDriver({
        name: "busy-disk",
        ids: [id],
        probe<Scope>(dev: ProbeDevice<Scope>) {
          token = dev;
          registerBlockDevice(dev, { submit: (_dev, request) => (taken.length >= 1 ? "busy" : void taken.push(smuggle(request))) }, { sectors: 8 });
          return {};
        },
      }),
    );
    machine.pci.plug(id);
    await machine.settled();
    const d = machine.block.disk("disk0");
    const first = d.read(0, 1);
    const second = d.read(1, 1);
    await tick();
    expect([d.inFlight, d.queued, d.stats.busy]).toEqual([1, 1, 1]);
    taken.shift()!.complete(smuggle(token));
    await first;
    await tick();
    expect(taken.map((r) => r.sector)).toEqual([1]);
    taken.shift()!.complete(smuggle(token));
    await second;
  });
});

describe("unregistering", () => {
  it("in remove(): new I/O is refused at once, queued I/O fails, and requests with the driver are waited for", async () => {
    const { machine, dev, disk: d, log } = await disk({ hold: true, queueDepth: 2, unregisterInRemove: true });
    const withDriver = [d.read(0, 1), d.read(1, 1)];
    const queued = expectReject(d.read(2, 1), "ENXIO");
    await tick();
    let unbound = false;
    const unbind = machine.pci.unbind(dev).then(() => (unbound = true));
    await tick();
    expect(d.registered).toBe(false);
    await expectReject(d.read(3, 1), "ENXIO");
    await queued;
    expect(unbound).toBe(false);
    expect(log.order).toEqual(["submit read 0", "submit read 1", "remove"]);
    for (const request of log.held.splice(0)) request.complete(smuggle(log.tokens[0]));
    await Promise.all(withDriver);
    await unbind;
    expect(log.order).toEqual(["submit read 0", "submit read 1", "remove", "remove returns", "devres release"]);
    expect(machine.block.disks).toHaveLength(0);
  });

  it("by the core after remove(), before devres release, when the driver did not", async () => {
    const { machine, dev, disk: d, log } = await disk();
    await d.write(0, sector(1));
    await machine.pci.unplug(dev);
    expect(log.order).toEqual(["submit write 0", "remove", "remove returns", "devres release"]);
    const kinds = machine.events.map((e) => e.kind);
    expect(kinds.indexOf("subsys-unregister")).toBeGreaterThan(kinds.indexOf("remove-start"));
    expect(kinds.indexOf("subsys-unregister")).toBeLessThan(kinds.indexOf("release"));
    await expectReject(d.read(0, 1), "ENXIO");
    expectCode(() => machine.block.disk("disk0"), "ENXIO");
  });

  it("requests the driver never completes are reported by the watchdog and failed with ENXIO", async () => {
    const machine = new Machine({ watchdogNs: 1_000_000 });
    const rig = ramDiskDriver({ hold: true });
    await machine.pci.register(rig.driver);
    const dev = machine.pci.plug(rig.id);
    await machine.settled();
    const read = machine.block.disk("disk0").read(0, 1);
    await tick();
    const failed = expectReject(read, "ENXIO");
    await machine.pci.unbind(dev);
    await failed;
    expect(machine.events.some((e) => e.kind === "hung")).toBe(true);
    expect(dev.state).toBe("no-driver");
    // Completing it late is refused: the token died with the binding.
    expectCode(() => rig.log.held[0]!.complete(smuggle(rig.log.tokens[0])), "ENXIO");
  });

  it("a probe that fails after registering leaves no disk", async () => {
    const machine = new Machine();
    const id = freshId();
    await machine.pci.register(
      defineDriver({
        name: "fails",
        ids: [id],
        probe(dev) {
          registerBlockDevice(dev, { submit: () => {} }, { sectors: 8 });
          throw new Error("no media");
        },
      }),
    );
    const dev = machine.pci.plug(id);
    await machine.settled();
    expect(dev.state).toBe("no-driver");
    expect(machine.block.disks).toHaveLength(0);
  });
});

describe("bad registrations are refused and change nothing", () => {
  it.each([
    ["no sectors", { sectors: 0 }],
    ["bad sector size", { sectors: 8, sectorSize: 520 }],
    ["bad depth", { sectors: 8, queueDepth: 0 }],
    ["bad name", { sectors: 8, name: "" }],
  ])("%s: EINVAL", async (_label, options) => {
    const machine = new Machine();
    const id = freshId();
    let code: string | undefined;
    await machine.pci.register(
      defineDriver({
        name: "bad",
        ids: [id],
        probe(dev) {
          try {
            registerBlockDevice(dev, { submit: () => {} }, smuggle(options));
          } catch (error) {
            code = (error as { code?: string }).code;
          }
          return {};
        },
      }),
    );
    machine.pci.plug(id);
    await machine.settled();
    expect(code).toBe("EINVAL");
    expect(machine.block.disks).toHaveLength(0);
  });
});
