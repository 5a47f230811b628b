/**
 * Proof files and consistency between packs (FORMAT B.2): what lets an auditor check a chosen
 * decision, or that a newer pack only added to an older one, with the producer's public key and
 * nothing else.
 *
 * - `prove` writes an `acttrace-proof/1` file: the chosen entries, each with its RFC 9162
 *   inclusion proof, and the signed checkpoint they are proven against (a pack's
 *   `_meta.checkpoint`; for a raw log, the latest checkpoint entry that covers them). Nothing of any
 *   other entry is in it: the siblings are Merkle node hashes, from which no entry can be read.
 * - `verifyProof` checks such a file alone: the checkpoint note under the trusted keys, each
 *   entry's hash recomputed from its fields (FORMAT A.2, canonical, every number's lexeme kept),
 *   leaf index = `seq`, and the inclusion proof against the checkpoint's root and size.
 * - `consistency` proves that NEW extends OLD (RFC 9162 consistency proof between their final
 *   checkpoints), or names the first entry where they part; its `acttrace-consistency/1` document
 *   is checked alone by `verifyConsistencyDocument`.
 * - `latestCheckpoint` reads the signed note to publish out of band; `firstDifference` compares
 *   two packs or logs entry by entry.
 *
 * The proof file, as the issue's design fixes it:
 * ```json
 * {"format":"acttrace-proof/1","checkpoint":"<signed note>","size":N,
 *  "entries":[{"entry":{"hash":…,"payload":…,"prev_hash":…,"seq":12,"sig":…,"ts":…,"type":…},
 *              "proof":["<base64 hash>", …]}]}
 * ```
 * Each entry is written in canonical JSON (FORMAT A.2): the same values as in the pack, the number
 * lexemes the hash covers, keys sorted; the pack-only `controls` are left out. A file is read with
 * the project's canonical parser (duplicate keys, invalid UTF-8, lone surrogates and non-finite
 * numbers are refused), then a Schema: a hostile file is a typed `ProofMalformed`, never a crash.
 *
 * Reading a pack costs one pass and 32 bytes of memory per entry (the entries' hashes, the leaves
 * of the tree), plus the chosen lines; every proof then comes from those digests in one pass over
 * the tree (`Merkle.inclusionProofs`).
 *
 * @since 0.1.0
 */
import { isUtf8 } from "node:buffer"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Canonical from "./Canonical.js"
import * as Hash from "./Hash.js"
import * as Merkle from "./Merkle.js"
import * as Verify from "./Verify.js"
import { LineError, LineReader } from "./internal/line.js"
import * as Note from "./internal/note.js"
import { ScanFailure } from "./internal/scanner.js"

/**
 * The `format` of a proof file.
 *
 * @since 0.1.0
 * @category constants
 */
export const FORMAT = "acttrace-proof/1"

/**
 * The `format` of a consistency document.
 *
 * @since 0.1.0
 * @category constants
 */
export const CONSISTENCY_FORMAT = "acttrace-consistency/1"

/**
 * The longest line read from a pack or log (as `Verify`'s default `maxLineBytes`): a longer one is
 * `PackUnreadable`, so a hostile file cannot make a reader hold unbounded memory.
 */
const MAX_LINE_BYTES = 64 * 1024 * 1024

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * A pack or log that cannot give what was asked of it: a line that is not an entry (or a `_meta`
 * header anywhere but first), entries that do not run from `seq` 0 one by one (a leaf's index in
 * the tree is its `seq`), a chosen entry whose fields do not hash to its `hash`. `source` names
 * the input (a path, or `OLD`/`NEW`), `line` is 1-based.
 *
 * @since 0.1.0
 * @category errors
 */
export class PackUnreadable extends Schema.TaggedError<PackUnreadable>()("PackUnreadable", {
  source: Schema.String,
  line: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source} line ${this.line}: ${this.reason}`
  }
}

/**
 * A pack or log with no signed checkpoint to prove anything against: no `_meta.checkpoint` and no
 * `checkpoint` entry (it was written without an Ed25519 key, or before this version).
 *
 * @since 0.1.0
 * @category errors
 */
export class NoCheckpoint extends Schema.TaggedError<NoCheckpoint>()("NoCheckpoint", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source}: ${this.reason}`
  }
}

/**
 * A checkpoint that does not describe the entries it stands beside: its root is not the root of
 * those entries' tree, its size or head is not theirs, or a checkpoint entry's payload says other
 * than its note. The pack was altered after it was signed (or the note belongs to another pack).
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointMismatch extends Schema.TaggedError<CheckpointMismatch>()("CheckpointMismatch", {
  source: Schema.String,
  size: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source}: its checkpoint (tree size ${this.size}) does not match its entries: ${this.reason}`
  }
}

/**
 * A checkpoint note that is tampered or unusable: a trusted key's signature does not verify over
 * it (its text was changed after signing), it is not a well-formed signed note, or its text is not
 * a checkpoint. Never used for a note that is merely signed by an unknown key (`NoteUntrusted`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NoteInvalid extends Schema.TaggedError<NoteInvalid>()("NoteInvalid", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.source}: the checkpoint note is invalid: ${this.reason}`
  }
}

/**
 * A well-formed checkpoint note that no trusted key signed: it may be genuine, but nobody the
 * caller trusts vouches for it. `signers` names the keys that did sign (`name+keyid`). Distinct
 * from tampering (`NoteInvalid`).
 *
 * @since 0.1.0
 * @category errors
 */
export class NoteUntrusted extends Schema.TaggedError<NoteUntrusted>()("NoteUntrusted", {
  source: Schema.String,
  signers: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return this.signers.length === 0
      ? `${this.source}: the checkpoint note carries no signature`
      : `${this.source}: the checkpoint is signed only by keys that are not trusted (${this.signers.join(", ")}); pass the producer's public key`
  }
}

/**
 * A trusted public key that cannot be used (not a C2SP verifier key text `name+hash+base64`), or
 * no trusted key at all where one is needed: `key` is its index in `publicKeys`. The very class of
 * `Verify.PublicKeyInvalid`, so that one tag means one thing across the library.
 *
 * @since 0.1.0
 * @category errors
 */
export const PublicKeyInvalid: typeof Verify.PublicKeyInvalid = Verify.PublicKeyInvalid

/**
 * @since 0.1.0
 * @category errors
 */
export type PublicKeyInvalid = Verify.PublicKeyInvalid

/**
 * A chosen `seq` that cannot be proven: not an entry of the pack, after the last checkpoint,
 * chosen twice, not a whole number; or no seq chosen at all (`seq` absent).
 *
 * @since 0.1.0
 * @category errors
 */
export class SeqNotProvable extends Schema.TaggedError<SeqNotProvable>()("SeqNotProvable", {
  seq: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    return this.seq === undefined ? this.reason : `seq ${this.seq}: ${this.reason}`
  }
}

/**
 * A proof file or consistency document that is not one: not JSON (or JSON the canonical parser
 * refuses: duplicate keys, invalid UTF-8), another format, a missing or mistyped member, a hash
 * that is not canonical base64 of 32 bytes, a size that differs from its checkpoint's.
 *
 * @since 0.1.0
 * @category errors
 */
export class ProofMalformed extends Schema.TaggedError<ProofMalformed>()("ProofMalformed", {
  reason: Schema.String
}) {
  override get message(): string {
    return `not a valid proof document: ${this.reason}`
  }
}

/**
 * An entry of a proof file that is not proven: its fields do not hash to its `hash` (it was
 * edited), or its inclusion proof does not lead from that hash, at leaf `seq`, to the signed
 * checkpoint's root (another entry, another position, another tree size, another pack, a sibling
 * changed, dropped or added). `position` is the entry's place in the file (1-based), `seq` the
 * seq it states.
 *
 * @since 0.1.0
 * @category errors
 */
