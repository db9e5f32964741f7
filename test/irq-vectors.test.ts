/**
 * MSI-X and MSI vectors (src/driver/irq.ts, src/sim/irq-chip.ts):
 * `pci_alloc_irq_vectors` from min to max, MSI-X then MSI then the legacy
 * line; one handler per vector; a vector raised while disabled, unallocated
 * or unrequested is dropped and logged; vectors are freed at unbind after
 * their handlers.
 */

import { describe, expect, it } from "vitest";
import { allocIrqVectors, defineDriver, Machine, requestIrq } from "../src/index.js";
import type { IrqHandle, IrqVectors, IrqVectorTypes } from "../src/index.js";
import { atomicContext } from "../src/driver/context.js";
import { bindModel, expectCode, OpenModel, released, smuggle } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

/** A model whose firmware the test plays: it sends vectors by hand. */
class MsiModel extends OpenModel {
  vector(index: number): void {
    this.raiseMsi(index);
  }
}

async function withVectors(spec: { msix?: number; msi?: number }, min: number, max: number, types?: IrqVectorTypes) {
  const machine = new Machine();
  const model = new MsiModel(spec);
  let vectors!: IrqVectors<Smuggled>;
  const bound = await bindModel(machine, model, (dev) => {
    vectors = allocIrqVectors(dev, min, max, types);
  });
  return { ...bound, vectors };
}

function unhandled(machine: Machine): string[] {
  return machine.events.filter((e) => e.kind === "irq-unhandled").map((e) => e.detail ?? "");
}

describe("allocating", () => {
  it("enables from min to max MSI-X vectors, as many as the table has", async () => {
    expect((await withVectors({ msix: 2 }, 2, 2, { msix: true })).vectors).toMatchObject({ count: 2, kind: "msix" });
    expect((await withVectors({ msix: 3 }, 1, 8)).vectors).toMatchObject({ count: 3, kind: "msix" });
    expect((await withVectors({ msix: 16 }, 1, 4)).vectors).toMatchObject({ count: 4, kind: "msix" });
  });

  it("tries MSI-X, then MSI, then the legacy line", async () => {
    expect((await withVectors({ msix: 4, msi: 8 }, 1, 8)).vectors.kind).toBe("msix");
    expect((await withVectors({ msix: 4, msi: 8 }, 1, 8, { msi: true, legacy: true })).vectors).toMatchObject({ kind: "msi", count: 8 });
    expect((await withVectors({ msix: 1, msi: 4 }, 2, 8)).vectors).toMatchObject({ kind: "msi", count: 4 });
    expect((await withVectors({}, 1, 8)).vectors).toMatchObject({ kind: "legacy", count: 1 });
  });

  it("fewer than min of the kinds allowed is EINVAL, naming what the device has, and enables nothing", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 2 });
    const errors: string[] = [];
    let later: IrqVectors<Smuggled> | undefined;
    await bindModel(machine, model, (dev) => {
      errors.push(expectCode(() => allocIrqVectors(dev, 4, 8), "EINVAL").message);
      errors.push(expectCode(() => allocIrqVectors(dev, 1, 1, { msi: true }), "EINVAL").message);
      later = allocIrqVectors(dev, 1, 2);
    });
    expect(errors[0]).toContain("fewer than 4 vectors");
    expect(errors[0]).toContain("2 MSI-X");
    expect(errors[1]).toContain("0 MSI");
    expect(later?.count).toBe(2);
  });

  it("bad bounds or types are EINVAL; a second allocation in the binding is EBUSY", async () => {
    await bindModel(new Machine(), new MsiModel({ msix: 4 }), (dev) => {
      expectCode(() => allocIrqVectors(dev, 0, 2), "EINVAL");
      expectCode(() => allocIrqVectors(dev, 3, 2), "EINVAL");
      expectCode(() => allocIrqVectors(dev, 1.5, 2), "EINVAL");
      expectCode(() => allocIrqVectors(dev, 1, 2, {}), "EINVAL");
      expectCode(() => allocIrqVectors(dev, 1, 2, smuggle<IrqVectorTypes>({ msix: "yes" })), "EINVAL");
      allocIrqVectors(dev, 1, 2);
      expect(expectCode(() => allocIrqVectors(dev, 1, 2), "EBUSY").message).toContain("already");
    });
  });

  it("is core-only: from a smuggled token after probe it is EPERM", async () => {
    const { token } = await bindModel(new Machine(), new MsiModel({ msix: 2 }));
    expectCode(() => allocIrqVectors(token, 1, 2), "EPERM");
  });

  it("a model spec with a bad table size is EINVAL", () => {
    expectCode(() => new OpenModel({ msix: 0 }), "EINVAL");
    expectCode(() => new OpenModel({ msix: 2049 }), "EINVAL");
    expectCode(() => new OpenModel({ msi: 3 }), "EINVAL");
    expectCode(() => new OpenModel({ intx: 256 }), "EINVAL");
  });
});

