// `npm run fuzz -- --runs N --seed S`: a long lifecycle fuzzing campaign.
// Runs the very property `npm test` runs (test/fuzz/lifecycle.ts), bundled by
// esbuild together with the sources it imports from src/, so the campaign
// checks the working tree as the unit tests do. Prints runs per second and
// commands as it goes; on failure prints the seed, the path and the shrunk
// counterexample, and replays it with a trace of each command.
// `--seed S --path P` replays one failure exactly. Options: USAGE below, or --help.
import fc from "fast-check";
import { parseCommandLine, usageError, wholeNumber } from "./lib/args.mjs";
import { importBundled } from "./lib/esbuild.mjs";

const USAGE = `usage: node scripts/fuzz.mjs [--runs N] [--seed S] [--path P] [--max-commands M]

  --runs N           sequences to run (default 1000)
  --seed S           the seed (default: the time now, printed)
  --path P           replay the failure at this path (with its --seed)
  --max-commands M   commands per sequence at most (default 40, as in npm test)`;
const { values } = parseCommandLine({
  usage: USAGE,
  options: {
    runs: { type: "string", default: "1000" },
    seed: { type: "string" },
    path: { type: "string" },
    "max-commands": { type: "string", default: "40" },
  },
});
const runs = wholeNumber(USAGE, "--runs", values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : wholeNumber(USAGE, "--seed", values.seed, { signed: true });
const maxCommands = wholeNumber(USAGE, "--max-commands", values["max-commands"]);
if (values.path !== undefined && values.seed === undefined) usageError(USAGE, "--path needs the --seed it was found with");

// One fast-check instance: the property is built by the bundle and run here.
// Violation messages name source lines, as they do under vitest.
const { lifecycleProperty, stats } = await importBundled({
  entry: "test/fuzz/lifecycle.ts",
  outfile: ".tmp/fuzz/lifecycle.mjs",
  external: ["fast-check"],
  sourcemap: true,
});

if (values.path !== undefined) {
  process.exit((await replay(seed, values.path)) ? 1 : 0);
}

console.log(`lifecycle fuzzing: ${runs} sequences of up to ${maxCommands} commands, seed ${seed}`);
const started = performance.now();
const progress = setInterval(() => console.log(`  ${figures()}`), 10_000);
const details = await fc.check(lifecycleProperty({ maxCommands }), { numRuns: runs, seed });
clearInterval(progress);
const seconds = (performance.now() - started) / 1000;

if (!details.failed) {
  console.log(`passed: ${details.numRuns} sequences, ${stats.commands} commands in ${seconds.toFixed(1)} s (${(details.numRuns / seconds).toFixed(1)} runs/s, ${(stats.commands / seconds).toFixed(0)} commands/s), seed ${seed}`);
  console.log(`seen: ${Object.entries(stats.seen).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  process.exit(0);
}

console.log(`FAILED after ${details.numRuns} sequences (${details.numShrinks} shrinks), ${stats.commands} commands in ${seconds.toFixed(1)} s`);
console.log(`seed ${details.seed}, path ${details.counterexamplePath}`);
console.log(`counterexample: ${JSON.stringify(details.counterexample)}`);
console.log(`error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`);
console.log(`\nreplaying: npm run fuzz -- --seed ${details.seed} --path ${details.counterexamplePath}`);
await replay(details.seed, details.counterexamplePath);
process.exit(1);

/** Runs the counterexample at `path` once, printing each command; returns true if it fails. */
async function replay(at, path) {
  const trace = (line) => console.log(`  ${line}`);
  const replayed = await fc.check(lifecycleProperty({ maxCommands, trace }), { seed: at, path, endOnFailure: true });
  if (replayed.failed) {
    console.log(`replay fails: ${replayed.errorInstance instanceof Error ? replayed.errorInstance.message : String(replayed.errorInstance)}`);
  } else {
    console.log("replay passes: the failure did not reproduce");
  }
  return replayed.failed;
}

function figures() {
  const seconds = (performance.now() - started) / 1000;
  return `${stats.runs} runs, ${stats.commands} commands, ${seconds.toFixed(0)} s, ${(stats.runs / seconds).toFixed(1)} runs/s`;
}
