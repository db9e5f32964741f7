/**
 * The user side of the seeded-bug scenarios: bounded traffic through the
 * machine's network stack and block layer, as a driver author would write
 * it for `explore()`. Each one tolerates a device that never bound or went
 * away (an injected failure or unplug: the library says so with a
 * `BoundscopeError`, which the explorer expects once it injected
 * something) and throws a plain `Error` only for what no injection
 * excuses: data that came back wrong.
 *
 * Kernel: what a test harness does through `AF_PACKET` sockets and a block
 * device node; nothing of the kernel itself.
 */

import type { Machine } from "boundscope";
import { SECTOR_SIZE } from "../../examples/models/blk-model.js";

/** Test frames: a little-endian sequence number, then a pattern derived from it. */
export function testFrame(seq: number): Uint8Array {
  const frame = new Uint8Array(60 + ((seq * 97) % 700));
  new DataView(frame.buffer).setUint32(0, seq, true);
  for (let i = 4; i < frame.length; i++) frame[i] = (seq + i) & 0xff;
  return frame;
}

/** True if `frame` is a test frame as `testFrame` wrote it. */
export function frameIntact(frame: Uint8Array): boolean {
  if (frame.length < 4) return false;
  const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  const want = testFrame(seq);
  return want.length === frame.length && want.every((byte, i) => byte === frame[i]);
}

/**
 * Brings up the interface of each NIC device named in `devices` (all of
 * them by default), sends `frames` test frames on each through a packet
 * socket, and runs the machine for `ns`. Every frame that comes back must
 * be intact. A device with no interface (its probe failed) is skipped.
 */
export async function netTraffic(machine: Machine, { frames, ns, devices }: { readonly frames: number; readonly ns: number; readonly devices?: readonly string[] }): Promise<void> {
  const ifaces = machine.net.interfaces.filter((i) => devices === undefined || devices.includes(i.device));
  const sockets = [];
  for (const iface of ifaces) {
    await iface.up();
    const socket = machine.net.socket(iface.name);
    for (let seq = 0; seq < frames; seq++) socket.send(testFrame(seq));
    sockets.push(socket);
  }
  await machine.run(ns);
  for (const socket of sockets) {
    for (let frame = socket.tryRecv(); frame !== undefined; frame = socket.tryRecv()) {
      if (!frameIntact(frame)) throw new Error(`a frame came back damaged: ${frame.length} bytes, starting ${[...frame.subarray(0, 8)].join(" ")}`);
    }
  }
}

/**
 * How long the disk workload waits for its requests, virtual ns: far past
 * any healthy device's latency, and past the watchdog's default 10 s, so a
 * hung unbind is reported by the watchdog before the workload gives up.
 */
const DISK_DEADLINE_NS = 60_000_000_000;

/**
 * Writes `rounds` batches of `batch` two-sector writes to the first disk
 * (or the one named), reads each batch back and checks it, while the
 * machine runs. A machine with no disk (the probe failed) is skipped.
 */
export async function diskTraffic(machine: Machine, { rounds, batch, disk: name }: { readonly rounds: number; readonly batch: number; readonly disk?: string }): Promise<void> {
  const found = name === undefined ? machine.block.disks[0] : machine.block.disks.find((d) => d.name === name);
  if (found === undefined) return;
  const disk = machine.block.disk(found.name);
  const pattern = (round: number, lba: number, i: number): number => (round * 31 + lba * 7 + i) & 0xff;
  const run = async (): Promise<void> => {
    for (let round = 0; round < rounds; round++) {
      const sectors = Array.from({ length: batch }, (_, i) => ((round * batch + i) * 2) % (disk.sectors - 1));
      await Promise.all(
        sectors.map((lba) => {
          const data = new Uint8Array(2 * SECTOR_SIZE);
          for (let i = 0; i < data.length; i++) data[i] = pattern(round, lba, i);
          return disk.write(lba, data);
        }),
      );
      const reads = await Promise.all(sectors.map((lba) => disk.read(lba, 2)));
      reads.forEach((data, k) => {
        const lba = sectors[k]!;
        if (!data.every((byte, i) => byte === pattern(round, lba, i))) throw new Error(`sector ${lba} read back wrong in round ${round}`);
      });
    }
  };
  const done = run();
  // The requests need virtual time: run the clock until the rounds are done (or fail).
  let finished = false;
  const settled = done.then(
    () => void (finished = true),
    () => void (finished = true),
  );
  // Steps that double: microseconds while the device answers, up to 50 ms while something waits on the watchdog.
  const deadline = machine.clock.now + DISK_DEADLINE_NS;
  for (let step = 5_000; !finished && machine.clock.now < deadline; step = Math.min(step * 2, 50_000_000)) await machine.run(step);
  if (!finished) throw new Error(`the disk's requests did not finish in ${DISK_DEADLINE_NS / 1e9} s of virtual time`);
  await settled;
  await done;
}
