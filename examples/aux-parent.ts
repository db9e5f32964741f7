/**
 * aux-parent: a parent PCI driver that exposes an auxiliary device to a
 * second driver, with a hot-unplug of the parent while the child is busy.
 *
 * What it shows:
 * - The parent, `accel`, drives a DMA engine (models/accel-model.ts). In
 *   probe it creates the auxiliary device `accel.crypto.0` with
 *   `addAuxiliaryDevice`, sharing plain data (`maxBytes`) and one
 *   call-through op, `xor`, which it writes in its own scope: the op gets
 *   the parent's token and uses the parent's MMIO mapping and coherent
 *   buffer. Nobody closes over the parent's probe token.
 * - The child, `crypto`, binds on `machine.auxiliary` through the shared
 *   key `ACCEL_CRYPTO`, so both sides agree on the data and op types. Its
 *   task calls `parent.call(dev, "xor", …)` in a loop: sealing and opening
 *   messages through the parent's engine.
 * - A hot-unplug of the parent while the child's call is in the engine.
 *   The hardware is gone at once; the parent's unbind first deletes the
 *   auxiliary device: the child's `remove()` asks the parent to cancel the
 *   job in flight (both are still bound, so it may call in), its task sees
 *   the call fail and ends, and the core waits for the task and the call;
 *   only then the parent's `remove()`, and devres frees the buffer. No
 *   violation, nothing left in the pool. An orderly unbind goes the same way.
 */

import { addAuxiliaryDevice, allocCoherent, auxiliaryType, defineAuxiliaryDriver, defineDriver, enableBusMaster, iomap, Machine, requestIrq, setDmaMask, spawn } from "boundscope";
import type { CoherentAllocation, Device, DriverInstance, IoMapping, IrqDevice, ProbeDevice, SleepableDevice } from "boundscope";
import { follow } from "./narrate.js";
import type { Narrate } from "./narrate.js";
import { ACCEL_REG, ACCEL_STATUS, AccelModel, ACCEL_ID } from "./models/accel-model.js";

/** The engine's buffer: the most one call moves. */
export const ACCEL_BUFFER = 256;

/** What the parent shares: plain data. */
export type CryptoInfo = { readonly maxBytes: number };
/** What it offers: ops the child calls, run with the parent's token. */
export type CryptoOps = {
  /** XORs `data` with `key` in the engine; rejects if cancelled. */
  xor(data: Uint8Array, key: number): Promise<Uint8Array>;
  /** Drops the job in the engine, if any: its `xor` rejects. */
  cancel(): void;
};
/** The key creator and driver share: `accel.crypto`, and the types above. */
export const ACCEL_CRYPTO = auxiliaryType<CryptoInfo, CryptoOps>("accel.crypto");

/** The parent driver: the engine, and the auxiliary device that offers it. */
export function accelDriver(narrate: Narrate = () => {}) {
  return defineDriver({ name: "accel", ids: [ACCEL_ID], probe: (dev) => probeAccel(dev, narrate) });
}

function probeAccel<Scope>(dev: ProbeDevice<Scope>, narrate: Narrate): DriverInstance<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  const buffer = allocCoherent(dev, ACCEL_BUFFER);
  const engine = new Engine(regs, buffer);
  requestIrq(dev, (dev) => engine.interrupt(dev));
  regs.write32(dev, ACCEL_REG.CTRL, 1);
  const aux = addAuxiliaryDevice(dev, ACCEL_CRYPTO, {
    id: 0,
    data: { maxBytes: ACCEL_BUFFER },
    // Written in the parent's scope: `parent` is the parent's token when the child calls.
    ops: {
      xor: (parent, data, key) => engine.xor(parent, data, key),
      cancel: (parent) => engine.cancel(parent),
    },
  });
  narrate(`accel probe(): engine on, buffer at 0x${buffer.dmaHandle.toString(16)}; created ${aux.name}`);
  return {
    remove(dev) {
      // The auxiliary device is gone by now: no call of the child is running.
      regs.write32(dev, ACCEL_REG.CTRL, 0);
      narrate(`accel remove(): engine halted after ${engine.jobs} jobs`);
    },
  };
}

/** The engine as the parent drives it: one job at a time, completed by its interrupt. */
class Engine<Scope> {
  jobs = 0;
  #waiter: { resolve(): void; reject(error: Error): void } | undefined;

  constructor(
    readonly regs: IoMapping<Scope>,
    readonly buffer: CoherentAllocation<Scope>,
  ) {}

