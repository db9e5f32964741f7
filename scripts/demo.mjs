// `npm run demo`: bundles examples/demo.ts with esbuild and runs it. The
// examples import "boundscope" like any user; Node resolves that to this
// package's own dist/ (package self-reference), so the demo runs the build.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";

const outdir = new URL("../.tmp/demo/", import.meta.url);
mkdirSync(outdir, { recursive: true });
const outfile = new URL("demo.mjs", outdir).pathname;
await build({
  entryPoints: [new URL("../examples/demo.ts", import.meta.url).pathname],
  outfile,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["boundscope"],
  sourcemap: "inline",
  logLevel: "warning",
});
process.setSourceMapsEnabled(true);
await import(outfile);

// A PNG of the timeline, for people without an SVG viewer (and the README).
const { Resvg } = await import("@resvg/resvg-js");
const { readFileSync, writeFileSync } = await import("node:fs");
const svg = readFileSync("demo-out/timeline.svg", "utf8");
writeFileSync("demo-out/timeline.png", new Resvg(svg, { background: "#ffffff" }).render().asPng());
console.log("  wrote demo-out/timeline.png");
