/**
 * The driver core's teardown order (src/core/dd.ts): child devices, remove(),
 * registrations, tasks, the driver data drop, the token's end, devres release,
 * the checks; for a failed probe, the same without remove() and the drop.
 * Every hook that throws is logged and the unbind goes on; a wait the
 * watchdog gives up on is passed, and the machine stays usable.
 */

import { describe, expect, it } from "vitest";
import { allocCoherent, defineDriver, Devres, Machine, spawn } from "../src/index.js";
import type { Device, DriverInstance, MachineEvent, ProbeDevice, SleepableDevice } from "../src/index.js";
import type { Binding, Teardown } from "../src/driver/binding.js";
import { peekBinding } from "../src/driver/binding.js";
import { deferred, expectCode, NIC, smuggle, tick } from "./helpers.js";

/** The binding behind a token, for the stand-ins a subsystem would add. */
function bindingOf(dev: unknown): Binding {
  const binding = peekBinding(dev);
  if (binding === undefined) throw new Error("not a token");
  return binding;
}

/** A stand-in child or registration that logs when it is taken down, and whether the token was live then. */
function standIn(log: string[], binding: Binding, label: string, set: Set<Teardown>, takeDown?: () => Promise<void>): void {
  const member: Teardown = {
    label,
    async takeDown() {
      log.push(`${label} down (token ${binding.live ? "live" : "dead"})`);
      await takeDown?.();
      set.delete(member);
    },
  };
  set.add(member);
}

interface Rig {
  readonly machine: Machine;
  readonly dev: Device;
  readonly log: string[];
}

/**
 * A driver with everything that ends a binding: an aux child stand-in, a
 * netdev registration stand-in, a task, a devres entry and an allocation,
 * `remove()` and a `drop()` hook. `fail` makes probe throw after setting up.
 */
async function fullDriver(options: { fail?: boolean; drop?: "sync" | "async" | "throws" | "rejects" } = {}): Promise<Rig> {
  const machine = new Machine();
  const log: string[] = [];
  const driver = defineDriver({
    name: "full",
    ids: [NIC],
    probe(dev) {
      const binding = bindingOf(dev);
      const ring = allocCoherent(dev, 4096);
      const stats = Devres.new(dev, { packets: 7 }, (s) => void log.push(`release stats (${s.packets} packets, ring ${ring.freed ? "freed" : "live"})`));
      standIn(log, binding, 'auxiliary device "full.rdma.0"', binding.children);
      standIn(log, binding, 'netdev "eth0"', binding.registrations);
      spawn(dev, async (_dev, signal) => {
        await signal.whenAborted;
        await tick();
        log.push(`task done (token ${binding.live ? "live" : "dead"})`);
      });
      if (options.fail === true) throw new Error("probe gives up");
      const drop = (dev: SleepableDevice<unknown>): void => {
        log.push(`drop: ${stats.access(smuggle(dev)).packets} packets, ring byte ${ring.bytes(smuggle(dev))[0]}, core ${binding.core}, token ${binding.live ? "live" : "dead"}`);
      };
      const instance: Record<string, unknown> = {
        remove() {
          log.push(`remove (core ${binding.core})`);
        },
      };
      const kind = options.drop ?? "sync";
      if (kind === "sync") instance.drop = drop;
      if (kind === "async") {
        instance.drop = async (dev: SleepableDevice<unknown>) => {
          await tick();
          drop(dev);
        };
      }
      if (kind === "throws") {
        instance.drop = () => {
          throw new Error("drop threw");
        };
      }
      if (kind === "rejects") instance.drop = () => Promise.reject(new Error("drop rejected"));
      return smuggle<DriverInstance<typeof dev extends ProbeDevice<infer S> ? S : never>>(instance);
    },
  });
  await machine.pci.register(driver);
  const dev = machine.pci.plug(NIC);
  await machine.settled();
  return { machine, dev, log };
}

/** The lifecycle events of the log, as `kind` or `kind:resource`. */
function lifecycle(events: readonly MachineEvent[]): string[] {
  return events
    .filter((e) => ["state", "remove-start", "remove-end", "release", "teardown-failed", "remove-failed", "probe-failed"].includes(e.kind))
    .map((e) => (e.kind === "state" ? `state ${e.to}` : e.resource !== undefined ? `${e.kind}:${e.resource}` : e.kind));
}

