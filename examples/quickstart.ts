import { allocCoherent, defineDriver, Devres, Machine, setDmaMask } from "boundscope";

const driver = defineDriver({
  name: "sample",
  ids: [{ vendor: 0x1234, device: 0x11e8 }],
  probe(dev) {                                  // dev: ProbeDevice<Scope>, a fresh scope per binding
    setDmaMask(dev, 64);                         // core-only: works in probe() and remove()
    const ring = allocCoherent(dev, 4096);      // zero-filled, device-managed
    ring.view(dev).setUint32(0, 0xc0ffee, true);
    const stats = Devres.new(dev, { packets: 0 }, (s) => console.log("released", s));
    return {
      remove(dev) {                             // stop the hardware here; devres frees after
        console.log(ring.view(dev).getUint32(0, true), stats.access(dev).packets);
      },
    };
  },
});

const machine = new Machine();
await machine.pci.register(driver);
const dev = machine.pci.plug({ vendor: 0x1234, device: 0x11e8 });
await machine.settled();                        // dev.state === "bound"
await machine.pci.unplug(dev);                  // remove(), devres release LIFO, "zombie"
