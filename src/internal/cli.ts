/**
 * The `acttrace` command line on `@effect/cli`.
 * @internal
 */
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import * as HashMap from "effect/HashMap"
import { isUtf8 } from "node:buffer"
import { createPublicKey, randomBytes } from "node:crypto"
import { availableParallelism } from "node:os"
import { resolve as resolvePath } from "node:path"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Types from "effect/Types"
import * as Chain from "../Chain.js"
import * as Controls from "../Controls.js"
import { GENESIS } from "../Hash.js"
import * as Detect from "../Detect.js"
import * as Pack from "../Pack.js"
import * as Proof from "../Proof.js"
import * as Signer from "../Signer.js"
import * as Store from "../Store.js"
import * as Verify from "../Verify.js"
import * as NoteFormat from "./note.js"
import { type RunCommand, runDemo } from "./demo.js"
import * as Keygen from "./keygen.js"
import { readSmallFile } from "./smallfile.js"
import { targetOf } from "./sqlurl.js"
import { disagreementOf } from "./store.js"
import * as Help from "./help.js"
import * as Progress from "./progress.js"
import { okText, plainMessage, plainReason, plainText, verdictText } from "./messages.js"
import { VERSION } from "./version.js"
import { INSPECT_EXAMPLES, INSPECT_USAGE, REPORT_EXAMPLES, REPORT_USAGE, reportCommands, SHOW_EXAMPLES, SHOW_USAGE } from "./cli-report.js"

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  reason: Schema.String,
  usage: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** A job that could not be done (a pack without a checkpoint, a proof that does not hold): exit 1. */
class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

const failWith = (reason: string) => Effect.fail(new CommandFailed({ reason }))

/** How the process ends. */
export type ExitCode = 0 | 1 | 2

// Command handlers return void in @effect/cli, so the verdict's exit code travels here.
let verdictCode: ExitCode = 0

const VERIFY_USAGE =
  "usage: acttrace verify (PACK|- | --db URL --chain NAME) [--key-file F | --key K] [--pubkey FILE]... [--since NOTE_OR_PACK] [--every-signature] [--expected-head H] [--expect-entries N] [--require-complete] [--require-signatures] [--threads N] [--max-line-bytes N] [--json] [--quiet]"

const EXPORT_USAGE = "usage: acttrace export (LOG | --db URL --chain NAME) --out PACK [--framework eu_ai_act|iso_42001|gdpr|nist_rmf] [--key-file F | --key K] [--private-key FILE] [--mode OCTAL] [--quiet]"
const REPAIR_USAGE = "usage: acttrace repair LOG"
const DEMO_USAGE = "usage: acttrace demo [--out DIR] [--db URL --chain NAME] [--key-file F | --key K] [--private-key FILE]"
const KEYGEN_USAGE = "usage: acttrace keygen --out DIR [--name NAME]"
const CHECKPOINT_USAGE = "usage: acttrace checkpoint PACK_OR_LOG [--pubkey FILE]..."
const PROVE_USAGE = "usage: acttrace prove PACK --seq N[,N|A-B...] --out PROOF [--pubkey FILE]..."
const VERIFY_PROOF_USAGE = "usage: acttrace verify-proof PROOF|- --pubkey FILE [--pubkey FILE]... [--origin ORIGIN] [--json]"
const CONSISTENCY_USAGE = "usage: acttrace consistency OLD NEW --pubkey FILE [--pubkey FILE]... [--out FILE] [--json]"
const SCAN_USAGE = "usage: acttrace scan [FILE|-] [--policy default|gdpr|pci|strict|flag-only] [--detectors [+|-]NAME[,...]] [--json]"

const usage = (reason: string, text: string = VERIFY_USAGE) => new UsageError({ reason, usage: text })

/** A failure of the job itself (not of how it was called): the message, exit code 1. */
let failureCode: ExitCode | undefined

/** Where the first byte that is not part of a UTF-8 character sits (0-based); -1 when all are. */
const firstNonUtf8 = (b: Uint8Array): number => {
  for (let i = 0; i < b.length;) {
    const c = b[i]!
    const n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0
    // isUtf8 of the one sequence also refuses overlong forms and surrogates
    if (n === 0 || i + n > b.length || !isUtf8(b.subarray(i, i + n))) return i
    i += n
  }
  return -1
}

/**
 * The passphrase in a key file. FORMAT A.3: the key is the UTF-8 bytes of the passphrase, so the
 * file is read as bytes and must be UTF-8 text: decoding other bytes would turn each into U+FFFD,
 * and two different keys into one.
 */
/** The longest passphrase file read: far above any passphrase, far below a device's endless bytes. */
const MAX_PASSPHRASE_FILE = 64 * 1024

const readKeyFile = (path: string, usageText: string) =>
  Effect.gen(function*() {
    // bounded, and never waiting on a named pipe nobody writes to: a wrong name (a device, a FIFO)
    // is an error, not a hung or memory-filling process
    const bytes = yield* readSmallFile(path, MAX_PASSPHRASE_FILE).pipe(
      Effect.mapError((e) => usage(`cannot read key file ${path}: ${e.reason}`, usageText))
    )
    const bad = firstNonUtf8(bytes)
    if (bad >= 0) return yield* usage(`key file ${path} is not UTF-8 text (byte ${bad + 1} is not part of a UTF-8 character); the key is the UTF-8 bytes of a passphrase`, usageText)
    // one trailing newline is how editors save a file; it is not part of the key
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8").replace(/\r?\n$/, "")
  })

/**
 * Said once on stderr when `--key` is used at a terminal: a command line is readable by every
 * user of the machine (`ps`, `/proc/PID/cmdline`) for as long as the process runs. Scripts (no
 * terminal on standard input) are not nagged; the help and the docs say it for them.
 */
export const KEY_WARNING =
  "warning: --key puts the key in the process list (ps), where every user of this machine can read it; use --key-file F or ACTTRACE_KEY instead"

/** The key from `--key-file`, `ACTTRACE_KEY` or `--key`; usage errors carry `usageText`. */
const resolveKey = (key: Option.Option<Redacted.Redacted<string>>, keyFile: Option.Option<string>, usageText: string = VERIFY_USAGE) =>
  Effect.gen(function*() {
    if (Option.isSome(key) && Option.isSome(keyFile)) return yield* usage("give --key-file or --key, not both", usageText)
    // someone at a terminal (stdin or stderr on one: `verify - --key K < pack` is typed there too)
    if (Option.isSome(key) && (process.stdin.isTTY === true || process.stderr.isTTY === true)) yield* Console.error(KEY_WARNING)
    let text: string | undefined
    let source = "--key"
    if (Option.isSome(key)) text = Redacted.value(key.value)
    else if (Option.isSome(keyFile)) {
      text = yield* readKeyFile(keyFile.value, usageText)
      source = `key file ${keyFile.value}`
    } else {
      const env = process.env["ACTTRACE_KEY"]
      if (env !== undefined && env !== "") text = env
      source = "ACTTRACE_KEY"
    }
    if (text === undefined) return undefined
    if (text.length === 0) return yield* usage("the key is empty", usageText)
    // the Ed25519 signing key taken for the HMAC passphrase: it would be handed to every verifier
    if (text.startsWith("PRIVATE+KEY+")) {
      return yield* usage(
        `the key in ${source} is an Ed25519 signing key (a .key file of acttrace keygen), not an HMAC passphrase: give it with --private-key FILE where a command signs checkpoints, and to verify give its .pub with --pubkey FILE`,
        usageText
      )
    }
    if (!text.isWellFormed()) return yield* usage("the key is not valid text", usageText)
    // Node decodes the environment and the command line lossily: bytes that are not UTF-8 arrive
    // as U+FFFD, so such a key cannot be told from others (Signer.makeHmac refuses it too)
    if (text.includes("\ufffd")) {
      return yield* usage(
        `the key in ${source} holds U+FFFD (the replacement character), which is what bytes that are not UTF-8 become: it cannot be told from other keys; use a key of UTF-8 text`,
        usageText
      )
    }
    return Redacted.make(text)
  })

/**
 * The trusted verifier keys of `--pubkey FILE` (repeatable), as their key texts. A file that does
 * not hold one verifier key (C2SP `name+hash+base64`, as `acttrace keygen` writes it) is a usage
 * error naming the file: a key that cannot be read must never quietly shrink the trusted set.
 */
const readPubkeys = (paths: ReadonlyArray<string>, usageText: string) =>
  Effect.forEach(paths, (path) =>
    notStdin(path, "--pubkey", usageText).pipe(Effect.zipRight(Signer.readVerifierKeyFile(path))).pipe(Effect.mapError((e) => usage(`--pubkey: ${describeFailure(e)}`, usageText))))

/**
 * A signed note as a user saved it: line ends `\r\n` (a note that went through e-mail or an
 * editor on Windows) become `\n`, and blank lines after the last signature are dropped. Neither
 * can change what was signed: a note holds no `\r`, and its signed text ends at the blank line
 * before the signatures.
 */
const noteAsSaved = (text: string): string => text.replace(/^\ufeff/, "").replace(/\r\n/g, "\n").replace(/\n+$/, "\n")

/** A published checkpoint, for `--since`: the note, and the pack it was taken from when one was given. */
interface Published {
  readonly note: string
  readonly body: NoteFormat.Checkpoint
  readonly pack: string | undefined
}

/**
 * The signed note in `path`: a note file (what `acttrace checkpoint` prints), or a pack or log
 * (its `_meta.checkpoint`, else its last checkpoint entry's note). A file that holds none, or a note
 * that does not parse as a signed checkpoint, is a usage error (exit 2): the caller gave the wrong
 * file, which is not a verdict on the pack.
 */
const readPublished = (path: string, usageText: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* statInput(path, "--since", usageText)
    // a note is a few hundred bytes; a pack or log (JSON Lines) is read as a stream
    const start = (yield* fileHead(path)).map((b) => Buffer.from(b).subarray(0, 64).toString("utf8")).join("")
    const isJson = /^\ufeff?\s*\{/.test(start)
    let note: string
    if (isJson) {
      // its latest checkpoint, checked against its own entries (its signature is checked by the
      // verification, under the trusted keys)
      const found = yield* Proof.latestCheckpoint(fs.stream(path), { source: path }).pipe(
        Effect.mapError((e) => usage(`--since: ${describeFailure(e)}`, usageText))
      )
      note = found.note
    } else {
      if (Number(info.size) > MAX_NOTE_BYTES) return yield* usage(`--since ${path}: ${info.size} bytes is too large to be a signed note`, usageText)
      // bounded whatever the file is (a device states no size) and never waiting on a FIFO
      const bytes = yield* readSmallFile(path, MAX_NOTE_BYTES).pipe(Effect.mapError((e) => usage(`--since ${path}: ${e.reason.startsWith("it is too large") ? `it is too large to be a signed note (over ${MAX_NOTE_BYTES} bytes)` : `cannot read it: ${e.reason}`}`, usageText)))
      const text = Either.try(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes))
      if (Either.isLeft(text)) return yield* usage(`--since ${path}: not a signed note: it is not UTF-8 text`, usageText)
      note = noteAsSaved(text.right)
    }
    const body = yield* checkpointBody(note).pipe(Effect.mapError((reason) => usage(`--since ${path}: ${reason}`, usageText)))
    return { note, body, pack: isJson ? path : undefined } satisfies Published
  })

/** The largest note file `--since` reads: a checkpoint with 100 signature lines is far below it. */
const MAX_NOTE_BYTES = 1 << 20

/**
 * `HistoryRewritten` located at the first entry where `pack` differs from the old pack `oldPack`
 * (compared hash by hash: each hash covers every entry before it). When they do not differ within
 * the old pack (the origins differ, or the pack is shorter), the error stays as it was.
 */
const pinRewrite = <E>(e: Verify.HistoryRewritten, oldPack: string, pack: Stream.Stream<Uint8Array, E>, source: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const diff = yield* Effect.either(Proof.firstDifference(fs.stream(oldPack), pack, { oldSource: oldPack, newSource: source }))
    if (Either.isLeft(diff) || diff.right._tag !== "Differs") return e
    const d = diff.right
    return new Verify.HistoryRewritten({
      // entries sit on consecutive lines up to the one the error names
      line: d.seq <= (e.seq ?? -1) ? e.line - ((e.seq ?? 0) - d.seq) : e.line,
      seq: d.seq,
      publishedSize: e.publishedSize,
      firstDiffering: d.seq,
      reason: `the entry at seq ${d.seq} differs from the one in ${oldPack} (hash ${d.newHash.slice(0, 12)}…, there ${d.oldHash.slice(0, 12)}…): the history was rewritten from there on, inside the published checkpoint of ${e.publishedSize} entries`
    })
  })

/**
 * The checkpoint a signed note carries, when it is one: well formed as a note (opened against no
 * key, a well-formed note is only "unverified") and with a C2SP tlog-checkpoint body. Says why
 * not, otherwise. Its signatures are checked by whoever trusts a key.
 */
