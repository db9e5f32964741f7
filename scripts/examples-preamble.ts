// What every @example in src/ and every ```ts block of README.md may use
// without declaring it, checked by scripts/check-examples.mjs. Besides these,
// the script makes every public export of boundscope (src/index.ts) and of
// boundscope/testing (src/testing/index.ts) a global under its own name, as
// `import { … } from "boundscope"` would. All of them
// are globals, so a snippet's own import or declaration of a name wins.
// Anything else a snippet uses, it declares itself.
declare global {
  /** The scope of `dev`'s binding: the type `probe` is generic in. */
  interface Scope {
    readonly binding: unique symbol;
  }
  /** A machine, as `new Machine()` makes it. */
  const machine: Machine;
  /** The token inside `probe(dev)` and `remove(dev)`, live for its binding. */
  const dev: ProbeDevice<Scope>;
  /** A driver, as `defineDriver` makes it (boundscope/testing's examples set it up). */
  const driver: Driver;
  /** A driver under test, as `defineScenario` makes it (boundscope/testing). */
  const scenario: Scenario;
}

export {};
