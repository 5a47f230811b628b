/**
 * Verification (FORMAT part C): a pure step over lines, folded over a `Stream` of bytes.
 *
 * The step never throws: every problem is one of the tagged errors below, carrying the 1-based
 * line number and the entry's `seq` where known. Memory stays constant: only the current line is
 * held (plus one line of look-ahead state after a forward `seq` jump), and a line longer than
 * `maxLineBytes` is an error found without holding more of it than that. Nothing is read at an
 * offset, so pipes and FIFOs verify like files.
 *
 * With `publicKeys` (Ed25519 verifier keys) the fold also keeps the Merkle frontier of the entries
 * (FORMAT B.2) and checks every checkpoint entry, key rotation and a pack's `_meta.checkpoint`
 * against it; with `since`, that the input extends a published checkpoint. Without them no tree
 * is built.
 *
 * Which checkpoint signatures are verified when: every checkpoint is checked where it stands
 * against the tree and chain (origin, size, head, root, payload) and its signer looked up among
 * the trusted keys by key hash, so an untrusted signer or a malformed note is found at once. The
 * Ed25519 signature of a checkpoint that carries trust alone is verified at once too: a rotation's
 * confirming checkpoint, a pack's export note, a published note. That of an ordinary in-chain
 * checkpoint waits in the state (one at a time): a later checkpoint by the same key that passes
 * its tree check takes its place, because its root covers the earlier entry, note and all, and a
 * change to it that the chain was re-hashed over fails that later tree check. The last one is
 * verified by `finish` (or before the key changes), unless the export note covers everything.
 * So a log checkpointed every 1,000 entries costs one or two Ed25519 verifications, not one per
 * checkpoint; `everySignature` verifies each where it stands (see `Options.everySignature`).
 *
 * @since 0.1.0
 */
import { constants as bufferConstants, isUtf8 } from "node:buffer"
import { createHash, type Hash, hash as sha256 } from "node:crypto"
import { existsSync, read as readFd } from "node:fs"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Canonical from "./Canonical.js"
import * as Entry from "./Entry.js"
import { GENESIS, sealDigest } from "./Hash.js"
import { type FastParsed, FastLine, FastReference, hexAt, plainAt } from "./internal/fast.js"
import { equalBytesConstantTime, equalConstantTime, FastHmac, keyBytesOf } from "./internal/hmac.js"
import { Kernel, R_HASH, R_NEXT, R_PREV, R_START, RUN } from "./internal/kernel.js"
import { LineError, LineReader } from "./internal/line.js"
import * as Merkle from "./internal/merkle.js"
import * as Note from "./internal/note.js"
import { ScanFailure } from "./internal/scanner.js"

const located = {
  /** 1-based line number in the file (0: no line, e.g. an empty file) */
  line: Schema.Number,
  /** the entry's `seq`, when the line got far enough to have one */
  seq: Schema.NullOr(Schema.Number),
  reason: Schema.String
}

// the message holds no tag: `String(e)` and `Cause.pretty` put the tag in front of it once
const where = (e: { readonly line: number; readonly seq: number | null }) =>
  e.line === 0 ? "" : e.seq === null ? `line ${e.line}: ` : `line ${e.line} (seq ${e.seq}): `

/**
 * Not UTF-8, not a JSON object, duplicate key, missing or mistyped field, non-finite number,
 * `_meta` not on the first line, or no entry at all.
 *
 * @since 0.1.0
 * @category errors
 */