const checkpointBody = (note: string): Effect.Effect<NoteFormat.Checkpoint, string> =>
  Effect.gen(function*() {
    const opened = yield* Effect.either(NoteFormat.open(note, []))
    if (Either.isLeft(opened) && opened.left._tag === "NoteMalformed") return yield* Effect.fail(`not a signed note: ${opened.left.reason}`)
    const split = note.lastIndexOf("\n\n")
    return yield* NoteFormat.parseCheckpoint(note.slice(0, split + 1)).pipe(
      Effect.mapError((e) => `a signed note that is not a checkpoint: ${e.reason}`)
    )
  })

const HEX64 = /^[0-9a-f]{64}$/

/** Below this size a thread's start-up costs more than it saves. */
const PARALLEL_FROM = 64 * 1024 * 1024

const autoThreads = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.either(fs.stat(path))
    return Either.isRight(info) && Number(info.right.size) >= PARALLEL_FROM ? Math.min(availableParallelism(), 4) : 1
  })

/** The size of `path` when it is a regular file (a FIFO or a device states none). */
const regularSize = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.option(fs.stat(path))
    return Option.isSome(info) && info.value.type === "File" ? Number(info.value.size) : undefined
  })

/**
 * `bytes`, each chunk reported to `progress` as it goes by (divided by `passes` when the input is
 * read more than once). Nothing is added to the stream when no line is drawn.
 */
const counted = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, progress: Progress.Progress, passes = 1): Stream.Stream<Uint8Array, E, R> =>
  !progress.active ? bytes : Stream.suspend(() => {
    const lines = Progress.lineEstimator()
    return Stream.map(bytes, (chunk) => {
      progress.advance(chunk.length / passes, lines(chunk) / passes)
      return chunk
    })
  })

/**
 * `effect` (a verification that opens its file through `FileSystem`) with every read of a file it
 * opens reported to `progress`. With several threads this thread reads the first of `threads`
 * ranges, as fast as the workers read theirs: its reads, times `threads`, estimate the whole.
 * Nothing is changed when no line is drawn.
 */
const countingReads = <A, E, R>(effect: Effect.Effect<A, E, R>, progress: Progress.Progress, threads: number): Effect.Effect<A, E, R | FileSystem.FileSystem> =>
  !progress.active ? effect : Effect.flatMap(FileSystem.FileSystem, (fs) => {
    const lines = Progress.lineEstimator()
    return Effect.provideService(effect, FileSystem.FileSystem, {
      ...fs,
      open: (path, options) =>
        Effect.map(fs.open(path, options), (file): FileSystem.File => ({
          [FileSystem.FileTypeId]: FileSystem.FileTypeId,
          fd: file.fd,
          get stat() {
            return file.stat
          },
          get sync() {
            return file.sync
          },
          seek: (offset, from) => file.seek(offset, from),
          read: (buffer) =>
            Effect.map(file.read(buffer), (n) => {
              progress.advance(Number(n) * threads, lines(buffer.subarray(0, Number(n))) * threads)
              return n
            }),
          readAlloc: (size) => file.readAlloc(size),
          truncate: (length) => file.truncate(length),
          write: (buffer) => file.write(buffer),
          writeAll: (buffer) => file.writeAll(buffer)
        }))
    })
  })

/** `verify -`: the pack comes on standard input. */
const STDIN = "-"

/**
 * `-` where a command takes a file it reads more than once, or writes, or a key: refused as a usage
 * error naming the option, instead of being taken as a file named `-` in the current directory
 * (`keygen --out -` made a directory named `-`; `checkpoint -` said "cannot read -: no such file").
 * Only `verify PACK` and `verify-proof PROOF` read standard input.
 */
const notStdin = (path: string, what: string, usageText: string) =>
  path === STDIN
    ? usage(`${what} -: standard input is not read here; give a file (only verify PACK and verify-proof PROOF read standard input as -)`, usageText)
    : Effect.void

/** The largest proof file verify-proof reads (a proof is for the entries a reviewer needs). */
const MAX_PROOF_BYTES = 256 * 1024 * 1024

/** Standard input, at most `max` bytes (the answer is undefined past them). */
const stdinAtMost = (max: number) =>
  Effect.tryPromise({
    try: async () => {
      const chunks: Array<Buffer> = []
      let length = 0
      for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
        length += chunk.length
        if (length > max) return undefined
        chunks.push(chunk)
      }
      return new Uint8Array(Buffer.concat(chunks))
    },
    catch: (e) => plainReason(e)
  })

/** Standard input as bytes, read in order (it may be a pipe or a terminal, which cannot seek). */
const stdinBytes: Stream.Stream<Uint8Array, Verify.Unreadable> = Stream.suspend(() =>
  Stream.fromAsyncIterable(process.stdin as AsyncIterable<Uint8Array>, (e) => Verify.unreadable("standard input", e))
)

/**
 * How much of the input's start is looked at for the key id it states: its first lines (a pack's
 * `_meta`, then the first entry) are well within this.
 */
const HEAD_BYTES = 1 << 20

/** `bytes`, with a copy of their first `HEAD_BYTES` kept in `head` as they go by. */
const keepingHead = <E>(bytes: Stream.Stream<Uint8Array, E>, head: Array<Uint8Array>): Stream.Stream<Uint8Array, E> => {
  let kept = 0
  return Stream.map(bytes, (chunk) => {
    if (kept < HEAD_BYTES) {
      const part = chunk.slice(0, HEAD_BYTES - kept)
      head.push(part)
      kept += part.length
    }
    return chunk
  })
}

/** The first `HEAD_BYTES` of a regular file; nothing for anything else (a FIFO is read only once). */
const fileHead = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path)
    if (info.type !== "File") return []
    const bytes = yield* Effect.scoped(Effect.flatMap(fs.open(path, { flag: "r" }), (f) => f.readAlloc(HEAD_BYTES)))
    return Option.isSome(bytes) ? [bytes.value] : []
  }).pipe(Effect.orElseSucceed((): Array<Uint8Array> => []))

/** A key id as FORMAT B.1 makes them (16 hex digits): anything else in a file is not repeated to a terminal. */
const KEY_ID = /^[0-9a-f]{16}$/

/**
 * The signing key id an input states, unverified (no key was given to check it): its pack seal's
 * `key_id`, else the `signing.key_id` of its first entry when that is an `audit_open`. `None` when
 * it states none that is a key id; `undefined` when its start could not be read again.
 */
const statedKeyId = (report: Verify.Report, head: ReadonlyArray<Uint8Array> | undefined): Option.Option<string> | undefined => {
  const seal = Option.getOrUndefined(report.meta)?.seal as { readonly key_id?: unknown } | null | undefined
  if (seal !== null && typeof seal === "object" && typeof seal.key_id === "string" && KEY_ID.test(seal.key_id)) return Option.some(seal.key_id)
  if (head === undefined || head.length === 0) return undefined
  const entry = firstEntry(head) as { readonly type?: unknown; readonly payload?: { readonly signing?: { readonly key_id?: unknown } | null } | null } | undefined
  const id = entry?.type === "audit_open" ? entry.payload?.signing?.key_id : undefined
  return typeof id === "string" && KEY_ID.test(id) ? Option.some(id) : Option.none()
}

/**
 * The first entry of an input's start (the line after a pack's `_meta` line, else its first
 * line), parsed and unverified; undefined when that line is not a JSON object. Both stated-key
 * texts below read it: one parse, one set of rules for what counts as the first entry.
 */
const firstEntry = (head: ReadonlyArray<Uint8Array>): object | undefined => {
  const text = Buffer.concat(head).toString("utf8").replace(/^\ufeff/, "")
  for (const line of text.split("\n").filter((l) => l.trim() !== "").slice(0, 2)) {
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      return undefined
    }
    if (value === null || typeof value !== "object") return undefined
    if ("_meta" in value) continue
    return value
  }
  return undefined
}

/**
 * A key name an unverified file states, fit to repeat to a terminal: a valid key name without
 * control characters (which could move the cursor or recolour what follows), at most 64 long.
 */
const printableName = (name: string): boolean =>
  name.length <= 64 && NoteFormat.isValidName(name) && !/[\u0000-\u001f\u007f-\u009f]/.test(name)

/**
 * What an input says of its signed checkpoints, unverified (no public key was given): the key its
 * `_meta.checkpoint` is signed by, else the checkpoint key its first entry (`audit_open`) names.
 * Undefined when it states none (nothing to warn about).
 */
const statedCheckpointKey = (report: Verify.Report, head: ReadonlyArray<Uint8Array>): string | undefined => {
  const meta = Option.getOrUndefined(report.meta) as { readonly checkpoint?: unknown } | undefined
  if (typeof meta?.checkpoint === "string") {
    const signer = /\n\u2014 (\S+) /.exec(meta.checkpoint)?.[1]
    return `the pack carries a signed checkpoint${signer !== undefined && printableName(signer) ? ` (signed by ${signer})` : ""}`
  }
  if (head.length === 0) return undefined
  const entry = firstEntry(head) as { readonly type?: unknown; readonly payload?: { readonly checkpoints?: { readonly key?: unknown } | null } | null } | undefined
  const key = entry?.type === "audit_open" ? entry.payload?.checkpoints?.key : undefined
  if (typeof key !== "string") return undefined
  const [name, id] = key.split("+")
  return `the log signs checkpoints${name !== undefined && printableName(name) && id !== undefined && /^[0-9a-f]{8}$/.test(id) ? ` with key ${name}+${id}` : ""}`
}

/** What to say of signatures a verification found but could not check (no key was given). */
const notCheckedText = (keyId: Option.Option<string> | undefined): string =>
  `${keyId === undefined ? "signed" : Option.match(keyId, { onNone: () => "signed (the file states no key id)", onSome: (id) => `signed by key id ${id}` })}; signatures were not checked; pass --key-file F or ACTTRACE_KEY (or --key K) to check them`

/** The failure `verify --db --json` reports when the chain is not in the database. */
const CHAIN_NOT_FOUND = "ChainNotFound"

/** The failure `--require-signatures` reports when the signatures were not verified. */
const SIGNATURES_NOT_VERIFIED = "SignaturesNotVerified"

/** A defect (a bug, or a limit of the machine) is said on stderr, never a silent exit: code 2. */
const verifyDefect = (defect: unknown) =>
  Effect.sync(() => {
    verdictCode = 2
  }).pipe(
    Effect.andThen(
      Console.error(`error: verification stopped unexpectedly: ${describeFailure(defect)}`)
    )
  )

/** `--key-file`, the first of the ways to give the key (see `resolveKey`); `what` says what it does in this command. */
const keyFileOption = (what: string) =>
  Options.text("key-file").pipe(
    Options.withDescription(`read the HMAC passphrase from this file (one trailing newline is ignored); or set ACTTRACE_KEY. ${what}`),
    Options.optional
  )

/** `--pubkey FILE`, repeatable: the trusted set of verifier keys; `what` says what they check here. */
const pubkeyOption = (what: string) =>
  Options.text("pubkey").pipe(
    Options.withDescription(`a verifier key file (C2SP name+hash+base64, the .pub that acttrace keygen writes); repeat it to trust several keys. ${what}`),
    Options.repeated
  )

/** `--private-key FILE`: the Ed25519 signer key file (`acttrace keygen`'s NAME.key). */
const privateKeyOption = (what: string) =>
  Options.text("private-key").pipe(
    Options.withDescription(`the Ed25519 signing key file (PRIVATE+KEY+..., the .key that acttrace keygen writes; keep it 0600): checkpoints signed with it verify with its .pub alone. ${what}`),
    Options.optional
  )

/** The signer key text of `--private-key`, read once; a file that is not one is a usage error naming it. */
const readPrivateKey = (file: Option.Option<string>, usageText: string) =>
  Option.match(file, {
    onNone: () => Effect.succeed(undefined),
    onSome: (path) => notStdin(path, "--private-key", usageText).pipe(Effect.zipRight(Signer.readSignerKeyFile(path))).pipe(Effect.mapError((e) => usage(`--private-key: ${describeFailure(e)}`, usageText)))
  })

/** `--key`, the last of the ways, with why. */
const keyOption = Options.redacted("key").pipe(
  Options.withDescription("the passphrase itself: every user of this machine can read it in the process list (ps); prefer --key-file or ACTTRACE_KEY"),
  Options.optional
)

/** `--quiet`, `-q`: no progress line (there is none off a terminal anyway). */
const quietOption = Options.boolean("quiet").pipe(
  Options.withAlias("q"),
  Options.withDescription("draw no progress line on stderr (one is drawn only on a terminal, for an input that takes more than 300 ms; never on a pipe)")
)

// ---------------------------------------------------------------------------------------------
// --db URL --chain NAME: a chain in a database (Store.layerSqlUrl) in place of a file

/** `--db URL`: where the chain is, when it is in a database. */
const dbOption = (what: string) =>
  Options.text("db").pipe(
    Options.withDescription(
      `a database holding the chain, in place of a file: a postgres:// or postgresql:// URL, or a SQLite file path (sqlite:PATH too); needs --chain. Leave the password out of the URL (the process list shows it to every user of the machine): set PGPASSWORD instead. ${what}`
    ),
    Options.optional
  )

