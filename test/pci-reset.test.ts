/**
 * Function-level reset (`pciResetFunction`, src/driver/pci.ts): the device
 * stops at once (DMA, timers, holds), its model goes back to power-on, the
 * config state comes back after 100 ms of virtual time but for bus
 * mastering, and the binding, its token and its allocations are untouched.
 */

import { describe, expect, it } from "vitest";
import {
  allocCoherent,
  enableBusMaster,
  iomap,
  Machine,
  pciFindCapability,
  pciReadConfigDword,
  pciReadConfigWord,
  pciRegs,
  pciResetFunction,
  pciWriteConfigByte,
  pciWriteConfigDword,
  pciWriteConfigWord,
} from "../src/index.js";
import type { MmioWidth } from "../src/index.js";
import { bindModel, expectReject, OpenModel, smuggle } from "./helpers.js";

const R = pciRegs;
const RING = 0x00;
const CTRL = 0x08;
const COUNT = 0x0c;
const FLR_NS = 100_000_000;

/** Writes a counter into the ring (held) every microsecond while CTRL is 1; `reset()` forgets everything. */
class Engine extends OpenModel {
  ring = 0n;
  #timer: { cancel(): void } | undefined;
  count = 0;
  resets = 0;
  override mmioRead(_bar: number, offset: number): number {
    return offset === COUNT ? this.count : 0;
  }
  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    if (offset === RING) this.ring = BigInt(value);
    if (offset === CTRL && value === 1) {
      this.holdRange(this.ring, 64, "ring");
      this.#tick();
    }
    if (offset === CTRL && value === 0) {
      this.#timer?.cancel();
      this.releaseRange(this.ring);
    }
  }
  #tick(): void {
    this.#timer = this.later(1_000, () => {
      this.count++;
      this.write(this.ring, Uint8Array.of(this.count & 0xff));
      this.#tick();
    });
  }
  override reset(): void {
    this.resets++;
    this.ring = 0n;
    this.count = 0;
  }
}

async function running() {
  const machine = new Machine();
  const model = new Engine({ bars: [0x100], msix: 4 });
  let ring: { readonly dmaHandle: bigint; bytes(dev: unknown): Uint8Array; free(): void } | undefined;
  let regs: { write64(dev: unknown, o: number, v: bigint): void; write32(dev: unknown, o: number, v: number): void; read32(dev: unknown, o: number): number } | undefined;
  const b = await bindModel(machine, model, (dev) => {
    enableBusMaster(dev);
    const r = iomap(dev, 0);
    const a = allocCoherent(dev, 64);
    r.write64(dev, RING, smuggle(a.dmaHandle));
    r.write32(dev, CTRL, 1);
    ring = smuggle(a);
    regs = smuggle(r);
  });
  await machine.run(5_500);
  expect(model.count).toBe(5);
  return { ...b, ring: ring!, regs: regs! };
}

