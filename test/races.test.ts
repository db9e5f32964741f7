/**
 * Races: two things asked of one device, binding or resource at once. Each
 * test fixes the interleaving by hand, with deferred promises or with events
 * on the virtual clock, so every run takes the same path; each checks the
 * order things happened in, that every resource was released exactly once,
 * last in first out, and that nothing leaked or was blamed wrongly.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, enableBusMaster, iomap, Machine, requestIrq, Revocable, sleep, spawn } from "../src/index.js";
import type { Driver, IoMapping, IrqHandle, MmioWidth, ProbeDevice, Task } from "../src/index.js";
import { deferred, expectCode, expectReject, OpenModel, released, smuggle, tick, transitions } from "./helpers.js";
import type { Smuggled } from "./helpers.js";

type Token = ProbeDevice<Smuggled>;

/** Registers of {@link Engine}. */
const CTRL = 0x0;
const STATUS = 0x4;
const DOORBELL = 0x8;
const ALL_ONES = 0xffff_ffff;

/**
 * A device with an engine: STATUS reads 1 while it runs; writing 0 to CTRL
 * stops it 5 µs later; a write to DOORBELL raises the IRQ at once; with
 * `ticking` set it raises the IRQ every microsecond.
 */
class Engine extends OpenModel {
  running = true;

  constructor(readonly ticking = false) {
    super({ bars: [16] });
  }

  start(): void {
    if (this.ticking) this.later(1_000, () => (this.interrupt(), this.start()));
  }

  override busMasterChanged(enabled: boolean): void {
    if (enabled) this.start();
  }

  override mmioRead(_bar: number, offset: number): number {
    return offset === STATUS && this.running ? 1 : 0;
  }

  override mmioWrite(_bar: number, offset: number, _width: MmioWidth, value: number | bigint): void {
    if (offset === CTRL && value === 0) this.later(5_000, () => (this.running = false));
    if (offset === DOORBELL) this.interrupt();
  }
}

const idOf = (model: OpenModel) => ({ vendor: model.vendor, device: model.device });

/** Ticks enough for every queued continuation to run, without settling anything the test holds back. */
async function drain(): Promise<void> {
  for (let i = 0; i < 10; i++) await tick();
}

/** A machine left clean: nothing allocated, nothing reported, no callback failed. */
function expectClean(machine: Machine): void {
  expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
  expect(machine.dmaDebug.violations).toEqual([]);
  // Chosen by kind; the detail is there to read in the diff.
  expect(machine.events.filter((e) => e.kind.endsWith("-failed")).map((e) => `${e.kind}: ${e.detail}`)).toEqual([]);
}

/** What `released` (helpers.ts) names each resource. */
const coherent = (bytes: number) => `coherent ${bytes} bytes`;
const devres = "devres";
const MMIO = "mmio BAR 0";
const IRQ = "irq";
const BUS_MASTER = "bus-master";