export class MalformedLine extends Schema.TaggedError<MalformedLine>()("MalformedLine", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * An entry's content, hash or `seq` was changed.
 *
 * @since 0.1.0
 * @category errors
 */
export class EditDetected extends Schema.TaggedError<EditDetected>()("EditDetected", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * Entries are out of order.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReorderDetected extends Schema.TaggedError<ReorderDetected>()("ReorderDetected", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * Entries were removed from the middle or the start.
 *
 * @since 0.1.0
 * @category errors
 */
export class DeletionDetected extends Schema.TaggedError<DeletionDetected>()("DeletionDetected", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * The chain ends before the head or count claimed out of band or in `_meta`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TruncationDetected extends Schema.TaggedError<TruncationDetected>()("TruncationDetected", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * An entry's `sig` does not match under the given key.
 *
 * @since 0.1.0
 * @category errors
 */
export class SignatureInvalid extends Schema.TaggedError<SignatureInvalid>()("SignatureInvalid", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * The pack header does not hold: with a key, `_meta.sig` is missing or wrong, or the header holds
 * a member that neither `_meta.sig` nor a seal covers; a seal that does not match the header and
 * the rows' controls, holds a member beyond its four, or (with a key) names another algorithm or
 * key id than the key's, or carries a wrong signature.
 *
 * @since 0.1.0
 * @category errors
 */
export class HeaderInvalid extends Schema.TaggedError<HeaderInvalid>()("HeaderInvalid", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * A checkpoint (FORMAT B.2) that does not hold: its note is malformed or was altered after
 * signing, its body does not parse, or it does not describe the log at its position (origin,
 * tree size, root, chain head), or its payload differs from its note; also a `key_rotation` or
 * an `audit_open` naming a checkpoint key that cannot be one, and a published checkpoint
 * (`since`) that cannot be read (line 0). Tampering, or a wrong tree: never a key nobody trusts
 * (that is `CheckpointUntrusted`).
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointInvalid extends Schema.TaggedError<CheckpointInvalid>()("CheckpointInvalid", located) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * A checkpoint that may well be genuine but that no trusted key vouches for: signed only by keys
 * not among `publicKeys`, by a key other than the log's checkpoint key, or by a rotated-in key
 * before a checkpoint under the previous key confirmed the rotation. `signers` names the keys
 * that did sign (`name+keyid`). Distinct from tampering (`CheckpointInvalid`).
 *
 * @since 0.1.0
 * @category errors
 */
export class CheckpointUntrusted extends Schema.TaggedError<CheckpointUntrusted>()("CheckpointUntrusted", {
  ...located,
  /** the keys that signed the note, as `name+keyid` */
  signers: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * The input does not extend the checkpoint published out of band (`since`): its tree at the
 * published size has another root, it belongs to another log, or it ends before that size.
 * `publishedSize` is the published tree size; `firstDiffering` the `seq` of the first entry that
 * differs when it can be pinned (a note alone says only that the history differs at or before
 * `seq` `publishedSize - 1`, the entry this error is located at).
 *
 * @since 0.1.0
 * @category errors
 */
export class HistoryRewritten extends Schema.TaggedError<HistoryRewritten>()("HistoryRewritten", {
  ...located,
  publishedSize: Schema.Number,
  firstDiffering: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `${where(this)}${this.reason}`
  }
}

/**
 * A public key given in `publicKeys` that is not a C2SP verifier key text
 * (`name+hash+base64`), or two of them that cannot be told apart. `key` is its index.
 *
 * @since 0.1.0
 * @category errors
 */
export class PublicKeyInvalid extends Schema.TaggedError<PublicKeyInvalid>()("PublicKeyInvalid", {
  key: Schema.Number,
  reason: Schema.String
}) {
  get line(): number {
    return 0
  }
  get seq(): null {
    return null
  }
  override get message(): string {
    return `publicKeys[${this.key}]: ${this.reason}`
  }
}

/**
 * The input cannot be opened or read.
 *
 * @since 0.1.0
 * @category errors
 */
export class Unreadable extends Schema.TaggedError<Unreadable>()("Unreadable", {
  path: Schema.String,
  reason: Schema.String
}) {
  get line(): number {
    return 0
  }
  get seq(): null {
    return null
  }
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

/**
 * Everything verification can report instead of success.
 *
 * @since 0.1.0
 * @category errors
 */
export type VerifyError =
  | MalformedLine
  | EditDetected
  | ReorderDetected
  | DeletionDetected
  | TruncationDetected
  | SignatureInvalid
  | HeaderInvalid
  | CheckpointInvalid
  | CheckpointUntrusted
  | HistoryRewritten
  | PublicKeyInvalid
  | Unreadable

/**
 * How completeness (no entry missing at the end) was established.
 *
 * @since 0.1.0
 * @category models
 */
export type Completeness = "expected-head" | "signed-header" | "signed-checkpoint" | "unsigned-header" | "none"

/**
 * `verified`: a key was given and every signature holds. `absent`: no key was given and no entry
 * carries a signature. `not-checked`: entries are signed but no key was given. (An `Outcome` of a
 * failure says the same of the entries that held before it, and `not-checked` when none did.)
 *
 * @since 0.1.0
 * @category models
 */
export type Signatures = "verified" | "absent" | "not-checked"

/**
 * `verified`: public keys were given and every checkpoint (entries and a pack's
 * `_meta.checkpoint`) holds under them, at least one of them there: each matches the tree and
 * chain at its position and is signed by the log's key, its signature verified or (by default,
 * see `Options.everySignature`) vouched for by a later verified signature of that key whose root
 * covers it. `absent`: public keys were
 * given and the input holds no checkpoint. `not-checked`: no public key was given (nothing is
 * looked at, and no tree is built), or the input starts mid-chain, where the tree cannot be
 * recomputed.
 *
 * @since 0.1.0
 * @category models
 */
export type Checkpoints = "verified" | "absent" | "not-checked"

/**
 * A checkpoint that verified: its tree size, its root (standard base64) and its signed note.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointSeen {
  readonly size: number
  readonly root: string
  readonly note: string
}

/**
 * A successful verification.
 *
 * @since 0.1.0
 * @category models
 */
export interface Report {
  readonly entries: number
  readonly head: string
  readonly signatures: Signatures
  readonly completeness: Completeness
  /** the pack header, when the input is an evidence pack */
  readonly meta: Option.Option<Entry.Meta>
  /** what was checked of the checkpoints (see `Checkpoints`) */
  readonly checkpoints: Checkpoints
  /** checkpoint entries in the input (each verified when `checkpoints` is `verified`) */
  readonly checkpointCount: number
  /**
   * Entries no verified checkpoint covers: those after the last position one covers (a
   * checkpoint entry right after the position it covers counts as covered). 0 when a pack's
   * `_meta.checkpoint` covers it whole; every entry when no checkpoint was verified.
   */
  readonly unsealedTail: number
  /** the last checkpoint that verified: the pack's `_meta.checkpoint` when it has one */
  readonly lastCheckpoint: Option.Option<CheckpointSeen>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** HMAC passphrase: checks every entry `sig` and `_meta.sig` */
  readonly key?: Redacted.Redacted<string> | undefined
  /** head hash known out of band */
  readonly expectedHead?: string | undefined
  /** entry count known out of band */
  readonly expectedEntries?: number | undefined
  /** fail unless completeness is authenticated or given out of band */
  readonly requireComplete?: boolean | undefined
  /**
   * The input begins mid-chain (its beginning is gone, as in a bounded memory log): the first
   * entry's `prev_hash` and `seq` are taken as given, and everything after it is checked.
   */
  readonly startMidChain?: boolean | undefined
  /**
   * The longest line accepted, in bytes, not counting its newline (default
   * `DEFAULT_MAX_LINE_BYTES`, 64 MiB; at most `MAX_LINE_BYTES_CEILING`). A longer line is
   * `MalformedLine`, found without holding more of it than this: verification needs memory for
   * one line, and this bounds it.
   */
  readonly maxLineBytes?: number | undefined
  /**
   * Take the shortcuts for canonical-first lines and hash-shaped fields (default true). Turning
   * them off gives the same verdicts more slowly; tests use it to hold the two paths together.
   */
  readonly fastPath?: boolean | undefined
  /**
   * Trusted Ed25519 verifier keys (C2SP key texts `name+hash+base64`, one trailing newline
   * allowed, as a key file holds it). Given, every checkpoint entry is checked against the tree
   * and the chain at its position, a pack's `_meta.checkpoint` against the whole pack (and its
   * seal, FORMAT B.3), and a log's `key_rotation` is followed once a checkpoint under the old key
   * confirms it. Parsed once, by `initial`; a bad one is `PublicKeyInvalid`. Without it, no
   * tree is built and checkpoints are not looked at.
   */
  readonly publicKeys?: ReadonlyArray<string> | undefined
  /**
   * A checkpoint published out of band (a signed note): the input must extend it, its tree at
   * the published size having the published root, or verification fails with `HistoryRewritten`.
   * It must open under `publicKeys`.
   */
  readonly since?: string | undefined
  /**
   * Verify the Ed25519 signature of every checkpoint entry where it stands (default false).
   *
   * By default every checkpoint is still checked at once against the tree and the chain at its
   * position, and its signer looked up at once among the trusted keys (an untrusted signer, or
   * one that is not the log's current key, is `CheckpointUntrusted` there; a malformed note is
   * `CheckpointInvalid` there). What waits is the signature of an ordinary in-chain checkpoint:
   * the next checkpoint under the same key that passes its tree check takes its place, since its
   * root covers every earlier entry, the earlier note's text included (an earlier note changed
   * and the chain re-hashed after it makes that later root fail its tree check). The one left is
   * verified by `finish` (or when the log takes another key), unless the pack's
   * `_meta.checkpoint` verifies and covers everything; a failure is `CheckpointInvalid` located
   * at that checkpoint. Signatures that are the only
   * ones covering something are verified at once: a rotation's confirming checkpoint, the export
   * note, a published note (`since`).
   *
   * Both ways give the same verdict on anything changed without the key; a damaged input may be
   * reported at a later checkpoint (whose tree no longer matches) instead of the damaged one. They
   * differ on one thing only: a checkpoint the producer itself wrote with a bad signature and
   * then covered with a later valid one verifies by default. Set this to hold the producer to
   * every signature it wrote (about 100 µs of Ed25519 work per checkpoint).
   */
  readonly everySignature?: boolean | undefined
}

/**
 * What a verification is given, made once by `initial` and shared by every state that follows
 * from it. Nothing here carries meaning from one step to the next: the options, the key (in
 * closures), and reusable scratch (readers, the kernel) that each step uses and leaves behind.
 */
interface Config {
  readonly mac: FastHmac | undefined
  /** the key's id (FORMAT B.1), which a seal must name */
  readonly keyId: string | undefined
  readonly expectedHead: string | undefined
  readonly expectedEntries: number | undefined
  readonly requireComplete: boolean
  readonly reader: LineReader
  readonly fast: FastLine
  readonly fastReference: FastReference
  readonly fastPath: boolean
  /** the longest line accepted (see `Options.maxLineBytes`) */
  readonly maxLine: number
  /**
   * The input is a byte range of a file that begins after the file's first line (a range of
   * `fileParallel`): a header there is not on the file's first line.
   */
  readonly range: boolean
  /**
   * The WebAssembly kernel of the batched fast path, made on first use (undefined: not
   * available). A function, so that neither the key it is made with nor the kernel's memory
   * (which holds the key's HMAC midstates) is a property of any state.
   */
  readonly kernel: () => Kernel | undefined
  /** the checkpoint checks (undefined: neither `publicKeys` nor `since` given, nothing to do) */
  readonly ck: CkConfig | undefined
}

/** A checkpoint published out of band (`Options.since`), opened and parsed. */
interface Since {
  readonly origin: string
  readonly size: number
  readonly root: Uint8Array
  /**
   * The note, when no key of `publicKeys` signed it but it is well formed: it may be signed by a
   * key the log rotates to, trusted once a checkpoint under the old key confirms it. `finish`
   * opens it again under the keys trusted then; until then a difference is only recorded.
   */
  readonly deferred: string | undefined
}

/** What the checkpoint checks are given (made once by `initial`). */
interface CkConfig {
  readonly trusted: ReadonlyArray<Note.Verifier>
  /** `Options.everySignature`: verify each checkpoint's signature where it stands */
  readonly everySignature: boolean
  readonly since: Since | undefined
  /** a bad option, reported on the first step (or by `finish`) */
  readonly fault: VerifyError | undefined
  /** scratch: the raw hashes of a batch of entries, for the tree (used and left behind per batch) */
  digests: Buffer
  /** verifier keys named in logs, parsed once (a pure cache) */
  readonly keys: Map<string, Note.Verifier | Note.NoteKeyInvalid>
}

/**
 * Where the checkpoint checks stand: an immutable value like the state that holds it (a new one
 * whenever anything changes; the frontier is immutable too).
 */
interface CkState {
  /** the Merkle frontier of every entry so far; undefined when the input starts mid-chain */
  readonly tree: Merkle.Frontier | undefined
  /** the log's checkpoint origin (audit_open's, else the first checkpoint's) */
  readonly origin: string | undefined
  /** the log's current checkpoint key (audit_open's, replaced by confirmed rotations) */
  readonly key: Note.Verifier | undefined
  /** audit_open names a checkpoint key: the log's packs carry `_meta.checkpoint` */
  readonly named: boolean
  /** keys trusted now: `publicKeys`, and rotated-in keys once confirmed */
  readonly trusted: ReadonlyArray<Note.Verifier>
  /** a key_rotation no checkpoint under the old key has covered yet */
  readonly rotation: { readonly seq: number; readonly key: Note.Verifier } | undefined
  /** checkpoint entries seen */
  readonly count: number
  /** entries [0, covered) are covered by a verified checkpoint */
  readonly covered: number
  readonly last: CheckpointSeen | undefined
  /** the published checkpoint (`since`) was compared with the tree of its size */
  readonly sinceDone: boolean
  /** how the tree differed from a published checkpoint not yet trusted (see `Since.deferred`) */
  readonly sinceDiffers: HistoryRewritten | undefined
  /**
   * The last checkpoint whose tree check passed and whose signature is not verified yet (see
   * `Options.everySignature`): state like the rest, so a kept or forked state owes its own.
   */
  readonly unsigned: Unsigned | undefined
}

/** A checkpoint whose signature waits: where it stands, and its note as read (signers looked up). */
interface Unsigned {
  readonly line: number
  readonly seq: number
  readonly note: Note.ReadNote
}

/** The seal of a pack's `_meta` (FORMAT B.3), as read from the header. */
interface SealCheck {
  readonly alg: string
  readonly keyId: string
  /** members of the seal beyond its four: covered by nothing */
  readonly extra: ReadonlyArray<string>
  readonly digest: string
  readonly sig: string
}

/** A pack's header, as the header checks of `finish` need it. */
interface Header {
  readonly value: Entry.Meta
  readonly line: number
  readonly signedBody: string
  /** members nothing covers unless a seal does */
  readonly unsealed: ReadonlyArray<string>
  readonly seal: SealCheck | undefined
  /** the pack's first entry is an `audit_open` naming acttrace as producer: a keyed check wants a seal */
  readonly sealRequired: boolean
  /** the canonical `_meta` without `sig`, `seal` and `checkpoint` (what a seal digests), when it has a seal or a checkpoint */
  readonly canonicalMeta: string | undefined
  /** `_meta.checkpoint` as read (a signed note text, if it is what it should be) */
  readonly checkpoint: Canonical.Json | undefined
}

/** Bytes of rows a `RowsDigest` holds before it hashes them. */
const ROWS_PENDING = 1 << 14

/**
 * The running SHA-256 of a sealed pack's rows' controls (FORMAT B.3), as a value: adding to it
 * never changes what an earlier `RowsDigest` holds, so a state can be stepped again, or forked,
 * and its seal still sees its own rows.
 *
 * A native hash cannot be rewound, so none is ever updated once a `RowsDigest` holds it: rows are
 * gathered as bytes, and every `ROWS_PENDING` bytes a copy of the hash takes them in and becomes
 * the next one's. The gathered bytes sit in a buffer that only grows at its end; a digest holds
 * its first `length` bytes. The newest digest (`length` equal to what the buffer holds) adds in
 * place, as a linear pass always does; an older one, stepped again, first copies its own bytes.
 */
class RowsDigest {
  private constructor(
    /** the hash of every row before the gathered bytes; never updated (copied to go on) */
    private readonly base: Hash,
    /** the gathered bytes: [0, used) are fixed, later bytes are only ever appended */
    private readonly pending: { buf: Buffer; used: number },
    private readonly length: number
  ) {}

  static empty(): RowsDigest {
    return new RowsDigest(createHash("sha256"), { buf: Buffer.allocUnsafe(4096), used: 0 }, 0)
  }

  /** The digest with `bytes` (one or more rows, each ending in a newline) added. */
  add(bytes: Uint8Array): RowsDigest {
    const n = bytes.length
    if (this.length + n > ROWS_PENDING) {
      // (the first `length` bytes are this digest's, whoever added after them)
      const next = this.base.copy()
      next.update(this.pending.buf.subarray(0, this.length))
      next.update(bytes)
      return new RowsDigest(next, { buf: Buffer.allocUnsafe(4096), used: 0 }, 0)
    }
    let pending = this.pending
    if (this.length !== pending.used) {
      // not the newest digest: the bytes past `length` belong to another path through the fold
      const own = Buffer.allocUnsafe(Math.max(4096, 2 * (this.length + n)))
      pending.buf.copy(own, 0, 0, this.length)
      pending = { buf: own, used: this.length }
    }
    if (pending.buf.length < this.length + n) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * pending.buf.length, this.length + n))
      pending.buf.copy(bigger, 0, 0, this.length)
      // the digests that share this buffer read only its first bytes, which the copy keeps
      pending.buf = bigger
    }
    pending.buf.set(bytes, this.length)
    pending.used = this.length + n
    return new RowsDigest(this.base, pending, this.length + n)
  }

  /** The SHA-256 of every row added (nothing here changes). */
  digest(): Buffer {
    const h = this.base.copy()
    h.update(this.pending.buf.subarray(0, this.length))
    return h.digest()
  }
}

/** A forward `seq` jump, judged by the next line (see `stepGeneral`). */
interface Pending {
  readonly line: number
  readonly seq: number
  readonly lastSeq: number
}

/**
 * The brand of a verification `State`.
 *
 * @since 0.1.0
 * @category symbols
 */
export const StateTypeId: unique symbol = Symbol.for("acttrace/Verify/State")

/**
 * @since 0.1.0
 * @category symbols
 */
export type StateTypeId = typeof StateTypeId

/**
 * Where a verification stands after some lines: an immutable value. `step` returns a new state
 * and leaves the one it was given as it was, so a state can be stepped again, forked (stepped
 * with different lines), or kept, and every path through it gives the verdict a fresh pass over
 * the same lines gives. Everything else about it is private to this module.
 *
 * @since 0.1.0
 * @category models
 */
export interface State {
  readonly [StateTypeId]: StateTypeId
  /** physical lines stepped, blank ones included */
  readonly line: number
  /** entries verified */
  readonly entries: number
  /**
   * the hash of the last entry verified: `GENESIS` before the first, and "" before the first of
   * a log verified with `startMidChain`
   */
  readonly head: string
}

/** One shape for every state (monomorphic property access on the hot path). */
class StateImpl implements State {
  declare readonly [StateTypeId]: StateTypeId
  constructor(
    readonly config: Config,
    readonly line: number,
    readonly entries: number,
    readonly head: string,
    readonly lastSeq: number,
    readonly lastLine: number,
    /** the pack header, once its line is read */
    readonly header: Header | undefined,
    /** the seal's digest of the rows' controls so far (a sealed pack only) */
    readonly rows: RowsDigest | undefined,
    readonly anySigned: boolean,
    readonly pending: Pending | undefined,
    /** where a log that starts mid-chain picked the chain up: its first entry's link and `seq` */
    readonly start: { readonly prev: string; readonly seq: number } | undefined,
    /** the checkpoint checks (only with `publicKeys` or `since`) */
    readonly ck: CkState | undefined
  ) {}
}
// on the prototype: one brand for every state, nothing per state
Object.defineProperty(StateImpl.prototype, StateTypeId, { value: StateTypeId })

const withLine = (s: StateImpl, line: number): StateImpl =>
  new StateImpl(s.config, line, s.entries, s.head, s.lastSeq, s.lastLine, s.header, s.rows, s.anySigned, s.pending, s.start, s.ck)

/** (`ck` is left as it was: the caller brings the tree up to date, see `ckRow` and the batches) */
const accepted = (s: StateImpl, line: number, seq: number, head: string, signed: boolean): StateImpl =>
  new StateImpl(s.config, line, s.entries + 1, head, seq, line, s.header, s.rows, s.anySigned || signed, undefined, s.start, s.ck)

/** The state after `count` more lines, each an entry that verified (their rows in `rows`, their leaves in `ck`). */
const acceptedRun = (s: StateImpl, count: number, seq: number, head: string, signed: boolean, rows: RowsDigest | undefined, ck: CkState | undefined): StateImpl =>
  new StateImpl(s.config, s.line + count, s.entries + count, head, seq, s.line + count, s.header, rows, s.anySigned || signed, undefined, s.start, ck)

const withCk = (s: StateImpl, ck: CkState): StateImpl =>
  new StateImpl(s.config, s.line, s.entries, s.head, s.lastSeq, s.lastLine, s.header, s.rows, s.anySigned, s.pending, s.start, ck)

const kernelOf = (config: Config): Kernel | undefined => config.kernel()

/** The kernel, made on first use with the key held in this closure only. */
const lazyKernel = (keyBytes: Buffer | undefined): (() => Kernel | undefined) => {
  let kernel: Kernel | undefined | null
  return () => {
    if (kernel === undefined) {
      kernel = Kernel.make(keyBytes) ?? null
      // the kernel keeps only the HMAC midstates: the key's bytes are no longer needed
      keyBytes?.fill(0)
    }
    return kernel ?? undefined
  }
}

const maxLineOf = (n: number | undefined): number => {
  if (n === undefined) return DEFAULT_MAX_LINE_BYTES
  // a programming error, like a negative capacity (the CLI checks its flag before it gets here)
  if (!(n >= 1)) throw new RangeError(`Verify: maxLineBytes must be at least 1, got ${n}`)
  return Math.min(Math.floor(n), MAX_LINE_BYTES_CEILING)
}

/**
 * The state before the first line. (Give a non-empty key: the CLI and `Signer` refuse empty ones,
 * and nothing a real writer signed verifies under one.)
 *
 * @since 0.1.0
 * @category constructors
 */
export const initial = (options: Options = {}): State => initialOf(options, false)

/**
 * The key's text. A key that is not a string is a programming error, like a `maxLineBytes` below
 * 1, said where the verification is made: `Redacted.make(process.env.ACTTRACE_KEY!)` with the
 * variable unset would otherwise fail inside Buffer, in words that name neither the key nor a fix.
 */
const keyText = (key: Redacted.Redacted<string>): string => {
  const text: unknown = Redacted.value(key)
  if (typeof text === "string") return text
  throw new TypeError(
    `Verify: options.key holds ${text === undefined || text === null ? String(text) : `a ${typeof text}`}, not a string (read the key with Config.redacted("ACTTRACE_KEY"), which fails with a ConfigError naming a missing variable)`
  )
}

const initialOf = (options: Options, range: boolean): StateImpl => {
  // the key's bytes live only in closures: in `mac` (see FastHmac) and in `kernel` until it is made
  const keyBytes = options.key === undefined ? undefined : keyBytesOf(keyText(options.key))
  const config: Config = {
    mac: keyBytes === undefined ? undefined : new FastHmac(keyBytes),
    keyId: keyBytes === undefined ? undefined : sha256("sha256", keyBytes, "hex").slice(0, 16),
    expectedHead: options.expectedHead,
    expectedEntries: options.expectedEntries,
    requireComplete: options.requireComplete ?? false,
    reader: new LineReader(),
    fast: new FastLine(),
    fastReference: new FastReference(),
    fastPath: options.fastPath ?? true,
    maxLine: maxLineOf(options.maxLineBytes),
    range,
    kernel: lazyKernel(keyBytes),
    ck: ckConfigOf(options)
  }
  const ck: CkState | undefined = config.ck === undefined ? undefined : {
    tree: Merkle.empty,
    origin: undefined,
    key: undefined,
    named: false,
    trusted: config.ck.trusted,
    rotation: undefined,
    count: 0,
    covered: 0,
    last: undefined,
    sinceDone: false,
    sinceDiffers: undefined,
    unsigned: undefined
  }
  return new StateImpl(config, 0, 0, range || options.startMidChain === true ? FLOATING : GENESIS, -1, 0, undefined, undefined, false, undefined, undefined, ck)
}

const BOM0 = 0xef, BOM1 = 0xbb, BOM2 = 0xbf

// ---------------------------------------------------------------------------------------------
// Checkpoints (FORMAT B.2): the Merkle tree of the entries, checkpoint entries, key rotation, and
// a published checkpoint (`since`). None of this runs without `publicKeys` or `since`.
// ---------------------------------------------------------------------------------------------

/** Opening a note or parsing a key: the internal module's Effects are synchronous. */
const now = <A, E>(effect: Effect.Effect<A, E>): Either.Either<A, E> => Effect.runSync(Effect.either(effect))

/** A key file's text: exactly one trailing newline (or CRLF) is not part of the key. */
const keyTextOf = (text: string): string => text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text

const idOf = (v: { readonly name: string; readonly keyId: string }): string => `${v.name}+${v.keyId}`

const ckConfigOf = (options: Options): CkConfig | undefined => {
  if (options.publicKeys === undefined && options.since === undefined) return undefined
  const trusted: Array<Note.Verifier> = []
  let fault: VerifyError | undefined
  for (const [i, text] of (options.publicKeys ?? []).entries()) {
    if (typeof text !== "string") {
      fault ??= new PublicKeyInvalid({ key: i, reason: `holds ${text === null ? "null" : `a ${typeof text}`}, not a verifier key text` })
      continue
    }
    if (text.startsWith("PRIVATE+KEY+")) {
      // (the text is never quoted: it is the private key)
      fault ??= new PublicKeyInvalid({ key: i, reason: "is a signer (private) key, not a verifier key: give the verifier key (the .pub file of acttrace keygen), and keep the private one secret" })
      continue
    }
    const v = now(Note.parseVerifierKey(keyTextOf(text)))
    if (Either.isLeft(v)) fault ??= new PublicKeyInvalid({ key: i, reason: v.left.reason })
    else {
      const twin = trusted.findIndex((t) => idOf(t) === idOf(v.right) && t.text !== v.right.text)
      if (twin >= 0) fault ??= new PublicKeyInvalid({ key: i, reason: `names ${idOf(v.right)}, as publicKeys[${twin}] does with another key: a signature by either cannot be told apart` })
      trusted.push(v.right)
    }
  }
  let since: Since | undefined
  if (options.since !== undefined && fault === undefined) {
    const at = { line: 0, seq: null }
    const opened = Note.openSync(options.since, trusted)
    // a well-formed note signed by none of the keys given may be signed by a key the log rotates to
    const deferred = Either.isLeft(opened) && opened.left._tag === "NoteUnverified" && trusted.length > 0
    if (Either.isLeft(opened) && !deferred) {
      const e = opened.left
      fault = e._tag === "NoteUnverified"
        ? new CheckpointUntrusted({ ...at, signers: e.signers, reason: "the published checkpoint (since) cannot be checked: no public key is given (publicKeys)" })
        : new CheckpointInvalid({ ...at, reason: `the published checkpoint (since): ${noteWords(e)}` })
    } else {
      // (a note open refused as unverified is well formed: its text ends at the last blank line)
      const text = Either.isRight(opened) ? opened.right.text : options.since.slice(0, options.since.lastIndexOf("\n\n") + 1)
      const body = Note.parseCheckpointSync(text)
      if (Either.isLeft(body)) fault = new CheckpointInvalid({ ...at, reason: `the published checkpoint (since): ${body.left.reason}` })
      else since = { origin: body.right.origin, size: body.right.size, root: body.right.root, deferred: deferred ? options.since : undefined }
    }
  }
  return { trusted, everySignature: options.everySignature === true, since, fault, digests: Buffer.allocUnsafe(Math.max(RUN, BATCH) * Merkle.HASH_SIZE), keys: new Map() }
}

/** Why a note did not open, in words (tampering; an untrusted signer is said by `untrustedWords`). */
const noteWords = (e: Note.OpenError): string =>
  e._tag === "NoteSignatureInvalid"
    ? `the signature of trusted key ${e.keyName}+${e.keyId} does not verify: the note was altered after signing`
    : e._tag === "NoteMalformed"
    ? `not a well-formed signed note (${e.reason})`
    : e.message

const untrustedWords = (signers: ReadonlyArray<string>): string =>
  signers.length === 0 ? "not signed at all" : `signed only by keys that are not trusted (${signers.join(", ")})`

/** A verifier key text named in a log, parsed (once per text: the cache is the config's). */
const keyNamed = (cc: CkConfig, text: unknown): Note.Verifier | string => {
  if (typeof text !== "string") return "is not a verifier key text"
  let v = cc.keys.get(text)
  if (v === undefined) {
    const parsed = now(Note.parseVerifierKey(text))
    v = Either.isLeft(parsed) ? parsed.left : parsed.right
    cc.keys.set(text, v)
  }
  return v instanceof Note.NoteKeyInvalid ? `is not a verifier key (${v.reason})` : v
}

const lit = (s: string) => Buffer.from(s, "latin1")
/** The end of our layout's body before `prev_hash`, for the two entry types the checks read. */
const OURS_CHECKPOINT = lit('"type":"checkpoint","prev_hash":"')
const OURS_ROTATION = lit('"type":"key_rotation","prev_hash":"')
/** The reference layout's `type` member, after `seq` and `ts` (see `FastReference`). */
const REF_TYPE = lit('", "type": "')
const REF_CHECKPOINT = lit('checkpoint", ')
const REF_ROTATION = lit('key_rotation", ')

const endsAt = (src: Uint8Array, end: number, l: Uint8Array): boolean => {
  const from = end - l.length
  if (from < 0) return false
  for (let k = 0; k < l.length; k++) if (src[from + k] !== l[k]) return false
  return true
}
const startsAt = (src: Uint8Array, at: number, l: Uint8Array): boolean => {
  for (let k = 0; k < l.length; k++) if (src[at + k] !== l[k]) return false
  return true
}

/**
 * Whether a line a fast path took (either layout: `{"payload":…` or `{"seq": …`, canonical
 * strings, so a type is spelled literally) is a `checkpoint` or `key_rotation` entry. Our layout
 * puts `type` last before `prev_hash` (at `prevAt`): one byte rules out most types; the reference
 * layout puts it after `ts`, which holds no unescaped quote.
 */
const isCheckpointish = (src: Buffer, start: number, prevAt: number): boolean => {
  if (src[start + 2] === 0x70) {
    const c = src[prevAt - 16]
    return (c === 0x74 && endsAt(src, prevAt, OURS_CHECKPOINT)) || (c === 0x6e && endsAt(src, prevAt, OURS_ROTATION))
  }
  const t = src.indexOf(REF_TYPE, start)
  if (t < 0 || t > prevAt) return false
  return startsAt(src, t + REF_TYPE.length, REF_CHECKPOINT) || startsAt(src, t + REF_TYPE.length, REF_ROTATION)
}

const NEEDLE_CHECKPOINT = lit('checkpoint"')
const NEEDLE_ROTATION = lit('key_rotation"')
/** a `\u` escape: the only way a type can be spelled other than literally */
const NEEDLE_ESCAPE = lit("\\u")

/**
 * The entry a single line holds, when the checks must read it (the first entry, a checkpoint, a
 * key rotation); otherwise undefined. Any layout: the line has verified, so it is JSON without
 * duplicate keys, and a type that is not spelled literally is escaped, which a parse resolves.
 */
const rowToRead = (src: Buffer, start: number, end: number, first: boolean): { type?: unknown; payload?: Record<string, unknown> } | undefined => {
  const line = src.subarray(start, end)
  if (!first && line.indexOf(NEEDLE_CHECKPOINT) < 0 && line.indexOf(NEEDLE_ROTATION) < 0 && line.indexOf(NEEDLE_ESCAPE) < 0) return undefined
  try {
    const row = JSON.parse(line.toString("utf8").replace(/^\ufeff/, "")) as { type?: unknown; payload?: Record<string, unknown> }
    return first || row.type === "checkpoint" || row.type === "key_rotation" ? row : undefined
  } catch {
    return undefined
  }
}

const equalRoots = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0

/**
 * The checks' state with `count` more leaves (raw hashes in `digests` from 0), the first of them
 * entry `firstSeq`; or the `seq` at which the tree stops extending the published checkpoint.
 */
const grow = (cc: CkConfig, ck: CkState, digests: Uint8Array, count: number, lastLine: number): CkState | { readonly differs: number; readonly reason: string } => {
  const tree = ck.tree
  if (tree === undefined || count === 0) return ck
  const since = cc.since
  if (since !== undefined && !ck.sinceDone && tree.size < since.size && tree.size + count >= since.size) {
    const m = since.size - tree.size
    const at = Merkle.appendDigests(tree, digests, 0, m)
    const differs = sinceDiffers(since, ck.origin, at)
    const rest = Merkle.appendDigests(at, digests, m * Merkle.HASH_SIZE, count - m)
    if (differs !== undefined) {
      if (since.deferred === undefined) return { differs: since.size - 1, reason: differs }
      // judged by `finish`, once it knows whether the note is trusted (located at its entry)
      return { ...ck, tree: rest, sinceDone: true, sinceDiffers: new HistoryRewritten({ line: lastLine - (count - m), seq: since.size - 1, publishedSize: since.size, reason: differs }) }
    }
    return { ...ck, tree: rest, sinceDone: true }
  }
  return { ...ck, tree: Merkle.appendDigests(tree, digests, 0, count) }
}

/** Why the tree of the published size does not match the published checkpoint, if it does not. */
const sinceDiffers = (since: Since, origin: string | undefined, tree: Merkle.Frontier): string | undefined => {
  if (origin !== undefined && origin !== since.origin) {
    return `the published checkpoint is of another log (origin ${JSON.stringify(since.origin)}; this log's is ${JSON.stringify(origin)})`
  }
  return equalRoots(Merkle.rootOf(tree), since.root)
    ? undefined
    : `the history differs from the published checkpoint at or before seq ${since.size - 1}: the tree of the first ${since.size} entries has another root than the one published`
}

const rewritten = (cc: CkConfig, line: number, seq: number, reason: string) =>
  new HistoryRewritten({ line, seq, publishedSize: cc.since!.size, reason })

/**
 * The checks' part of one accepted line: its leaf in the tree, and, for the first entry, a
 * checkpoint or a key rotation, what it says. `before` is the state before the line.
 */
const ckRow = (before: StateImpl, next: StateImpl, src: Buffer, start: number, end: number): StateImpl | VerifyError => {
  const cc = next.config.ck!
  let ck = next.ck!
  const seq = next.lastSeq
  const line = next.lastLine
  const first = before.entries === 0
  // a log that starts mid-chain has no tree to recompute: its checkpoints are not checked
  if (first && seq !== 0) ck = { ...ck, tree: undefined }
  const row = rowToRead(src, start, end, first)
  if (row !== undefined && typeof row.payload === "object" && row.payload !== null) {
    const r = ckEntry(cc, ck, row.type, row.payload, line, seq, before.head)
    if (!("tree" in r)) return r
    ck = r
  }
  if (ck.tree !== undefined) {
    const d = cc.digests
    d.write(next.head, 0, Merkle.HASH_SIZE, "hex")
    const grown = grow(cc, ck, d, 1, line)
    if (!("tree" in grown)) return rewritten(cc, line, seq, grown.reason)
    ck = grown
  }
  return withCk(next, ck)
}

/** What an `audit_open`, a `checkpoint` or a `key_rotation` entry says, checked (see the design). */
const ckEntry = (cc: CkConfig, ck: CkState, type: unknown, payload: Record<string, unknown>, line: number, seq: number, headBefore: string): CkState | VerifyError => {
  const invalid = (reason: string) => new CheckpointInvalid({ line, seq, reason })
  if (type === "audit_open") {
    const named = payload["checkpoints"]
    if (named === undefined || seq !== 0) return ck
    const c = (named ?? {}) as Record<string, unknown>
    if (c["alg"] !== "ed25519") return invalid(`audit_open.checkpoints.alg is ${JSON.stringify(c["alg"] ?? null)}, not "ed25519"`)
    const key = keyNamed(cc, c["key"])
    if (typeof key === "string") return invalid(`audit_open.checkpoints.key ${key}`)
    if (typeof c["origin"] !== "string") return invalid("audit_open.checkpoints.origin is not a string")
    return { ...ck, key, origin: c["origin"], named: true }
  }
  if (type === "key_rotation") {
    if (payload["alg"] !== "ed25519") return invalid(`key_rotation.alg is ${JSON.stringify(payload["alg"] ?? null)}, not "ed25519"`)
    const key = keyNamed(cc, payload["key"])
    if (typeof key === "string") return invalid(`key_rotation.key ${key}`)
    const previous = payload["previous"]
    if (previous === null) {
      // a log that had no checkpoint key takes one: nothing can vouch for it but `publicKeys`
      if (ck.key !== undefined) return invalid(`key_rotation names no previous key, but the log's checkpoint key is ${idOf(ck.key)}`)
      // a checkpoint whose signature waits is settled before the key changes
      const bad = settle(ck.unsigned)
      if (bad !== undefined) return bad
      return { ...ck, key, unsigned: undefined }
    }
    const prev = keyNamed(cc, previous)
    if (typeof prev === "string") return invalid(`key_rotation.previous ${prev}`)
    if (ck.key === undefined || prev.text !== ck.key.text) {
      return invalid(`key_rotation's previous key is ${idOf(prev)}, but the log's checkpoint key is ${ck.key === undefined ? "none" : idOf(ck.key)}`)
    }
    return { ...ck, rotation: { seq, key } }
  }
  if (type !== "checkpoint") return ck
  const count = ck.count + 1
  // without the log's beginning there is no tree to check a checkpoint against
  if (ck.tree === undefined) return { ...ck, count }
  const note = payload["note"]
  if (typeof note !== "string") return invalid("checkpoint.note is not a signed note text")
  // read at once: the form of the note and who claims to sign it (no Ed25519 work yet)
  const read = Note.read(note, ck.trusted)
  if (Either.isLeft(read)) {
    const e = read.left
    if (e._tag !== "NoteUnverified") return invalid(`the checkpoint's note: ${noteWords(e)}`)
    const r = ck.rotation
    if (r !== undefined && e.signers.includes(idOf(r.key))) return notConfirmed(line, seq, e.signers, ck)
    return new CheckpointUntrusted({ line, seq, signers: e.signers, reason: `the checkpoint is ${untrustedWords(e.signers)}` })
  }
  const opened = read.right
  const signers = opened.signers.map(idOf)
  if (ck.key !== undefined && !signers.includes(idOf(ck.key))) {
    const r = ck.rotation
    if (r !== undefined && signers.includes(idOf(r.key))) return notConfirmed(line, seq, signers, ck)
    return new CheckpointUntrusted({ line, seq, signers, reason: `the checkpoint is signed by ${signers.join(", ")}, not by the log's checkpoint key ${idOf(ck.key)}` })
  }
  // A rotation's confirming checkpoint is the only signature that vouches for the new key: it is
  // verified here, as every one is with `everySignature`, before anything else is judged
  const eager = cc.everySignature || ck.rotation !== undefined
  if (eager) {
    const bad = Note.verifySignatures(opened)
    if (bad !== undefined) return invalid(`the checkpoint's note: ${noteWords(bad)}`)
  }
  const tree = treeCheck(ck, ck.tree, payload, opened.text, seq, headBefore)
  if (typeof tree === "string") {
    // a note that does not describe this tree: say whether it was altered after signing (any
    // hand) or signed so (the key's holder), as the eager check would have
    const bad = eager ? undefined : Note.verifySignatures(opened)
    return invalid(bad !== undefined ? `the checkpoint's note: ${noteWords(bad)}` : tree)
  }
  // The checkpoint whose signature waits is taken over by this one when this one's signers include
  // its signers: this root covers its entry. Otherwise it is settled now.
  const waiting = ck.unsigned
  if (waiting !== undefined && !signsAll(opened, waiting.note)) {
    const bad = settle(waiting)
    if (bad !== undefined) return bad
  }
  const unsigned = eager ? undefined : { line, seq, note: opened }
  return confirmed(ck, { ...ck, origin: tree.origin, count, covered: seq + 1, last: { size: seq, root: tree.rootText, note }, unsigned })
}

/**
 * The checks of a checkpoint against the tree and the chain at its position (design 13): its
 * origin, size (= its seq), head (= the hash before it), root (= the recomputed one) and payload
 * (= the note's). The log's origin and the root's text, or why it does not hold.
 */
const treeCheck = (
  ck: CkState,
  tree: Merkle.Frontier,
  payload: Record<string, unknown>,
  text: string,
  seq: number,
  headBefore: string
): { readonly origin: string; readonly rootText: string } | string => {
  const root = Merkle.rootOf(tree)
  const rootText = Buffer.from(root).toString("base64")
  // the body a checkpoint at this position must have, exactly (C2SP tlog-checkpoint, design 13):
  // when it is that, nothing is left to parse; otherwise the parse below says what differs
  if (ck.origin !== undefined && text === `${ck.origin}\n${seq}\n${rootText}\nhead ${headBefore}\n`) {
    if (payload["size"] !== seq || payload["root"] !== rootText || payload["head"] !== headBefore) {
      return "the checkpoint's payload (size, root, head) differs from its note"
    }
    return { origin: ck.origin, rootText }
  }
  const parsed = Note.parseCheckpointSync(text)
  if (Either.isLeft(parsed)) return `the checkpoint's note: ${parsed.left.reason}`
  const body = parsed.right
  const origin = ck.origin ?? body.origin
  if (body.origin !== origin) return `the checkpoint's origin is ${JSON.stringify(body.origin)}, the log's is ${JSON.stringify(origin)}`
  if (body.size !== seq || body.size !== tree.size) {
    return `the checkpoint's tree size is ${body.size}, but it stands at seq ${seq}: it must cover the ${seq} entries before it`
  }
  if (body.extensions.length !== 1 || !body.extensions[0]!.startsWith("head ")) {
    return `the checkpoint's note must hold one extension line, the chain head (${body.extensions.length} found${body.extensions.some((x) => x.startsWith("pack ")) ? "; a pack line belongs to a pack's _meta.checkpoint only" : ""})`
  }
  const head = body.extensions[0]!.slice(5)
  if (head !== headBefore) return `the checkpoint's head is ${head.slice(0, 12)}…, but the entry before it has hash ${headBefore.slice(0, 12)}…`
  if (!equalRoots(root, body.root)) return `the checkpoint's root is not the root of the tree of the ${seq} entries before it`
  if (payload["size"] !== body.size || payload["root"] !== rootText || payload["head"] !== head) {
    return "the checkpoint's payload (size, root, head) differs from its note"
  }
  return { origin, rootText }
}

/** Whether every key that signs `earlier` signs `later` too (so `later`'s signatures vouch for it). */
const signsAll = (later: Note.ReadNote, earlier: Note.ReadNote): boolean =>
  earlier.signers.every((e) => later.signers.some((l) => l.keyHash === e.keyHash && l.name === e.name))

/** A waiting checkpoint's signatures verified: its failure, located at it, or undefined. */
const settle = (u: Unsigned | undefined): CheckpointInvalid | undefined => {
  if (u === undefined) return undefined
  const bad = Note.verifySignatures(u.note)
  return bad === undefined ? undefined : new CheckpointInvalid({ line: u.line, seq: u.seq, reason: `the checkpoint's note: ${noteWords(bad)}` })
}

/** `next`, with a pending key rotation confirmed: a checkpoint under the current key covers it. */
const confirmed = (ck: CkState, next: CkState): CkState => {
  const r = ck.rotation
  return r === undefined
    ? next
    : { ...next, key: r.key, rotation: undefined, trusted: next.trusted.some((t) => t.text === r.key.text) ? next.trusted : [...next.trusted, r.key] }
}

const notConfirmed = (line: number, seq: number, signers: ReadonlyArray<string>, ck: CkState) =>
  new CheckpointUntrusted({
    line,
    seq,
    signers,
    reason: `the checkpoint is signed by ${ck.rotation!.key.name}+${ck.rotation!.key.keyId}, the key the log rotated to at seq ${ck.rotation!.seq}, but no checkpoint under ${ck.key === undefined ? "the previous key" : idOf(ck.key)} covers that rotation: rotation not confirmed`
  })

/**
 * The checks of a pack's `_meta.checkpoint` (design 13): it opens under the trusted keys, is
 * signed by the log's checkpoint key, and covers exactly this pack: its entries, head, the root
 * of all its entries, and (its `pack` line) the seal digest of its header and rows' controls.
 * The reason it does not, if it does not.
 */
const metaCheckpointProblem = (state: StateImpl, header: Header, ck: CkState): { readonly reason: string } | CheckpointSeen => {
  const note = header.checkpoint
  if (typeof note !== "string") return { reason: "_meta.checkpoint is not a signed note text" }
  const opened = Note.openSync(note, ck.trusted)
  if (Either.isLeft(opened)) {
    const e = opened.left
    return { reason: `_meta.checkpoint is ${e._tag === "NoteUnverified" ? untrustedWords(e.signers) : noteWords(e)}` }
  }
  const signers = opened.right.verified.map(idOf)
  if (ck.key !== undefined && !signers.includes(idOf(ck.key))) {
    return { reason: `_meta.checkpoint is signed by ${signers.join(", ")}, not by the log's checkpoint key ${idOf(ck.key)}` }
  }
  const parsed = Note.parseCheckpointSync(opened.right.text)
  if (Either.isLeft(parsed)) return { reason: `_meta.checkpoint: ${parsed.left.reason}` }
  const body = parsed.right
  if (ck.origin !== undefined && body.origin !== ck.origin) return { reason: `_meta.checkpoint's origin is ${JSON.stringify(body.origin)}, the log's is ${JSON.stringify(ck.origin)}` }
  const pack = body.extensions.length === 2 && body.extensions[1]!.startsWith("pack ") ? body.extensions[1]!.slice(5) : undefined
  if (pack === undefined || !body.extensions[0]!.startsWith("head ")) {
    return { reason: "_meta.checkpoint is not an export note (a head line, then a pack line): an in-chain checkpoint's note does not vouch for a pack" }
  }
  if (body.size !== state.entries) return { reason: `_meta.checkpoint covers ${body.size} entries, the pack holds ${state.entries}` }
  if (body.extensions[0]!.slice(5) !== state.head) return { reason: "_meta.checkpoint's head is not the pack's last entry" }
  if (!equalRoots(Merkle.rootOf(ck.tree!), body.root)) return { reason: "_meta.checkpoint's root is not the root of the pack's entries" }
  const digest = sealDigest(header.canonicalMeta!, state.rows!.digest())
  if (pack !== digest) return { reason: "_meta.checkpoint's pack line does not match the header or the rows' controls" }
  return { size: body.size, root: Buffer.from(body.root).toString("base64"), note }
}

/** The head of a segment that starts mid-chain, before its first entry says where it stands. */
const FLOATING = ""

const NULL_BYTES = Buffer.from("null")

/** Lines per batch of the fast path (see `Splitter.batch`). */
const BATCH = 64

/** The most the splitter takes from a chunk at once (the size of a file read). */
const PIECE = 1 << 20

/**
 * The default longest line (FORMAT part C reads a pack as a stream; a line is held whole while it
 * is checked). Real entries are a few kilobytes: a line beyond this is not an entry.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024

/**
 * The highest `maxLineBytes` honoured: the longest string this JavaScript engine can make (a
 * pack's rows are read as text). A larger option is taken as this.
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_LINE_BYTES_CEILING: number = bufferConstants.MAX_STRING_LENGTH

const tooLong = (line: number, max: number) =>
  new MalformedLine({ line, seq: null, reason: `line is longer than the limit of ${max} bytes (maxLineBytes, --max-line-bytes)` })

/** Where the first line of buf[from, …) longer than `max` starts (its end may be past the buffer); -1 if none. */
const longLineAt = (buf: Buffer, from: number, max: number): number => {
  for (let p = from;;) {
    const nl = buf.indexOf(0x0a, p)
    if ((nl < 0 ? buf.length : nl) - p > max) return p
    if (nl < 0) return -1
    p = nl + 1
  }
}

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))

const isBlank = (b: Buffer, start: number, end: number): boolean => {
  for (let i = start; i < end; i++) {
    const c = b[i]
    if (c !== 0x20 && c !== 0x09) return false
  }
  return true
}

/**
 * The members of `_meta` that FORMAT A.4 names. `system`, `risk_tier`, `head_hash` and `entries`
 * are covered by `sig`; the others are left unauthenticated by the reference format, which is why
 * our packs add a seal (B.3). A member outside this list is covered by nothing unless a seal is
 * there (the seal's digest covers every member but `sig` and `seal`).
 */
const A4_MEMBERS: ReadonlySet<string> = new Set([
  "system",
  "risk_tier",
  "framework",
  "controls_covered",
  "summary",
  "head_hash",
  "entries",
  "disclaimer",
  "sig"
])

/** The members of `_meta.seal` (B.3); anything else in it is covered by nothing. */
const SEAL_MEMBERS = ["alg", "key_id", "digest", "sig"] as const

/** The only seal algorithm this verifier checks: HMAC-SHA256 with the log's key. */
const SEAL_ALG = "hmac-sha256"

/**
 * A parsed value as Schema decoding wants it: numbers as numbers (integers stay exact, as
 * `entries` must be an int) and objects without a prototype, so that a member named
 * `__proto__`, `constructor` or `toString` is a member like any other and never a prototype or a
 * method.
 */
const plainOf = (v: Canonical.Json): unknown => {
  if (v instanceof Canonical.Num) return v.toNumber()
  if (Array.isArray(v)) return v.map(plainOf)
  if (v !== null && typeof v === "object") {
    const o: Record<string, unknown> = Object.create(null)
    for (const k of Object.keys(v)) o[k] = plainOf((v as Record<string, Canonical.Json>)[k]!)
    return o
  }
  return v
}

/**
 * The deepest nesting accepted in a pack header, counting the `_meta` object itself as level 1
 * (FORMAT A.4 needs 3: `_meta.summary.flags_by_action`). A deeper `_meta` is `MalformedLine`:
 * checking a header must never depend on how much call stack is left, and no real header comes
 * near this. Entries' payloads and rows' `controls` have no such limit (they are read without
 * recursion).
 *
 * @since 0.1.0
 * @category constants
 */
export const MAX_META_DEPTH = 64

/** Whether `v` nests deeper than `max` levels (itself level 1). Iterative: any depth is measured. */
const deeperThan = (v: Canonical.Json, max: number): boolean => {
  const stack: Array<[Canonical.Json, number]> = [[v, 1]]
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!
    if (x === null || typeof x !== "object" || x instanceof Canonical.Num) continue
    if (depth > max) return true
    const children = Array.isArray(x) ? x : Object.values(x)
    for (const c of children) if (c !== null && typeof c === "object" && !(c instanceof Canonical.Num)) stack.push([c, depth + 1])
  }
  return false
}

const isText = (v: Canonical.Json | undefined): boolean => typeof v === "string"
const isTextOrNull = (v: Canonical.Json | undefined): boolean => v === null || typeof v === "string"

/**
 * What each member of `_meta` that FORMAT A.4 names must be, in that order, for messages that
 * say which member is wrong and what it must be (`Entry.Meta` states the same types, and decodes
 * what passes these). `summary` may be anything; `seal` is judged on its own (B.3).
 */
const META_MEMBERS: ReadonlyArray<{
  readonly name: string
  readonly required: boolean
  readonly holds: (v: Canonical.Json | undefined) => boolean
  readonly expected: string
}> = [
  { name: "system", required: true, holds: isText, expected: "a string" },
  { name: "risk_tier", required: true, holds: isTextOrNull, expected: "a string or null" },
  { name: "framework", required: false, holds: isTextOrNull, expected: "a string or null" },
  { name: "controls_covered", required: false, holds: (v) => Array.isArray(v) && v.every(isText), expected: "an array of strings" },
  { name: "head_hash", required: true, holds: isText, expected: "a string" },
  {
    name: "entries",
    required: true,
    // written as an integer (no fraction, no exponent), not negative, and exact as a number
    holds: (v) => v instanceof Canonical.Num && v.isInteger && Number.isSafeInteger(v.toNumber()) && !v.lexeme.startsWith("-"),
    expected: "a non-negative integer (below 2^53)"
  },
  { name: "disclaimer", required: false, holds: isText, expected: "a string" },
  { name: "sig", required: false, holds: isText, expected: "a string" }
]

/** The first member of `_meta` that is missing or of the wrong type, said plainly; else undefined. */
const mistyped = (json: { readonly [k: string]: Canonical.Json }): string | undefined => {
  const present = new Set(Object.keys(json))
  for (const m of META_MEMBERS) {
    if (!present.has(m.name)) {
      if (m.required) return `_meta.${m.name} is missing`
    } else if (!m.holds(json[m.name])) return `_meta.${m.name} must be ${m.expected}`
  }
  return undefined
}

interface MetaParsed {
  readonly value: Entry.Meta
  readonly signedBody: string
  readonly seal: SealCheck | undefined
  readonly canonicalMeta: string | undefined
  readonly checkpoint: Canonical.Json | undefined
  /** members nothing covers unless a seal does: reported as HeaderInvalid when a key is given */
  readonly unsealed: ReadonlyArray<string>
}

const metaOf = (text: string, line: number): Either.Either<MetaParsed, MalformedLine> => {
  const malformed = (reason: string) => Either.left(new MalformedLine({ line, seq: null, reason }))
  // Canonical.parse builds objects without a prototype and refuses duplicate keys at any depth
  const parsed = Canonical.parse(text)
  if (Either.isLeft(parsed)) return malformed(`_meta: ${parsed.left.message}`)
  // before anything that walks the value recursively (plainOf, the Schema decode)
  if (deeperThan(parsed.right, MAX_META_DEPTH)) return malformed(`_meta is nested more than ${MAX_META_DEPTH} levels deep (MAX_META_DEPTH)`)
  const json = parsed.right as { readonly [k: string]: Canonical.Json }
  const members = Object.keys(json)
  const wrong = mistyped(json)
  if (wrong !== undefined) return malformed(wrong)
  const decoded = Schema.decodeUnknownEither(Entry.Meta)(plainOf(json))
  // what passes `mistyped` decodes; should the two ever part, say where without the schema's text
  if (Either.isLeft(decoded)) return malformed(`_meta does not have the form of FORMAT A.4 (${ParseResult.ArrayFormatter.formatErrorSync(decoded.left).map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")})`)
  const entries = json["entries"] as Canonical.Num
  const body = Canonical.encode({
    entries,
    head_hash: json["head_hash"],
    risk_tier: json["risk_tier"],
    system: json["system"]
  })
  if (Either.isLeft(body)) return malformed(`_meta: ${body.left.message}`)
  let seal: SealCheck | undefined
  let canonicalMeta: string | undefined
  if (members.includes("seal") || members.includes("checkpoint")) {
    // a seal's digest, and an export note's `pack` line, cover every member of _meta but the
    // signatures: `sig`, `seal` and `checkpoint` (FORMAT B.3)
    const rest: Record<string, Canonical.Json> = Object.create(null)
    for (const k of members) if (k !== "sig" && k !== "seal" && k !== "checkpoint") rest[k] = json[k]!
    const c = Canonical.encode(rest)
    if (Either.isLeft(c)) return malformed(`_meta: ${c.left.message}`)
    canonicalMeta = c.right
  }
  if (members.includes("seal")) {
    const v = json["seal"]!
    const fields = v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Canonical.Num)
      ? (v as { readonly [k: string]: Canonical.Json })
      : undefined
    const text = (k: string) => (fields !== undefined && Object.keys(fields).includes(k) && typeof fields[k] === "string" ? (fields[k] as string) : undefined)
    const [alg, keyId, digest, sig] = SEAL_MEMBERS.map(text)
    if (alg === undefined || keyId === undefined || digest === undefined || sig === undefined) {
      return malformed(`_meta.seal needs ${SEAL_MEMBERS.join(", ")}, each a string`)
    }
    const extra = Object.keys(fields!).filter((k) => !(SEAL_MEMBERS as ReadonlyArray<string>).includes(k))
    seal = { alg, keyId, digest, sig, extra }
  }
  const unsealed = members.filter((k) => k !== "seal" && !A4_MEMBERS.has(k))
  const checkpoint = members.includes("checkpoint") ? json["checkpoint"] : undefined
  return Either.right({ value: decoded.right, signedBody: body.right, seal, unsealed, canonicalMeta, checkpoint })
}

/**
 * Why a header line holds more than `_meta`, if it does. FORMAT A.4: the header line is
 * `{"_meta": {...}}`. Nothing covers a member beside `_meta` (not `_meta.sig`, not the seal), so
 * one is refused rather than passed over. (The line reader has accepted the line; it is read
 * again here for its names, which that reader does not keep.)
 */
const besideMeta = (src: Buffer, start: number, end: number): string | undefined => {
  const parsed = Canonical.parse(src.subarray(start, end))
  if (Either.isLeft(parsed)) return `header line: ${parsed.left.message}`
  const others = parsed.right !== null && typeof parsed.right === "object" ? Object.keys(parsed.right).filter((k) => k !== "_meta") : []
  return others.length > 0 ? `the header line holds ${names(others)} beside _meta (a header line holds _meta only)` : undefined
}

/** `"a"`, or `"a", "b"`: member names as they would be written in JSON. */
const names = (ks: ReadonlyArray<string>): string => ks.map((k) => JSON.stringify(k)).join(", ")

/**
 * Verify one physical line (with or without its `\n`; a newline before its end is
 * `MalformedLine`). Blank lines only advance the line count.
 *
 * @since 0.1.0
 * @category verification
 */
export const step = (state: State, bytes: Uint8Array): Either.Either<State, VerifyError> => {
  // every State is a StateImpl (the brand keeps others out of the type)
  const s = state as StateImpl
  let r: StateImpl | VerifyError
  try {
    r = stepBytes(s, bytes)
  } catch (e) {
    // the safety net of stepAt, for the checks before it (see there)
    if (e instanceof RangeError) r = beyondLimits(s.line + 1, e)
    else throw e
  }
  return r instanceof StateImpl ? Either.right(r) : Either.left(r)
}

const stepBytes = (s: StateImpl, bytes: Uint8Array): StateImpl | VerifyError => {
  const buf = asBuffer(bytes)
  // a line given with its line end is that line; a newline before its end makes it two lines,
  // which a file or a stream of the same bytes reads as two (JSON would take the newline as
  // whitespace, and the entry would verify here and nowhere else)
  let end = buf.length
  if (end > 0 && buf[end - 1] === 0x0a) end--
  const inner = buf.indexOf(0x0a)
  if (inner >= 0 && inner < end) {
    return new MalformedLine({ line: s.line + 1, seq: null, reason: `a newline inside the line (byte ${inner + 1}): step takes one physical line` })
  }
  if (end > s.config.maxLine) return tooLong(s.line + 1, s.config.maxLine)
  return stepAt(s, buf, 0, end, false)
}

/**
 * `step` on src[start, end), with the UTF-8 check already done when `utf8` is true. Internal steps
 * return the next state or the error itself: no Either per line on the hot path.
 */
const stepAt = (state: StateImpl, src: Buffer, start: number, end: number, utf8: boolean): StateImpl | VerifyError => {
  const cc = state.config.ck
  if (cc !== undefined && cc.fault !== undefined) return cc.fault
  try {
    let next = stepLine(state, src, start, end, utf8)
    if (cc !== undefined && next instanceof StateImpl && next.entries > state.entries) {
      next = ckRow(state, next, src, start, end)
      if (!(next instanceof StateImpl)) return next
    }
    // in a pack, the first entry and (when sealed) every row's controls matter to the header checks
    if (next instanceof StateImpl && next.entries > state.entries && next.header !== undefined && (state.entries === 0 || next.rows !== undefined)) {
      return packRow(next, src.toString("utf8", start, end), state.entries === 0)
    }
    return next
  } catch (e) {
    // A safety net: every known input is a verdict without this, but a line that still exhausts
    // the call stack or a string's length must be one too, never an exception past the Either.
    if (e instanceof RangeError) return beyondLimits(state.line + 1, e)
    throw e
  }
}

/** A line that hit a limit of the engine (call stack, string length) while it was checked. */
const beyondLimits = (line: number, e: RangeError): MalformedLine =>
  // built without the Schema's validation, which needs call stack that may be what ran out
  new MalformedLine({ line, seq: null, reason: `the line could not be checked within this verifier's limits (${e.message})` }, true)

/**
 * The header checks' part of a pack row, taken into the state that accepted it: the producer of
 * its first entry, its controls.
 */
const packRow = (s: StateImpl, text: string, first: boolean): StateImpl => {
  let row: { type?: unknown; payload?: { producer?: unknown }; controls?: unknown }
  try {
    row = JSON.parse(text.replace(/^\ufeff/, "")) as typeof row
  } catch {
    return s
  }
  let header = s.header!
  if (first && row.type === "audit_open" && typeof row.payload?.producer === "string" && row.payload.producer.startsWith("acttrace/")) {
    header = { ...header, sealRequired: true }
  }
  let rows = s.rows
  if (rows !== undefined) {
    const c = Canonical.encode(row.controls === undefined ? null : row.controls)
    // controls that have no canonical form can match no seal
    rows = rows.add(Buffer.from(Either.isRight(c) ? c.right + "\n" : "\u0000\n", "utf8"))
  }
  return header === s.header && rows === s.rows
    ? s
    : new StateImpl(s.config, s.line, s.entries, s.head, s.lastSeq, s.lastLine, header, rows, s.anySigned, s.pending, s.start, s.ck)
}

const stepLine = (state: StateImpl, src: Buffer, start: number, end: number, utf8: boolean): StateImpl | VerifyError => {
  const line = state.line + 1
  // a byte order mark where the input begins (a range of a file begins elsewhere)
  if (line === 1 && !state.config.range && end - start >= 3 && src[start] === BOM0 && src[start + 1] === BOM1 && src[start + 2] === BOM2) start += 3
  if (end > start && src[end - 1] === 0x0d) end--
  if (end === start || (src[start]! <= 0x20 && isBlank(src, start, end))) return withLine(state, line)
  if (!utf8 && !isUtf8(src.subarray(start, end))) return new MalformedLine({ line, seq: null, reason: "not UTF-8" })

  // Fast paths: our layout, then the reference layout, when the line links, hashes and signs as
  // expected. Anything short of that is left to the general reader below.
  if (state.config.fastPath && state.pending === undefined) {
    const f = state.config.fast
    const g = state.config.fastReference
    const p = f.parse(src, start, end) ? f : g.parse(src, start, end) ? g : undefined
    if (p !== undefined) {
      const ok = fastAccept(state, src, start, line, p)
      if (ok !== undefined) return ok
    }
  }
  // Anything else, including every failure, goes through the general reader, which explains it.
  return stepGeneral(state, src, start, end, line)
}

const tryParse = (r: LineReader, src: Buffer, start: number, end: number, defer: boolean): unknown => {
  try {
    r.parse(src, start, end, defer)
    return undefined
  } catch (e) {
    return e
  }
}

/** Whether a fast-parsed line with this `seq` and `prev_hash` (at prevAt) follows `state`. */
const links = (state: StateImpl, src: Buffer, seq: number, prevAt: number): boolean =>
  seq === state.lastSeq + 1 && hexAt(src, prevAt, state.head)

/**
 * Whether a fast-parsed line whose body hashes to `computed` holds that hash and carries a valid
 * signature. Equality with hex strings also vouches that the unscanned 64-byte fields are
 * well-formed.
 */
const holds = (state: StateImpl, src: Buffer, hashAt: number, sigAt: number, sigLen: number, computed: string): boolean => {
  if (!hexAt(src, hashAt, computed)) return false
  const mac = state.config.mac
  return mac === undefined
    ? sigLen === 0 || plainAt(src, sigAt, sigLen)
    : sigLen === 64 && equalBytesConstantTime(src, sigAt, 64, mac.ofHash(computed))
}

/** The next state when a fast-parsed line links, hashes and signs as expected; else undefined. */
const fastAccept = (state: StateImpl, src: Buffer, start: number, line: number, p: FastParsed): StateImpl | undefined => {
  // the link is checked before hashing, so a line that cannot link costs no hash
  if (!links(state, src, p.seq, p.prevAt)) return undefined
  const computed = sha256("sha256", p.message(src, start), "hex")
  return holds(state, src, p.hashAt, p.sigAt, p.sigLen, computed) ? accepted(state, line, p.seq, computed, p.sigLen > 0) : undefined
}

const stepGeneral = (state0: StateImpl, src: Buffer, start: number, end: number, line: number): StateImpl | VerifyError => {
  let state = state0
  const r = state.config.reader
  let computed: string | undefined
  let failure = tryParse(r, src, start, end, state.config.fastPath)
  if (r.unchecked) {
    const mac = state.config.mac
    const vouched = failure === undefined && !r.isMeta && state.pending === undefined && r.prevHash.equals(state.head) &&
      r.hash.equals(computed = sha256("sha256", r.message(), "hex")) &&
      (mac === undefined ? r.sig.isEmpty || plainAt(r.sig.buf, r.sig.start, r.sig.end - r.sig.start) : r.sig.equalsConstantTime(mac.ofHash(computed)))
    if (vouched && r.seq === state.lastSeq + 1) return accepted(state, line, r.seq, computed!, !r.sig.isEmpty)
    // otherwise look at every byte before concluding anything
    computed = undefined
    failure = tryParse(r, src, start, end, false)
  }
  if (failure !== undefined) {
    if (failure instanceof ScanFailure) {
      return new MalformedLine({ line, seq: null, reason: `${failure.reason} (byte ${failure.position - start + 1})` })
    }
    if (failure instanceof LineError) return new MalformedLine({ line, seq: null, reason: failure.reason })
    if (failure instanceof RangeError) return beyondLimits(line, failure)
    return new MalformedLine({ line, seq: null, reason: String(failure) })
  }

  if (r.isMeta) {
    // (a log that begins mid-chain may still begin with a header: the pack of a bounded memory
    // log does; a range of a file after its first line may not)
    if (state.entries > 0 || state.pending !== undefined || state.header !== undefined || state.config.range) {
      return new MalformedLine({ line, seq: null, reason: "_meta is only allowed on the first line" })
    }
    const beside = besideMeta(src, start, end)
    if (beside !== undefined) return new MalformedLine({ line, seq: null, reason: beside })
    const m = metaOf(r.metaText(), line)
    if (Either.isLeft(m)) return m.left
    const { canonicalMeta, checkpoint, seal, signedBody, unsealed, value } = m.right
    const header: Header = { value, line, signedBody, unsealed, seal, sealRequired: false, canonicalMeta, checkpoint }
    // the rows' controls are digested for a seal, and for the export note's `pack` line when it is checked
    const digestRows = seal !== undefined || (checkpoint !== undefined && state.config.ck !== undefined)
    return new StateImpl(
      state.config,
      line,
      state.entries,
      state.head,
      state.lastSeq,
      state.lastLine,
      header,
      digestRows ? RowsDigest.empty() : undefined,
      state.anySigned,
      state.pending,
      state.start,
      state.ck
    )
  }

  const seq = r.seq
  if (state.pending !== undefined) {
    const p = state.pending
    return (
      seq > p.lastSeq && seq < p.seq
        ? new ReorderDetected({ line: p.line, seq: p.seq, reason: `seq ${p.seq} comes before seq ${seq} (entries swapped)` })
        : new DeletionDetected({ line: p.line, seq: p.seq, reason: jumpReason(p) })
    )
  }

  if (state.head === FLOATING) {
    // a segment that begins mid-chain takes the chain up from its first entry's link
    const prev = r.prevHash.value
    state = new StateImpl(state.config, state.line, 0, prev, seq - 1, state.lastLine, state.header, state.rows, false, undefined, { prev, seq }, state.ck)
  }
  computed ??= sha256("sha256", r.message(), "hex")
  const expectedSeq = state.lastSeq + 1
  if (r.prevHash.equals(state.head)) {
    if (seq !== expectedSeq) {
      return new EditDetected({ line, seq, reason: `seq is ${seq}, expected ${expectedSeq}` })
    }
    if (!r.hash.equals(computed)) {
      return new EditDetected({ line, seq, reason: "content does not match its hash" })
    }
  } else if (seq === expectedSeq) {
    return new EditDetected({ line, seq, reason: "prev_hash does not link to the previous entry" })
  } else if (seq <= state.lastSeq) {
    return new ReorderDetected({ line, seq, reason: `seq ${seq} after seq ${state.lastSeq}` })
  } else {
    // A forward jump: the next line tells a swap (the skipped entry follows) from a deletion.
    return new StateImpl(state.config, line, state.entries, state.head, state.lastSeq, state.lastLine, state.header, state.rows, state.anySigned, { line, seq, lastSeq: state.lastSeq }, state.start, state.ck)
  }

  const mac = state.config.mac
  const signed = !r.sig.isEmpty
  if (mac !== undefined) {
    if (!signed) return new SignatureInvalid({ line, seq, reason: "entry is not signed" })
    // `computed` equals the line's hash here
    if (!r.sig.equalsConstantTime(mac.ofHash(computed))) {
      return new SignatureInvalid({ line, seq, reason: state.entries === 0 ? otherKey(state.config, src, start, end) : "signature does not match the key" })
    }
  }
  return accepted(state, line, seq, computed, signed)
}

/**
 * Why the first entry's signature does not match: when it is the log's `audit_open` and names
 * another signing key id than the key given (FORMAT B.1), the key is another one, and the words
 * say so with both ids, which a reader can tell from tampering. Read only on this failure.
 */
const otherKey = (config: Config, src: Buffer, start: number, end: number): string => {
  const plain = "signature does not match the key"
  try {
    const row = JSON.parse(src.toString("utf8", start, end).replace(/^\ufeff/, "")) as { type?: unknown; payload?: { signing?: { key_id?: unknown } } }
    const signedWith = row.type === "audit_open" ? row.payload?.signing?.key_id : undefined
    return typeof signedWith === "string" && config.keyId !== undefined && signedWith !== config.keyId
      ? `${plain}: the log was signed with key id ${signedWith}, the key given has key id ${config.keyId}`
      : plain
  } catch {
    return plain
  }
}

/**
 * Why a forward jump in `seq` is a deletion, in the reader's words: a chain whose first entries
 * are gone has no entry before the jump (`lastSeq` is -1, a value no entry has), so it says where
 * the chain starts and what is missing instead.
 */
const jumpReason = (p: { readonly seq: number; readonly lastSeq: number }): string =>
  p.lastSeq < 0
    ? `chain link broken: the chain starts at seq ${p.seq} (${p.seq === 1 ? "entry 0 is" : `entries 0 to ${p.seq - 1} are`} missing)`
    : `chain link broken: seq jumps from ${p.lastSeq} to ${p.seq}`

/**
 * Conclude after the last line: pending jumps, header signature, completeness.
 *
 * @since 0.1.0
 * @category verification
 */
export const finish = (s: State): Either.Either<Report, VerifyError> => {
  const state = s as StateImpl
  const { config, header } = state
  const cc = config.ck
  if (cc !== undefined && cc.fault !== undefined) return Either.left(cc.fault)
  if (state.pending !== undefined) {
    const p = state.pending
    return Either.left(new DeletionDetected({ line: p.line, seq: p.seq, reason: jumpReason(p) }))
  }
  if (state.entries === 0) return Either.left(new MalformedLine({ line: state.line, seq: null, reason: "no entry at all" }))
  const at = { line: state.lastLine, seq: state.lastSeq }
  let ck = state.ck
  // a pack's export note, judged once (below): when it holds, it covers every entry, so it also
  // settles a checkpoint whose signature still waits; otherwise that signature is verified now
  const exportNote = cc !== undefined && ck !== undefined && ck.tree !== undefined && header !== undefined && header.checkpoint !== undefined
    ? metaCheckpointProblem(state, header, ck)
    : undefined
  if (ck?.unsigned !== undefined && (exportNote === undefined || "reason" in exportNote)) {
    const bad = settle(ck.unsigned)
    if (bad !== undefined) return Either.left(bad)
  }
  if (cc !== undefined && cc.since?.deferred !== undefined && ck !== undefined) {
    // a published note no key given signed: trusted now if the log rotated to its key (confirmed)
    const opened = Note.openSync(cc.since.deferred, ck.trusted)
    if (Either.isLeft(opened)) {
      const e = opened.left
      return Either.left(
        e._tag === "NoteUnverified"
          ? new CheckpointUntrusted({ line: 0, seq: null, signers: e.signers, reason: `the published checkpoint (since) is ${untrustedWords(e.signers)}` })
          : new CheckpointInvalid({ line: 0, seq: null, reason: `the published checkpoint (since): ${noteWords(e)}` })
      )
    }
    if (ck.sinceDiffers !== undefined) return Either.left(ck.sinceDiffers)
  }
  if (cc !== undefined && cc.since !== undefined && ck !== undefined && !ck.sinceDone) {
    const since = cc.since
    if (ck.tree === undefined) {
      return Either.left(new CheckpointInvalid({ line: 0, seq: null, reason: `the published checkpoint (since) cannot be checked: this log starts at seq ${state.start?.seq ?? state.lastSeq}, so the tree of its first ${since.size} entries cannot be recomputed` }))
    }
    if (since.size > ck.tree.size) {
      return Either.left(rewritten(cc, at.line, at.seq, `the input holds ${ck.tree.size} entries, but the published checkpoint covers ${since.size}: this history ends before it`))
    }
    // (only the empty tree is left: every other size was compared when the tree reached it)
    const differs = sinceDiffers(since, ck.origin, ck.tree)
    if (differs !== undefined) return Either.left(rewritten(cc, at.line, at.seq, differs))
  }
  if (config.mac !== undefined && header !== undefined) {
    const m = header
    if (m.value.sig === undefined) return Either.left(new HeaderInvalid({ line: m.line, seq: null, reason: "_meta is not signed" }))
    if (!equalConstantTime(config.mac.hex(m.signedBody), m.value.sig)) {
      return Either.left(new HeaderInvalid({ line: m.line, seq: null, reason: "_meta signature does not match the key" }))
    }
  }
  let completeness: Completeness = "none"
  if (config.expectedHead !== undefined || config.expectedEntries !== undefined) {
    if (config.expectedHead !== undefined && config.expectedHead !== state.head) {
      return Either.left(new TruncationDetected({ ...at, reason: `head is ${state.head}, expected ${config.expectedHead}` }))
    }
    if (config.expectedEntries !== undefined && config.expectedEntries !== state.entries) {
      return Either.left(new TruncationDetected({ ...at, reason: `${state.entries} entries, expected ${config.expectedEntries}` }))
    }
    completeness = "expected-head"
  }
  if (header !== undefined) {
    const m = header.value
    if (m.head_hash !== state.head || m.entries !== state.entries) {
      return Either.left(
        new TruncationDetected({ ...at, reason: `_meta claims ${m.entries} entries ending at ${m.head_hash.slice(0, 12)}…, found ${state.entries} ending at ${state.head.slice(0, 12)}…` })
      )
    }
    if (completeness === "none") completeness = config.mac !== undefined ? "signed-header" : "unsigned-header"
  }
  if (header !== undefined) {
    const m = header
    const seal = header.seal
    const invalid = (reason: string) => Either.left(new HeaderInvalid({ line: m.line, seq: null, reason }))
    if (seal !== undefined) {
      // the seal has four members: a fifth would be covered by nothing, key or no key
      if (seal.extra.length > 0) return invalid(`_meta.seal holds ${names(seal.extra)}, which nothing covers`)
      // with a key, the seal must say it was made with this key
      if (config.mac !== undefined) {
        if (seal.alg !== SEAL_ALG) return invalid(`_meta.seal.alg is ${JSON.stringify(seal.alg)}, but the key given is an HMAC key (${SEAL_ALG})`)
        if (seal.keyId !== config.keyId) return invalid(`_meta.seal.key_id is ${JSON.stringify(seal.keyId)}, but the key given has key id ${config.keyId}`)
      }
      // the digest alone catches an accidental edit; the key proves who sealed it
      const digest = sealDigest(header.canonicalMeta!, state.rows!.digest())
      if (digest !== seal.digest) return invalid("_meta.seal does not match the header or the rows' controls")
      if (config.mac !== undefined && !equalConstantTime(config.mac.hex(digest), seal.sig)) {
        return invalid("_meta.seal signature does not match the key")
      }
    } else if (config.mac !== undefined) {
      if (header.sealRequired) return invalid("_meta.seal is missing (this pack's log was written by acttrace, whose packs are sealed)")
      // without a seal, `sig` covers four members and FORMAT A.4 names four more; with a key,
      // anything else would be accepted unauthenticated. (Without a key nothing in an unsealed
      // header is authenticated, completeness says `unsigned-header`, and members are not judged.)
      if (m.unsealed.length > 0) {
        return invalid(`_meta ${m.unsealed.length === 1 ? "member" : "members"} ${names(m.unsealed)} ${m.unsealed.length === 1 ? "is" : "are"} covered by neither _meta.sig nor a seal`)
      }
    }
  }
  // the export note (design 13): with public keys, a pack of a log that signs checkpoints must
  // carry one, and it must cover exactly this pack
  let metaCheckpoint: CheckpointSeen | undefined
  if (cc !== undefined && ck !== undefined && ck.tree !== undefined && header !== undefined) {
    const invalid = (reason: string) => Either.left(new HeaderInvalid({ line: header.line, seq: null, reason }))
    if (header.checkpoint === undefined) {
      if (ck.named) return invalid(`_meta.checkpoint is missing (this pack's log signs checkpoints${ck.key === undefined ? "" : ` with key ${idOf(ck.key)}`}, so its packs carry a signed export note)`)
    } else {
      const seen = exportNote!
      if ("reason" in seen) return invalid(seen.reason)
      metaCheckpoint = seen
      ck = { ...ck, covered: state.entries, last: seen }
      if (completeness !== "expected-head") completeness = "signed-checkpoint"
    }
  }
  if (config.requireComplete && (completeness === "none" || completeness === "unsigned-header")) {
    return Either.left(new TruncationDetected({ ...at, reason: `completeness is ${completeness === "none" ? "not claimed" : "claimed but not authenticated"} (--require-complete)` }))
  }
  return Either.right({
    entries: state.entries,
    head: state.head,
    signatures: config.mac !== undefined ? "verified" : state.anySigned ? "not-checked" : "absent",
    completeness,
    meta: header === undefined ? Option.none() : Option.some(header.value),
    checkpoints: ck === undefined || ck.tree === undefined ? "not-checked" : ck.count > 0 || metaCheckpoint !== undefined ? "verified" : "absent",
    checkpointCount: ck?.count ?? 0,
    unsealedTail: state.entries - (ck?.covered ?? 0),
    lastCheckpoint: Option.fromNullable(ck?.last)
  })
}

/**
 * Verify whole lines held in memory (tests, small inputs).
 *
 * @since 0.1.0
 * @category verification
 */
export const lines = (input: Iterable<Uint8Array | string>, options: Options = {}): Either.Either<Report, VerifyError> => {
  let s = initial(options)
  for (const l of input) {
    const r = step(s, typeof l === "string" ? Buffer.from(l, "utf8") : l)
    if (Either.isLeft(r)) return Either.left(r.left)
    s = r.right
  }
  return finish(s)
}

/** Chunk-level driver: splits chunks into lines and steps through them without per-line Effects. */
class Splitter {
  private carry: Array<Buffer> = []
  private carryLen = 0
  constructor(public state: StateImpl) {}

  push(chunk: Uint8Array): VerifyError | undefined {
    const buf = asBuffer(chunk)
    if (buf.length <= PIECE) return this.pushPiece(buf)
    // A large chunk (a source that hands over much at once) goes in pieces, as a file is read:
    // the kernel then never copies in more than a piece.
    for (let o = 0; o < buf.length; o += PIECE) {
      const err = this.pushPiece(buf.subarray(o, Math.min(o + PIECE, buf.length)))
      if (err !== undefined) return err
    }
    return undefined
  }

  private tooLong(): MalformedLine {
    this.carry = []
    this.carryLen = 0
    return tooLong(this.state.line + 1, this.state.config.maxLine)
  }

  private pushPiece(buf: Buffer): VerifyError | undefined {
    const max = this.state.config.maxLine
    let from = 0
    let nl = buf.indexOf(0x0a, 0)
    if (this.carryLen > 0) {
      // the line carried over stops growing once it passes the limit: nothing more is kept
      if (this.carryLen + (nl >= 0 ? nl : buf.length) > max) return this.tooLong()
    }
    if (nl >= 0 && this.carryLen > 0) {
      this.carry.push(buf.subarray(0, nl))
      const joined = Buffer.concat(this.carry, this.carryLen + nl)
      this.carry = []
      this.carryLen = 0
      const r = stepAt(this.state, joined, 0, joined.length, false)
      if (!(r instanceof StateImpl)) return r as VerifyError
      this.state = r
      from = nl + 1
      nl = buf.indexOf(0x0a, from)
    }
    if (buf.length - from > max) {
      // a line of this piece may pass the limit: verify the lines before it, then fail there
      const cut = longLineAt(buf, from, max)
      if (cut >= 0) return this.pushPiece(buf.subarray(from, cut)) ?? this.tooLong()
    }
    if (nl >= 0) {
      // One UTF-8 check for all whole lines of the chunk: a newline never sits inside a
      // multi-byte sequence, so the lines of valid text are valid text. On failure, check per line.
      const last = buf.lastIndexOf(0x0a)
      const utf8 = isUtf8(buf.subarray(from, last))
      this.last = last
      this.loaded = false
      while (nl >= 0) {
        const s = this.state
        if (utf8 && s.config.fastPath && s.entries > 0 && s.pending === undefined && s.head !== FLOATING) {
          const b = this.batch(buf, from)
          if (typeof b !== "number") return b
          if (b > from) {
            from = b
            nl = buf.indexOf(0x0a, from)
            continue
          }
        }
        const r = stepAt(this.state, buf, from, nl, utf8)
        if (!(r instanceof StateImpl)) return r as VerifyError
        this.state = r
        from = nl + 1
        nl = buf.indexOf(0x0a, from)
      }
    }
    if (from < buf.length) {
      // copy: the source may reuse its chunk buffers
      const rest = Buffer.from(buf.subarray(from))
      this.carry.push(rest)
      this.carryLen += rest.length
    }
    return undefined
  }

  // A batch of fast-path lines, in three passes: check and lay out every message, hash them all,
  // then link and sign in order. Keeping each kind of work together measured about 10 % faster
  // than line by line. Any line the fast path does not take ends the batch; any line whose link,
  // hash or signature does not hold, and every line after it in the batch, is stepped one by one.
  private msgs = Buffer.allocUnsafe(1 << 16)
  private readonly b = {
    seq: new Float64Array(BATCH),
    prevAt: new Int32Array(BATCH),
    hashAt: new Int32Array(BATCH),
    sigAt: new Int32Array(BATCH),
    sigLen: new Int32Array(BATCH),
    start: new Int32Array(BATCH),
    end: new Int32Array(BATCH),
    off: new Int32Array(BATCH + 1),
    hash: new Array<string>(BATCH)
  }

  /** Where a run gathers the controls of a sealed pack's rows. */
  private sealBuf = Buffer.allocUnsafe(1 << 16)

  /** The last newline of the chunk being pushed, and whether the kernel holds its lines. */
  private last = 0
  private loaded = false

  /** Lines from `from` through the batch; where the next line starts, or the error. */
  private batch(buf: Buffer, from: number): number | VerifyError {
    const kernel = kernelOf(this.state.config)
    if (kernel !== undefined) {
      if (!this.loaded) {
        kernel.load(buf, from, this.last + 1)
        this.loaded = true
      }
      const n = kernel.scan(from)
      if (n > 0) return this.run(kernel, buf, n)
    }
    // a sealed pack's rows go one by one (see `packRow`) unless the kernel took them
    if (this.state.rows !== undefined) return from
    return this.batchJs(buf, from)
  }

  // A run of the kernel: it has checked each line's form, laid out its message, linked it to the
  // line before and (with a key) checked its HMAC; here the first line is linked to the state and
  // each message is hashed. From the first line that does not hold, lines are stepped one by one.
  private run(kernel: Kernel, buf: Buffer, n: number): number | VerifyError {
    const state = this.state
    let good = links(state, buf, kernel.seq(0), kernel.at(0, R_PREV)) ? n : 0
    if (good > 0 && state.config.mac !== undefined) good = kernel.macCheck(n)
    const seal = state.rows
    const ck = state.ck
    const cc = state.config.ck
    const tree = ck !== undefined && ck.tree !== undefined
    // with checkpoint checks, the run ends with a checkpoint or key rotation entry, which is
    // checked against the tree of the entries before it. Its line is the kernel's like any other
    // (form, link, hash, HMAC, controls); without a tree it ends the run and is stepped alone.
    let special = -1
    if (ck !== undefined) {
      for (let i = 0; i < good; i++) {
        if (isCheckpointish(buf, kernel.at(i, R_START), kernel.at(i, R_PREV))) {
          special = i
          good = tree ? i + 1 : i
          break
        }
      }
    }
    let k = 0
    let signed = false
    let digestAt = 0
    for (; k < good; k++) {
      if (!kernel.hashHolds(k)) break
      if (seal !== undefined) {
        // a sealed pack: each row's canonical controls (the kernel checked them) go into the
        // digest, gathered here and hashed once per run
        const kind = kernel.controlsKind(k)
        if (kind === 2) break
        const bytes = kind === 1 ? kernel.controlsBytes(k) : NULL_BYTES
        if (this.sealBuf.length < digestAt + bytes.length + 1) {
          const bigger = Buffer.allocUnsafe(Math.max(this.sealBuf.length * 2, digestAt + bytes.length + 1))
          this.sealBuf.copy(bigger, 0, 0, digestAt)
          this.sealBuf = bigger
        }
        this.sealBuf.set(bytes, digestAt)
        digestAt += bytes.length
        this.sealBuf[digestAt++] = 0x0a
      }
      if (kernel.sigLen(k) > 0) signed = true
    }
    if (k > 0) {
      const hashAt = kernel.at(k - 1, R_HASH)
      // the rows' controls were gathered in order; the digest takes them in once per run
      const rows = seal === undefined ? undefined : seal.add(this.sealBuf.subarray(0, digestAt))
      // the leaves: the run's hash fields, 32 raw bytes each (each equals the hash computed of its line)
      const digests = tree ? kernel.digests(k) : undefined
      // the checkpoint (or rotation) that ends the run, when its line held: its entries before it
      // go into the tree, then it is checked, then its own leaf goes in
      const ends = special >= 0 && k === special + 1
      let grown = digests === undefined ? ck : grow(cc!, ck!, digests, ends ? special : k, state.line + (ends ? special : k))
      if (ends && grown !== undefined && "tree" in grown) {
        const at = kernel.at(special, R_START)
        const row = rowToRead(buf, at, kernel.at(special, R_NEXT) - 1, false)
        if (row !== undefined && typeof row.payload === "object" && row.payload !== null) {
          const headBefore = special === 0 ? state.head : buf.toString("latin1", kernel.at(special - 1, R_HASH), kernel.at(special - 1, R_HASH) + 64)
          const checked = ckEntry(cc!, grown, row.type, row.payload, state.line + k, kernel.seq(special), headBefore)
          if (!("tree" in checked)) {
            // the entries before the checkpoint verified: the failure reports them as the last
            // that did (format.md §11), as the line-by-line reader does
            if (special > 0) this.state = acceptedRun(state, special, kernel.seq(special - 1), headBefore, signed, rows, grown)
            return checked
          }
          grown = checked
        }
        grown = grow(cc!, grown, digests!.subarray(special * Merkle.HASH_SIZE), 1, state.line + k)
      }
      if (grown !== undefined && !("tree" in grown)) {
        // the entries before the first that differs verified: the failure reports them as the
        // last that did (format.md §11), as the line-by-line reader does
        const at = k - 1 - (kernel.seq(k - 1) - grown.differs)
        const failLine = state.line + at + 1
        if (at > 0) {
          const before = kernel.at(at - 1, R_HASH)
          this.state = acceptedRun(state, at, kernel.seq(at - 1), buf.toString("latin1", before, before + 64), signed, rows, ck)
        }
        return rewritten(cc!, failLine, grown.differs, grown.reason)
      }
      this.state = acceptedRun(state, k, kernel.seq(k - 1), buf.toString("latin1", hashAt, hashAt + 64), signed, rows, grown)
    }
    if (special >= 0 && k === special + 1) return kernel.at(special, R_NEXT)
    if (special >= 0 && k === special) {
      // the checkpoint or rotation on its own; the kernel takes up the lines after it again
      const at = kernel.at(special, R_START)
      const nl = buf.indexOf(0x0a, at)
      const r = stepAt(this.state, buf, at, nl, true)
      if (!(r instanceof StateImpl)) return r as VerifyError
      this.state = r
      return nl + 1
    }
    // From the first line that does not hold, the run's bytes are stepped physical line by
    // physical line: the kernel locates the 64-byte hash fields without looking inside them, so
    // a newline there did not end its line, but it ends one here, as on every other path. (No
    // line it took spans a newline: those fields equal hex strings.)
    const end = kernel.at(n - 1, R_NEXT)
    for (let p = k < n ? kernel.at(k, R_START) : end; p < end;) {
      // the run ends just past a newline, so there is one before `end`
      const nl = buf.indexOf(0x0a, p)
      const r = stepAt(this.state, buf, p, nl, true)
      if (!(r instanceof StateImpl)) return r as VerifyError
      this.state = r
      p = nl + 1
    }
    return end
  }

  /** The batch of the JavaScript fast paths, for what the kernel does not take. */
  private batchJs(buf: Buffer, from: number): number | VerifyError {
    const config = this.state.config
    const b = this.b
    let n = 0
    let p = from
    b.off[0] = 0
    while (n < BATCH) {
      const nl = buf.indexOf(0x0a, p)
      if (nl < 0) break
      const end = nl > p && buf[nl - 1] === 0x0d ? nl - 1 : nl
      if (end === p) break
      const f: FastParsed | undefined = config.fast.parse(buf, p, end)
        ? config.fast
        : config.fastReference.parse(buf, p, end)
        ? config.fastReference
        : undefined
      if (f === undefined) break
      const w = b.off[n]!
      if (this.msgs.length < w + f.messageBound) {
        const next = Buffer.allocUnsafe(Math.max(this.msgs.length * 2, w + f.messageBound))
        this.msgs.copy(next, 0, 0, w)
        this.msgs = next
      }
      b.off[n + 1] = w + f.messageInto(buf, p, this.msgs, w)
      b.seq[n] = f.seq
      b.prevAt[n] = f.prevAt
      b.hashAt[n] = f.hashAt
      b.sigAt[n] = f.sigAt
      b.sigLen[n] = f.sigLen
      b.start[n] = p
      b.end[n] = end
      n++
      p = nl + 1
    }
    for (let k = 0; k < n; k++) b.hash[k] = sha256("sha256", this.msgs.subarray(b.off[k]!, b.off[k + 1]!), "hex")
    // with a key, the kernel checks the HMACs of the hash fields, four at a time (each field must
    // also equal the hash computed here, so this is the HMAC of that hash)
    const kernel = config.mac !== undefined && this.loaded ? kernelOf(config) : undefined
    let signedUpTo = n
    if (kernel !== undefined) {
      for (let k = 0; k < n; k++) kernel.setFields(k, b.hashAt[k]!, b.sigAt[k]!, b.sigLen[k]!)
      signedUpTo = kernel.macCheck(n)
    }
    const ck = this.state.ck
    let special = false
    let k = 0
    for (; k < n; k++) {
      const state = this.state
      const seq = b.seq[k]!
      // with checkpoint checks, a checkpoint or key rotation entry is stepped on its own
      if (ck !== undefined && isCheckpointish(buf, b.start[k]!, b.prevAt[k]!)) {
        special = true
        break
      }
      if (!links(state, buf, seq, b.prevAt[k]!)) break
      if (kernel === undefined ? !holds(state, buf, b.hashAt[k]!, b.sigAt[k]!, b.sigLen[k]!, b.hash[k]!) : k >= signedUpTo || !hexAt(buf, b.hashAt[k]!, b.hash[k]!)) break
      this.state = accepted(state, state.line + 1, seq, b.hash[k]!, b.sigLen[k]! > 0)
    }
    if (ck !== undefined && ck.tree !== undefined && k > 0) {
      // the accepted lines' leaves, in one batch, before any line is stepped on its own
      const cc = config.ck!
      for (let i = 0; i < k; i++) cc.digests.write(b.hash[i]!, i * Merkle.HASH_SIZE, Merkle.HASH_SIZE, "hex")
      const grown = grow(cc, ck, cc.digests, k, this.state.line)
      if (!("tree" in grown)) return rewritten(cc, this.state.line - (this.state.lastSeq - grown.differs), grown.differs, grown.reason)
      this.state = withCk(this.state, grown)
    }
    if (special) {
      const r = stepAt(this.state, buf, b.start[k]!, b.end[k]!, true)
      if (!(r instanceof StateImpl)) return r as VerifyError
      this.state = r
      return k + 1 < n ? b.start[k + 1]! : p
    }
    for (; k < n; k++) {
      const r = stepAt(this.state, buf, b.start[k]!, b.end[k]!, true)
      if (!(r instanceof StateImpl)) return r as VerifyError
      this.state = r
    }
    return p
  }

  /** Step through a last line without a newline. */
  flush(): VerifyError | undefined {
    if (this.carryLen > 0) {
      const joined = Buffer.concat(this.carry, this.carryLen)
      this.carry = []
      this.carryLen = 0
      const r = stepAt(this.state, joined, 0, joined.length, false)
      if (!(r instanceof StateImpl)) return r as VerifyError
      this.state = r
    }
    return undefined
  }
}

/**
 * The end of a verification together with how far the chain held: on failure, `entries` and
 * `head` describe the last entry that verified (0 and GENESIS if none).
 *
 * @since 0.1.0
 * @category models
 */
export interface Outcome {
  readonly result: Either.Either<Report, VerifyError>
  readonly entries: number
  readonly head: string
  /**
   * What was checked of the signatures of those `entries` entries, in the words of `Report`:
   * `verified` when a key was given (each of them had its signature checked, and it held: an
   * entry whose signature fails is the failure, not one of them); without a key, `not-checked`
   * when any of them is signed and `absent` when none is. When no entry held (`entries` 0) no
   * signature was checked and none can be said absent: `not-checked`. On success, the report's
   * own `signatures`.
   */
  readonly signatures: Signatures
  /** how many threads' results make up this verdict (1 unless `fileParallel` joined ranges) */
  readonly threads: number
}

const signaturesOf = (state: StateImpl): Signatures =>
  state.entries === 0 ? "not-checked" : state.config.mac !== undefined ? "verified" : state.anySigned ? "not-checked" : "absent"

/** Feed one chunk of the input to the splitter; the error that stops the fold, if any. */
const pushChunk = (splitter: Splitter, chunk: Chunk.Chunk<Uint8Array>): VerifyError | undefined => {
  for (const c of Chunk.toReadonlyArray(chunk)) {
    let err: VerifyError | undefined
    try {
      err = splitter.push(c)
    } catch (e) {
      // the batched paths step lines outside `stepAt`: the same safety net (see there)
      if (!(e instanceof RangeError)) throw e
      err = beyondLimits(splitter.state.line + 1, e)
    }
    if (err !== undefined) return err
  }
  return undefined
}

/**
 * The fold over bytes, as a `Sink`: every byte driver (`sink`, `stream`, `streamOutcome`, `file`,
 * `fileOutcome`, `fileParallel` and its workers) runs this one. It ends at the first error, without
 * pulling more of the input, or at the end of the input with the last line (one without a
 * newline) stepped; either way `splitter.state` is how far the chain held.
 */
const foldInto = (splitter: Splitter): Sink.Sink<VerifyError | undefined, Uint8Array> =>
  Sink.map(
    Sink.foldChunks<VerifyError | undefined, Uint8Array>(undefined, (error) => error === undefined, (_, chunk) => pushChunk(splitter, chunk)),
    (error) => error ?? splitter.flush()
  )

/**
 * Fold the lines of `bytes` from `state`; the state reached, and the error that stopped it. An
 * `Unreadable` from the source also stops it there (how far the chain held is kept); any other
 * source error passes through.
 */
const driveState = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  state: StateImpl
): Effect.Effect<{ readonly state: StateImpl; readonly error: VerifyError | undefined }, Exclude<E, Unreadable>, R> =>
  Effect.suspend(() => {
    const splitter = new Splitter(state)
    return Stream.run(bytes, foldInto(splitter)).pipe(
      // errors of the byte source itself (E) pass through untouched, but for Unreadable
      Effect.catchAll((e) => (e instanceof Unreadable ? Effect.succeed(e) : Effect.fail(e as Exclude<E, Unreadable>))),
      Effect.map((error) => ({ state: splitter.state, error }))
    )
  })

const drive = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: Options): Effect.Effect<Outcome, Exclude<E, Unreadable>, R> =>
  Effect.map(driveState(bytes, initial(options) as StateImpl), ({ error, state }): Outcome => ({
    result: error !== undefined ? Either.left(error) : finish(state),
    entries: state.entries,
    head: state.head,
    signatures: signaturesOf(state),
    threads: 1
  }))

/** Whether the first argument of a dual function is the byte stream (data-first). */
const isStream = (u: unknown): u is Stream.Stream<Uint8Array, unknown, unknown> => hasProperty(u, Stream.StreamTypeId)

/**
 * Verification as a `Sink`: feed it the bytes of a log or a pack in chunks of any size (a line
 * may be split across chunks; `\r\n` line ends and a leading byte order mark are accepted, as
 * `file` accepts them), and it concludes with the `Report`, or fails with the `VerifyError` (at
 * the first one, without reading further). Memory stays that of one line, whatever the input.
 *
 * `Stream.run(bytes, Verify.sink(options))` verifies any byte stream: a file
 * (`FileSystem.stream`), an HTTP body, an object store download. An error of the stream itself
 * fails the run as that error. The sink is a description: each run starts from the beginning, and
 * one sink may verify many streams, at once too.
 *
 * @example
 * ```ts
 * import * as FileSystem from "@effect/platform/FileSystem"
 * import * as Effect from "effect/Effect"
 * import * as Stream from "effect/Stream"
 * import * as Verify from "acttrace/Verify"
 *
 * const program = Effect.gen(function*() {
 *   const fs = yield* FileSystem.FileSystem
 *   const report = yield* Stream.run(fs.stream("pack.jsonl"), Verify.sink({ requireComplete: true }))
 *   console.log(`${report.entries} entries, head ${report.head}`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category verification
 */
export const sink = (options: Options = {}): Sink.Sink<Report, Uint8Array, never, VerifyError> => {
  // made once, here, so that a wrong option is reported where the sink is made; every run starts
  // from this state (states are values: stepping one never changes it)
  const start = initial(options) as StateImpl
  return Sink.suspend(() => {
    const splitter = new Splitter(start)
    return Sink.mapEffect(foldInto(splitter), (error) => {
      const result = error !== undefined ? Either.left(error) : finish(splitter.state)
      return Either.isRight(result) ? Effect.succeed(result.right) : Effect.fail(result.left)
    })
  })
}

/**
 * Like `stream`, but the verdict and how far the chain held (see `Outcome`), for reports such as
 * the CLI's `--json`. A source failing with `Unreadable` (as `file`'s does) ends the verification
 * there, as a verdict; any other source error fails the effect. Data-first
 * (`streamOutcome(bytes, options)`) or data-last (`bytes.pipe(streamOutcome(options))`).
 *
 * @since 0.1.0
 * @category verification
 */
export const streamOutcome: {
  (options?: Options): <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Effect.Effect<Outcome, Exclude<E, Unreadable>, R>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options?: Options): Effect.Effect<Outcome, Exclude<E, Unreadable>, R>
} = dual(
  (args) => isStream(args[0]),
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: Options = {}): Effect.Effect<Outcome, Exclude<E, Unreadable>, R> => drive(bytes, options)
)

