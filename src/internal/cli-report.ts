/**
 * The `report`, `inspect` and `show` commands: evidence a person can read (issue 16).
 *
 * - `report PACK --out report.html`: the self-contained HTML report (src/Report.ts `write`).
 * - `inspect PACK [--json]`: the same summary in the terminal, or as one JSON document.
 * - `show PACK (--seq … | --decision ID) [--json]`: chosen entries, pretty-printed in order.
 *
 * Exit codes, as the other commands: 0 when the input verifies; 1 when it does not (the report
 * is still written, the summary and the entries still printed: a failing pack is exactly what a
 * reviewer needs to look at), and for `show`, when an entry asked for is not there; 2 on a usage
 * error, an input that cannot be read or is not JSON Lines, or a report that cannot be written
 * (nothing was produced).
 *
 * These commands take the key options, the key handling and the exit code from cli.ts, which
 * passes them in (`reportCommands`): one implementation of how a key is given (with the warning
 * for `--key` at a terminal, and the refusals of an Ed25519 key or a key that is not text), and
 * no import of cli.ts from here (a cycle).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as Report from "../Report.js"
import * as Verify from "../Verify.js"
import { fileKind, verdictText } from "./messages.js"
import * as Progress from "./progress.js"
import type { ReportCount, ReportSummary } from "./report-model.js"

/**
 * The usage line of `report` (cli.ts shows it after a usage error and in `--help`).
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const REPORT_USAGE =
  "usage: acttrace report PACK --out report.html [--key-file F | --key K] [--pubkey FILE]... [--max-embed-bytes N] [--quiet]"
/**
 * The usage line of `inspect`.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const INSPECT_USAGE = "usage: acttrace inspect PACK [--key-file F | --key K] [--pubkey FILE]... [--json]"
/**
 * The usage line of `show`.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const SHOW_USAGE = "usage: acttrace show PACK (--seq N[,N|A-B]... | --decision ID) [--key-file F | --key K] [--pubkey FILE]... [--json]"

/**
 * Examples for `--help` (the cli module shows them under each command's usage).
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const REPORT_EXAMPLES: ReadonlyArray<string> = [
  "acttrace report audit.pack.jsonl --out report.html --key-file audit.key",
  "acttrace report audit.pack.jsonl --out report.html --pubkey acme.pub",
  "acttrace report huge.pack.jsonl --out report.html --max-embed-bytes 0"
]
/**
 * Examples of `inspect` for `--help`.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const INSPECT_EXAMPLES: ReadonlyArray<string> = [
  "acttrace inspect audit.pack.jsonl --key-file audit.key",
  "acttrace inspect audit.pack.jsonl --json | jq .decisions"
]
/**
 * Examples of `show` for `--help`.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const SHOW_EXAMPLES: ReadonlyArray<string> = [
  "acttrace show audit.pack.jsonl --seq 12",
  "acttrace show audit.pack.jsonl --seq 3,7,40-45",
  "acttrace show audit.pack.jsonl --decision 642bcb6c280216c9dba72a0d5a25c9bf --json"
]

type ExitCode = 0 | 1 | 2

/**
 * What cli.ts lends these commands (see the module's comment).
 *
 * @internal
 *
 * @since 0.1.0
 * @category internal
 */
export interface CliServices<EU extends Error, EK, EP> {
  /** The code the process ends with (cli.ts keeps it: handlers return nothing in @effect/cli). */
  readonly setExitCode: (code: ExitCode) => void
  /** A usage error: `error: REASON` and the usage text on stderr, exit 2. */
  readonly usage: (reason: string, usageText: string) => EU
  readonly resolveKey: (
    key: Option.Option<Redacted.Redacted<string>>,
    keyFile: Option.Option<string>,
    usageText: string
  ) => Effect.Effect<Redacted.Redacted<string> | undefined, EK, FileSystem.FileSystem>
  readonly readPubkeys: (paths: ReadonlyArray<string>, usageText: string) => Effect.Effect<ReadonlyArray<string>, EP, FileSystem.FileSystem>
  readonly keyFileOption: (what: string) => Options.Options<Option.Option<string>>
  readonly keyOption: Options.Options<Option.Option<Redacted.Redacted<string>>>
  readonly pubkeyOption: (what: string) => Options.Options<ReadonlyArray<string>>
}

