/**
 * The `ReportSummary` of a pack or log (src/internal/report-model.ts): one pass over its lines
 * computes every count, while the library's own verification (`Verify.streamOutcome`, the fold
 * `verify` runs) reads the same bytes for the verdict. `inspect`, `inspect --json` and the HTML
 * report all render this one object, so they cannot disagree on a count.
 *
 * Nothing is copied out of payloads but the identifiers a reviewer needs to find an entry
 * (decision ids, actors, model, provider and tool names, control ids, categories, outcomes):
 * never inputs, outputs, arguments, notes or redacted text.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { createHash } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Controls from "../Controls.js"
import { DISCLAIMER } from "../Pack.js"
import * as Verify from "../Verify.js"
import { fileKind, okText, verdictText } from "./messages.js"
import type {
  ReportControl,
  ReportCount,
  ReportDecision,
  ReportModelUsage,
  ReportSummary,
  ReportTool,
  ReportVerdict
} from "./report-model.js"

// ---------------------------------------------------------------------------------------------
// errors (re-exported by src/Report.ts, the public module)

/**
 * The pack or log could not be read: it does not exist, is a directory, or reading it failed.
 *
 * @since 0.1.0
 * @category errors
 */
export class InputUnreadable extends Schema.TaggedError<InputUnreadable>()("InputUnreadable", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot read ${this.path}: ${this.reason}`
  }
}

/**
 * The input is not JSON Lines: its first line that is not blank is not a JSON object (a PDF, a
 * pretty-printed JSON document, a text file). A pack whose later lines are damaged is still
 * summarized: its verdict names the first damaged line.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotJsonLines extends Schema.TaggedError<NotJsonLines>()("NotJsonLines", {
  path: Schema.String,
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.path} is not a log or evidence pack (JSON Lines): line ${this.line} ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------
// the verdict, as `verify --json` reports it

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** What the input says of itself, unverified, for the explanation. */
interface Stated {
  readonly keyId: string | null
  readonly kind: "pack" | "log"
  readonly keyGiven: boolean
  readonly pubkeysGiven: boolean
  /** checkpoint entries, and whether `_meta` carries a signed checkpoint */
  readonly checkpoints: number
  readonly metaCheckpoint: boolean
}

/** What a verification failure means, in plain words (its message gives the details). */
const failureInWords = (e: Verify.VerifyError): string => {
  const at = e.line > 0 ? ` at line ${e.line}${typeof e.seq === "number" ? ` (seq ${e.seq})` : ""}` : ""
  switch (e._tag) {
    case "EditDetected":
      return `Not intact: an entry was changed after it was written${at}; it no longer matches its hash.`
    case "DeletionDetected":
      return `Not intact: entries were removed${at}; the chain of hashes breaks there.`
    case "ReorderDetected":
      return `Not intact: entries are out of order${at}.`
    case "TruncationDetected":
      return `Not complete: entries are missing at the end${at}; the pack holds fewer than its header (or the head given) says.`
    case "SignatureInvalid":
      return `Not authentic: a signature does not hold${at}; the entry was changed, or signed with another key than the one given.`
    case "HeaderInvalid":
      return `Not authentic: the pack's header does not hold${at}; it was changed, or signed with another key than the one given.`
    case "MalformedLine":
      // a file of blank lines (or none) fails at its end with "no entry at all", not at an entry
      return e.line === 0 || e.reason === "no entry at all" ? "Not verifiable: the input holds no entry at all." : `Not verifiable: line ${e.line} is not a well-formed entry.`
    case "CheckpointInvalid":
      return `Not intact: a signed checkpoint does not hold${at}.`
    case "CheckpointUntrusted":
      return `Not trusted: a checkpoint${at} is signed by a key that is not among the trusted keys given.`
    case "HistoryRewritten":
      return `Not intact: the history was rewritten${at}, inside a checkpoint published before.`
    default:
      return `Verification failed${at}.`
  }
}

