/**
 * sleep(dev, ns) (src/clock.ts): a driver waiting on virtual time.
 */

import { describe, expect, it } from "vitest";
import { defineDriver, DeviceModel, iomap, Machine, sleep } from "../src/index.js";
import type { MmioWidth } from "../src/index.js";
import { expectCode, NIC, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";
import type { SleepableDevice } from "../src/index.js";

/** A device that takes 5 µs to go idle after CTRL=0. */
class SlowStop extends DeviceModel {
  busy = true;
  constructor() {
    super({ ...NIC, bars: [16] });
  }
  override mmioRead(): number {
    return this.busy ? 1 : 0;
  }
  override mmioWrite(_bar: number, _offset: number, _width: MmioWidth, value: number | bigint): void {
    if (value === 0) this.after(5_000, () => (this.busy = false));
  }
}

describe("sleep", () => {
  it("a remove() that polls with sleep sees the device go idle, with nobody running the clock", async () => {
    const machine = new Machine();
    const polls: number[] = [];
    await machine.pci.register(
      defineDriver({
        name: "poller",
        ids: [NIC],
        probe(dev) {
          const regs = iomap(dev, 0);
          return {
            async remove(dev) {
              regs.write32(dev, 0, 0);
              while (regs.read32(dev, 4) !== 0) {
                polls.push(machine.clock.now);
                await sleep(dev, 1_000);
              }
            },
          };
        },
      }),
    );
    const dev = machine.pci.plug(new SlowStop());
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(polls).toEqual([0, 1_000, 2_000, 3_000, 4_000]);
    // 5 µs of polling, then one 1 µs devres release step (the MMIO mapping).
    expect(machine.clock.now).toBe(6_000);
  });

  it("a sleeper and a running clock share it: run() waits for the sleeper, and time adds up", async () => {
    const machine = new Machine();
    let token: SleepableDevice<Smuggled> | undefined;
    await machine.pci.register(defineDriver({ name: "t", ids: [NIC], probe: (dev) => ((token = smuggle(dev)), {}) }));
    machine.pci.plug(NIC);
    await machine.settled();
    const slept = sleep(token!, 3_000);
    const ran = machine.run(1_000);
    await Promise.all([slept, ran]);
    expect(machine.clock.now).toBe(4_000);
  });

  it("sleep with a dead token is ENXIO, a bad time EINVAL", async () => {
    const machine = new Machine();
    let token: SleepableDevice<Smuggled> | undefined;
    await machine.pci.register(defineDriver({ name: "t", ids: [NIC], probe: (dev) => ((token = smuggle(dev)), {}) }));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    expectCode(() => sleep(token!, -1), "EINVAL");
    await machine.pci.unplug(dev);
    expectCode(() => sleep(token!, 10), "ENXIO");
  });
});