/** `--chain NAME`: which of the database's chains. */
const chainOption = Options.text("chain").pipe(
  Options.withDescription("the chain's name in the database of --db (one database holds many chains)"),
  Options.optional
)

/** A chain in a database, as the command line gave it. */
interface DbTarget {
  /** the URL or path as given (it may hold a password: never printed) */
  readonly url: Redacted.Redacted<string>
  readonly chain: string
  /** the URL as it may be shown: without its password */
  readonly shown: string
  /** the SQLite file, for a SQLite database (checked against --out, and to exist before reading) */
  readonly file: string | undefined
}

/** A URL with a scheme (its password is what `shownUrl` and `secretsOf` look for). */
const SCHEME_URL = /^([a-z][a-z0-9+.-]*):\/\//i

/**
 * A database URL without its password (in its user part, or a `password` query parameter, which
 * the PostgreSQL driver reads too): what may be shown. A URL the parser refuses loses everything
 * between `://` and `@`, where a password would be.
 */
export const shownUrl = (url: string): string => {
  if (!SCHEME_URL.test(url)) return url
  try {
    const u = new URL(url)
    if (u.password !== "") u.password = ""
    for (const name of [...u.searchParams.keys()]) if (name.toLowerCase() === "password") u.searchParams.set(name, "…")
    return u.toString()
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, "$1…@")
  }
}