export class EntryNotProven extends Schema.TaggedError<EntryNotProven>()("EntryNotProven", {
  position: Schema.Number,
  seq: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `entry ${this.position} of the proof (seq ${this.seq}) is not proven: ${this.reason}`
  }
}

/**
 * NEW does not extend OLD: the consistency proof from OLD's checkpoint (size, root) to NEW's does
 * not verify, or OLD is longer, or they are checkpoints of different logs. `firstDiffering` is the
 * first seq whose entry differs when both packs were compared (`null` when OLD is merely longer,
 * or when only a document with the two notes was checked: notes alone cannot pin it).
 *
 * @since 0.1.0
 * @category errors
 */
export class NotConsistent extends Schema.TaggedError<NotConsistent>()("NotConsistent", {
  oldSize: Schema.Number,
  newSize: Schema.Number,
  firstDiffering: Schema.NullOr(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    return `NEW (tree size ${this.newSize}) does not extend OLD (tree size ${this.oldSize}): ${this.reason}`
  }
}

/**
 * Every way `prove` can fail (besides the input stream's own errors).
 *
 * @since 0.1.0
 * @category errors
 */
export type ProveError = PackUnreadable | NoCheckpoint | CheckpointMismatch | NoteInvalid | NoteUntrusted | PublicKeyInvalid | SeqNotProvable

/**
 * Every way `verifyProof` can refuse a proof file.
 *
 * @since 0.1.0
 * @category errors
 */
export type VerifyProofError = ProofMalformed | NoteInvalid | NoteUntrusted | PublicKeyInvalid | EntryNotProven

/**
 * Every way `consistency` can fail (besides the input streams' own errors).
 *
 * @since 0.1.0
 * @category errors
 */
export type ConsistencyError = PackUnreadable | NoCheckpoint | CheckpointMismatch | NoteInvalid | NoteUntrusted | PublicKeyInvalid | NotConsistent

/**
 * Every way `verifyConsistencyDocument` can refuse a document.
 *
 * @since 0.1.0
 * @category errors
 */
export type VerifyConsistencyError = ProofMalformed | NoteInvalid | NoteUntrusted | PublicKeyInvalid | NotConsistent

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

/**
 * The bytes of a pack or log: a stream (a file's, read in chunks; it is run once per pass, and
 * `consistency`/`firstDifference` run each input once), or the whole text.
 *
 * @since 0.1.0
 * @category models
 */
export type Input<E = never, R = never> = Stream.Stream<Uint8Array, E, R> | Uint8Array | string

/**
 * A signed checkpoint as read from a pack or log, or from a proof or consistency document.
 *
 * @since 0.1.0
 * @category models
 */
export interface SignedCheckpoint {
  /** the whole signed note, as published */
  readonly note: string
  readonly origin: string
  /** tree size: the number of entries it covers (seq 0 to size - 1) */
  readonly size: number
  /** the tree head, standard base64 */
  readonly root: string
  /** the hex chain head (hash of entry size - 1), from the note's `head` line */
  readonly head: Option.Option<string>
  /** the seal digest of an export's note (`pack` line); never in an in-chain checkpoint */
  readonly pack: Option.Option<string>
  /** where it came from: a pack's `_meta.checkpoint`, a `checkpoint` entry, or a document */
  readonly source: "pack" | "entry" | "document"
  /** the seq of the checkpoint entry, when it is one */
  readonly seq: Option.Option<number>
  /** the trusted keys whose signatures verified (`name+keyid`); empty when no key was given */
  readonly signers: ReadonlyArray<string>
}

/**
 * What `prove` made: the proof file's text (UTF-8 JSON ending in a newline, ready to write), the
 * checkpoint it proves against, and for each chosen entry (by seq, ascending) its proof length.
 *
 * @since 0.1.0
 * @category models
 */
export interface Proved {
  readonly text: string
  readonly checkpoint: SignedCheckpoint
  readonly entries: ReadonlyArray<{ readonly seq: number; readonly proofLength: number }>
}

/**
 * One proven entry: every field the entry hash covers (so every field here is authenticated by
 * the signed checkpoint), and `text`, the canonical JSON of those fields and the hash. Not `sig`
 * (the per-entry HMAC, which the proof does not cover and a verifier without the secret cannot
 * check), nor any other member the file may hold.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProvenEntry {
  readonly seq: number
  readonly ts: string
  readonly type: string
  /** the payload with every number's lexeme kept (`Canonical.Num`) */
  readonly payload: { readonly [key: string]: Canonical.Json }
  readonly prevHash: string
  readonly hash: string
  readonly text: string
  readonly proofLength: number
}

/**
 * What `verifyProof` established: the checkpoint (origin, size, root, the trusted signers) and the
 * entries it proves, in the file's order.
 *
 * @since 0.1.0
 * @category models
 */
export interface Proven {
  readonly origin: string
  readonly size: number
  readonly root: string
  readonly signers: ReadonlyArray<string>
  readonly checkpoint: SignedCheckpoint
  readonly entries: ReadonlyArray<ProvenEntry>
}

/**
 * What `consistency` made: the document's text (`acttrace-consistency/1`), the two checkpoints and
 * the number of hashes in the proof.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConsistencyProved {
  readonly text: string
  readonly old: SignedCheckpoint
  readonly new: SignedCheckpoint
  readonly proofLength: number
}

/**
 * How two packs or logs compare, entry by entry (`firstDifference`):
 * - `Prefix`: every entry of OLD is the entry of NEW at the same seq (NEW may hold more);
 * - `Differs`: the first seq at which their `hash` fields differ;
 * - `OldLonger`: NEW holds only a prefix of OLD.
 *
 * @since 0.1.0
 * @category models
 */
export type Difference =
  | { readonly _tag: "Prefix"; readonly oldEntries: number; readonly newEntries: number }
  | { readonly _tag: "Differs"; readonly seq: number; readonly oldHash: string; readonly newHash: string }
  | { readonly _tag: "OldLonger"; readonly oldEntries: number; readonly newEntries: number }

// ---------------------------------------------------------------------------------------------
// Schemas of the documents (over what Canonical.parse reads: numbers are `Canonical.Num`)
// ---------------------------------------------------------------------------------------------

const Num = Schema.declare((u: unknown): u is Canonical.Num => u instanceof Canonical.Num, {
  identifier: "Num",
  description: "a JSON number"
})

/** A whole number from 0 to 2^53 - 1, written without fraction or exponent. */
const Count = Schema.transformOrFail(Num, Schema.Number, {
  strict: true,
  decode: (n, _, ast) => {
    const v = Number(n.lexeme)
    return n.isInteger && !n.lexeme.startsWith("-") && Number.isSafeInteger(v)
      ? ParseResult.succeed(v)
      : ParseResult.fail(new ParseResult.Type(ast, n, `expected a whole number from 0 to 2^53-1, got ${n.lexeme.slice(0, 40)}`))
  },
  encode: (v) => ParseResult.succeed(new Canonical.Num(String(v)))
})

/** A JSON object as Canonical.parse reads it (null prototype), kept as it is: no copy, no lexeme lost. */
const JsonObject = Schema.declare(
  (u: unknown): u is { readonly [key: string]: Canonical.Json } =>
    typeof u === "object" && u !== null && !Array.isArray(u) && !(u instanceof Canonical.Num),
  { identifier: "JsonObject", description: "a JSON object" }
)

const Hex64 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "expected 64 lowercase hex digits" }))

/** Standard base64 decoded strictly: only the canonical spelling of 32 bytes. */
const hashOfBase64 = (text: string): Uint8Array | undefined => {
  if (text.length !== 44 || !/^[A-Za-z0-9+/]{43}=$/.test(text)) return undefined
  const bytes = Buffer.from(text, "base64")
  return bytes.length === 32 && bytes.toString("base64") === text ? new Uint8Array(bytes) : undefined
}