// ---------------------------------------------------------------------------------------------
// terminal text

/** Whether stdout takes colour: a terminal, and `NO_COLOR` unset or empty (https://no-color.org). */
const colourOnStdout = (): boolean => process.stdout.isTTY === true && (process.env["NO_COLOR"] ?? "") === ""

interface Paint {
  readonly bold: (s: string) => string
  readonly dim: (s: string) => string
  readonly green: (s: string) => string
  readonly red: (s: string) => string
  readonly yellow: (s: string) => string
}

const paint = (on: boolean): Paint => {
  const sgr = (open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s)
  return { bold: sgr(1, 22), dim: sgr(2, 22), green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39) }
}

/**
 * Text from the pack, safe to print: control characters (which could move the cursor, recolour
 * or rewrite what a reviewer sees) shown as `\u00XX`, and at most `max` characters.
 *
 * @since 0.1.0
 * @category internal
 */
export const printable = (s: string, max = 80): string => {
  const clean = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
  return clean.length <= max ? clean : `${clean.slice(0, max - 1)}…`
}

/** The width a string takes on a terminal, escape sequences left out. */
const width = (s: string): number => s.replace(/\u001b\[[0-9;]*m/g, "").length

const group = (n: number): string => n.toLocaleString("en-US")

/** An exact decimal integer's digits, thousands separated (token sums past 2^53 are text). */
const groupDigits = (digits: string | undefined, n: number): string =>
  digits !== undefined && /^\d+$/.test(digits) ? digits.replace(/\B(?=(\d{3})+$)/g, ",") : group(n)

/**
 * An aligned table: a header row (dimmed) and the rows, columns separated by two spaces;
 * `right` columns (numbers) aligned right.
 */
const table = (p: Paint, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, right: ReadonlyArray<number> = [], indent = "  "): Array<string> => {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))))
  const cell = (s: string, i: number) => {
    const pad = " ".repeat(widths[i]! - width(s))
    return right.includes(i) ? pad + s : s + pad
  }
  const line = (r: ReadonlyArray<string>) => `${indent}${r.map(cell).join("  ")}`.trimEnd()
  return [p.dim(line(header)), ...rows.map(line)]
}

const countRows = (counts: ReadonlyArray<ReportCount>) => counts.map((c) => [printable(c.name), group(c.count)])

const percent = (part: number, whole: number): string => (whole === 0 ? "–" : `${Math.round((100 * part) / whole)} %`)

/** What the period leaves out: entries whose ts is not a time, or earlier than one before it. */
const periodNotes = (period: ReportSummary["period"]): string => {
  const notes: Array<string> = []
  if ((period.unparseable ?? 0) > 0) notes.push(`${group(period.unparseable ?? 0)} with a ts that is not a time`)
  if ((period.out_of_order ?? 0) > 0) notes.push(`${group(period.out_of_order ?? 0)} earlier than an entry before them`)
  return notes.length === 0 ? "" : ` (${notes.join("; ")})`
}

/** `n` and the noun, singular or plural. */
const plural = (n: number, one: string, many: string): string => `${group(n)} ${n === 1 ? one : many}`