/** The secret parts of a URL (its password, as written and decoded), for scrubbing output. */
const secretsOf = (url: string): ReadonlyArray<string> => {
  if (!SCHEME_URL.test(url)) return []
  const found = new Set<string>()
  try {
    const u = new URL(url)
    for (const p of [u.password, ...[...u.searchParams.entries()].filter(([k]) => k.toLowerCase() === "password").map(([, v]) => v)]) {
      if (p !== "") {
        found.add(p)
        const decoded = Either.try(() => decodeURIComponent(p))
        if (Either.isRight(decoded) && decoded.right !== "") found.add(decoded.right)
      }
    }
  } catch {
    const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]*?:([^/?#@]*)@/i.exec(url)
    if (m !== null && m[1] !== "") found.add(m[1]!)
  }
  return [...found]
}

/**
 * Said once on stderr when `--db` holds a password at a terminal, as for `--key`: a command line
 * is readable by every user of the machine for as long as the process runs.
 */
export const DB_PASSWORD_WARNING =
  "warning: the password in --db URL is in the process list (ps), where every user of this machine can read it; leave it out of the URL and set PGPASSWORD instead"

/** The longest chain name (Store.SqlOptions): longer is a usage error before any connection. */
const MAX_CHAIN_NAME = 200

/**
 * The database chain `--db URL --chain NAME` name, or undefined when neither is given. Usage
 * errors (exit 2): one without the other, both with a file `input` too, an empty URL, a URL
 * scheme no store reads (`mysql://`), a chain name the store refuses.
 */
const dbTarget = (
  db: Option.Option<string>,
  chain: Option.Option<string>,
  input: Option.Option<string> | undefined,
  inputName: string,
  usageText: string
): Effect.Effect<DbTarget | undefined, UsageError> =>
  Effect.gen(function*() {
    if (Option.isNone(db) && Option.isNone(chain)) return undefined
    if (Option.isNone(db)) return yield* usage("--chain names a chain in a database: give the database with --db URL (a postgres:// URL or a SQLite file path)", usageText)
    const url = db.value
    if (Option.isNone(chain)) return yield* usage(`--db needs --chain NAME: one database holds many chains (the chain's name is the one its writers open it with)`, usageText)
    if (input !== undefined && Option.isSome(input)) {
      return yield* usage(`give ${inputName} or --db URL --chain NAME, not both: ${inputName} is a file, --db a database`, usageText)
    }
    if (url.trim() === "") return yield* usage("--db is empty: give a postgres:// or postgresql:// URL, or a SQLite file path", usageText)
    // the URL forms the stores take (Store.layerSqlUrl), no more and no fewer: a writer's URL
    // pasted here names the same database
    const target = targetOf(url)
    if (target._tag === "bad") {
      const scheme = SCHEME_URL.exec(url)
      return yield* usage(
        scheme !== null && !/^postgres(ql)?$/i.test(scheme[1]!)
          ? `--db: the ${scheme[1]}:// scheme is not supported: give a postgres:// or postgresql:// URL (PostgreSQL), or a SQLite file path (sqlite:PATH or sqlite://PATH too)`
          : `--db: ${target.reason}`,
        usageText
      )
    }
    const name = chain.value
    if (name.length === 0 || name.length > MAX_CHAIN_NAME) return yield* usage(`--chain: a chain's name is 1 to ${MAX_CHAIN_NAME} characters`, usageText)
    if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return yield* usage("--chain: a chain's name holds no control characters", usageText)
    const file = target._tag === "sqlite" ? target.path : undefined
    // someone at a terminal typed a password into the process list
    if (secretsOf(url).length > 0 && (process.stdin.isTTY === true || process.stderr.isTTY === true)) yield* Console.error(DB_PASSWORD_WARNING)
    return { url: Redacted.make(url), chain: name, shown: shownUrl(url), file } satisfies DbTarget
  })

/**
 * What is written, cleared of the passwords of the URLs among the arguments (`--db URL`, or a URL
 * given in the wrong place, which the argument parser repeats in its error). What acttrace says
 * never holds one (the stores name a database by its URL without the password); this also covers
 * a parser, driver or library message that would repeat what it was given. A password is taken
 * out where it follows `:` and precedes `@`, and anywhere when it is 4 characters or longer.
 */
const scrubber = (argv: ReadonlyArray<string>): ((text: string) => string) | undefined => {
  const urls = argv.map((a) => a.replace(/^--[a-z-]+=/, "")).filter((a) => secretsOf(a).length > 0)
  if (urls.length === 0) return undefined
  const pairs = urls.map((url) => [url, shownUrl(url)] as const)
  const secrets = [...new Set(urls.flatMap(secretsOf))].sort((a, b) => b.length - a.length)
  return (text) => {
    let t = text
    for (const [url, shown] of pairs) t = t.split(url).join(shown)
    for (const p of secrets) {
      t = t.split(`:${p}@`).join(":…@")
      if (p.length >= 4) t = t.split(p).join("…")
    }
    return t
  }
}

/**
 * The store of a database chain, opened to read (`create: false`: no table or chain is made,
 * and a chain that is not there is an error naming those that are). A SQLite file must exist:
 * opening a missing one would create it.
 */
const readDb = (target: DbTarget) =>
  Effect.gen(function*() {
    if (target.file !== undefined) {
      const fs = yield* FileSystem.FileSystem
      const info = yield* fs.stat(target.file).pipe(Effect.mapError((e) => new Store.StoreError({ path: target.shown, operation: "open", reason: plainReason(e) })))
      if (info.type !== "File") return yield* new Store.StoreError({ path: target.shown, operation: "open", reason: `it is ${info.type === "Directory" ? "a directory" : "not a regular file"}, not a SQLite database` })
    }
    const context = yield* Layer.build(Store.layerSqlUrl(target.url, { chain: target.chain, create: false })).pipe(Effect.mapError(passwordHint))
    return Context.get(context, Store.Store)
  })

/**
 * A store error, with what to do when the server wanted a password it was not given, or refused
 * the one it was given. (The PostgreSQL driver says "client password must be a string" for the
 * first, in the words of its authentication exchange.)
 */
const passwordHint = <E>(e: E): E => {
  if (!(e instanceof Store.StoreError)) return e
  const none = /client password must be a string|no password (?:was )?(?:supplied|provided)/i.test(e.reason)
  const refused = /password authentication failed/i.test(e.reason)
  if (!none && !refused) return e
  const hint = none
    ? "the server asks for a password and none was given: set PGPASSWORD (the password of the URL's user)"
    : "the password was refused: check PGPASSWORD (or the password in the URL)"
  return new Store.StoreError({ path: e.path, operation: e.operation, reason: `${e.reason}; ${hint}` }) as E
}

/**
 * A SQL store's chain row disagreeing with its rows, as the verdict it is (`Store` snapshots end
 * with it): a count above the rows is a truncation at the first missing seq; rows past the count,
 * a head that is not the last row's hash, or a queried column (ts, type, decision_id, hash) that is
 * not what its line says, an edit at that seq. Undefined for any other error.
 */
const disagreementVerdict = (e: Store.StoreError): Verify.VerifyError | undefined => {
  const d = disagreementOf(e)
  if (d === undefined) return undefined
  const located = { line: d.seq + 1, seq: d.seq, reason: `${plainText(d.detail)} (the database's tables were edited)` }
  return d.kind === "truncated" ? new Verify.TruncationDetected(located) : new Verify.EditDetected(located)
}

/**
 * Whether a store could not be opened because the chain is not in the database (nor, maybe, any
 * acttrace table), rather than because the database could not be reached or read. (The SQL store
 * says so in its reason, naming the chains the database holds.)
 */
const chainMissing = (e: Store.StoreError): boolean => e.operation === "open" && /^no chain |^no \S+ tables /.test(e.reason)

/**
 * `Command.make` with its description given beside its name: every subcommand is one call, the
 * text a user reads in `--help` standing at the top of the command it describes.
 */
const command = <Name extends string, const Config extends Command.Command.Config, R, E>(
  name: Name,
  description: string,
  config: Config,
  handler: (_: Types.Simplify<Command.Command.ParseConfig<Config>>) => Effect.Effect<void, E, R>
) => Command.withDescription(Command.make(name, config, handler), description)

const verify = command(
  "verify",
  "Check a log or evidence pack (or, with --db URL --chain NAME, a chain in a database): exit 0 when intact and complete, 1 when not (or, with --require-signatures, when its signatures were not checked with the key), 2 on a usage error or unreadable input.",
  {
    pack: Args.text({ name: "PACK" }).pipe(
      Args.withDescription("log or evidence pack (JSON Lines) to verify; - for standard input (a FIFO or <(…) path is read as a stream too). Or --db URL --chain NAME instead"),
      Args.optional
    ),
    db: dbOption("The chain's rows are read in order, a page at a time, and verified as the lines of a log file are"),
    chain: chainOption,
    keyFile: keyFileOption("Checks every entry signature and the pack header"),
    key: keyOption,
    pubkey: pubkeyOption("Checks every checkpoint entry, the signed pack header (_meta.checkpoint) and the pack seal under these keys"),
    since: Options.text("since").pipe(
      Options.withDescription("a published checkpoint: a file holding its signed note (as acttrace checkpoint prints it), or the old pack it came from; the pack must extend it (else HistoryRewritten). Needs --pubkey"),
      Options.optional
    ),
    everySignature: Options.boolean("every-signature").pipe(
      Options.withDescription("check every checkpoint's Ed25519 signature where it stands (by default an in-chain checkpoint's signature is checked when no later checkpoint of its key covers it; the result differs only in where a forgery is reported, and in a bad signature the key holder covered with a good one). Needs --pubkey")
    ),
    expectedHead: Options.text("expected-head").pipe(
      Options.withDescription("head hash known out of band: anything else is TruncationDetected"),
      Options.optional
    ),
    expectEntries: Options.integer("expect-entries").pipe(
      Options.withDescription("entry count known out of band"),
      Options.optional
    ),
    threads: Options.integer("threads").pipe(
      Options.withDescription("threads to verify with (default: one per core, at most 4, for files of 64 MiB or more; else 1)"),
      Options.optional
    ),
    maxLineBytes: Options.integer("max-line-bytes").pipe(
      Options.withDescription(`the longest line accepted, in bytes (default ${Verify.DEFAULT_MAX_LINE_BYTES}, 64 MiB): a longer one is MalformedLine, found without reading more of it`),
      Options.optional
    ),
    requireComplete: Options.boolean("require-complete").pipe(
      Options.withDescription("fail unless completeness is authenticated (signed header) or given out of band")
    ),
    requireSignatures: Options.boolean("require-signatures").pipe(
      Options.withDescription("fail (SignaturesNotVerified, exit 1) unless every entry's signature was checked with the key and held: a signed log verified without its key, or an unsigned one, fails")
    ),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of a line of text")),
    quiet: quietOption
  },
  (opts) =>
    Effect.gen(function*() {
      const db = yield* dbTarget(opts.db, opts.chain, opts.pack, "PACK", VERIFY_USAGE)
      if (db === undefined && Option.isNone(opts.pack)) return yield* usage("give the PACK to verify (a file, or - for standard input), or --db URL --chain NAME")
      // rows come from the database in order, one page after another, on one thread
      if (db !== undefined && Option.isSome(opts.threads)) return yield* usage("--threads is for files: the rows of --db are verified in order as they arrive")
      const pack = Option.getOrElse(opts.pack, () => "")
      const key = yield* resolveKey(opts.key, opts.keyFile)
      if (Option.isSome(opts.expectedHead) && !HEX64.test(opts.expectedHead.value)) {
        return yield* usage("--expected-head must be 64 lowercase hex characters")
      }
      if (Option.isSome(opts.expectEntries) && opts.expectEntries.value < 0) {
        return yield* usage("--expect-entries must not be negative")
      }
      if (Option.isSome(opts.threads) && opts.threads.value < 1) return yield* usage("--threads must be at least 1")
      if (Option.isSome(opts.maxLineBytes) && !(opts.maxLineBytes.value >= 1 && opts.maxLineBytes.value <= Verify.MAX_LINE_BYTES_CEILING)) {
        return yield* usage(`--max-line-bytes must be between 1 and ${Verify.MAX_LINE_BYTES_CEILING}`)
      }
      const publicKeys = yield* readPubkeys(opts.pubkey, VERIFY_USAGE)
      if (Option.isSome(opts.since) && publicKeys.length === 0) {
        return yield* usage("--since needs --pubkey: a published checkpoint means something only under a key you trust")
      }
      if (opts.everySignature && publicKeys.length === 0) {
        return yield* usage("--every-signature needs --pubkey: it is about checkpoint signatures", VERIFY_USAGE)
      }
      const since = Option.isSome(opts.since) ? yield* readPublished(opts.since.value, VERIFY_USAGE) : undefined
      const options: Verify.Options = {
        key,
        publicKeys: publicKeys.length === 0 ? undefined : publicKeys,
        since: since?.note,
        everySignature: opts.everySignature,
        expectedHead: Option.getOrUndefined(opts.expectedHead),
        expectedEntries: Option.getOrUndefined(opts.expectEntries),
        requireComplete: opts.requireComplete,
        maxLineBytes: Option.getOrUndefined(opts.maxLineBytes)
      }
      // standard input (and a database) is read once: its start is kept on the way, for the key
      // id it states
      const stdinHead: Array<Uint8Array> = []
      // the database's rows as a log file's bytes, read again (the same rows) to locate a rewrite
      let dbBytes: Stream.Stream<Uint8Array, Verify.Unreadable> | undefined
      // where the store found the chain row disagreeing with its rows (a tail deleted, rows added
      // past the count, the head or a queried column edited), as a verdict
      let disagreement: Verify.VerifyError | undefined
      if (db !== undefined) {
        const opened = yield* Effect.either(readDb(db))
        if (Either.isLeft(opened)) {
          // the chain is not in the database: the chain is the finding (exit 1), as a verdict is;
          // --json still prints its one object
          if (chainMissing(opened.left)) {
            if (!opts.json) return yield* failWith(describeFailure(opened.left))
            verdictCode = 1
            return yield* Console.log(JSON.stringify({
              ok: false,
              entries: 0,
              head: GENESIS,
              signatures: "not-checked",
              completeness: "none",
              error: { _tag: CHAIN_NOT_FOUND, line: 0, seq: null, message: `${CHAIN_NOT_FOUND}: ${describeFailure(opened.left)}` }
            }))
          }
          // a database that cannot be reached or read is an input that cannot be read (exit 2)
          dbBytes = Stream.fail(new Verify.Unreadable({ path: db.shown, reason: plainText(opened.left.reason) }))
        } else {
          const store = opened.right
          const rows = yield* store.snapshot
          dbBytes = rows.pipe(
            Stream.catchAll((e) => {
              // what the store gave before it is verified; the disagreement itself is the verdict (below)
              const verdict = disagreementVerdict(e)
              if (verdict !== undefined) {
                disagreement = verdict
                return Stream.empty
              }
              return Stream.fail(new Verify.Unreadable({ path: store.name, reason: plainText(e.reason) }))
            })
          )
        }
      }
      const threads = dbBytes !== undefined || pack === STDIN ? 1 : Option.isSome(opts.threads) ? opts.threads.value : yield* autoThreads(pack)
      // the progress line (a terminal only); wiped before anything is printed, whatever happens
      const progress = Progress.start({ label: "verify", totalBytes: dbBytes !== undefined || pack === STDIN ? undefined : yield* regularSize(pack), quiet: opts.quiet })
      // a FIFO or <(…) path is read in order by fileParallel, on one thread
      let outcome = yield* (dbBytes !== undefined
        ? Verify.streamOutcome(counted(keepingHead(dbBytes, stdinHead), progress), options)
        : pack === STDIN
        ? Verify.streamOutcome(counted(keepingHead(stdinBytes, stdinHead), progress), options)
        : countingReads(Verify.fileParallel(pack, { ...options, threads }), progress, threads)).pipe(Effect.ensuring(Effect.sync(progress.done)))
      // tables edited behind the lines are a finding at their place (unless the rows before it
      // failed first), not an input that could not be read
      if (disagreement !== undefined && (Either.isRight(outcome.result) || outcome.result.left.line === 0 || outcome.result.left.line > disagreement.line)) {
        outcome = { ...outcome, result: Either.left(disagreement) }
      }
      // two key files that cannot be told apart (one name and key hash, two keys): a mistake in
      // the call, not a verdict on the pack
      if (Either.isLeft(outcome.result) && outcome.result.left._tag === "PublicKeyInvalid") {
        const e = outcome.result.left
        return yield* usage(`--pubkey ${opts.pubkey[e.key] ?? ""}: ${e.reason}`)
      }
      // a history rewritten after a checkpoint published from an old pack: that pack names the
      // first entry that differs (a note alone cannot)
      if (since?.pack !== undefined && pack !== STDIN && Either.isLeft(outcome.result) && outcome.result.left._tag === "HistoryRewritten") {
        const fs = yield* FileSystem.FileSystem
        const newBytes: Stream.Stream<Uint8Array, unknown> = dbBytes ?? fs.stream(pack)
        outcome = { ...outcome, result: Either.left(yield* pinRewrite(outcome.result.left, since.pack, newBytes, db?.shown ?? pack)) }
      }
      // an intact chain whose signatures no key checked: said on stderr, or with
      // --require-signatures the verdict (a failure)
      const report = Either.getOrUndefined(outcome.result)
      let unverified: string | undefined
      if (report !== undefined && report.signatures === "not-checked") {
        const head = db !== undefined || pack === STDIN ? stdinHead : yield* fileHead(pack)
        unverified = notCheckedText(statedKeyId(report, head))
      } else if (report !== undefined && report.signatures === "absent" && opts.requireSignatures) {
        unverified = "no entry is signed (signatures absent); --require-signatures needs a log signed with an HMAC key, verified with that key"
      }
      const failed = opts.requireSignatures && unverified !== undefined && report !== undefined
      // an input that cannot be read is an error, not a verdict: `error: …` on stderr (exit 2);
      // --json still prints its one object on stdout
      const unreadable = Either.isLeft(outcome.result) && outcome.result.left._tag === "Unreadable" ? outcome.result.left : undefined
      if (unreadable !== undefined && !opts.json) yield* Console.error(`error: cannot read ${unreadable.path}: ${unreadable.reason}`)
      else if (failed) yield* Console.log(opts.json ? unverifiedJson(report, unverified!) : `${SIGNATURES_NOT_VERIFIED}: ${unverified}`)
      else yield* Console.log(opts.json ? jsonVerdict(outcome) : textVerdict(outcome))
      // with the public key the checkpoints vouch for the entries: the entries' HMAC signatures are
      // a note, not a warning (an auditor outside holds no HMAC key, and should not)
      if (unverified !== undefined && !failed) {
        yield* Console.error(
          report?.checkpoints === "verified"
            ? `note: the entries also carry HMAC signatures (${unverified.split(";")[0]}), not checked without the HMAC key; the checkpoints, checked under --pubkey, cover them`
            : `warning: ${unverified}`
        )
      }
      // signed checkpoints no key checked: said on stderr, as signatures not checked are
      if (report !== undefined && report.checkpoints === "not-checked") {
        const head = db !== undefined || pack === STDIN ? stdinHead : yield* fileHead(pack)
        const cpKey = statedCheckpointKey(report, head)
        if (cpKey !== undefined) yield* Console.error(`warning: ${cpKey}; checkpoints were not checked; pass --pubkey FILE (the log's verifier key) to check them`)
      }
      verdictCode = failed ? 1 : Either.isRight(outcome.result) ? 0 : outcome.result.left._tag === "Unreadable" ? 2 : 1
    }).pipe(
      Effect.scoped,
      Effect.catchTags({ CommandFailed: fail }),
      Effect.catchAllDefect(verifyDefect)
    )
)

/** The `--json` verdict of an intact chain whose signatures `--require-signatures` wanted verified. */
const unverifiedJson = (r: Verify.Report, reason: string): string =>
  JSON.stringify({
    ok: false,
    // the chain held: how completeness was established stays as it was found
    ...reportJson(r),
    error: { _tag: SIGNATURES_NOT_VERIFIED, line: 0, seq: null, message: `${SIGNATURES_NOT_VERIFIED}: ${reason}` }
  })

/** A report's fields in the `--json` verdict (FORMAT part C), in their order there. */
const reportJson = (r: Verify.Report) => ({
  entries: r.entries,
  head: r.head,
  signatures: r.signatures,
  completeness: r.completeness,
  checkpoints: r.checkpoints,
  checkpoint_count: r.checkpointCount,
  unsealed_tail: r.unsealedTail
})

/** The one-line human verdict. */
export const textVerdict = (o: Verify.Outcome): string =>
  Either.match(o.result, {
    onRight: okText,
    onLeft: verdictText
  })

/** The `--json` verdict of FORMAT part C. */
export const jsonVerdict = (o: Verify.Outcome): string =>
  JSON.stringify(
    Either.match(o.result, {
      onRight: (r) => ({ ok: true, ...reportJson(r) }),
      onLeft: (e) => ({
        ok: false,
        entries: o.entries,
        head: o.head,
        // what was checked of the entries that held before the failure (see Verify.Outcome)
        signatures: o.signatures,
        completeness: "none",
        error: {
          _tag: e._tag,
          line: e.line,
          seq: e.seq,
          message: verdictText(e),
          ...(e._tag === "HistoryRewritten" ? { published_size: e.publishedSize, first_differing: e.firstDiffering ?? null } : {}),
          ...(e._tag === "CheckpointUntrusted" ? { signers: e.signers } : {})
        }
      })
    })
  )

/** How many times `Pack.write` reads the whole log: to verify it, to summarize it, to write the pack. */
const EXPORT_PASSES = 3

/** `--mode 640`: permission bits in octal, as chmod takes them. */
const parseMode = (text: string) =>
  /^0?[0-7]{3}$/.test(text)
    ? Effect.succeed(parseInt(text, 8))
    : Effect.fail(usage(`--mode ${JSON.stringify(text)} is not permission bits in octal (such as 600 or 640)`, EXPORT_USAGE))

const exportCommand = command(
  "export",
  "Write an evidence pack of a log (or, with --db URL --chain NAME, of a chain in a database): verified, with a signed _meta header, per-row controls for a framework, and a seal. The key: --key-file F or ACTTRACE_KEY.",
  {
    log: Args.text({ name: "LOG" }).pipe(Args.withDescription("the live log (JSON Lines) to export. Or --db URL --chain NAME instead"), Args.optional),
    db: dbOption("Its rows are read in order, a page at a time, verified and written to the pack; nothing is written to the database"),
    chain: chainOption,
    out: Options.text("out").pipe(Options.withDescription("where to write the evidence pack (never the log, its lock, or another file beside it under the log's name)")),
    framework: Options.text("framework").pipe(
      Options.withDescription(`annotate rows with the control ids of ${Controls.frameworks.join(", ")}`),
      Options.optional
    ),
    keyFile: keyFileOption("Required for a signed log"),
    key: keyOption,
    privateKey: privateKeyOption("Required for a log with signed checkpoints: the pack then carries _meta.checkpoint, which verifies with the .pub alone"),
    mode: Options.text("mode").pipe(
      Options.withDescription("the pack's permission bits in octal, e.g. 640 for a group that audits (default: the log file's)"),
      Options.optional
    ),
    quiet: quietOption
  },
  (opts) =>
    Effect.gen(function*() {
      const db = yield* dbTarget(opts.db, opts.chain, opts.log, "LOG", EXPORT_USAGE)
      if (db === undefined && Option.isNone(opts.log)) return yield* usage("give the LOG to export, or --db URL --chain NAME", EXPORT_USAGE)
      const log = Option.getOrElse(opts.log, () => "")
      const key = yield* resolveKey(opts.key, opts.keyFile, EXPORT_USAGE)
      const framework = Option.getOrNull(opts.framework)
      if (framework !== null && !Controls.isFramework(framework)) {
        return yield* usage(`unknown framework ${JSON.stringify(framework)}: use one of ${Controls.frameworks.join(", ")}`, EXPORT_USAGE)
      }
      const mode = Option.isSome(opts.mode) ? yield* parseMode(opts.mode.value) : undefined
      // the pack must not land on the live log or a file its store owns: a mistake in the call
      if (db === undefined) yield* Pack.checkTarget(log, opts.out).pipe(Effect.mapError((e) => usage(e.reason, EXPORT_USAGE)))
      else yield* notOnDatabase(db, opts.out, EXPORT_USAGE)
      // a database chain is read through one snapshot: each of the pack's passes over it reads the
      // same rows, however many the chain's writers append meanwhile
      const dbStore = db === undefined ? undefined : yield* readDb(db)
      const bytes = dbStore === undefined ? yield* Store.readLog(log) : Effect.succeed(yield* dbStore.snapshot)
      // what messages call the chain: the file, or the database (without its password) and chain
      const source = dbStore === undefined ? log : dbStore.name
      const open = yield* Effect.flatMap(bytes, Chain.auditOpenOf)
      const signing = Option.flatMap(open, (o) => Option.fromNullable(o["signing"] as { key_id?: unknown } | null | undefined))
      const checkpoints = Option.flatMap(open, (o) => Option.fromNullable(o["checkpoints"] as { key?: unknown } | null | undefined))
      const privateKey = yield* readPrivateKey(opts.privateKey, EXPORT_USAGE)
      if (Option.isSome(checkpoints) && privateKey === undefined) {
        // without it the pack would carry no _meta.checkpoint, and fail where the log's checkpoints verify
        return yield* usage(`${source} signs its checkpoints; give the private key it signs them with now (after a rotation, the newest) with --private-key FILE`, EXPORT_USAGE)
      }
      const signer = privateKey !== undefined
        ? yield* Signer.makeEd25519(privateKey, key === undefined ? {} : { hmac: key }).pipe(Effect.mapError((e) => usage(`--private-key: ${describeFailure(e)}`, EXPORT_USAGE)))
        : key === undefined
        ? Signer.none
        : yield* Signer.makeHmac(key)
      if (Option.isSome(signing)) {
        const expected = String(signing.value.key_id)
        if (key === undefined) return yield* usage(`${source} is signed (key id ${expected}); give its key with --key-file, ACTTRACE_KEY or --key`, EXPORT_USAGE)
        const given = Option.getOrThrow(signer.identity).keyId
        if (given !== expected) return yield* usage(`${source} is signed with key id ${expected}; the key given has id ${given}`, EXPORT_USAGE)
      }
      // a SQLite database's pack is as private as the database file, as a log's pack is as its log
      const dbMode = mode === undefined && db?.file !== undefined ? Option.getOrUndefined(Option.map(yield* Effect.option((yield* FileSystem.FileSystem).stat(db.file)), (i) => i.mode & 0o666)) : undefined
      // Pack.write reads the log three times (verified, summarized, written): each pass counts a
      // third, so the line's bytes end at the log's size and its rate is the export's (a fourth
      // pass, should Pack.write add one, would hold the line at 100 %, never past it)
      const progress = Progress.start({ label: "export", totalBytes: db === undefined ? yield* regularSize(log) : undefined, quiet: opts.quiet })
      const done = yield* Pack.write(Effect.map(bytes, (b) => counted(b, progress, EXPORT_PASSES)), source, opts.out, { framework, signer, log: db === undefined ? log : undefined, mode: mode ?? dbMode }).pipe(
        Effect.ensuring(Effect.sync(progress.done))
      )
      yield* Console.log(
        `exported ${done.entries} ${done.entries === 1 ? "entry" : "entries"} to ${done.path}, head ${done.head.slice(0, 12)}… (${done.signed ? "signed and sealed" : Option.isSome(done.checkpoint) ? "sealed by its signed checkpoint" : "unsigned"}${done.signed && Option.isSome(done.checkpoint) ? ", with a signed checkpoint" : ""}; framework: ${done.framework ?? "none"}, ${done.controlsCovered.length} controls)`
      )
    }).pipe(
      Effect.scoped,
      Effect.catchTags({ NotALog: fail, StoreError: fail, ExportError: fail, UnknownFramework: fail, InvalidKey: (e) => usage(plainMessage(e), EXPORT_USAGE) })
    )
)

/**
 * A usage error when `out` is the SQLite database of `db`, or one of the files SQLite keeps beside
 * it (`-wal`, `-shm`, `-journal`): a pack written there would destroy the chain it was read from.
 */
const notOnDatabase = (db: DbTarget, out: string, usageText: string) =>
  Effect.gen(function*() {
    yield* notStdin(out, "--out", usageText)
    if (db.file === undefined) return
    const fs = yield* FileSystem.FileSystem
    const target = yield* Effect.option(fs.stat(out))
    for (const suffix of ["", "-wal", "-shm", "-journal"]) {
      const file = db.file + suffix
      const same = resolvePath(file) === resolvePath(out) ||
        (Option.isSome(target) && Option.match(yield* Effect.option(fs.stat(file)), {
          onNone: () => false,
          onSome: (info) => info.dev === target.value.dev && Option.getOrUndefined(info.ino) === Option.getOrUndefined(target.value.ino)
        }))
      if (same) return yield* usage(`--out ${out} is ${suffix === "" ? "the SQLite database of --db" : `${file}, a file of the SQLite database of --db`}: choose another file`, usageText)
    }
  })

const repairCommand = command(
  "repair",
  "Move a torn last line (a crash mid-write) into a quarantine file beside the log and cut the log back to its last whole entry. No byte is deleted.",
  { log: Args.text({ name: "LOG" }).pipe(Args.withDescription("the log whose torn last line to move aside")) },
  (opts) =>
    Effect.gen(function*() {
      const r = yield* Store.repair(opts.log)
      // a lock taken over is said, as the log says it when a writer takes one over: whoever held
      // it may still matter to the person repairing
      if (Option.isSome(r.lockTakenOver)) yield* Console.error(takeoverWarning(r.lockTakenOver.value))
      yield* Console.log(
        Option.match(r.quarantine, {
          onNone: () => `nothing to repair: ${r.path} ends with a whole line (${r.keptBytes} bytes)`,
          onSome: (q) => `repaired ${r.path}: moved the torn last ${r.tornBytes} bytes to ${q}; the log now ends after its last whole entry (${r.keptBytes} bytes)`
        })
      )
    }).pipe(Effect.catchAll(fail))
)

/** A duration in the largest unit that keeps it above one: `42 seconds`, `3 hours`. */
const ageText = (millis: number): string => {
  const s = Math.max(0, Math.round(millis / 1000))
  const [n, unit] = s < 120 ? [s, "second"] : s < 7200 ? [Math.round(s / 60), "minute"] : s < 172_800 ? [Math.round(s / 3600), "hour"] : [Math.round(s / 86_400), "day"]
  return `${n} ${unit}${n === 1 ? "" : "s"}`
}

/** The one `warning:` line for a lock `repair` took over (what lock, whose, how old). */
export const takeoverWarning = (t: Store.LockTakeover): string =>
  Option.match(t.holder, {
    onSome: (h) => {
      // how old: from when the holder took it, else (an unparsable time) the lock file's age
      const since = Date.parse(h.since)
      const age = ageText(Number.isNaN(since) ? t.ageMillis : Date.now() - since)
      return `warning: took over the lock ${t.lock}: it named pid ${h.pid} on ${h.host}, which had ended without releasing it (held since ${h.since}, ${age} ago)`
    },
    onNone: () =>
      `warning: took over the lock ${t.lock}: it held no readable lock (${t.bytes} bytes, ${ageText(t.ageMillis)} old); what wrote it is unknown`
  })

/**
 * A failure as one plain line: what could not be done and why, without the error's tag or the
 * platform's internals (`error: cannot open audit.jsonl: no such file or directory`).
 */
export const describeFailure = (e: unknown): string => {
  const x = e as { readonly _tag?: unknown; readonly path?: unknown; readonly operation?: unknown; readonly reason?: unknown }
  if (x !== null && typeof x === "object" && typeof x.path === "string" && typeof x.reason === "string") {
    if (x._tag === "StoreError" && typeof x.operation === "string") return `cannot ${x.operation} ${x.path}: ${plainText(x.reason)}`
    if (x._tag === "NotALog") return `${x.path} is not a live log: ${plainText(x.reason)}`
  }
  return plainMessage(e)
}

/** Report a failure of the job and end with exit code 1. */
const fail = (e: unknown) =>
  Effect.sync(() => {
    failureCode = 1
  }).pipe(Effect.andThen(Console.error(`error: ${describeFailure(e)}`)))

/** What `scan` reads: UTF-8, or UTF-16 with its byte-order mark. */
const READS = "scan reads UTF-8 text, or UTF-16 with a byte-order mark"

/**
 * The text of `scan`'s input, decoded by its byte-order mark (UTF-8, UTF-16LE, UTF-16BE), else as
 * UTF-8; or why it cannot be read as text (`name` names the input). Every byte is decoded strictly:
 * text that cannot be read is not scanned, since scanning U+FFFD or a letter between NUL bytes finds
 * nothing and says `allow` (Windows PowerShell 5 writes UTF-16LE with `>`). A NUL byte is refused
 * too: text holds none, and UTF-16 or UTF-32 without a mark holds one in every character.
 */
const decodeText = (bytes: Uint8Array, name: string): Either.Either<string, string> => {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  // UTF-32 marks first: FF FE 00 00 begins with the UTF-16LE mark
  if ((b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) || (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff)) {
    return Either.left(`${name} is UTF-32 text (its byte-order mark says so); ${READS}`)
  }
  const utf16 = b[0] === 0xff && b[1] === 0xfe ? "utf-16le" : b[0] === 0xfe && b[1] === 0xff ? "utf-16be" : undefined
  let text: string
  if (utf16 !== undefined) {
    const decoded = Either.try(() => new TextDecoder(utf16, { fatal: true, ignoreBOM: false }).decode(b))
    if (Either.isLeft(decoded)) {
      return Either.left(`${name} is not UTF-16 text: it starts with a ${utf16 === "utf-16le" ? "UTF-16LE" : "UTF-16BE"} byte-order mark, but ${b.length % 2 === 1 ? "it has an odd number of bytes" : "it holds a code unit that is not part of a character (a lone surrogate)"}; ${READS}`)
    }
    text = decoded.right
  } else {
    const body = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b
    // the native check first; the byte is only looked for in input that fails it
    if (!isUtf8(body)) {
      const at = firstNonUtf8(body) + (body === b ? 0 : 3)
      return Either.left(`${name} is not UTF-8 text (byte ${at + 1} is not part of a UTF-8 character); ${READS} (convert it with iconv -f CHARSET -t UTF-8)`)
    }
    text = body.toString("utf8")
  }
  const nul = text.indexOf("\u0000")
  if (nul >= 0) {
    return Either.left(`${name} holds a NUL character (character ${nul + 1}): it is binary, or UTF-16 or UTF-32 without a byte-order mark; ${READS}`)
  }
  return Either.right(text)
}

/** The input of `scan`: one JSON value, JSON Lines (each line a value), or text. */
const scanInput = (text: string): { readonly kind: "json" | "jsonl" | "text"; readonly values: ReadonlyArray<{ readonly line: number | null; readonly value: unknown }> } => {
  const lines = text.split(/\r?\n/)
  const filled = lines.map((l, i) => ({ line: i + 1, text: l })).filter((l) => l.text.trim().length > 0)
  const parse = (t: string): { ok: true; value: unknown } | { ok: false } => {
    try {
      return { ok: true, value: JSON.parse(t) as unknown }
    } catch {
      return { ok: false }
    }
  }
  if (filled.length > 1) {
    const parsed = filled.map((l) => ({ line: l.line, r: parse(l.text) }))
    if (parsed.every((p) => p.r.ok)) return { kind: "jsonl", values: parsed.map((p) => ({ line: p.line, value: (p.r as { value: unknown }).value })) }
  }
  const whole = parse(text)
  if (whole.ok) return { kind: "json", values: [{ line: null, value: whole.value }] }
  return { kind: "text", values: [{ line: null, value: text }] }
}

const scanCommand = command(
  "scan",
  "Scan text, JSON or JSON Lines for secrets and personal data before they reach a model or a log. Prints what was found (never the values); exit 1 when any finding resolves to block.",
  {
    input: Args.text({ name: "FILE" }).pipe(Args.withDescription("text, JSON or JSON Lines to scan; - or nothing for standard input"), Args.optional),
    policy: Options.text("policy").pipe(Options.withDescription(`what each finding resolves to: ${Object.keys(Detect.policies).join(", ")}`), Options.withDefault("default")),
    detectors: Options.text("detectors").pipe(
      Options.withDescription(
        `which detectors run: +NAME turns an opt-in category on (${Detect.optInCategories.join(", ")}), -NAME turns a category off, NAME is +NAME; comma-separated, as in +uk_nino,+aadhaar,-ipv4`
      ),
      Options.optional
    ),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of lines of text"))
  },
  (opts) =>
    Effect.gen(function*() {
      const policy = Detect.policies[opts.policy]
      if (policy === undefined) return yield* usage(`unknown policy ${JSON.stringify(opts.policy)}: use one of ${Object.keys(Detect.policies).join(", ")}`, SCAN_USAGE)
      const chosen = Option.match(opts.detectors, { onNone: () => Either.right(Detect.builtins), onSome: (spec) => Detect.select(Detect.builtins, spec) })
      if (Either.isLeft(chosen)) return yield* usage(chosen.left.message, SCAN_USAGE)
      const detectors = chosen.right
      const path = Option.getOrElse(opts.input, () => "-")
      const fs = yield* FileSystem.FileSystem
      const bytes =
        path === "-"
          ? yield* Effect.tryPromise({
              try: async () => {
                const chunks: Array<Buffer> = []
                for await (const c of process.stdin) chunks.push(c as Buffer)
                return Buffer.concat(chunks)
              },
              catch: (e) => usage(`cannot read standard input: ${plainReason(e)}`, SCAN_USAGE)
            })
          : yield* fs.readFile(path).pipe(Effect.mapError((e) => usage(`cannot read ${path}: ${plainReason(e)}`, SCAN_USAGE)))
      // text it could not read is never scanned as garbage and passed: a gate that fails open
      const text = decodeText(bytes, path === "-" ? "standard input" : path)
      if (Either.isLeft(text)) return yield* usage(text.left, SCAN_USAGE)
      const input = scanInput(text.right)
      const rows: Array<Detect.Finding & { readonly line?: number }> = []
      for (const { line, value } of input.values) {
        for (const f of Detect.scan(value, policy, detectors)) rows.push(line === null ? f : { ...f, line })
      }
      const verdict = Detect.verdict(rows)
      if (verdict === "block") verdictCode = 1
      if (opts.json) {
        yield* Console.log(JSON.stringify({ input: input.kind, policy: policy.name, verdict, findings: rows }))
        return
      }
      for (const r of rows) {
        yield* Console.log(`${r.line === undefined ? "" : `line ${r.line}: `}${r.category} (${r.group}, ${r.severity}${r.placeholder === true ? ", placeholder" : ""}) ${r.action} ×${r.count}`)
      }
      const total = rows.reduce((n, r) => n + r.count, 0)
      yield* Console.log(`${total === 0 ? "nothing found" : `${total} ${total === 1 ? "finding" : "findings"}`} in ${input.kind === "jsonl" ? `${input.values.length} lines of JSON` : input.kind === "json" ? "JSON" : "text"}; policy ${policy.name}: ${verdict}`)
    })
)

const checkpointCommand = command(
  "checkpoint",
  "Print the latest signed checkpoint (a C2SP signed note) of a pack or log, to publish out of band (a ticket, an e-mail, a repository, a write-once bucket); later, verify --since NOTE proves a pack extends it. Only the note goes to stdout.",
  {
    input: Args.text({ name: "PACK_OR_LOG" }).pipe(Args.withDescription("an evidence pack (its _meta.checkpoint) or a log (its last checkpoint entry)")),
    pubkey: pubkeyOption("When given, the whole file is verified under these keys first, and nothing is printed unless it holds")
  },
  (opts) =>
    Effect.gen(function*() {
      const publicKeys = yield* readPubkeys(opts.pubkey, CHECKPOINT_USAGE)
      const input = yield* fileStream(opts.input, CHECKPOINT_USAGE)
      // checked against the entries beside it (and with --pubkey, its signature): a note that does
      // not describe its pack is never printed for publishing
      const found = yield* Proof.latestCheckpoint(input, { source: opts.input, publicKeys: publicKeys.length === 0 ? undefined : publicKeys })
      if (publicKeys.length > 0) {
        const outcome = yield* Verify.fileOutcome(opts.input, { publicKeys })
        if (Either.isLeft(outcome.result)) return yield* failWith(`${opts.input} does not verify, so its checkpoint is not printed: ${verdictText(outcome.result.left)}`)
      }
      // exactly the note's bytes (it ends in its newline): Console.log adds that newline
      yield* Console.log(found.note.slice(0, -1))
    }).pipe(Effect.catchAll(failUnlessUsage))
)

const keygenCommand = command(
  "keygen",
  "Make an Ed25519 key pair for signed checkpoints, in the C2SP signed-note key formats other tools read: DIR/NAME.key (private, 0600, refused if it exists) and DIR/NAME.pub. Prints the paths and the public verifier key, never the private key.",
  {
    out: Options.text("out").pipe(Options.withDescription("the directory to write NAME.key (private, mode 0600, never overwritten) and NAME.pub (the verifier key to hand out) in; created if missing")),
    name: Options.text("name").pipe(
      Options.withDescription("the key's name (no spaces, no '+'): it names the files and every signature line. Default acttrace"),
      Options.withDefault("acttrace")
    )
  },
  (opts) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      yield* notStdin(opts.out, "--out", KEYGEN_USAGE)
      // a name keygen refuses makes no directory either
      const bad = Keygen.nameProblem(opts.name)
      if (bad !== undefined) return yield* usage(`--name ${JSON.stringify(opts.name.length > 80 ? opts.name.slice(0, 80) + "…" : opts.name)} cannot name a key: ${bad}`, KEYGEN_USAGE)
      // a directory made for a private key is private too
      const exists = yield* fs.exists(opts.out).pipe(Effect.orElseSucceed(() => false))
      if (!exists) yield* fs.makeDirectory(opts.out, { recursive: true, mode: 0o700 }).pipe(Effect.mapError((e) => usage(`cannot create ${opts.out}: ${plainReason(e)}`, KEYGEN_USAGE)))
      const made = yield* Keygen.keygen({ out: opts.out, name: opts.name }).pipe(
        Effect.mapError((e) => usage(e._tag === "NoteKeyInvalid" ? `--name ${JSON.stringify(opts.name)} cannot name a key: ${e.reason}` : describeFailure(e), KEYGEN_USAGE))
      )
      // the private key is never printed: only where it is
      yield* Console.log(`wrote ${made.signerKeyPath} (private signing key, mode 0600: keep it secret, give it to the writer only)`)
      yield* Console.log(`wrote ${made.verifierKeyPath} (verifier key: give it to whoever verifies)`)
      yield* Console.log(`verifier key: ${made.verifierKey}`)
    })
)