/** What a person should take from the verdict: the signature and the completeness basis. */
const explain = (o: Verify.Outcome, stated: Stated): Array<string> => {
  const out: Array<string> = []
  if (Either.isLeft(o.result)) {
    out.push(failureInWords(o.result.left))
    out.push(
      o.entries === 0
        ? "No entry verified. The counts below are of the lines as they stand: nothing in them can be trusted."
        : `The chain held for the first ${plural(o.entries, "entry", "entries")} (up to head ${o.head.slice(0, 12)}…). The counts below are of every line as it stands, including those after the failure, which are not verified.`
    )
    if (o.signatures === "verified") out.push("The signatures of the entries that held were checked with the key given.")
    return out
  }
  const r = o.result.right
  const vouched = r.checkpoints === "verified" ? " The signed checkpoints, checked under the trusted public keys, cover the entries instead." : ""
  switch (r.signatures) {
    case "verified":
      out.push(`Signatures: every entry's HMAC signature was checked with the key given${stated.keyId !== null ? ` (key id ${stated.keyId})` : ""} and holds, so no entry was changed by anyone without that key.`)
      break
    case "not-checked":
      out.push(
        `Signatures: the entries are signed${stated.keyId !== null ? ` (key id ${stated.keyId})` : ""}, but no key was given, so the HMAC signatures were not checked.${
          vouched === "" ? " The hash chain holds, but someone able to rewrite the file could have rebuilt it; give the key (--key-file F or ACTTRACE_KEY) to check them." : vouched
        }`
      )
      break
    case "absent":
      out.push(`Signatures: no entry carries an HMAC signature.${vouched === "" ? " The hash chain holds (each entry is linked to the one before), but someone able to rewrite the whole file could have rebuilt it." : vouched}`)
      break
  }
  switch (r.completeness) {
    case "signed-header":
      out.push(`Completeness: the pack's header, signed with the key, states ${plural(r.entries, "entry", "entries")} ending at head ${r.head.slice(0, 12)}…, and the pack holds exactly those: nothing was cut off its end.`)
      break
    case "signed-checkpoint":
      out.push(`Completeness: a checkpoint signed with a trusted Ed25519 key (--pubkey) covers all ${plural(r.entries, "entry", "entries")}: nothing was cut off the end.`)
      break
    case "expected-head":
      out.push(`Completeness: the head given out of band (${r.head.slice(0, 12)}…) matches the last entry: nothing was cut off the end.`)
      break
    case "unsigned-header":
      out.push(
        `Completeness: the pack's header states ${plural(r.entries, "entry", "entries")} ending at head ${r.head.slice(0, 12)}…, and the pack matches it, but the header's signature was not checked${stated.keyGiven ? "" : " (no key was given)"}: whoever cut entries off the end could have rewritten the header too.`
      )
      break
    case "none":
      out.push(
        stated.kind === "log"
          ? "Completeness: a live log states no entry count, so entries removed from its end would not show; keep its head hash out of band, or export it to a signed pack."
          : "Completeness: nothing authenticates how many entries there should be, so entries removed from the end would not show."
      )
      break
  }
  if (r.checkpoints === "verified") {
    out.push(`Checkpoints: ${plural(r.checkpointCount, "signed checkpoint", "signed checkpoints")} verified under the trusted public keys${r.unsealedTail > 0 ? `; the last ${plural(r.unsealedTail, "entry is", "entries are")} covered by none` : "; every entry is covered"}.`)
  } else if (r.checkpoints === "absent") {
    out.push("Checkpoints: public keys were given, but the input holds no signed checkpoint.")
  } else if (!stated.pubkeysGiven && (stated.checkpoints > 0 || stated.metaCheckpoint)) {
    const what = [
      ...(stated.checkpoints > 0 ? [plural(stated.checkpoints, "signed checkpoint", "signed checkpoints")] : []),
      ...(stated.metaCheckpoint ? ["a signed checkpoint in its header"] : [])
    ].join(" and ")
    out.push(`Checkpoints: the input holds ${what}, not checked: no public key was given (--pubkey FILE).`)
  }
  return out
}

/**
 * The verdict of `Verify`'s outcome with the fields `verify --json` prints (cli.ts `jsonVerdict`):
 * on failure `entries`, `head` and `signatures` describe the entries that held, and completeness
 * is `none`.
 *
 * @since 0.1.0
 * @category internal
 */
export const verdictOf = (
  o: Verify.Outcome,
  stated: Stated
): ReportVerdict => {
  const explanation = explain(o, stated)
  if (Either.isRight(o.result)) {
    const r = o.result.right
    return {
      ok: true,
      result: "Ok",
      message: okText(r),
      entries: r.entries,
      head: r.head,
      signatures: r.signatures,
      completeness: r.completeness,
      checkpoints: r.checkpoints,
      checkpoint_count: r.checkpointCount,
      unsealed_tail: r.unsealedTail,
      explanation
    }
  }
  const e = o.result.left
  return {
    ok: false,
    result: e._tag,
    message: verdictText(e),
    line: e.line,
    ...(typeof e.seq === "number" ? { seq: e.seq } : {}),
    entries: o.entries,
    head: o.head,
    signatures: o.signatures,
    completeness: "none",
    explanation
  }
}

// ---------------------------------------------------------------------------------------------
// exact decimal sums

/** An exact decimal: `digits / 10^scale`. */
interface Decimal {
  readonly units: bigint
  readonly scale: number
}

const COST = /^\s*(-?)(\d+)(?:\.(\d+))?\s+(\S+)\s*$/

/** `"0.0123 USD"` as an exact decimal and its currency; undefined for anything else. */
const parseCost = (cost: unknown): { readonly amount: Decimal; readonly currency: string } | undefined => {
  if (typeof cost !== "string") return undefined
  const m = COST.exec(cost)
  if (m === null) return undefined
  const fraction = m[3] ?? ""
  const units = BigInt(m[2]! + fraction)
  return { amount: { units: m[1] === "-" ? -units : units, scale: fraction.length }, currency: m[4]! }
}

