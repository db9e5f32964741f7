// Preloaded by `npm run docs` and scripts/check-docs.mjs (`node --import`):
// TypeDoc 0.28 drives the compiler through its JavaScript API, which
// TypeScript 7 (our `typescript`) no longer ships. So TypeDoc's imports of
// "typescript" are sent to TypeScript 6 (`typescript6`), the newest compiler
// it supports. The `overrides` entry in package.json only lets npm install
// TypeDoc next to TypeScript 7; this file is what makes it run.
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

/** Module resolve hook: "typescript", imported from TypeDoc, is TypeScript 6. */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === "typescript" && context.parentURL?.includes("/node_modules/typedoc/")) {
    // Resolved by Node from here, as our own `typescript6` dependency.
    return nextResolve("typescript6", { ...context, parentURL: import.meta.url });
  }
  return nextResolve(specifier, context);
}

// Preloaded on the main thread, this file registers itself; the loader
// thread then loads it again for the hook above.
if (isMainThread) register(import.meta.url);
