import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests run against the TypeScript sources; one test (test/esm-import.test.ts)
// checks that the built packages import from plain Node ESM.
export default defineConfig({
  resolve: {
    alias: {
      "@gavel/conventions": src("./packages/conventions/src/index.ts"),
      "@gavel/api": src("./packages/api/src/index.ts"),
      "@gavel/judges": src("./packages/judges/src/index.ts"),
      "@gavel/sdk": src("./packages/sdk/src/index.ts"),
      "@gavel/collector": src("./collector/src/index.ts"),
    },
  },
  test: {
    include: ["packages/*/src/**/*.test.ts", "collector/src/**/*.test.ts", "test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