const Base64Hash = Schema.String.pipe(
  Schema.filter((s) => hashOfBase64(s) !== undefined, { message: () => "expected a hash: canonical standard base64 of 32 bytes" })
)

/**
 * The schema of a proof file's JSON as `Canonical.parse` reads it (so that no number lexeme is
 * lost). Members other than these are ignored, as readers ignore unknown entry fields (FORMAT A.1).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ProofFile = Schema.Struct({
  format: Schema.Literal(FORMAT),
  checkpoint: Schema.String,
  size: Count,
  entries: Schema.NonEmptyArray(
    Schema.Struct({
      entry: Schema.Struct({
        seq: Count,
        ts: Schema.String,
        type: Schema.String,
        payload: JsonObject,
        prev_hash: Hex64,
        hash: Hex64,
        sig: Schema.optional(Schema.String)
      }),
      proof: Schema.Array(Base64Hash)
    })
  )
})

/**
 * The schema of a consistency document's JSON.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConsistencyFile = Schema.Struct({
  format: Schema.Literal(CONSISTENCY_FORMAT),
  old: Schema.String,
  new: Schema.String,
  proof: Schema.Array(Base64Hash)
})

/** A document's JSON read canonically, then its schema; any failure is `ProofMalformed`. */
const decodeDocument = <A, I>(
  schema: Schema.Schema<A, I>,
  document: string | Uint8Array
): Effect.Effect<A, ProofMalformed> =>
  Effect.suspend(() => {
    const json = Canonical.parse(document)
    if (Either.isLeft(json)) return Effect.fail(new ProofMalformed({ reason: `not JSON the canonical reader accepts: ${json.left.message}` }))
    const decoded = Schema.decodeUnknownEither(schema)(json.right, { errors: "first" })
    if (Either.isLeft(decoded)) {
      let reason = "it does not match the format"
      try {
        const [issue] = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
        const at = issue === undefined || issue.path.length === 0 ? "" : `at ${issue.path.map(String).join(".")}: `
        reason = `${at}${issue?.message ?? reason}`
      } catch {
        // the message quotes the value it refuses, and printing a value nested a million deep
        // overflows the stack: the plain reason stands
      }
      return Effect.fail(new ProofMalformed({ reason }))
    }
    return Effect.succeed(decoded.right)
  })

// ---------------------------------------------------------------------------------------------
// Keys and notes
// ---------------------------------------------------------------------------------------------

const verifiersOf = (publicKeys: ReadonlyArray<string>): Effect.Effect<Array<Note.Verifier>, PublicKeyInvalid> =>
  Effect.forEach(publicKeys, (key, i) =>
    // a key file's text, as Verify takes it: exactly one trailing `\n` or `\r\n` is not the key's
    Note.parseVerifierKey(key.endsWith("\r\n") ? key.slice(0, -2) : key.endsWith("\n") ? key.slice(0, -1) : key).pipe(Effect.mapError((e) => new PublicKeyInvalid({ key: i, reason: e.reason }))))

/** Two trusted keys with the same name and key hash (a signature by either cannot be told apart): the second. */
const ambiguousKey = (verifiers: ReadonlyArray<Note.Verifier>): number => {
  for (let i = 1; i < verifiers.length; i++) {
    for (let j = 0; j < i; j++) if (verifiers[j]!.name === verifiers[i]!.name && verifiers[j]!.keyId === verifiers[i]!.keyId) return i
  }
  return 0
}

const requireKeys = (publicKeys: ReadonlyArray<string> | undefined): Effect.Effect<Array<Note.Verifier>, PublicKeyInvalid> =>
  publicKeys === undefined || publicKeys.length === 0
    ? Effect.fail(new PublicKeyInvalid({ key: 0, reason: "no trusted public key given: a checkpoint proves nothing unless it is checked under the producer's key" }))
    : verifiersOf(publicKeys)

const HEAD_LINE = /^head ([0-9a-f]{64})$/
const PACK_LINE = /^pack ([0-9a-f]{64})$/

/**
 * Opens a note (under `verifiers`, or only for its form when there are none) and reads its
 * checkpoint body.
 */
const readNote = (
  note: string,
  verifiers: ReadonlyArray<Note.Verifier> | undefined,
  source: string,
  from: { readonly source: SignedCheckpoint["source"]; readonly seq: Option.Option<number> }
): Effect.Effect<SignedCheckpoint & { readonly rootBytes: Uint8Array }, NoteInvalid | NoteUntrusted | PublicKeyInvalid> =>
  Effect.gen(function*() {
    const invalid = (reason: string) => new NoteInvalid({ source, reason })
    let text: string
    let signers: ReadonlyArray<string> = []
    if (verifiers === undefined) {
      // No key: the note's form is still checked (open with no trusted key fails as
      // "unverified" exactly when the note is well formed), its signatures are not.
      const opened = yield* Effect.either(Note.open(note, []))
      if (Either.isLeft(opened) && opened.left._tag !== "NoteUnverified") return yield* invalid(opened.left.message)
      text = note.slice(0, note.lastIndexOf("\n\n") + 1)
    } else {
      const opened = yield* Note.open(note, verifiers).pipe(
        Effect.mapError((e) => {
          switch (e._tag) {
            case "NoteUnverified":
              return new NoteUntrusted({ source, signers: e.signers })
            case "NoteKeyInvalid":
              return new PublicKeyInvalid({ key: ambiguousKey(verifiers), reason: e.reason })
            default:
              return invalid(e.message)
          }
        })
      )
      text = opened.text
      signers = opened.verified.map((r) => `${r.name}+${r.keyId}`)
    }
    const body = yield* Note.parseCheckpoint(text).pipe(Effect.mapError((e) => invalid(`its text is not a checkpoint: ${e.reason}`)))
    let head: Option.Option<string> = Option.none()
    let pack: Option.Option<string> = Option.none()
    for (const ext of body.extensions) {
      if (ext.startsWith("head ")) {
        const m = HEAD_LINE.exec(ext)
        if (m === null || Option.isSome(head)) return yield* invalid("its head line is not one `head <64 hex digits>`")
        head = Option.some(m[1]!)
      } else if (ext.startsWith("pack ")) {
        const m = PACK_LINE.exec(ext)
        if (m === null || Option.isSome(pack)) return yield* invalid("its pack line is not one `pack <64 hex digits>`")
        pack = Option.some(m[1]!)
      }
    }
    return {
      note,
      origin: body.origin,
      size: body.size,
      root: Buffer.from(body.root).toString("base64"),
      rootBytes: body.root,
      head,
      pack,
      source: from.source,
      seq: from.seq,
      signers
    }
  })

const publicCheckpoint = (c: SignedCheckpoint): SignedCheckpoint => ({
  note: c.note,
  origin: c.origin,
  size: c.size,
  root: c.root,
  head: c.head,
  pack: c.pack,
  source: c.source,
  seq: c.seq,
  signers: c.signers
})

// ---------------------------------------------------------------------------------------------
// Reading a pack or log: one pass, 32 bytes per entry
// ---------------------------------------------------------------------------------------------

const toStream = <E, R>(input: Input<E, R>): Stream.Stream<Uint8Array, E, R> =>
  typeof input === "string" ? Stream.succeed(Buffer.from(input, "utf8")) : input instanceof Uint8Array ? Stream.succeed(input) : input

/** A checkpoint entry met on the way: where, and its payload as read. */
interface CheckpointEntry {
  readonly seq: number
  readonly line: number
  readonly payload: { readonly [key: string]: Canonical.Json }
}

/** What one pass over a pack or log keeps. */
interface Scanned {
  readonly source: string
  /** `_meta` of a pack, read canonically */
  readonly meta: { readonly [key: string]: Canonical.Json } | undefined
  readonly count: number
  /** the entries' hashes, 32 bytes each, seq order (may be longer than count * 32) */
  readonly digests: Uint8Array
  /** the chosen entries: seq → line number and line bytes */
  readonly chosen: ReadonlyMap<number, { readonly line: number; readonly bytes: Uint8Array }>
  readonly checkpoints: ReadonlyArray<CheckpointEntry>
}

