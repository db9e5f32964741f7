/**
 * Device models (src/model.ts): simulated PCI functions. A model is checked
 * when it is made, works only once plugged, plugs in once, and on surprise
 * removal stops for good: MMIO reads all-ones, writes go nowhere, its timers
 * are cancelled and its DMA port is dead.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, DeviceModel, enableBusMaster, iomap, Machine, requestIrq, sleep } from "../src/index.js";
import type { DeviceModelSpec, IoMapping, MmioWidth, ProbeDevice } from "../src/index.js";
import { bindModel, expectCode, NIC, OpenModel, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** Registers that read back what was written, and a log of every access that reached the device. */
class Scratch extends OpenModel {
  readonly accesses: string[] = [];
  removedCalls = 0;
  pendingWhenRemoved: number | undefined;
  readonly masterChanges: boolean[] = [];
  #regs = new Map<number, number | bigint>();

  constructor(name?: string) {
    super({ bars: [256], ...(name === undefined ? {} : { name }) });
  }
  override mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint {
    this.accesses.push(`read${width * 8} ${bar}:${offset}`);
    return this.#regs.get(offset) ?? (width === 8 ? 0x0123_4567_89ab_cdefn : 0x12);
  }
  override mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void {
    this.accesses.push(`write${width * 8} ${bar}:${offset}=${value}`);
    this.#regs.set(offset, value);
  }
  override busMasterChanged(enabled: boolean): void {
    this.masterChanges.push(enabled);
  }
  override removed(): void {
    this.removedCalls++;
    this.pendingWhenRemoved = this.clockPending?.();
  }
  /** Set by a test that wants to know what was still scheduled when removed() ran. */
  clockPending: (() => number) | undefined;
}

describe("making a model", () => {
  it("keeps its ids, name and BAR sizes, the sizes frozen and copied", () => {
    const bars = [16, 4096];
    const model = new DeviceModel({ vendor: 0x8086, device: 0x100e, name: "eth0", bars });
    bars.push(64);
    expect(model).toMatchObject({ vendor: 0x8086, device: 0x100e, name: "eth0" });
    expect(model.bars).toEqual([16, 4096]);
    expect(Object.isFrozen(model.bars)).toBe(true);
  });

  it("has no BARs and no name unless given", () => {
    const model = new DeviceModel({ vendor: 1, device: 2 });
    expect(model.bars).toEqual([]);
    expect(model.name).toBeUndefined();
  });

  it("reads as zero and ignores writes unless a subclass says otherwise", () => {
    const model = new DeviceModel(NIC);
    expect(model.mmioRead(0, 0, 4)).toBe(0);
    expect(model.mmioWrite(0, 0, 4, 1)).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "1af4:1000"],
    ["a vendor below 0", { vendor: -1, device: 1 }],
    ["a vendor above 0xffff", { vendor: 0x10000, device: 1 }],
    ["a fractional device", { vendor: 1, device: 1.5 }],
    ["a string device", { vendor: 1, device: "1" }],
    ["no device id", { vendor: 1 }],
    ["an empty name", { vendor: 1, device: 1, name: "" }],
    ["a blank name", { vendor: 1, device: 1, name: "   " }],
    ["a numeric name", { vendor: 1, device: 1, name: 7 }],
    ["bars that are not an array", { vendor: 1, device: 1, bars: 256 }],
    ["seven bars", { vendor: 1, device: 1, bars: [16, 16, 16, 16, 16, 16, 16] }],
    ["a BAR under 16 bytes", { vendor: 1, device: 1, bars: [8] }],
    ["a BAR that is not a power of two", { vendor: 1, device: 1, bars: [100] }],
    ["a zero BAR", { vendor: 1, device: 1, bars: [0] }],
    ["a negative BAR", { vendor: 1, device: 1, bars: [-16] }],
    ["a fractional BAR", { vendor: 1, device: 1, bars: [16.5] }],
    ["a BAR beyond the safe integers", { vendor: 1, device: 1, bars: [2 ** 60] }],
    ["a string BAR", { vendor: 1, device: 1, bars: ["4096"] }],
  ])("%s is EINVAL", (_, spec) => {
    expectCode(() => new DeviceModel(smuggle<DeviceModelSpec>(spec)), "EINVAL");
  });

  it("six BARs are fine", () => {
    expect(new DeviceModel({ vendor: 1, device: 1, bars: [16, 32, 64, 128, 256, 1 << 20] }).bars).toHaveLength(6);
  });
});

describe("a model before it is plugged in", () => {
  it.each<[string, (model: OpenModel) => unknown]>([
    ["now", (m) => m.time],
    ["busMaster", (m) => m.mastering],
    ["present", (m) => m.attached],
    ["after", (m) => m.later(10, () => {})],
    ["dmaRead", (m) => m.read(0x4000_0000n, 4)],
    ["dmaWrite", (m) => m.write(0x4000_0000n, new Uint8Array(4))],
    ["raiseIrq", (m) => m.interrupt()],
    ["hold", (m) => m.holdRange(0x4000_0000n, 4096, "ring")],
    ["unhold", (m) => m.releaseRange(0x4000_0000n)],
  ])("%s is EINVAL: the model is not plugged in yet", (operation, use) => {
    const error = expectCode(() => use(new OpenModel()), "EINVAL");
    expect(error.message).toContain(operation);
    expect(error.message).toContain("not plugged in");
  });
});