/**
 * The summary as a person reads it in a terminal.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const inspectText = (s: ReportSummary, colour: boolean, shownRows = 20): string => {
  const p = paint(colour)
  const out: Array<string> = []
  const heading = (t: string) => {
    out.push("", p.bold(t))
  }
  const v = s.verdict
  out.push(`${p.bold("Verdict")}  ${v.ok ? p.green(printable(v.message, 400)) : p.red(printable(v.message, 400))}`)
  for (const e of v.explanation) out.push(`  ${e}`)

  heading("Evidence")
  out.push(
    ...table(p, ["", ""], [
      ["system", s.system === null ? "–" : printable(s.system)],
      ["risk tier", s.risk_tier === null ? "–" : printable(s.risk_tier)],
      ["framework", s.framework === null ? "– (no control ids)" : printable(s.framework)],
      ["period", (s.period.first === null ? "–" : `${printable(s.period.first)} … ${printable(s.period.last ?? "")}`) + periodNotes(s.period)],
      ["source", `${printable(s.source.path, 200)} (${s.source.kind}, ${group(s.source.bytes)} bytes)`],
      ["sha256", s.source.sha256]
    ]).slice(1)
  )

  heading(`Entries  ${group(s.entries)}`)
  out.push(...table(p, ["type", "count"], countRows(s.by_type), [1]))

  const d = s.decisions
  heading(`Decisions  ${group(d.total)}, ${group(d.with_oversight)} with human oversight (${percent(d.with_oversight, d.total)})`)
  if ((d.repeated_ids ?? 0) > 0) out.push(`  ${plural(d.repeated_ids ?? 0, "decision entry repeats", "decision entries repeat")} an id already started (not counted again)`)
  if ((d.without_id ?? 0) > 0) out.push(`  ${plural(d.without_id ?? 0, "decision entry has", "decision entries have")} no string decision_id (not counted)`)
  if (d.total > 0) {
    out.push(...table(p, ["outcome", "count"], countRows(d.outcomes), [1]))
    const busiest = Math.max(1, ...d.over_time.map((b) => b.count))
    out.push("", `  ${p.dim(`started per ${d.bucket} (UTC)`)}`)
    out.push(...d.over_time.map((b) => `  ${b.start}  ${"█".repeat(Math.ceil((b.count / busiest) * 40))}${b.count === 0 ? "" : " "}${group(b.count)}`))
    if ((d.outside_chart ?? 0) > 0) {
      out.push(`  ${plural(d.outside_chart ?? 0, "decision is", "decisions are")} outside the chart: a start time that is not a time, or far from the others`)
    }
  }

  const f = s.flags
  heading(`Policy flags  ${group(f.total)}`)
  if (f.total > 0) {
    out.push(...table(p, ["action", "count"], countRows(f.by_action), [1]))
    out.push(...table(p, ["severity", "count"], countRows(f.by_severity), [1]))
    if (f.top_categories.length > 0) out.push(...table(p, ["category", "flags"], countRows(f.top_categories), [1]))
  }

  heading("Redacted or blocked before hashing (categories and counts, never values)")
  out.push(...(s.redactions.length === 0 ? ["  nothing"] : table(p, ["category", "count"], countRows(s.redactions), [1])))

  heading("Model usage")
  out.push(
    ...(s.models.length === 0 ? ["  no model call"] : table(
      p,
      ["provider", "model", "calls", "failures", "input tokens", "output tokens", "cost"],
      s.models.map((m) => [
        m.provider === null ? "–" : printable(m.provider),
        printable(m.model),
        group(m.calls),
        group(m.failures),
        groupDigits(m.input_tokens_exact, m.input_tokens),
        groupDigits(m.output_tokens_exact, m.output_tokens),
        (m.costs ?? []).length === 0 ? "–" : (m.costs ?? []).map((c) => `${c.amount} ${printable(c.currency, 12)}`).join(" + ")
      ]),
      [2, 3, 4, 5, 6]
    ))
  )

  for (const m of s.models) {
    const notes: Array<string> = []
    if ((m.unreadable_tokens ?? 0) > 0) notes.push(`${plural(m.unreadable_tokens ?? 0, "call has", "calls have")} token counts that are not non-negative integers (left out of the sums)`)
    if ((m.unreadable_costs ?? 0) > 0) notes.push(`${plural(m.unreadable_costs ?? 0, "call has", "calls have")} a cost that is not "<decimal> <currency>" (left out of the costs)`)
    for (const n of notes) out.push(`  ${printable(m.model)}: ${n}`)
  }

  heading("Tools")
  out.push(...(s.tools.length === 0 ? ["  no tool call"] : table(p, ["tool", "calls", "failures"], s.tools.map((t) => [printable(t.name), group(t.calls), group(t.failures)]), [1, 2])))

  heading(`Controls${s.framework === null ? "" : ` (${printable(s.framework)})`}`)
  out.push(
    ...(s.controls.length === 0
      ? [`  none: ${s.source.kind === "log" ? "a live log carries no control ids (export it with --framework)" : "the pack's rows carry no control ids"}`]
      : table(p, ["control", "entries", "first supporting seqs"], s.controls.map((c) => [
        printable(c.id),
        group(c.entries),
        c.seqs.slice(0, 8).join(", ") + (c.entries > 8 ? ", …" : "")
      ]), [1]))
  )

  heading(`Decision table${d.total > shownRows ? `  (first ${shownRows} of ${group(d.total)}; inspect --json lists every row)` : ""}`)
  out.push(
    ...(s.decision_rows.length === 0 ? ["  no decision"] : table(
      p,
      ["decision id", "actor", "started", "model calls", "tools", "oversight", "outcome"],
      s.decision_rows.slice(0, shownRows).map((r) => [
        r.decision_id.length > 40 ? printable(r.decision_id, 40) : printable(r.decision_id),
        r.actor === null ? "–" : printable(r.actor, 30),
        printable(r.ts, 40),
        group(r.model_calls),
        r.tools.length === 0 ? "–" : printable(r.tools.join(", "), 40),
        r.oversight ? "yes" : "no",
        r.outcome === "success" ? r.outcome : r.outcome === "open" ? p.yellow("open") : p.red(printable(r.outcome, 20))
      ]),
      [3]
    ))
  )
  if (d.total > 0) out.push(`  ${p.dim("acttrace show PACK --decision ID prints a decision's entries")}`)

  out.push("", p.dim(s.disclaimer))
  return out.join("\n")
}

// ---------------------------------------------------------------------------------------------
// show

/**
 * `--seq 3,7,40-45`: seqs and ranges of seqs.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const parseSeqRanges = (text: string): Either.Either<ReadonlyArray<readonly [number, number]>, string> => {
  const out: Array<readonly [number, number]> = []
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    const from = m === null ? NaN : Number(m[1])
    const to = m === null ? NaN : m[2] === undefined ? from : Number(m[2])
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) {
      return Either.left(`--seq ${JSON.stringify(text)}: ${JSON.stringify(part)} is not a seq or a range of seqs (such as 12 or 40-45)`)
    }
    out.push([from, to])
  }
  return Either.right(out)
}

/**
 * The deepest level `reindent` indents; deeper values are printed compact on their line, so the
 * output stays linear in the input (indenting every level of a 3,000-deep entry printed 18 MB
 * for 6 KB).
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const MAX_INDENT = 32

/**
 * A JSON text re-indented (two spaces), never re-encoded: every string, escape and number lexeme
 * stays exactly as the line holds it (a `JSON.parse` and `JSON.stringify` would turn
 * `100000000000000000001` into `100000000000000000000` and `1e-05` into `0.00001`).
 *
 * @since 0.1.0
 * @category internal
 */