const hexOf = (digests: Uint8Array, i: number): string => Buffer.from(digests.buffer, digests.byteOffset + i * 32, 32).toString("hex")

const reasonOf = (e: unknown): string => {
  if (e instanceof LineError) return e.reason
  if (e instanceof ScanFailure) return `${e.reason} at byte ${e.position}`
  throw e
}

/** A private signal that ends a pass early (caught where it is raised). */
class Stop {
  readonly _tag = "Stop"
}

/**
 * Runs `onLine` on every non-blank line of the input (a `\r` before the newline and a BOM at the
 * start dropped), with its 1-based line number. `onLine` returns an error to end the pass with, or
 * a `Stop` to end it early.
 */
const forEachLine = <E, R>(
  input: Input<E, R>,
  source: string,
  onLine: (bytes: Buffer, line: number) => PackUnreadable | Stop | undefined
): Effect.Effect<void, E | PackUnreadable, R> =>
  Effect.suspend(() => {
    let pieces: Array<Buffer> = []
    let pending = 0
    let line = 0
    const handle = (bytes: Buffer): PackUnreadable | Stop | undefined => {
      line++
      let end = bytes.length
      if (end > 0 && bytes[end - 1] === 0x0d) end--
      let start = 0
      if (line === 1 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3
      let blank = true
      for (let k = start; k < end; k++) {
        const c = bytes[k]
        if (c !== 0x20 && c !== 0x09 && c !== 0x0d) {
          blank = false
          break
        }
      }
      return blank ? undefined : onLine(bytes.subarray(start, end), line)
    }
    const tooLong = () => new PackUnreadable({ source, line: line + 1, reason: `a line longer than ${MAX_LINE_BYTES} bytes` })
    const feed = (chunk: Uint8Array): PackUnreadable | Stop | undefined => {
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      let from = 0
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, from)) {
        let bytes = buf.subarray(from, nl)
        if (pieces.length > 0) {
          pieces.push(bytes)
          bytes = Buffer.concat(pieces)
          pieces = []
          pending = 0
        }
        if (bytes.length > MAX_LINE_BYTES) return tooLong()
        const r = handle(bytes)
        if (r !== undefined) return r
        from = nl + 1
      }
      if (from < buf.length) {
        // (copied: the stream may reuse its buffer for the next chunk)
        pieces.push(Buffer.from(buf.subarray(from)))
        pending += buf.length - from
        if (pending > MAX_LINE_BYTES) return tooLong()
      }
      return undefined
    }
    const outcome = (r: PackUnreadable | Stop | undefined): Effect.Effect<void, PackUnreadable | Stop> =>
      r === undefined ? Effect.void : Effect.fail(r)
    return toStream(input).pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.suspend(() => {
          for (const c of chunk) {
            const r = feed(c)
            if (r !== undefined) return outcome(r)
          }
          return Effect.void
        })
      ),
      Effect.zipRight(Effect.suspend(() => outcome(pieces.length > 0 ? handle(Buffer.concat(pieces)) : undefined))),
      Effect.catchIf((e): e is Stop => e instanceof Stop, () => Effect.void)
    ) as Effect.Effect<void, E | PackUnreadable, R>
  })

// The fields a pass needs of each line are its `seq` and `hash`: the skim below reads just those
// at the top level, skipping every other value without decoding or canonicalizing it (about a
// fifth of the time of the verifier's reader, which rebuilds the canonical body). It reads only
// the plain shape (no escape in a key, `seq` in plain digits, `hash` as 64 lowercase hex
// digits, each once, no `_meta`); on anything else it gives up, and the verifier's reader reads
// the line and says what is wrong with it. It does not check the rest of the line: a pass does not
// verify entries (it is the checkpoint's root, recomputed from these hashes, that vouches for them).

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d

/** The end of the string whose quote is at `i`, or -1. */
const skipString = (b: Uint8Array, i: number, n: number): number => {
  for (let j = i + 1; j < n; j++) {
    const c = b[j]
    if (c === 0x5c) j++
    else if (c === 0x22) return j + 1
  }
  return -1
}

/** The end of the JSON value at `i` (not checked, only delimited), or -1. */
const skipValue = (b: Uint8Array, i: number, n: number): number => {
  const c = b[i]
  if (c === 0x22) return skipString(b, i, n)
  if (c === 0x7b || c === 0x5b) {
    let depth = 0
    for (let j = i; j < n; j++) {
      const d = b[j]
      if (d === 0x22) {
        const e = skipString(b, j, n)
        if (e < 0) return -1
        j = e - 1
      } else if (d === 0x7b || d === 0x5b) depth++
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return j + 1
      }
    }
    return -1
  }
  let j = i
  while (j < n && b[j] !== 0x2c && b[j] !== 0x7d && b[j] !== 0x5d && !isSpace(b[j])) j++
  return j === i ? -1 : j
}

const isKey = (b: Uint8Array, at: number, length: number, word: string): boolean => {
  if (length !== word.length) return false
  for (let k = 0; k < length; k++) if (b[at + k] !== word.charCodeAt(k)) return false
  return true
}

/** Reads `seq` and where `hash`'s 64 hex digits are, from a line of the plain shape; false otherwise. */
class Skim {
  seq = 0
  hashAt = 0

  read(b: Uint8Array): boolean {
    const n = b.length
    let i = 0
    while (isSpace(b[i])) i++
    if (b[i] !== 0x7b) return false
    i++
    while (isSpace(b[i])) i++
    let seen = 0
    for (;;) {
      if (b[i] !== 0x22) return false
      const ks = i + 1
      let k = ks
      while (k < n && b[k] !== 0x22) {
        if (b[k] === 0x5c) return false
        k++
      }
      if (k >= n) return false
      i = k + 1
      while (isSpace(b[i])) i++
      if (b[i] !== 0x3a) return false
      i++
      while (isSpace(b[i])) i++
      if (isKey(b, ks, k - ks, "seq")) {
        if (seen & 1) return false
        seen |= 1
        let j = i
        let v = 0
        if (b[j] === 0x30) j++
        else while (j < n && b[j]! >= 0x30 && b[j]! <= 0x39 && j - i < 15) v = v * 10 + (b[j++]! - 0x30)
        const c = b[j]
        if (j === i || !(c === 0x2c || c === 0x7d || isSpace(c))) return false
        this.seq = v
        i = j
      } else if (isKey(b, ks, k - ks, "hash")) {
        if (seen & 2) return false
        seen |= 2
        if (b[i] !== 0x22 || i + 65 >= n || b[i + 65] !== 0x22) return false
        for (let q = i + 1; q <= i + 64; q++) {
          const c = b[q]!
          if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false
        }
        this.hashAt = i + 1
        i += 66
      } else if (isKey(b, ks, k - ks, "_meta")) return false
      else {
        i = skipValue(b, i, n)
        if (i < 0) return false
      }
      while (isSpace(b[i])) i++
      if (b[i] === 0x2c) {
        i++
        while (isSpace(b[i])) i++
        continue
      }
      if (b[i] !== 0x7d) return false
      i++
      break
    }
    while (isSpace(b[i])) i++
    return i === n && seen === 3
  }
}

/** An entry line's `seq` and `hash`, a header line, or why the line is neither. */
type LineRead = { readonly meta: false; readonly seq: number; readonly hash: string } | { readonly meta: true } | string

const readLine = (bytes: Buffer, skim: Skim, reader: LineReader): LineRead => {
  if (skim.read(bytes)) return { meta: false, seq: skim.seq, hash: bytes.toString("latin1", skim.hashAt, skim.hashAt + 64) }
  if (!isUtf8(bytes)) return "not UTF-8 text"
  try {
    reader.parse(bytes, 0, bytes.length)
  } catch (e) {
    return `not an entry: ${reasonOf(e)}`
  }
  if (reader.isMeta) return { meta: true }
  const hash = reader.hash.value
  if (!/^[0-9a-f]{64}$/.test(hash)) return `seq ${reader.seq}: hash is not 64 lowercase hex digits`
  return { meta: false, seq: reader.seq, hash }
}