describe("plugging a model in", () => {
  it("gives a device with the model's ids and name", () => {
    const machine = new Machine();
    const model = new OpenModel({ name: "nic0" });
    const dev = machine.pci.plug(model);
    expect(dev).toMatchObject({ name: "nic0", vendor: model.vendor, device: model.device, state: "no-driver" });
  });

  it("an unnamed model takes the next bus address", () => {
    const machine = new Machine();
    expect(machine.pci.plug(new OpenModel()).name).toBe("0000:00:01.0");
  });

  it("connects its services to the machine", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    machine.pci.plug(model);
    await machine.run(1_234);
    expect(model.time).toBe(1_234);
    expect(model.attached).toBe(true);
    expect(model.mastering).toBe(false);
  });

  it("a model plugged in twice is EBUSY, and the bus keeps only the first device", () => {
    const machine = new Machine();
    const model = new OpenModel();
    const dev = machine.pci.plug(model);
    const error = expectCode(() => machine.pci.plug(model), "EBUSY");
    expect(error.message).toContain(dev.name);
    expect(machine.pci.devices).toEqual([dev]);
  });

  it("a model plugged into a second machine is EBUSY", () => {
    const model = new OpenModel();
    new Machine().pci.plug(model);
    const other = new Machine();
    expectCode(() => other.pci.plug(model), "EBUSY");
    expect(other.pci.devices).toEqual([]);
  });

  it("an unplugged model cannot be plugged in again: make a new one", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    await machine.pci.unplug(machine.pci.plug(model));
    expectCode(() => machine.pci.plug(model), "EBUSY");
  });

  it("the model hears bus mastering go on in probe and off at unbind", async () => {
    const machine = new Machine();
    const model = new Scratch();
    const { dev } = await bindModel(machine, model, (dev) => {
      enableBusMaster(dev);
      expect(model.mastering).toBe(true);
    });
    expect(model.masterChanges).toEqual([true]);
    await machine.pci.unbind(dev);
    expect(model.masterChanges).toEqual([true, false]);
    expect(model.mastering).toBe(false);
  });
});

/** A Scratch model bound to a driver that maps BAR 0 and, in remove(), does what `inRemove` says. */
async function scratchBound(inRemove: (regs: IoMapping<Smuggled>, dev: ProbeDevice<Smuggled>) => void = () => {}) {
  const machine = new Machine();
  const model = new Scratch();
  model.clockPending = () => machine.clock.pending;
  let regs!: IoMapping<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    regs = iomap(dev, 0);
    enableBusMaster(dev);
    return { remove: (dev) => inRemove(regs, dev) };
  });
  return { regs, ...bound };
}

