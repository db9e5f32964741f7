// Not refused: the CPU using a KernelBuffer while a device owns it: taking
// its bytes() or view() after mapSingle or a sync for the device, or freeing
// it. A buffer is unscoped CPU memory with no typestate of its own (the
// mapping's handle has one, the buffer it came from does not), so its
// members stay callable. Caught at run time: views handed out before the
// map are detached; a view taken while the device owns the buffer is the
// checker's cpu-access-device-owned (test/streaming.test.ts "a view taken
// before the map is detached; a new one is reported as
// cpu-access-device-owned"); free() of a mapped buffer is EBUSY.
import { kmalloc, mapSingle } from "boundscope";
import type { BoundDevice } from "boundscope";

export function early<Scope>(dev: BoundDevice<Scope>): void {
  const frame = kmalloc(dev, 60);
  const before = frame.bytes();
  const tx = mapSingle(dev, frame, "to-device");
  before[0] = 1; // detached: TypeError at run time
  frame.bytes()[0] = 1; // cpu-access-device-owned
  frame.view().setUint8(1, 1); // cpu-access-device-owned
  frame.free(); // EBUSY
  tx.unmap(dev);
  frame.free();
}
