// Issue 13's subsystem-call cost: a packet sent through the network stack
// (socket.send → the stack's transmit queue → the netdev's registration →
// the driver's transmit op, in atomic context) against a direct call of the
// same op with the same token. The op does what a transmit does: copies the
// packet into a coherent TX buffer, writes a descriptor, rings a doorbell.
// runtime.mjs runs the case in its own child; the figure is a same-run,
// interleaved comparison (lib.mjs). Target: at most 3x.
import { interleave } from "./lib.mjs";

const lib = await import(new URL("../../dist/index.js", import.meta.url).href);
const { allocCoherent, defineDriver, DeviceModel, enableBusMaster, iomap, Machine, registerNetdev, setDmaMask } = lib;

const NIC = { vendor: 0x1234, device: 0x0013 };
const SLOTS = 64;
const SLOT = 2048;

/** A NIC whose doorbell does nothing: the bench times the driver side only. */
class QuietNic extends DeviceModel {
  constructor() {
    super({ ...NIC, bars: [0x100] });
  }
  mmioRead() {
    return 0;
  }
  mmioWrite() {}
}

/** A bound NIC, up, with a socket on it; and its transmit op and token, for the direct calls. */
async function setUp() {
  const machine = new Machine({ dmaDebug: "off" });
  let direct;
  await machine.pci.register(
    defineDriver({
      name: "bench-netdev",
      ids: [NIC],
      probe(dev) {
        setDmaMask(dev, 64);
        enableBusMaster(dev);
        const regs = iomap(dev, 0);
        const tx = allocCoherent(dev, SLOTS * SLOT);
        let tail = 0;
        const transmit = (dev, packet) => {
          tx.bytes(dev).set(packet, tail * SLOT);
          tx.view(dev).setUint32(tail * 16, packet.length, true);
          tail = (tail + 1) % SLOTS;
          regs.write32(dev, 0x10, tail);
          return "ok";
        };
        registerNetdev(dev, { transmit });
        direct = { transmit, token: dev };
        return {};
      },
    }),
  );
  machine.pci.plug(new QuietNic());
  await machine.settled();
  const iface = machine.net.interfaces[0];
  await iface.up();
  return { machine, iface, socket: machine.net.socket(iface.name), direct };
}

export async function subsysCall(quick) {
  const { iface, socket, direct } = await setUp();
  const packet = new Uint8Array(64).fill(0xab);
  const n = quick ? 1_000 : 200_000;
  const result = await interleave({
    rounds: quick ? 3 : 15,
    baseline: () => {
      const { transmit, token } = direct;
      for (let i = 0; i < n; i++) transmit(token, packet);
      return n;
    },
    subject: () => {
      for (let i = 0; i < n; i++) socket.send(packet);
      return n;
    },
  });
  if (iface.stats.txDropped !== 0 || iface.queued !== 0) throw new Error("subsys bench: the stack dropped or held packets");
  return { ...result, packets: iface.stats.txPackets };
}
