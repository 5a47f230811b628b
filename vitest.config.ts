import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // property tests draw from one seed (ACTTRACE_SEED replays a run): see test/setup.ts
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores. Many files wait on something else much of the time (a child process starting,
    // fsync, a loopback server), so a third worker keeps the cores busy where two left a third of
    // their time idle; more would only make the processor-bound files wait for each other.
    pool: "forks",
    poolOptions: { forks: { maxForks: 3, minForks: 1 } },
    // CI also writes a machine-readable summary (.ci/run prints its closing line)
    reporters: process.env["CI"] === "true" ? ["default", "json"] : ["default"],
    outputFile: { json: "test-results.json" }
  }
})
