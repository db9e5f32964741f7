/**
 * `using` and `await using` (explicit resource management) on the machine,
 * allocations, MMIO mappings, IRQs and devres entries.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, iomap, Machine, requestIrq } from "../src/index.js";
import { runUsing } from "../examples/using.js";
import { expectCode, NIC, OpenModel } from "./helpers.js";

describe("using", () => {
  it("the example: a block frees what it took in probe, and the machine's block unplugs everything", async () => {
    const lines: string[] = [];
    const result = await runUsing((line) => lines.push(line));
    expect(result).toEqual({ inProbe: 1, afterProbe: 0, afterMachine: 0, state: "bound" });
    expect(lines).toContain("released probe note");
    expect(lines.some((l) => l.startsWith("remove(): ring byte 0"))).toBe(true);
  });

  it("await using a machine leaves every device a zombie and the pool empty", async () => {
    let machine: Machine | undefined;
    const devices = [];
    {
      await using m = new Machine();
      machine = m;
      await m.pci.register(defineDriver({ name: "d", ids: [NIC], probe: (dev) => (allocCoherent(dev, 64), {}) }));
      devices.push(m.pci.plug(NIC), m.pci.plug(NIC));
      await m.settled();
      expect(m.memory.stats().allocations).toBe(2);
    }
    expect(devices.map((d) => d.state)).toEqual(["zombie", "zombie"]);
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.pci.devices).toHaveLength(0);
  });

  it("using an MMIO mapping unmaps it at the end of the block; using it again is ENXIO, unmapping twice EINVAL", async () => {
    const machine = new Machine();
    const model = new OpenModel({ bars: [64] });
    const seen: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "m",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          let kept;
          {
            using regs = iomap(dev, 0);
            regs.read32(dev, 0);
            kept = regs;
          }
          try {
            kept.read32(dev, 0);
          } catch (error) {
            seen.push((error as { code: string }).code);
          }
          try {
            kept.unmap();
          } catch (error) {
            seen.push((error as { code: string }).code);
          }
          return {};
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    expect(seen).toEqual(["ENXIO", "EINVAL"]);
  });

  it("using an IRQ frees it at the end of the block: no handler runs after", async () => {
    const machine = new Machine();
    const model = new OpenModel({ bars: [16] });
    let runs = 0;
    await machine.pci.register(
      defineDriver({
        name: "i",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          {
            using irq = requestIrq(dev, () => void runs++);
            model.interrupt();
            expect(irq.count).toBe(1);
          }
          model.interrupt();
          return {};
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    expect(runs).toBe(1);
  });

  it("await using a devres entry releases it at the end of the block, once", async () => {
    const machine = new Machine();
    const released: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "r",
        ids: [NIC],
        async probe(dev) {
          {
            await using entry = Devres.new(dev, "value", async (v) => void released.push(v));
            expect(entry.access(dev)).toBe("value");
          }
          expect(released).toEqual(["value"]);
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(released).toEqual(["value"]);
  });

  it("using an allocation frees it at the end of the block; its views are dead", async () => {
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "a",
        ids: [NIC],
        probe(dev) {
          let view;
          {
            using buf = allocCoherent(dev, 64);
            view = buf.bytes(dev);
            view[0] = 1;
          }
          expect(view.length).toBe(0);
          expect(machine.memory.stats().allocations).toBe(0);
          expectCode(() => allocCoherent(dev, 0), "EINVAL");
          return {};
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
  });
});
