// Blocks: an interrupt handler part claiming a context it does not run in.
// A hard handler (requestIrq, vectors.request) runs in atomic context with
// an IrqDevice: one that claims TaskDevice or ProbeDevice does not compile,
// and neither does sleep() in it. A thread part runs with a TaskDevice: one
// that claims IrqDevice does not compile. Vectors of one binding are not
// vectors of another: the scope brand is invariant. (A null hard handler
// with no thread part compiles, and is EINVAL at run time.)
import { allocIrqVectors, defineDriver, requestIrq, sleep } from "boundscope";
import type { IrqDevice, IrqVectors, ProbeDevice, TaskDevice } from "boundscope";

export function rescope<A, B>(vectors: IrqVectors<A>): IrqVectors<B> {
  // @expect-error TS2322 /Type 'IrqVectors<A>' is not assignable to type 'IrqVectors<B>'/ -- vectors moved to another binding's scope
  return vectors;
}

export const wrong = defineDriver({
  name: "irq-contexts",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    // @expect-error TS2345 /Type 'IrqDevice<Scope>' is missing the following properties from type 'TaskDevice<Scope>': \[taskContextNotCore\]|Argument of type '\(task: TaskDevice<Scope>\) => undefined' is not assignable to parameter of type 'IrqHandler<Scope>'/ -- a hard handler claiming a task's token
    requestIrq(dev, (task: TaskDevice<Scope>) => void task);
    const vectors = allocIrqVectors(dev, 1, 2);
    // @expect-error TS2345 /Type 'IrqDevice<Scope>' is missing the following properties from type 'ProbeDevice<Scope>': \[coreContextOnlyInProbeOrRemove\]|Argument of type '\(core: ProbeDevice<Scope>\) => undefined' is not assignable to parameter of type 'IrqHandler<Scope>'/ -- a vector's hard handler claiming the core context
    vectors.request(0, (core: ProbeDevice<Scope>) => void core);
    // @expect-error TS2322 /Type '\(irq: IrqDevice<Scope>\) => undefined' is not assignable to type 'IrqThread<Scope>'/ -- a thread part claiming the hard handler's token
    requestIrq(dev, () => "wake-thread", { thread: (irq: IrqDevice<Scope>) => void irq });
    // @expect-error TS2322 /Type '\(irq: IrqDevice<Scope>\) => Promise<undefined>' is not assignable to type 'IrqThread<Scope>'/ -- a vector's thread part claiming the hard handler's token
    vectors.request(1, () => "wake-thread", { thread: async (irq: IrqDevice<Scope>) => void irq });
    // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'IrqDevice<Scope>'/ -- sleep() in a vector's hard handler
    vectors.request(1, (irq) => void sleep(irq, 1_000));
    return {};
  },
});
