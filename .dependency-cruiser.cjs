// dependency-cruiser rules for src/: no import cycles, and imports point down
// the layers only. Run by scripts/check-layers.mjs (in `npm test`); proved able
// to fail by test/layers.test.ts, which cruises a fixture tree that breaks them.
//
// The layers, lowest first; each may import only from itself and the ones below:
//   1. src/internal/  brands, errors, ordered maps, extents, call sites
//   2. src/driver/    the driver model a driver author touches, and the port
//                     interfaces the platform implements
//   3. src/core/      the driver core: bus registry, probe/remove/teardown
//   4. src/subsys/    kernel subsystems drivers register with: the network
//                     stack, the block layer (software, not hardware; they
//                     reach drivers only through registrations)
//   5. src/sim/       the simulated machine: memory pool, IOMMU, clock, device
//                     models, per-device hardware, device-side DMA, the PCI bus
//   6. src/observe/   checking and observing: DMA checker, events, trace, timeline
//   7. src/machine.ts and src/index.ts: may import anything in src/; only
//      src/index.ts may import src/machine.ts, and nothing imports src/index.ts.
//
// Type-only imports count (tsPreCompilationDeps: true): a type that points up
// a layer is as much a dependency as a value, and `import type` cycles are
// cycles. Rule paths are relative to the cruise's base directory.

