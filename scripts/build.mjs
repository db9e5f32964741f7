// Emits dist/: ESM JavaScript and .d.ts, by the native compiler (TypeScript 7).
//
//   node scripts/build.mjs
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseCommandLine } from "./lib/args.mjs";
import { root } from "./lib/paths.mjs";

parseCommandLine({ usage: "usage: node scripts/build.mjs\n\nEmits dist/ (JavaScript and .d.ts) with TypeScript 7. No options." });
rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
