/**
 * Register polls with a timeout in virtual time (src/driver/iopoll.ts):
 * `readPollTimeout` sleeps between reads, `readPollTimeoutAtomic` busy-waits;
 * both read once more after the deadline, and time out with ETIMEDOUT.
 */

import { describe, expect, it } from "vitest";
import { iomap, Machine, readPollTimeout, readPollTimeoutAtomic } from "../src/index.js";
import type { IoMapping, MmioWidth, SleepableDevice } from "../src/index.js";
import { atomic } from "../src/driver/context.js";
import { bindModel, expectCode, expectReject, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

const STATUS = 0x04;
const START = 0x00;
const READY = 0x1;

/** STATUS reads READY `delay` ns after a write of 1 to START; it counts its reads. */
class Slow extends OpenModel {
  ready = false;
  reads: number[] = [];
  constructor(readonly delay: number) {
    super({ bars: [0x100] });
  }
  override mmioRead(): number {
    this.reads.push(this.time);
    return this.ready ? READY : 0;
  }
  override mmioWrite(_bar: number, offset: number, _w: MmioWidth, value: number | bigint): void {
    if (offset === START && value === 1) this.later(this.delay, () => (this.ready = true));
  }
}

async function started(delay: number) {
  const machine = new Machine();
  let regs: IoMapping<Smuggled> | undefined;
  const b = await bindModel(machine, new Slow(delay), (dev) => {
    regs = iomap(dev, 0);
    regs.write32(dev, START, 1);
  });
  const dev: SleepableDevice<Smuggled> = b.token;
  const read = () => regs!.read32(dev, STATUS);
  const ready = (status: number) => (status & READY) !== 0;
  return { machine, model: b.model, device: b.dev, dev, read, ready };
}

describe("readPollTimeout", () => {
  it("resolves with the value once the condition holds, sleeping between reads", async () => {
    const { machine, dev, model, read, ready } = await started(5_000);
    const value = await readPollTimeout(dev, read, ready, { sleepNs: 1_000, timeoutNs: 100_000 });
    expect(value).toBe(READY);
    expect(machine.clock.now).toBe(5_000);
    expect(model.reads).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000]);
  });

  it("rejects with ETIMEDOUT at the first poll after the deadline, having read once more", async () => {
    const { machine, dev, model, read, ready } = await started(1_000_000);
    const error = await expectReject(readPollTimeout(dev, read, ready, { sleepNs: 1_000, timeoutNs: 5_000 }), "ETIMEDOUT");
    expect(machine.clock.now).toBe(6_000);
    expect(model.reads).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000]);
    expect(error.message).toContain("within 5000 ns");
    expect(error.message).toContain("0x0");
  });

  it("the read after the deadline counts: a condition that came true while it slept is no timeout", async () => {
    const { machine, dev, read, ready } = await started(5_500);
    expect(await readPollTimeout(dev, read, ready, { sleepNs: 1_000, timeoutNs: 5_000 })).toBe(READY);
    expect(machine.clock.now).toBe(6_000);
  });

  it("timeoutNs 0 polls without a limit, as the kernel's", async () => {
    const { machine, dev, read, ready } = await started(50_000);
    expect(await readPollTimeout(dev, read, ready, { sleepNs: 10_000, timeoutNs: 0 })).toBe(READY);
    expect(machine.clock.now).toBe(50_000);
  });

  it("a device that is gone reads all-ones: a ready bit holds at once, a busy bit never clears", async () => {
    const machine = new Machine();
    const outcomes: unknown[] = [];
    const { dev } = await bindModel(machine, new Slow(1_000_000), (probeDev) => {
      const regs = iomap(probeDev, 0);
      return {
        async remove(dev) {
          const read = () => regs.read32(dev, STATUS);
          outcomes.push(await readPollTimeout(dev, read, (s) => (s & READY) !== 0, { sleepNs: 1_000, timeoutNs: 10_000 }));
          outcomes.push(await readPollTimeout(dev, read, (s) => (s & READY) === 0, { sleepNs: 1_000, timeoutNs: 3_000 }).catch((e: { code: string }) => e.code));
        },
      };
    });
    await machine.pci.unplug(dev);
    expect(outcomes).toEqual([0xffff_ffff, "ETIMEDOUT"]);
  });

  it("a dead token is ENXIO at once; a binding that ends while it polls is ENXIO at the next poll", async () => {
    const { machine, dev, device, read, ready } = await started(1_000_000);
    const polling = readPollTimeout(dev, () => 0, (v) => v === 1, { sleepNs: 1_000, timeoutNs: 1_000_000_000 });
    await machine.pci.unbind(device);
    await expectReject(polling, "ENXIO");
    await expectReject(readPollTimeout(dev, read, ready, { sleepNs: 1_000, timeoutNs: 5_000 }), "ENXIO");
  });

  it("from atomic context it is reported once, as sleeping there (sleep-in-atomic)", async () => {
    const { machine, dev, read, ready } = await started(1_000);
    const polled = atomic("a test's atomic section", () => readPollTimeout(dev, read, ready, { sleepNs: 1_000, timeoutNs: 10_000 }));
    expect(await polled).toBe(READY);
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["sleep-in-atomic"]);
  });

  it.each([
    ["sleepNs 0", { sleepNs: 0, timeoutNs: 1_000 }],
    ["a negative timeout", { sleepNs: 1, timeoutNs: -1 }],
    ["a fractional sleep", { sleepNs: 1.5, timeoutNs: 1_000 }],
    ["an infinite timeout", { sleepNs: 1, timeoutNs: Infinity }],
    ["no options", undefined],
  ])("%s is EINVAL", async (_what, options) => {
    const { dev, read, ready } = await started(1_000);
    await expectReject(readPollTimeout(dev, read, ready, smuggle(options)), "EINVAL");
  });

  it("a read or condition that is not a function is EINVAL; what they throw rejects as is", async () => {
    const { dev, read } = await started(1_000);
    await expectReject(readPollTimeout(dev, smuggle(0), () => true, { sleepNs: 1, timeoutNs: 1 }), "EINVAL");
    await expectReject(readPollTimeout(dev, read, smuggle("yes"), { sleepNs: 1, timeoutNs: 1 }), "EINVAL");
    const boom = new Error("boom");
    await expect(readPollTimeout(dev, read, () => { throw boom; }, { sleepNs: 1, timeoutNs: 1 })).rejects.toBe(boom);
  });
});

