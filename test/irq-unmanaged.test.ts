/**
 * Unmanaged interrupts (src/driver/irq.ts, src/core/dd.ts step 7):
 * `requestIrq(dev, handler, { managed: false })` is the kernel's
 * `request_irq` without devres. The driver frees it; one still requested
 * when the binding ends (after `remove()` and `drop()`, or when probe
 * failed) is an `irq-leaked` violation naming the line, the handler and
 * where it was requested, and the core frees it before the token dies, so
 * its handler never runs on a dead token.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, allocIrqVectors, defineDriver, iomap, Machine, requestIrq, sleep } from "../src/index.js";
import type { DmaViolation, IrqHandle, MachineOptions, ProbeDevice } from "../src/index.js";
import { bindModel, expectCode, expectReject, OpenModel, released, smuggle } from "./helpers.js";
import type { Smuggled, TestProbe } from "./helpers.js";

/** Bytes no machine can hand out: the allocation a probe's error path fails on. */
const TOO_BIG = 2 ** 31;

/** A model whose firmware the test plays, with MSI-X vectors to send. */
class IrqModel extends OpenModel {
  vector(index: number): void {
    this.raiseMsi(index);
  }
}

function leaks(machine: Machine): DmaViolation[] {
  return machine.dmaDebug.violations.filter((v) => v.kind === "irq-leaked");
}

/** Binds a fresh model to a driver whose probe is `probe`; a probe that throws leaves it unbound. */
async function bound(probe: TestProbe, options: MachineOptions = {}, spec: { msix?: number } = {}) {
  const machine = new Machine(options);
  const model = new IrqModel({ bars: [64], ...spec });
  const id = { vendor: model.vendor, device: model.device };
  let token: ProbeDevice<Smuggled> | undefined;
  await machine.pci.register(
    defineDriver({
      name: "unmanaged",
      ids: [id],
      probe<Scope>(dev: ProbeDevice<Scope>) {
        token = smuggle(dev);
        return smuggle(probe(smuggle(dev)) ?? {});
      },
    }),
  );
  const dev = machine.pci.plug(model);
  await machine.settled();
  return { machine, model, dev, token: token! };
}

describe("freed by the driver", () => {
  it("an unmanaged IRQ freed in remove() is clean: it ran while bound, and nothing is reported", async () => {
    let irq!: IrqHandle<Smuggled>;
    let calls = 0;
    const { machine, model, dev } = await bound((dev) => {
      irq = requestIrq(dev, () => void calls++, { managed: false });
      return {
        async remove() {
          await irq.free();
        },
      };
    });
    model.interrupt();
    expect(calls).toBe(1);
    await machine.pci.unbind(dev);
    expect(irq.freed).toBe(true);
    expect(machine.dmaDebug.violations).toEqual([]);
    model.interrupt();
    expect(calls).toBe(1);
  });

  it("devres does not free it: it is still requested after the devres walk would have run, until the driver frees it", async () => {
    let irq!: IrqHandle<Smuggled>;
    const { machine, dev } = await bound((dev) => {
      irq = requestIrq(dev, () => {}, { managed: false });
      return {
        drop() {
          // drop() is the driver's last chance: the IRQ is still there.
          expect(irq.freed).toBe(false);
          void irq.free();
        },
      };
    });
    await machine.pci.unbind(dev);
    expect(leaks(machine)).toEqual([]);
    // No devres release of the IRQ: the driver freed it.
    expect(released(machine).filter((r) => r.startsWith("irq"))).toEqual([]);
  });

  it("a double free() gives EINVAL, as a managed one does", async () => {
    let unmanaged!: IrqHandle<Smuggled>;
    let managed!: IrqHandle<Smuggled>;
    const { machine, model } = await bound((dev) => {
      unmanaged = requestIrq(dev, () => {}, { managed: false, shared: true });
      managed = requestIrq(dev, () => {}, { shared: true });
    });
    await unmanaged.free();
    await managed.free();
    const twiceUnmanaged = expectCode(() => unmanaged.free(), "EINVAL");
    const twiceManaged = expectCode(() => managed.free(), "EINVAL");
    expect(twiceUnmanaged.message).toMatch(/already freed/);
    expect(twiceManaged.message).toMatch(/already freed/);
    model.interrupt();
    expect(machine.dmaDebug.violations).toEqual([]);
  });
});

