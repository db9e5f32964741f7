/**
 * Interrupts (src/irq.ts): `devm_request_irq`. The handler runs with the
 * binding's live token; one handler per device; the IRQ is freed at unbind,
 * last in first out with the binding's other resources, or early by `free()`;
 * once freed no handler runs; a handler that throws is logged and the machine
 * goes on.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, Machine, requestIrq, setDmaMask } from "../src/index.js";
import type { BoundDevice, IrqHandle, IrqHandler, ProbeDevice } from "../src/index.js";
import { bindModel, expectCode, OpenModel, released, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A device bound to a driver that requests its IRQ with `handler` in probe. */
async function withIrq(handler: IrqHandler<Smuggled>, machine = new Machine()) {
  const model = new OpenModel({ bars: [64] });
  let irq!: IrqHandle<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    irq = requestIrq(dev, handler);
  });
  return { irq, ...bound };
}

describe("the handler", () => {
  it("runs when the device raises its IRQ, with the binding's live token", async () => {
    const seen: BoundDevice<Smuggled>[] = [];
    const { model, token, irq } = await withIrq((dev) => {
      seen.push(dev);
      allocCoherent(dev, 64, "atomic");
    });
    model.interrupt();
    model.interrupt();
    expect(seen).toEqual([token, token]);
    expect(seen[0]).toBe(token);
    expect(irq.count).toBe(2);
    expect(irq.freed).toBe(false);
  });

  it("runs at the virtual time the device raised it", async () => {
    const times: number[] = [];
    const { machine, model } = await withIrq(() => void times.push(machine.clock.now));
    model.later(2_500, () => model.interrupt());
    model.later(7_000, () => model.interrupt());
    await machine.run(10_000);
    expect(times).toEqual([2_500, 7_000]);
  });

  it("can reach the binding's MMIO and devres with its token", async () => {
    const model = new OpenModel({ bars: [64] });
    const machine = new Machine();
    const counts: number[] = [];
    await bindModel(machine, model, (dev) => {
      const regs = iomap(dev, 0);
      const stats = Devres.new(dev, { irqs: 0 });
      requestIrq(dev, (dev) => {
        regs.write32(dev, 0, 1);
        counts.push(++stats.access(dev).irqs);
      });
    });
    model.interrupt();
    model.interrupt();
    expect(counts).toEqual([1, 2]);
  });

  it("may not make core-only calls: setDmaMask from the handler is EPERM", async () => {
    const errors: unknown[] = [];
    const { model } = await withIrq((dev) => {
      errors.push(expectCode(() => setDmaMask(smuggle<ProbeDevice<Smuggled>>(dev), 64), "EPERM"));
    });
    model.interrupt();
    expect(errors).toHaveLength(1);
  });

  it("a raise with no handler requested is logged as irq-unhandled", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const { dev, driver } = await bindModel(machine, model);
    model.interrupt();
    expect(machine.events.filter((e) => e.kind === "irq-unhandled")).toEqual([
      expect.objectContaining({ device: dev.name, driver: driver.name }),
    ]);
  });

  it("a raise from a device with no driver goes nowhere", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    machine.pci.plug(model);
    model.interrupt();
    expect(machine.events.some((e) => e.kind === "irq-unhandled" || e.kind === "irq-failed")).toBe(false);
  });
});

