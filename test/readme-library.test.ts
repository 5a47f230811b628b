// The README's "As a library" verification example, exactly as it is printed there (only the
// package's name is this repository's path), run as a test; the first test holds the two texts equal.
import { Config, Effect } from "effect"
import * as Verify from "../src/Verify.js"

const report = Effect.flatMap(Config.redacted("ACTTRACE_KEY"), (key) => Verify.file("pack.jsonl", { key }))
// Effect<Report, ConfigError | MalformedLine | EditDetected | ReorderDetected | DeletionDetected
//        | TruncationDetected | SignatureInvalid | HeaderInvalid | Unreadable, FileSystem>

// ---------------------------------------------------------------------------------------------
// (not part of the example)

import { mkdtempSync, readFileSync, rmSync } from "node:fs"
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

const KEY = "readme-key"
const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("the README's verification example", () => {
  it("prints this file's example, word for word", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const after = readme.slice(readme.indexOf("Verification is an Effect program too"))
    const printed = /```ts\n([\s\S]*?)```/.exec(after)?.[1]
    const here = readFileSync(new URL(import.meta.url), "utf8")
    const example = here.slice(here.indexOf("\n", here.indexOf("// package's name")) + 1, here.indexOf("\n// -----"))
    expect(printed?.replace('from "acttrace/Verify"', 'from "../src/Verify.js"')).toBe(example)
  })

  it.effect("without ACTTRACE_KEY: a typed ConfigError naming the variable, not a defect from inside the verifier", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(report.pipe(withEnv({}), Effect.provide(NodeFileSystem.layer)))
      expect(error._tag).toBe("ConfigError")
      expect(String(error)).toContain("ACTTRACE_KEY")
    })
  )

  it.live("with ACTTRACE_KEY: verifies a pack the README's writer exported, signatures checked", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "acttrace-readme-"))
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
        const log = yield* AuditLog.AuditLog
        yield* log.export(join(dir, "pack.jsonl"), { framework: "eu_ai_act" })
      }).pipe(Effect.provide(Audit))
      // the example names the pack relative to the working directory
      process.chdir(dir)
      const r = yield* report.pipe(withEnv({ ACTTRACE_KEY: KEY }), Effect.provide(NodeFileSystem.layer))
      expect(r.entries).toBe(4)
      expect(r.signatures).toBe("verified")
      expect(r.completeness).toBe("signed-header")
      // and another key is a verdict about the pack, not a crash
      const wrong = yield* Effect.flip(report.pipe(withEnv({ ACTTRACE_KEY: "another" }), Effect.provide(NodeFileSystem.layer)))
      expect(wrong._tag).toBe("SignatureInvalid")
    }).pipe(Effect.scoped)
  )
})
