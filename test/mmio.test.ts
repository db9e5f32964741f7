/**
 * MMIO mappings (src/mmio.ts): a BAR mapped for one binding. Every access
 * takes the binding's live token and a width-aligned offset inside the BAR;
 * values are checked against the width; the mapping is revoked at unbind; and
 * `iomap` is core-only.
 */

import { describe, expect, it } from "vitest";
import { defineDriver, iomap, Machine, requestIrq, spawn } from "../src/index.js";
import type { BoundDevice, IoMapping, MmioWidth, ProbeDevice } from "../src/index.js";
import { bindModel, expectCode, NIC, OpenModel, released, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** Two BARs (256 and 16 bytes); reads return `next` (or the offset), writes are logged. */
class Registers extends OpenModel {
  readonly log: string[] = [];
  next: number | bigint | undefined;

  constructor() {
    super({ bars: [256, 16] });
  }
  override mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint {
    this.log.push(`r${width * 8} ${bar}:${offset}`);
    return this.next ?? offset;
  }
  override mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void {
    this.log.push(`w${width * 8} ${bar}:${offset}=${typeof value === "bigint" ? `${value}n` : value}`);
  }
}

/** A Registers device bound with BAR 0 and BAR 1 mapped in probe. */
async function mapped(machine = new Machine()) {
  const model = new Registers();
  let bar0!: IoMapping<Smuggled>;
  let bar1!: IoMapping<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    bar0 = iomap(dev, 0);
    bar1 = iomap(dev, 1);
  });
  return { bar0, bar1, ...bound };
}

describe("a mapping", () => {
  it("names its BAR and the BAR's size", async () => {
    const { bar0, bar1 } = await mapped();
    expect([bar0.bar, bar0.size]).toEqual([0, 256]);
    expect([bar1.bar, bar1.size]).toEqual([1, 16]);
  });

  it("passes each access to the model with its BAR, offset and width", async () => {
    const { bar0, bar1, token, model } = await mapped();
    bar0.read8(token, 3);
    bar0.read16(token, 6);
    bar1.read32(token, 12);
    bar1.read64(token, 8);
    bar0.write8(token, 1, 0xab);
    bar0.write16(token, 2, 0xbeef);
    bar0.write32(token, 4, 0xdead_beef);
    bar0.write64(token, 248, 0xffff_0000_ffff_0000n);
    expect(model.log).toEqual([
      "r8 0:3",
      "r16 0:6",
      "r32 1:12",
      "r64 1:8",
      "w8 0:1=171",
      "w16 0:2=48879",
      "w32 0:4=3735928559",
      `w64 0:248=${0xffff_0000_ffff_0000n}n`,
    ]);
  });

  it("reads 8, 16 and 32 bits as numbers and 64 bits as a bigint", async () => {
    const { bar0, token, model } = await mapped();
    model.next = 0x7f;
    expect(bar0.read8(token, 0)).toBe(0x7f);
    expect(bar0.read16(token, 0)).toBe(0x7f);
    expect(bar0.read32(token, 0)).toBe(0x7f);
    expect(bar0.read64(token, 0)).toBe(0x7fn);
  });

  it.each<[string, number | bigint, [number, number, number, bigint]]>([
    ["too wide a number", 0x1_2345_6789, [0x89, 0x6789, 0x2345_6789, 0x1_2345_6789n]],
    ["-1", -1, [0xff, 0xffff, 0xffff_ffff, 0xffff_ffff_ffff_ffffn]],
    ["too wide a bigint", 0x1_0000_0000_0000_00a5n, [0xa5, 0xa5, 0xa5, 0xa5n]],
    ["a negative bigint", -2n, [0xfe, 0xfffe, 0xffff_fffe, 0xffff_ffff_ffff_fffen]],
  ])("a model value of %s is cut to the access width", async (_, value, [r8, r16, r32, r64]) => {
    const { bar0, token, model } = await mapped();
    model.next = value;
    expect([bar0.read8(token, 0), bar0.read16(token, 0), bar0.read32(token, 0), bar0.read64(token, 0)]).toEqual([r8, r16, r32, r64]);
  });

  it.each<[string, unknown]>([
    ["a fraction", 1.5],
    ["NaN", Number.NaN],
    ["a numeric string", "5"],
  ])("a model that returns %s for a read is EINVAL, naming the device", async (_, value) => {
    const { bar0, token, model, dev } = await mapped();
    model.next = smuggle<number>(value);
    for (const read of [() => bar0.read8(token, 0), () => bar0.read16(token, 0), () => bar0.read32(token, 0), () => bar0.read64(token, 0)]) {
      expect(expectCode(read, "EINVAL").message).toContain(dev.name);
    }
  });

  it("two mappings of one BAR reach the same registers", async () => {
    const model = new Registers();
    let again!: IoMapping<Smuggled>;
    let first!: IoMapping<Smuggled>;
    const { token } = await bindModel(new Machine(), model, (dev) => {
      first = iomap(dev, 0);
      again = iomap(dev, 0);
    });
    first.write8(token, 0, 1);
    again.write8(token, 0, 2);
    expect(model.log).toEqual(["w8 0:0=1", "w8 0:0=2"]);
  });
});

