// `npm run demo`: bundles examples/demo.ts with esbuild and runs it. The
// examples import "boundscope" like any user; Node resolves that to this
// package's own dist/ (package self-reference), so the demo runs the build.
//
//   node scripts/demo.mjs
import { parseCommandLine } from "./lib/args.mjs";
import { importBundled } from "./lib/esbuild.mjs";

parseCommandLine({ usage: "usage: node scripts/demo.mjs\n\nRuns examples/demo.ts against dist/ (`npm run demo` builds it first). No options." });
// "boundscope" stays an import, resolved by Node to this package's dist/.
await importBundled({ entry: "examples/demo.ts", outfile: ".tmp/demo/demo.mjs", external: ["boundscope"], sourcemap: true });

// A PNG of the timeline, for people without an SVG viewer (and the README).
const { Resvg } = await import("@resvg/resvg-js");
const { readFileSync, writeFileSync } = await import("node:fs");
const svg = readFileSync("demo-out/timeline.svg", "utf8");
writeFileSync("demo-out/timeline.png", new Resvg(svg, { background: "#ffffff" }).render().asPng());
console.log("  wrote demo-out/timeline.png");
