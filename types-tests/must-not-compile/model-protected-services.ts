// Blocks: driving a device model's hardware services (DMA, interrupts, timers,
// holds) from outside the model. They are protected: only the simulated
// device itself does DMA or raises its IRQ.
import { DeviceModel, Machine } from "boundscope";

class Nic extends DeviceModel {
  constructor() {
    super({ vendor: 0x8086, device: 0x100e, bars: [0x100] });
  }
  kick(): void {
    this.raiseIrq();
    this.dmaWrite(0x1000n, new Uint8Array(4));
  }
}

const nic = new Nic();
new Machine().pci.plug(nic);
nic.kick();
// @expect-error TS2445 /Property 'dmaRead' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- device DMA from outside the device
nic.dmaRead(0x1000n, 4);
// @expect-error TS2445 /Property 'dmaWrite' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- device DMA from outside the device
nic.dmaWrite(0x1000n, new Uint8Array(4));
// @expect-error TS2445 /Property 'raiseIrq' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- an interrupt raised from outside the device
nic.raiseIrq();
// @expect-error TS2445 /Property 'after' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- the device's timers
nic.after(1_000, () => {});
// @expect-error TS2445 /Property 'hold' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- what the device holds is the device's to say
nic.hold(0x1000n, 4096, "ring");
// @expect-error TS2445 /Property 'now' is protected and only accessible within class 'DeviceModel' and its subclasses/ -- the device's view of time
void nic.now;