/** The outcome of an input that could not be read at all. */
const unreadOutcome = (error: VerifyError): Outcome => ({
  result: Either.left(error),
  entries: 0,
  head: GENESIS,
  signatures: "not-checked",
  threads: 1
})

/**
 * Verify a stream of bytes (any chunking): `Stream.run(bytes, sink(options))`, with the stream's
 * own `Unreadable` counted among the verification's errors. Data-first
 * (`stream(bytes, options)`) or data-last (`bytes.pipe(stream(options))`).
 *
 * @since 0.1.0
 * @category verification
 */
export const stream: {
  (options?: Options): <E, R>(bytes: Stream.Stream<Uint8Array, E, R>) => Effect.Effect<Report, VerifyError | Exclude<E, Unreadable>, R>
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options?: Options): Effect.Effect<Report, VerifyError | Exclude<E, Unreadable>, R>
} = dual(
  (args) => isStream(args[0]),
  <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, options: Options = {}): Effect.Effect<Report, VerifyError | Exclude<E, Unreadable>, R> =>
    Stream.run(bytes, sink(options)) as Effect.Effect<Report, VerifyError | Exclude<E, Unreadable>, R>
)

/** What an error code of the system means, in plain words. */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "too many symbolic links (or a loop of them)",
  ENAMETOOLONG: "the name is too long",
  EIO: "input/output error (the disk or device failed to read)",
  ENXIO: "no such device or address",
  ENODEV: "no such device",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  ENOMEM: "out of memory",
  EAGAIN: "the input had nothing to read and would not wait",
  EBADF: "the input is not open for reading",
  ESPIPE: "the input cannot be read at an offset",
  EINVAL: "the input cannot be read",
  EOVERFLOW: "the file is too large",
  EFBIG: "the file is too large",
  ETIMEDOUT: "the read timed out",
  ECONNRESET: "the connection was reset",
  ESTALE: "the file handle is stale (the file was removed on the server)",
  EINTR: "the read was interrupted"
}

