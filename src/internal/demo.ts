/**
 * `acttrace demo`: the main job on the embedded default, no server and no network.
 *
 * It writes a small signed log of a loan-triage agent, verifies it, then tampers with copies the
 * way an insider might (edit a decision, delete an entry, cut the tail) and shows that each is
 * caught. The writer service of the next release replaces the hand-built entries here.
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Entry from "../Entry.js"
import { GENESIS } from "../Hash.js"
import * as Signer from "../Signer.js"
import * as Verify from "../Verify.js"
import { VERSION } from "./version.js"

const DEMO_KEY = "acttrace-demo-key"

interface Application {
  readonly id: string
  readonly income: number
  readonly amount: number
}

const APPLICATIONS: ReadonlyArray<Application> = [
  { id: "app-1001", income: 84000, amount: 12000 },
  { id: "app-1002", income: 31000, amount: 45000 },
  { id: "app-1003", income: 56000, amount: 20000 }
]

/** A deterministic stand-in for a model: scores debt-to-income, no network. */
const triage = (a: Application) => {
  const ratio = a.amount / a.income
  return { ratio: Math.round(ratio * 1000) / 1000, label: ratio < 0.3 ? "approve" : ratio < 0.6 ? "refer" : "decline" }
}

const hex32 = (n: number) => n.toString(16).padStart(32, "0")

/** The entries of the demo run, in order (type and payload). */
const script = (): Array<{ type: string; payload: Record<string, unknown> }> => {
  const out: Array<{ type: string; payload: Record<string, unknown> }> = [
    { type: "audit_open", payload: { system: "loan-triage", risk_tier: "high", format: "acttrace-chain/1", producer: `acttrace/${VERSION}` } }
  ]
  APPLICATIONS.forEach((a, i) => {
    const decision_id = hex32(0xd0 + i)
    const verdict = triage(a)
    out.push({ type: "decision", payload: { decision_id, input: { application: a.id }, actor: "triage-agent" } })
    out.push({
      type: "llm_call",
      payload: {
        decision_id,
        provider: "local",
        model: "triage-rules-1",
        usage: { input_tokens: 212, output_tokens: 18, cached_tokens: 0, reasoning_tokens: 0, cache_write: 0 },
        cost: null,
        latency_ms: 1.5,
        replayed: false,
        finish_reason: "stop",
        outcome: "success"
      }
    })
    out.push({ type: "tool_call", payload: { decision_id, name: "credit_bureau.lookup", arguments: { application: a.id }, outcome: "success", latency_ms: 0.25 } })
    out.push({ type: "decision_record", payload: { decision_id, debt_to_income: verdict.ratio, recommendation: verdict.label } })
    if (verdict.label !== "approve") {
      out.push({ type: "human_oversight", payload: { decision_id, reviewer: "underwriter-7", action: verdict.label === "refer" ? "approved" : "confirmed", note: "checked income documents" } })
    }
    out.push({ type: "decision_end", payload: { decision_id, outcome: "success", duration_ms: 12 } })
  })
  return out
}

export const runDemo = (outDir: string, key: Redacted.Redacted<string> | undefined) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const usedKey = key ?? Redacted.make(DEMO_KEY)
    if (key === undefined) yield* Console.log(`No --key given: signing with the demo key "${DEMO_KEY}".`)
    const signer = yield* Signer.makeHmac(usedKey)
    yield* fs.makeDirectory(outDir, { recursive: true })

    const lines: Array<string> = []
    let prev = GENESIS
    const start = Date.UTC(2026, 10, 27, 9, 0, 0)
    for (const [seq, e] of script().entries()) {
      const ts = new Date(start + seq * 250).toISOString().replace("Z", "000+00:00")
      const sealed = Entry.seal({ prevHash: prev, seq, ts, type: e.type, payload: e.payload }, signer.sign)
      if (Either.isLeft(sealed)) return yield* sealed.left
      lines.push(sealed.right.line)
      prev = sealed.right.hash
    }
    const head = prev
    const logPath = path.join(outDir, "loan-triage.log.jsonl")
    yield* fs.writeFileString(logPath, lines.join("\n") + "\n")

    const check = (file: string, options: Verify.Options) =>
      Effect.map(Verify.fileOutcome(file, { key: usedKey, ...options }), (o) =>
        Either.match(o.result, {
          onRight: (r) => `ok: ${r.entries} entries, head ${r.head.slice(0, 12)}… (signatures ${r.signatures}; completeness: ${r.completeness})`,
          onLeft: (err) => err.message
        })
      )

    yield* Console.log(`\nWrote ${lines.length} signed entries for ${APPLICATIONS.length} loan decisions to ${logPath}`)
    yield* Console.log(`Head (keep it out of band): ${head}`)
    yield* Console.log(`\nverify ${logPath}\n  ${yield* check(logPath, { expectedHead: head })}`)

    const tampered: Array<[string, string, Array<string>]> = []
    const edited = lines.map((l) => l.replace('"recommendation":"decline"', '"recommendation":"approve"'))
    tampered.push(["edited.jsonl", "a declined loan rewritten as approved", edited])
    tampered.push(["deleted.jsonl", "a human-oversight entry removed", lines.filter((l) => !l.includes('"type":"human_oversight"') || !l.includes('"action":"confirmed"'))])
    tampered.push(["truncated.jsonl", "the last decision cut off", lines.slice(0, -7)])
    for (const [name, what, content] of tampered) {
      const file = path.join(outDir, name)
      yield* fs.writeFileString(file, content.join("\n") + "\n")
      yield* Console.log(`\nverify ${file}   (${what})\n  ${yield* check(file, { expectedHead: head })}`)
    }
    // name the CLI the way this process was started, so the hint can be pasted as it is
    const started = process.argv[1] ?? ""
    const self = started.endsWith(path.join("bin", "acttrace.js")) ? `node ${path.relative(process.cwd(), started)}` : "acttrace"
    yield* Console.log(`\nEverything is in ${outDir}. Try: ${self} verify ${logPath} --key ${key === undefined ? DEMO_KEY : "…"} --expected-head ${head}`)
  })
