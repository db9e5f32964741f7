// Run-time cases of issue 12's "Cost" (section 11): streaming DMA, sg
// tables, DMA pools, the checker on a streaming NIC, and the bounce and
// non-coherent modes. runtime.mjs runs each case in its own child, as it does
// its own; every figure is a same-run, interleaved comparison (lib.mjs).
//
// "Plain" is the default machine (passthrough IOMMU, coherent DMA) with the
// device's DMA mask at 64 bits, so nothing bounces; the checker is on
// ("report", the default) unless a row says otherwise.
import { interleave } from "./lib.mjs";
import { checkStreamNic, streamNicWorkload } from "./stream-nic.mjs";

const lib = await import(new URL("../../dist/index.js", import.meta.url).href);
const { allocCoherent, createDmaPool, defineDriver, DeviceModel, enableBusMaster, kmalloc, Machine, mapSg, mapSingle, setDmaMask } = lib;

const KiB = 1024;
const PORT = { vendor: 0x1234, device: 0x0012 };
/** Keeps the timed loops' results alive: exported, so nothing is optimised away. */
export let sink = 0;

/** A device whose model DMAs where the bench tells it to. */
class Port extends DeviceModel {
  constructor() {
    super({ ...PORT });
  }
  write(address, data) {
    return this.dmaWrite(address, data);
  }
}

/** The machine setups the cases compare. */
const MODES = {
  plain: { options: {}, maskBits: 64 },
  off: { options: { dmaDebug: "off" }, maskBits: 64 },
  strict: { options: { iommu: "strict" }, maskBits: 64 },
  bounce: { options: {}, maskBits: 32 },
  noncoherent: { options: { dmaCoherent: false }, maskBits: 64 },
};

/**
 * A machine in `mode` with one bound bus-mastering device; returns its token
 * (kept outside probe, which the types forbid; it stays live while bound),
 * its model and what `setup(dev)` made in probe.
 */
async function bind(mode, setup = () => ({})) {
  const { options, maskBits } = MODES[mode];
  const machine = new Machine(options);
  const model = new Port();
  let made;
  await machine.pci.register(
    defineDriver({
      name: "bench-stream",
      ids: [PORT],
      probe(dev) {
        setDmaMask(dev, maskBits);
        enableBusMaster(dev);
        made = { dev, ...setup(dev) };
        return {};
      },
    }),
  );
  machine.pci.plug(model);
  await machine.settled();
  if (made === undefined) throw new Error("bench: the device did not bind");
  return { machine, model, ...made };
}

/** Throws if the checker or the IOMMU saw anything: a bench of a misbehaving workload measures the wrong thing. */
function clean(...machines) {
  for (const machine of machines) {
    const kinds = machine.dmaDebug.violations.map((v) => v.kind);
    if (kinds.length > 0 || machine.iommu.faults.length > 0) throw new Error(`streaming bench: ${kinds.join(", ") || "no violations"}; ${machine.iommu.faults.length} IOMMU faults`);
  }
}

/** A batch of `n` calls of `op(i)`, for interleave: returns the op count. */
const batch = (n, op) => () => {
  for (let i = 0; i < n; i++) op(i);
  return n;
};

/**
 * One device and one kmalloc'd buffer of `size` bytes in `mode`, and two
 * cycles over it. `api`: map from-device, sync for the CPU, sync for the
 * device, unmap: the calls alone. `rx`: what a receive costs: map, the device
 * writes `size` bytes by bus address, sync for the CPU, read, unmap. Each rx
 * cycle writes a different last byte and checks the CPU read it, so a sync
 * that moved nothing would fail the bench.
 */
async function cycles(mode, size) {
  const { machine, model, dev } = await bind(mode);
  const buf = kmalloc(dev, size);
  const probe = mapSingle(dev, buf, "to-device");
  if (probe.bounced !== (mode === "bounce")) throw new Error(`bench: a ${mode} mapping ${probe.bounced ? "bounced" : "did not bounce"}`);
  probe.unmap(dev);
  const data = new Uint8Array(size).map((_, i) => i & 0xff);
  const api = () => {
    const rx = mapSingle(dev, buf, "from-device");
    rx.syncForCpu(dev).syncForDevice(dev).unmap(dev);
  };
  const rx = (i) => {
    const mapping = mapSingle(dev, buf, "from-device");
    data[size - 1] = i & 0xff;
    if (!model.write(mapping.dmaAddress, data)) throw new Error("bench: the device's write did not land");
    const cpu = mapping.syncForCpu(dev);
    const last = cpu.bytes(dev)[size - 1];
    if (last !== (i & 0xff)) throw new Error(`bench: ${mode}: the CPU read ${last} where the device wrote ${i & 0xff}`);
    sink += last;
    cpu.unmap(dev);
  };
  return { machine, api, rx };
}