/** A system error in plain words: the code's meaning, else its own text without code and call. */
const plainSystem = (code: string | undefined, text: string | undefined): string => {
  const known = code === undefined ? undefined : SYSTEM_ERRORS[code]
  if (known !== undefined) return known
  // Node writes "CODE: what, syscall 'path'"
  const what = (text ?? "").replace(/^[A-Z0-9_]+: /, "").replace(/, \w+( '.*')?$/, "").trim()
  return what.length > 0 ? what : "the input cannot be read"
}

const unreadableAt = (path: string) => (e: PlatformError) =>
  new Unreadable({
    path,
    reason: e._tag === "SystemError"
      ? e.reason === "NotFound"
        ? SYSTEM_ERRORS["ENOENT"]!
        : e.reason === "PermissionDenied"
        ? SYSTEM_ERRORS["EACCES"]!
        : plainSystem((e.cause as { readonly code?: string } | undefined)?.code, e.description)
      : e.description ?? "the input cannot be read"
  })

/**
 * `Unreadable` for an error met while reading `path` (or a name such as "standard input"), said in
 * plain words: for a source of your own fed to `stream` or `streamOutcome`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unreadable = (path: string, error: unknown): Unreadable => {
  if (error instanceof Unreadable) return error
  if (typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "SystemError") return unreadableAt(path)(error as PlatformError)
  const e = error as { readonly code?: unknown; readonly message?: unknown } | null | undefined
  return new Unreadable({
    path,
    reason: plainSystem(typeof e?.code === "string" ? e.code : undefined, typeof e?.message === "string" ? e.message : String(error))
  })
}

/** `read(2)` at the descriptor's current position, for inputs that cannot be read at an offset. */
const readOn = (path: string, fd: number, target: Uint8Array): Effect.Effect<number, Unreadable> =>
  Effect.async<number, Unreadable>((resume) => {
    readFd(fd, target, 0, target.length, null, (err, n) => {
      resume(err === null ? Effect.succeed(n) : Effect.fail(new Unreadable({ path, reason: plainSystem(err.code, err.message) })))
    })
  })

