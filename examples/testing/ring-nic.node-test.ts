/**
 * Testing a driver with Node's own test runner (`node:test`), no framework:
 * ring-nic (../ring-nic.ts) hot-unplugged and unbound mid-traffic, then the
 * assertions of `boundscope/testing`. They throw a plain `Error`
 * (`DriverAssertionError`), so `node --test` reports a failure with the
 * problems and the machine's story in its output.
 *
 * Compile it as you compile your tests (tsc, esbuild) and run
 * `node --test <the .js file>`. Here test/testing-examples.test.ts bundles
 * it with esbuild, leaving `boundscope` and `boundscope/testing` to resolve
 * to the built package, and runs it.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Machine } from "boundscope";
import { assertClean, watchUnhandledRejections } from "boundscope/testing";
import { RingNicModel } from "../models/ring-nic-model.js";
import { ringNicDriver, startTraffic } from "../ring-nic.js";

for (const end of ["unplug", "unbind"] as const) {
  test(`ring-nic: ${end} mid-traffic leaves the machine clean`, async () => {
    using rejections = watchUnhandledRejections();
    const machine = new Machine();
    await machine.pci.register(ringNicDriver());
    const nic = machine.pci.plug(new RingNicModel("0000:00:05.0"));
    await machine.settled();
    const traffic = await startTraffic(machine, nic);
    await machine.run(50_000);
    if (end === "unplug") await machine.pci.unplug(nic);
    else await machine.pci.unbind(nic);
    traffic.stop();
    await machine.run(20_000);
    assert.ok(traffic.intact > 0);
    assertClean(machine);
    await new Promise((resolve) => setTimeout(resolve, 0));
    rejections.assertNone();
  });
}
