// Harness self-test: must-compile fixtures take no markers.
// @harness-must-report marker-in-must-compile:6
import { defineDriver } from "boundscope";

export const fine = defineDriver({ name: "fine", ids: [{ vendor: 1, device: 1 }], probe: () => ({}) });
// @expect-error TS2322 /anything/ -- does not belong here
export const name: string = fine.name;
