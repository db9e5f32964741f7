/**
 * Shared legacy lines (src/driver/irq.ts, src/sim/irq-chip.ts): devices
 * plugged with the same `intx` share a line; every handler on it runs for
 * each raise and says whether its device raised it; handlers must all agree
 * to share (EBUSY otherwise); a line nearly nobody handles is disabled for
 * everyone on it ("irq N: nobody cared").
 */

import { describe, expect, it } from "vitest";
import { Machine, requestIrq } from "../src/index.js";
import type { IrqHandle, IrqHandler, IrqOptions, IrqReturn } from "../src/index.js";
import { IRQ_STORM_GAP_NS, IRQ_STORM_UNHANDLED, IRQ_STORM_WINDOW } from "../src/sim/irq-chip.js";
import { bindModel, expectCode, OpenModel } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A device on line `intx` whose status register says whether it raised. */
class LineModel extends OpenModel {
  raised = false;
  constructor(intx = 5) {
    super({ intx });
  }
  fire(): void {
    this.raised = true;
    this.interrupt();
  }
}

/** Binds `model` to a driver that requests its line with `handler` and `options`. */
async function sharer(machine: Machine, model: LineModel, handler: IrqHandler<Smuggled>, options: IrqOptions<Smuggled> = { shared: true }) {
  let irq!: IrqHandle<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    irq = requestIrq(dev, handler, options);
  });
  return { ...bound, irq };
}

/** A handler that claims the interrupt only when its own device raised it, and logs who ran. */
function polite(model: LineModel, name: string, log: string[]): IrqHandler<Smuggled> {
  return (): IrqReturn => {
    log.push(name);
    if (!model.raised) return "none";
    model.raised = false;
    return "handled";
  };
}

/** Two devices sharing line 5, each with a polite handler. */
async function twoOnALine(machine = new Machine()) {
  const log: string[] = [];
  const a = new LineModel();
  const b = new LineModel();
  const first = await sharer(machine, a, polite(a, "a", log));
  const second = await sharer(machine, b, polite(b, "b", log));
  return { machine, log, a, b, first, second };
}

function nobodyCared(machine: Machine) {
  return machine.dmaDebug.violations.filter((v) => v.kind === "irq-nobody-cared");
}

describe("a shared line", () => {
  it("runs every handler on it, in the order requested, for a raise of either device", async () => {
    const { log, a, b, first, second } = await twoOnALine();
    a.fire();
    b.fire();
    expect(log).toEqual(["a", "b", "a", "b"]);
    expect(first.irq.irq).toBe(5);
    expect(second.irq.irq).toBe(5);
    expect(first.irq.count).toBe(2);
  });

  it("devices without an intx each have a line of their own", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const a = new OpenModel();
    const b = new OpenModel();
    await bindModel(machine, a, (dev) => void requestIrq(dev, () => void log.push("a")));
    await bindModel(machine, b, (dev) => void requestIrq(dev, () => void log.push("b")));
    b.interrupt();
    expect(log).toEqual(["b"]);
  });

  it("a handler freed leaves the others on the line running", async () => {
    const { log, a, b, first } = await twoOnALine();
    await first.irq.free();
    a.fire();
    b.fire();
    expect(log).toEqual(["b", "b"]);
  });

  it("after unbind of one device the other's handler still runs", async () => {
    const { machine, log, b, first } = await twoOnALine();
    await machine.pci.unbind(first.dev);
    b.fire();
    expect(log).toEqual(["b"]);
  });

  it("disable() disables the line for everyone on it; the raise waits and is delivered at enable()", async () => {
    const { log, a, first } = await twoOnALine();
    first.irq.disable();
    first.irq.disable();
    a.fire();
    a.fire();
    expect(log).toEqual([]);
    first.irq.enable();
    expect(log).toEqual([]);
    first.irq.enable();
    expect(log).toEqual(["a", "b"]);
  });

  it("a handle freed while it disabled the line leaves it enabled for the others", async () => {
    const { log, b, first } = await twoOnALine();
    first.irq.disable();
    await first.irq.free();
    b.fire();
    expect(log).toEqual(["b"]);
  });
});

