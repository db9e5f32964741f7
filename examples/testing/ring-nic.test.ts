/**
 * Testing a driver with vitest: ring-nic (../ring-nic.ts) on a fresh machine
 * per test, traffic through the network stack, the device taken away
 * mid-traffic, then the assertions of `boundscope/testing`. A failure throws
 * a `DriverAssertionError` whose message lists each problem and tells the
 * machine's story, and vitest prints it as it prints any error.
 *
 * Run by `npm test` through test/testing-examples.test.ts; in your own
 * project it is a test file like any other.
 */

import { describe, expect, it } from "vitest";
import { Machine } from "boundscope";
import { assertClean, assertNoViolations, DriverAssertionError, watchUnhandledRejections } from "boundscope/testing";
import { RingNicModel } from "../models/ring-nic-model.js";
import { ringNicDriver, startTraffic } from "../ring-nic.js";

/** A machine with ring-nic bound to one NIC and 50 µs of traffic behind it. */
async function busyNic(options: { readonly halt?: boolean } = {}) {
  const machine = new Machine({ iommu: "strict" });
  await machine.pci.register(ringNicDriver(options));
  const nic = machine.pci.plug(new RingNicModel("0000:00:05.0"));
  await machine.settled();
  const traffic = await startTraffic(machine, nic);
  await machine.run(50_000);
  return { machine, nic, traffic };
}

describe("ring-nic", () => {
  it("a hot-unplug mid-traffic leaves nothing behind", async () => {
    using rejections = watchUnhandledRejections();
    const { machine, nic, traffic } = await busyNic();
    expect(traffic.intact).toBeGreaterThan(0);
    await machine.pci.unplug(nic);
    traffic.stop();
    await machine.run(20_000);
    assertClean(machine);
    // Node reports a rejection once the microtasks have run: give it that turn.
    await new Promise((resolve) => setTimeout(resolve, 0));
    rejections.assertNone();
  });

  it("an unbind mid-traffic halts the engine before devres frees the rings", async () => {
    const { machine, nic, traffic } = await busyNic();
    await machine.pci.unbind(nic);
    traffic.stop();
    assertClean(machine);
    expect(traffic.damaged).toBe(0);
  });

  it("without the halt (buggy-nic), the assertion names each violation and tells the story", async () => {
    const { machine, nic } = await busyNic({ halt: false });
    await machine.pci.unbind(nic);
    // What a failing test prints: each problem, then the story with the violation in its callback.
    expect(() => assertNoViolations(machine)).toThrow(DriverAssertionError);
    expect(() => assertNoViolations(machine)).toThrow(/!! VIOLATION dma-after-free: the device's DMA during devres release of "ring-nic"'s resources/);
  });
});
