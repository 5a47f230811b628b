/**
 * `acttrace demo`: the main job on the embedded default (a file store), no server and no network.
 *
 * A small loan-triage agent decides three applications with a deterministic local model. Every
 * decision is a scoped resource of the audit log; the model and tool calls, the agent's record
 * and the underwriter's review land in a signed log. The log is exported as an `eu_ai_act`
 * evidence pack, the pack is verified, and tampered copies of it (an edit, a deletion, a cut
 * tail) are verified to show each detection. Run twice, it continues the same log.
 *
 * With `--db URL --chain NAME` the live log is that chain in a database (PostgreSQL or SQLite,
 * through `Store.layerSqlUrl`, created on first use) and is verified from the database too; the
 * packs still go to the demo's directory. Several demos may write one chain at once.
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
import * as Stream from "effect/Stream"
import * as AuditLog from "../AuditLog.js"
import { formatTimestamp } from "../Chain.js"
import * as Redactor from "../Redactor.js"
import * as Signer from "../Signer.js"
import * as Store from "../Store.js"
import * as Verify from "../Verify.js"
import { verdictText } from "./messages.js"
import * as Note from "./note.js"

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

/** A CLI command run inside this process, its output caught (the demo shows what it printed). */
export type RunCommand = (args: ReadonlyArray<string>) => Effect.Effect<{ readonly code: number; readonly stdout: string; readonly stderr: string }>

/** What `acttrace demo` is given. */
export interface DemoOptions {
  /** the HMAC passphrase (`--key-file`, `ACTTRACE_KEY`, `--key`) */
  readonly key: Redacted.Redacted<string> | undefined
  /** the Ed25519 signer key text (`--private-key FILE`): checkpoints, and the public-key part of the demo */
  readonly privateKey?: Redacted.Redacted<string> | undefined
  /** runs `acttrace ARGS` (the CLI's own code, in this process) for the public-key part */
  readonly run?: RunCommand | undefined
  /**
   * `--db URL --chain NAME`: the log is that chain in a database (PostgreSQL or SQLite, created on
   * first use) instead of the file in the demo's directory. Several demos may write it at once.
   */
  readonly db?: DemoDatabase | undefined
}

/** The chain a demo writes to in a database. */
export interface DemoDatabase {
  /** the URL or SQLite path, as given (it may hold a password: never printed) */
  readonly url: Redacted.Redacted<string>
  readonly chain: string
  /** the URL without its password: what is printed */
  readonly shown: string
}

/** A word of a command line as it can be pasted into a shell. */
const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)

/** A verdict in one line, as `acttrace verify` prints it. */
const verdictLine = (o: Verify.Outcome): string =>
  Either.match(o.result, {
    onRight: (r) =>
      `ok: ${r.entries} entries, head ${r.head.slice(0, 12)}… (signatures ${r.signatures}; completeness: ${r.completeness})${r.checkpoints === "verified" ? `; checkpoints verified: ${r.checkpointCount}, unsealed tail ${r.unsealedTail}` : ""}`,
    onLeft: verdictText
  })