describe("one handler per vector", () => {
  it("each vector runs its own handler, in atomic context, with the binding's token", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 2 });
    const seen: string[] = [];
    let handles: IrqHandle<Smuggled>[] = [];
    const { token } = await bindModel(machine, model, (dev) => {
      const vectors = allocIrqVectors(dev, 2, 2, { msix: true });
      handles = [0, 1].map((i) =>
        vectors.request(i, (irqDev) => {
          expect(irqDev).toBe(token);
          seen.push(`${i}:${atomicContext() === undefined ? "process" : "atomic"}`);
          return "handled";
        }),
      );
    });
    model.vector(0);
    model.vector(1);
    model.vector(1);
    expect(seen).toEqual(["0:atomic", "1:atomic", "1:atomic"]);
    expect(handles.map((h) => h.count)).toEqual([1, 2]);
    expect(handles[0]!.irq).not.toBe(handles[1]!.irq);
  });

  it("irq(i) is the vector's interrupt number, as its handle says", async () => {
    let vectors!: IrqVectors<Smuggled>;
    let handle!: IrqHandle<Smuggled>;
    await bindModel(new Machine(), new MsiModel({ msix: 3 }), (dev) => {
      vectors = allocIrqVectors(dev, 3, 3);
      handle = vectors.request(2, () => {});
    });
    expect(vectors.irq(2)).toBe(handle.irq);
    expectCode(() => vectors.irq(3), "EINVAL");
  });

  it("a second request of a vector is EBUSY; an index outside the vectors is EINVAL", async () => {
    await bindModel(new Machine(), new MsiModel({ msix: 2 }), (dev) => {
      const vectors = allocIrqVectors(dev, 2, 2);
      vectors.request(0, () => {});
      expect(expectCode(() => vectors.request(0, () => {}), "EBUSY").message).toContain("already requested");
      expectCode(() => vectors.request(2, () => {}), "EINVAL");
      expectCode(() => vectors.request(-1, () => {}), "EINVAL");
      expectCode(() => vectors.request(0.5, () => {}), "EINVAL");
      vectors.request(1, () => {});
    });
  });

  it("requesting is core-only: after probe EPERM, after unbind ENXIO", async () => {
    const { vectors, dev, machine } = await withVectors({ msix: 2 }, 2, 2);
    expectCode(() => vectors.request(0, () => {}), "EPERM");
    await machine.pci.unbind(dev);
    expectCode(() => vectors.request(0, () => {}), "ENXIO");
  });

  it("a freed vector handler can be requested again; only the new one runs", async () => {
    const calls: string[] = [];
    const model = new MsiModel({ msix: 1 });
    await bindModel(new Machine(), model, (dev) => {
      const vectors = allocIrqVectors(dev, 1, 1);
      void vectors.request(0, () => void calls.push("old")).free();
      vectors.request(0, () => void calls.push("new"));
    });
    model.vector(0);
    expect(calls).toEqual(["new"]);
  });
});