describe("a handler that throws", () => {
  it("is logged as irq-failed with its error, and the machine keeps going", async () => {
    let calls = 0;
    const boom = new Error("handler bug");
    const { machine, model, dev, driver, irq } = await withIrq(() => {
      calls++;
      if (calls === 1) throw boom;
    });
    let later = 0;
    model.later(1_000, () => model.interrupt());
    model.later(2_000, () => later++);
    model.interrupt();
    await machine.run(5_000);
    expect(calls).toBe(2);
    expect(later).toBe(1);
    expect(irq.count).toBe(2);
    expect(machine.events.filter((e) => e.kind === "irq-failed")).toEqual([
      expect.objectContaining({ device: dev.name, driver: driver.name, error: boom }),
    ]);
    expect(dev.state).toBe("bound");
  });

  it("a thrown non-Error is logged as it was thrown", async () => {
    const { machine, model, dev } = await withIrq(() => {
      throw "plain string";
    });
    model.interrupt();
    expect(machine.events.filter((e) => e.kind === "irq-failed")).toEqual([expect.objectContaining({ device: dev.name, error: "plain string" })]);
  });

  it("the device still unbinds cleanly", async () => {
    const { machine, model, dev } = await withIrq(() => {
      throw new Error("always");
    });
    model.interrupt();
    await machine.pci.unbind(dev);
    expect(dev.state).toBe("no-driver");
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("requesting", () => {
  it("a second request while the first is held is EBUSY", async () => {
    let error: unknown;
    await bindModel(new Machine(), new OpenModel(), (dev) => {
      requestIrq(dev, () => {});
      error = expectCode(() => requestIrq(dev, () => {}), "EBUSY");
    });
    expect(String(error)).toContain("already requested");
  });

  it("after an early free the IRQ can be requested again, and only the new handler runs", async () => {
    const calls: string[] = [];
    const model = new OpenModel();
    await bindModel(new Machine(), model, (dev) => {
      requestIrq(dev, () => void calls.push("old")).free();
      requestIrq(dev, () => void calls.push("new"));
    });
    model.interrupt();
    expect(calls).toEqual(["new"]);
  });

  it("a handler that is not a function is EINVAL", async () => {
    let error: unknown;
    await bindModel(new Machine(), new OpenModel(), (dev) => {
      error = expectCode(() => requestIrq(dev, smuggle<IrqHandler<Smuggled>>("isr")), "EINVAL");
      requestIrq(dev, () => {});
    });
    expect(error).toBeDefined();
  });

  it("is core-only: from a smuggled token after probe it is EPERM, even while bound", async () => {
    const { token, dev } = await bindModel(new Machine(), new OpenModel());
    expect(dev.state).toBe("bound");
    expectCode(() => requestIrq(token, () => {}), "EPERM");
  });

  it("works in remove(), and is freed right after it", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    let irq: IrqHandle<Smuggled> | undefined;
    let calls = 0;
    const { dev } = await bindModel(machine, model, () => ({
      remove(dev) {
        irq = requestIrq(dev, () => calls++);
        model.interrupt();
      },
    }));
    await machine.pci.unbind(dev);
    expect(calls).toBe(1);
    expect(irq?.freed).toBe(true);
  });
});

describe("freeing", () => {
  it("an early free stops the handler at once and logs the raise as unhandled", async () => {
    let calls = 0;
    const { machine, model, irq } = await withIrq(() => calls++);
    model.interrupt();
    irq.free();
    expect(irq.freed).toBe(true);
    model.interrupt();
    expect(calls).toBe(1);
    expect(irq.count).toBe(1);
    expect(machine.events.filter((e) => e.kind === "irq-unhandled")).toHaveLength(1);
  });

  it("an IRQ raised from the handler that frees it runs no handler", async () => {
    let calls = 0;
    const model = new OpenModel();
    let irq!: IrqHandle<Smuggled>;
    await bindModel(new Machine(), model, (dev) => {
      irq = requestIrq(dev, () => {
        calls++;
        irq.free();
        model.interrupt();
      });
    });
    model.interrupt();
    expect(calls).toBe(1);
  });

  it("no handler runs for an IRQ the device raises after an early free, at any later time", async () => {
    let calls = 0;
    const { machine, model, irq } = await withIrq(() => calls++);
    for (let t = 100; t <= 1_000; t += 100) model.later(t, () => model.interrupt());
    model.later(50, () => irq.free());
    await machine.run(2_000);
    expect(calls).toBe(0);
  });

  it("a double free is EINVAL", async () => {
    const { irq } = await withIrq(() => {});
    irq.free();
    expect(expectCode(() => irq.free(), "EINVAL").message).toContain("already freed");
  });

  it("a free after unbind is EINVAL: devres already freed it", async () => {
    const { irq, dev, machine } = await withIrq(() => {});
    await machine.pci.unbind(dev);
    expect(irq.freed).toBe(true);
    expect(expectCode(() => irq.free(), "EINVAL").message).toContain("by devres");
  });

  it("an IRQ freed early is not released again at unbind", async () => {
    const { irq, dev, machine } = await withIrq(() => {});
    irq.free();
    await machine.pci.unbind(dev);
    expect(released(machine)).toEqual([]);
  });
});

describe("at unbind", () => {
  it("the IRQ is freed last in first out with the binding's other resources", async () => {
    const machine = new Machine();
    const model = new OpenModel({ bars: [64] });
    const { dev, driver } = await bindModel(machine, model, (dev) => {
      enableBusMaster(dev);
      iomap(dev, 0);
      allocCoherent(dev, 4096);
      requestIrq(dev, () => {});
      Devres.new(dev, "state");
    });
    await machine.pci.unbind(dev);
    expect(released(machine)).toEqual(["devres", "irq", "coherent 4096 bytes", "mmio BAR 0", "bus-master"]);
    expect(machine.events.filter((e) => e.kind === "release").map((e) => e.driver)).toEqual(Array(5).fill(driver.name));
  });

  it("the handler runs during remove(), and not once the IRQ is freed", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const log: string[] = [];
    const { dev } = await bindModel(machine, model, (dev) => {
      requestIrq(dev, () => void log.push("irq"));
      return {
        remove() {
          model.interrupt();
          log.push("remove returns");
        },
      };
    });
    await machine.pci.unbind(dev);
    model.interrupt();
    expect(log).toEqual(["irq", "remove returns"]);
  });

  it("an IRQ the device raises during devres release, after the IRQ was freed, runs no handler", async () => {
    // The IRQ is taken last, so released first; the allocation's release
    // after it takes CPU time, during which the device keeps raising.
    const machine = new Machine();
    const model = new OpenModel();
    let calls = 0;
    const { dev } = await bindModel(machine, model, (dev) => {
      allocCoherent(dev, 64);
      requestIrq(dev, () => calls++);
    });
    for (let t = 100; t <= 5_000; t += 100) model.later(t, () => model.interrupt());
    await machine.pci.unbind(dev);
    expect(released(machine)[0]).toBe("irq");
    expect(machine.clock.now).toBeGreaterThan(100);
    expect(calls).toBe(0);
    await machine.run(10_000);
    expect(calls).toBe(0);
  });

  it("after unplug no handler runs, and the IRQ is freed by devres", async () => {
    let calls = 0;
    const { irq, model, dev, machine } = await withIrq(() => calls++);
    await machine.pci.unplug(dev);
    model.interrupt();
    expect(calls).toBe(0);
    expect(irq.freed).toBe(true);
  });

  it("a rebound device's new handler runs, never the old one", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    const calls: string[] = [];
    const { dev } = await bindModel(machine, model, (dev) => void requestIrq(dev, () => void calls.push("first binding")));
    await machine.pci.unbind(dev);
    await machine.pci.register(
      defineDriver({
        name: "second",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          requestIrq(dev, () => void calls.push("second binding"));
          return {};
        },
      }),
    );
    model.interrupt();
    expect(calls).toEqual(["second binding"]);
  });

  it("an IRQ requested in a probe that failed is freed", async () => {
    const machine = new Machine();
    const model = new OpenModel();
    let calls = 0;
    let irq: IrqHandle<Smuggled> | undefined;
    await machine.pci.register(
      defineDriver({
        name: "refuses",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          irq = smuggle(requestIrq(dev, () => calls++));
          throw new Error("no");
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    model.interrupt();
    expect(calls).toBe(0);
    expect(irq?.freed).toBe(true);
  });
});

describe("a handler that re-triggers its own interrupt", () => {
  it("runs again after it returns, once per raise while masked, instead of recursing", async () => {
    const machine = new Machine();
    const model = new OpenModel({ bars: [16] });
    let depth = 0;
    let maxDepth = 0;
    let runs = 0;
    await machine.pci.register(
      defineDriver({
        name: "retrigger",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          requestIrq(dev, () => {
            depth++;
            maxDepth = Math.max(maxDepth, depth);
            runs++;
            // The first three runs each re-raise twice; the line is masked, so
            // each run's raises collapse into one rerun.
            if (runs <= 3) {
              model.interrupt();
              model.interrupt();
            }
            depth--;
          });
          return {};
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    model.interrupt();
    expect(maxDepth).toBe(1);
    expect(runs).toBe(4);
    expect(machine.events.some((e) => e.kind === "irq-failed")).toBe(false);
  });
});