/** `--seq 12,40,50-52`: entry seqs, sorted, each once. */
const parseSeqs = (text: string) =>
  Effect.gen(function*() {
    const seqs = new Set<number>()
    for (const part of text.split(",")) {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
      const from = m === null ? NaN : Number(m[1])
      const to = m === null ? NaN : m[2] === undefined ? from : Number(m[2])
      if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to < from) {
        return yield* usage(`--seq ${JSON.stringify(text)}: ${JSON.stringify(part)} is not a seq or a range of seqs (such as 12 or 50-52)`, PROVE_USAGE)
      }
      if (to - from >= MAX_PROVE_SEQS) return yield* usage(`--seq: the range ${from}-${to} holds more than ${MAX_PROVE_SEQS} entries`, PROVE_USAGE)
      for (let q = from; q <= to; q++) seqs.add(q)
      if (seqs.size > MAX_PROVE_SEQS) return yield* usage(`--seq names more than ${MAX_PROVE_SEQS} entries; a proof is for the few a reviewer needs`, PROVE_USAGE)
    }
    return [...seqs].sort((a, b) => a - b)
  })

/** The most entries one proof file holds: a proof is for the few entries a reviewer needs. */
const MAX_PROVE_SEQS = 100_000

/** The bytes of a file, read in chunks as a stream; a file that cannot be opened is a usage error. */
const fileStream = (path: string, usageText: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    yield* statInput(path, "input", usageText)
    return fs.stream(path).pipe(Stream.mapError((e) => Verify.unreadable(path, e)))
  })