const fileBytes = (path: string, chunkSize: number | undefined, range?: { readonly start: number; readonly end: number }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const unreadable = unreadableAt(path)
    const info = yield* Effect.mapError(fs.stat(path), unreadable)
    if (info.type === "Directory") return yield* new Unreadable({ path, reason: SYSTEM_ERRORS["EISDIR"]! })
    // A FIFO, `<(…)`, a terminal or a socket can only be read in order: the FileSystem's reads are
    // positioned (pread), which such inputs refuse (ESPIPE). Nothing here seeks them.
    const inOrder = info.type !== "File"
    // Two buffers, read into in turn: while the fold works through one chunk, the next is read
    // into the other (file reads run off the main thread). The fold consumes each chunk before it
    // pulls the next and copies the partial line it carries over, so nothing refers to a buffer
    // after it is reused. (The stock `FileSystem.stream` allocates a fresh buffer per chunk,
    // which cost more than the hashing.)
    const size = chunkSize ?? 1 << 20
    return Stream.unwrapScoped(
      Effect.gen(function*() {
        const file = yield* Effect.mapError(fs.open(path), unreadable)
        let left = Infinity
        if (range !== undefined) {
          if (inOrder) return yield* new Unreadable({ path, reason: "a byte range was asked of an input that can only be read in order" })
          yield* file.seek(range.start, "start")
          left = range.end - range.start
        }
        const scope = yield* Effect.scope
        const buffers = [new Uint8Array(size), new Uint8Array(size)] as const
        let current = 0
        const readInto = (k: 0 | 1) => {
          const target = left < size ? buffers[k].subarray(0, left) : buffers[k]
          const read = target.length === 0
            ? Effect.succeed(0)
            : inOrder
            ? readOn(path, file.fd, target)
            : Effect.map(Effect.mapError(file.read(target), unreadable), Number)
          return Effect.forkIn(read, scope)
        }
        let pending = yield* readInto(0)
        yield* Effect.yieldNow()
        return Stream.repeatEffectOption(
          Effect.gen(function*() {
            const n = yield* Effect.mapError(Fiber.join(pending), Option.some)
            if (n === 0) return yield* Effect.fail(Option.none())
            left -= n
            const chunk = buffers[current]!.subarray(0, n)
            current = current === 0 ? 1 : 0
            pending = yield* readInto(current as 0 | 1)
            // let the reader fiber submit its read before this fiber works through the chunk
            yield* Effect.yieldNow()
            return chunk
          })
        )
      })
    )
  })

