/**
 * The CLI's own code (`main` of src/internal/cli.ts, what bin/acttrace.js runs), run in the test's
 * process with its output caught: its arguments, key handling, file reading, verdict text and exit
 * code, without the start-up of a process per call. Tests that hold the executable itself (the
 * bundle, the process's exit code, what reaches a real stderr) spawn it; see helpers.ts `cli`.
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { main } from "../src/internal/cli.js"
import type { CliResult } from "./helpers.js"

/**
 * `acttrace ARGS` in this process; what it printed and its exit code. `env` is set in
 * `process.env` for the run (as `cli` gives it to the child: ACTTRACE_KEY empty unless given) and
 * put back after it.
 */
export const cliInProcess = async (args: ReadonlyArray<string>, env: Record<string, string> = {}): Promise<CliResult> => {
  const given: Record<string, string> = { ACTTRACE_KEY: "", ...env }
  const before = Object.fromEntries(Object.keys(given).map((k) => [k, process.env[k]]))
  Object.assign(process.env, given)
  try {
    return await run(args)
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

const run = (args: ReadonlyArray<string>): Promise<CliResult> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const stdout: Array<string> = []
      const stderr: Array<string> = []
      const base = yield* Effect.console
      const caught = {
        ...base,
        log: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stdout.push(xs.join(" "))),
        error: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stderr.push(xs.join(" ")))
      }
      const code = yield* Effect.withConsole(main(["node", "acttrace", ...args]), caught)
      return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
    }).pipe(Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)))
  )