const addDecimal = (a: Decimal, b: Decimal): Decimal =>
  a.scale === b.scale
    ? { units: a.units + b.units, scale: a.scale }
    : a.scale > b.scale
    ? { units: a.units + b.units * 10n ** BigInt(a.scale - b.scale), scale: a.scale }
    : { units: a.units * 10n ** BigInt(b.scale - a.scale) + b.units, scale: b.scale }

/**
 * An exact decimal as text, with as many places as the most precise amount summed.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const formatDecimal = (d: Decimal): string => {
  const negative = d.units < 0n
  const digits = (negative ? -d.units : d.units).toString().padStart(d.scale + 1, "0")
  const text = d.scale === 0 ? digits : `${digits.slice(0, -d.scale)}.${digits.slice(-d.scale)}`
  return negative ? `-${text}` : text
}

// ---------------------------------------------------------------------------------------------
// time buckets

type Bucket = ReportSummary["decisions"]["bucket"]

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const WEEK = 7 * DAY

/**
 * At most this many bars in the decisions-over-time chart, whatever the timestamps: decisions
 * that cannot be drawn within it are counted in `decisions.outside_chart`.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const MAX_BARS = 60

/** The earliest and the latest instants a JS Date holds (about ±275,760 years). */
const MIN_TIME = -8.64e15
const MAX_TIME = 8.64e15

/** A UTC instant from a year (any, 0–99 included: `Date.UTC` would put those in 1900–1999), month and day. */
const utc = (year: number, month: number, day: number): number => {
  const d = new Date(0)
  d.setUTCFullYear(year, month, day)
  return d.getTime()
}

/** The number of the bucket `t` falls in; consecutive buckets have consecutive numbers. */
const bucketIndex = (bucket: Bucket, t: number): number => {
  switch (bucket) {
    case "minute":
      return Math.floor(t / MINUTE)
    case "hour":
      return Math.floor(t / HOUR)
    case "day":
      return Math.floor(t / DAY)
    case "week":
      // ISO weeks start on Monday; 1970-01-01 was a Thursday, day 4 a Monday
      return Math.floor((Math.floor(t / DAY) + 3) / 7)
    case "month": {
      const d = new Date(t)
      return d.getUTCFullYear() * 12 + d.getUTCMonth()
    }
    case "year":
      return new Date(t).getUTCFullYear()
  }
}

/** The instant bucket number `i` starts at (clamped to the earliest instant a Date holds). */
const bucketStartOf = (bucket: Bucket, i: number): number => {
  const t = bucket === "minute"
    ? i * MINUTE
    : bucket === "hour"
    ? i * HOUR
    : bucket === "day"
    ? i * DAY
    : bucket === "week"
    ? (i * 7 - 3) * DAY
    : bucket === "month"
    ? utc(Math.floor(i / 12), ((i % 12) + 12) % 12, 1)
    : utc(i, 0, 1)
  return Math.max(MIN_TIME, t)
}

const BUCKETS = ["minute", "hour", "day", "week", "month", "year"] as const

/**
 * The finest bucket that draws the period in at most `MAX_BARS` bars (years past that, which
 * may take more: `chartOf` bounds the chart itself).
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const chooseBucket = (first: number, last: number): Bucket => {
  for (const b of BUCKETS) if (bucketIndex(b, last) - bucketIndex(b, first) < MAX_BARS) return b
  return "year"
}

/** `2026-12-05T05:00:00Z`: a bucket's start in UTC, to the second (`+275760-…` past year 9999). */
const isoSecond = (t: number): string => new Date(t).toISOString().replace(/\.\d{3}Z$/, "Z")

/**
 * The widest run of `sorted` (ascending instants) whose bucket numbers span fewer than
 * `MAX_BARS`: its first index and its length.
 */
const densest = (bucket: Bucket, sorted: ReadonlyArray<number>): { readonly from: number; readonly size: number } => {
  const idx = sorted.map((t) => bucketIndex(bucket, t))
  let best = { from: 0, size: 0 }
  let i = 0
  for (let j = 0; j < idx.length; j++) {
    while (idx[j]! - idx[i]! >= MAX_BARS) i++
    if (j - i + 1 > best.size) best = { from: i, size: j - i + 1 }
  }
  return best
}