/**
 * Verify a file through `@effect/platform`'s `FileSystem`, reading it in chunks (constant memory).
 * A missing path, a directory or a read error is `Unreadable`.
 *
 * @since 0.1.0
 * @category verification
 */
export const file = (
  path: string,
  options: Options & { readonly chunkSize?: number | undefined } = {}
): Effect.Effect<Report, VerifyError, FileSystem.FileSystem> =>
  Effect.flatMap(fileBytes(path, options.chunkSize), (bytes) => stream(bytes, options))

/**
 * Like `file`, but never fails: the verdict and how far the chain held, for reports such as the
 * CLI's `--json`.
 *
 * @since 0.1.0
 * @category verification
 */
export const fileOutcome = (
  path: string,
  options: Options & { readonly chunkSize?: number | undefined } = {}
): Effect.Effect<Outcome, never, FileSystem.FileSystem> =>
  fileBytes(path, options.chunkSize).pipe(
    // a read failing midway is a verdict of `drive`, with how far the chain held; an input that
    // cannot be opened is one here
    Effect.flatMap((bytes) => drive(bytes, options)),
    Effect.catchAll((error) => Effect.succeed(unreadOutcome(error)))
  )

/**
 * What verifying one byte range found, as plain data (it crosses threads).
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export interface SegmentSummary {
  /** no error, no unexplained jump at the end, at least one entry */
  readonly ok: boolean
  readonly lines: number
  readonly entries: number
  readonly lastLine: number
  readonly head: string
  readonly lastSeq: number
  readonly anySigned: boolean
  /** the first entry's `prev_hash` and `seq`: where the range picks the chain up */
  readonly startPrev: string | undefined
  readonly startSeq: number | undefined
}

