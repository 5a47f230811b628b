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

/** `acttrace ARGS` in this process; what it printed and its exit code. */
export const cliInProcess = (args: ReadonlyArray<string>): Promise<CliResult> =>
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
