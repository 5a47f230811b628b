/**
 * `acttrace demo`: the main job on the embedded default (a file store), no server and no network.
 *
 * A small loan-triage agent decides three applications with a deterministic local model. Every
 * decision is a scoped resource of the audit log; the model and tool calls, the agent's record
 * and the underwriter's review land in a signed log. The log is exported as an `eu_ai_act`
 * evidence pack, the pack is verified, and tampered copies of it (an edit, a deletion, a cut
 * tail) are verified to show each detection. Run twice, it continues the same log.
 * @internal
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../AuditLog.js"
import { formatTimestamp } from "../Chain.js"
import * as Redactor from "../Redactor.js"
import * as Signer from "../Signer.js"
import * as Store from "../Store.js"
import * as Verify from "../Verify.js"
import { verdictText } from "./messages.js"

const DEMO_KEY = "acttrace-demo-key"

interface Application {
  readonly id: string
  readonly email: string
  readonly income: number
  readonly amount: number
}

const APPLICATIONS: ReadonlyArray<Application> = [
  { id: "app-1001", email: "ana.silva@example.com", income: 84000, amount: 12000 },
  { id: "app-1002", email: "li.wei@example.org", income: 31000, amount: 45000 },
  { id: "app-1003", email: "sam.okafor@example.net", income: 56000, amount: 20000 }
]

class BureauUnavailable extends Error {
  override readonly name = "BureauUnavailable"
}

/** A deterministic stand-in for a model: scores debt-to-income, no network. */
const model = (a: Application) => {
  const ratio = a.amount / a.income
  return {
    ratio: Math.round(ratio * 1000) / 1000,
    label: ratio < 0.3 ? "approve" : ratio < 0.6 ? "refer" : "decline",
    usage: { input_tokens: 212 + a.id.length, output_tokens: 18, cached_tokens: 0, reasoning_tokens: 0, cache_write: 0 }
  }
}

/** The agent: one decision per application, every call recorded inside it. */
const agent = Effect.gen(function*() {
  const log = yield* AuditLog.AuditLog
  let decided = 0
  for (const a of APPLICATIONS) {
    const run = log.withDecision({ input: { application: a.id, applicant: a.email, amount: a.amount }, actor: "triage-agent" }, (d) =>
      Effect.gen(function*() {
        // every call says when it started, as captured calls do
        const startedAt = formatTimestamp(yield* Clock.currentTimeNanos)
        const started = performance.now()
        const verdict = model(a)
        yield* log.append("llm_call", {
          provider: "local",
          model: "triage-rules-1",
          usage: verdict.usage,
          cost: "0.000000 USD",
          latency_ms: Math.round((performance.now() - started) * 1000) / 1000,
          started_at: startedAt,
          replayed: false,
          finish_reason: "stop",
          outcome: "success"
        })
        const lookupAt = formatTimestamp(yield* Clock.currentTimeNanos)
        // the bureau is down for one applicant: that decision ends in failure, and the log says so
        if (a.id === "app-1003") {
          yield* log.append("tool_call", { name: "credit_bureau.lookup", arguments: { application: a.id }, outcome: "failure", latency_ms: 0.5, started_at: lookupAt })
          return yield* Effect.fail(new BureauUnavailable("credit bureau did not answer"))
        }
        yield* log.append("tool_call", { name: "credit_bureau.lookup", arguments: { application: a.id }, outcome: "success", latency_ms: 0.25, started_at: lookupAt })
        yield* d.record({ debt_to_income: verdict.ratio, recommendation: verdict.label })
        if (verdict.label !== "approve") {
          yield* d.humanOversight({ reviewer: "underwriter-7", action: verdict.label === "refer" ? "approved" : "confirmed", note: "checked income documents" })
        }
        decided++
      })
    )
    yield* run.pipe(Effect.catchIf((e): e is BureauUnavailable => e instanceof BureauUnavailable, () => Effect.void))
  }
  return decided
})

/**
 * Create `dir` and its missing parents one level at a time. (Node's recursive mkdir never returns
 * for a path it cannot create under some parents, such as `/proc/x`: it retries forever.)
 */
