import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { root } from "../lib/paths.mjs";

// A small ring NIC for the checker-cost bench: the driver posts transmit
// descriptors in coherent memory and rings a doorbell; the device DMAs each
// descriptor and its packet, writes the status back, and raises its IRQ on the
// virtual clock. A spawned task keeps the ring busy; remove() halts the
// engine before devres frees the memory, so a clean run reports nothing.

/** Registers of BAR 0. */
const CTRL = 0x00; // 1: engine on
const IRQ_STATUS = 0x04; // descriptors completed since the last ack
const IRQ_ACK = 0x08;
const RING_LO = 0x10;
const RING_HI = 0x14;
const RING_LEN = 0x18; // entries
const TAIL = 0x1c; // doorbell: the driver's next free slot
const HEAD = 0x20; // the device's next slot to process

const ENTRIES = 64;
const PACKET = 1536;
const BATCH = 16;
const DONE = 1;

export const RING_ID = { vendor: 0x8086, device: 0x10d3 };

/** Builds the model class and driver against one boundscope module (dist). */
export function ringNic(lib) {
  const { DeviceModel, allocCoherent, defineDriver, defineStruct, Devres, enableBusMaster, iomap, requestIrq, setDmaMask, spawn } = lib;
  const Desc = defineStruct({ addr: "u64", len: "u32", flags: "u16", status: "u16" });

  class RingModel extends DeviceModel {
    #ring = 0n;
    #len = 0;
    #head = 0;
    #tail = 0;
    #on = false;
    #pending = 0;
    #busy = false;
    checksum = 0;

    constructor() {
      super({ ...RING_ID, bars: [0x100] });
    }

    mmioRead(_bar, offset) {
      if (offset === IRQ_STATUS) return this.#pending;
      if (offset === HEAD) return this.#head;
      return 0;
    }

    mmioWrite(_bar, offset, _width, value) {
      switch (offset) {
        case CTRL:
          this.#on = value === 1;
          if (this.#on) this.hold(this.#ring, this.#len * Desc.size, "TX ring");
          else this.unhold(this.#ring);
          break;
        case IRQ_ACK:
          this.#pending -= value;
          break;
        case RING_LO:
          this.#ring = (this.#ring & ~0xffff_ffffn) | BigInt(value);
          break;
        case RING_HI:
          this.#ring = (this.#ring & 0xffff_ffffn) | (BigInt(value) << 32n);
          break;
        case RING_LEN:
          this.#len = value;
          break;
        case TAIL:
          this.#tail = value;
          this.#kick();
          break;
      }
    }

    #kick() {
      if (this.#busy || !this.#on) return;
      this.#busy = true;
      this.after(500, () => this.#process());
    }

    /** Processes every posted descriptor, then interrupts once. */
    #process() {
      this.#busy = false;
      if (!this.#on) return;
      let done = 0;
      while (this.#head !== this.#tail) {
        const at = this.#ring + BigInt(this.#head * Desc.size);
        const desc = new DataView(this.dmaRead(at, Desc.size).buffer);
        const { addr, len } = Desc.read(desc, 0);
        const packet = this.dmaRead(addr, len);
        this.checksum = (this.checksum + packet[0] + packet[len - 1]) | 0;
        Desc.set(desc, 0, "status", DONE);
        this.dmaWrite(at, new Uint8Array(desc.buffer));
        this.#head = (this.#head + 1) % this.#len;
        done++;
      }
      this.#pending += done;
      if (done > 0) this.raiseIrq();
    }
  }

  class RingNic {
    sent = 0;
    #completed = 0;
    #wake = undefined;

    constructor(dev, packets) {
      this.regs = iomap(dev, 0);
      this.ring = allocCoherent(dev, ENTRIES * Desc.size);
      this.buffers = Array.from({ length: ENTRIES }, () => allocCoherent(dev, PACKET));
      this.stats = Devres.new(dev, { irqs: 0 });
      this.tail = 0;
      requestIrq(dev, (dev) => this.interrupt(dev));
      this.regs.write32(dev, RING_LO, Number(this.ring.dmaHandle & 0xffff_ffffn));
      this.regs.write32(dev, RING_HI, Number(this.ring.dmaHandle >> 32n));
      this.regs.write32(dev, RING_LEN, ENTRIES);
      this.regs.write32(dev, CTRL, 1);
      spawn(dev, (dev, signal) => this.transmit(dev, signal, packets));
    }

    interrupt(dev) {
      const done = this.regs.read32(dev, IRQ_STATUS);
      this.stats.access(dev).irqs++;
      this.#completed += done;
      this.regs.write32(dev, IRQ_ACK, done);
      this.#wake?.();
    }

    /** Sends `packets` packets in batches, waiting for each batch's interrupt. */
    async transmit(dev, signal, packets) {
      while (this.sent < packets && !signal.aborted) {
        const view = this.ring.view(dev);
        const batch = Math.min(BATCH, packets - this.sent);
        for (let i = 0; i < batch; i++) {
          const slot = this.tail;
          const buffer = this.buffers[slot];
          const bytes = buffer.bytes(dev);
          bytes.fill((this.sent + i) & 0xff, 0, 64);
          Desc.write(view, slot, { addr: buffer.dmaHandle, len: 64 + ((this.sent + i) % (PACKET - 64)), flags: 1, status: 0 });
          this.tail = (slot + 1) % ENTRIES;
        }
        this.sent += batch;
        const target = this.sent;
        this.regs.write32(dev, TAIL, this.tail);
        while (this.#completed < target && !signal.aborted) {
          await Promise.race([new Promise((resolve) => (this.#wake = resolve)), signal.whenAborted]);
        }
      }
    }

    remove(dev) {
      // Halt the engine first: devres frees the ring right after this returns.
      this.regs.write32(dev, CTRL, 0);
    }
  }

  const driver = (packets) =>
    defineDriver({
      name: "bench-ring-nic",
      ids: [RING_ID],
      probe(dev) {
        setDmaMask(dev, 64);
        enableBusMaster(dev);
        return new RingNic(dev, packets);
      },
    });

  return { RingModel, driver };
}

/**
 * The workload: `sessions` times, plug a NIC, let it send `packets` packets
 * through the ring, and unplug it. Returns what the checker and the device saw.
 */
export async function ringWorkload(lib, { dmaDebug, iommu = "strict", sessions, packets }) {
  const { RingModel, driver } = ringNic(lib);
  const machine = new lib.Machine({ dmaDebug, iommu });
  await machine.pci.register(driver(packets));
  let checksum = 0;
  for (let s = 0; s < sessions; s++) {
    const model = new RingModel();
    const dev = machine.pci.plug(model);
    await machine.settled();
    if (dev.state !== "bound") throw new Error(`ring bench: the NIC did not bind (${dev.state})`);
    await machine.runUntilIdle();
    await machine.pci.unplug(dev);
    checksum += model.checksum;
  }
  return { violations: machine.dmaDebug.violations.length, faults: machine.iommu.faults.length, checksum, stats: machine.memory.stats() };
}

/**
 * Bundles examples/ring-nic.ts and its model by esbuild into `outdir`, with
 * "boundscope" pointing at dist/; returns the bundle's path, for
 * importRingNicExample (in this process or a child).
 */
export async function bundleRingNicExample(outdir) {
  const dist = pathToFileURL(join(root, "dist/index.js")).href;
  const outfile = join(outdir, "ring-nic-example.mjs");
  await build({
    stdin: {
      contents: 'export { ringNicDriver, startTraffic } from "./examples/ring-nic.ts"; export { RingNicModel } from "./examples/models/ring-nic-model.ts";',
      resolveDir: root,
      loader: "ts",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    external: ["boundscope"],
    outfile,
    logLevel: "silent",
  });
  // The example imports "boundscope" by name: point it at the very dist/
  // module the machine comes from, so both sides share one copy.
  writeFileSync(outfile, readFileSync(outfile, "utf8").replaceAll('from "boundscope"', `from ${JSON.stringify(dist)}`));
  return outfile;
}

/** The bundle's exports and the dist/ module it uses: `{ lib, ringNicDriver, startTraffic, RingNicModel }`. */
export async function importRingNicExample(bundle) {
  const lib = await import(pathToFileURL(join(root, "dist/index.js")).href);
  const { ringNicDriver, startTraffic, RingNicModel } = await import(pathToFileURL(bundle).href);
  return { lib, ringNicDriver, startTraffic, RingNicModel };
}

/**
 * The issue's own ring-nic workload: examples/ring-nic.ts and its model
 * (bundleRingNicExample). Each session plugs the NIC, runs traffic for
 * `trafficNs` of virtual time, and hot-unplugs it mid-traffic (the
 * example's clean path: remove() halts the engine first).
 */
export async function exampleRingWorkload(outdir) {
  const { lib, ringNicDriver, startTraffic, RingNicModel } = await importRingNicExample(await bundleRingNicExample(outdir));
  return async ({ dmaDebug, iommu = "strict", sessions, trafficNs }) => {
    const machine = new lib.Machine({ dmaDebug, iommu });
    await machine.pci.register(ringNicDriver());
    let frames = 0;
    for (let s = 0; s < sessions; s++) {
      const model = new RingNicModel(`0000:00:${String(s % 32).padStart(2, "0")}.0`);
      const dev = machine.pci.plug(model);
      await machine.settled();
      await startTraffic(machine, dev);
      await machine.run(trafficNs);
      frames += model.sent + model.received;
      await machine.pci.unplug(dev);
    }
    return { violations: machine.dmaDebug.violations.length, frames };
  };
}