describe("readPollTimeoutAtomic", () => {
  it("returns the value once the condition holds, busy-waiting: device events fire while it spins", async () => {
    const { machine, dev, model, read, ready } = await started(500);
    expect(readPollTimeoutAtomic(dev, read, ready, { delayNs: 100, timeoutNs: 10_000 })).toBe(READY);
    expect(machine.clock.now).toBe(500);
    expect(model.reads).toEqual([0, 100, 200, 300, 400, 500]);
  });

  it("throws ETIMEDOUT at the first poll after the deadline, having read once more", async () => {
    const { machine, dev, model, read, ready } = await started(1_000_000);
    expectCode(() => readPollTimeoutAtomic(dev, read, ready, { delayNs: 100, timeoutNs: 300 }), "ETIMEDOUT");
    expect(machine.clock.now).toBe(400);
    expect(model.reads).toEqual([0, 100, 200, 300, 400]);
  });

  it("time it spent is time: a run afterwards goes on from there", async () => {
    const { machine, dev, read, ready } = await started(1_000_000);
    expectCode(() => readPollTimeoutAtomic(dev, read, ready, { delayNs: 1_000, timeoutNs: 2_000 }), "ETIMEDOUT");
    await machine.run(1_000);
    expect(machine.clock.now).toBe(4_000);
  });

  it("checks the token and the options", async () => {
    const { machine, dev, device, read, ready } = await started(1_000);
    expectCode(() => readPollTimeoutAtomic(dev, read, ready, { delayNs: 0, timeoutNs: 10 }), "EINVAL");
    expectCode(() => readPollTimeoutAtomic(dev, read, ready, { delayNs: 1, timeoutNs: 0 }), "EINVAL");
    expectCode(() => readPollTimeoutAtomic(dev, read, ready, { delayNs: 1, timeoutNs: 10_000_000 }), "EINVAL");
    await machine.pci.unbind(device);
    expectCode(() => readPollTimeoutAtomic(dev, read, ready, { delayNs: 1, timeoutNs: 10 }), "ENXIO");
  });
});
