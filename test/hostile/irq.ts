/**
 * Hostile input for interrupts (src/driver/irq.ts, src/sim/irq-chip.ts):
 * vector bounds and types that are not what `allocIrqVectors` takes, more
 * vectors than the device has, vector indexes outside those enabled, options
 * of the wrong type, lines taken, unbalanced enables, a handle freed or
 * synchronized from its own handler (a deadlock in the kernel), a model
 * raising a vector outside its table or with a table spec out of range, and
 * a line nobody handles (disabled, with an `irq-nobody-cared` violation).
 *
 * Rows that need MSI-X build their own machine inside `act`: the rig's
 * devices have no MSI-X, and its parked binding must release only what it
 * released before.
 */

import { allocIrqVectors, defineDriver, DeviceModel, Machine, requestIrq } from "../../src/index.js";
import type { DeviceModelSpec, IrqHandle, IrqHandler, IrqOptions, IrqVectorTypes, ProbeDevice } from "../../src/index.js";
import type { Rig, Row } from "../hostile-table.js";

/** A hostile argument, named for what it is. */
const any = <Value>(value: unknown): Value => value as Value;

const EINVAL = { code: "EINVAL" } as const;
const EBUSY = { code: "EBUSY" } as const;
const EPERM = { code: "EPERM" } as const;

type Token = ProbeDevice<"hostile">;

/** A model with two MSI-X vectors whose firmware the row plays. */
class MsiModel extends DeviceModel {
  constructor(spec: Partial<DeviceModelSpec> = {}) {
    super({ vendor: 0x1af4, device: 0x7100, msix: 2, ...spec });
  }
  send(vector: unknown): void {
    this.raiseMsi(any<number>(vector));
  }
  raise(): void {
    this.raiseIrq();
  }
}

/**
 * Runs `act` in the probe of a fresh device with two MSI-X vectors, on a
 * machine of its own, and throws what it threw. The probe succeeds either
 * way; the machine is dropped.
 */
async function inProbe(act: (dev: Token, model: MsiModel) => unknown, spec?: Partial<DeviceModelSpec>): Promise<{ machine: Machine; model: MsiModel }> {
  const machine = new Machine();
  const model = new MsiModel(spec);
  let failure: { error: unknown } | undefined;
  await machine.pci.register(
    defineDriver({
      name: "hostile-irq",
      ids: [{ vendor: model.vendor, device: model.device }],
      probe(dev) {
        try {
          act(any<Token>(dev), model);
        } catch (error) {
          failure = { error };
        }
        return {};
      },
    }),
  );
  machine.pci.plug(model);
  await machine.settled();
  if (failure !== undefined) throw failure.error;
  return { machine, model };
}

const rows: Row[] = [];

const badBounds: readonly (readonly [string, unknown, unknown])[] = [
  ["`min` 0", 0, 1],
  ["`min` -1", -1, 1],
  ["`min` 1.5", 1.5, 2],
  ["`min` NaN", Number.NaN, 2],
  ['`min` `"1"`', "1", 2],
  ["`max` below `min`", 2, 1],
  ["`max` 4096", 1, 4096],
  ["`max` Infinity", 1, Number.POSITIVE_INFINITY],
];
for (const [input, min, max] of badBounds) {
  rows.push({ entry: "allocIrqVectors(dev, min, max, types)", input, outcome: EINVAL, act: () => inProbe((dev) => allocIrqVectors(dev, any(min), any(max))) });
}
const badTypes: readonly (readonly [string, unknown])[] = [
  ["`types` `null`", null],
  ['`types` `"msix"`', "msix"],
  ['`types` `{ msix: "yes" }`', { msix: "yes" }],
  ["`types` `{}` (no kind allowed)", {}],
  ["`types` `{ msix: false, msi: false, legacy: false }`", { msix: false, msi: false, legacy: false }],
];
for (const [input, types] of badTypes) {
  rows.push({ entry: "allocIrqVectors(dev, min, max, types)", input, outcome: EINVAL, act: () => inProbe((dev) => allocIrqVectors(dev, 1, 2, any<IrqVectorTypes>(types))) });
}
rows.push(
  {
    entry: "allocIrqVectors(dev, min, max, types)",
    input: "`min` 3 of a device with 2 MSI-X vectors",
    outcome: EINVAL,
    note: "the message names the vectors the device has",
    act: () => inProbe((dev) => allocIrqVectors(dev, 3, 4)),
  },
  {
    entry: "allocIrqVectors(dev, min, max, types)",
    input: "`{ msix: true }` of a device without MSI-X",
    outcome: EINVAL,
    act: (rig) => allocIrqVectors(rig.core, 1, 1, { msix: true }),
  },
  {
    entry: "allocIrqVectors(dev, min, max, types)",
    input: "a second time in one binding",
    outcome: EBUSY,
    act: () =>
      inProbe((dev) => {
        allocIrqVectors(dev, 1, 2);
        allocIrqVectors(dev, 1, 2);
      }),
  },
  {
    entry: "allocIrqVectors(dev, min, max, types)",
    input: "a probe token smuggled out of probe",
    outcome: EPERM,
    act: (rig) => allocIrqVectors(rig.a.token, 1, 1),
  },
);

