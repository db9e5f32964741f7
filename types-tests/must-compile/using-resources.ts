// `using` and `await using` on every disposable handle: an allocation
// (Symbol.dispose frees it), an MMIO mapping (unmaps), an IRQ (frees it) and
// a Devres (Symbol.asyncDispose releases it), in probe(), in remove() and in
// a helper generic in the scope.
import { allocCoherent, defineDriver, Devres, iomap, requestIrq } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

async function selfTest<Scope>(dev: ProbeDevice<Scope>): Promise<boolean> {
  using regs = iomap(dev, 0);
  using irq = requestIrq(dev, (d) => regs.write32(d, 0x0c, 1));
  using pattern = allocCoherent(dev, 64);
  await using scratch = Devres.new(dev, new Uint8Array(16), (bytes) => bytes.fill(0));
  pattern.bytes(dev).fill(0xa5);
  scratch.access(dev).set(pattern.bytes(dev).subarray(0, 16));
  regs.write64(dev, 0x10, pattern.dmaHandle);
  return irq.count === 0 && regs.read32(dev, 0x00) !== 0xffff_ffff;
}

function checksum<Scope>(dev: BoundDevice<Scope>, data: Uint8Array): number {
  using bounce = allocCoherent(dev, data.length);
  bounce.bytes(dev).set(data);
  return bounce.bytes(dev).reduce((sum, b) => (sum + b) & 0xff, 0);
}

export const disposable = defineDriver({
  name: "disposable",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  async probe(dev) {
    if (!(await selfTest(dev))) throw new Error("self-test failed");
    const ring = allocCoherent(dev, 4096);
    return {
      async remove(d) {
        await using drain = Devres.new(d, ring, (r) => r.bytes(d).fill(0));
        using regs = iomap(d, 0);
        regs.write32(d, 0x04, checksum(d, drain.access(d).bytes(d).subarray(0, 4)));
      },
    };
  },
});