/**
 * The decisions-over-time chart of decisions started at `times` (ms; NaN: not a time), over at
 * most `MAX_BARS` buckets whatever the times. The finest bucket is chosen that draws all but at
 * most 1 % of the decisions (years when none does: then the 60 years holding the most); the
 * others, and those whose time is not a time, are counted in `outside` (so the bars' counts plus
 * `outside` are `times.length`). The chart is stretched to `anchors` (the period's ends) when
 * they fit in the same number of bars.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const chartOf = (
  times: ReadonlyArray<number>,
  anchors: ReadonlyArray<number> = []
): { readonly bucket: Bucket; readonly over_time: Array<{ readonly start: string; readonly count: number }>; readonly outside: number } => {
  const valid = times.filter((t) => t >= MIN_TIME && t <= MAX_TIME).sort((a, b) => a - b)
  const ends = anchors.filter((t) => t >= MIN_TIME && t <= MAX_TIME).sort((a, b) => a - b)
  // no decision to draw: the chart spans the period alone, empty
  const points = valid.length > 0 ? valid : ends
  if (points.length === 0) return { bucket: "day", over_time: [], outside: times.length }
  const pick = (sorted: ReadonlyArray<number>, need: number) => {
    for (const b of BUCKETS) {
      const w = densest(b, sorted)
      if (w.size >= need || b === "year") return { bucket: b, from: w.from, size: w.size }
    }
    throw new Error("unreachable")
  }
  let chosen = pick(points, points.length - Math.floor(points.length / 100))
  let drawn = points.slice(chosen.from, chosen.from + chosen.size)
  if (chosen.size < points.length) {
    // the bulk is known: the finest bucket that draws all of it
    chosen = pick(drawn, drawn.length)
    drawn = drawn.slice(chosen.from, chosen.from + chosen.size)
  }
  const bucket = chosen.bucket
  let lo = bucketIndex(bucket, drawn[0]!)
  let hi = bucketIndex(bucket, drawn[drawn.length - 1]!)
  if (ends.length > 0) {
    const a = Math.min(lo, bucketIndex(bucket, ends[0]!))
    const b = Math.max(hi, bucketIndex(bucket, ends[ends.length - 1]!))
    if (b - a < MAX_BARS) [lo, hi] = [a, b]
  }
  const counts = new Map<number, number>()
  if (valid.length > 0) for (const t of drawn) counts.set(bucketIndex(bucket, t), (counts.get(bucketIndex(bucket, t)) ?? 0) + 1)
  const over_time: Array<{ readonly start: string; readonly count: number }> = []
  for (let i = lo; i <= hi; i++) over_time.push({ start: isoSecond(bucketStartOf(bucket, i)), count: counts.get(i) ?? 0 })
  return { bucket, over_time, outside: times.length - (valid.length > 0 ? drawn.length : 0) }
}

// ---------------------------------------------------------------------------------------------
// the pass over the lines

interface DecisionAcc {
  readonly id: string
  ts: string
  actor: string | null
  started: boolean
  startedAt: number
  startOrder: number
  modelCalls: number
  tools: Array<string>
  oversight: boolean
  outcome: string | null
  readonly seqs: Array<number>
}

interface ModelAcc {
  readonly provider: string | null
  readonly model: string
  calls: number
  failures: number
  inputTokens: bigint
  outputTokens: bigint
  unreadableTokens: number
  unreadableCosts: number
  readonly costs: Map<string, Decimal>
}

interface ControlAcc {
  entries: number
  readonly seqs: Array<number>
}

/** The most supporting seqs a control lists. */
const CONTROL_SEQS = 50
/** The most categories `flags.top_categories` lists. */
const TOP_CATEGORIES = 20

const bump = (m: Map<string, number>, k: string, by = 1) => m.set(k, (m.get(k) ?? 0) + by)

const isRecord = (u: unknown): u is Record<string, unknown> => u !== null && typeof u === "object" && !Array.isArray(u)

const str = (u: unknown): string | null => (typeof u === "string" ? u : null)

/**
 * A token count as an exact bigint: a non-negative integer, read from the line's own lexeme when
 * it is past 2^53 (`JSON.parse` rounds it); `undefined` when absent, null when it is there but no
 * count (negative, a string, a fraction), so it can be counted apart.
 */
const tokens = (u: unknown, name: string, line: string): bigint | null | undefined => {
  if (u === undefined) return undefined
  if (typeof u !== "number" || !Number.isInteger(u) || u < 0) return null
  if (Number.isSafeInteger(u)) return BigInt(u)
  // past 2^53: the number as written, when the line names this field with one lexeme that reads
  // as this number (anything ambiguous falls back to the double's exact value)
  const exact = new Set<bigint>()
  for (const m of line.matchAll(new RegExp(`(?<!\\\\)"${name}"\\s*:\\s*(\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?)(?![\\d.eE])`, "g"))) {
    if (Number(m[1]) !== u) continue
    const v = integerOf(m[1]!)
    if (v !== undefined) exact.add(v)
  }
  return exact.size === 1 ? [...exact][0]! : BigInt(u)
}

/** The exact integer a JSON number lexeme writes (`1e+30`, `1.5e1`, digits), or undefined when it is not one. */
const integerOf = (lexeme: string): bigint | undefined => {
  const m = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(lexeme)
  if (m === null) return undefined
  const fraction = m[2] ?? ""
  const exponent = Number(m[3] ?? "0") - fraction.length
  // JSON.parse read it as a finite double: the exponent is at most a few hundred
  if (!Number.isSafeInteger(exponent) || exponent > 400) return undefined
  const digits = BigInt(m[1]! + fraction)
  if (exponent >= 0) return digits * 10n ** BigInt(exponent)
  const scale = 10n ** BigInt(-exponent)
  return digits % scale === 0n ? digits / scale : undefined
}

/** A `decision`'s actor as text: a string as it is, a number or boolean as JSON writes it. */
const actorOf = (u: unknown): string | null => (typeof u === "string" ? u : typeof u === "number" || typeof u === "boolean" ? String(u) : null)