/** Reads a line canonically into a JSON object, or says why it cannot be. */
const jsonObjectOf = (bytes: Uint8Array): { readonly [key: string]: Canonical.Json } | string => {
  const parsed = Canonical.parse(bytes)
  if (Either.isLeft(parsed)) return parsed.left.message
  const v = parsed.right
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Canonical.Num)
    ? (v as { readonly [key: string]: Canonical.Json })
    : "not a JSON object"
}

const CHECKPOINT_WORD = Buffer.from("checkpoint")
const ESCAPE = Buffer.from("\\u")

/**
 * One pass over a pack or log: the `_meta` header, every entry's hash (entries must run from seq
 * 0, one by one: leaf index = seq), the chosen entries' lines, and the checkpoint entries.
 */
const scan = <E, R>(
  input: Input<E, R>,
  source: string,
  want: ReadonlySet<number>
): Effect.Effect<Scanned, E | PackUnreadable, R> =>
  Effect.suspend(() => {
    const reader = new LineReader()
    const skim = new Skim()
    let meta: { readonly [key: string]: Canonical.Json } | undefined
    let digests = Buffer.alloc(32 * 1024)
    let count = 0
    let first = true
    const chosen = new Map<number, { readonly line: number; readonly bytes: Uint8Array }>()
    const checkpoints: Array<CheckpointEntry> = []
    const onLine = (bytes: Buffer, line: number): PackUnreadable | undefined => {
      const fail = (reason: string) => new PackUnreadable({ source, line, reason })
      const isFirst = first
      first = false
      const read = readLine(bytes, skim, reader)
      if (typeof read === "string") return fail(read)
      if (read.meta) {
        if (!isFirst) return fail("a `_meta` header after the first line")
        const m = jsonObjectOf(Buffer.from(reader.metaText(), "utf8"))
        if (typeof m === "string") return fail(`the \`_meta\` header is not an object: ${m}`)
        meta = m
        return undefined
      }
      const seq = read.seq
      if (seq !== count) {
        return fail(
          count === 0
            ? `the first entry has seq ${seq}: a proof needs every entry from seq 0 (an entry's leaf index in the tree is its seq)`
            : `seq ${seq} where seq ${count} was expected: a proof needs the entries in order, none missing (leaf index = seq)`
        )
      }
      if ((count + 1) * 32 > digests.length) {
        const grown = Buffer.alloc(digests.length * 2)
        digests.copy(grown)
        digests = grown
      }
      digests.write(read.hash, count * 32, 32, "hex")
      count++
      if (want.has(seq)) chosen.set(seq, { line, bytes: Buffer.from(bytes) })
      // Checkpoint entries are rare: only a line that names the word (or hides it in an escape)
      // is read whole to learn its type.
      if (bytes.indexOf(CHECKPOINT_WORD) >= 0 || bytes.indexOf(ESCAPE) >= 0) {
        const entry = jsonObjectOf(bytes)
        if (typeof entry === "string") return fail(entry)
        if (entry["type"] === "checkpoint") {
          const payload = entry["payload"]
          if (typeof payload !== "object" || payload === null || Array.isArray(payload) || payload instanceof Canonical.Num) {
            return fail(`the checkpoint entry at seq ${seq} has no payload object`)
          }
          checkpoints.push({ seq, line, payload: payload as { readonly [key: string]: Canonical.Json } })
        }
      }
      return undefined
    }
    return Effect.map(forEachLine(input, source, onLine), (): Scanned => ({ source, meta, count, digests, chosen, checkpoints }))
  })

/** Where a checkpoint was found, and its note, before the note is read. */
interface Found {
  readonly note: string
  readonly from: { readonly source: "pack" | "entry"; readonly seq: Option.Option<number> }
  readonly entry: CheckpointEntry | undefined
}

/**
 * The checkpoint to use: the pack's `_meta.checkpoint`; else the last checkpoint entry whose size
 * covers `cover` entries (all of them when `cover` is 0).
 */
const findCheckpoint = (
  scanned: Scanned,
  cover: number
): Either.Either<Found, NoCheckpoint | PackUnreadable | { readonly notCovering: CheckpointEntry }> => {
  const metaNote = scanned.meta?.["checkpoint"]
  if (metaNote !== undefined) {
    if (typeof metaNote !== "string") return Either.left(new PackUnreadable({ source: scanned.source, line: 1, reason: "`_meta.checkpoint` is not a string" }))
    return Either.right({ note: metaNote, from: { source: "pack", seq: Option.none() }, entry: undefined })
  }
  let last: CheckpointEntry | undefined
  for (let i = scanned.checkpoints.length - 1; i >= 0; i--) {
    const c = scanned.checkpoints[i]!
    last ??= c
    const size = c.payload["size"]
    const note = c.payload["note"]
    // (a checkpoint entry that is not one is an error, never silently passed over for an older one)
    if (!(size instanceof Canonical.Num) || !size.isInteger || typeof note !== "string") {
      return Either.left(new PackUnreadable({ source: scanned.source, line: c.line, reason: `the checkpoint entry at seq ${c.seq} has no whole-number size and note` }))
    }
    if (size.toNumber() >= cover) return Either.right({ note, from: { source: "entry", seq: Option.some(c.seq) }, entry: c })
  }
  if (last !== undefined) return Either.left({ notCovering: last })
  return Either.left(
    new NoCheckpoint({
      source: scanned.source,
      reason: `no signed checkpoint: no \`_meta.checkpoint\` and none of its ${scanned.count} entries is a checkpoint (it was written without an Ed25519 signing key)`
    })
  )
}

/**
 * Checks that a checkpoint describes the scanned entries (size, head, and for a checkpoint entry
 * its payload), given the root computed over its first `size` entries.
 */
const checkAgainstEntries = (
  scanned: Scanned,
  checkpoint: SignedCheckpoint & { readonly rootBytes: Uint8Array },
  found: Found,
  computedRoot: Uint8Array | undefined
): Effect.Effect<void, CheckpointMismatch> => {
  const mismatch = (reason: string) => Effect.fail(new CheckpointMismatch({ source: scanned.source, size: checkpoint.size, reason }))
  const size = checkpoint.size
  if (found.entry === undefined) {
    if (size !== scanned.count) return mismatch(`its \`_meta.checkpoint\` covers ${size} entries, the pack holds ${scanned.count}`)
  } else {
    if (size > found.entry.seq) return mismatch(`the checkpoint entry at seq ${found.entry.seq} claims ${size} entries before it`)
    const p = found.entry.payload
    const pSize = p["size"]
    if (!(pSize instanceof Canonical.Num) || pSize.lexeme !== String(size) || p["root"] !== checkpoint.root || (Option.isSome(checkpoint.head) && p["head"] !== checkpoint.head.value)) {
      return mismatch(`the payload of the checkpoint entry at seq ${found.entry.seq} says other than its note (size, root, head)`)
    }
  }
  if (Option.isSome(checkpoint.head) && size > 0 && hexOf(scanned.digests, size - 1) !== checkpoint.head.value) {
    return mismatch(`its head ${checkpoint.head.value} is not the hash of entry ${size - 1}`)
  }
  const root = computedRoot ?? Merkle.rootOfDigests(scanned.digests, size)
  if (Buffer.compare(root, checkpoint.rootBytes) !== 0) {
    return mismatch(`its root ${checkpoint.root} is not the root of the entries' tree (${Buffer.from(root).toString("base64")})`)
  }
  return Effect.void
}

// ---------------------------------------------------------------------------------------------
// latestCheckpoint
// ---------------------------------------------------------------------------------------------

