// Streaming DMA as a driver writes it: a receive buffer mapped from-device,
// synced for the CPU to read what the device wrote and handed back; a frame
// written by the CPU, mapped to-device and unmapped once sent; a command
// buffer mapped bidirectional, written through bytes() while the CPU owns it;
// and the kernel-style calls that take the address, with the direction it
// was mapped with. Each handle is annotated with the type its state has.
import { defineDriver, iomap, kmalloc, mapSingle, syncSingleForCpu, syncSingleForDevice, unmapSingle } from "boundscope";
import type {
  BoundDevice,
  CpuOwned,
  CpuOwnedBidirectional,
  CpuOwnedFromDevice,
  DeviceOwned,
  DeviceOwnedBidirectional,
  DeviceOwnedFromDevice,
  DeviceOwnedToDevice,
  DmaAddress,
  KernelBuffer,
  ProbeDevice,
  ReadonlyBytes,
  StreamingAddress,
} from "boundscope";

function receive<Scope>(dev: BoundDevice<Scope>, rx: DeviceOwnedFromDevice<Scope>, length: number): DeviceOwnedFromDevice<Scope> {
  const cpu: CpuOwnedFromDevice<Scope> = rx.syncForCpu(dev, 0, length);
  const packet: ReadonlyBytes = cpu.bytes(dev);
  const type = (packet[12]! << 8) | packet[13]!;
  const header: ReadonlyBytes = packet.subarray(0, 14);
  const copy: Uint8Array = packet.slice(14);
  copy[0] = 0;
  let sum = 0;
  for (const byte of packet) sum = (sum + byte) & 0xff;
  const summary = `${type} ${header.length} ${sum} ${cpu.size} ${cpu.direction} ${cpu.owner} ${cpu.state} ${cpu.bounced}`;
  void summary;
  return cpu.syncForDevice(dev, 0, length);
}

function transmit<Scope>(dev: BoundDevice<Scope>, payload: Uint8Array): StreamingAddress<Scope, "to-device"> {
  const frame: KernelBuffer<"kmalloc"> = kmalloc(dev, payload.length);
  frame.bytes().set(payload);
  frame.view().setUint16(12, 0x0800, false);
  const tx: DeviceOwnedToDevice<Scope> = mapSingle(dev, frame, "to-device");
  const sameType: DeviceOwned<Scope, "to-device"> = tx;
  return sameType.dmaAddress;
}

function command<Scope>(dev: BoundDevice<Scope>): void {
  const buffer = kmalloc(dev, 64);
  const cmd: DeviceOwnedBidirectional<Scope> = mapSingle(dev, buffer, "bidirectional");
  const cpu: CpuOwnedBidirectional<Scope> = cmd.syncForCpu(dev);
  const bytes: Uint8Array = cpu.bytes(dev);
  bytes[0] = 0x01;
  bytes.set([1, 2, 3], 4);
  bytes.fill(0, 8);
  bytes.subarray(16).fill(0xff);
  const again: CpuOwned<Scope, "bidirectional"> = cpu.syncForDevice(dev).syncForCpu(dev);
  again.unmap(dev);
  buffer.free();
}

function kernelStyle<Scope>(dev: BoundDevice<Scope>, rxBuffer: KernelBuffer<"kmalloc">): void {
  const rx: StreamingAddress<Scope, "from-device"> = mapSingle(dev, rxBuffer, "from-device", 0, 1536).dmaAddress;
  syncSingleForCpu(dev, rx, 60, "from-device");
  const first: number = rxBuffer.bytes()[0]!;
  syncSingleForDevice(dev, rx, 1536, "from-device");
  syncSingleForCpu(dev, rx, 64, "from-device", 64);
  unmapSingle(dev, rx, 1536, "from-device");
  const cmd = mapSingle(dev, kmalloc(dev, 64), "bidirectional").dmaAddress;
  syncSingleForCpu(dev, cmd, 64, "bidirectional");
  syncSingleForDevice(dev, cmd, 64, "bidirectional");
  unmapSingle(dev, cmd, 64, "bidirectional");
  const tx = mapSingle(dev, kmalloc(dev, 60), "to-device");
  syncSingleForDevice(dev, tx.dmaAddress, 60, "to-device");
  unmapSingle(dev, tx.dmaAddress, tx.size, tx.direction);
  const plain: DmaAddress<Scope, "single"> = tx.dmaAddress;
  void [first, plain];
}

export const nic = defineDriver({
  name: "streaming-nic",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe<Scope>(dev: ProbeDevice<Scope>) {
    const regs = iomap(dev, 0);
    const rxBuffer = kmalloc(dev, 1536);
    let rx: DeviceOwnedFromDevice<Scope> = mapSingle(dev, rxBuffer, "from-device");
    regs.write64(dev, 0x10, rx.dmaAddress);
    rx = receive(dev, rx, 60);
    const txAddress = transmit(dev, new Uint8Array(60));
    regs.write64(dev, 0x18, txAddress);
    unmapSingle(dev, txAddress, 60, "to-device");
    command(dev);
    kernelStyle(dev, kmalloc(dev, 1536));
    return {
      remove(dev: ProbeDevice<Scope>) {
        rx.unmap(dev);
        rxBuffer.free();
      },
    };
  },
});
