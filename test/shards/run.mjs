// Runs the sharded scenario of ./scenario.mjs with 1 and with N workers and
// prints what each found, as JSON: test/testing-shards.test.ts compares them.
//   node test/shards/run.mjs <exportName> <workers> <budget>
import { explore } from "boundscope/testing";
import * as scenarios from "./scenario.mjs";

const [exportName, workers, budget] = process.argv.slice(2);
const module = new URL("./scenario.mjs", import.meta.url).href;
const report = await explore(scenarios[exportName], { workers: Number(workers), module, exportName, budget: Number(budget) });
console.log(JSON.stringify({ ok: report.ok, schedules: report.schedules, planned: report.planned, schedule: report.failure?.schedule, index: report.failure?.index, problems: report.failure?.problems }));
