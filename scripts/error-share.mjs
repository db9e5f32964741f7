// `node scripts/error-share.mjs FILE...`: how well boundscope's type errors
// explain themselves. Each FILE is what `node scripts/type-tests.mjs
// --messages FILE` wrote: the error each must-not-compile marker expects, as
// each compiler reported it. An error "names its rule in words" when its first
// two lines name the broken rule: a brand key (`[tokenOfOneBindingOnly]`,
// `[memoryOfOneBindingOnly]`, the core-context key, …), the token's private
// member, the witness's "another binding", or the context a callback claims.
// Prints, per compiler, the share of marked errors that do, and lists the
// ones that do not, so a reader can judge the measure.
import { readFileSync } from "node:fs";
import { parseCommandLine } from "./lib/args.mjs";

/**
 * The words that name a rule: the brand keys, the token's private member, the
 * witness's results, and, for declaration merging, the compiler's own words
 * for a redeclaration it refuses.
 */
export const RULE_WORDS =
  /OfOneBindingOnly|OnlyInProbeOrRemove|ContextNotCore|plainDeviceGrantsNothing|onlyDefineDriverMakesADriver|onlyTheDriverCoreMintsTokens|#private|another binding|this binding|Duplicate identifier|Subsequent (?:property|variable) declarations must have the same type/;

/** Per compiler: how many marked errors name their rule in their first two lines, of how many. */
export function share(records) {
  const out = new Map();
  for (const r of records) {
    // A marker may expect no error from one compiler (`ts54=none`): nothing to word.
    if (r.chain.length === 0) continue;
    const compiler = r.config.replace(/-.*/, "");
    const entry = out.get(compiler) ?? { named: 0, total: 0, missing: [] };
    const head = r.chain.slice(0, 2).join("\n");
    entry.total++;
    if (RULE_WORDS.test(head)) entry.named++;
    else if (r.config.endsWith("-strict")) entry.missing.push(`${r.fixture}:${r.line} (${r.reason}): ${head.replace(/\n/g, " / ") || "no error"}`);
    out.set(compiler, entry);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals } = parseCommandLine({ usage: "usage: node scripts/error-share.mjs FILE...", options: {}, positionals: Infinity });
  for (const file of positionals) {
    const records = JSON.parse(readFileSync(file, "utf8"));
    console.log(`${file}:`);
    for (const [compiler, { named, total, missing }] of share(records)) {
      console.log(`  ${compiler}: ${named} of ${total} marked errors (${((100 * named) / total).toFixed(0)}%) name their rule in their first two lines`);
      for (const m of missing) console.log(`    not: ${m}`);
    }
  }
}