const makeDirectories = (fs: FileSystem.FileSystem, path: Path.Path, dir: string): Effect.Effect<void, PlatformError> =>
  Effect.gen(function*() {
    const exists = yield* fs.exists(dir)
    if (exists) return
    const parent = path.dirname(dir)
    if (parent !== dir) yield* makeDirectories(fs, path, parent)
    yield* fs.makeDirectory(dir).pipe(Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.void))
  })

export const runDemo = (outDir: string, key: Redacted.Redacted<string> | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const usedKey = key ?? Redacted.make(DEMO_KEY)
    if (key === undefined) yield* Console.log(`No key given (--key-file F or ACTTRACE_KEY): signing with the demo key "${DEMO_KEY}".`)
    yield* makeDirectories(fs, path, path.resolve(outDir))
    const logPath = path.join(outDir, "loan-triage.log.jsonl")
    const packPath = path.join(outDir, "loan-triage.pack.jsonl")

    const live = AuditLog.layer({ system: "loan-triage", riskTier: "high" }).pipe(
      Layer.provide(Store.layerFile(logPath)),
      Layer.provide(Signer.layerHmac(usedKey)),
      Layer.provide(Redactor.layerDefault)
    )
    const { decided, exported } = yield* Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      const before = yield* log.position
      const decided = yield* agent
      const exported = yield* log.export(packPath, { framework: "eu_ai_act" })
      return { decided, exported, before }
    }).pipe(Effect.provide(live))

    yield* Console.log(`\nThe triage agent decided ${decided} of ${APPLICATIONS.length} applications (the credit bureau failed one); every call is in ${logPath}`)
    yield* Console.log(
      `Exported ${exported.entries} entries to ${packPath} for eu_ai_act (${exported.controlsCovered.length} controls; ${exported.summary.decisions} decisions, ${exported.summary.llm_calls} model calls, ${exported.summary.policy_flags} policy flags)`
    )
    yield* Console.log(`Head (keep it out of band): ${exported.head}`)

    const check = (file: string) =>
      Effect.map(Verify.fileOutcome(file, { key: usedKey }), (o) =>
        Either.match(o.result, {
          onRight: (r) => `ok: ${r.entries} entries, head ${r.head.slice(0, 12)}… (signatures ${r.signatures}; completeness: ${r.completeness})`,
          onLeft: verdictText
        })
      )
    yield* Console.log(`\nverify ${packPath}\n  ${yield* check(packPath)}`)

    const pack = (yield* fs.readFileString(packPath)).split("\n").filter((l) => l.length > 0)
    const tampered: Array<[string, string, Array<string>]> = [
      ["edited.pack.jsonl", "a declined loan rewritten as approved", pack.map((l) => l.replace('"recommendation":"decline"', '"recommendation":"approve"'))],
      ["deleted.pack.jsonl", "a human-oversight entry removed", pack.filter((l) => !l.includes('"type":"human_oversight"'))],
      ["truncated.pack.jsonl", "the last decision cut off", pack.slice(0, -6)]
    ]
    for (const [name, what, content] of tampered) {
      const file = path.join(outDir, name)
      // copies of a pack: as private as the pack
      yield* fs.writeFileString(file, content.join("\n") + "\n", { mode: 0o600 })
      yield* Console.log(`\nverify ${file}   (${what})\n  ${yield* check(file)}`)
    }
    // name the CLI the way this process was started, so the hint can be pasted as it is
    const started = process.argv[1] ?? ""
    const self = started.endsWith(path.join("bin", "acttrace.js")) ? `node ${path.relative(process.cwd(), started)}` : "acttrace"
    yield* Console.log(`\nEverything is in ${outDir}:`)
    yield* Console.log(`  ${logPath}   the live log (run the demo again to continue it)`)
    yield* Console.log(`  ${packPath}   the evidence pack`)
    yield* Console.log(`  ${tampered.map(([n]) => path.join(outDir, n)).join(", ")}   tampered copies`)
    // the key through the environment, not the command line (where ps shows it to everyone)
    yield* Console.log(`Try: ACTTRACE_KEY=${key === undefined ? DEMO_KEY : "…"} ${self} verify ${packPath} --expected-head ${exported.head}`)
  })
