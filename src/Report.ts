/**
 * Evidence a person can read: the summary of a pack or log (`summarize`), the same one
 * `acttrace inspect --json` prints, and the self-contained HTML report that verifies itself in the
 * browser (`write`, what `acttrace report` runs).
 *
 * The summary's verdict is the library's own verification (`Verify`, the fold `acttrace verify`
 * runs), with the same fields `verify --json` prints, and its signature and completeness basis
 * said in plain words (`verdict.explanation`). Its counts are of every line of the input as it
 * stands, also when verification fails (the explanation says which entries held).
 *
 * Nothing of a payload reaches the summary but identifiers a reviewer needs to find an entry
 * (decision ids, actors, model, provider and tool names, control ids, categories, outcomes): no
 * input, output, argument, note or redacted value. The HTML report embeds the pack itself (up
 * to `DEFAULT_MAX_EMBED_BYTES`, or `maxEmbedBytes`) so the page can re-verify it: whoever reads
 * the report can read every entry, as with the pack.
 *
 * @example
 * ```ts
 * import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
 * import * as Effect from "effect/Effect"
 * import * as Report from "acttrace/Report"
 *
 * const program = Effect.gen(function*() {
 *   const summary = yield* Report.summarize("audit.pack.jsonl")
 *   console.log(`${summary.decisions.total} decisions, ${summary.decisions.with_oversight} with human oversight`)
 *   const written = yield* Report.write("audit.pack.jsonl", "report.html")
 *   console.log(`wrote ${written.path}: ${written.summary.verdict.message}`)
 * })
 *
 * Effect.runPromise(program.pipe(Effect.provide(NodeFileSystem.layer)))
 * ```
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { randomBytes } from "node:crypto"
import { basename, dirname, join, resolve } from "node:path"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { plainReason } from "./internal/messages.js"
import type * as Model from "./internal/report-model.js"
import { renderReport } from "./internal/report-page.js"
import * as Summary from "./internal/summary.js"
import type * as Verify from "./Verify.js"

/**
 * The summary `inspect --json` prints and the HTML report renders (its shape is documented in
 * docs/cli.md).
 *
 * @since 0.1.0
 * @category models
 */
export type ReportSummary = Model.ReportSummary

/**
 * @since 0.1.0
 * @category models
 */
export type ReportVerdict = Model.ReportVerdict

/**
 * @since 0.1.0
 * @category models
 */
export type ReportDecision = Model.ReportDecision

/**
 * @since 0.1.0
 * @category models
 */
export type ReportControl = Model.ReportControl

/**
 * @since 0.1.0
 * @category models
 */
export type ReportModelUsage = Model.ReportModelUsage

/**
 * @since 0.1.0
 * @category models
 */
export type ReportTool = Model.ReportTool

/**
 * @since 0.1.0
 * @category models
 */
export type ReportCount = Model.ReportCount

/**
 * The pack or log could not be read: it does not exist, is not a regular file, or reading it
 * failed (`reason` says which, in plain words).
 *
 * @since 0.1.0
 * @category errors
 */
export const InputUnreadable = Summary.InputUnreadable

/**
 * @since 0.1.0
 * @category errors
 */
export type InputUnreadable = Summary.InputUnreadable

/**
 * The input is not JSON Lines: its first line that is not blank is not a JSON object.
 *
 * @since 0.1.0
 * @category errors
 */
export const NotJsonLines = Summary.NotJsonLines

/**
 * @since 0.1.0
 * @category errors
 */
export type NotJsonLines = Summary.NotJsonLines

/**
 * The report could not be written to `path` (a directory that does not exist or is not
 * writable, a full disk, the pack itself named as the output). Nothing is left at `path`: the
 * report is written to a temporary file beside it and renamed into place only when whole.
 *
 * @since 0.1.0
 * @category errors
 */
