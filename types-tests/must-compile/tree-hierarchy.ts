// Device trees and links as a test or simulation writes them: a bridge with
// devices behind it, software removal and rescan, and a device link.
import { Machine } from "boundscope";
import type { Device, DeviceLink, PlugOptions } from "boundscope";

export async function tree(): Promise<void> {
  const machine = new Machine();
  const bridge: Device = machine.pci.plug({ vendor: 0x8086, device: 0x244e });
  const options: PlugOptions = { parent: bridge };
  const nic = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 }, options);
  const phy = machine.pci.plug({ vendor: 0x1af4, device: 0x1001 }, { parent: bridge });
  const link: DeviceLink = machine.links.add(nic, phy);
  const under: readonly Device[] = machine.pci.children(bridge);
  const up: Device | undefined = machine.pci.parent(nic);
  void [under, up, link.live, machine.links.of(nic).length];
  await machine.pci.remove(nic);
  const found: readonly Device[] = await machine.pci.rescan();
  void found;
  link.remove();
  await machine.pci.unplug(bridge);
  const aux: readonly Device[] = machine.auxiliary.devices;
  void aux;
}
