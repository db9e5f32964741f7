/**
 * What TypeScript lets through, caught at run time: one test per row of the
 * README's "What TypeScript lets through" table. Each writes the row's escape
 * as a user would (the same code compiles in types-tests/must-compile/
 * lets-through-*.ts), lets it happen, and shows which check stops it. The
 * last block shows the run-time side of a refusal: a bus address of another
 * binding reaching a device anyway.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, enableBusMaster, Machine, requestIrq, setDmaMask } from "../src/index.js";
import type { BoundDevice, CoherentAllocation, DriverInstance, ProbeDevice } from "../src/index.js";
import { expectCode, NIC, OpenModel } from "./helpers.js";

/** Binds one driver whose probe is `probe`, and returns the machine and device. */
async function bound(probe: <Scope>(dev: ProbeDevice<Scope>) => DriverInstance<Scope> | Promise<DriverInstance<Scope>>) {
  const machine = new Machine();
  await machine.pci.register(defineDriver({ name: "escapee", ids: [NIC], probe }));
  const dev = machine.pci.plug(new OpenModel({ device: NIC.device }));
  await machine.settled();
  expect(dev.state).toBe("bound");
  return { machine, dev };
}

describe("escapes through TypeScript's own `any`", () => {
  it("a token parked in an untyped Map is dead after unbind: ENXIO", async () => {
    const parked = new Map();
    const { machine, dev } = await bound((d) => {
      parked.set("token", d);
      return {};
    });
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(parked.get("token"), 64), "ENXIO");
  });

  it("a token caught as a promise's rejection reason is dead after unbind: ENXIO", async () => {
    let parked: BoundDevice<"x"> | undefined;
    const { machine, dev } = await bound((d) => {
      Promise.reject(d).catch((reason) => {
        parked = reason;
      });
      return {};
    });
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(parked!, 64), "ENXIO");
  });

  it("a token taken out of a method probe's `arguments` is dead after unbind: ENXIO", async () => {
    let parked: BoundDevice<"x"> | undefined;
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "variadic",
        ids: [NIC],
        probe(d) {
          parked = arguments[0];
          void d;
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(parked!, 64), "ENXIO");
  });

  it("Reflect.apply with a plain Device: the device is no token, EPERM, and nothing is allocated", () => {
    const machine = new Machine();
    const plain = machine.pci.plug(NIC);
    expectCode(() => Reflect.apply(allocCoherent, undefined, [plain, 64]), "EPERM");
    expectCode(() => Reflect.apply(setDmaMask, undefined, [plain, 32]), "EPERM");
    expect(machine.memory.stats().allocations).toBe(0);
  });
});

describe("escapes through declarations TypeScript takes on trust", () => {
  it("a user type guard `v is BoundDevice<unknown>` passes a plain Device: EPERM", () => {
    const isToken = (v: unknown): v is BoundDevice<unknown> => typeof v === "object" && v !== null;
    const plain: unknown = new Machine().pci.plug(NIC);
    if (!isToken(plain)) throw new Error("the guard says yes to any object");
    expectCode(() => allocCoherent(plain, 64), "EPERM");
  });

  it("an overload whose implementation names a concrete scope parks the token: ENXIO after unbind", async () => {
    let parked: BoundDevice<"x"> | undefined;
    function keep<Scope>(dev: BoundDevice<Scope>): void;
    function keep(dev: BoundDevice<"x">): void {
      parked = dev;
    }
    const { machine, dev } = await bound((d) => {
      keep(d);
      return {};
    });
    await machine.pci.unbind(dev);
    expectCode(() => allocCoherent(parked!, 64), "ENXIO");
  });
});

describe("escapes through covariance", () => {
  it("an interrupt's token pushed into a covariant array of the core context: a core-only call from the handler is EPERM", async () => {
    const errors: unknown[] = [];
    const model = new OpenModel({ device: NIC.device });
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "confused",
        ids: [NIC],
        probe<Scope>(dev: ProbeDevice<Scope>) {
          const cores: ProbeDevice<Scope>[] = [dev];
          const tokens: BoundDevice<Scope>[] = cores;
          requestIrq(dev, (irq) => {
            tokens.push(irq);
            errors.push(expectCode(() => setDmaMask(cores[cores.length - 1]!, 32), "EPERM"));
          });
          return {};
        },
      }),
    );
    machine.pci.plug(model);
    await machine.settled();
    model.interrupt();
    expect(errors).toHaveLength(1);
  });
});

describe("escapes TypeScript's inference allows", () => {
  it("nested drivers share one scope type: mixing their resources is EINVAL at run time", async () => {
    const outcome: string[] = [];
    const machine = new Machine();
    await machine.pci.register(
      defineDriver({
        name: "outer",
        ids: [NIC],
        probe(devA) {
          const bufA = allocCoherent(devA, 64);
          void machine.pci.register(
            defineDriver({
              name: "inner",
              ids: [{ vendor: 0x1af4, device: 0x1001 }],
              probe(devB) {
                outcome.push(expectCode(() => bufA.bytes(devB), "EINVAL").code);
                return {};
              },
            }),
          );
          return {};
        },
      }),
    );
    machine.pci.plug(NIC);
    await machine.settled();
    machine.pci.plug({ vendor: 0x1af4, device: 0x1001 });
    await machine.settled();
    expect(outcome).toEqual(["EINVAL"]);
  });

  it("an extra field on probe's returned object reaches only the core, which hands remove() the same live token", async () => {
    let seen: unknown;
    const { machine, dev } = await bound((d) => ({
      dev: d,
      remove(d2) {
        seen = d2;
      },
    }));
    await machine.pci.unbind(dev);
    expect(seen).toBeDefined();
    expectCode(() => allocCoherent(seen as BoundDevice<unknown>, 64), "ENXIO");
  });
});

describe("behind the types: a device handed another binding's bus address (by a model, or through a cast)", () => {
  it("another binding's bus address programmed into a device: the checker names the DMA into another device's memory", async () => {
    // Passthrough: bus addresses are physical, so the two bindings' addresses differ. (Under a strict
    // IOMMU each device has its own IOVA space, and the same number may be a valid address of its own.)
    const machine = new Machine({ iommu: "passthrough" });
    let other: CoherentAllocation<unknown> | undefined;
    const a = new OpenModel({ device: NIC.device });
    await machine.pci.register(
      defineDriver({
        name: "mixer",
        ids: [NIC],
        probe(dev) {
          const buf = allocCoherent(dev, 4096);
          // Registers hold any bigint: the types cannot tell one binding's address from another's.
          if (other === undefined) other = buf as unknown as CoherentAllocation<unknown>;
          enableBusMaster(dev);
          return {};
        },
      }),
    );
    machine.pci.plug(new OpenModel({ device: NIC.device }));
    machine.pci.plug(a);
    await machine.settled();
    expect(a.write(other!.dmaHandle, new Uint8Array(4))).toBe(true);
    expect(machine.dmaDebug.violations.map((v) => v.kind)).toEqual(["dma-outside-mapping"]);
  });
});
