/**
 * The hostile-input rows of each area of the library, one module per area:
 * each exports its `rows` (in the shape of `Row` in `../hostile-table.ts`)
 * and the `entries` it covers, in README order. `../hostile-table.ts`
 * appends them to its table.
 */

import type { Row } from "../hostile-table.js";
import * as context from "./context.js";
import * as devres from "./devres.js";
import * as ids from "./ids.js";
import * as irq from "./irq.js";
import * as pci from "./pci.js";
import * as subsys from "./subsys.js";
import * as tree from "./tree.js";
import * as testing from "./testing.js";
import * as watchdog from "./watchdog.js";

/** Every area's rows, in the order of the modules below. */
export const AREA_ROWS: readonly Row[] = [...context.rows, ...watchdog.rows, ...ids.rows, ...devres.rows, ...pci.rows, ...irq.rows, ...subsys.rows, ...tree.rows, ...testing.rows];

/** Every area's entry points, in README order. */
export const AREA_ENTRY_POINTS: readonly string[] = [...context.entries, ...watchdog.entries, ...ids.entries, ...devres.entries, ...pci.entries, ...irq.entries, ...subsys.entries, ...tree.entries, ...testing.entries];
