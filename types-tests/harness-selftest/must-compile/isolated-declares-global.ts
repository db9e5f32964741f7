// Harness self-test: an isolated fixture is compiled in a program of its own,
// so the global it declares reaches no other fixture (see
// must-not-compile/isolation-holds.ts); its own error is reported as usual.
// @isolated -- declares a global that must not reach the shared program
// @harness-must-report unexpected-error:12
declare global {
  var boundscopeIsolationProbe: number;
}
export {};

const seen: number = boundscopeIsolationProbe;
const wrong: string = boundscopeIsolationProbe;
void [seen, wrong];
