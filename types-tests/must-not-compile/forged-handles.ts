// Blocks: an object literal posing as a handle the core makes: an allocation
// whose bytes() is any CPU buffer, an MMIO mapping whose reads the driver
// invents, an IRQ handle or a task that stands for nothing, and a Devres with
// no binding. Each has every public member of the real one, but not its brand
// (or, for Devres, its private state), which user code cannot write.
import { Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation, DmaAddress, IoMapping, IrqHandle, Task } from "boundscope";

declare const dmaHandle: DmaAddress<"fake">;

const fakeAllocation = {
  size: 64,
  dmaHandle,
  freed: false,
  bytes: () => new Uint8Array(64),
  view: () => new DataView(new ArrayBuffer(64)),
  free() {},
  [Symbol.dispose]() {},
};
const fakeMapping = {
  bar: 0,
  size: 4096,
  read8: () => 0,
  read16: () => 0,
  read32: () => 0,
  read64: () => 0n,
  write8() {},
  write16() {},
  write32() {},
  write64() {},
  unmap() {},
  [Symbol.dispose]() {},
};
const fakeIrq = {
  irq: 32,
  count: 0,
  freed: false,
  disable() {},
  enable() {},
  synchronize: async () => {},
  free: async () => {},
  [Symbol.dispose]() {},
  [Symbol.asyncDispose]: async () => {},
};
const fakeTask = { done: Promise.resolve(), cancel() {}, stop: async () => {} };
const fakeDevres = { access: () => 1, tryAccess: () => 1, tryAccessWith: async () => 1, revoked: false, release: async () => {}, [Symbol.asyncDispose]: async () => {} };

// A driver's own helpers, generic in the binding's scope.
function fillRing<Scope>(dev: BoundDevice<Scope>, ring: CoherentAllocation<Scope>): void {
  ring.bytes(dev).fill(0);
}
function resetDevice<Scope>(dev: BoundDevice<Scope>, regs: IoMapping<Scope>): void {
  regs.write32(dev, 0, 1);
}
function quiesce<Scope>(irq: IrqHandle<Scope>, task: Task<Scope>): void {
  irq.free();
  task.cancel();
}
function count<Scope>(dev: BoundDevice<Scope>, stats: Devres<Scope, number>): number {
  return stats.access(dev);
}

export function misuse<Scope>(dev: BoundDevice<Scope>, irq: IrqHandle<Scope>, task: Task<Scope>): void {
  // @expect-error TS2345 ts7=TS2741 /Property '\[memoryOfOneBindingOnly\]' is missing in type/ -- a look-alike allocation
  fillRing(dev, fakeAllocation);
  // @expect-error TS2345 ts7=TS2741 /Property '\[mappingOfOneBindingOnly\]' is missing in type/ -- a look-alike MMIO mapping
  resetDevice(dev, fakeMapping);
  // @expect-error TS2345 ts7=TS2741 /Property '\[irqOfOneBindingOnly\]' is missing in type/ -- a look-alike IRQ handle
  quiesce(fakeIrq, task);
  // @expect-error TS2345 ts7=TS2741 /Property '\[taskOfOneBindingOnly\]' is missing in type/ -- a look-alike task
  quiesce(irq, fakeTask);
  // @expect-error TS2345 ts7=TS2739 /missing the following properties from type 'Devres<Scope, number>': .*#(private|binding)/ -- a look-alike Devres
  count(dev, fakeDevres);
}