describe("offsets", () => {
  it.each<[string, (bar: IoMapping<Smuggled>, dev: BoundDevice<Smuggled>) => unknown]>([
    ["read16 at an odd offset", (bar, dev) => bar.read16(dev, 1)],
    ["read32 at offset 2", (bar, dev) => bar.read32(dev, 2)],
    ["read64 at offset 4", (bar, dev) => bar.read64(dev, 4)],
    ["write16 at offset 3", (bar, dev) => bar.write16(dev, 3, 0)],
    ["write32 at offset 6", (bar, dev) => bar.write32(dev, 6, 0)],
    ["write64 at offset 12", (bar, dev) => bar.write64(dev, 12, 0n)],
  ])("%s is EINVAL: an access is aligned to its width", async (_, use) => {
    const { bar0, token, model } = await mapped();
    expect(expectCode(() => use(bar0, token), "EINVAL").message).toContain("aligned");
    expect(model.log).toEqual([]);
  });

  it("read8 takes any offset in the BAR, up to its last byte", async () => {
    const { bar0, token } = await mapped();
    expect(bar0.read8(token, 255)).toBe(255);
    expect(bar0.read8(token, 37)).toBe(37);
  });

  it("the last aligned slot of each width is inside the BAR", async () => {
    const { bar1, token, model } = await mapped();
    bar1.read16(token, 14);
    bar1.read32(token, 12);
    bar1.read64(token, 8);
    expect(model.log).toEqual(["r16 1:14", "r32 1:12", "r64 1:8"]);
  });

  it.each<[string, (bar: IoMapping<Smuggled>, dev: BoundDevice<Smuggled>) => unknown]>([
    ["read8 at the BAR's size", (bar, dev) => bar.read8(dev, 16)],
    ["read64 at the BAR's size", (bar, dev) => bar.read64(dev, 16)],
    ["write32 past the end", (bar, dev) => bar.write32(dev, 1024, 0)],
    ["a negative offset", (bar, dev) => bar.read32(dev, -4)],
    ["a fractional offset", (bar, dev) => bar.read8(dev, 0.5)],
    ["a NaN offset", (bar, dev) => bar.read8(dev, Number.NaN)],
    ["a string offset", (bar, dev) => bar.read8(dev, smuggle<number>("0"))],
    ["a bigint offset", (bar, dev) => bar.read8(dev, smuggle<number>(0n))],
  ])("%s is EINVAL, naming the BAR's size", async (_, use) => {
    const { bar1, token, model } = await mapped();
    expect(expectCode(() => use(bar1, token), "EINVAL").message).toContain("16 bytes");
    expect(model.log).toEqual([]);
  });
});

