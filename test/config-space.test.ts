/**
 * PCI config space (src/sim/config-space.ts) as drivers reach it
 * (src/driver/pci.ts): the header, BAR sizing, the capability list with
 * PCI Express, MSI-X and vendor capabilities, read-only and RW1C bits, the
 * command register's bus-master bit as bus mastering, memory decoding, and
 * enabling and disabling the device.
 */

import { describe, expect, it } from "vitest";
import {
  allocIrqVectors,
  DeviceModel,
  enableBusMaster,
  iomap,
  Machine,
  pciDisableDevice,
  pciEnableDevice,
  pciFindCapability,
  pciFindNextCapability,
  pcimEnableDevice,
  pciReadConfigByte,
  pciReadConfigDword,
  pciReadConfigWord,
  pciRegs,
  pciWriteConfigByte,
  pciWriteConfigDword,
  pciWriteConfigWord,
  requestIrq,
} from "../src/index.js";
import type { ConfigWidth, MmioWidth } from "../src/index.js";
import { ConfigSpace } from "../src/sim/config-space.js";
import { bindModel, expectCode, OpenModel, released, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";
import type { BoundDevice, ProbeDevice } from "../src/index.js";

const R = pciRegs;

/** A vendor capability body: a type byte, then a BAR and an offset, virtio-style. */
const VIRTIO_COMMON = Uint8Array.of(1, 0, 0, 0, 0, 0x10, 0, 0);
const VIRTIO_NOTIFY = Uint8Array.of(2, 0, 0, 0, 0, 0x20, 0, 0, 4, 0, 0, 0);

/** A model with registers in BAR 0 (reads 0x1234) and a vendor capability whose byte 5 is a live counter. */
class Counted extends OpenModel {
  reads = 0;
  written: [number, ConfigWidth, number][] = [];
  masterChanges: boolean[] = [];
  override mmioRead(): number {
    return 0x1234;
  }
  override configRead(offset: number, width: ConfigWidth, stored: number): number {
    this.reads++;
    return offset >= 0x100 ? 0xdead_beef >>> (32 - 8 * width) : stored;
  }
  override configWrite(offset: number, width: ConfigWidth, value: number): void {
    this.written.push([offset, width, value]);
  }
  override busMasterChanged(enabled: boolean): void {
    this.masterChanges.push(enabled);
  }
}

async function bound(spec: ConstructorParameters<typeof OpenModel>[0] = {}) {
  const machine = new Machine();
  const model = new Counted({ bars: [0x1000, 0x100], msix: 8, revision: 3, classCode: 0x020000, capabilities: [{ id: 0x09, bytes: VIRTIO_COMMON }, { id: 0x09, bytes: VIRTIO_NOTIFY }], ...spec });
  const b = await bindModel(machine, model);
  return { ...b, token: smuggle<BoundDevice<Smuggled>>(b.token) };
}

describe("config space header", () => {
  it("holds the ids, the class, the firmware-enabled command register, the capability bit and the interrupt pin", async () => {
    const { token, model } = await bound();
    expect(pciReadConfigWord(token, R.VENDOR_ID)).toBe(model.vendor);
    expect(pciReadConfigWord(token, R.DEVICE_ID)).toBe(model.device);
    expect(pciReadConfigDword(token, R.VENDOR_ID)).toBe(((model.device << 16) | model.vendor) >>> 0);
    expect(pciReadConfigWord(token, R.COMMAND)).toBe(R.COMMAND_MEMORY);
    expect(pciReadConfigWord(token, R.STATUS)).toBe(R.STATUS_CAP_LIST);
    expect(pciReadConfigByte(token, R.REVISION_ID)).toBe(3);
    expect(pciReadConfigDword(token, R.REVISION_ID) >>> 8).toBe(0x020000);
    expect(pciReadConfigByte(token, R.HEADER_TYPE)).toBe(0);
    expect(pciReadConfigWord(token, R.SUBSYSTEM_VENDOR_ID)).toBe(model.vendor);
    expect(pciReadConfigByte(token, R.CAPABILITY_LIST)).toBe(0x40);
    expect(pciReadConfigByte(token, R.INTERRUPT_PIN)).toBe(1);
  });

  it("ignores writes to read-only fields, and keeps writable ones", async () => {
    const { token, model } = await bound();
    pciWriteConfigWord(token, R.VENDOR_ID, 0x1111);
    pciWriteConfigByte(token, R.REVISION_ID, 9);
    pciWriteConfigByte(token, R.CAPABILITY_LIST, 0x80);
    pciWriteConfigByte(token, R.INTERRUPT_PIN, 4);
    pciWriteConfigWord(token, R.STATUS, 0xffff);
    expect(pciReadConfigWord(token, R.VENDOR_ID)).toBe(model.vendor);
    expect(pciReadConfigByte(token, R.REVISION_ID)).toBe(3);
    expect(pciReadConfigByte(token, R.CAPABILITY_LIST)).toBe(0x40);
    expect(pciReadConfigByte(token, R.INTERRUPT_PIN)).toBe(1);
    expect(pciReadConfigWord(token, R.STATUS)).toBe(R.STATUS_CAP_LIST);
    pciWriteConfigByte(token, R.INTERRUPT_LINE, 11);
    pciWriteConfigByte(token, R.CACHE_LINE_SIZE, 16);
    expect(pciReadConfigByte(token, R.INTERRUPT_LINE)).toBe(11);
    expect(pciReadConfigByte(token, R.CACHE_LINE_SIZE)).toBe(16);
    // Only memory, bus master, parity, SERR and INTx disable are writable in the command register.
    pciWriteConfigWord(token, R.COMMAND, 0xffff);
    expect(pciReadConfigWord(token, R.COMMAND)).toBe(0x0546);
  });

  it("status error bits are RW1C: set by the device, cleared by writing one, untouched by writing zero", () => {
    const space = standalone();
    space.raise(R.STATUS, R.STATUS_REC_MASTER_ABORT | R.STATUS_SIG_SYSTEM_ERROR | R.STATUS_CAP_LIST);
    expect(space.read(R.STATUS, 2)).toBe(R.STATUS_CAP_LIST | R.STATUS_REC_MASTER_ABORT | R.STATUS_SIG_SYSTEM_ERROR);
    space.write(R.STATUS, 2, 0);
    expect(space.read(R.STATUS, 2)).toBe(R.STATUS_CAP_LIST | R.STATUS_REC_MASTER_ABORT | R.STATUS_SIG_SYSTEM_ERROR);
    space.write(R.STATUS, 2, R.STATUS_REC_MASTER_ABORT | R.STATUS_CAP_LIST);
    expect(space.read(R.STATUS, 2)).toBe(R.STATUS_CAP_LIST | R.STATUS_SIG_SYSTEM_ERROR);
    // A dword write of the command register with zero status bits leaves them alone.
    space.write(R.COMMAND, 4, R.COMMAND_MEMORY);
    expect(space.read(R.STATUS, 2)).toBe(R.STATUS_CAP_LIST | R.STATUS_SIG_SYSTEM_ERROR);
  });
});

/** A config space on its own, with events recorded. */
function standalone(msix = 4) {
  const events: string[] = [];
  const space = new ConfigSpace(
    { vendor: 0x1af4, device: 0x1041, revision: 1, classCode: 0, bars: [0x1000], msix, capabilities: [] },
    {
      busMasterChanged: (on) => events.push(`master ${on}`),
      functionReset: () => events.push("reset"),
      hookRead: (_o, _w, stored) => stored,
      hookWrite: () => {},
    },
  );
  return Object.assign(space, { events });
}

describe("BARs", () => {
  it("read back their size mask after a write of all-ones, and their address after a restore", async () => {
    const { token } = await bound({ bars: [0x1000, 0x100, 0x10] });
    for (const [i, size] of [0x1000, 0x100, 0x10].entries()) {
      const at = R.BASE_ADDRESS_0 + 4 * i;
      const address = pciReadConfigDword(token, at);
      expect(address % size, `BAR ${i} is naturally aligned`).toBe(0);
      expect(address).not.toBe(0);
      pciWriteConfigDword(token, at, 0xffff_ffff);
      const mask = pciReadConfigDword(token, at);
      expect((~(mask & R.BASE_ADDRESS_MEM_MASK) >>> 0) + 1).toBe(size);
      pciWriteConfigDword(token, at, address);
      expect(pciReadConfigDword(token, at)).toBe(address);
    }
  });

  it("BARs the device does not have read zero and ignore writes", async () => {
    const { token } = await bound({ bars: [0x1000] });
    pciWriteConfigDword(token, R.BASE_ADDRESS_0 + 4, 0xffff_ffff);
    expect(pciReadConfigDword(token, R.BASE_ADDRESS_0 + 4)).toBe(0);
    expect(pciReadConfigDword(token, R.BASE_ADDRESS_0 + 20)).toBe(0);
  });
});

describe("the capability list", () => {
  it("walks PCI Express, then MSI-X, then the vendor capabilities, in order", async () => {
    const { token } = await bound();
    const exp = pciFindCapability(token, R.CAP_ID_EXP);
    const msix = pciFindCapability(token, R.CAP_ID_MSIX);
    const first = pciFindCapability(token, R.CAP_ID_VNDR);
    const second = pciFindNextCapability(token, first, R.CAP_ID_VNDR);
    expect([exp, msix]).toEqual([0x40, 0x7c]);
    expect(first).toBe(0x88);
    expect(second).toBe(0x88 + 12);
    expect(pciFindNextCapability(token, second, R.CAP_ID_VNDR)).toBe(0);
    expect(pciFindCapability(token, 0x05)).toBe(0);
    for (const at of [exp, msix, first, second]) expect(at % 4).toBe(0);
  });

  it("offers function-level reset in the PCI Express capability", async () => {
    const { token } = await bound();
    const exp = pciFindCapability(token, R.CAP_ID_EXP);
    expect(pciReadConfigDword(token, exp + R.EXP_DEVCAP) & R.EXP_DEVCAP_FLR).toBe(R.EXP_DEVCAP_FLR);
    // The initiate-FLR bit reads as zero.
    expect(pciReadConfigWord(token, exp + R.EXP_DEVCTL) & R.EXP_DEVCTL_BCR_FLR).toBe(0);
  });

  it("the MSI-X capability gives the table size and where the table and PBA are; enable and mask are writable, the size is not", async () => {
    const { token } = await bound({ bars: [0x1000, 0x100], msix: 8 });
    const msix = pciFindCapability(token, R.CAP_ID_MSIX);
    const control = pciReadConfigWord(token, msix + R.MSIX_FLAGS);
    expect((control & R.MSIX_FLAGS_QSIZE) + 1).toBe(8);
    const table = pciReadConfigDword(token, msix + R.MSIX_TABLE);
    const pba = pciReadConfigDword(token, msix + R.MSIX_PBA);
    // In the last BAR (1, 256 bytes), at its top: 8 entries of 16 bytes, then 8 bytes of PBA.
    expect(table & R.MSIX_TABLE_BIR).toBe(1);
    expect(table & R.MSIX_TABLE_OFFSET).toBe(0x100 - 128 - 8);
    expect(pba & R.MSIX_TABLE_OFFSET).toBe(0x100 - 8);
    pciWriteConfigWord(token, msix + R.MSIX_FLAGS, R.MSIX_FLAGS_ENABLE | R.MSIX_FLAGS_MASKALL | 0x3ff);
    expect(pciReadConfigWord(token, msix + R.MSIX_FLAGS)).toBe(R.MSIX_FLAGS_ENABLE | R.MSIX_FLAGS_MASKALL | 7);
    pciWriteConfigWord(token, msix + R.MSIX_FLAGS, 0);
    expect(pciReadConfigWord(token, msix + R.MSIX_FLAGS)).toBe(7);
  });

  it("the standalone config space says what MSI-X is set to", () => {
    const space = standalone(4);
    expect([space.msixEnabled, space.msixMasked]).toEqual([false, false]);
    space.write(space.msixAt + R.MSIX_FLAGS, 2, R.MSIX_FLAGS_ENABLE);
    expect([space.msixEnabled, space.msixMasked]).toEqual([true, false]);
    space.write(space.msixAt + R.MSIX_FLAGS, 2, R.MSIX_FLAGS_ENABLE | R.MSIX_FLAGS_MASKALL);
    expect([space.msixEnabled, space.msixMasked]).toEqual([true, true]);
    expect(standalone(0).msixAt).toBe(0);
  });

  it("a device without MSI-X has no MSI-X capability, and its vendor capabilities follow PCI Express", async () => {
    const machine = new Machine();
    const { token } = await bindModel(machine, new OpenModel({ capabilities: [{ id: 0x09, bytes: Uint8Array.of(7) }] }));
    expect(pciFindCapability(token, R.CAP_ID_MSIX)).toBe(0);
    expect(pciFindCapability(token, R.CAP_ID_VNDR)).toBe(0x7c);
  });

  it("a vendor capability holds its header and body; the body is the model's to answer and hear, the header is not", async () => {
    const { token, model } = await bound();
    const at = pciFindCapability(token, R.CAP_ID_VNDR);
    expect(pciReadConfigByte(token, at + 2)).toBe(3 + VIRTIO_COMMON.length);
    expect(pciReadConfigByte(token, at + 3)).toBe(1);
    expect(pciReadConfigByte(token, at + 8)).toBe(0x10);
    const readsBefore = model.reads;
    pciReadConfigDword(token, at + 4);
    expect(model.reads).toBe(readsBefore + 1);
    // A dword at the capability's start: the model's answer counts only for byte 3 (the body).
    pciWriteConfigDword(token, at, 0xaabb_ccdd);
    expect(model.written).toEqual([[at, 4, 0xaabb_ccdd]]);
    expect(pciReadConfigByte(token, at)).toBe(R.CAP_ID_VNDR);
    expect(pciReadConfigByte(token, at + 3)).toBe(1);
    // Extended space is the model's: this one answers 0xdeadbeef there.
    expect(pciReadConfigDword(token, 0x100)).toBe(0xdead_beef);
    expect(pciReadConfigByte(token, 0xffc)).toBe(0xde);
  });

  it("a model that answers a config read with something else is refused with EINVAL", async () => {
    class Broken extends OpenModel {
      override configRead(): number {
        return 1.5;
      }
    }
    const machine = new Machine();
    const { token } = await bindModel(machine, new Broken());
    expectCode(() => pciReadConfigDword(token, 0x100), "EINVAL");
  });
});

describe("MSI-X in config space and the platform's vectors", () => {
  /** A model that sends vector `i` on demand. */
  class Messages extends OpenModel {
    send(vector: number): void {
      this.raiseMsi(vector);
    }
  }

  it("allocIrqVectors sets the enable bit; a masked or disabled capability drops the messages", async () => {
    const machine = new Machine();
    const calls: number[] = [];
    const { token, model } = await bindModel(machine, new Messages({ msix: 4 }), (dev) => {
      const vectors = allocIrqVectors(dev, 1, 4, { msix: true });
      for (let i = 0; i < vectors.count; i++) vectors.request(i, () => void calls.push(i));
    });
    const msix = pciFindCapability(token, R.CAP_ID_MSIX);
    expect(pciReadConfigWord(token, msix + R.MSIX_FLAGS) & (R.MSIX_FLAGS_ENABLE | R.MSIX_FLAGS_MASKALL)).toBe(R.MSIX_FLAGS_ENABLE);
    model.send(1);
    pciWriteConfigWord(token, msix + R.MSIX_FLAGS, R.MSIX_FLAGS_ENABLE | R.MSIX_FLAGS_MASKALL);
    model.send(2);
    pciWriteConfigWord(token, msix + R.MSIX_FLAGS, 0);
    model.send(3);
    pciWriteConfigWord(token, msix + R.MSIX_FLAGS, R.MSIX_FLAGS_ENABLE);
    model.send(0);
    expect(calls).toEqual([1, 0]);
    expect(machine.events.filter((e) => e.kind === "irq-unhandled")).toHaveLength(2);
  });
});

describe("the model's capabilities are checked when it is made", () => {
  it.each([
    ["an id other than 0x09", [{ id: 0x10, bytes: new Uint8Array(4) }]],
    ["bytes that are not a Uint8Array", [{ id: 0x09, bytes: [1, 2] }]],
    ["a body longer than 252 bytes", [{ id: 0x09, bytes: new Uint8Array(253) }]],
    ["more than fits below 0x100", [{ id: 0x09, bytes: new Uint8Array(100) }, { id: 0x09, bytes: new Uint8Array(100) }]],
    ["not an array", { id: 0x09, bytes: new Uint8Array(1) }],
    ["a null entry", [null]],
  ])("%s is EINVAL", (_what, capabilities) => {
    expectCode(() => new DeviceModel({ vendor: 1, device: 2, capabilities: smuggle(capabilities) }), "EINVAL");
  });

  it("the model keeps a copy: changing the spec's bytes later changes nothing", async () => {
    const bytes = Uint8Array.of(5, 6);
    const machine = new Machine();
    const model = new OpenModel({ capabilities: [{ id: 0x09, bytes }] });
    bytes[0] = 99;
    const { token } = await bindModel(machine, model);
    expect(pciReadConfigByte(token, pciFindCapability(token, R.CAP_ID_VNDR) + 3)).toBe(5);
  });

  it("a bad revision or class code is EINVAL", () => {
    expectCode(() => new DeviceModel({ vendor: 1, device: 2, revision: 256 }), "EINVAL");
    expectCode(() => new DeviceModel({ vendor: 1, device: 2, classCode: 0x100_0000 }), "EINVAL");
  });
});

describe("the command register", () => {
  it("its bus-master bit is bus mastering: enableBusMaster sets it, and a config write turns DMA off and on", async () => {
    const machine = new Machine();
    const model = new Counted();
    const { token } = await bindModel(machine, model, (dev) => enableBusMaster(dev));
    expect(pciReadConfigWord(token, R.COMMAND) & R.COMMAND_MASTER).toBe(R.COMMAND_MASTER);
    expect(model.mastering).toBe(true);
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY);
    expect(model.mastering).toBe(false);
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER);
    expect(model.mastering).toBe(true);
    // A write that leaves the bit alone tells the model nothing.
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER | R.COMMAND_SERR);
    expect(model.masterChanges).toEqual([true, false, true]);
  });

  it("with the INTx-disable bit set the legacy line stays quiet", async () => {
    const machine = new Machine();
    let calls = 0;
    const { token, model } = await bindModel(machine, new Counted(), (dev) => void requestIrq(dev, () => void calls++));
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_INTX_DISABLE);
    model.interrupt();
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY);
    model.interrupt();
    expect(calls).toBe(1);
  });

  it("bus mastering turned on by a config write is on: enableBusMaster then says EBUSY", async () => {
    const machine = new Machine();
    const model = new Counted();
    await bindModel(machine, model, (dev) => {
      pciWriteConfigWord(dev, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER);
      expect(model.mastering).toBe(true);
      expectCode(() => enableBusMaster(dev), "EBUSY");
    });
  });

  it("with memory decoding off, MMIO reads all-ones and writes are dropped; pciEnableDevice turns it back on", async () => {
    const machine = new Machine();
    const writes: number[] = [];
    class Regs extends OpenModel {
      override mmioRead(): number {
        return 7;
      }
      override mmioWrite(_b: number, _o: number, _w: MmioWidth, value: number | bigint): void {
        writes.push(Number(value));
      }
    }
    await bindModel(machine, new Regs({ bars: [0x100] }), (dev) => {
      const regs = iomap(dev, 0);
      pciWriteConfigWord(dev, R.COMMAND, 0);
      expect(regs.read32(dev, 0)).toBe(0xffff_ffff);
      expect(regs.read64(dev, 8)).toBe(0xffff_ffff_ffff_ffffn);
      regs.write32(dev, 0, 1);
      pciEnableDevice(dev);
      expect(pciReadConfigWord(dev, R.COMMAND) & R.COMMAND_MEMORY).toBe(R.COMMAND_MEMORY);
      expect(regs.read32(dev, 0)).toBe(7);
      regs.write32(dev, 0, 2);
      pciDisableDevice(dev);
    });
    expect(writes).toEqual([2]);
  });
});

