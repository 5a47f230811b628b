/**
 * Evidence packs (FORMAT A.4, A.5, B.3): a log's entries, verified, behind a `_meta` header that
 * claims the head and the count (signed with the log's key), with per-row `controls` for a
 * framework, a summary, and our whole-pack seal over everything the header signature does not
 * cover. Written to a temporary file, synced and renamed: a pack is complete or absent.
 *
 * The seal (B.3): `_meta.seal = {"alg": "hmac-sha256", "key_id": …, "digest": …, "sig": …}`.
 * `digest` is the SHA-256 (hex) of `"acttrace-seal/1\n"`, the canonical JSON of `_meta` without
 * `sig` and `seal`, `"\n"`, and the 32-byte SHA-256 of the rows' controls: for every row in order,
 * the canonical JSON of its `controls` (`null` when it has none) and `"\n"`. `sig` is the HMAC of
 * the `digest` text with the log's key.
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import { dirname } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Canonical from "./Canonical.js"
import * as Controls from "./Controls.js"
import { sealDigest } from "./Hash.js"
import { linesOf } from "./internal/lines.js"
import type * as Signer from "./Signer.js"
import type * as Store from "./Store.js"
import * as Verify from "./Verify.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const DISCLAIMER = "Evidence to support compliance — not legal advice."


/**
 * An export could not be made (the log does not verify, the target is the log itself, a write
 * failed). No pack is left behind.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `ExportError: ${this.path}: ${this.reason}`
  }
}

/**
 * The counts of a pack's `_meta.summary`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  decisions: number
  llm_calls: number
  tool_calls: number
  context_assemblies: number
  human_oversight: number
  policy_flags: number
  flags_by_action: Record<string, number>
  flags_by_severity: Record<string, number>
}

/**
 * What an export wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exported {
  readonly path: string
  readonly entries: number
  readonly head: string
  readonly framework: Controls.Framework | null
  readonly controlsCovered: ReadonlyArray<string>
  readonly summary: Summary
  readonly signed: boolean
  /**
   * Entries the source no longer holds (a bounded memory store evicted them): the pack starts
   * after them, says so in `_meta.partial`, and a verifier reports the gap.
   */
  readonly missing: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `null` or absent: no control annotations */
  readonly framework?: string | null | undefined
  readonly signer: Signer.SignerService
  /** used when the log has no `audit_open` to take them from */
  readonly system?: string | undefined
  readonly riskTier?: string | null | undefined
  /** entries evicted before the first one the source holds */
  readonly missing?: number | undefined
}

const emptySummary = (): Summary => ({
  decisions: 0,
  llm_calls: 0,
  tool_calls: 0,
  context_assemblies: 0,
  human_oversight: 0,
  policy_flags: 0,
  flags_by_action: {},
  flags_by_severity: {}
})

const COUNTED: Record<string, keyof Omit<Summary, "flags_by_action" | "flags_by_severity">> = {
  decision: "decisions",
  llm_call: "llm_calls",
  tool_call: "tool_calls",
  context_assembly: "context_assemblies",
  human_oversight: "human_oversight",
  policy_flag: "policy_flags"
}

interface Row {
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly seq: number
  readonly hash: string
}

const rowOf = (line: string): Row | undefined => {
  try {
    const v = JSON.parse(line) as { type?: unknown; payload?: unknown; seq?: unknown; hash?: unknown }
    if (typeof v.type !== "string" || v.payload === null || typeof v.payload !== "object" || typeof v.seq !== "number" || typeof v.hash !== "string") {
      return undefined
    }
    return { type: v.type, payload: v.payload as Record<string, unknown>, seq: v.seq, hash: v.hash }
  } catch {
    return undefined
  }
}

const encode = (v: unknown): string => Either.getOrThrow(Canonical.encode(v))

/**
 * Write the pack of a log to `out`. `bytes` gives the log's bytes (it is read three times: to
 * verify it, to learn the header, to write the rows), `source` names it in messages.
 *
 * @since 0.1.0
 * @category export
 */
