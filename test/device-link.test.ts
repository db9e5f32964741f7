/**
 * Device links (src/core/device-link.ts): a consumer is not probed before its
 * supplier is bound (deferred, then probed once it binds), is unbound before
 * its supplier unbinds or goes, links that would make a cycle are refused,
 * and links work across the PCI and auxiliary buses.
 */

import { describe, expect, it } from "vitest";
import { addAuxiliaryDevice, auxiliaryType, defineAuxiliaryDriver, defineDriver, Machine } from "../src/index.js";
import type { Driver } from "../src/index.js";
import { deferred, expectCode, NIC } from "./helpers.js";

const PHY = { vendor: 0x1af4, device: 0x1001 } as const;

function logging(name: string, log: string[], ids: readonly { vendor: number; device: number }[]): Driver {
  return defineDriver({
    name,
    ids,
    probe(dev) {
      log.push(`probe ${dev.name}`);
      return { remove: (d) => void log.push(`remove ${d.name}`) };
    },
  });
}

describe("probe order", () => {
  it("a consumer is deferred until its supplier binds, then probed", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    machine.links.add(mac, phy);
    await machine.pci.register(logging("mac", log, [NIC]));
    expect(mac.state).toBe("no-driver");
    const deferredEvent = machine.events.find((e) => e.kind === "probe-deferred");
    expect([deferredEvent?.device, deferredEvent?.supplier]).toEqual(["mac", "phy"]);
    await machine.pci.register(logging("phy", log, [PHY]));
    await machine.settled();
    expect(log).toEqual(["probe phy", "probe mac"]);
    expect(mac.state).toBe("bound");
  });

  it("a consumer whose supplier is still probing waits for the probe to end", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const gate = deferred();
    await machine.pci.register(
      defineDriver({
        name: "phy",
        ids: [PHY],
        async probe() {
          log.push("phy probe start");
          await gate.promise;
          log.push("phy probe end");
          return {};
        },
      }),
    );
    await machine.pci.register(logging("mac", log, [NIC]));
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    machine.links.add(mac, phy);
    gate.resolve();
    await machine.settled();
    expect(log).toEqual(["phy probe start", "phy probe end", "probe mac"]);
  });

  it("removing the link lets a deferred consumer probe", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    const link = machine.links.add(mac, phy);
    await machine.pci.register(logging("mac", log, [NIC]));
    expect(mac.state).toBe("no-driver");
    link.remove();
    link.remove();
    await machine.settled();
    expect(mac.state).toBe("bound");
    expect(link.live).toBe(false);
    expect(machine.links.of(mac)).toEqual([]);
  });
});

describe("unbind order", () => {
  it("the consumer is unbound before its supplier, and probed again when the supplier binds again", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const phyDriver = logging("phy", log, [PHY]);
    await machine.pci.register(phyDriver);
    await machine.pci.register(logging("mac", log, [NIC]));
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    await machine.settled();
    machine.links.add(mac, phy);
    log.length = 0;
    await machine.pci.unbind(phy);
    expect(log).toEqual(["remove mac", "remove phy"]);
    expect(machine.events.find((e) => e.kind === "remove-start" && e.device === "mac")?.reason).toBe("supplier unbound");
    await machine.pci.unregister(phyDriver);
    await machine.pci.register(phyDriver);
    await machine.settled();
    expect(log).toEqual(["remove mac", "remove phy", "probe phy", "probe mac"]);
  });

  it("unplugging the supplier unbinds the consumer first, drops the link, and leaves the consumer no-driver", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("any", log, [PHY, NIC]));
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    await machine.settled();
    machine.links.add(mac, phy);
    log.length = 0;
    await machine.pci.unplug(phy);
    await machine.settled();
    expect(log).toEqual(["remove mac", "remove phy"]);
    expect(mac.state).toBe("no-driver");
    expect(machine.links.of(mac)).toEqual([]);
    expect(machine.events.filter((e) => e.kind === "link-remove").map((e) => [e.device, e.supplier])).toEqual([["mac", "phy"]]);
  });

  it("unregistering the supplier's driver unbinds the consumer first", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const phyDriver = logging("phy", log, [PHY]);
    await machine.pci.register(phyDriver);
    await machine.pci.register(logging("mac", log, [NIC]));
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    await machine.settled();
    machine.links.add(mac, phy);
    log.length = 0;
    await machine.pci.unregister(phyDriver);
    expect(log).toEqual(["remove mac", "remove phy"]);
    expect(mac.state).toBe("no-driver");
  });

  it("a chain unbinds from the far consumer inward", async () => {
    const machine = new Machine();
    const log: string[] = [];
    await machine.pci.register(logging("any", log, [PHY, NIC]));
    const a = machine.pci.plug({ ...PHY, name: "a" });
    const b = machine.pci.plug({ ...NIC, name: "b" });
    const c = machine.pci.plug({ ...NIC, name: "c" });
    await machine.settled();
    machine.links.add(b, a);
    machine.links.add(c, b);
    log.length = 0;
    await machine.pci.unbind(a);
    expect(log).toEqual(["remove c", "remove b", "remove a"]);
  });
});