describe("enabling and disabling the device", () => {
  it("pciDisableDevice at the last enable turns bus mastering off, and keeps memory decoding", async () => {
    const machine = new Machine();
    const model = new Counted();
    await bindModel(machine, model, (dev) => {
      pciEnableDevice(dev);
      pciEnableDevice(dev);
      enableBusMaster(dev);
      pciDisableDevice(dev);
      expect(model.mastering).toBe(true);
      pciDisableDevice(dev);
      expect(model.mastering).toBe(false);
      expect(pciReadConfigWord(dev, R.COMMAND)).toBe(R.COMMAND_MEMORY);
      expectCode(() => pciDisableDevice(dev), "EINVAL");
    });
  });

  it("pcimEnableDevice is undone at unbind: bus mastering off, released as pci-enable", async () => {
    const machine = new Machine();
    const model = new Counted();
    const { dev } = await bindModel(machine, model, (dev) => {
      pcimEnableDevice(dev);
      pciWriteConfigWord(dev, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER);
    });
    await machine.pci.unbind(dev);
    expect(model.mastering).toBe(false);
    expect(released(machine, dev)).toEqual(["pci-enable"]);
  });

  it("enable and disable are core-only: from outside probe and remove they are EPERM", async () => {
    const { token } = await bound();
    const escaped = smuggle<ProbeDevice<Smuggled>>(token);
    expectCode(() => pciEnableDevice(escaped), "EPERM");
    expectCode(() => pcimEnableDevice(escaped), "EPERM");
    expectCode(() => pciDisableDevice(escaped), "EPERM");
  });
});

