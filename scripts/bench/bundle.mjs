// Bundle size: esbuild-minified ESM of the whole library, and of drivers that
// use only the core, to show what tree shaking leaves out.
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { root } from "../lib/paths.mjs";

const entry = join(root, "dist/index.js");

/** A driver module that uses only the core: defineDriver, allocCoherent, Devres. */
const DRIVER = `
import { allocCoherent, defineDriver, Devres } from ${JSON.stringify(entry)};
export const driver = defineDriver({
  name: "core-only",
  ids: [{ vendor: 0x1af4, device: 0x1000 }],
  probe(dev) {
    const ring = allocCoherent(dev, 4096);
    const stats = Devres.new(dev, { packets: 0 });
    return { remove: (dev) => void (ring.bytes(dev)[0] = stats.access(dev).packets) };
  },
});
`;

/** The same driver, and a Machine to run it on (a test or a demo). */
const DRIVER_AND_MACHINE = `${DRIVER}
import { Machine } from ${JSON.stringify(entry)};
export async function run() {
  const machine = new Machine();
  await machine.pci.register(driver);
  await machine.pci.unplug(machine.pci.plug({ vendor: 0x1af4, device: 0x1000 }));
}
`;

async function measure(options) {
  const result = await build({
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
    ...options,
  });
  const code = result.outputFiles[0].contents;
  // The modules that put code in the output: what tree shaking kept.
  const [output] = Object.values(result.metafile.outputs);
  const modules = Object.entries(output.inputs)
    .filter(([file, { bytesInOutput }]) => bytesInOutput > 0 && file.startsWith("dist/"))
    .map(([file]) => relative(join(root, "dist"), join(root, file)));
  return { bytes: code.length, gzip: gzipSync(code, { level: 9 }).length, modules };
}

export async function bundleBench() {
  const stdin = (contents) => ({ stdin: { contents, resolveDir: root, sourcefile: "entry.js", loader: "js" } });
  const library = await measure({ entryPoints: [entry] });
  const driver = await measure(stdin(DRIVER));
  const driverAndMachine = await measure(stdin(DRIVER_AND_MACHINE));
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const dependencies = Object.keys(pkg.dependencies ?? {}).length + Object.keys(pkg.peerDependencies ?? {}).length;
  return { library, driver, driverAndMachine, dependencies };
}