describe("refusals", () => {
  it("a link that would make a cycle is refused, naming the cycle", async () => {
    const machine = new Machine();
    const a = machine.pci.plug({ ...NIC, name: "a" });
    const b = machine.pci.plug({ ...NIC, name: "b" });
    const c = machine.pci.plug({ ...NIC, name: "c" });
    machine.links.add(b, a);
    machine.links.add(c, b);
    const error = expectCode(() => machine.links.add(a, c), "EINVAL");
    expect(error.message).toContain("a → c → b → a");
    expectCode(() => machine.links.add(a, a), "EINVAL");
    expect(machine.links.of(a).length).toBe(1);
  });

  it("a parent cannot consume from its own child: the child depends on it already", async () => {
    const machine = new Machine();
    const parent = machine.pci.plug({ ...NIC, name: "p" });
    const child = machine.pci.plug({ ...NIC, name: "ch" }, { parent });
    expect(expectCode(() => machine.links.add(parent, child), "EINVAL").message).toContain("p → ch → p");
    machine.links.add(child, parent);
  });

  it("adding the same link again returns it; bad devices and a bound consumer of an unbound supplier are refused", async () => {
    const machine = new Machine();
    await machine.pci.register(logging("mac", [], [NIC]));
    const phy = machine.pci.plug({ ...PHY, name: "phy" });
    const mac = machine.pci.plug({ ...NIC, name: "mac" });
    await machine.settled();
    expectCode(() => machine.links.add(mac, phy), "EBUSY");
    const other = new Machine().pci.plug(NIC);
    expectCode(() => machine.links.add(other, phy), "EINVAL");
    expectCode(() => machine.links.add({} as never, phy), "EINVAL");
    const link = machine.links.add(phy, mac);
    expect(machine.links.add(phy, mac)).toBe(link);
    await machine.pci.unplug(phy);
    expectCode(() => machine.links.add(mac, phy), "EINVAL");
    expect(link.live).toBe(false);
  });
});

describe("across buses", () => {
  it("a PCI device can consume from an auxiliary device", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const KEY = auxiliaryType<{ n: number }>("nic.phy");
    await machine.pci.register(
      defineDriver({
        name: "nic",
        ids: [NIC],
        probe(dev) {
          addAuxiliaryDevice(dev, KEY, { id: 0, data: { n: 1 } });
          return {};
        },
      }),
    );
    await machine.pci.register(logging("mac", log, [PHY]));
    const nic = machine.pci.plug({ ...NIC, name: "nic" });
    const mac = machine.pci.plug({ ...PHY, name: "mac" });
    await machine.settled();
    const [aux] = machine.auxiliary.devices;
    await machine.pci.unbind(mac);
    machine.links.add(mac, aux!);
    await machine.pci.register(logging("mac2", log, [PHY]));
    expect(mac.state).toBe("no-driver");
    const auxDriver = defineAuxiliaryDriver(KEY)({ name: "phy", probe: () => ({ remove: () => void log.push("phy remove") }) });
    await machine.auxiliary.register(auxDriver);
    await machine.settled();
    expect(mac.state).toBe("bound");
    log.length = 0;
    await machine.pci.unplug(nic);
    expect(log).toEqual(["remove mac", "phy remove"]);
  });
});