describe("what the hardware drops", () => {
  it("a vector nobody requested runs nothing and is logged as irq-unhandled", async () => {
    const calls: number[] = [];
    const machine = new Machine();
    const model = new MsiModel({ msix: 2 });
    await bindModel(machine, model, (dev) => {
      allocIrqVectors(dev, 2, 2).request(0, () => void calls.push(0));
    });
    model.vector(1);
    expect(calls).toEqual([]);
    expect(unhandled(machine)).toEqual([expect.stringContaining("has no handler")]);
  });

  it("a vector raised before MSI-X is enabled, or past those allocated, is dropped and logged", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 4 });
    let calls = 0;
    await bindModel(machine, model, (dev) => {
      model.vector(0);
      const vectors = allocIrqVectors(dev, 1, 2);
      vectors.request(0, () => void calls++);
      vectors.request(1, () => void calls++);
    });
    model.vector(3);
    expect(calls).toBe(0);
    expect(unhandled(machine)).toEqual([expect.stringContaining("disabled"), expect.stringContaining("allocated 2")]);
  });

  it("a vector outside the device's table is the model's bug: EINVAL at raiseMsi", async () => {
    const { model } = await withVectors({ msix: 2 }, 1, 2);
    expectCode(() => model.vector(2), "EINVAL");
    expect(expectCode(() => new MsiModel().vector(0), "EINVAL").message).toContain("not plugged");
  });

  it("a device without MSI-X or MSI cannot raise a vector: EINVAL", async () => {
    const { model } = await bindModel(new Machine(), new MsiModel());
    expect(expectCode(() => model.vector(0), "EINVAL").message).toContain("no MSI-X");
  });

  it("while MSI-X is enabled the legacy line falls silent", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 1 });
    const calls: string[] = [];
    await bindModel(machine, model, (dev) => {
      requestIrq(dev, () => void calls.push("legacy"));
      allocIrqVectors(dev, 1, 1, { msix: true }).request(0, () => void calls.push("msix"));
    });
    model.interrupt();
    model.vector(0);
    expect(calls).toEqual(["msix"]);
    expect(unhandled(machine)).toEqual([expect.stringContaining("MSI-X is enabled")]);
  });

  it("the legacy fallback is the legacy line: requestIrq on it is the same line", async () => {
    const model = new MsiModel();
    const calls: string[] = [];
    await bindModel(new Machine(), model, (dev) => {
      const vectors = allocIrqVectors(dev, 1, 4);
      vectors.request(0, () => void calls.push("vector 0"), { shared: true });
      requestIrq(dev, () => void calls.push("requestIrq"), { shared: true });
      expectCode(() => requestIrq(dev, () => {}), "EBUSY");
    });
    model.interrupt();
    expect(calls).toEqual(["vector 0", "requestIrq"]);
  });
});

describe("at unbind", () => {
  it("the handlers are freed, then the vectors, and later raises run nothing", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 2 });
    let calls = 0;
    const { dev } = await bindModel(machine, model, (dev) => {
      const vectors = allocIrqVectors(dev, 2, 2);
      vectors.request(0, () => void calls++);
      vectors.request(1, () => void calls++);
    });
    await machine.pci.unbind(dev);
    expect(released(machine)).toEqual(["irq", "irq", "irq-vectors"]);
    model.vector(0);
    expect(calls).toBe(0);
    expect(machine.events.filter((e) => e.kind === "irq-unhandled")).toEqual([]);
  });

  it("a rebound device allocates its vectors again; only the new handler runs", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 2 });
    const calls: string[] = [];
    const { dev } = await bindModel(machine, model, (dev) => void allocIrqVectors(dev, 2, 2).request(0, () => void calls.push("first")));
    await machine.pci.unbind(dev);
    await machine.pci.register(
      defineDriver({
        name: "second",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          allocIrqVectors(dev, 1, 1).request(0, () => void calls.push("second"));
          return {};
        },
      }),
    );
    model.vector(0);
    expect(calls).toEqual(["second"]);
  });

  it("vectors of a probe that failed are freed with their handlers", async () => {
    const machine = new Machine();
    const model = new MsiModel({ msix: 1 });
    let calls = 0;
    await machine.pci.register(
      defineDriver({
        name: "refuses",
        ids: [{ vendor: model.vendor, device: model.device }],
        probe(dev) {
          allocIrqVectors(dev, 1, 1).request(0, () => void calls++);
          throw new Error("no");
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    model.vector(0);
    expect(calls).toBe(0);
    expect(released(machine)).toEqual(["irq", "irq-vectors"]);
  });
});
