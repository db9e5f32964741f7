// Blocks: an interrupt handler that reaches another binding's allocation or
// MMIO with its own token, or its own binding's with the other's token; a
// handler written for one scope, requested in another; and an IRQ handle
// passed off as another scope's.
import { defineDriver, iomap, requestIrq } from "boundscope";
import type { BoundDevice, CoherentAllocation, IoMapping, IrqHandle, IrqHandler, ProbeDevice } from "boundscope";

export function crossed<A, B>(devA: BoundDevice<A>, bufA: CoherentAllocation<A>, regsA: IoMapping<A>, devB: ProbeDevice<B>, bufB: CoherentAllocation<B>): void {
  requestIrq(devB, (dev) => {
    bufB.bytes(dev);
    // @expect-error TS2345 /Argument of type 'IrqDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's allocation with the handler's own token
    bufA.bytes(dev);
    // @expect-error TS2345 /Argument of type 'IrqDevice<B>' is not assignable to parameter of type 'BoundDevice<A>'/ -- A's registers with the handler's own token
    regsA.read32(dev, 0);
    // @expect-error TS2345 /Argument of type 'BoundDevice<A>' is not assignable to parameter of type 'BoundDevice<B>'/ -- the handler's own allocation with A's token
    bufB.view(devA);
  });
  const handlerA: IrqHandler<A> = (dev) => void bufA.bytes(dev);
  // @expect-error TS2345 /Argument of type 'IrqHandler<A>' is not assignable to parameter of type 'IrqHandler<B>'/ -- A's handler requested on B
  requestIrq(devB, handlerA);
}

export function relabel<A, B>(dev: ProbeDevice<A>): IrqHandle<B> {
  // @expect-error TS2322 /Type 'IrqHandle<A>' is not assignable to type 'IrqHandle<B>'/ -- an IRQ requested in A, passed off as B's
  return requestIrq(dev, () => {});
}

export const outer = defineDriver({
  name: "outer",
  ids: [{ vendor: 1, device: 1 }],
  probe<Outer>(devA: ProbeDevice<Outer>) {
    const regsA = iomap(devA, 0);
    const inner = defineDriver({
      name: "inner",
      ids: [{ vendor: 1, device: 2 }],
      probe<Inner>(devB: ProbeDevice<Inner>) {
        // @expect-error TS2345 /Argument of type 'IrqDevice<Inner>' is not assignable to parameter of type 'BoundDevice<Outer>'/ -- inner's handler writing outer's registers
        requestIrq(devB, (dev) => regsA.write32(dev, 0, 1));
        return {};
      },
    });
    void inner;
    return {};
  },
});
