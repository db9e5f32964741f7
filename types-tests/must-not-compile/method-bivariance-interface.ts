// Blocks: going through a user interface whose method parameters TypeScript
// compares both ways (method bivariance, under every setting): an object
// whose `take` claims the core context implementing an interrupt-context
// interface, a sink of one scope passed off as another's, and a class whose
// method narrows the parameter to another scope implementing the interface.
import { setDmaMask } from "boundscope";
import type { BoundDevice, IrqDevice, ProbeDevice } from "boundscope";

interface TakesIrq<S> {
  take(dev: IrqDevice<S>): void;
}
interface Sink<S> {
  put(dev: BoundDevice<S>): void;
}

export function claimCore<S>(): TakesIrq<S> {
  // @expect-error TS2322 /Type '\(dev: ProbeDevice<S>\) => void' is not assignable to type '\(dev: IrqDevice<S>\) => void'/ -- a core-context method as an interrupt-context one
  return { take(dev: ProbeDevice<S>) { setDmaMask(dev, 32); } };
}

export function relabel<A, B>(sinkA: Sink<A>): Sink<B> {
  // @expect-error TS2322 /Type 'Sink<A>' is not assignable to type 'Sink<B>'/ -- a sink of A passed off as B's
  return sinkA;
}

export class WideSink<S> implements Sink<S> {
  // @expect-error TS2416 /Property 'put' in type 'WideSink<S>' is not assignable to the same property in base type 'Sink<S>'/ -- a method narrowed to scope "x"
  put(dev: BoundDevice<"x">): void {
    void dev;
  }
}