const failedSegment: SegmentSummary = {
  ok: false,
  lines: 0,
  entries: 0,
  lastLine: 0,
  head: "",
  lastSeq: -1,
  anySigned: false,
  startPrev: undefined,
  startSeq: undefined
}

/**
 * Verify bytes [start, end) of a file that begin mid-chain (at a line start): links, hashes and
 * signatures within the range, and where it picks the chain up. Used by `fileParallel`'s workers.
 *
 * @since 0.1.0
 * @category internal
 * @internal
 */
export const segment = (
  path: string,
  range: { readonly start: number; readonly end: number },
  options: Options & { readonly chunkSize?: number | undefined } = {}
): Effect.Effect<SegmentSummary, never, FileSystem.FileSystem> =>
  fileBytes(path, options.chunkSize, range).pipe(
    // a range begins mid-chain: it takes the chain up from its first entry, and says where
    Effect.flatMap((bytes) => driveState(bytes, initialOf(options, true))),
    Effect.map(({ error, state }): SegmentSummary => ({
      ok: error === undefined && state.pending === undefined && state.entries > 0,
      lines: state.line,
      entries: state.entries,
      lastLine: state.lastLine,
      head: state.head,
      lastSeq: state.lastSeq,
      anySigned: state.anySigned,
      startPrev: state.start?.prev,
      startSeq: state.start?.seq
    })),
    Effect.catchAll(() => Effect.succeed(failedSegment))
  )