export const reindent = (json: string): string => {
  let out = ""
  let depth = 0
  let inString = false
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!
    if (inString) {
      out += c
      if (c === "\\") out += json[++i] ?? ""
      else if (c === "\"") inString = false
      continue
    }
    switch (c) {
      case "\"":
        inString = true
        out += c
        break
      case "{":
      case "[": {
        // an empty object or array stays on its line
        let j = i + 1
        while (json[j] === " " || json[j] === "\t") j++
        const closing = c === "{" ? "}" : "]"
        if (json[j] === closing) {
          out += c + closing
          i = j
        } else {
          depth++
          out += depth <= MAX_INDENT ? `${c}\n${"  ".repeat(depth)}` : c
        }
        break
      }
      case "}":
      case "]":
        depth--
        out += depth < MAX_INDENT ? `\n${"  ".repeat(Math.max(0, depth))}${c}` : c
        break
      case ",":
        out += depth <= MAX_INDENT ? `,\n${"  ".repeat(depth)}` : ","
        break
      case ":":
        out += depth <= MAX_INDENT ? ": " : ":"
        break
      case " ":
      case "\t":
      case "\r":
      case "\n":
        break
      default:
        out += c
    }
  }
  return out
}

interface Picked {
  readonly line: number
  readonly seq: number
  readonly text: string
}

/**
 * The lines of `path` chosen by `want`, with the verdict of `Verify` on the same bytes (one
 * read; the rest read again when verification stops early, so entries past a failure are still
 * shown).
 */
