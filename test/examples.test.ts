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

describe("README", () => {
  it("shows examples/quickstart.ts verbatim, so the twenty-line driver is type-checked and run", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const quickstart = await readFile(new URL("../examples/quickstart.ts", import.meta.url), "utf8");
    expect(readme).toContain("```ts\n" + quickstart + "```");
  });

  it("runs the twenty-line driver: remove() reads the ring, devres releases the stats", async () => {
    const logs: unknown[][] = [];
    const original = console.log;
    console.log = (...args: unknown[]) => void logs.push(args);
    try {
      await import("../examples/quickstart.js");
    } finally {
      console.log = original;
    }
    expect(logs).toEqual([[0xc0ffee, 0], ["released", { packets: 0 }]]);
  });
});
