import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // property tests draw from one seed (ACTTRACE_SEED replays a run): see test/setup.ts
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // CLI tests start processes; two cores, so keep parallelism modest
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // CI also writes a machine-readable summary (.ci/run prints its closing line)
    reporters: process.env["CI"] === "true" ? ["default", "json"] : ["default"],
    outputFile: { json: "test-results.json" }
  }
})