/**
 * The options of the functions that read a pack or log.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** names the input in errors (a path); default `the pack` */
  readonly source?: string | undefined
  /**
   * Trusted verifier key texts (`name+hash+base64`). When given, the checkpoint must be signed by
   * one of them (`NoteUntrusted`, `NoteInvalid` otherwise); when absent, only its form is checked.
   */
  readonly publicKeys?: ReadonlyArray<string> | undefined
}

/**
 * The latest signed checkpoint of a pack or log, to publish out of band: a pack's
 * `_meta.checkpoint`, else the note of its last `checkpoint` entry. It is checked against the
 * entries before it is returned (root, size and head: `CheckpointMismatch`), so a note that does
 * not describe its pack is never published; with `publicKeys`, also its signature.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const latestCheckpoint = <E = never, R = never>(
  input: Input<E, R>,
  options?: ReadOptions | undefined
): Effect.Effect<SignedCheckpoint, E | PackUnreadable | NoCheckpoint | CheckpointMismatch | NoteInvalid | NoteUntrusted | PublicKeyInvalid, R> =>
  Effect.gen(function*() {
    const source = options?.source ?? "the pack"
    const verifiers = options?.publicKeys === undefined ? undefined : yield* requireKeys(options.publicKeys)
    const { checkpoint } = yield* finalCheckpoint(input, source, verifiers, options?.publicKeys ?? [])
    return publicCheckpoint(checkpoint)
  })

// ---------------------------------------------------------------------------------------------
// prove
// ---------------------------------------------------------------------------------------------

/**
 * The options of `prove`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ProveOptions extends ReadOptions {
  /** the seqs of the entries to prove (any order; each once) */
  readonly seqs: ReadonlyArray<number>
}

/** A chosen entry read canonically, `controls` left out, its hash recomputed and checked. */
const entryText = (scanned: Scanned, seq: number): Either.Either<string, PackUnreadable> => {
  const at = scanned.chosen.get(seq)!
  const fail = (reason: string) => Either.left(new PackUnreadable({ source: scanned.source, line: at.line, reason: `seq ${seq}: ${reason}` }))
  const parsed = jsonObjectOf(at.bytes)
  if (typeof parsed === "string") return fail(parsed)
  const entry: Record<string, Canonical.Json> = Object.create(null)
  for (const key of Object.keys(parsed)) if (key !== "controls") entry[key] = parsed[key]!
  const { payload, prev_hash: prev, ts, type } = entry
  if (typeof ts !== "string" || typeof type !== "string" || typeof prev !== "string" || typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return fail("the entry's fields are not those of an entry")
  }
  const recomputed = Hash.entryHash(prev, { seq, ts, type, payload })
  if (Either.isLeft(recomputed)) return fail(recomputed.left.message)
  if (recomputed.right !== hexOf(scanned.digests, seq)) {
    return fail("its fields do not hash to its `hash` (the entry was changed after it was written); run `verify` on the pack")
  }
  return Either.mapLeft(Canonical.encode(entry), (e) => new PackUnreadable({ source: scanned.source, line: at.line, reason: e.message }))
}

/**
 * Makes the proof file of the entries `seqs` of a pack or log (see the module's description): it
 * reads the input once, keeping 32 bytes per entry, finds the checkpoint (the pack's
 * `_meta.checkpoint`, or for a raw log the latest checkpoint entry whose size covers every chosen
 * seq), and before anything is returned checks that the checkpoint describes the entries (its root
 * is their tree's: `CheckpointMismatch`), that each chosen entry's fields hash to its `hash`, and,
 * with `publicKeys`, that a trusted key signed the checkpoint. It does not verify the rest of the
 * pack (its chain, signatures and header): `Verify` does that.
 *
 * @since 0.1.0
 * @category proofs
 */
export const prove = <E = never, R = never>(input: Input<E, R>, options: ProveOptions): Effect.Effect<Proved, E | ProveError, R> =>
  Effect.gen(function*() {
    const source = options.source ?? "the pack"
    const seqs = [...options.seqs]
    if (seqs.length === 0) return yield* new SeqNotProvable({ reason: "no entry chosen: give at least one seq" })
    const seen = new Set<number>()
    for (const seq of seqs) {
      if (!Number.isSafeInteger(seq) || seq < 0) return yield* new SeqNotProvable({ seq, reason: "a seq is a whole number from 0" })
      if (seen.has(seq)) return yield* new SeqNotProvable({ seq, reason: "chosen more than once" })
      seen.add(seq)
    }
    const verifiers = options.publicKeys === undefined ? undefined : yield* requireKeys(options.publicKeys)
    const scanned = yield* scan(input, source, seen)
    for (const seq of seqs) {
      if (seq >= scanned.count) {
        return yield* new SeqNotProvable({
          seq,
          reason: scanned.count === 0 ? `${source} holds no entry` : `${source} holds entries 0 to ${scanned.count - 1}`
        })
      }
    }
    const highest = Math.max(...seqs)
    const found = findCheckpoint(scanned, highest + 1)
    if (Either.isLeft(found)) {
      const e = found.left
      if ("notCovering" in e) {
        const size = e.notCovering.payload["size"]
        return yield* new SeqNotProvable({
          seq: highest,
          reason: `it is after the last checkpoint (seq ${e.notCovering.seq}, covering ${size instanceof Canonical.Num ? size.lexeme : "?"} entries): not yet covered by a signed checkpoint`
        })
      }
      return yield* Effect.fail(e)
    }
    const checkpoint = yield* trustedNote(input, source, found.right, verifiers, options.publicKeys ?? [])
    if (checkpoint.size > scanned.count) {
      return yield* new CheckpointMismatch({ source, size: checkpoint.size, reason: `it covers ${checkpoint.size} entries, ${source} holds ${scanned.count}` })
    }
    if (highest >= checkpoint.size) {
      return yield* new SeqNotProvable({ seq: highest, reason: `the checkpoint covers entries 0 to ${checkpoint.size - 1}` })
    }
    const sorted = [...seqs].sort((a, b) => a - b)
    const { proofs, root } = Merkle.inclusionProofs(scanned.digests, checkpoint.size, sorted)
    yield* checkAgainstEntries(scanned, checkpoint, found.right, root)
    const rows: Array<string> = []
    for (const [i, seq] of sorted.entries()) {
      const text = entryText(scanned, seq)
      if (Either.isLeft(text)) return yield* Effect.fail(text.left)
      const proof = proofs[i]!.map((h) => JSON.stringify(Buffer.from(h).toString("base64"))).join(",")
      rows.push(`{"entry":${text.right},"proof":[${proof}]}`)
    }
    const text = `{"format":${JSON.stringify(FORMAT)},\n"checkpoint":${JSON.stringify(checkpoint.note)},\n"size":${checkpoint.size},\n"entries":[\n${rows.join(",\n")}\n]}\n`
    return {
      text,
      checkpoint: publicCheckpoint(checkpoint),
      entries: sorted.map((seq, i) => ({ seq, proofLength: proofs[i]!.length }))
    }
  })

// ---------------------------------------------------------------------------------------------
// verifyProof
// ---------------------------------------------------------------------------------------------

/**
 * The options of the functions that check a document.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckOptions {
  /** trusted verifier key texts (`name+hash+base64`); at least one */
  readonly publicKeys: ReadonlyArray<string>
  /**
   * The origin (the system's log) the checkpoint (for consistency: both) must name. One key may sign the logs of several
   * systems: without it, an entry of another system's log proves under that log's origin (which
   * the result names), and a caller who did not compare it would take it for one of this system's.
   */
  readonly origin?: string | undefined
}