const badIndexes: readonly (readonly [string, unknown])[] = [
  ["`-1`", -1],
  ["`2` (past the 2 enabled)", 2],
  ["`0.5`", 0.5],
  ['`"0"`', "0"],
  ["`NaN`", Number.NaN],
];
for (const [input, index] of badIndexes) {
  rows.push({ entry: "vectors.request(index, handler, options)", input: `\`index\` ${input}`, outcome: EINVAL, act: () => inProbe((dev) => allocIrqVectors(dev, 2, 2).request(any(index), () => {})) });
}
rows.push(
  {
    entry: "vectors.request(index, handler, options)",
    input: '`handler` `"isr"`',
    outcome: EINVAL,
    act: () => inProbe((dev) => allocIrqVectors(dev, 2, 2).request(0, any("isr"))),
  },
  {
    entry: "vectors.request(index, handler, options)",
    input: "the same vector twice",
    outcome: EBUSY,
    act: () =>
      inProbe((dev) => {
        const vectors = allocIrqVectors(dev, 2, 2);
        vectors.request(0, () => {});
        vectors.request(0, () => {});
      }),
  },
  {
    entry: "vectors.request(index, handler, options)",
    input: "vectors kept past probe",
    outcome: EPERM,
    act: async () => {
      let kept: ReturnType<typeof allocIrqVectors<"hostile">> | undefined;
      await inProbe((dev) => (kept = allocIrqVectors(dev, 2, 2)));
      return kept?.request(0, () => {});
    },
  },
);

/** Requests the parked binding's line with `options`, freeing what it got: the row must leave the binding as it was. */
const onCore = (rig: Rig, handler: unknown, options: unknown): IrqHandle<"smuggled"> => {
  const irq = requestIrq(rig.core, any<IrqHandler<"smuggled">>(handler), any<IrqOptions<"smuggled">>(options));
  void irq.free();
  return irq;
};
const badOptions: readonly (readonly [string, unknown, unknown])[] = [
  ["`options` `7`", () => {}, 7],
  ["`{ shared: 1 }`", () => {}, { shared: 1 }],
  ['`{ oneshot: "yes" }`', () => {}, { oneshot: "yes" }],
  ['`{ thread: "fn" }`', () => {}, { thread: "fn" }],
  ['`{ name: "" }`', () => {}, { name: "" }],
  ["`{ name: 7 }`", () => {}, { name: 7 }],
  ['`{ managed: "no" }`', () => {}, { managed: "no" }],
  ["`handler` `null` with no thread", null, {}],
  ["`handler` `null` with `{ oneshot: false }`", null, { thread: () => {}, oneshot: false }],
];
for (const [input, handler, options] of badOptions) {
  rows.push({ entry: "requestIrq(dev, handler, options)", input, outcome: EINVAL, act: (rig) => onCore(rig, handler, options) });
}
rows.push(
  {
    entry: "requestIrq(dev, handler, options)",
    input: "`{ shared: true }` on a line held without it",
    outcome: EBUSY,
    act: (rig) => {
      const first = requestIrq(rig.core, () => {});
      try {
        return onCore(rig, () => {}, { shared: true });
      } finally {
        void first.free();
      }
    },
  },
  {
    entry: "requestIrq(dev, handler, options)",
    input: "sharers that disagree on `oneshot`",
    outcome: EBUSY,
    act: (rig) => {
      const first = requestIrq(rig.core, () => {}, { shared: true });
      try {
        return onCore(rig, () => "wake-thread", { shared: true, thread: () => {}, oneshot: true });
      } finally {
        void first.free();
      }
    },
  },
  {
    entry: "IRQ handler",
    input: 'returns `"none"` for 100,000 raises of its line',
    outcome: { ignored: true },
    note: "nobody cared: the line is disabled (an `irq-disabled` event), and later raises run nothing",
    violation: "irq-nobody-cared",
    act: (rig) => {
      let runs = 0;
      rig.onIrq = any(() => (runs++, "none"));
      for (let i = 0; i < 100_000; i++) rig.a.model.interrupt();
      rig.a.model.interrupt();
      rig.onIrq = () => {};
      if (runs !== 100_000) throw new Error(`the handler ran ${runs} times`);
    },
  },
);