/**
 * What `stat` says of a file a command reads (given as `what`): `-`, a path that cannot be
 * stat'ed, or a directory is a usage error naming it, before anything is read.
 */
const statInput = (path: string, what: string, usageText: string) =>
  Effect.gen(function*() {
    yield* notStdin(path, what, usageText)
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(Effect.mapError((e) => usage(`cannot read ${path}: ${plainReason(e)}`, usageText)))
    if (info.type === "Directory") return yield* usage(`cannot read ${path}: it is a directory`, usageText)
    return info
  })

/** Every failure but a usage error is the job's: one `error:` line on stderr, exit 1. */
const failUnlessUsage = (e: unknown) => (e instanceof UsageError ? Effect.fail(e) : fail(e))

/** `NotConsistent`, naming the first entry where the two differ when it is known. */
const notConsistentText = (e: { readonly firstDiffering: number | null; readonly message: string }, oldPath: string, newPath: string): string => {
  const said = plainMessage(e)
  const where = e.firstDiffering === null || said.includes(`seq ${e.firstDiffering}`) ? "" : ` (${newPath} and ${oldPath} first differ at seq ${e.firstDiffering})`
  return `NotConsistent: ${said}${where}`
}

const proveCommand = command(
  "prove",
  "Write a proof file for chosen entries: the entries, their Merkle inclusion proofs and the signed checkpoint, and nothing of any other entry. Anyone with the public key checks it with verify-proof, without the pack.",
  {
    pack: Args.text({ name: "PACK" }).pipe(Args.withDescription("the evidence pack (or log) that holds the entries")),
    seq: Options.text("seq").pipe(Options.withDescription("the seqs of the entries to prove, comma-separated; ranges too (12,40,50-52)")),
    out: Options.text("out").pipe(Options.withDescription("where to write the proof file (JSON, acttrace-proof/1)")),
    pubkey: pubkeyOption("When given, the checkpoint the proof rests on must be signed by one of them, or no proof is written")
  },
  (opts) =>
    Effect.gen(function*() {
      const seqs = yield* parseSeqs(opts.seq)
      const publicKeys = yield* readPubkeys(opts.pubkey, PROVE_USAGE)
      const input = yield* fileStream(opts.pack, PROVE_USAGE)
      const proved = yield* Proof.prove(input, { seqs, source: opts.pack, publicKeys: publicKeys.length === 0 ? undefined : publicKeys })
      yield* writeOutput(opts.out, proved.text, [opts.pack], PROVE_USAGE)
      const shown = proved.entries.map((e) => e.seq).join(", ")
      yield* Console.log(
        `wrote ${opts.out}: ${proved.entries.length === 1 ? "entry" : "entries"} ${shown} with ${proved.entries.length === 1 ? "its inclusion proof" : "their inclusion proofs"} in the tree of ${proved.checkpoint.size} entries (${proved.checkpoint.source === "pack" ? "the pack's signed checkpoint" : `the checkpoint entry at seq ${Option.getOrElse(proved.checkpoint.seq, () => proved.checkpoint.size)}`})${publicKeys.length === 0 ? "; its signature was not checked (no --pubkey)" : ""}`
      )
    }).pipe(Effect.catchAll(failUnlessUsage))
)

const verifyProofCommand = command(
  "verify-proof",
  "Check a proof file alone (no pack needed): its checkpoint must be signed by a trusted key, each entry's hash is recomputed and its inclusion proof checked against the checkpoint's root. Exit 0 when every entry is proven, 1 when not, 2 on a usage error.",
  {
    proof: Args.text({ name: "PROOF" }).pipe(Args.withDescription("a proof file written by acttrace prove")),
    pubkey: pubkeyOption("At least one is needed: the proof's checkpoint must be signed by one of them"),
    origin: Options.text("origin").pipe(
      Options.withDescription("the log the entries must belong to (the checkpoint's origin, e.g. acttrace/loan-triage): one key may sign the logs of several systems"),
      Options.optional
    ),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of lines of text"))
  },
  (opts) =>
    Effect.gen(function*() {
      const publicKeys = yield* readPubkeys(opts.pubkey, VERIFY_PROOF_USAGE)
      if (publicKeys.length === 0) return yield* usage("give the verifier key with --pubkey FILE: a proof means something only under a key you trust", VERIFY_PROOF_USAGE)
      // bounded, and never waiting on a named pipe nobody writes to; `-` is standard input
      const bytes = opts.proof === STDIN
        ? yield* stdinAtMost(MAX_PROOF_BYTES).pipe(
          Effect.mapError((reason) => usage(`cannot read standard input: ${reason}`, VERIFY_PROOF_USAGE)),
          Effect.flatMap((b) => b === undefined ? usage(`standard input: it is too large for a proof file (over ${MAX_PROOF_BYTES} bytes)`, VERIFY_PROOF_USAGE) : Effect.succeed(b))
        )
        : yield* readSmallFile(opts.proof, MAX_PROOF_BYTES).pipe(
          Effect.mapError((e) => usage(`cannot read ${opts.proof}: ${e.reason.startsWith("it is too large") ? `it is too large for a proof file (over ${MAX_PROOF_BYTES} bytes)` : e.reason}`, VERIFY_PROOF_USAGE))
        )
      const result = yield* Effect.either(Proof.verifyProof(bytes, { publicKeys, origin: Option.getOrUndefined(opts.origin) }))
      if (Either.isLeft(result)) {
        const e = result.left
        // a file that is not a proof at all is the wrong file, not a verdict on a proof
        if (e._tag === "ProofMalformed" && notAProof(bytes)) {
          return yield* usage(`${opts.proof} is not a proof file (acttrace-proof/1): ${plainMessage(e)}`, VERIFY_PROOF_USAGE)
        }
        verdictCode = 1
        yield* Console.log(opts.json ? JSON.stringify({ ok: false, error: { _tag: e._tag, message: `${e._tag}: ${plainMessage(e)}` } }) : `${e._tag}: ${plainMessage(e)}`)
        return
      }
      const p = result.right
      if (opts.json) {
        yield* Console.log(JSON.stringify({ ok: true, size: p.size, origin: p.origin, signers: p.signers, proven: p.entries.map((e) => e.seq) }))
        return
      }
      for (const e of p.entries) yield* Console.log(`proven: seq ${e.seq} ${e.type}${e.ts === undefined ? "" : ` ${e.ts}`}, hash ${e.hash.slice(0, 12)}…`)
      yield* Console.log(`ok: ${p.entries.length} ${p.entries.length === 1 ? "entry" : "entries"} proven in the tree of ${p.size} entries (origin ${p.origin}), signed by ${p.signers.join(", ")}`)
    })
)