/**
 * Checks a proof file alone (its text or bytes, as written: never a `JSON.parse`d object, which
 * would lose number lexemes): the checkpoint note must be signed by a trusted key (`NoteUntrusted`
 * when only other keys signed it, `NoteInvalid` when it was altered), its text a checkpoint whose
 * size is the file's `size`; then each entry's hash is recomputed from its fields (FORMAT A.2,
 * canonical, lexemes kept), and its inclusion proof must lead from that hash, as leaf `seq`, to the
 * checkpoint's root (`EntryNotProven`, naming the entry). Returns the proven entries.
 *
 * @since 0.1.0
 * @category proofs
 */
export const verifyProof = (document: string | Uint8Array, options: CheckOptions): Effect.Effect<Proven, VerifyProofError> =>
  Effect.gen(function*() {
    const verifiers = yield* requireKeys(options.publicKeys)
    const file = yield* decodeDocument(ProofFile, document)
    const checkpoint = yield* readNote(file.checkpoint, verifiers, "the proof's checkpoint", { source: "document", seq: Option.none() })
    if (options.origin !== undefined && checkpoint.origin !== options.origin) {
      return yield* new NoteInvalid({
        source: "the proof's checkpoint",
        reason: `it is of the log ${JSON.stringify(checkpoint.origin)}, not of ${JSON.stringify(options.origin)}: the entries are another log's`
      })
    }
    if (file.size !== checkpoint.size) {
      return yield* new ProofMalformed({ reason: `its size ${file.size} is not its checkpoint's tree size ${checkpoint.size}` })
    }
    const seen = new Set<number>()
    for (const { entry } of file.entries) {
      if (seen.has(entry.seq)) return yield* new ProofMalformed({ reason: `seq ${entry.seq} is listed more than once` })
      seen.add(entry.seq)
    }
    const entries: Array<ProvenEntry> = []
    for (const [i, { entry, proof }] of file.entries.entries()) {
      const fail = (reason: string) => new EntryNotProven({ position: i + 1, seq: entry.seq, reason })
      if (entry.seq >= checkpoint.size) return yield* fail(`the checkpoint covers entries 0 to ${checkpoint.size - 1}`)
      const hashable = { seq: entry.seq, ts: entry.ts, type: entry.type, payload: entry.payload }
      const body = Hash.body(hashable)
      if (Either.isLeft(body)) return yield* fail(`its fields have no canonical form: ${body.left.message}`)
      if (Hash.chainHash(entry.prev_hash, body.right) !== entry.hash) {
        return yield* fail("its fields do not hash to its `hash`: the entry was changed")
      }
      if (Option.isSome(checkpoint.head) && entry.seq === checkpoint.size - 1 && entry.hash !== checkpoint.head.value) {
        return yield* fail("it is the last entry the checkpoint covers, but its hash is not the checkpoint's head")
      }
      const siblings = proof.map((p) => hashOfBase64(p)!)
      const leaf = Merkle.leafHash(Buffer.from(entry.hash, "hex"))
      if (!Merkle.verifyInclusion(leaf, entry.seq, checkpoint.size, siblings, checkpoint.rootBytes)) {
        const expected = Merkle.inclusionProofLength(entry.seq, checkpoint.size)
        return yield* fail(
          `its inclusion proof does not lead to the checkpoint's root as leaf ${entry.seq} of ${checkpoint.size}` +
            (siblings.length === expected ? "" : ` (it holds ${siblings.length} hashes, such a proof ${expected})`)
        )
      }
      // exactly the fields the hash covers (and the hash): members the proof does not vouch for
      // (`sig`, unknown ones) are not reported as proven
      const text = { hash: entry.hash, payload: entry.payload, prev_hash: entry.prev_hash, seq: entry.seq, ts: entry.ts, type: entry.type }
      entries.push({
        seq: entry.seq,
        ts: entry.ts,
        type: entry.type,
        payload: entry.payload,
        prevHash: entry.prev_hash,
        hash: entry.hash,
        text: Either.getOrElse(Canonical.encode(text), () => ""),
        proofLength: siblings.length
      })
    }
    const signed = publicCheckpoint(checkpoint)
    return { origin: signed.origin, size: signed.size, root: signed.root, signers: signed.signers, checkpoint: signed, entries }
  })

// ---------------------------------------------------------------------------------------------
// consistency
// ---------------------------------------------------------------------------------------------

/**
 * The options of `consistency`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConsistencyOptions extends CheckOptions {
  /** names OLD in errors (a path); default `OLD` */
  readonly oldSource?: string | undefined
  /** names NEW in errors (a path); default `NEW` */
  readonly newSource?: string | undefined
}

/** The first index below `n` where two digest runs differ, if any. */
const firstDiffering = (a: Uint8Array, b: Uint8Array, n: number): number | undefined => {
  for (let i = 0; i < n; i++) {
    if (Buffer.compare(Buffer.from(a.buffer, a.byteOffset + i * 32, 32), Buffer.from(b.buffer, b.byteOffset + i * 32, 32)) !== 0) return i
  }
  return undefined
}

/**
 * A checkpoint's note read under the trusted keys (none: its signature is not checked); a note
 * under a key the log rotated to is trusted through the rotation, as Verify has it.
 */
const trustedNote = <E, R>(
  input: Input<E, R>,
  source: string,
  found: { readonly note: string; readonly from: { readonly source: SignedCheckpoint["source"]; readonly seq: Option.Option<number> } },
  verifiers: ReadonlyArray<Note.Verifier> | undefined,
  publicKeys: ReadonlyArray<string>
) =>
  readNote(found.note, verifiers, source, found.from).pipe(
    Effect.catchTag("NoteUntrusted", (untrusted) => throughRotation(input, source, found, publicKeys, untrusted))
  )

/** Reads a pack's final checkpoint under the trusted keys (if any) and checks it against its entries. */
const finalCheckpoint = <E, R>(input: Input<E, R>, source: string, verifiers: ReadonlyArray<Note.Verifier> | undefined, publicKeys: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const scanned = yield* scan(input, source, new Set())
    const found = findCheckpoint(scanned, 0)
    if (Either.isLeft(found)) {
      const e = found.left
      return yield* ("notCovering" in e ? Effect.die(new Error("unreachable: every checkpoint covers 0 entries")) : Effect.fail(e))
    }
    const checkpoint = yield* trustedNote(input, source, found.right, verifiers, publicKeys)
    yield* checkAgainstEntries(scanned, checkpoint, found.right, undefined)
    return { scanned, checkpoint }
  })

/**
 * A final checkpoint signed by a key the trusted keys do not hold may still be trusted: the log
 * rotated to that key (`key_rotation`) and a checkpoint under a trusted key confirmed it (item 7).
 * Following that is the verifier's job, so the whole input is verified under the trusted keys; when
 * it holds and its last verified checkpoint is this very note (or, for a pack, its
 * `_meta.checkpoint` gave it `signed-checkpoint` completeness), the note is taken, its signature
 * having been checked there under the key the rotation made trusted. Otherwise the note stays
 * `untrusted`.
 */
const throughRotation = <E, R>(
  input: Input<E, R>,
  source: string,
  found: { readonly note: string; readonly from: { readonly source: SignedCheckpoint["source"]; readonly seq: Option.Option<number> } },
  publicKeys: ReadonlyArray<string>,
  untrusted: NoteUntrusted
) =>
  Effect.gen(function*() {
    const verdict = yield* Effect.either(Verify.stream(toStream(input), { publicKeys }))
    if (Either.isLeft(verdict)) return yield* Effect.fail(untrusted)
    const report = verdict.right
    const last = Option.getOrUndefined(report.lastCheckpoint)
    const covered = found.from.source === "pack" ? report.completeness === "signed-checkpoint" : last !== undefined && last.note === found.note
    if (!covered || report.checkpoints !== "verified") return yield* Effect.fail(untrusted)
    // its signature was checked by the verification, under the key the rotation made trusted
    const form = yield* readNote(found.note, undefined, source, found.from)
    return { ...form, signers: untrusted.signers }
  })