/** A call failed when it says so: an `outcome` other than `success`, or an `error`. */
const failed = (p: Record<string, unknown>): boolean =>
  (typeof p["outcome"] === "string" && p["outcome"] !== "success") || (p["error"] !== undefined && p["error"] !== null && p["error"] !== false)

/** The categories a policy flag names, each once: `data.categories`, `data.category`, `data.findings[].category`. */
const flagCategories = (data: unknown): Array<string> => {
  if (!isRecord(data)) return []
  const out = new Set<string>()
  if (typeof data["category"] === "string") out.add(data["category"])
  if (Array.isArray(data["categories"])) for (const c of data["categories"]) if (typeof c === "string") out.add(c)
  if (Array.isArray(data["findings"])) for (const f of data["findings"]) if (isRecord(f) && typeof f["category"] === "string") out.add(f["category"])
  return [...out]
}

/**
 * What a flag says was removed, by category: the library's own flags (`auto`) after a redaction
 * or a block carry `data.counts`; the guard's carry `data.findings` with each finding's action
 * (`redact` and `block` remove the value). A flag that names categories without counts counts
 * one each.
 */
const removedCounts = (action: string, data: unknown): Array<readonly [string, number]> => {
  if (action !== "redacted" && action !== "blocked") return []
  if (!isRecord(data)) return []
  if (isRecord(data["counts"])) {
    return Object.entries(data["counts"]).filter((e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1]) && e[1] > 0)
  }
  if (Array.isArray(data["findings"])) {
    const out: Array<readonly [string, number]> = []
    for (const f of data["findings"]) {
      if (!isRecord(f) || typeof f["category"] !== "string") continue
      if (f["action"] !== undefined && f["action"] !== "redact" && f["action"] !== "block") continue
      out.push([f["category"], typeof f["count"] === "number" && f["count"] > 0 ? f["count"] : 1])
    }
    return out
  }
  return flagCategories(data).map((c) => [c, 1] as const)
}

/** The counts of `m`, most frequent first, ties by name. */
const byCount = (m: Map<string, number>): Array<ReportCount> =>
  [...m].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

/** The counts of `m` sorted by name. */
const byName = (m: Map<string, number>): Array<ReportCount> =>
  [...m].map(([name, count]) => ({ name, count })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))

const catalogueOrder: ReadonlyMap<string, number> = new Map(Controls.catalogue.map((c, i) => [`${c.framework}\u0000${c.id}`, i]))

/**
 * The fold of one pass: lines in, a `ReportSummary` (less its verdict and source) out. Lines are
 * numbered as `verify` numbers them (1-based, blank lines and `_meta` included).
 */
class Collector {
  private readonly decoder = new TextDecoder("utf-8")
  private carry = ""
  private lineNo = 0
  private seenFirst = false
  bytes = 0
  entries = 0
  malformed = 0
  readonly hash = createHash("sha256")
  /** the input's bytes, kept while they are at most `keep` (for the report to embed) */
  kept: Array<Uint8Array> | undefined
  notJson: { readonly line: number; readonly reason: string } | undefined
  meta: Record<string, unknown> | undefined
  auditOpen: Record<string, unknown> | undefined
  private firstTs: string | null = null
  private lastTs: string | null = null
  private firstT = NaN
  private lastT = NaN
  private prevTsText = ""
  private prevT = NaN
  private tsUnparseable = 0
  private tsOutOfOrder = 0
  private withoutId = 0
  private repeatedIds = 0
  /** the text of the line being counted (token counts past 2^53 are read from it) */
  private text = ""
  private readonly types = new Map<string, number>()
  private readonly decisions = new Map<string, DecisionAcc>()
  private started = 0
  private flagsTotal = 0
  private readonly flagActions = new Map<string, number>()
  private readonly flagSeverities = new Map<string, number>()
  private readonly flagCats = new Map<string, number>()
  private readonly removed = new Map<string, number>()
  private readonly models = new Map<string, ModelAcc>()
  private readonly tools = new Map<string, ReportTool & { calls: number; failures: number }>()
  private readonly controls = new Map<string, ControlAcc>()