export class OutputUnwritable extends Schema.TaggedError<OutputUnwritable>()("OutputUnwritable", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cannot write the report to ${this.path}: ${this.reason}`
  }
}

/**
 * Every way `summarize` and `write` fail. A `PublicKeyInvalid` is a key given in `publicKeys`
 * that is not a verifier key (or two that cannot be told apart): a mistake in the call, not a
 * verdict on the pack. A pack that fails verification is not an error: its summary says so in
 * `verdict`.
 *
 * @since 0.1.0
 * @category errors
 */
export type ReportError = InputUnreadable | NotJsonLines | OutputUnwritable | Verify.PublicKeyInvalid

/**
 * The largest pack `write` embeds in the report by default: 64 MiB. The page re-verifies an
 * embedded pack in the browser; a larger pack would make a page too heavy to open comfortably,
 * so it is left out (the page says so, `#browser-verdict` `not-embedded`) and the server-side
 * verdict stands alone.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_EMBED_BYTES = 64 * 1024 * 1024

/**
 * @since 0.1.0
 * @category models
 */
export interface SummarizeOptions {
  /** The HMAC passphrase: every entry signature and the signed header are checked with it. */
  readonly key?: Redacted.Redacted<string> | undefined
  /** Trusted Ed25519 verifier keys (C2SP key texts, as `acttrace keygen` writes the `.pub`): checkpoints are checked under them. */
  readonly publicKeys?: ReadonlyArray<string> | undefined
  /** Called as the input is read, with the bytes read and the entries seen so far (for a progress bar). */
  readonly onProgress?: ((bytes: number, entries: number) => void) | undefined
}

/**
 * The summary of the pack or log at `path`: counts by type, decisions with oversight and
 * outcomes, decisions over time, flags, redactions, model usage with exact cost sums, tools,
 * controls with their supporting entries, the decision rows, and the verdict of `Verify` on the
 * same bytes (read once for both).
 *
 * @since 0.1.0
 * @category summary
 */
export const summarize = (
  path: string,
  options: SummarizeOptions = {}
): Effect.Effect<ReportSummary, InputUnreadable | NotJsonLines | Verify.PublicKeyInvalid, FileSystem.FileSystem> =>
  Effect.map(Summary.summarize(path, options, 0), (s) => s.summary)

/**
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions extends SummarizeOptions {
  /**
   * The largest pack embedded in the page for its in-browser verification (default
   * `DEFAULT_MAX_EMBED_BYTES`); 0 embeds none. A larger pack is left out, and the page says why.
   */
  readonly maxEmbedBytes?: number | undefined
}

/**
 * What `write` wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface Written {
  /** where the report is */
  readonly path: string
  readonly summary: ReportSummary
  /** whether the pack is embedded (and so re-verified by the page) */
  readonly embedded: boolean
  /** why the pack is not embedded, when it is not */
  readonly omitted?: string | undefined
  /** the report's size in bytes */
  readonly bytes: number
}

/**
 * Write the HTML report of the pack or log at `path` to `out`: one self-contained page (no
 * network), the pack embedded when it is at most `maxEmbedBytes`. The page is written to a
 * temporary file beside `out` and renamed into place, so `out` is never a half-written report;
 * `out` may not be the pack itself. The report gets the pack's permission bits (a pack readable
 * by its owner alone gives a report readable by its owner alone): it holds the pack.
 *
 * A pack that fails verification still gets its report (the verdict first, in red): the result's
 * `summary.verdict.ok` says which.
 *
 * @since 0.1.0
 * @category report
 */