describe("leaked", () => {
  it("a probe error path that leaks it when a later allocation fails is reported, naming the line, handler and request site", async () => {
    let calls = 0;
    let irq!: IrqHandle<Smuggled>;
    const { machine, model, dev } = await bound((dev) => {
      irq = requestIrq(dev, function onRx() {
        calls++;
      }, { managed: false, name: "rx" });
      allocCoherent(dev, TOO_BIG); // ENOMEM: probe fails, and the error path forgot irq.free()
    });
    expect(dev.state).toBe("no-driver");
    const [leak, ...rest] = leaks(machine);
    expect(rest).toEqual([]);
    expect(leak).toMatchObject({ kind: "irq-leaked", driver: "unmanaged", device: dev.name });
    expect(leak!.message).toContain(`irq ${irq.irq} "rx" (handler onRx)`);
    expect(leak!.message).toContain("probe() failed");
    expect(leak!.allocSite).toMatch(/irq-unmanaged\.test\.ts:\d+/);
    expect(irq.freed).toBe(true);
    model.interrupt();
    expect(calls).toBe(0);
  });

  it("one still requested after remove() is reported with why the binding ended, and freed by the core", async () => {
    let irq!: IrqHandle<Smuggled>;
    const { machine, dev } = await bound((dev) => {
      irq = requestIrq(dev, () => {}, { managed: false });
      return { remove() {} };
    });
    await machine.pci.unbind(dev);
    const [leak] = leaks(machine);
    expect(leak?.message).toMatch(/when the binding ended \(unbound\): free\(\) \(free_irq\) was never called/);
    expect(irq.freed).toBe(true);
    const release = machine.events.find((e) => e.kind === "release" && e.resource === "irq");
    expect(release?.detail).toBe(`leaked irq ${irq.irq}`);
  });

  it("its handler never runs after the binding ends, though the device keeps raising it through the devres walk", async () => {
    const states: boolean[] = [];
    const { machine, model, dev } = await bound((dev) => {
      const regs = iomap(dev, 0);
      requestIrq(dev, (irqDev) => {
        // A dead token here would throw ENXIO, logged as irq-failed.
        regs.read32(irqDev, 0);
        states.push(irqDev.state === "bound" || irqDev.state === "unbinding");
      }, { managed: false });
      allocCoherent(dev, 4096); // a devres step after the IRQ: the walk takes virtual time
      return {};
    });
    // A device nobody halted: it raises every 300 ns, through remove and the devres walk.
    const storm = (): void => {
      model.interrupt();
      model.later(300, storm);
    };
    model.later(300, storm);
    await machine.run(1_000);
    const before = states.length;
    expect(before).toBeGreaterThan(0);
    await machine.pci.unbind(dev);
    await machine.run(5_000);
    expect(machine.events.filter((e) => e.kind === "irq-failed")).toEqual([]);
    expect(states.every((live) => live)).toBe(true);
    expect(leaks(machine)).toHaveLength(1);
    const after = states.length;
    await machine.run(5_000);
    expect(states.length).toBe(after);
  });

  it("a free() after the core freed a leaked one gives EINVAL, naming the leak", async () => {
    let irq!: IrqHandle<Smuggled>;
    const { machine, dev } = await bound((dev) => {
      irq = requestIrq(dev, () => {}, { managed: false });
    });
    await machine.pci.unbind(dev);
    expect(expectCode(() => irq.free(), "EINVAL").message).toMatch(/leaked/);
  });

  it("a vector leaked is reported by its own interrupt number before the vectors are disabled", async () => {
    let irq!: IrqHandle<Smuggled>;
    let calls = 0;
    const { machine, model, dev } = await bound(
      (dev) => {
        const vectors = allocIrqVectors(dev, 2, 2, { msix: true });
        vectors.request(0, () => {}, { name: "tx" });
        irq = vectors.request(1, () => void calls++, { managed: false, name: "rx" });
      },
      {},
      { msix: 2 },
    );
    model.vector(1);
    expect(calls).toBe(1);
    await machine.pci.unbind(dev);
    const [leak, ...rest] = leaks(machine);
    expect(rest).toEqual([]);
    expect(leak?.message).toContain(`irq ${irq.irq} "rx"`);
    const order = machine.events.filter((e) => e.kind === "release" && (e.resource === "irq" || e.resource === "irq-vectors")).map((e) => e.resource);
    expect(order).toEqual(["irq", "irq", "irq-vectors"]);
  });

  it("a threaded one is freed while its token lives: a thread part still sleeping finishes first", async () => {
    const seen: string[] = [];
    const { machine, model, dev } = await bound((dev) => {
      requestIrq(dev, null, {
        managed: false,
        thread: async (taskDev) => {
          await sleep(taskDev, 2_000);
          seen.push(taskDev.state);
        },
      });
    });
    model.interrupt();
    await machine.run(100);
    await machine.pci.unbind(dev);
    expect(seen).toEqual(["unbinding"]);
    expect(leaks(machine)).toHaveLength(1);
  });

  it('in dmaDebug "throw" mode the unbind throws it once the device is at rest', async () => {
    const { machine, dev } = await bound((dev) => void requestIrq(dev, () => {}, { managed: false }), { dmaDebug: "throw" });
    const error = await expectReject(machine.pci.unbind(dev), "EINVAL");
    expect(error.message).toMatch(/^dma-debug: irq-leaked: /);
    expect(dev.state).toBe("no-driver");
  });

  it('with dmaDebug "off" nothing is reported, and the core still frees it', async () => {
    let irq!: IrqHandle<Smuggled>;
    const { machine, dev } = await bound((dev) => {
      irq = requestIrq(dev, () => {}, { managed: false });
    }, { dmaDebug: "off" });
    await machine.pci.unbind(dev);
    expect(machine.dmaDebug.violations).toEqual([]);
    expect(irq.freed).toBe(true);
  });

  it("a managed one (the default) is never reported: devres frees it", async () => {
    const { machine, dev } = await bound((dev) => void requestIrq(dev, () => {}));
    await machine.pci.unbind(dev);
    expect(leaks(machine)).toEqual([]);
  });
});

describe("bad options", () => {
  it("managed must be a boolean: a truthy string is EINVAL", async () => {
    const { token } = await bindModel(new Machine(), new OpenModel(), (dev) => {
      expectCode(() => requestIrq(dev, () => {}, smuggle({ managed: "no" })), "EINVAL");
    });
    expect(token).toBeDefined();
  });
});
