// Imported by scripts/check-layers.mjs before dependency-cruiser loads.
// dependency-cruiser reads TypeScript through the compiler's JavaScript API,
// and only a "typescript" in ">=2 <7"; ours is TypeScript 7, which no longer
// ships that API. Without one, dependency-cruiser silently skips every .ts
// file and finds nothing wrong. So its "typescript" is sent to TypeScript 6
// (`typescript6`, as for TypeDoc in typedoc-typescript6.mjs): its import()
// through the ESM resolve hook below, its version check (a CommonJS require
// of "typescript/package.json") through Module._resolveFilename, since Node 20
// has no module.registerHooks for require().
import Module, { createRequire, register } from "node:module";

const fromCruiser = (parent) => typeof parent === "string" && parent.includes("/node_modules/dependency-cruiser/");
const isTypescript = (specifier) => /^typescript(\/|$)/.test(specifier);
const toTypescript6 = (specifier) => specifier.replace(/^typescript/, "typescript6");

/** ESM resolve hook: "typescript", imported from dependency-cruiser, is TypeScript 6. */
export async function resolve(specifier, context, nextResolve) {
  if (isTypescript(specifier) && fromCruiser(context.parentURL)) {
    return nextResolve(toTypescript6(specifier), { ...context, parentURL: import.meta.url });
  }
  return nextResolve(specifier, context);
}

// The hooks thread loads this file again as "...?hooks", for resolve() only.
if (!import.meta.url.endsWith("?hooks") && !globalThis.__boundscopeDepcruiseTypescript6) {
  globalThis.__boundscopeDepcruiseTypescript6 = true;
  register(`${import.meta.url}?hooks`);
  const require = createRequire(import.meta.url);
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    if (isTypescript(request) && fromCruiser(parent?.filename)) return require.resolve(toTypescript6(request));
    return resolveFilename.call(this, request, parent, ...rest);
  };
}