describe("the teardown order", () => {
  it("unbind: children, remove(), registrations, tasks, the data drop, the token's end, devres last in first out", async () => {
    const { machine, dev, log } = await fullDriver();
    const seq = machine.events.at(-1)!.seq;
    await machine.pci.unbind(dev);
    expect(log).toEqual([
      'auxiliary device "full.rdma.0" down (token live)',
      "remove (core true)",
      'netdev "eth0" down (token live)',
      "task done (token live)",
      "drop: 7 packets, ring byte 0, core false, token live",
      "release stats (7 packets, ring live)",
    ]);
    expect(lifecycle(machine.events.filter((e) => e.seq > seq))).toEqual([
      "state unbinding",
      "remove-start",
      "release:devres",
      "release:coherent",
      "state no-driver",
      "remove-end",
    ]);
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it("unplug runs the same order and ends zombie", async () => {
    const { machine, dev, log } = await fullDriver({ drop: "async" });
    await machine.pci.unplug(dev);
    expect(log).toEqual([
      'auxiliary device "full.rdma.0" down (token live)',
      "remove (core true)",
      'netdev "eth0" down (token live)',
      "task done (token live)",
      "drop: 7 packets, ring byte 0, core false, token live",
      "release stats (7 packets, ring live)",
    ]);
    expect(dev.state).toBe("zombie");
  });

  it("a failed probe: children, registrations, tasks, the token's end, devres; no remove(), no data drop", async () => {
    const { machine, dev, log } = await fullDriver({ fail: true });
    expect(log).toEqual([
      'auxiliary device "full.rdma.0" down (token live)',
      'netdev "eth0" down (token live)',
      "task done (token live)",
      "release stats (7 packets, ring live)",
    ]);
    expect(lifecycle(machine.events)).toEqual([
      "state probing",
      "probe-failed",
      "release:devres",
      "release:coherent",
      "state no-driver",
    ]);
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("[Symbol.dispose] is no hook: an allocation probe returns (behind a cast) is left to devres, not disposed at the drop", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "returns-ring",
        ids: [NIC],
        probe(dev) {
          const ring = allocCoherent(dev, 4096);
          Devres.new(dev, ring, (r) => void log.push(`release (ring ${r.freed ? "freed" : "live"})`));
          // The escape the types refuse (probe-returns-allocation.ts): were
          // [Symbol.dispose] a hook, the core would free the ring at the drop.
          return smuggle(ring);
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(log).toEqual(["release (ring live)"]);
    expect(machine.events.filter((e) => e.kind === "teardown-failed")).toEqual([]);
    expect(machine.memory.stats().allocations).toBe(0);
    expect(machine.dmaDebug.violations).toEqual([]);
  });

  it.each(["throws", "rejects"] as const)("a drop hook that %s is logged as teardown-failed; devres is still released", async (kind) => {
    const { machine, dev, log } = await fullDriver({ drop: kind });
    await machine.pci.unbind(dev);
    const failed = machine.events.filter((e) => e.kind === "teardown-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]!.detail).toMatch(/driver "full".*drop (threw|rejected)/);
    expect((failed[0]!.error as Error).message).toMatch(/^drop (threw|rejected)$/);
    expect(log.at(-1)).toBe("release stats (7 packets, ring live)");
    expect(dev.state).toBe("no-driver");
    expect(machine.memory.stats().allocations).toBe(0);
  });

  it("the data drop is not the core context: spawn there is EPERM, and nothing more runs after devres release", async () => {
    const machine = new Machine();
    let caught: unknown;
    await machine.pci.register(
      defineDriver({
        name: "late-spawn",
        ids: [NIC],
        probe: () => ({
          drop(dev) {
            try {
              spawn(smuggle<ProbeDevice<unknown>>(dev), async () => {});
            } catch (error) {
              caught = error;
            }
          },
        }),
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expectCode(() => {
      throw caught;
    }, "EPERM");
  });

  it("a drop hook on Object.prototype is never called", async () => {
    const machine = new Machine();
    let called = false;
    const proto = Object.prototype as Record<string, unknown>;
    proto.drop = () => (called = true);
    try {
      await machine.pci.register(defineDriver({ name: "plain", ids: [NIC], probe: () => ({}) }));
      const dev = machine.pci.plug(NIC);
      await machine.settled();
      await machine.pci.unbind(dev);
    } finally {
      delete proto.drop;
    }
    expect(called).toBe(false);
  });

  it("a drop hook that is not a function fails the probe with EINVAL", async () => {
    const machine = new Machine();
    await machine.pci.register(defineDriver({ name: "bad", ids: [NIC], probe: () => smuggle({ drop: 42 }) }));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    const failed = machine.events.find((e) => e.kind === "probe-failed");
    expect(failed?.detail).toMatch(/returned drop must be a function/);
    expect(dev.state).toBe("no-driver");
  });

  it("a child or registration whose take-down throws or rejects is logged; the unbind goes on", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "bad-children",
        ids: [NIC],
        probe(dev) {
          const binding = bindingOf(dev);
          binding.children.add({
            label: 'auxiliary device "bad.0"',
            takeDown: () => {
              throw new Error("child threw");
            },
          });
          binding.registrations.add({ label: 'netdev "bad0"', takeDown: () => Promise.reject(new Error("unregister rejected")) });
          Devres.new(dev, 1, () => void log.push("released"));
          return { remove: () => void log.push("remove") };
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(machine.events.filter((e) => e.kind === "teardown-failed").map((e) => e.detail)).toEqual([
      'auxiliary device "bad.0": child threw',
      'netdev "bad0": unregister rejected',
    ]);
    expect(log).toEqual(["remove", "released"]);
    expect(dev.state).toBe("no-driver");
  });

  it("children and registrations go newest first", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(
      defineDriver({
        name: "many",
        ids: [NIC],
        probe(dev) {
          const binding = bindingOf(dev);
          for (const n of [0, 1, 2]) standIn(log, binding, `aux ${n}`, binding.children);
          for (const n of [0, 1]) standIn(log, binding, `reg ${n}`, binding.registrations);
          return { remove: () => void log.push("remove") };
        },
      }),
    );
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    await machine.pci.unbind(dev);
    expect(log).toEqual(["aux 2 down (token live)", "aux 1 down (token live)", "aux 0 down (token live)", "remove", "reg 1 down (token live)", "reg 0 down (token live)"]);
  });
});

describe("waits the watchdog gives up on", () => {
  /**
   * A machine whose watch gives up on any wait still pending after one
   * macrotask turn, and records what it waited on: the watchdog's contract,
   * without its clock.
   */
  async function impatient(probe: (dev: ProbeDevice<unknown>, binding: Binding) => DriverInstance<unknown>) {
    const machine = new Machine();
    const waits: string[] = [];
    const gaveUp: string[] = [];
    await machine.pci.register(defineDriver({ name: "stuck", ids: [NIC], probe: (dev) => smuggle(probe(smuggle(dev), bindingOf(dev))) }));
    const dev = machine.pci.plug(NIC);
    await machine.settled();
    return { machine, dev, waits, gaveUp };
  }

  function patchWatch(binding: Binding, waits: string[], gaveUp: string[]): void {
    const port = binding.port as { watch: Binding["port"]["watch"] };
    port.watch = async (work, waitsOn) => {
      waits.push(waitsOn);
      const settled = await Promise.race([work.then(() => true, () => true), tick().then(() => false)]);
      if (!settled) gaveUp.push(waitsOn);
      return settled;
    };
  }

  it("a remove(), a task, a registration and a drop that never finish are passed; the binding still ends and devres is released", async () => {
    const never = deferred().promise;
    const log: string[] = [];
    let token: ProbeDevice<unknown> | undefined;
    let waits: string[] = [];
    let gaveUp: string[] = [];
    const rig = await impatient((dev, binding) => {
      token = dev;
      patchWatch(binding, (waits = []), (gaveUp = []));
      binding.children.add({ label: 'auxiliary device "stuck.0"', takeDown: () => never });
      binding.registrations.add({ label: 'netdev "stuck0"', takeDown: () => never });
      spawn(dev, function pollLink() {
        return never;
      });
      Devres.new(dev, "last", () => void log.push("released"));
      Devres.new(dev, "hung", () => never);
      return { remove: () => never, drop: () => never };
    });
    await rig.machine.pci.unbind(rig.dev);
    expect(gaveUp).toEqual([
      'auxiliary device "stuck.0"',
      'remove() of driver "stuck" on device 0000:00:01.0',
      'netdev "stuck0"',
      'task #1 (pollLink) of driver "stuck"',
      'the driver data drop (drop()) of driver "stuck" on device 0000:00:01.0',
      "devres release of devres of driver \"stuck\"",
    ]);
    // The last wait, for the entry below the hung one, settled.
    expect(waits).toEqual([...gaveUp, 'devres release of devres of driver "stuck"']);
    expect(log).toEqual(["released"]);
    expect(rig.dev.state).toBe("no-driver");
    expect(bindingOf(token).live).toBe(false);
    expect(rig.machine.events.filter((e) => e.kind === "release-failed").map((e) => e.detail)).toEqual([`devres of driver "stuck": still running when the watchdog fired`]);
    // The machine stays usable: the device binds again, to a driver registered now.
    await rig.machine.pci.register(defineDriver({ name: "fresh", ids: [NIC], probe: () => ({}) }));
    await rig.machine.settled();
    expect(rig.dev.state).toBe("bound");
  });
});
