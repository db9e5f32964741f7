// Blocks: nothing. Harness self-test: a must-not-compile fixture without a
// single marker proves nothing, even when it compiles.
// @harness-must-report no-expectations
import { defineDriver } from "boundscope";

export const fine = defineDriver({ name: "fine", ids: [{ vendor: 1, device: 1 }], probe: () => ({}) });
