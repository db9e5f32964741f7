/**
 * Seeded bug 3: a task that ignores its abort signal.
 *
 * Clean original: examples/aux-parent.ts. Its child driver, `crypto`,
 * spawns a task that seals and opens messages through the parent's engine
 * in a loop that checks `signal.aborted`, and ends when a call fails. This
 * copy's task retries a failed call after a short back-off (as a driver
 * riding out a transient error would), and its loop never looks at the
 * signal: `for (;;)`, the kthread that forgot `kthread_should_stop()`.
 * When the child unbinds, its remove() cancels the job in flight, the task
 * backs off and starts another, and the unbind waits for a task that never
 * ends: the watchdog reports it `hung`, and the core goes on without it.
 *
 * Found by: the first clean run (the explorer's own teardown unplugs the
 * parent, which unbinds the child).
 */

import { addAuxiliaryDevice, allocCoherent, defineAuxiliaryDriver, defineDriver, enableBusMaster, iomap, requestIrq, setDmaMask, sleep, spawn } from "boundscope";
import type { CoherentAllocation, DriverInstance, IoMapping, IrqDevice, ProbeDevice, SleepableDevice } from "boundscope";
import { ACCEL_BUFFER, ACCEL_CRYPTO } from "../../examples/aux-parent.js";
import { ACCEL_ID, ACCEL_REG, ACCEL_STATUS } from "../../examples/models/accel-model.js";

/** How long the task backs off after a failed call, ns. */
const RETRY_NS = 10_000;

/** The parent driver, as in aux-parent.ts. */
export function accelCopyDriver() {
  return defineDriver({ name: "accel", ids: [ACCEL_ID], probe: (dev) => probeAccel(dev) });
}

function probeAccel<Scope>(dev: ProbeDevice<Scope>): DriverInstance<Scope> {
  setDmaMask(dev, 64);
  enableBusMaster(dev);
  const regs = iomap(dev, 0);
  const buffer = allocCoherent(dev, ACCEL_BUFFER);
  const engine = new Engine(regs, buffer);
  requestIrq(dev, (dev) => engine.interrupt(dev));
  regs.write32(dev, ACCEL_REG.CTRL, 1);
  addAuxiliaryDevice(dev, ACCEL_CRYPTO, {
    id: 0,
    data: { maxBytes: ACCEL_BUFFER },
    ops: {
      xor: (parent, data, key) => engine.xor(parent, data, key),
      cancel: (parent) => engine.cancel(parent),
    },
  });
  return {
    remove(dev) {
      regs.write32(dev, ACCEL_REG.CTRL, 0);
    },
  };
}

class Engine<Scope> {
  #waiter: { resolve(): void; reject(error: Error): void } | undefined;

  constructor(
    readonly regs: IoMapping<Scope>,
    readonly buffer: CoherentAllocation<Scope>,
  ) {}

  async xor(dev: SleepableDevice<Scope>, data: Uint8Array, key: number): Promise<Uint8Array> {
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
    return this.buffer.bytes(dev).slice(0, data.length);
  }

  interrupt(dev: IrqDevice<Scope>): void {
    if (this.regs.read32(dev, ACCEL_REG.STATUS) === ACCEL_STATUS.DONE) this.#waiter?.resolve();
  }

  cancel(dev: SleepableDevice<Scope>): void {
    if (this.#waiter === undefined) return;
    this.regs.write32(dev, ACCEL_REG.CTRL, 0);
    this.regs.write32(dev, ACCEL_REG.CTRL, 1);
    this.#waiter.reject(new Error("accel: job cancelled"));
  }
}

export interface RetryingCryptoOptions {
  /** True: the loop stops when the signal aborts (the fix). Default false: the seeded bug. */
  readonly fixed?: boolean;
}

/** The child driver: seals and opens messages through the parent's engine, retrying a failed call. */
export function retryingCryptoDriver(options: RetryingCryptoOptions = {}) {
  return defineAuxiliaryDriver(ACCEL_CRYPTO)({
    name: "crypto",
    probe(dev, parent) {
      let inCall = false;
      spawn(dev, async (task, signal) => {
        // SEEDED BUG: the clean loop's condition is `!signal.aborted`; this one has none.
        for (let n = 0; options.fixed !== true || !signal.aborted; n++) {
          const message = new TextEncoder().encode(`message ${n}`);
          inCall = true;
          try {
            const sealed = await parent.call(task, "xor", message, 0x5a);
            const opened = await parent.call(task, "xor", sealed, 0x5a);
            if (!opened.every((byte, i) => byte === message[i])) throw new Error("crypto: a message did not survive the round trip");
          } catch (error) {
            if (error instanceof Error && error.message.startsWith("crypto:")) throw error;
            inCall = false;
            await sleep(task, RETRY_NS); // back off, then try again
          } finally {
            inCall = false;
          }
        }
      });
      return {
        async remove(dev) {
          if (inCall) await parent.call(dev, "cancel");
        },
      };
    },
  });
}