/** The bundled worker sits beside this module in dist/; from sources there is none. */
const workerUrl = new URL("./verify-worker.bundle.js", import.meta.url)

const inWorker = (
  path: string,
  range: { readonly start: number; readonly end: number },
  options: Options
): Effect.Effect<SegmentSummary> =>
  Effect.async<SegmentSummary>((resume) => {
    const worker = new Worker(workerUrl, {
      workerData: {
        path,
        start: range.start,
        end: range.end,
        key: options.key === undefined ? undefined : Redacted.value(options.key),
        fastPath: options.fastPath ?? true,
        maxLineBytes: options.maxLineBytes
      }
    })
    let done = false
    const settle = (s: SegmentSummary) => {
      if (!done) {
        done = true
        resume(Effect.succeed(s))
      }
    }
    worker.once("message", (s: SegmentSummary) => settle(s))
    worker.once("error", () => settle(failedSegment))
    worker.once("exit", () => settle(failedSegment))
    return Effect.promise(() => worker.terminate())
  })

/** Offset just past the first newline at or after `at`, within a 1 MiB window; -1 if none. */
const lineStartAfter = (path: string, at: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.open(path)
      yield* file.seek(at, "start")
      const window = new Uint8Array(1 << 20)
      const n = Number(yield* file.read(window))
      const nl = asBuffer(window.subarray(0, n)).indexOf(0x0a)
      return nl < 0 ? -1 : at + nl + 1
    })
  )

/** Whether the file's first line is a `_meta` header with a seal (looked for in its first 64 KiB). */
const sealedPack = (path: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const file = yield* fs.open(path, { flag: "r" })
      const head = yield* file.readAlloc(1 << 16)
      if (Option.isNone(head)) return false
      const text = Buffer.from(head.value).toString("latin1")
      const nl = text.indexOf("\n")
      const first = nl < 0 ? text : text.slice(0, nl)
      return /^(\xef\xbb\xbf)?\{\s*"_meta"/.test(first) && first.includes('"seal"')
    })
  )

/**
 * Like `fileOutcome`, with the file split into byte ranges verified at once, one per thread (the
 * calling thread takes the first). The ranges' results are joined where they meet: each must pick
 * the chain up exactly where the previous one left it. The parallel run only ever concludes
 * success; whenever a range fails, a seam does not join, or the worker is not there (running from
 * sources), the file is verified again on one thread (and anything that is not a regular file, such
 * as a FIFO, is only ever read once, in order, on one thread), so every verdict, line and seq is exactly
 * what `fileOutcome` reports. With `publicKeys` or `since` the file is read on one thread: each
 * checkpoint is checked against the Merkle tree of every entry before it, which only a pass
 * from the first entry holds.
 *
 * @since 0.1.0
 * @category verification
 */
export const fileParallel = (
  path: string,
  options: Options & { readonly threads?: number | undefined; readonly chunkSize?: number | undefined } = {}
): Effect.Effect<Outcome, never, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const threads = Math.max(1, Math.floor(options.threads ?? 1))
    const sequential = fileOutcome(path, options)
    if (threads < 2 || !existsSync(fileURLToPath(workerUrl))) return yield* sequential
    // checkpoints are checked against the tree of every entry before them, which no range but
    // the first holds: with public keys or a published checkpoint, one thread reads it all
    if (options.publicKeys !== undefined || options.since !== undefined) return yield* sequential
    const fs = yield* FileSystem.FileSystem
    const info = yield* Effect.either(fs.stat(path))
    if (Either.isLeft(info) || info.right.type !== "File") return yield* sequential
    const size = Number(info.right.size)
    // a sealed pack's seal digests every row's controls in order: one thread reads it all
    if (yield* Effect.orElseSucceed(sealedPack(path), () => false)) return yield* sequential
    const cuts: Array<number> = [0]
    for (let k = 1; k < threads; k++) {
      const at = yield* Effect.orElseSucceed(lineStartAfter(path, Math.floor((size * k) / threads)), () => -1)
      if (at <= cuts[cuts.length - 1]! || at >= size) return yield* sequential
      cuts.push(at)
    }
    cuts.push(size)
    const first = fileBytes(path, options.chunkSize, { start: 0, end: cuts[1]! }).pipe(
      Effect.flatMap((bytes) => driveState(bytes, initial(options) as StateImpl)),
      Effect.either
    )
    const rest = cuts.slice(1, -1).map((start, k) => inWorker(path, { start, end: cuts[k + 2]! }, options))
    const [head, others] = yield* Effect.all([first, Effect.all(rest, { concurrency: "unbounded" })], { concurrency: "unbounded" })
    if (Either.isLeft(head) || head.right.error !== undefined || head.right.state.pending !== undefined) return yield* sequential
    let state = head.right.state
    // The header as verification read it decides: a seal digests the rows of every range, which
    // no range holds alone. (The look at the file's first bytes above only saves the threads'
    // work; a header it misses, say behind a blank line, is still found here.)
    if (state.header?.seal !== undefined) return yield* sequential
    // A pack's first entry says whether its header must be sealed (see `packRow`), and only the
    // first range reads a header: a first range of the header alone (a header longer than the
    // rest) has not seen that entry, and the other ranges do not look for it.
    if (state.entries === 0) return yield* sequential
    let lines = state.line
    let lastLine = state.lastLine
    let entries = state.entries
    let anySigned = state.anySigned
    let tip = state.head
    let lastSeq = state.lastSeq
    for (const s of others) {
      if (!s.ok || s.startPrev !== tip || s.startSeq !== lastSeq + 1) return yield* sequential
      lastLine = lines + s.lastLine
      lines += s.lines
      entries += s.entries
      anySigned ||= s.anySigned
      tip = s.head
      lastSeq = s.lastSeq
    }
    // the joined state: the first range's header and seal (a sealed pack is read on one thread)
    state = new StateImpl(state.config, lines, entries, tip, lastSeq, lastLine, state.header, state.rows, anySigned, undefined, state.start, state.ck)
    const result = finish(state)
    // a failed conclusion is reported by the one-thread run, with its exact wording
    return Either.isRight(result) ? { result, entries, head: tip, signatures: signaturesOf(state), threads: cuts.length - 1 } : yield* sequential
  })