/**
 * Proves that NEW extends OLD: reads both (once each), verifies each one's final checkpoint (a
 * pack's `_meta.checkpoint`, else its last checkpoint entry) under the trusted keys and against its
 * entries, and requires the RFC 9162 consistency proof from OLD's (size, root) to NEW's to verify.
 * When it does not, NEW rewrote history: `NotConsistent` names the first seq whose entry differs
 * (or says that OLD is the longer one). On success, the `acttrace-consistency/1` document holds
 * both notes and the proof, for `verifyConsistencyDocument` to check without the packs.
 *
 * @since 0.1.0
 * @category consistency
 */
export const consistency = <E1 = never, R1 = never, E2 = never, R2 = never>(
  oldInput: Input<E1, R1>,
  newInput: Input<E2, R2>,
  options: ConsistencyOptions
): Effect.Effect<ConsistencyProved, E1 | E2 | ConsistencyError, R1 | R2> =>
  Effect.gen(function*() {
    const verifiers = yield* requireKeys(options.publicKeys)
    const old = yield* finalCheckpoint(oldInput, options.oldSource ?? "OLD", verifiers, options.publicKeys)
    const neu = yield* finalCheckpoint(newInput, options.newSource ?? "NEW", verifiers, options.publicKeys)
    const m = old.checkpoint.size
    const n = neu.checkpoint.size
    const notConsistent = (firstDiffering: number | null, reason: string) =>
      new NotConsistent({ oldSize: m, newSize: n, firstDiffering, reason })
    const differing = firstDiffering(old.scanned.digests, neu.scanned.digests, Math.min(m, n))
    const differs = (i: number) =>
      notConsistent(i, `their entries differ from seq ${i} on (OLD's hash ${hexOf(old.scanned.digests, i)}, NEW's ${hexOf(neu.scanned.digests, i)})`)
    if (old.checkpoint.origin !== neu.checkpoint.origin) {
      return yield* notConsistent(differing ?? null, `they are checkpoints of different logs (origins ${JSON.stringify(old.checkpoint.origin)} and ${JSON.stringify(neu.checkpoint.origin)})`)
    }
    if (options.origin !== undefined && old.checkpoint.origin !== options.origin) {
      return yield* new NoteInvalid({
        source: options.oldSource ?? "OLD",
        reason: `its checkpoint is of the log ${JSON.stringify(old.checkpoint.origin)}, not of ${JSON.stringify(options.origin)}`
      })
    }
    if (m > n) {
      if (differing !== undefined) return yield* differs(differing)
      return yield* notConsistent(null, `OLD is longer: its checkpoint covers ${m} entries, NEW's only ${n}`)
    }
    const proof = Merkle.consistencyProofOfDigests(neu.scanned.digests, m, n)
    if (!Merkle.verifyConsistency(m, n, old.checkpoint.rootBytes, neu.checkpoint.rootBytes, proof)) {
      // (each root is its own entries' tree, checked above: the trees differ in OLD's part)
      return yield* differs(differing ?? 0)
    }
    const text = `{"format":${JSON.stringify(CONSISTENCY_FORMAT)},\n"old":${JSON.stringify(old.checkpoint.note)},\n"new":${JSON.stringify(neu.checkpoint.note)},\n"proof":[${proof.map((h) => JSON.stringify(Buffer.from(h).toString("base64"))).join(",")}]}\n`
    return { text, old: publicCheckpoint(old.checkpoint), new: publicCheckpoint(neu.checkpoint), proofLength: proof.length }
  })

/**
 * Checks an `acttrace-consistency/1` document alone: both notes signed by a trusted key, both
 * checkpoints of the same origin, and the consistency proof from the old (size, root) to the new.
 * Returns the two checkpoints. A failing proof is `NotConsistent` with `firstDiffering: null`: the
 * notes alone cannot say where two histories part (`consistency` over the packs can).
 *
 * @since 0.1.0
 * @category consistency
 */
export const verifyConsistencyDocument = (
  document: string | Uint8Array,
  options: CheckOptions
): Effect.Effect<{ readonly old: SignedCheckpoint; readonly new: SignedCheckpoint }, VerifyConsistencyError> =>
  Effect.gen(function*() {
    const verifiers = yield* requireKeys(options.publicKeys)
    const doc = yield* decodeDocument(ConsistencyFile, document)
    const from = { source: "document", seq: Option.none() } as const
    const old = yield* readNote(doc.old, verifiers, "the old checkpoint", from)
    const neu = yield* readNote(doc.new, verifiers, "the new checkpoint", from)
    const fail = (reason: string) => new NotConsistent({ oldSize: old.size, newSize: neu.size, firstDiffering: null, reason })
    if (old.origin !== neu.origin) return yield* fail(`they are checkpoints of different logs (origins ${JSON.stringify(old.origin)} and ${JSON.stringify(neu.origin)})`)
    if (options.origin !== undefined && old.origin !== options.origin) {
      return yield* new NoteInvalid({
        source: "the old checkpoint",
        reason: `it is of the log ${JSON.stringify(old.origin)}, not of ${JSON.stringify(options.origin)}`
      })
    }
    if (old.size > neu.size) return yield* fail("the old checkpoint is the longer one")
    const proof = doc.proof.map((p) => hashOfBase64(p)!)
    if (!Merkle.verifyConsistency(old.size, neu.size, old.rootBytes, neu.rootBytes, proof)) {
      return yield* fail("the consistency proof does not verify: the new tree does not contain the old one (its history differs at or before seq " +
        `${Math.max(old.size - 1, 0)}), or the proof was altered`)
    }
    return { old: publicCheckpoint(old), new: publicCheckpoint(neu) }
  })

// ---------------------------------------------------------------------------------------------
// firstDifference
// ---------------------------------------------------------------------------------------------

/**
 * Compares two packs or logs entry by entry by their `hash` fields (each hash covers the entry
 * and, through `prev_hash`, all before it, so the first differing hash is the first differing
 * entry): OLD is read once, keeping 32 bytes per entry, then NEW is read until the first
 * difference. Headers are skipped. It compares what the files state and checks no hash or
 * signature: verify NEW (and trust OLD) separately. Meant for `verify --since OLD_PACK`, to name
 * the entry where a history was rewritten.
 *
 * @since 0.1.0
 * @category consistency
 */
export const firstDifference = <E1 = never, R1 = never, E2 = never, R2 = never>(
  oldInput: Input<E1, R1>,
  newInput: Input<E2, R2>,
  options?: { readonly oldSource?: string | undefined; readonly newSource?: string | undefined } | undefined
): Effect.Effect<Difference, E1 | E2 | PackUnreadable, R1 | R2> =>
  Effect.gen(function*() {
    const old = yield* scan(oldInput, options?.oldSource ?? "OLD", new Set())
    const newSource = options?.newSource ?? "NEW"
    const reader = new LineReader()
    const skim = new Skim()
    let count = 0
    let found: Difference | undefined
    yield* forEachLine(newInput, newSource, (bytes, line) => {
      const fail = (reason: string) => new PackUnreadable({ source: newSource, line, reason })
      const read = readLine(bytes, skim, reader)
      if (typeof read === "string") return fail(read)
      if (read.meta) return count === 0 && line === 1 ? undefined : fail("a `_meta` header after the first line")
      if (read.seq !== count) return fail(`seq ${read.seq} where seq ${count} was expected`)
      if (count < old.count) {
        const oldHash = hexOf(old.digests, count)
        if (read.hash !== oldHash) {
          found = { _tag: "Differs", seq: count, oldHash, newHash: read.hash }
          return new Stop()
        }
      }
      // (past OLD's end, NEW's entries are only counted)
      count++
      return undefined
    })
    if (found !== undefined) return found
    return count < old.count
      ? { _tag: "OldLonger", oldEntries: old.count, newEntries: count }
      : { _tag: "Prefix", oldEntries: old.count, newEntries: count }
  })