  async xor(dev: SleepableDevice<Scope>, data: Uint8Array, key: number): Promise<Uint8Array> {
    if (data.length > this.buffer.size) throw new RangeError(`accel: ${data.length} bytes is more than the engine's ${this.buffer.size}`);
    if (this.#waiter !== undefined) throw new Error("accel: the engine is busy");
    const done = new Promise<void>((resolve, reject) => (this.#waiter = { resolve, reject }));
    try {
      this.buffer.bytes(dev).set(data);
      this.regs.write64(dev, ACCEL_REG.SRC, this.buffer.dmaHandle);
      this.regs.write32(dev, ACCEL_REG.LEN, data.length);
      this.regs.write32(dev, ACCEL_REG.KEY, key);
      this.regs.write32(dev, ACCEL_REG.DOORBELL, 1);
      await done;
    } finally {
      this.#waiter = undefined;
    }
    this.jobs++;
    return this.buffer.bytes(dev).slice(0, data.length);
  }

  interrupt(dev: IrqDevice<Scope>): void {
    if (this.regs.read32(dev, ACCEL_REG.STATUS) === ACCEL_STATUS.DONE) this.#waiter?.resolve();
  }

  cancel(dev: SleepableDevice<Scope>): void {
    if (this.#waiter === undefined) return;
    // Halting drops the job and lets go of the buffer; a gone device ignores the writes.
    this.regs.write32(dev, ACCEL_REG.CTRL, 0);
    this.regs.write32(dev, ACCEL_REG.CTRL, 1);
    this.#waiter.reject(new Error("accel: job cancelled"));
  }
}

/** The child's accounting. */
export interface CryptoStats {
  /** Messages sealed and opened again intact. */
  roundTrips: number;
  /** Calls that failed (cancelled by the child's own remove()). */
  failed: number;
  /** True while a call into the parent is running. */
  inCall: boolean;
}

/** The child driver: a task that seals and opens messages through the parent's engine. */
export function cryptoDriver(stats: CryptoStats, narrate: Narrate = () => {}) {
  return defineAuxiliaryDriver(ACCEL_CRYPTO)({
    name: "crypto",
    probe(dev, parent) {
      const { maxBytes } = parent.access(dev);
      narrate(`crypto probe(): bound to ${dev.name} under ${parent.parentDevice.name}, messages up to ${maxBytes} bytes`);
      spawn(dev, async (task, signal) => {
        for (let n = 0; !signal.aborted; n++) {
          const message = new TextEncoder().encode(`message ${n}`);
          stats.inCall = true;
          try {
            const sealed = await parent.call(task, "xor", message, 0x5a);
            const opened = await parent.call(task, "xor", sealed, 0x5a);
            if (opened.every((byte, i) => byte === message[i])) stats.roundTrips++;
          } catch (error) {
            stats.failed++;
            narrate(`crypto: a call failed: ${(error as Error).message}`);
            return;
          } finally {
            stats.inCall = false;
          }
        }
      });
      return {
        async remove(dev) {
          // Mid-call: ask the parent to drop the job, so the task's call ends and the task with it.
          if (stats.inCall) await parent.call(dev, "cancel");
          narrate(`crypto remove(): ${stats.roundTrips} round trips; the job in flight cancelled through the parent`);
        },
      };
    },
  });
}

export interface AuxParentRun {
  readonly machine: Machine;
  readonly model: AccelModel;
  readonly stats: CryptoStats;
  /** True if the child was in a call into the parent when the unplug came. */
  readonly busyAtEnd: boolean;
  /** The auxiliary device, a zombie by the end. */
  readonly child: Device;
  /** The order the drivers' remove() ran in. */
  readonly order: readonly string[];
}

/** Binds both drivers, lets the child work, then unplugs (or unbinds) the parent mid-call. */
export async function runAuxParent(narrate: Narrate, { end = "unplug" }: { readonly end?: "unplug" | "unbind" } = {}): Promise<AuxParentRun> {
  const machine = new Machine();
  const stats: CryptoStats = { roundTrips: 0, failed: 0, inCall: false };
  const order: string[] = [];
  const log: Narrate = (line) => {
    if (line.includes("remove()")) order.push(line.split(" ")[0]!);
    narrate(line);
  };
  await machine.pci.register(accelDriver(log));
  await machine.auxiliary.register(cryptoDriver(stats, log));
  const model = new AccelModel("0000:00:07.0");
  const dev = machine.pci.plug(model);
  await machine.settled();
  const [child] = machine.pci.children(dev);
  await machine.run(230_000);
  narrate(`after 230 µs: ${stats.roundTrips} round trips, ${model.jobs} engine jobs; the child is ${stats.inCall ? "in a call" : "idle"}`);
  const busyAtEnd = stats.inCall;
  const stop = follow(machine, narrate);
  if (end === "unplug") {
    narrate("hot-unplug of the parent, with the child's call in the engine");
    await machine.pci.unplug(dev);
  } else {
    narrate("orderly unbind of the parent, with the child's call in the engine");
    await machine.pci.unbind(dev);
  }
  await machine.settled();
  stop();
  return { machine, model, stats, busyAtEnd, child: child!, order };
}