describe("requesting a line", () => {
  it("a non-shared request of a taken line, or a shared one of a line taken exclusively, is EBUSY", async () => {
    const machine = new Machine();
    await sharer(machine, new LineModel(), () => {}, {});
    let errors: string[] = [];
    await bindModel(machine, new LineModel(), (dev) => {
      errors = [expectCode(() => requestIrq(dev, () => {}, { shared: true }), "EBUSY").message, expectCode(() => requestIrq(dev, () => {}), "EBUSY").message];
    });
    expect(errors[0]).toContain("does not share it");
    expect(errors[1]).toContain("already requested");
  });

  it("an exclusive request of a shared line is EBUSY", async () => {
    const machine = new Machine();
    await sharer(machine, new LineModel(), () => {});
    await bindModel(machine, new LineModel(), (dev) => {
      expectCode(() => requestIrq(dev, () => {}), "EBUSY");
      requestIrq(dev, () => {}, { shared: true });
    });
  });

  it("sharers that disagree on oneshot are EBUSY", async () => {
    const machine = new Machine();
    await sharer(machine, new LineModel(), () => {}, { shared: true, thread: () => {}, oneshot: true });
    await bindModel(machine, new LineModel(), (dev) => {
      expect(expectCode(() => requestIrq(dev, () => {}, { shared: true }), "EBUSY").message).toContain("oneshot");
    });
  });

  it("options of the wrong type are EINVAL", async () => {
    await bindModel(new Machine(), new LineModel(), (dev) => {
      expectCode(() => requestIrq(dev, () => {}, JSON.parse('{"shared":"yes"}')), "EINVAL");
      expectCode(() => requestIrq(dev, () => {}, JSON.parse('{"name":""}')), "EINVAL");
      expectCode(() => requestIrq(dev, () => {}, JSON.parse("7")), "EINVAL");
    });
  });
});

describe("what a handler returns", () => {
  it("a string that is not an IrqReturn is logged as irq-failed and counts as handled", async () => {
    const machine = new Machine();
    const model = new LineModel();
    await sharer(machine, model, () => JSON.parse('"handeld"'));
    model.fire();
    expect(machine.events.filter((e) => e.kind === "irq-failed").map((e) => e.detail)).toEqual([expect.stringContaining('"handeld"')]);
  });

  it("nothing returned counts as handled: a whole window of raises is no storm", async () => {
    const machine = new Machine();
    const model = new LineModel();
    await sharer(machine, model, () => {});
    for (let i = 0; i < IRQ_STORM_WINDOW; i++) model.interrupt();
    expect(nobodyCared(machine)).toEqual([]);
  });
});

describe("nobody cared", () => {
  it("a line whose every interrupt nobody handled is disabled at the end of the window, for everyone on it", async () => {
    const { machine, log, a, b, first } = await twoOnALine();
    for (let i = 0; i < IRQ_STORM_WINDOW; i++) a.interrupt();
    expect(log).toHaveLength(2 * IRQ_STORM_WINDOW);
    const violations = nobodyCared(machine);
    expect(violations).toHaveLength(1);
    expect(violations[0]!.message).toContain("irq 5: nobody cared");
    expect(violations[0]!.message).toContain(`driver "${first.driver.name}"`);
    expect(violations[0]!.device).toBe(first.dev.name);
    expect(machine.events.filter((e) => e.kind === "irq-disabled").map((e) => e.detail)).toEqual([expect.stringContaining("irq 5")]);
    log.length = 0;
    a.fire();
    b.fire();
    expect(log).toEqual([]);
  });

  it("the line works again once every handler on it was freed and one requested anew", async () => {
    const machine = new Machine();
    const model = new LineModel();
    const log: string[] = [];
    const { dev, irq } = await sharer(machine, model, () => "none");
    for (let i = 0; i < IRQ_STORM_WINDOW; i++) model.interrupt();
    expect(nobodyCared(machine)).toHaveLength(1);
    await irq.free();
    await machine.pci.unbind(dev);
    await sharer(machine, new LineModel(), polite(model, "again", log));
    model.fire();
    expect(log).toEqual(["again"]);
  });

  it(`${IRQ_STORM_UNHANDLED} unhandled in a window is not a storm`, async () => {
    const machine = new Machine();
    const model = new LineModel();
    let n = 0;
    await sharer(machine, model, () => (n++ < IRQ_STORM_UNHANDLED ? "none" : "handled"));
    for (let i = 0; i < IRQ_STORM_WINDOW; i++) model.interrupt();
    expect(nobodyCared(machine)).toEqual([]);
    expect(n).toBe(IRQ_STORM_WINDOW);
  });

  it("a gap of 100 ms between unhandled interrupts starts their count over", async () => {
    const machine = new Machine();
    const model = new LineModel();
    await sharer(machine, model, () => "none");
    for (let i = 0; i < IRQ_STORM_WINDOW / 2; i++) model.interrupt();
    await machine.run(IRQ_STORM_GAP_NS + 1);
    for (let i = 0; i < IRQ_STORM_WINDOW / 2; i++) model.interrupt();
    expect(nobodyCared(machine)).toEqual([]);
  });

  it("in throw mode the violation is thrown to the device that raised, and the line is disabled all the same", async () => {
    const machine = new Machine({ dmaDebug: "throw" });
    const model = new LineModel();
    let calls = 0;
    await sharer(machine, model, () => {
      calls++;
      return "none";
    });
    for (let i = 0; i < IRQ_STORM_WINDOW - 1; i++) model.interrupt();
    expect(expectCode(() => model.interrupt(), "EINVAL").message).toContain("nobody cared");
    model.interrupt();
    expect(calls).toBe(IRQ_STORM_WINDOW);
  });
});