export const write = (
  bytes: Effect.Effect<Stream.Stream<Uint8Array, Store.StoreError>>,
  source: string,
  out: string,
  options: Options
): Effect.Effect<Exported, ExportError | Controls.UnknownFramework | Store.StoreError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fw = options.framework ?? null
    if (fw !== null && !Controls.isFramework(fw)) return yield* new Controls.UnknownFramework({ framework: fw })
    const framework: Controls.Framework | null = fw
    const signer = options.signer
    const missing = options.missing ?? 0

    // 1. the log must verify (with the signer's key when it has one) before it is vouched for
    // (a bounded memory log starts after its evicted entries: verified from its first one on)
    const report = yield* Effect.flatMap(bytes, (b) => Verify.stream(b, { key: Option.getOrUndefined(signer.key), startMidChain: missing > 0 })).pipe(
      Effect.catchAll((e): Effect.Effect<Verify.Report, ExportError | Store.StoreError> => {
        if (e._tag === "StoreError") return Effect.fail(e)
        return Effect.fail(new ExportError({ path: out, reason: `the log ${source} does not verify: ${e.message}` }))
      })
    )

    // 2. the header: counts, controls and the seal's digest of every row's controls
    const summary = emptySummary()
    const covered = new Set<string>()
    const rowsDigest = createHash("sha256")
    let auditOpen: Record<string, unknown> | undefined
    let entries = 0
    let firstSeq = -1
    let head = ""
    yield* Effect.flatMap(bytes, (b) =>
      linesOf(b).pipe(
        Stream.runForEach((line) =>
          Effect.suspend(() => {
            const row = rowOf(line)
            if (row === undefined) return Effect.fail(new ExportError({ path: out, reason: `the log ${source} holds a line that is not an entry` }))
            if (entries === 0) {
              firstSeq = row.seq
              if (row.type === "audit_open") auditOpen = row.payload
            }
            entries++
            head = row.hash
            const counted = COUNTED[row.type]
            if (counted !== undefined) summary[counted]++
            if (row.type === "policy_flag") {
              const action = String(row.payload["action"] ?? "").toLowerCase()
              const severity = String(row.payload["severity"] ?? "").toLowerCase()
              summary.flags_by_action[action] = (summary.flags_by_action[action] ?? 0) + 1
              summary.flags_by_severity[severity] = (summary.flags_by_severity[severity] ?? 0) + 1
            }
            const controls = framework === null ? null : Controls.forRow(framework, row.type, row.payload)
            if (controls !== null) for (const c of controls) covered.add(c)
            rowsDigest.update(encode(controls) + "\n")
            return Effect.void
          })
        )
      )
    )
    if (report.entries !== entries || report.head !== head) {
      return yield* new ExportError({ path: out, reason: `the log ${source} changed while it was exported` })
    }
    const system = typeof auditOpen?.["system"] === "string" ? (auditOpen["system"] as string) : options.system ?? ""
    const riskTier = auditOpen !== undefined && "risk_tier" in auditOpen ? (auditOpen["risk_tier"] as string | null) : options.riskTier ?? null
    const controlsCovered = [...covered].sort(Canonical.compareKeys)
    const meta: Record<string, unknown> = {
      system,
      risk_tier: riskTier,
      framework,
      controls_covered: controlsCovered,
      summary,
      head_hash: head === "" ? "0".repeat(64) : head,
      entries
    }
    if (missing > 0) meta["partial"] = { evicted: missing, first_seq: firstSeq }
    meta["disclaimer"] = DISCLAIMER
    const signed = Option.isSome(signer.identity)
    if (signed) {
      const keyId = Option.getOrThrow(signer.identity).keyId
      const d = sealDigest(encode(meta), rowsDigest.digest())
      meta["sig"] = signer.signText(encode({ entries, head_hash: meta["head_hash"], risk_tier: riskTier, system }))
      meta["seal"] = { alg: "hmac-sha256", key_id: keyId, digest: d, sig: signer.signText(d) }
    }

    // 3. the pack, written beside its target and renamed into place
    const tmp = `${out}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`
    const fail = (e: unknown) => new ExportError({ path: out, reason: e instanceof Error ? e.message : String(e) })
    const written = Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(tmp, { flag: "wx" }).pipe(Effect.mapError(fail))
        let pending: Array<string> = [JSON.stringify({ _meta: meta })]
        let size = 0
        const flush = Effect.suspend(() => {
          const chunk = Buffer.from(pending.join("\n") + "\n", "utf8")
          pending = []
          size = 0
          return file.writeAll(chunk).pipe(Effect.mapError(fail))
        })
        yield* Effect.flatMap(bytes, (b) =>
          linesOf(b).pipe(
            Stream.runForEach((line) =>
              Effect.suspend(() => {
                let row = line
                if (framework !== null) {
                  const r = rowOf(line)!
                  const cut = line.lastIndexOf("}")
                  row = `${line.slice(0, cut)},"controls":${encode(Controls.forRow(framework, r.type, r.payload))}}`
                }
                pending.push(row)
                size += row.length
                return size >= 1 << 20 ? flush : Effect.void
              })
            )
          )
        )
        if (pending.length > 0) yield* flush
        yield* file.sync.pipe(Effect.mapError(fail))
      })
    )
    yield* written.pipe(Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore)))
    yield* fs.rename(tmp, out).pipe(
      Effect.mapError(fail),
      Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore))
    )
    yield* Effect.scoped(Effect.flatMap(fs.open(dirname(out), { flag: "r" }), (d) => d.sync)).pipe(Effect.ignore)
    return { path: out, entries, head: meta["head_hash"] as string, framework, controlsCovered, summary, signed, missing }
  })