const pickVerified = (
  path: string,
  options: Verify.Options,
  want: (seq: number, parsed: Record<string, unknown>, text: string) => boolean,
  prefilter: (text: string) => boolean
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const picker = () => {
      const decoder = new TextDecoder()
      let carry = ""
      let lineNo = 0
      const picked: Array<Picked> = []
      const take = (raw: string) => {
        lineNo++
        let text = raw.endsWith("\r") ? raw.slice(0, -1) : raw
        if (lineNo === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
        if (!prefilter(text)) return
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch {
          return
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) return
        const v = value as Record<string, unknown>
        if (typeof v["seq"] !== "number" || "_meta" in v) return
        if (want(v["seq"], v, text)) picked.push({ line: lineNo, seq: v["seq"], text })
      }
      return {
        picked,
        push: (chunk: Uint8Array) => {
          const text = carry + decoder.decode(chunk, { stream: true })
          let at = 0
          for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", at)) {
            take(text.slice(at, nl))
            at = nl + 1
          }
          carry = text.slice(at)
        },
        end: () => {
          const rest = carry + decoder.decode()
          if (rest.length > 0) take(rest)
        }
      }
    }
    const read = (p: ReturnType<typeof picker>, done: { complete: boolean }) =>
      fs.stream(path, { chunkSize: 1024 * 1024 }).pipe(
        Stream.mapError((e) => Verify.unreadable(path, e)),
        Stream.tap((chunk) => Effect.sync(() => p.push(chunk))),
        Stream.concat(Stream.execute(Effect.sync(() => {
          done.complete = true
        })))
      )
    let p = picker()
    const done = { complete: false }
    const outcome = yield* Verify.streamOutcome(read(p, done), options)
    if (Either.isLeft(outcome.result) && (outcome.result.left._tag === "Unreadable" || outcome.result.left._tag === "PublicKeyInvalid")) {
      return { outcome, picked: [] as ReadonlyArray<Picked> }
    }
    if (!done.complete) {
      p = picker()
      const again = yield* Effect.either(Stream.runDrain(read(p, { complete: false })))
      if (Either.isLeft(again)) return { outcome: { ...outcome, result: Either.left(again.left) }, picked: [] as ReadonlyArray<Picked> }
    }
    p.end()
    return { outcome, picked: p.picked as ReadonlyArray<Picked> }
  })

// ---------------------------------------------------------------------------------------------
// the commands

/**
 * The three commands, built on what cli.ts lends them (see `CliServices`).
 *
 * @internal
 *
 * @since 0.1.0
 * @category internal
 */
