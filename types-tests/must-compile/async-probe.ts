// An async probe that awaits between steps, and an async remove. The scope
// survives the awaits: the token and allocations keep their types.
import { allocCoherent, defineDriver, Devres, setDmaMask } from "boundscope";
import type { BoundDevice, CoherentAllocation } from "boundscope";

async function resetHardware<Scope>(dev: BoundDevice<Scope>): Promise<CoherentAllocation<Scope>> {
  await Promise.resolve();
  const scratch = allocCoherent(dev, 512);
  scratch.bytes(dev).fill(0);
  return scratch;
}

export const gpu = defineDriver({
  name: "gpu",
  ids: [{ vendor: 0x10de, device: 0x1eb8 }],
  async probe(dev) {
    setDmaMask(dev, 40);
    const scratch = await resetHardware(dev);
    const firmware = allocCoherent(dev, 64 * 1024);
    await new Promise<void>((resolve) => resolve());
    const fence = Devres.new(dev, { seqno: 0 }, async (f) => {
      await Promise.resolve(f.seqno);
    });
    return {
      async remove(dev) {
        fence.access(dev).seqno++;
        await Promise.resolve();
        firmware.bytes(dev).fill(0);
        scratch.free();
      },
    };
  },
});

// An async arrow probe returning the instance from an awaited helper.
export const gpuArrow = defineDriver({
  name: "gpu-arrow",
  ids: [{ vendor: 0x10de, device: 0x1eb9 }],
  probe: async (dev) => {
    const scratch = await resetHardware(dev);
    return { remove: async (d) => void scratch.view(d).getUint8(0) };
  },
});