export const write = (
  path: string,
  out: string,
  options: WriteOptions = {}
): Effect.Effect<Written, ReportError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const limit = Math.max(0, Math.floor(options.maxEmbedBytes ?? DEFAULT_MAX_EMBED_BYTES))
    // the pack is evidence: a report written over it would destroy it
    const [inReal, outReal] = yield* Effect.all([realOrSelf(fs, path), realOrSelf(fs, out)])
    if (inReal === outReal) return yield* new OutputUnwritable({ path: out, reason: "it is the pack itself; give another name" })
    // the pack's bytes are handed over and dropped as they are decoded, and its text is dropped
    // once the page is rendered: the chunks, the text, the page and its bytes are never all held
    // at once (a 64 MB pack took 905 MB when they were)
    const summarized = yield* Summary.summarize(path, options, limit)
    const summary = summarized.summary
    const kept = summarized.chunks
    // the report holds the pack (embedded) and its identifiers: readable by no one the pack is not
    const mode = yield* fs.stat(path).pipe(Effect.map((i) => i.mode & 0o666), Effect.orElseSucceed(() => 0o600))
    let text = kept === undefined ? undefined : decodeAll(kept)
    const omitted = text !== undefined
      ? undefined
      : kept !== undefined
      ? "the pack is not embedded (it is not UTF-8 text)"
      : limit === 0
      ? "the pack is not embedded (--max-embed-bytes 0)"
      : `the pack is not embedded (${summary.source.bytes} bytes, more than --max-embed-bytes ${limit})`
    const embedded = text !== undefined
    const page = renderReport(summary, { pack: text !== undefined ? { text } : { omitted: omitted ?? "" }, pubkeys: options.publicKeys ?? [] })
    text = undefined
    const bytes = yield* writeAtomically(fs, out, page, mode)
    return { path: out, summary, embedded, ...(omitted !== undefined ? { omitted } : {}), bytes }
  })

/**
 * The text of `chunks`, decoded one after another (a character split between two is kept whole),
 * or `undefined` when they are not UTF-8. A leading byte-order mark is kept: the page hashes the
 * text it holds and compares it with the file's SHA-256, and `verify` accepts a pack behind a mark.
 */
const decodeAll = (chunks: ReadonlyArray<Uint8Array>): string | undefined => {
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true })
  // the chunks are handed over by the summary: each is let go once decoded, so the bytes and
  // their text are not both held whole
  const queue = chunks as Array<Uint8Array>
  try {
    const parts: Array<string> = []
    while (queue.length > 0) parts.push(decoder.decode(queue.shift()!, { stream: true }))
    parts.push(decoder.decode())
    return parts.join("")
  } catch {
    queue.length = 0
    return undefined
  }
}

/** The page is encoded and written in parts of this many characters (its bytes are never held whole). */
const PART = 1024 * 1024

/** The real path of `p`, or `p` resolved when it does not exist (yet). */
const realOrSelf = (fs: FileSystem.FileSystem, p: string) => Effect.orElseSucceed(fs.realPath(p), () => resolve(p))

/**
 * `data` at `out`, whole or not at all: written to a temporary file in the same directory
 * (created exclusively, with `mode`), flushed to disk, then renamed over `out`. A failure or an
 * interruption removes the temporary file.
 */
const writeAtomically = (fs: FileSystem.FileSystem, out: string, text: string, mode: number) =>
  Effect.gen(function*() {
    const dir = dirname(resolve(out))
    const info = yield* Effect.either(fs.stat(out))
    if (Either.isRight(info) && info.right.type === "Directory") {
      return yield* new OutputUnwritable({ path: out, reason: "it is a directory" })
    }
    const temp = join(dir, `.${basename(out)}.${randomBytes(6).toString("hex")}.tmp`)
    const unwritable = (e: unknown) => new OutputUnwritable({ path: out, reason: plainReason(e) })
    return yield* Effect.scoped(
      Effect.gen(function*() {
        const file = yield* fs.open(temp, { flag: "wx", mode })
        // the mode asked for, whatever the umask leaves of it (a umask only takes bits away)
        yield* fs.chmod(temp, mode)
        const encoder = new TextEncoder()
        let bytes = 0
        for (let i = 0; i < text.length;) {
          let j = Math.min(text.length, i + PART)
          // a surrogate pair is never split between two parts
          const c = text.charCodeAt(j - 1)
          if (j < text.length && c >= 0xd800 && c <= 0xdbff) j--
          const part = encoder.encode(text.slice(i, j))
          bytes += part.length
          yield* file.writeAll(part)
          i = j
        }
        yield* file.sync
        return bytes
      })
    ).pipe(
      Effect.tap(() => fs.rename(temp, out)),
      Effect.mapError(unwritable),
      // failed or interrupted before the rename: the temporary file goes, `out` is as it was
      Effect.onError(() => Effect.ignore(fs.remove(temp)))
    )
  })