export const reportCommands = <EU extends Error, EK, EP>(cli: CliServices<EU, EK, EP>) => {
  /** The input: a regular file (`-` is refused: the report and show read it whole, maybe twice). */
  const checkInput = (path: string, usageText: string) =>
    Effect.gen(function*() {
      if (path === "-") return yield* Effect.fail(cli.usage(`${path}: standard input is not read here; give a file (only verify PACK and verify-proof PROOF read standard input as -)`, usageText))
      const fs = yield* FileSystem.FileSystem
      const info = yield* Effect.either(fs.stat(path))
      if (Either.isLeft(info)) return Verify.unreadable(path, info.left).reason
      if (info.right.type !== "File") return `it is ${fileKind(info.right.type)}, not a file`
      return undefined
    })

  /** A failure of the input (unreadable, not JSON Lines, a bad --pubkey): said on stderr, exit 2. */
  const inputError = (e: Report.ReportError, usageText: string) => {
    if (e._tag === "PublicKeyInvalid") return Effect.fail(cli.usage(`--pubkey: ${e.reason}`, usageText))
    cli.setExitCode(2)
    return Console.error(`error: ${e.message}`)
  }

  /** The verification options every command takes: the key, then the trusted public keys. */
  const keys = (
    opts: { readonly key: Option.Option<Redacted.Redacted<string>>; readonly keyFile: Option.Option<string>; readonly pubkey: ReadonlyArray<string> },
    usageText: string
  ) =>
    Effect.gen(function*() {
      const key = yield* cli.resolveKey(opts.key, opts.keyFile, usageText)
      const publicKeys = yield* cli.readPubkeys(opts.pubkey, usageText)
      return { key, publicKeys: publicKeys.length === 0 ? undefined : publicKeys }
    })

  const keyOptions = {
    keyFile: cli.keyFileOption("Checks every entry signature and the pack header"),
    key: cli.keyOption,
    pubkey: cli.pubkeyOption("Checks every checkpoint entry and the pack's signed checkpoint under these keys")
  }

  const report = Command.withDescription(
    Command.make(
      "report",
      {
        pack: Args.text({ name: "PACK" }).pipe(Args.withDescription("the evidence pack (or log) to report on")),
        out: Options.text("out").pipe(Options.withDescription("where to write the HTML report (written whole, then renamed into place; never the pack itself)")),
        ...keyOptions,
        pubkey: cli.pubkeyOption("Checks every checkpoint under these keys, and is embedded in the report so the page checks them too"),
        maxEmbedBytes: Options.integer("max-embed-bytes").pipe(
          Options.withDescription(`embed the pack (for the page's own verification) when it is at most this many bytes (default ${Report.DEFAULT_MAX_EMBED_BYTES}, 64 MiB; 0 embeds none)`),
          Options.optional
        ),
        quiet: Options.boolean("quiet").pipe(
          Options.withAlias("q"),
          Options.withDescription("draw no progress line on stderr (one is drawn only on a terminal, for an input that takes more than 300 ms; never on a pipe)")
        )
      },
      (opts) =>
        Effect.gen(function*() {
          if (Option.isSome(opts.maxEmbedBytes) && opts.maxEmbedBytes.value < 0) return yield* Effect.fail(cli.usage("--max-embed-bytes must not be negative", REPORT_USAGE))
          if (opts.out === "-") return yield* Effect.fail(cli.usage("--out -: the report is a file (written whole, then renamed into place); give its name", REPORT_USAGE))
          const { key, publicKeys } = yield* keys(opts, REPORT_USAGE)
          const bad = yield* checkInput(opts.pack, REPORT_USAGE)
          if (bad !== undefined) {
            cli.setExitCode(2)
            return yield* Console.error(`error: cannot read ${opts.pack}: ${bad}`)
          }
          const fs = yield* FileSystem.FileSystem
          const size = yield* fs.stat(opts.pack).pipe(Effect.map((i) => Number(i.size)), Effect.orElseSucceed(() => undefined))
          const progress = Progress.start({ label: "report", totalBytes: size, quiet: opts.quiet })
          let seenBytes = 0
          let seenEntries = 0
          const written = yield* Report.write(opts.pack, opts.out, {
            key,
            publicKeys,
            maxEmbedBytes: Option.getOrUndefined(opts.maxEmbedBytes),
            onProgress: (bytes, entries) => {
              progress.advance(bytes - seenBytes, entries - seenEntries)
              seenBytes = bytes
              seenEntries = entries
            }
          }).pipe(Effect.ensuring(Effect.sync(() => progress.done())), Effect.either)
          if (Either.isLeft(written)) return yield* inputError(written.left, REPORT_USAGE)
          const w = written.right
          const v = w.summary.verdict
          yield* Console.log(
            `wrote ${opts.out} (${w.bytes.toLocaleString("en-US")} bytes; ${
              w.embedded ? "the pack is embedded and verified again by the page when opened" : `${w.omitted ?? "the pack is not embedded"}: the page shows this verdict only`
            })`
          )
          yield* Console.log(v.message)
          cli.setExitCode(v.ok ? 0 : 1)
        })
    ),
    "Write a self-contained HTML report of a pack (no network: open it anywhere, print it): the verdict with its basis in plain words, counts by type, decisions over time, human oversight and outcomes, policy flags and redactions (never values), model usage and cost, controls with their entries, a searchable decision table. Packs up to --max-embed-bytes are embedded and verified again in the browser. Exit 0 when the pack verifies, 1 when it does not (the report is still written), 2 when no report was written."
  )

  const inspect = Command.withDescription(
    Command.make(
      "inspect",
      {
        pack: Args.text({ name: "PACK" }).pipe(Args.withDescription("the evidence pack (or log) to summarize")),
        ...keyOptions,
        json: Options.boolean("json").pipe(Options.withDescription("print the summary as one JSON document (the one the HTML report renders; docs/cli.md)"))
      },
      (opts) =>
        Effect.gen(function*() {
          const { key, publicKeys } = yield* keys(opts, INSPECT_USAGE)
          const bad = yield* checkInput(opts.pack, INSPECT_USAGE)
          if (bad !== undefined) {
            cli.setExitCode(2)
            return yield* Console.error(`error: cannot read ${opts.pack}: ${bad}`)
          }
          const summary = yield* Effect.either(Report.summarize(opts.pack, { key, publicKeys }))
          if (Either.isLeft(summary)) return yield* inputError(summary.left, INSPECT_USAGE)
          const s = summary.right
          yield* Console.log(opts.json ? JSON.stringify(s) : inspectText(s, colourOnStdout()))
          cli.setExitCode(s.verdict.ok ? 0 : 1)
        })
    ),
    "Summarize a pack or log in the terminal: the verdict and its basis, counts by type, decisions with oversight and outcomes, flags, redactions, model usage, tools, controls, the first decisions. --json prints the whole summary as one JSON document. Exit 0 when it verifies, 1 when it does not (the summary is still printed), 2 on a usage error or unreadable input."
  )

  const show = Command.withDescription(
    Command.make(
      "show",
      {
        pack: Args.text({ name: "PACK" }).pipe(Args.withDescription("the evidence pack (or log) that holds the entries")),
        seq: Options.text("seq").pipe(Options.withDescription("the seqs of the entries to show, comma-separated; ranges too (3,7,40-45)"), Options.optional),
        decision: Options.text("decision").pipe(Options.withDescription("show every entry of this decision (its decision_id)"), Options.optional),
        ...keyOptions,
        json: Options.boolean("json").pipe(Options.withDescription("print the entries' lines exactly as the pack holds them (JSON Lines), instead of pretty-printed"))
      },
      (opts) =>
        Effect.gen(function*() {
          if (Option.isSome(opts.seq) === Option.isSome(opts.decision)) {
            return yield* Effect.fail(cli.usage("give --seq N[,N|A-B] or --decision ID (one of them)", SHOW_USAGE))
          }
          let want: (seq: number, v: Record<string, unknown>) => boolean
          let prefilter: (text: string) => boolean = () => true
          let what: string
          let ranges: ReadonlyArray<readonly [number, number]> = []
          if (Option.isSome(opts.seq)) {
            const parsed = parseSeqRanges(opts.seq.value)
            if (Either.isLeft(parsed)) return yield* Effect.fail(cli.usage(parsed.left, SHOW_USAGE))
            ranges = parsed.right
            const rs = ranges
            want = (seq) => rs.some(([a, b]) => seq >= a && seq <= b)
            what = `seq ${opts.seq.value}`
          } else {
            const id = Option.getOrThrow(opts.decision)
            if (id === "") return yield* Effect.fail(cli.usage("--decision needs a decision id", SHOW_USAGE))
            const quoted = JSON.stringify(id)
            // a line that names the decision holds its id as a JSON string (written as our writer
            // writes it; escapes in an id are compared after parsing, below)
            prefilter = /[\\"]/.test(id) || !/^[\x20-\x7e]*$/.test(id) ? () => true : (t) => t.includes(quoted)
            want = (_, v) => {
              const p = v["payload"]
              return p !== null && typeof p === "object" && (p as Record<string, unknown>)["decision_id"] === id
            }
            what = `decision ${printable(id)}`
          }
          const { key, publicKeys } = yield* keys(opts, SHOW_USAGE)
          const bad = yield* checkInput(opts.pack, SHOW_USAGE)
          if (bad !== undefined) {
            cli.setExitCode(2)
            return yield* Console.error(`error: cannot read ${opts.pack}: ${bad}`)
          }
          const { outcome, picked } = yield* pickVerified(opts.pack, { key, publicKeys }, want, prefilter)
          if (Either.isLeft(outcome.result) && outcome.result.left._tag === "MalformedLine" && outcome.entries === 0 && picked.length === 0) {
            // nothing held from the first line on: a file that is no JSON Lines at all is an
            // input error (exit 2), as for inspect and report, not a pack that fails
            const notJson = yield* firstLineNotJson(opts.pack)
            if (notJson !== undefined) {
              cli.setExitCode(2)
              return yield* Console.error(`error: ${new Report.NotJsonLines({ path: opts.pack, line: notJson.line, reason: notJson.reason }).message}`)
            }
          }
          if (Either.isLeft(outcome.result)) {
            const e = outcome.result.left
            if (e._tag === "PublicKeyInvalid") return yield* Effect.fail(cli.usage(`--pubkey: ${e.reason}`, SHOW_USAGE))
            if (e._tag === "Unreadable") {
              cli.setExitCode(2)
              return yield* Console.error(`error: cannot read ${e.path}: ${e.reason}`)
            }
          }
          const colour = colourOnStdout()
          const p = paint(colour)
          for (const [k, entry] of picked.entries()) {
            if (opts.json) {
              yield* Console.log(entry.text)
              continue
            }
            const v = JSON.parse(entry.text) as Record<string, unknown>
            const header = `seq ${entry.seq}  ${printable(String(v["type"]))}  ${printable(String(v["ts"]))}  (line ${entry.line})`
            yield* Console.log(`${k === 0 ? "" : "\n"}${p.bold(header)}\n${printableJson(reindent(entry.text))}`)
          }
          // what was asked for and is not there
          let missing: string | undefined
          if (Option.isSome(opts.seq)) {
            const found = new Set(picked.map((e) => e.seq))
            // the gaps of each range, however large, as seqs and spans (a span of three or more
            // as A-B), so the rule is the same for every range and the message stays short
            const seqs = [...found].sort((x, y) => x - y)
            const absent: Array<string> = []
            const gap = (x: number, y: number) => {
              if (y - x >= 2) absent.push(`${x}-${y}`)
              else for (let q = x; q <= y; q++) absent.push(String(q))
            }
            for (const [a, b] of ranges) {
              let next = a
              for (const q of seqs) {
                if (q < a) continue
                if (q > b) break
                if (q > next) gap(next, q - 1)
                next = q + 1
              }
              if (next <= b) gap(next, b)
            }
            if (absent.length > 0) missing = `no entry with seq ${absent.slice(0, 20).join(", ")}${absent.length > 20 ? ", …" : ""} in ${opts.pack}`
          } else if (picked.length === 0) missing = `no entry of ${what} in ${opts.pack}`
          if (missing !== undefined) yield* Console.error(`error: ${missing}`)
          // the entries shown are evidence only as far as the pack verifies: said beside them
          if (Either.isLeft(outcome.result)) {
            yield* Console.error(`warning: ${opts.pack} does not verify: ${verdictText(outcome.result.left)}${picked.length > 0 ? "; the entries shown from there on are not verified" : ""}`)
          } else if (outcome.result.right.signatures === "not-checked") {
            yield* Console.error("note: the entries are signed, but their signatures were not checked (no key given: --key-file F or ACTTRACE_KEY)")
          }
          cli.setExitCode(missing !== undefined || Either.isLeft(outcome.result) ? 1 : 0)
        })
    ),
    "Print chosen entries of a pack or log, in order, pretty-printed (every number and string exactly as the line holds it), or with --json the lines themselves. The pack is verified on the way: exit 1 (with a warning on stderr) when it does not verify or an entry asked for is not there, 2 on a usage error or unreadable input."
  )

  return [report, inspect, show] as const
}

/**
 * Whether the first non-blank line of `path` is not a JSON object (the rule of `NotJsonLines`),
 * from at most its first MiB: `undefined` when it is one, or cannot be told from there.
 */
const firstLineNotJson = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const head = yield* Effect.either(Effect.scoped(Effect.flatMap(fs.open(path), (f) => f.readAlloc(1024 * 1024))))
    if (Either.isLeft(head) || Option.isNone(head.right)) return undefined
    const text = new TextDecoder("utf-8").decode(head.right.value)
    const lines = text.split("\n")
    const complete = head.right.value.length < 1024 * 1024 ? lines.length : lines.length - 1
    for (let i = 0; i < complete; i++) {
      const line = lines[i]!.replace(/\r$/, "")
      if (line.trim() === "") continue
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        return { line: i + 1, reason: "is not JSON" }
      }
      return value !== null && typeof value === "object" && !Array.isArray(value) ? undefined : { line: i + 1, reason: "is JSON but not an object" }
    }
    return undefined
  })

/** Re-indented JSON with control characters left as the escapes JSON wrote them (they are, inside strings). */
const printableJson = (s: string): string => s.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
