// Blocks: polling one binding's registers with another binding's token, and
// keeping a token past its probe (in an outer variable) for a later config
// access: the read closure and the token must share one scope.
import { defineDriver, iomap, pciReadConfigDword, readPollTimeout } from "boundscope";
import type { BoundDevice, IoMapping, ProbeDevice, SleepableDevice } from "boundscope";

async function waitFor<Scope>(dev: SleepableDevice<Scope>, regs: IoMapping<Scope>): Promise<number> {
  return readPollTimeout(dev, () => regs.read32(dev, 4), (s) => s !== 0, { sleepNs: 1, timeoutNs: 10 });
}

let parked: BoundDevice<unknown> | undefined;

export const outer = defineDriver({
  name: "outer",
  ids: [{ vendor: 1, device: 1 }],
  probe<Outer>(devA: ProbeDevice<Outer>) {
    const regsA = iomap(devA, 0);
    // @expect-error TS2322 /Type 'ProbeDevice<Outer>' is not assignable to type 'BoundDevice<unknown>'/ -- parking the token for a config access after unbind
    parked = devA;
    const inner = defineDriver({
      name: "inner",
      ids: [{ vendor: 1, device: 2 }],
      async probe<Inner>(devB: ProbeDevice<Inner>) {
        // @expect-error TS2345 /Argument of type 'IoMapping<Outer>' is not assignable to parameter of type 'IoMapping<Inner>'/ -- polling A's registers with B's token
        await waitFor(devB, regsA);
        return {};
      },
    });
    void inner;
    return {};
  },
});

export const later = (): number => (parked === undefined ? 0 : pciReadConfigDword(parked, 0));
