import { describe, expect, it } from "vitest";
import { runDmaSample } from "../examples/dma-sample.js";
import { runEscape } from "../examples/escape.js";

describe("examples", () => {
  it("dma-sample verifies its five structs in remove() and leaves the pool empty", async () => {
    const lines: string[] = [];
    const machine = await runDmaSample((line) => lines.push(line));
    expect(lines).toContain("remove(): read back and verified 5 structs");
    expect(machine.events.some((e) => e.kind.endsWith("-failed"))).toBe(false);
    expect(machine.pci.devices).toHaveLength(0);
    expect(machine.memory.stats()).toMatchObject({ bytesInUse: 0, allocations: 0, highWater: 4096 });
    expect(lines.some((l) => l.includes("unbinding -> zombie"))).toBe(true);
  });

  it("escape: the smuggled closure works while bound and throws ENXIO after unplug", async () => {
    const { before, after } = await runEscape(() => {});
    expect(before).toBe("allocated 4096 bytes");
    expect(after).toMatch(/^threw ENXIO: allocCoherent: .*binding ended \(unplugged\)/);
  });
});
