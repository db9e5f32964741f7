/**
 * `npm run demo`: the example drivers on a simulated machine, narrated.
 */

import { runDmaSample } from "./dma-sample.js";
import { runEscape } from "./escape.js";

const say = (line: string): void => console.log(`  ${line}`);

console.log("dma-sample: probe writes five structs to coherent memory, remove reads them back");
await runDmaSample(say);

console.log("\nescape: a token smuggled out of probe through a closure");
await runEscape(say);
