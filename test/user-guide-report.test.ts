// The user guide's Report example ("Reading a pack: report, inspect, show"), exactly as it is
// printed there (only the package's name is this repository's path), run as a test; the first test holds the two texts equal.
import { Config, Effect } from "effect"
import * as Report from "../src/Report.js"

// the figures inspect --json prints, for a check in code
const reviewed = Effect.map(Report.summarize("pack.jsonl"), (s) => ({
  intact: s.verdict.ok,
  decisions: s.decisions.total,
  withOversight: s.decisions.with_oversight
}))

// the HTML report, the pack's signatures checked with the key in ACTTRACE_KEY
const written = Effect.flatMap(Config.redacted("ACTTRACE_KEY"), (key) =>
  Report.write("pack.jsonl", "report.html", { key }))
// Effect<Written, ConfigError | InputUnreadable | NotJsonLines | OutputUnwritable
//        | PublicKeyInvalid, FileSystem>

// ---------------------------------------------------------------------------------------------
// (not part of the example)

import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"

const KEY = "guide-key"
const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("the user guide's Report example", () => {
  it("prints this file's example, word for word", () => {
    const guide = readFileSync(new URL("../docs/user-guide.md", import.meta.url), "utf8")
    const section = guide.slice(guide.indexOf("## Reading a pack: report, inspect, show"))
    const printed = /```ts\n([\s\S]*?)```/.exec(section)?.[1]
    const here = readFileSync(new URL(import.meta.url), "utf8")
    const example = here.slice(here.indexOf("\n", here.indexOf("// printed there")) + 1, here.indexOf("\n// -----"))
    expect(printed?.replace('from "acttrace/Report"', 'from "../src/Report.js"')).toBe(example)
  })

  it.live("summarizes and writes the report of a pack the guide's writer exported", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "acttrace-guide-report-"))
      const cwd = process.cwd()
      yield* Effect.addFinalizer(() => Effect.sync(() => {
        process.chdir(cwd)
        rmSync(dir, { recursive: true, force: true })
      }))
      const Audit = AuditLog.layer({ system: "loan-triage", riskTier: "high" }).pipe(
        Layer.provide(Store.layerFile(join(dir, "audit.jsonl"))),
        Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
        Layer.provide(Redactor.layerDefault),
        Layer.provideMerge(NodeFileSystem.layer)
      )
      yield* Effect.gen(function* () {
        yield* AuditLog.withDecision({ input: { id: "app-1001" }, actor: "triage-agent" }, (d) => d.record({ recommendation: "refer" }))
        yield* AuditLog.withDecision({ input: { id: "app-1002" }, actor: "triage-agent" }, (d) =>
          Effect.andThen(d.record({ recommendation: "decline" }), d.humanOversight({ reviewer: "underwriter-7", action: "approved" })))
        const log = yield* AuditLog.AuditLog
        yield* log.export(join(dir, "pack.jsonl"), { framework: "eu_ai_act" })
      }).pipe(Effect.provide(Audit))
      // the example names the pack relative to the working directory
      process.chdir(dir)
      const r = yield* reviewed.pipe(Effect.provide(NodeFileSystem.layer))
      expect(r).toEqual({ intact: true, decisions: 2, withOversight: 1 })
      const w = yield* written.pipe(withEnv({ ACTTRACE_KEY: KEY }), Effect.provide(NodeFileSystem.layer))
      expect(w.embedded).toBe(true)
      expect(w.summary.verdict).toMatchObject({ ok: true, signatures: "verified", completeness: "signed-header" })
      expect(statSync(join(dir, "report.html")).size).toBe(w.bytes)
      expect(readFileSync(join(dir, "report.html"), "utf8")).toContain(`id="browser-verdict"`)
      // without the key: a typed ConfigError naming the variable, and no report
      const error = yield* Effect.flip(written.pipe(withEnv({}), Effect.provide(NodeFileSystem.layer)))
      expect(error._tag).toBe("ConfigError")
    }).pipe(Effect.scoped)
  )
})
