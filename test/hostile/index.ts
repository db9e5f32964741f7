/**
 * The hostile-input rows of each area of the library, one module per area:
 * each exports its `rows` (in the shape of `Row` in `../hostile-table.ts`)
 * and the `entries` it covers, in README order. `../hostile-table.ts`
 * appends them to its table.
 */

import type { Row } from "../hostile-table.js";

/** Every area's rows, in the order of the modules below. */
export const AREA_ROWS: readonly Row[] = [];

/** Every area's entry points, in README order. */
export const AREA_ENTRY_POINTS: readonly string[] = [];
