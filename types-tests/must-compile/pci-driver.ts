// A driver that uses PCI config space, enable/disable, function-level reset
// and register polls in each context that allows them, and a model with a
// vendor capability whose body it answers itself.
import {
  defineDriver,
  DeviceModel,
  enableBusMaster,
  iomap,
  pciDisableDevice,
  pciEnableDevice,
  pciFindCapability,
  pciFindNextCapability,
  pcimEnableDevice,
  pciReadConfigByte,
  pciReadConfigDword,
  pciReadConfigWord,
  pciRegs,
  pciResetFunction,
  pciWriteConfigWord,
  readPollTimeout,
  readPollTimeoutAtomic,
  requestIrq,
  spawn,
} from "boundscope";
import type { BoundDevice, ConfigWidth, IoMapping, PciCapabilitySpec, SleepableDevice } from "boundscope";

const STATUS = 0x04;
const READY = 1;

/** A helper generic in the scope, taking any context that may sleep. */
async function waitReady<Scope>(dev: SleepableDevice<Scope>, regs: IoMapping<Scope>): Promise<number> {
  return readPollTimeout(dev, () => regs.read32(dev, STATUS), (status) => (status & READY) !== 0, { sleepNs: 1_000, timeoutNs: 1_000_000 });
}

/** Config reads take any live token. */
function vendorCaps<Scope>(dev: BoundDevice<Scope>): number[] {
  const found: number[] = [];
  for (let at = pciFindCapability(dev, pciRegs.CAP_ID_VNDR); at !== 0; at = pciFindNextCapability(dev, at, pciRegs.CAP_ID_VNDR)) found.push(pciReadConfigByte(dev, at + 3));
  return found;
}

export const driver = defineDriver({
  name: "pci-user",
  ids: [{ vendor: 0x1af4, device: 0x1041 }],
  async probe(dev) {
    pcimEnableDevice(dev);
    pciEnableDevice(dev);
    enableBusMaster(dev);
    const regs = iomap(dev, 0);
    const command: number = pciReadConfigWord(dev, pciRegs.COMMAND);
    pciWriteConfigWord(dev, pciRegs.COMMAND, command | pciRegs.COMMAND_INTX_DISABLE);
    await waitReady(dev, regs);
    vendorCaps(dev);
    requestIrq(dev, (irq) => {
      const status: number = readPollTimeoutAtomic(irq, () => regs.read32(irq, STATUS), (s) => s !== 0, { delayNs: 100, timeoutNs: 10_000 });
      void pciReadConfigDword(irq, pciRegs.STATUS);
      return status === 0 ? "none" : "handled";
    });
    const recovery = spawn(dev, async (task) => {
      await pciResetFunction(task);
      await waitReady(task, regs);
    });
    return {
      async remove(dev) {
        await recovery.stop(dev);
        await pciResetFunction(dev);
        pciDisableDevice(dev);
      },
    };
  },
});

const common: PciCapabilitySpec = { id: pciRegs.CAP_ID_VNDR, bytes: Uint8Array.of(1, 0, 0, 0) };

export class Virtio extends DeviceModel {
  constructor() {
    super({ vendor: 0x1af4, device: 0x1041, bars: [0x1000], msix: 4, classCode: 0x020000, revision: 1, capabilities: [common] });
  }
  override configRead(offset: number, width: ConfigWidth, stored: number): number {
    return offset >= 0x100 ? 0 : stored;
  }
  override reset(): void {}
}