export const runDemo = (outDir: string, options: DemoOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { key, privateKey } = options
    // with an Ed25519 key alone the demo signs checkpoints only; the demo HMAC key stands in when
    // no key of either kind is given, so the demo always shows a signed log
    const hmac = key ?? (privateKey === undefined ? Redacted.make(DEMO_KEY) : undefined)
    if (key === undefined && privateKey === undefined) yield* Console.log(`No key given (--key-file F or ACTTRACE_KEY): signing with the demo key "${DEMO_KEY}".`)
    yield* makeDirectories(fs, path, path.resolve(outDir))
    const logPath = path.join(outDir, "loan-triage.log.jsonl")
    const packPath = path.join(outDir, "loan-triage.pack.jsonl")
    // the verifier key of --private-key, written beside the demo's files: what an auditor is given
    const verifier = privateKey === undefined ? undefined : yield* Note.parseSignerKey(Redacted.value(privateKey)).pipe(Effect.map((s) => s.verifier))
    const pubPath = verifier === undefined ? undefined : path.join(outDir, `${verifier.name}.pub`)
    if (verifier !== undefined && pubPath !== undefined) yield* fs.writeFileString(pubPath, verifier.text + "\n", { mode: 0o644 })

    const signer = privateKey !== undefined ? Signer.layerEd25519(privateKey, hmac === undefined ? {} : { hmac }) : Signer.layerHmac(hmac!)
    const onStore = <E, R>(store: Layer.Layer<Store.Store, E, R>) =>
      AuditLog.layer({ system: "loan-triage", riskTier: "high" }).pipe(
        Layer.provide(store),
        Layer.provide(signer),
        Layer.provide(Redactor.layerDefault)
      )
    const { db } = options
    // the live log: the file in the demo's directory, or the chain in the database (made on first
    // use; other demos may be writing it at the same time)
    const live = db === undefined ? onStore(Store.layerFile(logPath)) : onStore(Store.layerSqlUrl(db.url, { chain: db.chain }))
    const where = db === undefined ? logPath : `the chain ${db.chain} of ${db.shown}`
    const { decided, exported } = yield* Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      const before = yield* log.position
      const decided = yield* agent
      const exported = yield* log.export(packPath, { framework: "eu_ai_act" })
      return { decided, exported, before }
    }).pipe(Effect.provide(live))

    yield* Console.log(`\nThe triage agent decided ${decided} of ${APPLICATIONS.length} applications (the credit bureau failed one); every call is in ${where}`)
    yield* Console.log(
      `Exported ${exported.entries} entries to ${packPath} for eu_ai_act (${exported.controlsCovered.length} controls; ${exported.summary.decisions} decisions, ${exported.summary.llm_calls} model calls, ${exported.summary.policy_flags} policy flags)`
    )
    yield* Console.log(`Head (keep it out of band): ${exported.head}`)

    const verifyOptions: Verify.Options = { key: hmac, publicKeys: verifier === undefined ? undefined : [verifier.text] }
    const check = (file: string) => Effect.map(Verify.fileOutcome(file, verifyOptions), verdictLine)
    // the chain itself, read back from the database (every writer's entries, in seq order)
    if (db !== undefined) {
      const fromDatabase = yield* Effect.gen(function*() {
        const store = yield* Store.Store
        return yield* Verify.streamOutcome(yield* store.snapshot, verifyOptions)
      }).pipe(Effect.provide(Store.layerSqlUrl(db.url, { chain: db.chain, create: false })))
      yield* Console.log(`\nverify --db ${db.shown} --chain ${db.chain}${pubPath === undefined ? "" : ` --pubkey ${pubPath}`}\n  ${verdictLine(fromDatabase)}`)
    }
    yield* Console.log(`\nverify ${packPath}${pubPath === undefined ? "" : ` --pubkey ${pubPath}`}\n  ${yield* check(packPath)}`)

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
    const extra: Array<string> = []
    if (privateKey !== undefined && pubPath !== undefined && options.run !== undefined) {
      // the log's lines as they stand (every writer's, for a database chain)
      const lines = (text: string) => text.split("\n").filter((l) => l.length > 0)
      const logLines = db === undefined
        ? Effect.map(fs.readFileString(logPath), lines)
        : Effect.gen(function*() {
          const store = yield* Store.Store
          const bytes = yield* Stream.runCollect(yield* store.snapshot)
          return lines(Buffer.concat([...bytes]).toString("utf8"))
        }).pipe(Effect.provide(Store.layerSqlUrl(db.url, { chain: db.chain, create: false })))
      extra.push(...(yield* publicKeyPart({ run: options.run, self, outDir, packPath, pubPath, pack, live, logLines, layer: (file) => onStore(Store.layerFile(file)) })))
    }
    yield* Console.log(`\nEverything is in ${outDir}${db === undefined ? "" : ` and ${where}`}:`)
    yield* Console.log(`  ${db === undefined ? logPath : where}   the live log (run the demo again to continue it)`)
    yield* Console.log(`  ${packPath}   the evidence pack`)
    yield* Console.log(`  ${tampered.map(([n]) => path.join(outDir, n)).join(", ")}   tampered copies`)
    for (const line of extra) yield* Console.log(`  ${line}`)
    // the key through the environment, not the command line (where ps shows it to everyone)
    if (pubPath !== undefined) yield* Console.log(`Try: ${self} verify ${packPath} --pubkey ${pubPath}   (no secret needed)`)
    if (hmac !== undefined) yield* Console.log(`Try: ACTTRACE_KEY=${key === undefined ? DEMO_KEY : "…"} ${self} verify ${packPath} --expected-head ${exported.head}`)
    // (the URL without its password: the driver reads PGPASSWORD)
    if (db !== undefined) {
      yield* Console.log(
        `Try: ${hmac === undefined ? "" : `ACTTRACE_KEY=${key === undefined ? DEMO_KEY : "…"} `}${self} verify --db ${shellWord(db.shown)} --chain ${shellWord(db.chain)}${pubPath === undefined ? "" : ` --pubkey ${pubPath}`}`
      )
    }
  })

/**
 * With an Ed25519 key: what a holder of the public key alone can do with the demo's pack, each step
 * a real `acttrace` command run in this process, printed with what it printed. The latest checkpoint
 * is published; one decision is proven without the rest of the pack; the log goes on and a newer
 * export is shown to extend what was published; and a history rewritten with the signing key itself
 * verifies under the key but not against what was published. Returns the files it made.
 */