/**
 * Whether bytes are some other file than a proof (a pack or log, whose first line is a header or
 * an entry; or no JSON object at all): the wrong file given, a usage error. A JSON object that
 * fails as a proof (an edited one) is a verdict instead.
 */
const notAProof = (bytes: Uint8Array): boolean => {
  const text = Buffer.from(bytes.subarray(0, 65_536)).toString("utf8").replace(/^\ufeff/, "")
  try {
    const first = JSON.parse(text.split("\n")[0]!) as unknown
    return first === null || typeof first !== "object" || "_meta" in first || "prev_hash" in first
  } catch {
    return !/^\s*\{/.test(text)
  }
}

/**
 * Writes `text` to `out` through a temporary file beside it, renamed into place: a reader never
 * sees half a document. `inputs` are the files read: `out` may not be one of them (a proof
 * written over the pack it came from would destroy the pack).
 */
const writeOutput = (out: string, text: string, inputs: ReadonlyArray<string>, usageText: string) =>
  Effect.gen(function*() {
    yield* notStdin(out, "--out", usageText)
    const fs = yield* FileSystem.FileSystem
    const target = yield* Effect.option(fs.stat(out))
    if (Option.isSome(target)) {
      for (const input of inputs) {
        const info = yield* Effect.option(fs.stat(input))
        if (Option.isSome(info) && info.value.dev === target.value.dev && Option.getOrUndefined(info.value.ino) === Option.getOrUndefined(target.value.ino)) {
          return yield* usage(`--out ${out} is ${input}, which was read: choose another file`, usageText)
        }
      }
      if (target.value.type !== "File") return yield* usage(`--out ${out} is not a regular file`, usageText)
    }
    // an unguessable name, created exclusively ("wx": O_EXCL, which never follows a symbolic
    // link): in a shared directory, a link planted at a predictable temporary name would have the
    // document written through it, over whatever file it leads to
    const tmp = `${out}.tmp-${process.pid}-${randomBytes(8).toString("hex")}`
    yield* fs.writeFileString(tmp, text, { flag: "wx" }).pipe(
      Effect.zipRight(fs.rename(tmp, out)),
      // a name that was already there is not ours to remove
      Effect.tapError((e) => (e._tag === "SystemError" && e.reason === "AlreadyExists" ? Effect.void : fs.remove(tmp).pipe(Effect.ignore))),
      Effect.mapError((e) => new CommandFailed({ reason: `cannot write ${out}: ${plainReason(e)}` }))
    )
  })

const consistencyCommand = command(
  "consistency",
  "Prove that NEW extends OLD (two exports of one log): both checkpoints signed by a trusted key, and a Merkle consistency proof from OLD's tree to NEW's. Exit 0 when it does, 1 naming the first entry where they diverge, 2 on a usage error.",
  {
    old: Args.text({ name: "OLD" }).pipe(Args.withDescription("the older pack (or log)")),
    new: Args.text({ name: "NEW" }).pipe(Args.withDescription("the newer pack (or log) of the same log")),
    pubkey: pubkeyOption("At least one is needed: both checkpoints must be signed by them"),
    out: Options.text("out").pipe(Options.withDescription("write the consistency proof here (JSON, acttrace-consistency/1), when NEW extends OLD"), Options.optional),
    json: Options.boolean("json").pipe(Options.withDescription("print one JSON object instead of a line of text"))
  },
  (opts) =>
    Effect.gen(function*() {
      const publicKeys = yield* readPubkeys(opts.pubkey, CONSISTENCY_USAGE)
      if (publicKeys.length === 0) return yield* usage("give the verifier key with --pubkey FILE: both checkpoints must be signed by a key you trust", CONSISTENCY_USAGE)
      const oldInput = yield* fileStream(opts.old, CONSISTENCY_USAGE)
      const newInput = yield* fileStream(opts.new, CONSISTENCY_USAGE)
      const result = yield* Effect.either(Proof.consistency(oldInput, newInput, { publicKeys, oldSource: opts.old, newSource: opts.new }))
      if (Either.isLeft(result)) {
        const e = result.left
        verdictCode = 1
        const text = e._tag === "NotConsistent" ? notConsistentText(e, opts.old, opts.new) : `${e._tag}: ${plainMessage(e)}`
        yield* Console.log(
          opts.json
            ? JSON.stringify({ ok: false, error: { _tag: e._tag, first_differing: e._tag === "NotConsistent" ? e.firstDiffering : null, message: text } })
            : text
        )
        return
      }
      const c = result.right
      if (Option.isSome(opts.out)) {
        yield* writeOutput(opts.out.value, c.text, [opts.old, opts.new], CONSISTENCY_USAGE)
      }
      const text = `ok: ${opts.new} (${c.new.size} entries) extends ${opts.old} (${c.old.size} entries): consistency proof of ${c.proofLength} ${c.proofLength === 1 ? "hash" : "hashes"}${Option.isSome(opts.out) ? `, written to ${opts.out.value}` : ""}`
      yield* Console.log(opts.json ? JSON.stringify({ ok: true, old_size: c.old.size, new_size: c.new.size, proof_length: c.proofLength }) : text)
    }).pipe(Effect.catchTags({ CommandFailed: fail }))
)

const demo = command(
  "demo",
  "Write a small signed log, verify it, tamper with copies and show each detection. With --private-key, also publish its checkpoint, prove one decision, and show a rewritten history caught. With --db URL --chain NAME, the log is that chain in a database.",
  {
    out: Options.directory("out", { exists: "either" }).pipe(
      Options.withDescription("where to write the demo files"),
      Options.withDefault("acttrace-demo")
    ),
    db: dbOption("The demo's decisions go into that chain (created on first use; several demos may write it at once) instead of a log file in --out, and it is verified from the database; the packs still go to --out"),
    chain: chainOption,
    keyFile: keyFileOption("Without either (and without --private-key), a demo key is used and printed"),
    key: keyOption,
    privateKey: privateKeyOption("The demo log gets signed checkpoints, and the demo goes on to checkpoint, prove, verify-proof and verify --since with the public key")
  },
  (opts) =>
    Effect.gen(function*() {
      const db = yield* dbTarget(opts.db, opts.chain, undefined, "", DEMO_USAGE)
      const key = yield* resolveKey(opts.key, opts.keyFile, DEMO_USAGE)
      const privateKey = yield* readPrivateKey(opts.privateKey, DEMO_USAGE)
      const context = yield* Effect.context<CliApp.CliApp.Environment>()
      const run: RunCommand = (args) => runCaptured(args).pipe(Effect.provide(context))
      // what goes wrong in the run (a log held by another writer, a torn log, a full disk, a
      // database that cannot be reached) is a failure of the job: exit 1
      yield* runDemo(opts.out, { key, privateKey, run, db: db === undefined ? undefined : { url: db.url, chain: db.chain, shown: db.shown } }).pipe(
        Effect.catchAll((e) => fail(passwordHint(e)))
      )
    })
)

const root = Command.make("acttrace").pipe(
  Command.withDescription(
    "Tamper-evident, hash-chained record of AI decisions, verifiable offline. Give keys with --key-file F or the ACTTRACE_KEY environment variable: --key shows the key to every user of the machine through ps."
  ),
  Command.withSubcommands([
    verify, exportCommand, keygenCommand, checkpointCommand, proveCommand, verifyProofCommand, consistencyCommand, repairCommand, scanCommand, demo,
    // report, inspect, show (cli-report.ts), on this module's key handling and exit code
    ...reportCommands({ setExitCode: (code) => void (verdictCode = code), usage, resolveKey, readPubkeys, keyFileOption, keyOption, pubkeyOption })
  ])
)

const cli = Command.run(root, { name: "acttrace", version: VERSION })

/**
 * `acttrace ARGS` run in this process with its output caught, for the demo to show what the
 * commands print. The exit code the outer command will end with is kept aside meanwhile.
 */
const runCaptured = (
  args: ReadonlyArray<string>
): Effect.Effect<{ readonly code: ExitCode; readonly stdout: string; readonly stderr: string }, never, CliApp.CliApp.Environment> =>
  Effect.gen(function*() {
    const saved = { verdictCode, failureCode }
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const base = yield* Effect.console
    const caught: Console.Console = {
      ...base,
      log: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stdout.push(xs.join(" "))),
      error: (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void stderr.push(xs.join(" ")))
    }
    const code = yield* Effect.withConsole(main(["node", "acttrace", ...args]), caught)
    verdictCode = saved.verdictCode
    failureCode = saved.failureCode
    return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") }
  })

let outputGuarded = false

/**
 * A reader that stops early (`acttrace demo | head`) closes the pipe: what is left to print is
 * dropped and the run goes on to its own exit code, instead of Node throwing an unhandled `EPIPE`
 * with a stack trace. Any other failure to write is said in one line on stderr.
 */
const guardOutput = () => {
  if (outputGuarded) return
  outputGuarded = true
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") return
    process.stderr.write(`error: cannot write to standard output: ${plainReason(e)}\n`)
  })
}

/** The verify options that take a value (a `-` after one of them is that value, not the input). */
const VERIFY_VALUED = new Set(["--key", "--key-file", "--pubkey", "--since", "--expected-head", "--expect-entries", "--threads", "--max-line-bytes", "--db", "--chain"])

/** `verify - --key-file F` as `verify --key-file F -`. */
const stdinLast = (argv: ReadonlyArray<string>): ReadonlyArray<string> => {
  const at = argv.findIndex((a, i) => i > 2 && a === "-" && !VERIFY_VALUED.has(argv[i - 1]!))
  return at < 0 || at === argv.length - 1 ? argv : [...argv.slice(0, at), ...argv.slice(at + 1), "-"]
}

/** The usage line of each command, by name: after a parse error, the one of the command run. */
const USAGES: Readonly<Record<string, ReadonlyArray<string>>> = {
  verify: [VERIFY_USAGE],
  export: [EXPORT_USAGE],
  repair: [REPAIR_USAGE],
  scan: [SCAN_USAGE],
  demo: [DEMO_USAGE],
  keygen: [KEYGEN_USAGE],
  checkpoint: [CHECKPOINT_USAGE],
  prove: [PROVE_USAGE],
  "verify-proof": [VERIFY_PROOF_USAGE],
  consistency: [CONSISTENCY_USAGE],
  inspect: [INSPECT_USAGE],
  report: [REPORT_USAGE],
  show: [SHOW_USAGE]
}
const ALL_USAGES = [VERIFY_USAGE, EXPORT_USAGE, KEYGEN_USAGE, CHECKPOINT_USAGE, PROVE_USAGE, VERIFY_PROOF_USAGE, CONSISTENCY_USAGE, REPAIR_USAGE, SCAN_USAGE, INSPECT_USAGE, REPORT_USAGE, SHOW_USAGE, DEMO_USAGE]

/**
 * Escape sequences (CSI, such as colours, and OSC): @effect/cli renders help and its parse errors
 * with @effect/printer-ansi in its "pretty" style, always coloured, with no option to turn it
 * off; they are taken out of what is written to a stream that is not a terminal, or to any when
 * `NO_COLOR` is set and not empty (https://no-color.org).
 */
const ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\))/g

const colourless = (stream: { readonly isTTY?: boolean | undefined }): boolean =>
  stream.isTTY !== true || (process.env["NO_COLOR"] ?? "") !== ""

const stripArgs = (args: ReadonlyArray<unknown>): Array<unknown> => args.map((a) => (typeof a === "string" ? a.replace(ESCAPES, "") : a))

/**
 * `base`, writing no escape sequences to a stream that must be plain (see `ESCAPES`), and no
 * password of a URL among the arguments (see `scrubber`).
 */
const plainConsole = (base: Console.Console, argv: ReadonlyArray<string>): Console.Console => {
  const out = colourless(process.stdout)
  const err = colourless(process.stderr)
  const scrub = scrubber(argv)
  const clean = (args: ReadonlyArray<unknown>, plain: boolean): Array<unknown> => {
    const stripped = plain ? stripArgs(args) : [...args]
    return scrub === undefined ? stripped : stripped.map((a) => (typeof a === "string" ? scrub(a) : a))
  }
  return {
    ...base,
    log: (...args) => base.log(...clean(args, out)),
    info: (...args) => base.info(...clean(args, out)),
    error: (...args) => base.error(...clean(args, err)),
    warn: (...args) => base.warn(...clean(args, err))
  }
}

/**
 * @effect/cli's own options that do nothing for this tool: a wizard that prompts for each option,
 * shell completion scripts of the parser's generic shape, the log level of logs the CLI never
 * writes. Refused as unknown options (its help no longer lists them).
 */
const BUILT_INS = ["--wizard", "--completions", "--log-level"]

