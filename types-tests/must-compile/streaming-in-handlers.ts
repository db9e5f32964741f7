// Kernel memory and streaming DMA outside the core context: an interrupt
// handler allocates with kmalloc(…, "atomic") (GFP_ATOMIC), maps and unmaps, syncs a
// receive buffer for the CPU, and allocates a pool block; a task does the
// same, kernel-style, with a vmalloc buffer as an sg table. Only set-up
// (limits, pools) is core-only: dma-limits-core-only.ts.
import { createDmaPool, defineDriver, kmalloc, mapSg, mapSingle, requestIrq, spawn, syncSingleForCpu, syncSingleForDevice, unmapSg, unmapSingle, vmalloc } from "boundscope";
import type { BoundDevice, DeviceOwnedFromDevice, IrqDevice, ProbeDevice, TaskDevice } from "boundscope";

function refill<Scope>(dev: BoundDevice<Scope>): DeviceOwnedFromDevice<Scope> {
  return mapSingle(dev, kmalloc(dev, 2048, "atomic"), "from-device");
}

export const handlers = defineDriver({
  name: "streaming-handlers",
  ids: [{ vendor: 0x8086, device: 0x10d3 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const descriptors = createDmaPool(dev, "desc", 16, 16);
    let rx = refill(dev);
    requestIrq(dev, (irq: IrqDevice<Scope>) => {
      const cpu = rx.syncForCpu(irq, 0, 64);
      const length = cpu.bytes(irq)[0]!;
      cpu.unmap(irq);
      cpu.buffer.free();
      rx = refill(irq);
      const reply = kmalloc(irq, 64, "atomic");
      reply.bytes()[0] = length;
      mapSingle(irq, reply, "to-device").unmap(irq);
      reply.free();
      descriptors.alloc(irq, "atomic").free();
    });
    spawn(dev, async (task: TaskDevice<Scope>) => {
      const status = mapSingle(task, kmalloc(task, 64), "from-device");
      syncSingleForCpu(task, status.dmaAddress, 64, "from-device");
      syncSingleForDevice(task, status.dmaAddress, 64, "from-device");
      unmapSingle(task, status.dmaAddress, 64, "from-device");
      const log = mapSg(task, vmalloc(task, 3 * 4096), "from-device");
      unmapSg(task, log, log.entries, "from-device");
      descriptors.alloc(task).free();
    });
    return {};
  },
});