describe("surprise removal", () => {
  it("MMIO reads return all-ones at every width, even with the token still live in remove()", async () => {
    const reads: (number | bigint)[] = [];
    const { machine, model, regs, token, dev } = await scratchBound((regs, dev) => {
      reads.push(regs.read8(dev, 0), regs.read16(dev, 0), regs.read32(dev, 0), regs.read64(dev, 0));
    });
    expect(regs.read8(token, 0)).toBe(0x12);
    expect(regs.read64(token, 8)).toBe(0x0123_4567_89ab_cdefn);
    model.accesses.length = 0;
    await machine.pci.unplug(dev);
    expect(reads).toEqual([0xff, 0xffff, 0xffff_ffff, 0xffff_ffff_ffff_ffffn]);
    expect(model.accesses).toEqual([]);
  });

  it("MMIO writes are dropped: the model never sees them", async () => {
    const { machine, model, dev } = await scratchBound((regs, dev) => {
      regs.write8(dev, 0, 1);
      regs.write16(dev, 2, 2);
      regs.write32(dev, 4, 3);
      regs.write64(dev, 8, 4n);
    });
    model.accesses.length = 0;
    await machine.pci.unplug(dev);
    expect(model.accesses).toEqual([]);
  });

  it("the hardware is gone the moment unplug is asked for, before remove() runs", async () => {
    const { machine, regs, token, dev } = await scratchBound();
    const unplugged = machine.pci.unplug(dev);
    expect(regs.read32(token, 0)).toBe(0xffff_ffff);
    await unplugged;
  });

  it("cancels the model's timers: nothing it scheduled fires", async () => {
    const { machine, model, dev } = await scratchBound();
    const fired: number[] = [];
    model.later(1_000, () => fired.push(1));
    model.later(5_000, () => fired.push(2));
    expect(machine.clock.pending).toBe(2);
    await machine.pci.unplug(dev);
    expect(machine.clock.pending).toBe(0);
    await machine.run(10_000);
    expect(fired).toEqual([]);
  });

  it("cancels the timers due at the very instant of removal, after many have fired", async () => {
    const { machine, model, dev } = await scratchBound();
    let fired = 0;
    for (let i = 0; i < 100; i++) model.later(1, () => fired++);
    await machine.run(10);
    expect(fired).toBe(100);
    // Due now: scheduled while the model's list of timers is swept of the 100 that fired.
    for (let i = 0; i < 30; i++) model.later(0, () => fired++);
    expect(machine.clock.pending).toBe(30);
    await machine.pci.unplug(dev);
    expect(machine.clock.pending).toBe(0);
    await machine.run(10);
    expect(fired).toBe(100);
  });

  it("calls removed() once, after its timers are cancelled", async () => {
    const { machine, model, dev } = await scratchBound();
    model.later(1_000, () => {});
    await machine.pci.unplug(dev);
    expect(model.removedCalls).toBe(1);
    expect(model.pendingWhenRemoved).toBe(0);
  });

  it("calls removed() for a device no driver was bound to", async () => {
    const machine = new Machine();
    const model = new Scratch();
    await machine.pci.unplug(machine.pci.plug(model));
    expect(model.removedCalls).toBe(1);
  });

  it("kills the DMA port: reads are all-ones, writes land nowhere, and nothing is reported", async () => {
    const { machine, model, token, dev } = await scratchBound();
    const buf = allocCoherent(token, 64);
    buf.bytes(token).fill(0x11);
    const handle = buf.dmaHandle;
    const unplugged = machine.pci.unplug(dev);
    expect(model.attached).toBe(false);
    expect([...model.read(handle, 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(model.write(handle, new Uint8Array(4))).toBe(false);
    expect(buf.bytes(token)[0]).toBe(0x11);
    await unplugged;
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(machine.iommu.faults).toEqual([]);
  });

  it("an interrupt the model raises after removal runs no handler", async () => {
    const machine = new Machine();
    const model = new Scratch();
    let handled = 0;
    const { dev } = await bindModel(machine, model, (dev) => {
      requestIrq(dev, () => handled++);
      return { remove: () => model.interrupt() };
    });
    model.interrupt();
    expect(handled).toBe(1);
    await machine.pci.unplug(dev);
    model.interrupt();
    expect(handled).toBe(1);
  });

  it("an orderly unbind leaves the model running: its timers still fire", async () => {
    const { machine, model, dev } = await scratchBound();
    let fired = 0;
    model.later(50_000, () => fired++);
    await machine.pci.unbind(dev);
    await machine.run(50_000);
    expect(fired).toBe(1);
    expect(model.removedCalls).toBe(0);
    expect(model.attached).toBe(true);
  });
});

describe("the dma events of a model's transfers", () => {
  it("are one per direction and instant, however the reads and writes alternate", async () => {
    const { machine, model, token } = await scratchBound();
    const buf = allocCoherent(token, 256);
    const at = buf.dmaHandle;
    const logged = (): string[] => machine.events.filter((e) => e.kind === "dma").map((e) => `${e.time} ${e.direction} 0x${e.address!.toString(16)}`);
    const before = logged().length;
    const t0 = machine.clock.now;
    const burst = (): void => {
      model.write(at, new Uint8Array(16));
      model.read(at + 16n, 16);
      model.write(at + 32n, new Uint8Array(16));
      model.read(at + 48n, 16);
    };
    burst();
    await machine.run(100);
    burst();
    const t = machine.clock.now;
    expect(logged().slice(before)).toEqual([`${t0} write 0x${at.toString(16)}`, `${t0} read 0x${(at + 16n).toString(16)}`, `${t} write 0x${at.toString(16)}`, `${t} read 0x${(at + 16n).toString(16)}`]);
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("an error a device raises in a clock event", () => {
  it("goes to whoever runs the machine, not to another driver sleeping on the clock", async () => {
    const machine = new Machine();
    const faulty = new OpenModel();
    const sleeper = new OpenModel();
    machine.pci.plug(faulty);
    faulty.later(500, () => {
      throw new Error("device fell over");
    });
    await machine.pci.register(
      defineDriver({
        name: "sleeper",
        ids: [{ vendor: sleeper.vendor, device: sleeper.device }],
        async probe(dev) {
          await sleep(dev, 1_000); // the faulty device's event fires meanwhile
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(sleeper);
    await machine.settled();
    expect(dev.state).toBe("bound");
    await expect(machine.run(10)).rejects.toThrow("device fell over");
    await expect(machine.run(10)).resolves.toBeUndefined();
  });

  it("stops machine.run at the instant it happened", async () => {
    const machine = new Machine();
    const faulty = new OpenModel();
    machine.pci.plug(faulty);
    faulty.later(300, () => {
      throw new Error("boom");
    });
    await expect(machine.run(1_000)).rejects.toThrow("boom");
    expect(machine.clock.now).toBe(300);
  });
});