  constructor(private readonly keep: number) {
    this.kept = keep > 0 ? [] : undefined
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length
    this.hash.update(chunk)
    if (this.kept !== undefined) {
      // each chunk is a buffer of its own (FileSystem.stream reads into a new one each time)
      if (this.bytes <= this.keep) this.kept.push(chunk)
      else this.kept = undefined
    }
    if (this.notJson !== undefined) return
    const text = this.carry + this.decoder.decode(chunk, { stream: true })
    let at = 0
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", at)) {
      this.line(text.slice(at, nl))
      at = nl + 1
    }
    this.carry = text.slice(at)
  }

  end(): void {
    if (this.notJson !== undefined) return
    const rest = this.carry + this.decoder.decode()
    this.carry = ""
    if (rest.length > 0) this.line(rest)
  }

  private line(raw: string): void {
    this.lineNo++
    let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw
    if (this.lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    // blank lines are skipped, as verification skips them (trim() would copy every line)
    if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && /^\s*$/.test(text))) return
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      value = undefined
    }
    this.text = text
    this.value(value)
  }

  /** One line's value (undefined: not JSON). */
  private value(value: unknown): void {
    const first = !this.seenFirst
    this.seenFirst = true
    if (!isRecord(value)) {
      if (first) this.notJson = { line: this.lineNo, reason: value === undefined ? "is not JSON" : "is JSON but not an object" }
      else this.malformed++
      return
    }
    if (first && isRecord(value["_meta"])) {
      this.meta = value["_meta"]
      return
    }
    const { payload, seq, ts, type } = value
    if (typeof type !== "string" || typeof seq !== "number" || !isRecord(payload)) {
      this.malformed++
      return
    }
    this.entry(type, seq, typeof ts === "string" ? ts : "", payload, value["controls"])
  }

  private entry(type: string, seq: number, ts: string, p: Record<string, unknown>, controls: unknown): void {
    this.entries++
    bump(this.types, type)
    // the period is the earliest and the latest ts that reads as a time, whatever the order of
    // the lines (a clock that jumped shows in it); the chain's order is the record's, so a ts
    // earlier than one before it is counted as out of order
    const t = ts === this.prevTsText ? this.prevT : Date.parse(ts)
    this.prevTsText = ts
    this.prevT = t
    if (Number.isNaN(t)) this.tsUnparseable++
    else {
      if (t < this.lastT) this.tsOutOfOrder++
      if (!(t >= this.firstT)) {
        this.firstT = t
        this.firstTs = ts
      }
      if (!(t < this.lastT)) {
        this.lastT = t
        this.lastTs = ts
      }
    }
    if (this.entries === 1 && type === "audit_open") this.auditOpen = p
    const id = p["decision_id"]
    let d: DecisionAcc | undefined
    if (typeof id === "string") {
      d = this.decisions.get(id)
      if (d === undefined) {
        d = { id, ts, actor: null, started: false, startedAt: NaN, startOrder: 0, modelCalls: 0, tools: [], oversight: false, outcome: null, seqs: [] }
        this.decisions.set(id, d)
      }
      d.seqs.push(seq)
    }
    switch (type) {
      case "decision":
        if (d === undefined) this.withoutId++
        else if (!d.started) {
          d.started = true
          d.startOrder = this.started++
          d.startedAt = t
          d.actor = actorOf(p["actor"])
        } else {
          // a second decision entry under the same id: counted apart; its actor fills a gap
          this.repeatedIds++
          if (d.actor === null) d.actor = actorOf(p["actor"])
        }
        break
      case "decision_end":
        if (d !== undefined) d.outcome = str(p["outcome"]) ?? "ended"
        break
      case "human_oversight":
        if (d !== undefined) d.oversight = true
        break
      case "llm_call": {
        if (d !== undefined) d.modelCalls++
        const provider = str(p["provider"])
        const model = str(p["model"]) ?? "(unknown)"
        const key = `${provider ?? ""}\u0000${model}`
        let m = this.models.get(key)
        if (m === undefined) {
          m = { provider, model, calls: 0, failures: 0, inputTokens: 0n, outputTokens: 0n, unreadableTokens: 0, unreadableCosts: 0, costs: new Map() }
          this.models.set(key, m)
        }
        m.calls++
        if (failed(p)) m.failures++
        const usage = p["usage"]
        if (isRecord(usage)) {
          const input = tokens(usage["input_tokens"], "input_tokens", this.text)
          const output = tokens(usage["output_tokens"], "output_tokens", this.text)
          if (typeof input === "bigint") m.inputTokens += input
          if (typeof output === "bigint") m.outputTokens += output
          if (input === null || output === null) m.unreadableTokens++
        }
        const cost = parseCost(p["cost"])
        if (cost !== undefined) {
          const sum = m.costs.get(cost.currency)
          m.costs.set(cost.currency, sum === undefined ? cost.amount : addDecimal(sum, cost.amount))
        } else if (p["cost"] !== undefined && p["cost"] !== null) {
          m.unreadableCosts++
        }
        break
      }
      case "tool_call": {
        const name = str(p["name"]) ?? "(unnamed)"
        let tool = this.tools.get(name)
        if (tool === undefined) {
          tool = { name, calls: 0, failures: 0 }
          this.tools.set(name, tool)
        }
        tool.calls++
        if (failed(p)) tool.failures++
        if (d !== undefined && !d.tools.includes(name)) d.tools.push(name)
        break
      }
      case "policy_flag": {
        this.flagsTotal++
        const action = typeof p["action"] === "string" && p["action"] !== "" ? p["action"].toLowerCase() : "unspecified"
        bump(this.flagActions, action)
        bump(this.flagSeverities, typeof p["severity"] === "string" && p["severity"] !== "" ? p["severity"].toLowerCase() : "unspecified")
        for (const c of flagCategories(p["data"])) bump(this.flagCats, c)
        for (const [c, n] of removedCounts(action, p["data"])) bump(this.removed, c, n)
        break
      }
    }
    if (Array.isArray(controls)) {
      for (const c of controls) {
        if (typeof c !== "string") continue
        let acc = this.controls.get(c)
        if (acc === undefined) {
          acc = { entries: 0, seqs: [] }
          this.controls.set(c, acc)
        }
        // a row names a control once; a row that names it twice still counts once
        if (acc.seqs[acc.seqs.length - 1] === seq && acc.entries > 0) continue
        acc.entries++
        if (acc.seqs.length < CONTROL_SEQS) acc.seqs.push(seq)
      }
    }
  }

  /** Entries of `type` seen. */
  count(type: string): number {
    return this.types.get(type) ?? 0
  }

  /** Everything but the verdict and the source. */
  result(): Omit<ReportSummary, "verdict" | "source" | "version"> {
    const meta = this.meta
    const open = this.auditOpen
    const frameworkText = meta !== undefined ? str(meta["framework"]) : null
    const framework = Controls.isFramework(frameworkText) ? frameworkText : null

    const rows: Array<DecisionAcc> = []
    for (const d of this.decisions.values()) if (d.started) rows.push(d)
    rows.sort((a, b) => a.startOrder - b.startOrder)
    const outcomes = new Map<string, number>()
    let withOversight = 0
    for (const d of rows) {
      bump(outcomes, d.outcome ?? "open")
      if (d.oversight) withOversight++
    }

    // the chart: at most MAX_BARS buckets, whatever the clocks said (decisions far from the rest,
    // or whose ts is not a time, are counted apart); it spans the period when that fits
    const chart = chartOf(rows.map((d) => d.startedAt), [this.firstT, this.lastT])

    const models: Array<ReportModelUsage> = [...this.models.values()]
      .sort((a, b) => b.calls - a.calls || (a.model < b.model ? -1 : a.model > b.model ? 1 : 0) || ((a.provider ?? "") < (b.provider ?? "") ? -1 : 1))
      .map((m) => {
        const costs = [...m.costs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, amount]) => ({ amount: formatDecimal(amount), currency }))
        const only = costs.length === 1 ? costs[0]! : undefined
        return {
          provider: m.provider,
          model: m.model,
          calls: m.calls,
          failures: m.failures,
          input_tokens: Number(m.inputTokens),
          output_tokens: Number(m.outputTokens),
          input_tokens_exact: m.inputTokens.toString(),
          output_tokens_exact: m.outputTokens.toString(),
          unreadable_tokens: m.unreadableTokens,
          unreadable_costs: m.unreadableCosts,
          cost: only?.amount ?? null,
          currency: only?.currency ?? null,
          costs
        }
      })

    const tools: Array<ReportTool> = [...this.tools.values()]
      .sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => ({ name: t.name, calls: t.calls, failures: t.failures }))

    const controls: Array<ReportControl> = [...this.controls]
      .map(([id, acc]) => {
        const anchor = framework === null ? Option.none<string>() : Controls.anchor(framework, id)
        return {
          id,
          framework,
          provision: Option.isSome(anchor) ? Controls.provisionOf(id) : null,
          anchor: Option.getOrNull(anchor),
          entries: acc.entries,
          seqs: [...acc.seqs].sort((a, b) => a - b)
        }
      })
      .sort((a, b) => {
        const x = catalogueOrder.get(`${framework}\u0000${a.id}`) ?? Infinity
        const y = catalogueOrder.get(`${framework}\u0000${b.id}`) ?? Infinity
        return x !== y ? (x < y ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0
      })

    const decisionRows: Array<ReportDecision> = rows.map((d) => ({
      decision_id: d.id,
      actor: d.actor,
      ts: d.ts,
      model_calls: d.modelCalls,
      tools: d.tools,
      oversight: d.oversight,
      outcome: d.outcome ?? "open",
      seqs: d.seqs
    }))

    return {
      system: meta !== undefined ? str(meta["system"]) : open !== undefined ? str(open["system"]) : null,
      risk_tier: meta !== undefined ? str(meta["risk_tier"]) : open !== undefined ? str(open["risk_tier"]) : null,
      framework: frameworkText,
      disclaimer: meta !== undefined && typeof meta["disclaimer"] === "string" && meta["disclaimer"] !== "" ? meta["disclaimer"] : DISCLAIMER,
      period: { first: this.firstTs, last: this.lastTs, unparseable: this.tsUnparseable, out_of_order: this.tsOutOfOrder },
      entries: this.entries,
      by_type: byName(this.types),
      decisions: {
        total: rows.length,
        repeated_ids: this.repeatedIds,
        without_id: this.withoutId,
        with_oversight: withOversight,
        outcomes: byName(outcomes),
        bucket: chart.bucket,
        over_time: chart.over_time,
        outside_chart: chart.outside
      },
      flags: {
        total: this.flagsTotal,
        by_action: byName(this.flagActions),
        by_severity: byName(this.flagSeverities),
        top_categories: byCount(this.flagCats).slice(0, TOP_CATEGORIES)
      },
      redactions: byCount(this.removed),
      models,
      tools,
      controls,
      decision_rows: decisionRows
    }
  }
}

