// Not refused: an interrupt handler's token stored where the core context is
// expected, through a covariant mutable container of the same binding: an
// array of ProbeDevice<S> viewed as an array of BoundDevice<S> takes an
// IrqDevice<S> by push, and an object `{ dev: ProbeDevice<S> }` viewed as
// `{ dev: BoundDevice<S> }` takes one by assignment; read back from the
// narrower view, the interrupt-context token passes for the core context and
// setDmaMask compiles in the handler. TypeScript checks arrays and mutable
// properties covariantly although writes make them unsound, and no library
// type can change that: the brands keep the contexts unrelated, but
// ProbeDevice<S> is a subtype of BoundDevice<S> and so is IrqDevice<S>, and
// the container's covariance carries one into the other's place. Refusing
// it would take tokens that are not subtypes of BoundDevice, and every
// helper would need a parameter per context. Same binding only: the scope
// stays invariant. Caught at run time by the core-context check: a
// core-only operation outside probe() or remove() throws EPERM
// (Binding.requireCore in src/driver/binding.ts; see test/irq.test.ts).
import { defineDriver, requestIrq, setDmaMask } from "boundscope";
import type { BoundDevice, ProbeDevice } from "boundscope";

export const confused = defineDriver({
  name: "confused",
  ids: [{ vendor: 1, device: 1 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const cores: ProbeDevice<Scope>[] = [dev];
    const tokens: BoundDevice<Scope>[] = cores;
    const box: { dev: ProbeDevice<Scope> } = { dev };
    const wideBox: { dev: BoundDevice<Scope> } = box;
    requestIrq(dev, (irq) => {
      tokens.push(irq);
      wideBox.dev = irq;
      setDmaMask(cores[cores.length - 1]!, 32); // EPERM at run time: not in probe() or remove()
      setDmaMask(box.dev, 32); // EPERM at run time
    });
    return {};
  },
});