/**
 * 8a. Map + sync + unmap of 1.5 KiB and 64 KiB against a plain copy of the
 * same bytes; 8e. the bounce and non-coherent modes against plain, on the
 * same receive cycle.
 */
export async function streamSingle(quick) {
  const rounds = quick ? 3 : 15;
  const sizes = { small: 1536, large: 64 * KiB };
  const out = { sizes };
  for (const [key, size] of Object.entries(sizes)) {
    // Batches of ~5-10 ms on this kind of box: cycles of tens of µs, copies of tens of ns to µs.
    const n = quick ? 10 : key === "small" ? 300 : 60;
    const copies = quick ? 100 : key === "small" ? 100_000 : 3000;
    const c = {};
    for (const mode of ["plain", "off", "bounce", "noncoherent"]) c[mode] = await cycles(mode, size);
    const plain = new Uint8Array(size);
    const data = new Uint8Array(size).map((_, i) => (i * 3) & 0xff);
    const copy = batch(copies, (i) => {
      data[0] = i;
      plain.set(data);
    });
    const result = {};
    result.api = await interleave({ rounds, baseline: copy, subject: batch(n, c.plain.api) });
    result.apiOff = await interleave({ rounds, baseline: copy, subject: batch(n, c.off.api) });
    result.rx = await interleave({ rounds, baseline: copy, subject: batch(n, c.plain.rx) });
    result.bounce = await interleave({ rounds, baseline: batch(n, c.plain.rx), subject: batch(n, c.bounce.rx) });
    result.noncoherent = await interleave({ rounds, baseline: batch(n, c.plain.rx), subject: batch(n, c.noncoherent.rx) });
    sink += plain[1];
    clean(...Object.values(c).map((x) => x.machine));
    out[key] = result;
  }
  return out;
}

/** 8b. A 64-entry sg map + unmap against 64 single map + unmap; 8c. DMA pool alloc/free against coherent alloc/free. */
export async function streamSgPool(quick) {
  const rounds = quick ? 3 : 15;
  const entries = 64;
  const entry = 1536;
  const n = quick ? 3 : 30;
  const sg = {};
  for (const mode of ["plain", "strict"]) {
    const { machine, dev } = await bind(mode);
    const buffers = Array.from({ length: entries }, () => kmalloc(dev, entry));
    const probe = mapSg(dev, buffers, "to-device");
    const segments = probe.segments.length;
    if (probe.entries !== entries) throw new Error(`bench: an sg table of ${entries} buffers has ${probe.entries} entries`);
    probe.unmap(dev);
    const result = await interleave({
      rounds,
      baseline: batch(n, () => {
        for (const buffer of buffers) mapSingle(dev, buffer, "to-device").unmap(dev);
      }),
      subject: batch(n, () => mapSg(dev, buffers, "to-device").unmap(dev)),
    });
    clean(machine);
    sg[mode] = { ...result, segments };
  }
  const blockSize = 64;
  const { machine, dev, pool } = await bind("plain", (dev) => ({ pool: createDmaPool(dev, "bench", blockSize, blockSize) }));
  const pairs = quick ? 50 : 2000;
  const poolResult = await interleave({
    rounds,
    baseline: batch(pairs, () => allocCoherent(dev, blockSize).free()),
    subject: batch(pairs, () => pool.alloc(dev).free()),
  });
  if (pool.inUse !== 0) throw new Error(`bench: ${pool.inUse} pool blocks still out`);
  clean(machine);
  return { entries, entry, sg, pool: { ...poolResult, blockSize } };
}

/**
 * 8d. The checker on against off for a streaming NIC workload; 8e. the
 * bounce and non-coherent modes against plain on the same workload, with the
 * checker on. Each run is checked: every frame sent and received intact.
 */
export async function streamNic(quick) {
  // Short batches, many rounds: each ratio pairs two runs close in time, so
  // load from other processes on a shared box falls on both sides alike.
  const sessions = 1;
  const packets = quick ? 64 : 512;
  const rounds = quick ? 3 : 31;
  const run = (settings, bounces = false) => async () => {
    checkStreamNic(await streamNicWorkload(lib, { ...settings, sessions, packets }), { sessions, packets, bounces });
    return sessions * packets;
  };
  const compare = (baseline, subject, bounces) => interleave({ rounds, baseline: run(baseline), subject: run(subject, bounces), warmup: quick ? 1 : 3 });
  return {
    sessions,
    packets,
    checker: await compare({ dmaDebug: "off" }, { dmaDebug: "report" }),
    checkerStrict: await compare({ dmaDebug: "off", iommu: "strict" }, { dmaDebug: "report", iommu: "strict" }),
    bounce: await compare({ dmaDebug: "report" }, { dmaDebug: "report", maskBits: 32 }, true),
    noncoherent: await compare({ dmaDebug: "report" }, { dmaDebug: "report", dmaCoherent: false }),
  };
}