describe("pciResetFunction", () => {
  it("stops a DMAing device at once, resets its model, and takes 100 ms of virtual time", async () => {
    const { machine, model, token, ring } = await running();
    const start = machine.clock.now;
    const reset = pciResetFunction(token);
    // The reset began synchronously: the model is at power-on and its timers are gone.
    expect(model.resets).toBe(1);
    expect(model.count).toBe(0);
    expect(model.mastering).toBe(false);
    expect(machine.clock.pending).toBe(1);
    await reset;
    expect(machine.clock.now - start).toBe(FLR_NS);
    expect(model.count).toBe(0);
    expect(ring.bytes(token)[0]).toBe(5);
    expect(machine.events.filter((e) => e.kind === "pci-reset").map((e) => e.device)).toEqual([token.name]);
  });

  it("restores the config state but bus mastering: BARs, memory decoding, interrupt line, MSI-X", async () => {
    const { token, model, regs } = await running();
    const bar = pciReadConfigDword(token, R.BASE_ADDRESS_0);
    pciWriteConfigByte(token, R.INTERRUPT_LINE, 10);
    const msix = pciFindCapability(token, R.CAP_ID_MSIX);
    pciWriteConfigWord(token, msix + R.MSIX_FLAGS, R.MSIX_FLAGS_ENABLE);
    const reset = pciResetFunction(token);
    // During the reset the registers are at power-on.
    expect(pciReadConfigWord(token, msix + R.MSIX_FLAGS) & R.MSIX_FLAGS_ENABLE).toBe(0);
    expect(pciReadConfigWord(token, R.COMMAND)).toBe(R.COMMAND_MEMORY);
    await reset;
    expect(pciReadConfigDword(token, R.BASE_ADDRESS_0)).toBe(bar);
    expect(pciReadConfigWord(token, R.COMMAND)).toBe(R.COMMAND_MEMORY);
    expect(pciReadConfigDword(token, R.INTERRUPT_LINE) & 0xff).toBe(10);
    expect(pciReadConfigWord(token, msix + R.MSIX_FLAGS) & R.MSIX_FLAGS_ENABLE).toBe(R.MSIX_FLAGS_ENABLE);
    expect(model.mastering).toBe(false);
    // MMIO reaches the model again.
    expect(regs.read32(token, COUNT)).toBe(0);
  });

  it("leaves the binding alone: the token is live, allocations and mappings work, and the device can be started again", async () => {
    const { machine, model, token, ring, regs, dev } = await running();
    await pciResetFunction(token);
    expect(token.state).toBe("bound");
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER);
    regs.write64(token, RING, ring.dmaHandle);
    regs.write32(token, CTRL, 1);
    await machine.run(2_500);
    expect(model.count).toBe(2);
    expect(ring.bytes(token)[0]).toBe(2);
    regs.write32(token, CTRL, 0);
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("the device holds nothing after a reset: freeing its old ring is no violation, even with bus mastering back on", async () => {
    const { machine, token, ring, dev } = await running();
    await pciResetFunction(token);
    pciWriteConfigWord(token, R.COMMAND, R.COMMAND_MEMORY | R.COMMAND_MASTER);
    ring.free();
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("without the reset, the same free is a violation (the test can fail)", async () => {
    const { machine, ring } = await running();
    ring.free();
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toContain("free-while-held");
  });

  it("a raw FLR through config space resets at once, and leaves the restore to the driver", async () => {
    const { token, model } = await running();
    const exp = pciFindCapability(token, R.CAP_ID_EXP);
    const bar = pciReadConfigDword(token, R.BASE_ADDRESS_0);
    pciWriteConfigWord(token, exp + R.EXP_DEVCTL, pciReadConfigWord(token, exp + R.EXP_DEVCTL) | R.EXP_DEVCTL_BCR_FLR);
    expect(model.resets).toBe(1);
    expect(pciReadConfigDword(token, R.BASE_ADDRESS_0)).toBe(bar);
    pciWriteConfigDword(token, R.BASE_ADDRESS_0, 0);
    expect(pciReadConfigDword(token, R.BASE_ADDRESS_0)).toBe(0);
  });

  it("a device unplugged during the reset makes it ENXIO", async () => {
    const { machine, token, dev } = await running();
    const during = pciResetFunction(token);
    const unplugged = machine.pci.unplug(dev);
    await expectReject(during, "ENXIO");
    await unplugged;
  });

  it("in remove() after a surprise removal it is ENXIO: the device is gone", async () => {
    const machine = new Machine();
    let outcome: unknown;
    const { dev } = await bindModel(machine, new Engine(), () => ({
      async remove(dev) {
        outcome = await pciResetFunction(dev).then(
          () => "reset",
          (error: { code?: string }) => error.code,
        );
      },
    }));
    await machine.pci.unplug(dev);
    expect(outcome).toBe("ENXIO");
  });

  it("a second reset while one runs is EBUSY; a dead token is ENXIO", async () => {
    const { token, machine, dev } = await running();
    const first = pciResetFunction(token);
    await expectReject(pciResetFunction(token), "EBUSY");
    await first;
    await machine.pci.unbind(dev);
    await expectReject(pciResetFunction(token), "ENXIO");
  });
});