const publicKeyPart = (a: {
  readonly run: RunCommand
  readonly self: string
  readonly outDir: string
  readonly packPath: string
  readonly pubPath: string
  readonly pack: ReadonlyArray<string>
  /** the demo's live log (a file, or a database chain) */
  readonly live: Layer.Layer<AuditLog.AuditLog, unknown, FileSystem.FileSystem>
  /** the live log's lines as they stand */
  readonly logLines: Effect.Effect<ReadonlyArray<string>, unknown, FileSystem.FileSystem>
  /** a log on a file (the rewritten history) */
  readonly layer: (file: string) => Layer.Layer<AuditLog.AuditLog, unknown, FileSystem.FileSystem>
}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const show = (args: ReadonlyArray<string>, shown: string = `${a.self} ${args.join(" ")}`) =>
      Effect.gen(function*() {
        const r = yield* a.run(args)
        const out = [r.stdout, r.stderr].filter((t) => t.length > 0).join("\n")
        yield* Console.log(`\n$ ${shown}\n${out.split("\n").map((l) => `  ${l}`).join("\n")}${r.code === 0 ? "" : `\n  (exit ${r.code})`}`)
        return r
      })
    yield* Console.log(`\nWith the public key ${a.pubPath} alone (no secret), anyone can do more than verify the whole pack:`)

    // 1. publish the latest checkpoint (here: a file; in practice a ticket, an e-mail, a repository)
    const notePath = path.join(a.outDir, "published.note")
    const published = yield* show(["checkpoint", a.packPath], `${a.self} checkpoint ${a.packPath} > ${notePath}`)
    yield* fs.writeFileString(notePath, published.stdout + "\n")

    // 2. prove one decision: the declined application's record and its review, nothing else
    const rows = a.pack.map((l) => JSON.parse(l) as { readonly seq?: number; readonly type?: string; readonly payload?: Record<string, unknown> })
    const declined = rows.find((r) => r.type === "decision_record" && JSON.stringify(r.payload).includes('"recommendation":"decline"'))
    const review = declined === undefined ? undefined : rows.find((r) => r.type === "human_oversight" && (r.seq ?? 0) > (declined.seq ?? 0))
    const seqs = [declined?.seq, review?.seq].filter((q): q is number => typeof q === "number")
    const proofPath = path.join(a.outDir, "decision.proof.json")
    if (seqs.length > 0) {
      yield* show(["prove", a.packPath, "--seq", seqs.join(","), "--out", proofPath, "--pubkey", a.pubPath])
      yield* show(["verify-proof", proofPath, "--pubkey", a.pubPath])
    }

    // 3. the log goes on, is exported again, and the new pack extends what was published
    const laterPath = path.join(a.outDir, "loan-triage.later.pack.jsonl")
    yield* Effect.gen(function*() {
      const log = yield* AuditLog.AuditLog
      yield* agent
      yield* log.export(laterPath, { framework: "eu_ai_act" })
    }).pipe(Effect.provide(a.live))
    yield* Console.log(`\nThe agent decides three more applications; the log is exported again to ${laterPath}.`)
    yield* show(["verify", laterPath, "--pubkey", a.pubPath, "--since", notePath])

    // 4. whoever holds the signing key rewrites history: the declined loan approved, re-signed
    const forgedLog = path.join(a.outDir, "rewritten.log.jsonl")
    const forgedPack = path.join(a.outDir, "rewritten.pack.jsonl")
    // the log's entries before the declined decision, then another record in its place
    const logLines = yield* a.logLines
    const cut = declined === undefined ? -1 : logLines.findIndex((l) => (JSON.parse(l) as { seq?: number }).seq === declined.seq)
    if (cut > 0) {
      yield* fs.remove(forgedLog).pipe(Effect.ignore)
      yield* fs.writeFileString(forgedLog, logLines.slice(0, cut).join("\n") + "\n", { mode: 0o600 })
      yield* Effect.gen(function*() {
        const log = yield* AuditLog.AuditLog
        yield* log.append("decision_record", { ...declined!.payload, recommendation: "approve" })
        // and goes on, past what was published, as a genuine log would
        while ((yield* log.position).entries <= a.pack.length) yield* agent
        yield* log.export(forgedPack, { framework: "eu_ai_act" })
      }).pipe(Effect.provide(a.layer(forgedLog)))
      yield* Console.log(`\nWhoever holds the signing key rewrites history: ${forgedPack} approves the declined loan (seq ${declined!.seq}), goes on, and is signed again.`)
      yield* show(["verify", forgedPack, "--pubkey", a.pubPath])
      yield* show(["verify", forgedPack, "--pubkey", a.pubPath, "--since", notePath])
      yield* show(["consistency", a.packPath, forgedPack, "--pubkey", a.pubPath])
    }
    return [
      `${a.pubPath}   the verifier key (public)`,
      `${notePath}   the published checkpoint`,
      ...(seqs.length > 0 ? [`${proofPath}   a proof of one decision, without the rest of the pack`] : []),
      `${laterPath}   a later export, which extends the published checkpoint`,
      ...(cut > 0 ? [`${forgedPack}   a history rewritten with the signing key, which does not`] : [])
    ]
  })