describe("config access is checked", () => {
  it.each([
    ["an offset past the 4 KiB", () => pciReadConfigDword, 4096],
    ["a dword that ends past it", () => pciReadConfigDword, 4094],
    ["a misaligned word", () => pciReadConfigWord, 0x05],
    ["a misaligned dword", () => pciReadConfigDword, 0x06],
    ["a negative offset", () => pciReadConfigByte, -1],
    ["a fractional offset", () => pciReadConfigByte, 1.5],
    ["an offset that is not a number", () => pciReadConfigByte, "4"],
  ])("a read at %s is EINVAL", async (_what, fn, offset) => {
    const { token } = await bound();
    expectCode(() => fn()(token, smuggle(offset)), "EINVAL");
  });

  it.each([
    ["a byte over 0xff", () => pciWriteConfigByte, 0x3c, 0x100],
    ["a word over 0xffff", () => pciWriteConfigWord, 0x04, 0x1_0000],
    ["a dword over 0xffffffff", () => pciWriteConfigDword, 0x10, 2 ** 32],
    ["a negative value", () => pciWriteConfigDword, 0x10, -1],
    ["a bigint", () => pciWriteConfigDword, 0x10, 1n],
    ["a misaligned dword", () => pciWriteConfigDword, 0x12, 0],
  ])("a write of %s is EINVAL and changes nothing", async (_what, fn, offset, value) => {
    const { token } = await bound();
    const before = pciReadConfigDword(token, offset & ~3);
    expectCode(() => fn()(token, offset, smuggle(value)), "EINVAL");
    expect(pciReadConfigDword(token, offset & ~3)).toBe(before);
  });

  it("capability look-ups check the id and the position", async () => {
    const { token } = await bound();
    expectCode(() => pciFindCapability(token, 0x100), "EINVAL");
    expectCode(() => pciFindNextCapability(token, 0x41, R.CAP_ID_VNDR), "EINVAL");
    expectCode(() => pciFindNextCapability(token, 0x100, R.CAP_ID_VNDR), "EINVAL");
  });

  it("once the device is gone, reads are all-ones and writes are dropped; once the binding ends, the token is ENXIO", async () => {
    const machine = new Machine();
    const model = new Counted();
    let seen: number[] = [];
    const { dev, token } = await bindModel(machine, model, () => ({
      remove(dev) {
        pciWriteConfigWord(dev, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER);
        seen = [pciReadConfigByte(dev, 0), pciReadConfigWord(dev, 0), pciReadConfigDword(dev, 0), pciFindCapability(dev, R.CAP_ID_EXP)];
      },
    }));
    await machine.pci.unplug(dev);
    expect(seen).toEqual([0xff, 0xffff, 0xffff_ffff, 0]);
    expect(model.masterChanges).toEqual([]);
    expectCode(() => pciReadConfigDword(token, 0), "ENXIO");
    expectCode(() => pciWriteConfigDword(token, 0x10, 0), "ENXIO");
    expectCode(() => pciFindCapability(token, R.CAP_ID_EXP), "ENXIO");
  });

  it("a forged token is EPERM", async () => {
    expectCode(() => pciReadConfigDword(smuggle<BoundDevice<Smuggled>>({ name: "x", vendor: 1, device: 2 }), 0), "EPERM");
  });
});