// ---------------------------------------------------------------------------------------------
// driver

/**
 * @since 0.1.0
 * @category models
 */
export interface SummarizeOptions {
  /** the HMAC passphrase: signatures and the signed header are checked with it */
  readonly key?: Redacted.Redacted<string> | undefined
  /** trusted Ed25519 verifier keys (C2SP key texts): checkpoints are checked under them */
  readonly publicKeys?: ReadonlyArray<string> | undefined
  /** called after each chunk read, with the bytes read so far and the entries seen */
  readonly onProgress?: ((bytes: number, entries: number) => void) | undefined
}

/**
 * A summary, and the input's bytes when they were kept (at most `keepBytes`).
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export interface Summarized {
  readonly summary: ReportSummary
  /**
   * the input's bytes in the chunks read (not joined: a copy of a large pack saved); handed over
   * to the caller, which may empty the array as it uses them (`Report.write` does, to free them)
   */
  readonly chunks: ReadonlyArray<Uint8Array> | undefined
}

/** The chunks the input is read in (as `Verify.file` reads it). */
const CHUNK = 1024 * 1024

/** The HMAC key id an input states, unverified: its seal's `key_id`, else its `audit_open`'s `signing.key_id`. */
const statedKeyId = (c: Collector): string | null => {
  const seal = c.meta?.["seal"]
  const fromSeal = isRecord(seal) ? str(seal["key_id"]) : null
  const signing = c.auditOpen?.["signing"]
  const id = fromSeal ?? (isRecord(signing) ? str(signing["key_id"]) : null)
  return id !== null && /^[0-9a-f]{16}$/.test(id) ? id : null
}