describe("values written", () => {
  it("take the full range of each width", async () => {
    const { bar0, token, model } = await mapped();
    bar0.write8(token, 0, 0);
    bar0.write8(token, 0, 0xff);
    bar0.write16(token, 0, 0xffff);
    bar0.write32(token, 0, 0xffff_ffff);
    bar0.write64(token, 0, 0xffff_ffff_ffff_ffffn);
    expect(model.log).toHaveLength(5);
  });

  it.each<[string, (bar: IoMapping<Smuggled>, dev: BoundDevice<Smuggled>) => unknown]>([
    ["write8 of 256", (bar, dev) => bar.write8(dev, 0, 256)],
    ["write8 of -1", (bar, dev) => bar.write8(dev, 0, -1)],
    ["write8 of 1.5", (bar, dev) => bar.write8(dev, 0, 1.5)],
    ["write8 of a string", (bar, dev) => bar.write8(dev, 0, smuggle<number>("1"))],
    ["write8 of a bigint", (bar, dev) => bar.write8(dev, 0, smuggle<number>(1n))],
    ["write16 of 0x10000", (bar, dev) => bar.write16(dev, 0, 0x10000)],
    ["write32 of 2 ** 32", (bar, dev) => bar.write32(dev, 0, 2 ** 32)],
    ["write32 of -1", (bar, dev) => bar.write32(dev, 0, -1)],
    ["write32 of NaN", (bar, dev) => bar.write32(dev, 0, Number.NaN)],
    ["write64 of a number", (bar, dev) => bar.write64(dev, 0, smuggle<bigint>(1))],
    ["write64 of -1n", (bar, dev) => bar.write64(dev, 0, -1n)],
    ["write64 of 2n ** 64n", (bar, dev) => bar.write64(dev, 0, 2n ** 64n)],
  ])("%s is EINVAL and reaches no register", async (_, use) => {
    const { bar0, token, model } = await mapped();
    expectCode(() => use(bar0, token), "EINVAL");
    expect(model.log).toEqual([]);
  });
});

describe("iomap", () => {
  it.each<[string, unknown]>([
    ["a BAR the device does not have", 2],
    ["a negative BAR", -1],
    ["a fractional BAR", 0.5],
    ["a string BAR", "0"],
    ["no BAR", undefined],
  ])("%s is EINVAL, naming the BARs there are", async (_, bar) => {
    let error: unknown;
    await bindModel(new Machine(), new Registers(), (dev) => {
      error = expectCode(() => iomap(dev, smuggle<number>(bar)), "EINVAL");
    });
    expect(String(error)).toContain("BARs 0 to 1");
  });

  it("on a device with no BARs is EINVAL", async () => {
    let error: unknown;
    await bindModel(new Machine(), new OpenModel(), (dev) => {
      error = expectCode(() => iomap(dev, 0), "EINVAL");
    });
    expect(String(error)).toContain("no BARs");
  });

  it("works in remove()", async () => {
    const machine = new Machine();
    const model = new Registers();
    const { dev } = await bindModel(machine, model, () => ({
      remove: (dev) => void iomap(dev, 1).write32(dev, 0, 7),
    }));
    await machine.pci.unbind(dev);
    expect(model.log).toEqual(["w32 1:0=7"]);
  });

  it("is core-only: outside probe() and remove() it is EPERM, even while bound", async () => {
    const { token, dev } = await mapped();
    expect(dev.state).toBe("bound");
    expect(expectCode(() => iomap(token, 0), "EPERM").message).toContain("core-only");
  });

  it("is EPERM from an interrupt handler and from spawned work", async () => {
    const machine = new Machine();
    const model = new Registers();
    const errors: unknown[] = [];
    await bindModel(machine, model, (dev) => {
      requestIrq(dev, (dev) => errors.push(expectCode(() => iomap(smuggle<ProbeDevice<Smuggled>>(dev), 0), "EPERM")));
      spawn(dev, async (dev) => {
        await Promise.resolve();
        errors.push(expectCode(() => iomap(smuggle<ProbeDevice<Smuggled>>(dev), 0), "EPERM"));
      });
    });
    model.interrupt();
    await machine.run(0);
    expect(errors).toHaveLength(2);
  });

  it("with a dead token is ENXIO: liveness is checked before the core context", async () => {
    const { token, dev, machine } = await mapped();
    await machine.pci.unbind(dev);
    expectCode(() => iomap(token, 0), "ENXIO");
  });
});

