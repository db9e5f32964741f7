/**
 * Where something happened in the driver's code: the allocation and free
 * sites the DMA checker names.
 *
 * Cheap by construction: an `Error` captures V8's structured stack at once
 * but formats it only when `.stack` is read, which the checker does only for
 * a violation. So sites can stay on in every test.
 *
 * Kernel: dma-debug's stack traces of the mapping call (`debug_dma_dump_mappings`).
 *
 * # Invariants
 * - A site is formatted only when a violation is worded, never on the hot path.
 *
 * @module
 */

/** A captured call site; formatted only when a violation needs it. */
export type Site = Error;

export function captureSite(libraryFrames = 7): Site {
  // Capturing a frame costs about as much as the rest of the capture (V8
  // rebuilds inlined frames of optimized code one by one), and the checker
  // captures a site at every map, sync and unmap. Only the first frame
  // outside the library is ever shown: so keep this frame, the library's own
  // (`libraryFrames`, as the caller counts them: itself and the public
  // function above it), the driver's, and one to spare.
  const limit = V8Error.stackTraceLimit;
  V8Error.stackTraceLimit = libraryFrames + 3;
  const site = new Error("site");
  V8Error.stackTraceLimit = limit;
  return site;
}

/** `Error` with V8's `stackTraceLimit`, which the ECMAScript lib does not declare. Safe: Node.js is V8. */
const V8Error = Error as ErrorConstructor & { stackTraceLimit: number };

/**
 * This library's own folder, whose frames a site skips: the folder two levels
 * above this file's own frame (`…/dist/internal/site.js` gives `…/dist/`).
 */
const here = /\(?((?:file:\/\/)?[^()\s]*\/)internal\/site\.[jt]s:\d+:\d+\)?$/m.exec(new Error().stack ?? "")?.[1] ?? "\0";

/**
 * The first frame of `site` outside boundscope, like `probe (drivers/nic.ts:42:17)`.
 * A site with no such frame was the core's own doing: devres release at
 * unbind, the only place the library frees on a driver's behalf.
 */
export function formatSite(site: Site | undefined): string {
  if (site === undefined) return "unknown (dmaDebug was off)";
  const frames = (site?.stack ?? "").split("\n").slice(1);
  for (const frame of frames) {
    if (frame.includes(here) || frame.includes("node:internal")) continue;
    return frame.trim().replace(/^at /, "");
  }
  return "devres release at unbind";
}