rows.push(
  {
    entry: "irq.disable()/enable()",
    input: "`enable()` with no `disable()` to undo",
    outcome: EINVAL,
    act: (rig) => rig.a.irq.enable(),
  },
  {
    entry: "irq.disable()/enable()",
    input: "`disable()` after devres freed it at unbind",
    outcome: EINVAL,
    act: (rig) => rig.dead.irq.disable(),
  },
  {
    entry: "irq.disable()/enable()",
    input: "`enable()` after devres freed it at unbind",
    outcome: EINVAL,
    act: (rig) => rig.dead.irq.enable(),
  },
  {
    entry: "irq.free()",
    input: "from its own handler",
    outcome: { logged: "irq-failed", errorCode: "EBUSY" },
    note: "it would wait for itself: a deadlock in the kernel",
    act: (rig) => {
      rig.onIrq = () => void rig.a.irq.free();
      rig.a.model.interrupt();
      rig.onIrq = () => {};
    },
  },
  {
    entry: "irq.synchronize()",
    input: "from its own handler",
    outcome: { logged: "irq-failed", errorCode: "EBUSY" },
    act: (rig) => {
      rig.onIrq = () => void rig.a.irq.synchronize();
      rig.a.model.interrupt();
      rig.onIrq = () => {};
    },
  },
  {
    entry: "IRQ handler",
    input: 'returns `"handeld"` (not an `IrqReturn`)',
    outcome: { logged: "irq-failed" },
    note: "counted as handled",
    act: (rig) => {
      rig.onIrq = any(() => "handeld");
      rig.a.model.interrupt();
      rig.onIrq = () => {};
    },
  },
);

const badVectors: readonly (readonly [string, unknown])[] = [
  ["`-1`", -1],
  ["`2` (past the table of 2)", 2],
  ["`0.5`", 0.5],
  ['`"0"`', "0"],
  ["`NaN`", Number.NaN],
];
for (const [input, vector] of badVectors) {
  rows.push({
    entry: "model.raiseMsi(vector)",
    input: `\`vector\` ${input}`,
    outcome: EINVAL,
    act: async () => {
      const { model } = await inProbe(() => {});
      model.send(vector);
    },
  });
}
rows.push({
  entry: "model.raiseMsi(vector)",
  input: "on a device without MSI-X or MSI",
  outcome: EINVAL,
  act: async () => {
    const { model } = await inProbe(() => {}, any<Partial<DeviceModelSpec>>({ msix: undefined }));
    model.send(0);
  },
});
for (const [input, spec] of [
  ["`{ msix: 0 }`", { msix: 0 }],
  ["`{ msix: 2049 }`", { msix: 2049 }],
  ['`{ msix: "8" }`', { msix: "8" }],
  ["`{ msi: 3 }` (not a power of two)", { msi: 3 }],
  ["`{ msi: 64 }`", { msi: 64 }],
  ["`{ intx: -1 }`", { intx: -1 }],
  ["`{ intx: 256 }`", { intx: 256 }],
  ["`{ intx: 1.5 }`", { intx: 1.5 }],
] as const) {
  rows.push({ entry: "new DeviceModel(spec)", input, outcome: EINVAL, act: () => new DeviceModel(any<DeviceModelSpec>({ vendor: 1, device: 1, ...spec })) });
}

export { rows };

export const entries: string[] = [
  "allocIrqVectors(dev, min, max, types)",
  "vectors.request(index, handler, options)",
  "requestIrq(dev, handler, options)",
  "irq.disable()/enable()",
  "irq.synchronize()",
  "model.raiseMsi(vector)",
];
