// Issue 13's IRQ dispatch cost: a device raising MSI-X vector i (the
// model's raiseMsi → the interrupt controller → the handle's hard part in
// atomic context → the handler) against a direct call of the same handler
// with the same token, for 1, 2, 8 and 32 vectors raised round-robin. Each
// handler acknowledges its vector with one MMIO write, as a handler does.
// runtime.mjs runs the case in its own child; each figure is a same-run,
// interleaved comparison (lib.mjs). Reported, with no target.
import { interleave } from "./lib.mjs";

const lib = await import(new URL("../../dist/index.js", import.meta.url).href);
const { allocIrqVectors, defineDriver, DeviceModel, iomap, Machine } = lib;

const VECTORS = [1, 2, 8, 32];

/** A device with 32 MSI-X vectors whose registers do nothing: the bench times the dispatch. */
class VectorNic extends DeviceModel {
  constructor(device) {
    super({ vendor: 0x1234, device, bars: [0x100], msix: 32 });
  }
  mmioRead() {
    return 0;
  }
  mmioWrite() {}
  send(vector) {
    this.raiseMsi(vector);
  }
}

/** A bound device with `count` vectors, each requested; the handlers and token, for the direct calls. */
async function setUp(count) {
  const machine = new Machine({ dmaDebug: "off" });
  const model = new VectorNic(0x0100 + count);
  const direct = { handlers: [], token: undefined };
  await machine.pci.register(
    defineDriver({
      name: `bench-irq-${count}`,
      ids: [{ vendor: model.vendor, device: model.device }],
      probe(dev) {
        const regs = iomap(dev, 0);
        const vectors = allocIrqVectors(dev, count, count, { msix: true });
        for (let i = 0; i < count; i++) {
          const handler = (irqDev) => {
            regs.write32(irqDev, 0x0c, i);
            return "handled";
          };
          vectors.request(i, handler);
          direct.handlers.push(handler);
        }
        direct.token = dev;
        return {};
      },
    }),
  );
  machine.pci.plug(model);
  await machine.settled();
  return { machine, model, direct };
}

export async function irqDispatch(quick) {
  const n = quick ? 1_000 : 200_000;
  const results = {};
  for (const count of VECTORS) {
    const { model, direct } = await setUp(count);
    const { handlers, token } = direct;
    results[count] = await interleave({
      rounds: quick ? 3 : 11,
      baseline: () => {
        for (let i = 0; i < n; i++) handlers[i % count](token);
        return n;
      },
      subject: () => {
        for (let i = 0; i < n; i++) model.send(i % count);
        return n;
      },
    });
  }
  return { vectors: VECTORS, results };
}
