// Correct subsystem drivers: ops generic in the scope, built in probe or in
// a class generic in Scope, each op using the token it is given; the
// handles kept in the driver's own state; unregister in remove().
import { allocCoherent, defineDriver, iomap, registerBlockDevice, registerNetdev, requestIrq, sleep } from "boundscope";
import type { AtomicDevice, BlockDevice, BlockRequest, DriverInstance, IoMapping, Netdev, NetdevOps, ProbeDevice, SleepableDevice } from "boundscope";

class Nic<Scope> implements DriverInstance<Scope> {
  netdev!: Netdev<Scope>;
  constructor(readonly regs: IoMapping<Scope>) {}
  ops(): NetdevOps<Scope> {
    return {
      open: (dev: SleepableDevice<Scope>) => this.regs.write32(dev, 0, 1),
      stop: async (dev) => {
        this.regs.write32(dev, 0, 0);
        await sleep(dev, 1_000);
      },
      transmit: (dev: AtomicDevice<Scope>, packet) => {
        this.regs.write32(dev, 0x10, packet.length);
        return packet.length > 0 ? "ok" : "busy";
      },
      poll: (dev, budget) => {
        const frame = new Uint8Array(60);
        if (budget > 0) this.netdev.receive(dev, frame);
        return 1;
      },
    };
  }
  async remove(): Promise<void> {
    await this.netdev.unregister();
  }
}

export const nic = defineDriver({
  name: "nic",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const driver = new Nic(iomap(dev, 0));
    driver.netdev = registerNetdev(dev, driver.ops(), { name: "wan%d", mtu: 9000 });
    requestIrq(dev, () => void driver.netdev.napiSchedule());
    return driver;
  },
});

export const disk = defineDriver({
  name: "disk",
  ids: [{ vendor: 0x1af4, device: 0x1001 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const buffer = allocCoherent(dev, 4096);
    const pending = new Map<number, BlockRequest<Scope>>();
    const handle: BlockDevice<Scope> = registerBlockDevice(
      dev,
      {
        submit: (dev, request) => {
          if (pending.size >= 4) return "busy";
          buffer.bytes(dev).set(request.data.subarray(0, 16));
          pending.set(request.tag, request);
        },
      },
      { sectors: 1024, queueDepth: 4 },
    );
    requestIrq(dev, (irq) => {
      for (const request of pending.values()) request.complete(irq, "ok");
      pending.clear();
    });
    return { remove: () => handle.unregister() };
  },
});

export async function user(): Promise<void> {
  const { Machine } = await import("boundscope");
  const machine = new Machine();
  for (const iface of machine.net.interfaces) await iface.up();
  const socket = machine.net.socket("eth0");
  socket.send(new Uint8Array(60));
  const frame: Uint8Array = await socket.recv();
  const data: Uint8Array = await machine.block.disk("disk0").read(0, 1);
  await machine.block.disk("disk0").write(0, data);
  void frame;
}
