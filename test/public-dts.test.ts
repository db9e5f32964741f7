/**
 * scripts/check-public-dts.mjs (in `npm test`, after the build) can fail: on
 * a tiny package whose .d.ts has an @internal member, a deny-listed `attach`
 * taking a class the entry does not export, and an @internal member inherited
 * from an unexported base class, each is reported; a clean package reports
 * nothing; and a new member shows in the snapshot diff.
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkPublicDts, diffLines } from "../scripts/check-public-dts.mjs";

const leaky = `
import type { Wiring } from "./wiring.js";
import { Base } from "./base.js";
export declare class Widget extends Base {
  #private;
  readonly size: number;
  constructor(size: number);
  /** Reads the widget. */
  read(offset: number): number;
  /**
   * Wakes the widget.
   * @internal The core calls it; users never do.
   */
  poke(): void;
  attach(wiring: Wiring): void;
}
export interface Face {
  readonly name: string;
}
`;
const wiring = `export declare class Wiring { #private; readonly pins: number; }\n`;
const base = `
export declare class Base {
  /** @internal Kept for the core. */
  hidden(): void;
  describe(): string;
}
`;
const clean = `
export declare class Widget {
  #private;
  readonly size: number;
  constructor(size: number);
  read(offset: number): number;
}
export interface Face {
  readonly name: string;
}
`;

describe("the public .d.ts check", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "boundscope-public-dts-"));
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "tiny", type: "module", types: "./index.d.ts" }));
    writeFileSync(join(dir, "index.d.ts"), leaky);
    writeFileSync(join(dir, "wiring.d.ts"), wiring);
    writeFileSync(join(dir, "base.d.ts"), base);
    writeFileSync(join(dir, "clean.d.ts"), clean);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reports an @internal member, a deny-listed attach, an unexported class in a signature, and an inherited @internal member", () => {
    const { lines, problems } = checkPublicDts(join(dir, "index.d.ts"));
    expect(problems).toEqual([
      "Widget.attach: \"attach\" is on the deny list of internals (the bus connects a device model to its device)",
      "Widget.attach: its type names Wiring, a class the package entry does not export",
      "Widget.hidden: its JSDoc says @internal",
      "Widget.poke: its JSDoc says @internal",
    ]);
    // Inherited members are on the surface; #private is not.
    expect(lines).toContain("Widget.describe: method: () => string");
    expect(lines).toContain("Widget: class Widget extends Base");
    expect(lines.some((line) => line.includes("#private"))).toBe(false);
  });

  it("reports nothing for a package with only public members", () => {
    const { lines, problems } = checkPublicDts(join(dir, "clean.d.ts"));
    expect(problems).toEqual([]);
    expect(lines).toEqual([
      "Face.name: readonly property: string",
      "Face: interface Face",
      "Widget.constructor: public: new (size: number) => Widget",
      "Widget.read: method: (offset: number) => number",
      "Widget.size: readonly property: number",
      "Widget: class Widget",
    ]);
  });

  it("a member not in the snapshot is a difference", () => {
    const snapshot = checkPublicDts(join(dir, "clean.d.ts")).lines;
    const now = checkPublicDts(join(dir, "index.d.ts")).lines;
    const diff = diffLines(snapshot, now);
    expect(diff).toContain("+ Widget.poke: method: () => void");
    expect(diff).toContain("- Widget: class Widget");
  });
});
