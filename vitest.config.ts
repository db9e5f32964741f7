import { defineConfig } from "vitest/config";

export default defineConfig({
  // The examples import "boundscope" as users do; in tests that is the source.
  resolve: {
    alias: [
      { find: /^boundscope\/testing$/, replacement: new URL("./src/testing/index.ts", import.meta.url).pathname },
      { find: /^boundscope$/, replacement: new URL("./src/index.ts", import.meta.url).pathname },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    // The suite is CPU-light and mostly promise-driven; two workers fit a 2-core CI box.
    maxWorkers: 2,
    testTimeout: 20_000,
  },
});