describe("tokens", () => {
  it("an access with a forged token is EPERM", async () => {
    const { bar0, token, model } = await mapped();
    expectCode(() => bar0.read32(smuggle<BoundDevice<Smuggled>>(Object.create(token)), 0), "EPERM");
    expectCode(() => bar0.write32(smuggle<BoundDevice<Smuggled>>({ ...token }), 0, 1), "EPERM");
    expectCode(() => bar0.read8(smuggle<BoundDevice<Smuggled>>({ name: token.name }), 0), "EPERM");
    expect(model.log).toEqual([]);
  });

  it("an access with no token at all is EINVAL", async () => {
    const { bar0 } = await mapped();
    expectCode(() => bar0.read32(smuggle<BoundDevice<Smuggled>>(undefined), 0), "EINVAL");
  });

  it("an access with the token of another device's binding is EINVAL, naming both", async () => {
    const machine = new Machine();
    const one = await mapped(machine);
    const two = await mapped(machine);
    const error = expectCode(() => one.bar0.read32(two.token, 0), "EINVAL");
    expect(error.message).toContain(one.dev.name);
    expect(error.message).toContain(two.dev.name);
    expect(one.model.log).toEqual([]);
    expect(two.model.log).toEqual([]);
  });

  it("the token is checked before the offset: a dead token with a bad offset is ENXIO", async () => {
    const { bar0, token, dev, machine } = await mapped();
    await machine.pci.unbind(dev);
    expectCode(() => bar0.read32(token, 3), "ENXIO");
  });
});

describe("at unbind", () => {
  it("the mapping is released with the binding's other resources", async () => {
    const { dev, machine } = await mapped();
    await machine.pci.unbind(dev);
    expect(released(machine)).toEqual(["mmio BAR 1", "mmio BAR 0"]);
  });

  it("a mapping kept past unbind is dead: ENXIO with its token, EINVAL with the next binding's, and the device sees nothing", async () => {
    const machine = new Machine();
    const { bar0, token, dev, model } = await mapped(machine);
    await machine.pci.unbind(dev);
    expectCode(() => bar0.read32(token, 0), "ENXIO");
    expectCode(() => bar0.write32(token, 0, 1), "ENXIO");

    let next: ProbeDevice<Smuggled> | undefined;
    let fresh!: IoMapping<Smuggled>;
    await machine.pci.register(
      defineDriver({
        name: "rebind",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          next = smuggle(dev);
          fresh = smuggle(iomap(dev, 0));
          return {};
        },
      }),
    );
    expect(dev.state).toBe("bound");
    expectCode(() => bar0.read32(next!, 0), "EINVAL");
    expect(model.log).toEqual([]);
    fresh.read32(next!, 4);
    expect(model.log).toEqual(["r32 0:4"]);
  });

  it("a mapping is dead after unplug too", async () => {
    const { bar0, token, dev, machine } = await mapped();
    await machine.pci.unplug(dev);
    expectCode(() => bar0.read8(token, 0), "ENXIO");
  });

  it("a mapping taken in a probe that failed is dead", async () => {
    const machine = new Machine();
    const model = new Registers();
    let kept: IoMapping<Smuggled> | undefined;
    let token: BoundDevice<Smuggled> | undefined;
    await machine.pci.register(
      defineDriver({
        name: "refuses",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          token = smuggle(dev);
          kept = smuggle(iomap(dev, 0));
          throw new Error("not this one");
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    expectCode(() => kept!.read32(token!, 0), "ENXIO");
    expect(released(machine)).toEqual(["mmio BAR 0"]);
  });
});

describe("a plain device", () => {
  it("plugged from ids alone has no registers to map", async () => {
    const machine = new Machine();
    let error: unknown;
    await machine.pci.register(
      defineDriver({
        name: "plain",
        ids: [NIC],
        probe(dev) {
          error = expectCode(() => iomap(dev, 0), "EINVAL");
          return {};
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    expect(String(error)).toContain("no BARs");
  });
});