/** Every layer folder's rule: files in `layer` may import only from `allowed`. */
function layer(name, folder, allowed, why) {
  return {
    name,
    severity: "error",
    comment: `src/${folder}/ may import only from ${allowed.map((l) => `src/${l}/`).join(", ")}: ${why}`,
    from: { path: `^src/${folder}/` },
    // An import that does not resolve is reported once, as not-to-unresolvable.
    to: { pathNot: `^src/(${allowed.join("|")})/`, couldNotResolve: false },
  };
}

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment:
        "No import cycles in src/, type-only imports included: a cycle means two modules cannot be " +
        "understood, tested or moved apart, and a type-only cycle still ties their declarations together.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    layer(
      "internal-imports-only-internal",
      "internal",
      ["internal"],
      "internals (layer 1) are the bottom layer; they know nothing of the driver model, the core, " +
        "the simulated machine or the observers built on them.",
    ),
    layer(
      "driver-not-to-core-sim-observe",
      "driver",
      ["internal", "driver"],
      "the driver model (layer 2) is what a driver author touches; it reaches the platform only through " +
        "the port interfaces it declares, never the driver core (3), the subsystems (4), the simulated machine (5) or observers (6).",
    ),
    layer(
      "core-not-to-sim-observe",
      "core",
      ["internal", "driver", "core"],
      "the driver core (layer 3) binds drivers to devices through the driver model's ports; it must not " +
        "depend on the subsystems (4), the simulated machine (5) that implements them or the observers (6).",
    ),
    layer(
      "subsys-not-to-sim-observe",
      "subsys",
      ["internal", "driver", "core", "subsys"],
      "the kernel's subsystems (layer 4: network stack, block layer) reach drivers through their registrations " +
        "in the driver model; they must not depend on the simulated machine (5) or the observers (6).",
    ),
    layer(
      "sim-not-to-observe",
      "sim",
      ["internal", "driver", "core", "subsys", "sim"],
      "the simulated machine (layer 5) must not depend on the checkers and observers (6) that watch it.",
    ),
    layer(
      "observe-not-to-top",
      "observe",
      ["internal", "driver", "core", "subsys", "sim", "observe"],
      "checkers and observers (layer 6) must not import src/machine.ts or src/index.ts (7), which assemble them.",
    ),
    {
      name: "nothing-below-imports-testing",
      severity: "error",
      comment:
        "src/testing/ (layer 8, the \"boundscope/testing\" entry: explorer, assertions, type-test runner) " +
        "sits above the whole package; the library never depends on the tools that test drivers built on it.",
      from: { path: "^src/", pathNot: "^src/testing/" },
      to: { path: "^src/testing/" },
    },
    {
      name: "not-to-index",
      severity: "error",
      comment:
        "Nothing in src/ below src/testing/ imports src/index.ts (the package entry, also reached as \"boundscope\" through the " +
        "tsconfig paths): it is the top, and importing it from inside makes a cycle through the whole package.",
      from: { path: "^src/", pathNot: "^src/testing/" },
      to: { path: "^src/index\\.ts$" },
    },
    {
      name: "machine-only-from-index",
      severity: "error",
      comment:
        "Only src/index.ts (and src/testing/, above it) imports src/machine.ts: Machine assembles every layer, so nothing below may use it.",
      from: { path: "^src/", pathNot: ["^src/index\\.ts$", "^src/testing/"] },
      to: { path: "^src/machine\\.ts$" },
    },
    {
      name: "not-to-unlayered",
      severity: "error",
      comment:
        "Every module of src/ other than index.ts and machine.ts lives in a layer folder (internal, driver, " +
        "core, subsys, sim, observe); a module outside them has no layer, so the rules above cannot place it. " +
        "(One nobody imports is an orphan, below.)",
      from: { path: "^src/" },
      to: {
        path: "^src/",
        pathNot: ["^src/(internal|driver|core|subsys|sim|observe|testing)/", "^src/(index|machine)\\.ts$"],
      },
    },
    {
      name: "not-to-test-scripts-examples",
      severity: "error",
      comment: "src/ is the published package; test/, scripts/ and examples/ are not shipped and build on src/, not under it.",
      from: { path: "^src/" },
      to: { path: "^(test|scripts|examples|types-tests|docs)/" },
    },
    {
      name: "no-npm-dependencies",
      severity: "error",
      comment:
        "boundscope has zero runtime dependencies: nothing in src/ imports a package from node_modules, " +
        "not even a type (it would have to become a dependency of every consumer).",
      from: { path: "^src/" },
      to: {
        dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-bundled", "npm-no-pkg", "npm-unknown"],
      },
    },
    {
      name: "no-node-builtins",
      severity: "error",
      comment:
        "src/ imports no Node built-in (node:fs, node:worker_threads, ...) below src/testing/: the library " +
        "runs on any ES2022 runtime. Only the testing tools (worker shards, the type-test CLI) are Node programs. " +
        "process.getBuiltinModule() calls are detected too.",
      from: { path: "^src/", pathNot: "^src/testing/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "only-to-src",
      severity: "error",
      comment:
        "src/ imports only src/: anything else (package.json, a file above the repository, dist/) is " +
        "outside the package's sources. Packages and built-ins have their own rules above.",
      from: { path: "^src/" },
      to: {
        pathNot: "^src/",
        couldNotResolve: false,
        dependencyTypesNot: [
          "core",
          "npm",
          "npm-dev",
          "npm-optional",
          "npm-peer",
          "npm-bundled",
          "npm-no-pkg",
          "npm-unknown",
        ],
      },
    },
    {
      name: "not-to-unresolvable",
      severity: "error",
      comment: "Every import in src/ resolves to a file: an unresolvable one is a typo, a missing file or a move half done.",
      from: { path: "^src/" },
      to: { couldNotResolve: true },
    },
    {
      name: "no-orphans",
      severity: "error",
      comment:
        "Every module in src/ is imported or imports something: an orphan is dead code, or a module " +
        "that a move left behind.",
      from: { path: "^src/", orphan: true, pathNot: "\\.d\\.ts$" },
      to: {},
    },
  ],
  options: {
    // Type-only imports (`import type`, `export type ... from`) are dependencies too.
    tsPreCompilationDeps: true,
    detectProcessBuiltinModuleCalls: true,
    // "boundscope" resolves to src/index.ts through tsconfig.json's paths.
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".d.ts", ".mjs", ".cjs", ".json"] },
    // An import of these is reported, but not followed into.
    doNotFollow: { path: ["(^|/)node_modules/", "^(test|scripts|examples|types-tests|docs|dist)/"] },
    moduleSystems: ["es6", "cjs"],
  },
};