/** How help is laid out on `stream`: bold on a terminal without `NO_COLOR`, wrapped to its width. */
const layoutFor = (stream: { readonly isTTY?: boolean | undefined; readonly columns?: number | undefined }): Help.Layout => ({
  colour: !colourless(stream),
  width: stream.isTTY === true && stream.columns !== undefined ? stream.columns : 80
})

/** What an example of `report`, `inspect` or `show` (cli-report.ts) does, by its command line. */
const REPORT_EXAMPLES_SAY: Readonly<Record<string, string>> = {
  "acttrace report audit.pack.jsonl --out report.html --key-file audit.key": "the report of a pack signed with an HMAC key, checked with it",
  "acttrace report audit.pack.jsonl --out report.html --pubkey acme.pub": "checkpoints checked with the public key, which the page uses to check them again",
  "acttrace report huge.pack.jsonl --out report.html --max-embed-bytes 0": "a report without the pack in it (the page shows this verdict only)",
  "acttrace inspect audit.pack.jsonl --key-file audit.key": "the summary as tables on the terminal",
  "acttrace inspect audit.pack.jsonl --json | jq .decisions": "the summary as one JSON document",
  "acttrace show audit.pack.jsonl --seq 12": "one entry, pretty-printed",
  "acttrace show audit.pack.jsonl --seq 3,7,40-45": "entries and ranges of entries, in order",
  "acttrace show audit.pack.jsonl --decision 642bcb6c280216c9dba72a0d5a25c9bf --json": "every entry of one decision, as the lines of the pack"
}

const examplesOf = (commands: ReadonlyArray<string>): ReadonlyArray<readonly [string, string]> =>
  commands.map((c) => [c.replace(/^acttrace /, ""), REPORT_EXAMPLES_SAY[c] ?? ""] as const)

/** The help pages of `report`, `inspect` and `show`: their usage lines and examples are cli-report.ts's. */
const REPORT_PAGES: ReadonlyArray<Help.Page> = [
  {
    name: "inspect",
    summary: "summarize a pack or log in the terminal: verdict, counts, decisions, flags, models, controls",
    synopsis: [INSPECT_USAGE.replace(/^usage: acttrace /, "")],
    examples: examplesOf(INSPECT_EXAMPLES),
    output: "Aligned tables on stdout (colour only on a terminal without NO_COLOR): the verdict and its basis, counts by type, decisions with oversight and outcomes, flags, redactions, model usage, tools, controls, the first decisions. With --json, the whole summary as one JSON document (the report's model: the same numbers the HTML report shows).",
    exit: [[0, "the pack verifies"], [1, "it does not (the summary is still printed)"], [2, "a usage error or an input that cannot be read"]]
  },
  {
    name: "report",
    summary: "write a self-contained HTML report of a pack, which verifies the pack again in the browser",
    synopsis: [REPORT_USAGE.replace(/^usage: acttrace /, "")],
    values: { "--out": "HTML" },
    examples: examplesOf(REPORT_EXAMPLES),
    output: "Two lines on stdout: wrote FILE (its size, whether the pack is embedded), and the verdict. The report is written whole, then renamed into place. On a terminal, a progress line on stderr for packs that take a while (not with --quiet).",
    exit: [[0, "the report was written and the pack verifies"], [1, "the report was written and the pack does not verify"], [2, "no report was written (a usage error, an input that cannot be read)"]]
  },
  {
    name: "show",
    summary: "print chosen entries of a pack or log, in order, pretty-printed",
    synopsis: [SHOW_USAGE.replace(/^usage: acttrace /, "")],
    values: { "--seq": "N[,N|A-B]..." },
    examples: examplesOf(SHOW_EXAMPLES),
    output: "Each entry under a header (seq, type, ts, line), its JSON indented, every number and string exactly as the line holds it. With --json, the entries' lines themselves, one per line (JSON Lines, byte for byte as in the pack). A pack that does not verify, or an entry asked for that is not there, is said on stderr.",
    exit: [[0, "every entry asked for was shown and the pack verifies"], [1, "the pack does not verify, or an entry asked for is not there"], [2, "a usage error or an input that cannot be read"]]
  }
]

/** A command's page: its own, or for a command without one a page of its usage line alone. */
const pageOf = (name: string): Help.Page =>
  Help.PAGES.find((p) => p.name === name) ?? REPORT_PAGES.find((p) => p.name === name) ?? {
    name,
    summary: "",
    synopsis: (USAGES[name] ?? [`usage: acttrace ${name}`]).map((u) => u.replace(/^usage: acttrace /, "")),
    examples: [],
    output: "",
    exit: [[0, "success"], [1, "the job's finding or failure"], [2, "a usage error or an input that cannot be read"]]
  }

/** Every command the parser knows, in the order of the help pages, then any others. */
const commandNames = (): ReadonlyArray<string> => {
  const known = [...HashMap.keys(Command.getSubcommands(root))]
  const paged = [...Help.PAGES, ...REPORT_PAGES].map((p) => p.name)
  return [...paged.filter((n) => known.includes(n)), ...known.filter((n) => !paged.includes(n)).sort()]
}

const rootHelp = (layout: Help.Layout): string =>
  Help.renderRoot(commandNames().map((n) => {
    const page = pageOf(n)
    return page.summary !== "" ? page : { ...page, summary: Option.match(HashMap.get(Command.getSubcommands(root), n), { onNone: () => "", onSome: (d) => Help.describe(d).description }) }
  }), VERSION, layout)

/** What `main` answers before the parser runs: help, or a mistake the parser would misread. */
interface Early {
  readonly stream: "stdout" | "stderr"
  readonly text: string
  readonly code: ExitCode
}

const usageOf = (name: string): string => (USAGES[name] ?? ALL_USAGES).join("\n")

/**
 * Help, asked for anywhere on the line (`acttrace --help`, `acttrace help verify`, `acttrace
 * verify PACK -h`), printed by us; and what @effect/cli would get wrong: no command (its full
 * generated help, exit 0), an unknown command, its built-in options, and an option whose value is
 * missing, which it fills with the next word (`scan --detectors --json` read `--json` as a detector
 * name, `scan --detectors` with nothing after took `--detectors` for the FILE).
 */
const early = (argv: ReadonlyArray<string>): Early | undefined => {
  const [name, ...rest] = argv.slice(2)
  const out = (text: string): Early => ({ stream: "stdout", text, code: 0 })
  const wrong = (text: string): Early => ({ stream: "stderr", text, code: 2 })
  if (name === undefined) return wrong(`error: give a command\n\n${rootHelp(layoutFor(process.stderr))}`)
  if (name === "--help" || name === "-h") return out(rootHelp(layoutFor(process.stdout)))
  const commands = Command.getSubcommands(root)
  const helpFor = (command: string): Early =>
    Option.match(HashMap.get(commands, command), {
      onNone: () => unknownCommand(command),
      onSome: (d) => out(Help.renderCommand(pageOf(command), Help.describe(d), layoutFor(process.stdout)))
    })
  const unknownCommand = (command: string): Early =>
    wrong(`error: ${command.startsWith("-") ? `unknown option ${JSON.stringify(command)}` : `unknown command ${JSON.stringify(command)}`}: the commands are ${commandNames().join(", ")}\n${ALL_USAGES.join("\n")}\nRun 'acttrace --help' or 'acttrace COMMAND --help' for details.`)
  if (name === "help") return rest[0] === undefined ? out(rootHelp(layoutFor(process.stdout))) : helpFor(rest[0])
  if (name === "--version") return rest.length === 0 ? out(VERSION) : undefined
  const found = HashMap.get(commands, name)
  if (Option.isNone(found)) return unknownCommand(name)
  // what follows `--` is not options
  const end = rest.indexOf("--")
  const words = end < 0 ? rest : rest.slice(0, end)
  if (words.some((w) => w === "--help" || w === "-h")) return helpFor(name)
  const d = Help.describe(found.value)
  const valued = new Map(d.options.filter((o) => o.valued).flatMap((o) => o.names.map((n) => [n, o] as const)))
  const known = new Set(["--help", "-h", ...d.options.flatMap((o) => o.names)])
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    const builtIn = BUILT_INS.find((b) => w === b || w.startsWith(`${b}=`))
    if (builtIn !== undefined) return wrong(`error: unknown option ${JSON.stringify(builtIn)} for ${name}\n${usageOf(name)}\nRun 'acttrace ${name} --help' for its options.`)
    // an option this command does not have (@effect/cli took `scan --bogus` for the FILE)
    if (w.startsWith("-") && w !== "-" && !known.has(w.split("=")[0]!)) return wrong(`error: unknown option ${JSON.stringify(w.split("=")[0])} for ${name}\n${usageOf(name)}\nRun 'acttrace ${name} --help' for its options.`)
    // `--detectors=` (and for scan `--detectors=-`): the value left out
    const eq = w.indexOf("=")
    const joined = eq > 0 ? valued.get(w.slice(0, eq)) : undefined
    if (joined !== undefined && (w.slice(eq + 1) === "" || (w.slice(eq + 1) === "-" && name === "scan"))) {
      return wrong(`error: ${w.slice(0, eq)} needs a value (${w.slice(0, eq)} ${Help.valueName(pageOf(name), joined)})\n${usageOf(name)}`)
    }
    // `-` where only verify and verify-proof read standard input: said as such, before the parser
    // takes the options after it for stray arguments
    if (w === "-" && (name === "inspect" || name === "report" || name === "show")) {
      return wrong(`error: -: standard input is not read here; give a file (only verify PACK and verify-proof PROOF read standard input as -)\n${usageOf(name)}`)
    }
    const option = valued.get(w)
    if (option === undefined) continue
    const next = words[i + 1]
    // `-` is standard input for scan, never a policy or a detector list
    if (next === undefined || known.has(next.split("=")[0]!) || (next === "-" && name === "scan")) {
      const value = Help.valueName(pageOf(name), option)
      return wrong(`error: ${w} needs a value (${w} ${value})${next === undefined ? "" : `, not ${JSON.stringify(next)}`}\n${usageOf(name)}`)
    }
    i++
  }
  return undefined
}

/**
 * What the parser finds wrong with `args` (`process.argv`-shaped), in one line; undefined when it
 * parses. The same parse the run does (@effect/cli parses again, which costs nothing measurable).
 */
const parseProblem = (args: ReadonlyArray<string>) =>
  Descriptor.parse(root.descriptor, ["acttrace", ...args.slice(2)], CliConfig.defaultConfig).pipe(
    Effect.map((directive) =>
      directive._tag === "UserDefined" && directive.leftover.length > 0 ? `unexpected argument ${JSON.stringify(directive.leftover[0])}` : undefined
    ),
    Effect.catchAll((e) =>
      Effect.succeed(HelpDoc.toAnsiText(e.error).replace(ESCAPES, "").split(/\n+/).map((l) => l.trim()).filter((l) => l !== "").join(" ").replace(/\ba integer\b/g, "an integer"))
    )
  )

/** Run the CLI on `process.argv`-shaped arguments; resolves to the exit code. */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<ExitCode, never, CliApp.CliApp.Environment> =>
  Effect.suspend(() => {
    guardOutput()
    verdictCode = 0
    failureCode = undefined
    const answered = early(argv)
    if (answered !== undefined) {
      return Effect.as(answered.stream === "stdout" ? Console.log(answered.text) : Console.error(answered.text), answered.code)
    }
    // @effect/cli stops reading options after a lone `-`: `scan -` reads standard input as `scan`
    // alone does, so it is dropped; `verify -` names standard input, so it goes last
    const args = argv[2] === "scan" ? argv.filter((a, i) => i < 3 || a !== "-") : argv[2] === "verify" ? stdinLast(argv) : argv
    // the parser's complaint, said as every other error is (`error: …`, one line, then the usage)
    // instead of its own layout, before anything runs
    return Effect.flatMap(parseProblem(args), (problem) =>
      problem !== undefined
        ? Effect.as(Console.error(`error: ${problem}\n${usageOf(argv[2] ?? "")}\nRun 'acttrace ${USAGES[argv[2] ?? ""] === undefined ? "" : `${argv[2]} `}--help' for details.`), 2 as ExitCode)
        : Effect.map(cli(args), () => failureCode ?? verdictCode))
  }).pipe(
    Effect.catchAll((e) => {
      if (ValidationError.isValidationError(e)) {
        // @effect/cli has already printed what was wrong
        return Effect.as(
          Console.error(`\n${(USAGES[argv[2] ?? ""] ?? ALL_USAGES).join("\n")}\nRun 'acttrace --help' or 'acttrace <command> --help' for details.`),
          2 as ExitCode
        )
      }
      if (e instanceof UsageError) return Effect.as(Console.error(`error: ${plainText(e.reason)}\n${e.usage}`), 2 as ExitCode)
      return Effect.as(Console.error(`error: ${describeFailure(e)}`), 2 as ExitCode)
    }),
    // a defect (a bug here or in a library, such as @effect/cli dying on an --out it cannot
    // access): one plain line and exit 2, never a silent exit or a stack trace
    Effect.catchAllDefect((d) => Effect.as(Console.error(`error: ${describeFailure(d)}`), 2 as ExitCode)),
    (run) => Effect.flatMap(Effect.console, (base) => Effect.withConsole(run, plainConsole(base, argv)))
  )