/**
 * Summarize the pack or log at `path`, keeping its bytes when there are at most `keepBytes` of
 * them (0: never). One read of the file feeds both the summary and `Verify.streamOutcome` (the
 * fold `verify` runs); when verification stops early at a failure, the rest of the file is read
 * again for the summary alone.
 *
 * @since 0.1.0
 * @category internal
 */
export const summarize = (
  path: string,
  options: SummarizeOptions = {},
  keepBytes = 0
): Effect.Effect<Summarized, InputUnreadable | NotJsonLines | Verify.PublicKeyInvalid, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const unreadable = (e: unknown) => {
      const u = Verify.unreadable(path, e)
      return new InputUnreadable({ path, reason: u.reason })
    }
    const info = yield* fs.stat(path).pipe(Effect.mapError(unreadable))
    if (info.type !== "File") return yield* new InputUnreadable({ path, reason: `it is ${fileKind(info.type)}, not a file` })
    const read = (c: Collector, done: { complete: boolean }) =>
      fs.stream(path, { chunkSize: CHUNK }).pipe(
        Stream.mapError((e) => Verify.unreadable(path, e)),
        Stream.tap((chunk) =>
          Effect.sync(() => {
            c.push(chunk)
            options.onProgress?.(c.bytes, c.entries)
          })
        ),
        Stream.concat(Stream.execute(Effect.sync(() => {
          done.complete = true
        })))
      )
    let collector = new Collector(keepBytes)
    const done = { complete: false }
    const outcome = yield* Verify.streamOutcome(read(collector, done), { key: options.key, publicKeys: options.publicKeys })
    if (Either.isLeft(outcome.result)) {
      const e = outcome.result.left
      if (e._tag === "Unreadable") return yield* new InputUnreadable({ path, reason: e.reason })
      if (e._tag === "PublicKeyInvalid") return yield* e
    }
    if (!done.complete) {
      // verification stopped at the failure: the rest of the file is still counted (and shown),
      // marked by the verdict as unverified
      collector = new Collector(keepBytes)
      const again = { complete: false }
      const failed = yield* Stream.runDrain(read(collector, again)).pipe(Effect.either)
      if (Either.isLeft(failed)) return yield* new InputUnreadable({ path, reason: failed.left.reason })
    }
    collector.end()
    if (collector.notJson !== undefined) {
      return yield* new NotJsonLines({ path, line: collector.notJson.line, reason: collector.notJson.reason })
    }
    const kind = collector.meta !== undefined ? "pack" : "log"
    const verdict = verdictOf(outcome, {
      keyId: statedKeyId(collector),
      kind,
      keyGiven: options.key !== undefined,
      pubkeysGiven: (options.publicKeys?.length ?? 0) > 0,
      checkpoints: collector.count("checkpoint"),
      metaCheckpoint: typeof collector.meta?.["checkpoint"] === "string"
    })
    const explained = collector.malformed > 0
      ? { ...verdict, explanation: [...verdict.explanation, `${plural(collector.malformed, "line is", "lines are")} not an entry and ${collector.malformed === 1 ? "is" : "are"} left out of the counts.`] }
      : verdict
    const summary: ReportSummary = {
      version: 1,
      source: { path, bytes: collector.bytes, sha256: collector.hash.digest("hex"), kind },
      verdict: explained,
      ...collector.result()
    }
    return { summary, chunks: collector.kept }
  })
