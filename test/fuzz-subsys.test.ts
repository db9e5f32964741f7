/**
 * Fuzzed command sequences over the subsystems, checked against a small
 * reference model:
 * - the block layer: writes and reads of random ranges, completed by the
 *   driver in random order, at most `queueDepth` with the driver at once;
 *   every read returns what the reference store holds after the writes that
 *   completed before it was submitted; an unbind at a random point settles
 *   every request (completed, or refused with ENXIO) and never calls the
 *   driver afterwards.
 * - the network stack: sends, polls and queue stops on a loopback netdev;
 *   every frame sent while up comes back once, in order, and nothing reaches
 *   the driver after the unbind.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import type { BlockRequest } from "../src/index.js";
import { smuggle, tick } from "./helpers.js";
import { loopbackDriver, ramDiskDriver } from "./subsys-rig.js";

const SECTORS = 16;

type BlockCommand =
  | { readonly kind: "write"; readonly sector: number; readonly count: number; readonly byte: number }
  | { readonly kind: "read"; readonly sector: number; readonly count: number }
  | { readonly kind: "complete"; readonly pick: number }
  | { readonly kind: "unbind" };

const range = fc.integer({ min: 0, max: SECTORS - 1 }).chain((sector) => fc.record({ sector: fc.constant(sector), count: fc.integer({ min: 1, max: SECTORS - sector }) }));
const blockCommand: fc.Arbitrary<BlockCommand> = fc.oneof(
  { weight: 3, arbitrary: range.chain((r) => fc.integer({ min: 1, max: 255 }).map((byte) => ({ kind: "write" as const, ...r, byte }))) },
  { weight: 3, arbitrary: range.map((r) => ({ kind: "read" as const, ...r })) },
  { weight: 5, arbitrary: fc.nat().map((pick) => ({ kind: "complete" as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ kind: "unbind" as const }) },
);

describe("fuzz: the block layer against a reference store", () => {
  it("reads see the writes issued before them; at most queueDepth with the driver; every request settles; nothing after unbind", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(blockCommand, { maxLength: 40 }), fc.integer({ min: 1, max: 4 }), async (commands, queueDepth) => {
        const machine = new Machine();
        const rig = ramDiskDriver({ sectors: SECTORS, hold: true, queueDepth });
        await machine.pci.register(rig.driver);
        const dev = machine.pci.plug(rig.id);
        await machine.settled();
        const disk = machine.block.disk("disk0");
        const token = rig.log.tokens[0];
        // The reference: requests reach the driver in the order issued, and the RAM disk moves data at submit,
        // so a read sees every write issued before it, and none after.
        const store = new Uint8Array(SECTORS * 512);
        const settled: Promise<unknown>[] = [];
        const expectedReads = new Map<number, Uint8Array>();
        let unbound = false;
        for (const command of commands) {
          if (command.kind === "write" && !unbound) {
            const data = new Uint8Array(command.count * 512).fill(command.byte);
            store.set(data, command.sector * 512);
            settled.push(disk.write(command.sector, data).then(() => "ok", (e: { code: string }) => e.code));
          } else if (command.kind === "read" && !unbound) {
            expectedReads.set(settled.length, store.slice(command.sector * 512, (command.sector + command.count) * 512));
            settled.push(disk.read(command.sector, command.count).then((d) => d, (e: { code: string }) => e.code));
          } else if (command.kind === "complete" && rig.log.held.length > 0 && !unbound) {
            const [request] = rig.log.held.splice(command.pick % rig.log.held.length, 1) as [BlockRequest<unknown>];
            request.complete(smuggle(token));
          } else if (command.kind === "unbind" && !unbound) {
            unbound = true;
            const unbinding = machine.pci.unbind(dev);
            await tick();
            const before = rig.log.order.length;
            for (const request of rig.log.held.splice(0)) request.complete(smuggle(token));
            await unbinding;
            expect(rig.log.order.slice(before).every((o) => !o.startsWith("submit"))).toBe(true);
          }
          await tick();
          expect(disk.inFlight).toBeLessThanOrEqual(queueDepth);
          expect(rig.log.held.length).toBeLessThanOrEqual(queueDepth);
        }
        if (!unbound) {
          for (const request of rig.log.held.splice(0)) request.complete(smuggle(token));
          await machine.pci.unbind(dev);
        }
        const outcomes = await Promise.all(settled);
        outcomes.forEach((outcome, i) => {
          if (outcome instanceof Uint8Array) expect(outcome).toEqual(expectedReads.get(i));
          else expect(outcome === "ok" || outcome === "ENXIO").toBe(true);
        });
        expect(machine.block.disks).toHaveLength(0);
      }),
      { numRuns: 40 },
    );
  });
});

type NetCommand = { readonly kind: "send"; readonly byte: number } | { readonly kind: "tick" } | { readonly kind: "down" } | { readonly kind: "up" } | { readonly kind: "unbind" };

const netCommand: fc.Arbitrary<NetCommand> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 255 }).map((byte) => ({ kind: "send" as const, byte })) },
  { weight: 3, arbitrary: fc.constant({ kind: "tick" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "down" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "up" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "unbind" as const }) },
);

describe("fuzz: the network stack on a loopback netdev", () => {
  it("frames taken while up come back once and in order; nothing reaches the driver after the unbind", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(netCommand, { maxLength: 60 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), async (commands, ring, weight) => {
        const machine = new Machine();
        const rig = loopbackDriver({ ring, netdev: { weight } });
        await machine.pci.register(rig.driver);
        const dev = machine.pci.plug(rig.id);
        await machine.settled();
        const iface = machine.net.interface("eth0");
        const socket = machine.net.socket("eth0");
        await iface.up();
        let unbound = false;
        let up = true;
        const expected: number[] = [];
        for (const command of commands) {
          if (unbound) break;
          if (command.kind === "send") {
            if (!up) {
              expect(() => socket.send(new Uint8Array([command.byte]))).toThrow();
              continue;
            }
            socket.send(new Uint8Array([command.byte]));
            expected.push(command.byte);
          } else if (command.kind === "tick") {
            await tick();
          } else if (command.kind === "down" && up) {
            await tick();
            await iface.down();
            up = false;
          } else if (command.kind === "up" && !up) {
            await iface.up();
            up = true;
          } else if (command.kind === "unbind") {
            await tick();
            await machine.pci.unbind(dev);
            unbound = true;
          }
        }
        for (let i = 0; i < 5; i++) await tick();
        const got: number[] = [];
        for (let frame = socket.tryRecv(); frame !== undefined; frame = socket.tryRecv()) got.push(frame[0]!);
        // What came back is what was sent, in order, minus what a down or an unbind dropped from the queues.
        let at = 0;
        for (const byte of got) {
          while (at < expected.length && expected[at] !== byte) at++;
          expect(at).toBeLessThan(expected.length);
          at++;
        }
        if (!unbound) {
          await machine.pci.unbind(dev);
        }
        const calls = rig.log.calls.length;
        expect(() => socket.send(new Uint8Array([1]))).toThrow();
        await tick();
        expect(rig.log.calls.length).toBe(calls);
      }),
      { numRuns: 40 },
    );
  });
});
