// Blocks: nothing. Harness self-test: the global that the isolated fixture
// must-compile/isolated-declares-global.ts declares is not visible here, so
// this line fails with TS2304 (no such name), not the TS2322 the marker
// names. Were that fixture compiled in the shared program, the line would
// fail with TS2322 as marked, and the wrong-code named below would be missed.
// @harness-must-report wrong-code:8
// @expect-error TS2322 /./ -- the isolated fixture's global, were it shared
const seen: string = boundscopeIsolationProbe;
export {};
