/**
 * The two example tests of examples/testing/, as a user would run them.
 *
 * - The vitest one (ring-nic.test.ts) is imported here, so its tests run in
 *   this file (vitest's `include` is test/**).
 * - The node:test one (ring-nic.node-test.ts) is bundled by esbuild with
 *   `boundscope` and `boundscope/testing` left as imports, which the
 *   package's self-reference resolves to dist/ (built by `npm run build`,
 *   which `npm test` runs first), and run by `node --test`: it must pass.
 *   Its failing variant is the same file with buggy-nic (ring-nic without
 *   its halt) swapped in for ring-nic at bundle time: it must fail, and
 *   `node --test`'s output must carry each problem and the story.
 */

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Plugin } from "esbuild";
import { describe, expect, it } from "vitest";
import "../examples/testing/ring-nic.test.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const example = `${root}examples/testing/ring-nic.node-test.ts`;

/** Swaps ring-nic for buggy-nic (no halt in remove()) where the example imports it. */
const buggyNic: Plugin = {
  name: "buggy-nic",
  setup(on) {
    on.onResolve({ filter: /^\.\.\/ring-nic\.js$/ }, () => ({ path: "buggy-nic", namespace: "variant" }));
    on.onLoad({ filter: /.*/, namespace: "variant" }, () => ({
      resolveDir: `${root}examples`,
      loader: "ts",
      contents: [
        `import { ringNicDriver as ringNic } from "${root}examples/ring-nic.ts";`,
        `export { startTraffic } from "${root}examples/ring-nic.ts";`,
        `export const ringNicDriver = (options = {}) => ringNic({ ...options, name: "buggy-nic", halt: false });`,
      ].join("\n"),
    }));
  },
};

/** Bundles the node:test example (with `plugins`) into .tmp/, inside the package, and runs it under `node --test`. */
async function nodeTest(name: string, plugins: Plugin[] = []): Promise<{ status: number | null; output: string }> {
  const outfile = `${root}.tmp/examples-testing/${name}.mjs`;
  await build({ entryPoints: [example], outfile, bundle: true, format: "esm", platform: "node", target: "node20", external: ["boundscope", "boundscope/testing"], plugins, logLevel: "warning" });
  const run = spawnSync(process.execPath, ["--test", "--test-reporter=spec", outfile], { cwd: root, encoding: "utf8", timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}\n${run.stderr}` };
}

describe("the node:test example, run by node --test against the built package", { timeout: 60_000 }, () => {
  it("dist/ has the testing entry (npm run build)", () => {
    expect(existsSync(`${root}dist/testing/index.js`), "dist/testing/index.js is missing: run `npm run build` first").toBe(true);
  });

  it("passes with ring-nic", async () => {
    const { status, output } = await nodeTest("ring-nic.node-test");
    expect(output).toMatch(/ℹ tests 2\n/);
    expect(output).toMatch(/ℹ pass 2\n/);
    expect(status, output).toBe(0);
  });

  it("fails with buggy-nic swapped in, with each problem and the story in its output", async () => {
    const { status, output } = await nodeTest("buggy-nic.node-test", [buggyNic]);
    expect(status).toBe(1);
    // The hot-unplug takes the engine with the hardware: only the unbind shows the missing halt.
    expect(output).toMatch(/✔ ring-nic: unplug mid-traffic leaves the machine clean/);
    expect(output).toMatch(/✖ ring-nic: unbind mid-traffic leaves the machine clean/);
    expect(output).toMatch(/ℹ fail 1\n/);
    expect(output).toContain("DriverAssertionError");
    expect(output).toMatch(/assertClean: \d+ problems/);
    expect(output).toMatch(/1\. violation dma-after-remove on 0000:00:05\.0 \(driver "buggy-nic"\)/);
    expect(output).toMatch(/story: \d+ events, t=0 ns to t=[\d.]+ µs, \d+ violations/);
    expect(output).toMatch(/!! VIOLATION dma-after-free: the device's DMA during devres release of "buggy-nic"'s resources/);
  });
});
