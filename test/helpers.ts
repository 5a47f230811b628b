import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Verify from "../src/Verify.js"

export const ROOT = resolve(import.meta.dirname, "..")
export const BIN = join(ROOT, "bin", "acttrace.js")
export const SHARED = resolve(ROOT, "..", "shared")
export const CONFORMANCE = join(SHARED, "conformance")

/**
 * The shared conformance material sits beside the repository. A user's clone has none: those
 * suites skip with a visible message. CI always has it, so there a missing folder fails.
 */
export const hasShared = (): boolean => {
  if (existsSync(join(CONFORMANCE, "cases.json"))) return true
  if (process.env["CI"] === "true") throw new Error(`CI=true but ${CONFORMANCE} is missing`)
  console.warn(`SKIPPED: ${CONFORMANCE} not found; the conformance suites need ../shared beside the repository`)
  return false
}

export interface CliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}, input?: string): CliResult => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ACTTRACE_KEY: "", ...env },
    timeout: 120_000,
    input
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

export const tempDir = (): { readonly dir: string; readonly cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), "acttrace-test-"))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Verify a file through the library with the Node file system. */
export const verifyFile = (path: string, options: Verify.Options = {}) =>
  Effect.runPromise(Verify.fileOutcome(path, options).pipe(Effect.provide(NodeFileSystem.layer)))

export const tagOf = (o: Verify.Outcome): string => (Either.isRight(o.result) ? "ok" : o.result.left._tag)

/** Verify lines held in memory; the verdict's tag. */
export const verdict = (lines: ReadonlyArray<string>, options: Verify.Options = {}): string => {
  const r = Verify.lines(lines, options)
  return Either.isRight(r) ? "ok" : r.left._tag
}