describe("unplug during an async probe", () => {
  it("the hardware goes at once; the probe finishes with its token live, then remove() runs and everything goes last in first out", async () => {
    const machine = new Machine();
    const model = new Engine();
    const gate = deferred();
    const log: string[] = [];
    let token: Token | undefined;
    await machine.pci.register(
      defineDriver({
        name: "slow-probe",
        ids: [idOf(model)],
        async probe(dev) {
          enableBusMaster(dev);
          const regs = iomap(dev, 0);
          const ring = allocCoherent(dev, 4096);
          requestIrq(dev, () => void log.push("irq"));
          Devres.new(dev, "state", () => void log.push("devres released"));
          log.push(`status ${regs.read32(dev, STATUS)}`);
          await gate.promise;
          // The device is gone, the binding is not: the token still works,
          // and the registers read all-ones, as on a real bus.
          log.push(`status ${regs.read32(dev, STATUS).toString(16)}`);
          ring.bytes(dev)[0] = 1;
          const late = allocCoherent(dev, 64);
          token = smuggle(dev);
          return {
            remove(dev) {
              log.push(`remove, ${dev.state}, late buffer ${late.bytes(dev).length} bytes`);
            },
          };
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await tick();
    expect(dev.state).toBe("probing");
    let unplugged = false;
    const unplugging = machine.pci.unplug(dev).then(() => (unplugged = true));
    await drain();
    expect(unplugged).toBe(false);
    expect(dev.state).toBe("probing");
    expect(model.attached).toBe(false);
    model.interrupt();
    gate.resolve();
    await unplugging;
    expect(log).toEqual(["status 1", "status ffffffff", "remove, unbinding, late buffer 64 bytes", "devres released"]);
    expect(released(machine, dev)).toEqual([coherent(64), devres, IRQ, coherent(4096), MMIO, BUS_MASTER]);
    expect(transitions(machine, dev)).toEqual(["no-driver -> probing", "probing -> bound", "bound -> unbinding", "unbinding -> zombie"]);
    expectClean(machine);
    expectCode(() => allocCoherent(token!, 64), "ENXIO");
  });

  it("an unplug asked from an event listener the moment the probe starts waits for that probe", async () => {
    const machine = new Machine();
    const model = new Engine();
    const log: string[] = [];
    let unplugging: Promise<void> | undefined;
    machine.subscribe((e) => {
      if (e.kind === "probe-start" && unplugging === undefined) unplugging = machine.pci.unplug(dev);
    });
    await machine.pci.register(
      defineDriver({
        name: "probe",
        ids: [idOf(model)],
        async probe(dev) {
          const regs = iomap(dev, 0);
          allocCoherent(dev, 4096);
          await tick();
          log.push(`probe sees status ${regs.read32(dev, STATUS).toString(16)}`);
          return { remove: () => void log.push("remove") };
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    await unplugging;
    expect(log).toEqual(["probe sees status ffffffff", "remove"]);
    expect(dev.state).toBe("zombie");
    expect(released(machine, dev)).toEqual([coherent(4096), MMIO]);
    expectClean(machine);
  });
});

describe("unplug during an async remove", () => {
  it("remove() polling the engine sees the hardware vanish mid-poll and ends; then no-driver, then zombie; released once", async () => {
    const machine = new Machine();
    const model = new Engine();
    const polls: string[] = [];
    let removes = 0;
    await machine.pci.register(
      defineDriver({
        name: "poller",
        ids: [idOf(model)],
        probe(dev) {
          enableBusMaster(dev);
          const regs = iomap(dev, 0);
          allocCoherent(dev, 4096);
          Devres.new(dev, 0);
          return {
            async remove(dev) {
              removes++;
              regs.write32(dev, CTRL, 0);
              for (;;) {
                const status = regs.read32(dev, STATUS);
                polls.push(`${machine.clock.now}: ${status.toString(16)}`);
                if (status === 0 || status === ALL_ONES) return;
                await sleep(dev, 1_000);
              }
            },
          };
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    // The unplug arrives at 2.5 µs of virtual time, while remove() sleeps.
    let unplugging: Promise<void> | undefined;
    machine.clock.after(2_500, () => (unplugging = machine.pci.unplug(dev)));
    await machine.pci.unbind(dev);
    await unplugging;
    expect(polls).toEqual(["0: 1", "1000: 1", "2000: 1", "3000: ffffffff"]);
    expect(removes).toBe(1);
    expect(transitions(machine, dev).slice(-3)).toEqual(["bound -> unbinding", "unbinding -> no-driver", "no-driver -> zombie"]);
    expect(released(machine, dev)).toEqual([devres, coherent(4096), MMIO, BUS_MASTER]);
    expectClean(machine);
  });
});

describe("unplug during a spawned task", () => {
  it("the task's registers read all-ones at once; its token and memory stay live until remove() returns; it is aborted and awaited before the memory goes", async () => {
    const machine = new Machine();
    const model = new Engine(true);
    const log: string[] = [];
    let task!: Task<Smuggled>;
    let ring: Uint8Array | undefined;
    await machine.pci.register(
      defineDriver({
        name: "worker",
        ids: [idOf(model)],
        probe(dev) {
          enableBusMaster(dev);
          const regs = iomap(dev, 0);
          const buf = allocCoherent(dev, 4096);
          let wake: (() => void) | undefined;
          requestIrq(dev, () => wake?.());
          Devres.new(dev, 0, () => void log.push("devres released"));
          task = smuggle(
            spawn(dev, async (dev, signal) => {
              for (let step = 1; !signal.aborted; step++) {
                buf.bytes(dev)[step] = step;
                log.push(`step ${step} at ${machine.clock.now}: status ${regs.read32(dev, STATUS)}`);
                await Promise.race([new Promise<void>((resolve) => (wake = resolve)), signal.whenAborted]);
              }
              // Winding down after the abort: the memory is still there, the device is not.
              ring = buf.bytes(dev);
              ring[0] = 0xaa;
              log.push(`task ends: status ${regs.read32(dev, STATUS).toString(16)}, device ${dev.state}`);
            }),
          );
          return { remove: () => void log.push("remove") };
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    let unplugging: Promise<void> | undefined;
    machine.clock.after(2_500, () => (unplugging = machine.pci.unplug(dev)));
    await machine.run(5_000);
    await unplugging;
    await expect(task.done).resolves.toBeUndefined();
    expect(log).toEqual([
      "step 1 at 0: status 1",
      "step 2 at 1000: status 1",
      "step 3 at 2000: status 1",
      "remove",
      "task ends: status ffffffff, device unbinding",
      "devres released",
    ]);
    // The memory the task wrote last is freed now: its view is detached.
    expect(ring?.length).toBe(0);
    expect(dev.state).toBe("zombie");
    expectClean(machine);
  });
});

describe("unbind and unplug at once", () => {
  /** A bound engine whose remove() logs what it sees; `seen` gets each remove's view. */
  async function engine(machine: Machine, seen: string[]) {
    const model = new Engine();
    await machine.pci.register(
      defineDriver({
        name: "engine",
        ids: [idOf(model)],
        probe(dev) {
          enableBusMaster(dev);
          const regs = iomap(dev, 0);
          allocCoherent(dev, 4096);
          requestIrq(dev, () => {});
          Devres.new(dev, 0);
          return { remove: (dev) => void seen.push(`remove: status ${regs.read32(dev, STATUS).toString(16)}`) };
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    return dev;
  }

  it("unbind, then unplug, in one tick: one remove(), which already sees the hardware gone; then no-driver, then zombie", async () => {
    const machine = new Machine();
    const seen: string[] = [];
    const dev = await engine(machine, seen);
    const finished: string[] = [];
    await Promise.all([machine.pci.unbind(dev).then(() => finished.push("unbind")), machine.pci.unplug(dev).then(() => finished.push("unplug"))]);
    expect(seen).toEqual(["remove: status ffffffff"]);
    expect(finished).toEqual(["unbind", "unplug"]);
    expect(transitions(machine, dev).slice(-3)).toEqual(["bound -> unbinding", "unbinding -> no-driver", "no-driver -> zombie"]);
    expect(released(machine, dev)).toEqual([devres, IRQ, coherent(4096), MMIO, BUS_MASTER]);
    expectClean(machine);
  });

  it("unplug, then unbind, in one tick: the unbind is EINVAL and the unplug removes once", async () => {
    const machine = new Machine();
    const seen: string[] = [];
    const dev = await engine(machine, seen);
    const unplugging = machine.pci.unplug(dev);
    await expectReject(machine.pci.unbind(dev), "EINVAL");
    await unplugging;
    expect(seen).toEqual(["remove: status ffffffff"]);
    expect(transitions(machine, dev).slice(-2)).toEqual(["bound -> unbinding", "unbinding -> zombie"]);
    expect(released(machine, dev)).toHaveLength(5);
    expectClean(machine);
  });

  it("unbind, unplug and unbind again, in one tick: one remove(); the second unbind is EINVAL", async () => {
    const machine = new Machine();
    const seen: string[] = [];
    const dev = await engine(machine, seen);
    const results = await Promise.allSettled([machine.pci.unbind(dev), machine.pci.unplug(dev), machine.pci.unbind(dev)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected"]);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: "EINVAL" });
    expect(seen).toHaveLength(1);
    expect(dev.state).toBe("zombie");
    expect(released(machine, dev)).toHaveLength(5);
    expectClean(machine);
  });
});

describe("two revokers of one value", () => {
  /** A bound device and its smuggled token. */
  async function bound(machine: Machine) {
    const model = new Engine();
    let token: Token | undefined;
    await machine.pci.register(defineDriver({ name: "holder", ids: [idOf(model)], probe: (dev) => ((token = smuggle(dev)), {}) }));
    const dev = machine.pci.plug(model);
    await machine.settled();
    return { dev, token: token! };
  }

  it("the loser of two revokes resolves false only after the winner's release has freed the memory", async () => {
    const machine = new Machine();
    const { token } = await bound(machine);
    const buf = allocCoherent(token, 4096);
    const gate = deferred();
    let releases = 0;
    const value = new Revocable(buf, async (held) => {
      releases++;
      await gate.promise;
      held.free();
    });
    const seen: string[] = [];
    const report = (who: string) => (won: boolean) => void seen.push(`${who} ${won}: freed ${buf.freed}, ${machine.memory.stats().allocations} allocations`);
    const first = value.revoke().then(report("first"));
    const second = value.revoke().then(report("second"));
    await drain();
    expect(seen).toEqual([]);
    expect(value.tryAccess()).toBeUndefined();
    gate.resolve();
    await Promise.all([first, second]);
    expect(seen.sort()).toEqual(["first true: freed true, 0 allocations", "second false: freed true, 0 allocations"]);
    expect(releases).toBe(1);
  });

  it("a devres entry released early twice and by an unbind, all at once: one release, and every caller returns after it", async () => {
    const machine = new Machine();
    const { dev, token } = await bound(machine);
    const below = Devres.new(token, "below");
    const buf = allocCoherent(token, 4096);
    const gate = deferred();
    let releases = 0;
    const entry = Devres.new(token, buf, async (held) => {
      releases++;
      await gate.promise;
      held.free();
    });
    const above = Devres.new(token, "above");
    const seen: string[] = [];
    const report = (who: string) => () => void seen.push(`${who}: freed ${buf.freed}, above ${above.revoked}, below ${below.revoked}`);
    const callers = [entry.release().then(report("release 1")), entry.release().then(report("release 2")), machine.pci.unbind(dev).then(report("unbind"))];
    await drain();
    expect(seen).toEqual([]);
    gate.resolve();
    await Promise.all(callers);
    expect(releases).toBe(1);
    // The early releases return once the memory is freed; the unbind, once everything is.
    expect(seen).toEqual([
      expect.stringMatching(/^release [12]: freed true/),
      expect.stringMatching(/^release [12]: freed true/),
      "unbind: freed true, above true, below true",
    ]);
    expectClean(machine);
  });
});

describe("an IRQ raised while the handler is being freed", () => {
  /** A bound engine whose probe runs `setup` with its model, the MMIO mapping and a 4 KiB buffer. */
  async function irqDevice(machine: Machine, setup: (dev: Token, model: Engine, regs: IoMapping<Smuggled>) => void) {
    const model = new Engine();
    await machine.pci.register(
      defineDriver({
        name: "irq",
        ids: [idOf(model)],
        probe(dev) {
          setup(smuggle(dev), model, smuggle(iomap(dev, 0)));
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    return { dev, model };
  }

  it("raised from a devres release while the IRQ is still requested: no handler touches anything the walk is freeing", async () => {
    const machine = new Machine();
    const outcomes: string[] = [];
    let calls = 0;
    const { dev } = await irqDevice(machine, (dev, model) => {
      const buf = allocCoherent(dev, 4096);
      requestIrq(dev, (dev) => {
        calls++;
        try {
          buf.bytes(dev)[0] = 0xee;
          outcomes.push("wrote");
        } catch (error) {
          outcomes.push((error as { code: string }).code);
        }
      });
      // Taken after the IRQ, so released before it: the device raises its IRQ then.
      Devres.new(dev, 0, () => model.interrupt());
    });
    await machine.pci.unbind(dev);
    // The binding has ended by then: if the handler runs at all, its token is dead.
    expect(outcomes.every((outcome) => outcome === "ENXIO")).toBe(true);
    expect(outcomes).toHaveLength(calls);
    expect(released(machine, dev)).toEqual([devres, IRQ, coherent(4096), MMIO]);
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("raised from a devres release after the IRQ was freed: no handler runs, and the raise is logged as unhandled", async () => {
    const machine = new Machine();
    let calls = 0;
    const { dev } = await irqDevice(machine, (dev, model) => {
      // Taken before the IRQ, so released after it.
      Devres.new(dev, 0, () => model.interrupt());
      requestIrq(dev, () => void calls++);
    });
    await machine.pci.unbind(dev);
    expect(calls).toBe(0);
    expect(machine.events.filter((e) => e.kind === "irq-unhandled" && e.device === dev.name)).toHaveLength(1);
    expect(released(machine, dev)).toEqual([IRQ, devres, MMIO]);
    expectClean(machine);
  });

  it("the handler frees its own IRQ: refused with EBUSY, as free_irq would wait for itself; the IRQ stays requested, and the unbind frees it once", async () => {
    const machine = new Machine();
    let calls = 0;
    let irq: IrqHandle<Smuggled> | undefined;
    const { dev, model } = await irqDevice(machine, (dev, _, regs) => {
      irq = requestIrq(dev, (dev) => {
        calls++;
        irq!.free();
        regs.write32(dev, DOORBELL, 1);
      });
    });
    model.interrupt();
    model.interrupt();
    expect(calls).toBe(2);
    expect(irq!.freed).toBe(false);
    const failed = machine.events.filter((e) => e.kind === "irq-failed");
    expect(failed).toHaveLength(2);
    expect((failed[0]!.error as { code?: string }).code).toBe("EBUSY");
    await machine.pci.unbind(dev);
    expect(irq!.freed).toBe(true);
    expect(released(machine, dev)).toEqual([IRQ, MMIO]);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0 });
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it.each([
    ["the free was scheduled first: no handler runs", ["free", "raise"], 0],
    ["the raise was scheduled first: the handler runs once, before the free", ["raise", "free"], 1],
  ] as const)("an early free and a raise at the same virtual instant: %s", async (_, order, expected) => {
    const machine = new Machine();
    let calls = 0;
    let irq: IrqHandle<Smuggled> | undefined;
    const { dev, model } = await irqDevice(machine, (dev) => {
      irq = requestIrq(dev, () => void calls++);
    });
    for (const what of order) {
      if (what === "free") machine.clock.after(1_000, () => irq!.free());
      else model.later(1_000, () => model.interrupt());
    }
    await machine.run(2_000);
    expect(calls).toBe(expected);
    expect(irq!.freed).toBe(true);
    await machine.pci.unbind(dev);
    expect(released(machine, dev)).toEqual([MMIO]);
    expectClean(machine);
  });
});

describe("register and unregister racing", () => {
  /** A driver that logs each probe and remove with the token's serial. */
  function counted(log: string[], tokens: Token[], ids: readonly { vendor: number; device: number }[]): Driver {
    return defineDriver({
      name: "counted",
      ids,
      probe(dev) {
        tokens.push(smuggle(dev));
        log.push(`probe #${tokens.length}`);
        allocCoherent(dev, 4096);
        const n = tokens.length;
        return { remove: () => void log.push(`remove #${n}`) };
      },
    });
  }

  it("register and unregister of one driver in one tick: its queued probe never runs, and both resolve", async () => {
    const machine = new Machine();
    const model = new Engine();
    const dev = machine.pci.plug(model);
    const log: string[] = [];
    const tokens: Token[] = [];
    const driver = counted(log, tokens, [idOf(model)]);
    await Promise.all([machine.pci.register(driver), machine.pci.unregister(driver)]);
    await machine.settled();
    expect(log).toEqual([]);
    expect(dev.state).toBe("no-driver");
    expect(machine.pci.drivers).toEqual([]);
    expectClean(machine);
  });

  it("unregister and register again in one tick while bound: remove() with the old token, then a probe with a new one; the old stays dead", async () => {
    const machine = new Machine();
    const model = new Engine();
    const log: string[] = [];
    const tokens: Token[] = [];
    const driver = counted(log, tokens, [idOf(model)]);
    await machine.pci.register(driver);
    const dev = machine.pci.plug(model);
    await machine.settled();
    await Promise.all([machine.pci.unregister(driver), machine.pci.register(driver)]);
    expect(log).toEqual(["probe #1", "remove #1", "probe #2"]);
    expect(dev.state).toBe("bound");
    expectCode(() => allocCoherent(tokens[0]!, 64), "ENXIO");
    expect(allocCoherent(tokens[1]!, 64).size).toBe(64);
    expect(machine.memory.stats().allocations).toBe(2);
    await machine.pci.unplug(dev);
    expectClean(machine);
  });

  it("two registers of one driver in one tick: one probes, the other is EBUSY", async () => {
    const machine = new Machine();
    const model = new Engine();
    const dev = machine.pci.plug(model);
    const log: string[] = [];
    const driver = counted(log, [], [idOf(model)]);
    const results = await Promise.allSettled([machine.pci.register(driver), machine.pci.register(driver)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: "EBUSY" });
    expect(log).toEqual(["probe #1"]);
    expect(dev.state).toBe("bound");
  });

  it("a second driver registered while the first's unregister is still in an async remove binds the device after that remove", async () => {
    const machine = new Machine();
    const model = new Engine();
    const gate = deferred();
    const log: string[] = [];
    const first = defineDriver({
      name: "first",
      ids: [idOf(model)],
      probe: () => ({
        async remove() {
          log.push("first remove starts");
          await gate.promise;
          log.push("first remove ends");
        },
      }),
    });
    const second = defineDriver({ name: "second", ids: [idOf(model)], probe: () => (log.push("second probe"), {}) });
    await machine.pci.register(first);
    const dev = machine.pci.plug(model);
    await machine.settled();
    const unregistering = machine.pci.unregister(first);
    await tick();
    const registering = machine.pci.register(second);
    await drain();
    expect(log).toEqual(["first remove starts"]);
    gate.resolve();
    await Promise.all([unregistering, registering]);
    expect(log).toEqual(["first remove starts", "first remove ends", "second probe"]);
    expect(dev.state).toBe("bound");
    expect(machine.pci.drivers.map((d) => d.name)).toEqual(["second"]);
  });
});

describe("unbind racing an early Devres.release()", () => {
  it("an entry in the middle of the stack, released early and slowly: the walk releases what is above it, waits for it, then releases what is below", async () => {
    const machine = new Machine();
    const model = new Engine();
    const gate = deferred();
    const log: string[] = [];
    let middle: Devres<Smuggled, string> | undefined;
    await machine.pci.register(
      defineDriver({
        name: "stack",
        ids: [idOf(model)],
        probe(dev) {
          Devres.new(dev, "bottom", (v) => void log.push(v));
          middle = smuggle(
            Devres.new(dev, "middle", async (v) => {
              log.push(`${v} starts`);
              await gate.promise;
              log.push(`${v} ends`);
            }),
          );
          Devres.new(dev, "top", (v) => void log.push(v));
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    const early = middle!.release().then(() => log.push("early release returns"));
    const unbinding = machine.pci.unbind(dev).then(() => log.push("unbind returns"));
    await drain();
    expect(log).toEqual(["middle starts", "top"]);
    gate.resolve();
    await Promise.all([early, unbinding]);
    expect(log).toEqual(["middle starts", "top", "middle ends", "early release returns", "bottom", "unbind returns"]);
    expectClean(machine);
  });

  it("an early release started by a release above it, during the walk: the walk waits for it, releases it once, then goes on", async () => {
    const machine = new Machine();
    const model = new Engine();
    const log: string[] = [];
    let releases = 0;
    await machine.pci.register(
      defineDriver({
        name: "chain",
        ids: [idOf(model)],
        probe(dev) {
          const buf = allocCoherent(dev, 4096);
          const inner = Devres.new(dev, buf, async (held) => {
            releases++;
            await tick();
            held.free();
            log.push("inner released");
          });
          Devres.new(dev, 0, () => {
            log.push("outer releases inner early");
            void inner.release();
          });
          return {};
        },
      }),
    );
    const dev = machine.pci.plug(model);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(log).toEqual(["outer releases inner early", "inner released"]);
    expect(releases).toBe(1);
    // The allocation was freed by the inner release, not again by the walk.
    expect(released(machine, dev)).toEqual([devres, devres]);
    expectClean(machine);
  });
});
