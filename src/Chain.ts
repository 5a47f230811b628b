/**
 * The single writer of a log. Every entry passes through here: normalized to plain JSON,
 * redacted, stamped with `seq` and `ts` (from `Clock`), hashed, signed and appended to the
 * `Store`, in that order.
 *
 * One fiber owns the head. Callers queue their entries and wait; the writer takes what is queued
 * (up to the store's batch size), appends it in one store call, and only then moves the head and
 * answers the callers: **write, then advance**. If the store fails, nothing of that batch is
 * acknowledged, the head stays where it was, and the next append continues a valid chain.
 *
 * Opening a non-empty log checks it first (a full verification with the signer's key) and
 * continues its sequence.
 *
 * With a checkpoint key (`Signer.checkpoints`, Ed25519) the chain also keeps the RFC 9162 Merkle
 * tree of its entries (an O(log n) frontier, advanced like the head: only after a batch is
 * written) and appends signed `checkpoint` entries (FORMAT B.2) as `CheckpointPolicy` says, when
 * the log closes, and when asked (`ChainService.checkpoint`, which an export uses).
 *
 * The log's checkpoint key is the one its `audit_open` names (`checkpoints.key`), replaced by each
 * `key_rotation`. Resumed with another key, the chain refuses (`LogMismatch`, field
 * `checkpoint key`) unless the signer names the log's key as its `previous`: then it appends a
 * `key_rotation` entry and, right after it, a checkpoint signed with the previous key that covers
 * it. A log without a key given one gets a `key_rotation` with `previous: null`; a log with a key
 * opened without one is refused. A rotation whose confirming checkpoint a crash kept out of the
 * log is confirmed when the log is next opened, which needs the previous key again (`LogMismatch`,
 * field `previous checkpoint key`, without it).
 *
 * **Writers.** A file or memory store has one writer (the file store's lock keeps a second one
 * out): this chain. A shared store (`StoreService.shared`: the SQL stores) has as many as open
 * it, in one process or many, and each batch is then one `turn` of the store: a transaction
 * holding the chain's lock in which the chain first catches up on what the other writers
 * appended since it last looked (its head, count and Merkle tree, the checkpoint count, key and
 * origin), then builds its lines on the end it found, and the store inserts them and moves the
 * chain row, or nothing. So no two writers ever build on the same end: no gap, no duplicate, no
 * fork, and write-then-advance holds for each of them. Checkpoints are counted over every
 * writer's entries. Several writers opening an empty chain at once each write its `audit_open`
 * through `AuditLog`; the first to commit opens the log, and the others are answered with that
 * entry when it states what they would have (else `LogMismatch`). A writer whose checkpoint key
 * another writer rotated away writes no more checkpoints (and says so once, in a warning); a
 * rotation another writer already made is not made again. `position`, `opened` and `tree` are
 * the writer's own view: the chain as it stood after this writer's last turn.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Canonical from "./Canonical.js"
import * as Entry from "./Entry.js"
import { GENESIS } from "./Hash.js"
import { linesOf } from "./internal/lines.js"
import { disagreementOf } from "./internal/store.js"
import * as Merkle from "./internal/merkle.js"
import { verdictText } from "./internal/messages.js"
import { normalize } from "./internal/normalize.js"
import * as Redactor from "./Redactor.js"
import * as Signer from "./Signer.js"
import * as Store from "./Store.js"
import * as Verify from "./Verify.js"

/**
 * An entry as it was chained: what was hashed (after redaction), its hash and signature.
 *
 * @since 0.1.0
 * @category models
 */
export interface Chained {
  readonly seq: number
  readonly ts: string
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly prevHash: string
  readonly hash: string
  readonly sig: string
}

/**
 * The log could not be opened for writing: it does not verify, so nothing may be appended to it.
 *
 * @since 0.1.0
 * @category errors
 */
export class LogInvalid extends Schema.TaggedError<LogInvalid>()("LogInvalid", {
  store: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.store} does not verify, so nothing may be appended to it: ${this.reason}`
  }
}

/**
 * The log belongs to another system, or was signed with another key: appending to it would mix
 * two records. (The key is checked before the log is verified, so a wrong key is named as such.)
 * `field` names what differs: `system`, `signing key id`, `checkpoint key`, `previous checkpoint
 * key`, `checkpoint origin`; on a shared store, whose `audit_open` another writer may write
 * first, also `risk tier`, and `first entry` when the log's first entry is no `audit_open`.
 *
 * @since 0.1.0
 * @category errors
 */
export class LogMismatch extends Schema.TaggedError<LogMismatch>()("LogMismatch", {
  store: Schema.String,
  field: Schema.String,
  expected: Schema.String,
  found: Schema.String
}) {
  override get message(): string {
    return `${this.store} was written with ${this.field} ${this.found}, but is being opened with ${this.expected}`
  }
}

/**
 * An append after the log was closed (its scope ended).
 *
 * @since 0.1.0
 * @category errors
 */
export class ChainClosed extends Schema.TaggedError<ChainClosed>()("ChainClosed", {}) {
  override get message(): string {
    return "the audit log's scope has ended; nothing more can be appended"
  }
}

/**
 * An append of an entry type only the library writes: `checkpoint` and `key_rotation` (the chain
 * writes them itself, signed with the checkpoint key: one appended by hand would be a forged
 * checkpoint or an unconfirmed key in the log), and `audit_open` anywhere but as a log's first
 * entry (it states the log's system and keys). Nothing is written.
 *
 * @since 0.1.0
 * @category errors
 */
export class ReservedType extends Schema.TaggedError<ReservedType>()("ReservedType", {
  type: Schema.String,
  seq: Schema.Number
}) {
  override get message(): string {
    return this.type === "audit_open"
      ? `an "audit_open" entry opens a log and may only be its first entry, not seq ${this.seq}: append yours under another type`
      : `"${this.type}" entries are written by the library only (signed with the log's checkpoint key): append yours under another type`
  }
}

/**
 * Whether the chain refuses an entry of `type` at `seq` from a caller (`ReservedType`).
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const isReserved = (type: string, seq: number): boolean =>
  type === "checkpoint" || type === "key_rotation" || (type === "audit_open" && seq > 0)

/**
 * What can make an append fail. Nothing is written in any of these cases. `LogMismatch` comes
 * only from a shared store: another writer opened the chain as another system or with other keys
 * (its `audit_open` came first), so nothing this writer signs would belong in it.
 *
 * @since 0.1.0
 * @category errors
 */
export type AppendError = Canonical.CanonicalError | Store.StoreError | ChainClosed | ReservedType | LogMismatch

/**
 * Options of one append.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppendOptions {
  /**
   * Follow the entry with an automatic `policy_flag` when the library's redactor removed
   * something from it (FORMAT A.6). `AuditLog` sets it for the entries it writes.
   */
  readonly flagRedactions?: boolean | undefined
}

/**
 * Where the chain stands.
 *
 * @since 0.1.0
 * @category models
 */
export interface Position {
  readonly head: string
  readonly entries: number
}

/**
 * What the log held when it was opened.
 *
 * @since 0.1.0
 * @category models
 */
export interface Opened extends Position {
  /** the payload of the log's first entry when it is an `audit_open` */
  readonly auditOpen: Option.Option<Record<string, unknown>>
}

/**
 * When the chain appends `checkpoint` entries (with a checkpoint key; without one it never does):
 * after every `every` entries (counted since the last checkpoint; a checkpoint never separates an
 * entry from the automatic `policy_flag`s that follow it, so one may come a few entries later),
 * and every `interval` while entries were added since the last one. `every: 0` (or `Infinity`)
 * turns the count off, `interval: Duration.infinity` (or zero) the timer. Whatever the policy, a
 * checkpoint is also appended when the log closes and when `ChainService.checkpoint` asks
 * (exports), each only if something was added since the last one.
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckpointPolicyValue {
  readonly every: number
  readonly interval: Duration.Duration
}

/**
 * The checkpoint policy a chain reads when it opens. The default, `{ every: 1000, interval:
 * Duration.seconds(60) }`, bounds what an unpublished tail can hold to about a thousand entries or
 * a minute; it costs one Ed25519 signature per thousand entries. Change it with
 * `layerCheckpointPolicy` or `Effect.provideService(Chain.CheckpointPolicy, …)`.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export class CheckpointPolicy extends Context.Reference<CheckpointPolicy>()("acttrace/Chain/CheckpointPolicy", {
  defaultValue: (): CheckpointPolicyValue => ({ every: 1000, interval: Duration.seconds(60) })
}) {}

/**
 * A layer setting the `CheckpointPolicy` (the fields not given keep their defaults).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerCheckpointPolicy = (policy: {
  readonly every?: number | undefined
  readonly interval?: Duration.DurationInput | undefined
}): Layer.Layer<never> =>
  Layer.succeedContext(
    Context.make(CheckpointPolicy, {
      every: policy.every ?? 1000,
      interval: policy.interval === undefined ? Duration.seconds(60) : Duration.decode(policy.interval)
    })
  )

/**
 * What the opener of a log expects it to be, checked when the chain opens, before the log is
 * verified or anything is written to it (a checkpoint key rotation included): `AuditLog.layer`
 * sets the system it writes for. A log of another system is `LogMismatch` (field `system`).
 *
 * @since 0.1.0
 * @category models
 */
export class OpenAs extends Context.Reference<OpenAs>()("acttrace/Chain/OpenAs", {
  defaultValue: (): { readonly system: string | undefined } => ({ system: undefined })
}) {}

/**
 * The Merkle tree over the entries written so far (FORMAT B.2: leaf data = the 32 bytes of each
 * entry's `hash`, RFC 9162 hashing): its size and root.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tree {
  readonly size: number
  readonly root: Uint8Array
}

/**
 * The origin line of a log's checkpoints: the one it states (`statedOrigin`: its `audit_open`'s
 * `checkpoints.origin`, else `logged`, the origin its checkpoints carry), else the signer's
 * override, else `Signer.checkpointOrigin` of the log's system, else `acttrace` (a log with no
 * `audit_open`). Writer and exporter use this one rule, so a pack's note and the log's
 * checkpoints name the same log.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const checkpointOrigin = (
  auditOpen: Option.Option<Record<string, unknown>>,
  signer: Option.Option<Signer.CheckpointSigner>,
  logged?: string | undefined
): string => {
  const stated = statedOrigin(auditOpen, logged)
  if (stated !== undefined) return stated
  const open = Option.getOrUndefined(auditOpen)
  const override = Option.flatMap(signer, (s) => s.origin)
  if (Option.isSome(override)) return override.value
  const system = open?.["system"]
  return typeof system === "string" ? Signer.checkpointOrigin(system) : "acttrace"
}

/**
 * The origin a log states for its checkpoints: its `audit_open`'s (`checkpoints.origin`), else
 * `logged`, the origin of the checkpoints it holds (a log whose first key came by a rotation
 * states it only there). `undefined` when it states none yet.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const statedOrigin = (auditOpen: Option.Option<Record<string, unknown>>, logged?: string | undefined): string | undefined => {
  const open = Option.getOrUndefined(auditOpen)
  const declared = (open?.["checkpoints"] as { origin?: unknown } | null | undefined)?.origin
  return typeof declared === "string" ? declared : logged
}

/**
 * The origin line of a checkpoint entry's note (its text up to the first newline), if it has one.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const noteOrigin = (payload: Record<string, unknown>): string | undefined => {
  const note = payload["note"]
  if (typeof note !== "string") return undefined
  const end = note.indexOf("\n")
  return end > 0 ? note.slice(0, end) : undefined
}

/**
 * The body of a checkpoint's note (C2SP tlog-checkpoint, FORMAT B.2): origin, size, base64 root,
 * `head <hex>`, and any further extension lines.
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const checkpointBody = (origin: string, size: number, root: Uint8Array, head: string, extra: ReadonlyArray<string> = []): string =>
  [origin, String(size), Buffer.from(root).toString("base64"), `head ${head}`, ...extra].join("\n") + "\n"

/**
 * @since 0.1.0
 * @category models
 */
export interface ChainService {
  /**
   * Chain one entry; it is in the store when this succeeds, and not when it fails. A caller
   * interrupted while it waits (a timeout, a race) has its entry withdrawn if no batch has taken
   * it yet; one already in a batch being written is written with it, in order.
   */
  readonly append: (type: string, payload: Record<string, unknown>, options?: AppendOptions) => Effect.Effect<Chained, AppendError>
  /**
   * Chain entries in the order given, as one batch where the store allows; each answered on its
   * own (an entry the chain refuses does not stop the others). Interrupted while it waits, the
   * entries no batch has taken are withdrawn; those already taken are written.
   */
  readonly appendAll: (
    entries: ReadonlyArray<{ readonly type: string; readonly payload: Record<string, unknown> }>,
    options?: AppendOptions
  ) => Effect.Effect<ReadonlyArray<Exit.Exit<Chained, AppendError>>>
  /**
   * `appendAll`, done now, without a fiber: when the store's `append` is synchronous (made with
   * `Store.synchronousAppend`, as the memory store's and a `blocking: true` file store's are) and
   * no batch is being written. Otherwise `undefined`, and nothing is appended (`appendAll` then
   * queues). Either way every line goes through the store's `append`. Auto-capture drains
   * through here.
   */
  readonly appendAllNow: (
    entries: ReadonlyArray<{ readonly type: string; readonly payload: Record<string, unknown> }>,
    options?: AppendOptions
  ) => ReadonlyArray<Exit.Exit<Chained, AppendError>> | undefined
  /**
   * The head and count after this writer's last batch (with a shared store, other writers may
   * have appended since: the next batch catches up on them).
   */
  readonly position: Effect.Effect<Position>
  /**
   * Append a `checkpoint` entry now, through the queue like any entry, when the signer has a
   * checkpoint key and something was added since the last checkpoint; `None` otherwise. Its note
   * covers every entry before it. An export calls this first.
   */
  readonly checkpoint: Effect.Effect<Option.Option<Chained>, AppendError>
  /**
   * The Merkle tree of the entries written (the head's tree), when the chain keeps one: with a
   * checkpoint key only (without one it does no tree work at all). With a shared store: the
   * tree of every writer's entries up to `position`.
   */
  readonly tree: Effect.Effect<Option.Option<Tree>>
  /**
   * The store's lines up to the head at this moment, taken in order with the appends. With a
   * shared store the lines are every line in the store when the snapshot is taken (other
   * writers' included), and `position` is this writer's.
   */
  readonly snapshot: Effect.Effect<Snapshot, ChainClosed>
  /** What the log held when this chain opened it (with a shared store: when it took its snapshot). */
  readonly opened: Opened
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Chain extends Context.Tag("acttrace/Chain")<Chain, ChainService>() {}

/**
 * Our timestamp form (FORMAT A.1): UTC, microseconds, `+00:00`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatTimestamp = (nanos: bigint): string => {
  // microseconds since 1970 are exact in a double until the year 2255: one BigInt division, the
  // rest in doubles (the quotient's rounding is corrected, so the split stays exact)
  const micros = Number(nanos / 1000n)
  let seconds = Math.floor(micros / 1_000_000)
  let frac = micros - seconds * 1_000_000
  if (frac < 0) {
    seconds--
    frac += 1_000_000
  } else if (frac >= 1_000_000) {
    seconds++
    frac -= 1_000_000
  }
  // entries come many to a second: the date part is made once per second
  if (seconds !== lastSecond) {
    lastSecond = seconds
    lastPrefix = new Date(seconds * 1000).toISOString().slice(0, 19)
  }
  return `${lastPrefix}.${String(frac).padStart(6, "0")}+00:00`
}

let lastSecond: number | undefined
let lastPrefix = ""

interface Job {
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly flag: boolean
  /** written as given: no normalization, no redaction (entries the chain makes itself) */
  readonly raw?: boolean | undefined
  /**
   * a request for a checkpoint entry (its payload is made when its batch is built): written with
   * `key` (default: the current checkpoint key) when something was added since the last one, else
   * answered with `none`
   */
  readonly checkpoint?: { readonly key: Signer.CheckpointSigner | undefined; readonly none: () => void } | undefined
  /**
   * this raw job is the `key_rotation` of the signer's rotation: left out (answered with `none`)
   * when the log's key is already the new one (another writer of a shared store made the
   * rotation) or no longer the one rotated away from
   */
  readonly rotation?: { readonly none: () => void } | undefined
  /**
   * answers the waiting caller (`Effect.async`'s resume takes an Exit as it is); a queued job's
   * first answer counts and a later one is ignored (a batch that dies answers what it took)
   */
  readonly done: (result: Exit.Exit<Chained, AppendError>) => void
}

interface Snapshot {
  readonly position: Position
  readonly bytes: Stream.Stream<Uint8Array, Store.StoreError>
}

interface SnapshotJob {
  readonly snapshot: (result: Effect.Effect<Snapshot, ChainClosed>) => void
}

type Item = Job | SnapshotJob

/** A batch as built on the chain's end: its lines, and the chain's state should they be written. */
interface Built {
  readonly lines: Array<string>
  /** the jobs written, with their entries (answered when the batch is settled) */
  readonly made: Array<{ readonly job: Job; readonly entry: Chained }>
  /** the answers of the jobs not written (refused, or with nothing to write) */
  readonly later: Array<() => void>
  readonly head: string
  readonly entries: number
  readonly folded: Merkle.Frontier | undefined
  readonly hashes: Array<string>
  readonly since: number
  readonly origin: string | undefined
  readonly logKey: string | undefined
  readonly unconfirmed: string | undefined
  readonly openAnswerable: boolean
  /** an audit_open was answered with the one another writer wrote */
  readonly matched: boolean
}

/**
 * One answer, kept from the first time it is given (later ones are ignored), and what waits for
 * it: nothing when it is there, `Effect.async` otherwise (a Deferred per append costs more than
 * the rest of it).
 */
class Answer<A, E> {
  value: Effect.Effect<A, E> | undefined = undefined
  private resume: ((answer: Effect.Effect<A, E>) => void) | undefined = undefined
  readonly give = (result: Effect.Effect<A, E>): void => {
    if (this.value !== undefined) return
    this.value = result
    // (a resume whose caller was interrupted meanwhile is ignored by the runtime)
    if (this.resume !== undefined) this.resume(result)
  }
  wait(): Effect.Effect<A, E> {
    return (
      this.value ??
        Effect.async<A, E>((resume) => {
          if (this.value !== undefined) resume(this.value)
          else this.resume = resume
        })
    )
  }
}

/**
 * The payload of a log's first entry when it is an `audit_open` (system, risk tier, signing key).
 *
 * @since 0.1.0
 * @category reading
 */
export const auditOpenOf = (bytes: Stream.Stream<Uint8Array, Store.StoreError>): Effect.Effect<Option.Option<Record<string, unknown>>, Store.StoreError> =>
  linesOf(bytes).pipe(
    Stream.take(1),
    Stream.runHead,
    Effect.map(
      Option.flatMap((line) => {
        try {
          const v = JSON.parse(line) as { type?: unknown; payload?: unknown }
          return v.type === "audit_open" && v.payload !== null && typeof v.payload === "object"
            ? Option.some(v.payload as Record<string, unknown>)
            : Option.none()
        } catch {
          return Option.none()
        }
      })
    )
  )

/**
 * The keys a writer (or an exporter) with a checkpoint key checks the log in `bytes` under before
 * it signs anything more over it: the log's first key (its audit_open's, else its first
 * key_rotation's), its own key and the key it rotates away from. A history its own checkpoints
 * contradict (edited, with the hash chain recomputed, which needs no secret without HMAC) is then
 * refused instead of vouched for by a new note. Without a checkpoint key nothing is signed:
 * `undefined`, and no checkpoint is checked. (Pinning the first key is the auditor's part,
 * `--pubkey`: the writer checks that the log agrees with itself.)
 *
 * @since 0.1.0
 * @category checkpoints
 */
export const trustedKeys = (
  bytes: Stream.Stream<Uint8Array, Store.StoreError>,
  signer: Option.Option<Signer.CheckpointSigner>
): Effect.Effect<ReadonlyArray<string> | undefined, Store.StoreError> =>
  Effect.gen(function* () {
    if (Option.isNone(signer)) return undefined
    const keys = new Set<string>()
    for (const first of Option.toArray(yield* firstKeyOf(bytes))) keys.add(first)
    keys.add(signer.value.verifierKey)
    for (const previous of Option.toArray(signer.value.previous)) keys.add(previous.verifierKey)
    return [...keys]
  })

/**
 * A log's first checkpoint key: its audit_open's (`checkpoints.key`), else the key of its first
 * `key_rotation` (a log given its first key by rotation, `previous: null`). Read before the log
 * is verified: a line that does not parse is passed over (the verification judges it).
 */
const firstKeyOf = (bytes: Stream.Stream<Uint8Array, Store.StoreError>): Effect.Effect<Option.Option<string>, Store.StoreError> =>
  linesOf(bytes).pipe(
    Stream.zipWithIndex,
    Stream.filterMap(([line, i]) => {
      if (i > 0 && !line.includes(`"key_rotation"`)) return Option.none()
      try {
        const v = JSON.parse(line) as { type?: unknown; payload?: Record<string, unknown> | null }
        if (v.payload === null || typeof v.payload !== "object") return Option.none()
        const key = v.type === "audit_open" && i === 0
          ? (v.payload["checkpoints"] as { key?: unknown } | null | undefined)?.key
          : v.type === "key_rotation" ? v.payload["key"] : undefined
        return typeof key === "string" ? Option.some(key) : Option.none()
      } catch {
        return Option.none()
      }
    }),
    Stream.runHead
  )

/** How many written hashes the writer gathers before it adds them to its tree in one call. */
const FOLD = 256

/** Our lines end with the entry's hash and signature (Entry.seal's layout). */
const HASH_TAIL = /^"hash":"([0-9a-f]{64})","sig":"[0-9a-f]*"\}$/

/**
 * What a resumed log's writer needs to go on with its checkpoints, in one streaming pass over the
 * log (constant memory: the hashes of one chunk of lines at a time): the Merkle frontier of its
 * entries (when `tree`), how many entries follow its last checkpoint, and its checkpoint key (the
 * audit_open's, replaced by each key_rotation's; and the previous key of a last rotation no
 * checkpoint confirms). Only lines that may be a checkpoint or a
 * key_rotation are parsed whole; the hash is read from our line layout, or parsed when the line
 * has another (the log has verified: every line is an entry).
 */
const scanLog = (bytes: Stream.Stream<Uint8Array, Store.StoreError>, tree: boolean) =>
  Effect.gen(function* () {
    let frontier: Merkle.Frontier | undefined = tree ? Merkle.empty : undefined
    let since = 0
    let key: string | undefined
    // the previous key of the last key_rotation when no checkpoint follows it: the store failed
    // (or the process died) between the rotation and its confirming checkpoint
    let unconfirmed: string | undefined
    // the origin the log's first checkpoint names
    let origin: string | undefined
    let first = true
    yield* linesOf(bytes).pipe(
      Stream.runForEachChunk((chunk) =>
        Effect.sync(() => {
          const hashes: Array<string> = []
          for (const line of chunk) {
            const special = first || line.includes(`"type":"checkpoint"`) || line.includes(`"type":"key_rotation"`)
            let entry: { type?: unknown; payload?: Record<string, unknown> | null; hash?: unknown } | undefined
            if (special) entry = JSON.parse(line) as typeof entry
            if (frontier !== undefined) {
              const at = line.lastIndexOf(`"hash":"`)
              const m = at < 0 ? null : HASH_TAIL.exec(line.slice(at))
              hashes.push(m !== null ? m[1]! : String((entry ?? (JSON.parse(line) as { hash?: unknown })).hash))
            }
            if (entry !== undefined && entry.payload !== null && typeof entry.payload === "object") {
              if (first && entry.type === "audit_open") {
                const declared = (entry.payload["checkpoints"] as { key?: unknown } | null | undefined)?.key
                if (typeof declared === "string") key = declared
              } else if (entry.type === "key_rotation" && typeof entry.payload["key"] === "string") {
                key = entry.payload["key"]
                const previous = entry.payload["previous"]
                unconfirmed = typeof previous === "string" ? previous : undefined
              }
            }
            if (entry?.type === "checkpoint") {
              unconfirmed = undefined
              if (entry.payload !== null && typeof entry.payload === "object") origin ??= noteOrigin(entry.payload)
            }
            since = entry?.type === "checkpoint" ? 0 : since + 1
            first = false
          }
          if (frontier !== undefined) frontier = Merkle.appendHexHashes(frontier, hashes)
        })
      )
    )
    return { frontier, since, key, unconfirmed, origin }
  })

/**
 * Open the chain over the store: verify what it holds, then start the writer. The scope's end
 * drains every queued append before the store closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.gen(function* () {
  const store = yield* Store.Store
  const signer = yield* Signer.Signer
  const redactor = yield* Redactor.Redactor

  // One snapshot, read four times (its first entry, its first checkpoint key, its verification,
  // the scan for the tree and the checkpoint state): with other writers appending to a shared
  // store, four snapshots could each end elsewhere, and the chain would go on from a head its
  // tree does not match. (Every store's snapshot yields the same lines each time it is run.)
  const existing = yield* store.snapshot
  // A shared store's chain row that disagrees with its rows (rows deleted at the end or added
  // past it, its count or head changed, a queried column edited behind its line) is tampering
  // the lines alone cannot show: the chain does not verify, as when a line is edited, and a
  // writer refuses it the same way (LogInvalid). Any other store failure stays a StoreError.
  const refused = <A, E>(read: Effect.Effect<A, E | Store.StoreError>): Effect.Effect<A, E | Store.StoreError | LogInvalid> =>
    Effect.catchIf(
      read,
      (e): e is Store.StoreError => e instanceof Store.StoreError && disagreementOf(e) !== undefined,
      (e) => Effect.fail(new LogInvalid({ store: store.name, reason: e.reason }))
    )
  // resume: the same signing key as before (or none, as before), then the whole log must verify
  // under it before anything is added
  const auditOpen = yield* refused(auditOpenOf(existing))
  if (Option.isSome(auditOpen)) {
    const signing = auditOpen.value["signing"] as { key_id?: unknown } | null | undefined
    const found = signing === undefined || signing === null ? "none" : String(signing.key_id)
    const keyId = Option.match(signer.identity, { onNone: () => "none", onSome: (i) => i.keyId })
    if (found !== keyId) return yield* new LogMismatch({ store: store.name, field: "signing key id", expected: keyId, found })
    const { system } = yield* OpenAs
    if (system !== undefined && auditOpen.value["system"] !== system) {
      return yield* new LogMismatch({ store: store.name, field: "system", expected: system, found: String(auditOpen.value["system"]) })
    }
  }
  // (a log opened without a checkpoint key signs no note: no checkpoint is checked, and the store
  // is read no more than before)
  const publicKeys = Option.isNone(signer.checkpoints) ? undefined : yield* refused(trustedKeys(existing, signer.checkpoints))
  const outcome = yield* refused(Verify.stream(existing, { key: Option.getOrUndefined(signer.key), publicKeys })).pipe(
    Effect.map((r) => ({ head: r.head, entries: r.entries })),
    Effect.catchAll((e): Effect.Effect<Position, LogInvalid | Store.StoreError> => {
      if (e._tag === "StoreError" || e._tag === "LogInvalid") return Effect.fail(e)
      // an empty log is no entry at all to the verifier, and a fine start to a writer
      if (e._tag === "MalformedLine" && e.line === 0) return Effect.succeed({ head: GENESIS, entries: 0 })
      return Effect.fail(new LogInvalid({ store: store.name, reason: verdictText(e) }))
    })
  )
  const opened: Opened = { ...outcome, auditOpen: outcome.entries === 0 ? Option.none() : auditOpen }

  // Checkpoints (FORMAT B.2). The log's checkpoint key is the one its audit_open states, replaced
  // by each key_rotation; on resume the signer's key must be it, or the rotation away from it.
  const policy = yield* CheckpointPolicy
  const every = Number.isFinite(policy.every) && policy.every > 0 ? Math.ceil(policy.every) : 0
  const interval = Duration.isFinite(policy.interval) && Duration.toMillis(policy.interval) > 0 ? policy.interval : undefined
  const key = Option.getOrUndefined(signer.checkpoints)
  const resumed = outcome.entries === 0 ? undefined : yield* refused(scanLog(existing, key !== undefined))
  // The tree is kept only with a key: a log without one pays nothing for it. The tree of the
  // entries written is `frontier` plus `unfolded`, the hashes written since it was last folded:
  // they are added to it in batches of FOLD (one leaf at a time costs several times as much per
  // leaf as a batch does, and a lone caller's batches are one entry each), when a checkpoint
  // needs the root, and when the tree is read.
  let frontier: Merkle.Frontier | undefined = key === undefined ? undefined : (resumed?.frontier ?? Merkle.empty)
  let unfolded: Array<string> = []
  const fold = (): Merkle.Frontier | undefined => {
    if (frontier !== undefined && unfolded.length > 0) {
      frontier = Merkle.appendHexHashes(frontier, unfolded)
      unfolded = []
    }
    return frontier
  }
  /** entries written since the last checkpoint entry */
  let since = resumed?.since ?? 0
  // A log's origin names it in every note: once the log states one (its audit_open, or its
  // checkpoints when its first key came by a rotation) it is kept, and a signer whose override
  // names another is refused rather than silently ignored or let split the log in two
  const stated = resumed === undefined ? undefined : statedOrigin(opened.auditOpen, resumed.origin)
  const override = Option.getOrUndefined(Option.flatMap(signer.checkpoints, (k) => k.origin))
  if (key !== undefined && stated !== undefined && override !== undefined && override !== stated) {
    return yield* new LogMismatch({ store: store.name, field: "checkpoint origin", expected: override, found: stated })
  }
  let origin: string | undefined = resumed === undefined ? undefined : checkpointOrigin(opened.auditOpen, signer.checkpoints, resumed.origin)
  // an origin no note can carry (a log whose audit_open states one with a control character)
  // would fail every checkpoint, and with it every batch that brings one: refused here instead
  if (key !== undefined && origin !== undefined && !(origin.isWellFormed() && /^[^\u0000-\u001f]+$/.test(origin))) {
    return yield* new LogInvalid({ store: store.name, reason: `its checkpoint origin ${JSON.stringify(origin)} cannot be the first line of a signed note` })
  }
  let rotation: { readonly payload: Record<string, unknown> | undefined; readonly confirmBy: Signer.CheckpointSigner | undefined } | undefined
  if (resumed !== undefined) {
    const found = resumed.key ?? "none"
    const expected = key?.verifierKey ?? "none"
    const previous = Option.getOrUndefined(Option.flatMap(signer.checkpoints, (k) => k.previous))
    if (resumed.unconfirmed !== undefined) {
      // The log's last rotation has no confirming checkpoint (a crash or a store failure came
      // between the two). Until a checkpoint under the previous key covers it, no verifier trusts
      // the new key: it is written now, first thing, when the signer holds that key; going on
      // without it (or rotating again) would leave every later checkpoint unverifiable.
      if (key === undefined || found !== expected || previous?.verifierKey !== resumed.unconfirmed) {
        return yield* new LogMismatch({
          store: store.name,
          field: "previous checkpoint key",
          expected: resumed.unconfirmed,
          found: previous?.verifierKey ?? "none"
        })
      }
      rotation = { payload: undefined, confirmBy: previous }
    } else if (found !== expected) {
      if (key !== undefined && resumed.key === undefined) {
        // the log had no checkpoint key: nothing can vouch for the new one but the auditor's own
        // trust in it (--pubkey)
        rotation = { payload: { alg: "ed25519", key: key.verifierKey, previous: null }, confirmBy: undefined }
      } else if (key !== undefined && previous !== undefined && previous.verifierKey === resumed.key) {
        rotation = { payload: { alg: "ed25519", key: key.verifierKey, previous: previous.verifierKey }, confirmBy: previous }
      } else {
        return yield* new LogMismatch({ store: store.name, field: "checkpoint key", expected, found })
      }
    }
  }

  let head = outcome.head
  let entries = outcome.entries
  let closed = false
  // The queue is a plain array and callers wait in `Effect.async`: a Deferred and an Effect Queue
  // per append cost several times what the rest of an append does.
  let pending: Array<Item> = []
  // `writing` is the single-writer token: whoever holds it (a caller leading a batch in its own
  // fiber, or the writer fiber) builds and appends the next batch; everyone else queues. It is
  // taken only inside an uninterruptible stretch that goes straight on to `batch`, whose
  // finalizer releases it: no interruption can come between taking and releasing it.
  let writing = false
  let idle: ((wake: Effect.Effect<void>) => void) | undefined
  /** Resume the sleeping writer fiber when there is work it may do: the token is free, and something is queued or the log closes. */
  const wake = () => {
    const w = idle
    if (w !== undefined && !writing && (closed || pending.length > 0)) {
      idle = undefined
      w(Effect.void)
    }
  }
  // While someone else holds the token the writer fiber sleeps on, closing included: the
  // holder's release wakes it. It never spins.
  const waitForWork = Effect.async<void>((resume) => {
    if (!writing && (closed || pending.length > 0)) resume(Effect.void)
    else idle = resume
  })
  const take = (max: number): Array<Item> => {
    if (pending.length <= max) {
      const all = pending
      pending = []
      return all
    }
    return pending.splice(0, max)
  }
  /** Take back what no batch has taken yet: its caller was interrupted while it waited. */
  const withdraw = (items: ReadonlyArray<Item>) =>
    Effect.sync(() => {
      if (items.length === 1) {
        const at = pending.indexOf(items[0]!)
        if (at >= 0) pending.splice(at, 1)
      } else {
        const gone = new Set(items)
        pending = pending.filter((item) => !gone.has(item))
      }
    })
  /** Answer items that will not be written: jobs with `job`, snapshot requests with `snapshot`. */
  const answerAll = (items: ReadonlyArray<Item>, job: Exit.Exit<never, AppendError>, snapshot: Effect.Effect<never, ChainClosed>) => {
    for (const item of items) {
      if ("snapshot" in item) item.snapshot(snapshot)
      else item.done(job)
    }
  }
  const { maxBatch, maxDelayMillis } = store.batching

  const clock = yield* Effect.clock

  // The log's checkpoint key and its unconfirmed rotation, kept as the log goes (this writer's
  // rotation, another writer's): a checkpoint is signed only by the log's key, or, while a
  // rotation waits for its confirming checkpoint, by the key it rotated away from. A new log takes
  // this writer's key (its audit_open states it).
  let logKey: string | undefined = resumed === undefined ? key?.verifierKey : resumed.key
  let unconfirmed: string | undefined = resumed?.unconfirmed
  const previousKey = Option.getOrUndefined(Option.flatMap(signer.checkpoints, (k) => k.previous))
  const shared = store.shared
  const { system: openAs } = yield* OpenAs
  // A shared chain found empty at open: another writer may write its audit_open first. The first
  // audit_open job after that is answered with that entry when it states the same log.
  let openAnswerable = shared !== undefined && outcome.entries === 0
  /** the seq-0 line another writer wrote, when this writer caught up on it */
  let firstEntry: { readonly type: string; readonly entry: Chained | undefined } | undefined
  // Set when the log turns out to be another one than this writer's (a shared chain opened empty
  // whose audit_open another writer wrote for another system or with other keys): every later
  // job fails with it, and no checkpoint is written (not even the closing one).
  let mismatch: LogMismatch | undefined
  // Warnings found while a turn is built (synchronously), logged once the turn is over.
  let warnings: Array<string> = []
  let warnedRotatedAway = false

  /** What the log's seq-0 audit_open states that this writer does not: the first such field. */
  const openMismatch = (payload: Record<string, unknown>): LogMismatch | undefined => {
    const signing = payload["signing"] as { key_id?: unknown } | null | undefined
    const foundId = signing === undefined || signing === null ? "none" : String(signing.key_id)
    const keyId = Option.match(signer.identity, { onNone: () => "none", onSome: (i) => i.keyId })
    if (foundId !== keyId) return new LogMismatch({ store: store.name, field: "signing key id", expected: keyId, found: foundId })
    if (openAs !== undefined && payload["system"] !== openAs) {
      return new LogMismatch({ store: store.name, field: "system", expected: openAs, found: String(payload["system"]) })
    }
    const checkpoints = payload["checkpoints"] as { key?: unknown; origin?: unknown } | null | undefined
    const foundKey = typeof checkpoints?.key === "string" ? checkpoints.key : "none"
    if (foundKey !== (key?.verifierKey ?? "none")) {
      return new LogMismatch({ store: store.name, field: "checkpoint key", expected: key?.verifierKey ?? "none", found: foundKey })
    }
    const stated = statedOrigin(Option.some(payload))
    if (key !== undefined && stated !== undefined && override !== undefined && override !== stated) {
      return new LogMismatch({ store: store.name, field: "checkpoint origin", expected: override, found: stated })
    }
    return undefined
  }

  /** An entry as its line states it (a line another writer wrote). */
  const chainedOf = (line: string): Chained | undefined => {
    try {
      const v = JSON.parse(line) as Record<string, unknown>
      const payload = v["payload"]
      if (typeof v["seq"] !== "number" || typeof v["type"] !== "string" || payload === null || typeof payload !== "object") return undefined
      return {
        seq: v["seq"],
        ts: String(v["ts"]),
        type: v["type"],
        payload: payload as Record<string, unknown>,
        prevHash: String(v["prev_hash"]),
        hash: String(v["hash"]),
        sig: typeof v["sig"] === "string" ? v["sig"] : ""
      }
    } catch {
      return undefined
    }
  }

  /**
   * Catch up on what other writers of a shared store appended (in a turn, holding the chain's
   * lock, so these are committed rows and stay so whatever becomes of the turn): each moves the
   * head, the count and the tree, and the lines the chain reads move its checkpoint count, key,
   * rotation and origin. Rows this writer already has are passed over (a turn run again hands
   * them over again). A row out of place or not an entry is a `StoreError`: the chain cannot be
   * continued from it.
   */
  const catchUp = (written: ReadonlyArray<Store.Written>): Store.StoreError | undefined => {
    for (const w of written) {
      if (w.seq < entries) continue
      if (w.seq !== entries || w.hash === null || w.type === null) {
        return new Store.StoreError({
          path: store.name,
          operation: "read",
          reason: w.seq !== entries
            ? `the store handed over seq ${w.seq} where seq ${entries} comes next: a gap in the chain`
            : `seq ${w.seq} is not an entry, so the chain cannot go on from it`
        })
      }
      head = w.hash
      entries++
      if (frontier !== undefined) {
        unfolded.push(w.hash)
        if (unfolded.length >= FOLD) fold()
      }
      const entry = w.line === undefined ? undefined : chainedOf(w.line)
      if (w.type === "checkpoint") {
        since = 0
        unconfirmed = undefined
        if (entry !== undefined) origin ??= noteOrigin(entry.payload)
      } else {
        since++
      }
      if (w.type === "key_rotation" && entry !== undefined && typeof entry.payload["key"] === "string") {
        const next = entry.payload["key"]
        const previous = entry.payload["previous"]
        logKey = next
        unconfirmed = typeof previous === "string" ? previous : undefined
        if (key !== undefined && next !== key.verifierKey && !warnedRotatedAway) {
          warnedRotatedAway = true
          warnings.push(
            `acttrace: another writer of ${store.name} rotated its checkpoint key to ${next} (seq ${w.seq}); this writer's key ${key.verifierKey} signs no more checkpoints: open it with the new key to sign them again`
          )
        }
      }
      if (w.seq === 0) {
        firstEntry = { type: w.type, entry }
        if (w.type === "audit_open" && entry !== undefined) {
          mismatch ??= openMismatch(entry.payload)
          const declared = (entry.payload["checkpoints"] as { key?: unknown } | null | undefined)?.key
          logKey = typeof declared === "string" ? declared : undefined
          origin = checkpointOrigin(Option.some(entry.payload), signer.checkpoints)
        }
      }
    }
    return undefined
  }

  /**
   * The answer to this writer's audit_open (shared store, opened empty) when another writer's
   * came first: that entry, if it states the same log (system, risk tier, signing key id,
   * checkpoint key and origin), else `LogMismatch` naming the first field that differs.
   */
  const answerOpen = (value: Record<string, unknown>): Exit.Exit<Chained, LogMismatch> => {
    const first = firstEntry
    if (first === undefined || first.type !== "audit_open" || first.entry === undefined) {
      return Exit.fail(new LogMismatch({ store: store.name, field: "first entry", expected: "audit_open", found: first?.type ?? "none" }))
    }
    const theirs = first.entry.payload
    const pick = (p: Record<string, unknown>, path: ReadonlyArray<string>): string => {
      let v: unknown = p
      for (const k of path) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined
      return v === undefined || v === null ? "none" : typeof v === "string" ? v : JSON.stringify(v)
    }
    const fields: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
      ["system", ["system"]],
      ["risk tier", ["risk_tier"]],
      ["signing key id", ["signing", "key_id"]],
      ["checkpoint key", ["checkpoints", "key"]],
      ["checkpoint origin", ["checkpoints", "origin"]]
    ]
    for (const [field, path] of fields) {
      const expected = pick(value, path)
      const found = pick(theirs, path)
      if (expected !== found) return Exit.fail(new LogMismatch({ store: store.name, field, expected, found }))
    }
    return Exit.succeed(first.entry)
  }

  /** Lines for a batch of jobs from the current head; the jobs that made it in, with their entries. */
  const build = (jobs: ReadonlyArray<Job>): Built => {
    const lines: Array<string> = []
    const made: Array<{ job: Job; entry: Chained }> = []
    // answers for the jobs that are not written (refused, or nothing to do), given when the batch
    // is settled: a shared store's turn may build a batch again, and only its last build counts
    const later: Array<() => void> = []
    let prev = head
    let seq = entries
    // the tree as the batch builds it: the written tree (`frontier` and `unfolded`, folded only
    // when a checkpoint needs the root: `folded`) and the batch's own `hashes`
    const tracking = frontier !== undefined
    let folded: Merkle.Frontier | undefined
    let hashes: Array<string> = []
    let sinceHere = since
    let originHere = origin
    let logKeyHere = logKey
    let unconfirmedHere = unconfirmed
    let openHere = openAnswerable
    let matched = false
    const add = (type: string, payload: Record<string, unknown>): Either.Either<Chained, Canonical.CanonicalError> => {
      const ts = formatTimestamp(clock.unsafeCurrentTimeNanos())
      return Either.map(Entry.seal({ prevHash: prev, seq, ts, type, payload }, signer.sign), (sealed) => {
        const entry: Chained = { seq, ts, type, payload, prevHash: prev, hash: sealed.hash, sig: sealed.sig }
        lines.push(sealed.line)
        prev = sealed.hash
        seq++
        if (tracking) {
          hashes.push(sealed.hash)
          sinceHere++
        }
        return entry
      })
    }
    /**
     * The key a checkpoint is signed with now (`explicit`: the rotation's confirmation asks for
     * the previous key), or undefined when this writer may sign none: while a rotation waits for
     * its confirmation only the key it rotated away from confirms it; otherwise only the log's key
     * signs (a writer whose key another writer rotated away signs nothing more).
     */
    const checkpointKey = (explicit: Signer.CheckpointSigner | undefined): Signer.CheckpointSigner | undefined => {
      if (key === undefined || mismatch !== undefined) return undefined
      if (unconfirmedHere !== undefined) {
        const by = explicit ?? previousKey
        return by !== undefined && by.verifierKey === unconfirmedHere && logKeyHere === key.verifierKey ? by : undefined
      }
      return explicit === undefined && logKeyHere === key.verifierKey ? key : undefined
    }
    /** A checkpoint entry over everything before it, signed by `by`. */
    const addCheckpoint = (by: Signer.CheckpointSigner): Either.Either<Chained, Canonical.CanonicalError> => {
      // (the written tree is folded in place: it stays the same tree whether this batch is
      // written or not)
      const tree = Merkle.appendHexHashes(folded ?? fold()!, hashes)
      folded = tree
      hashes = []
      const root = Merkle.rootOf(tree)
      originHere ??= checkpointOrigin(Option.none(), signer.checkpoints)
      const note = by.signNote(checkpointBody(originHere, tree.size, root, prev))
      const entry = add("checkpoint", { size: tree.size, root: Buffer.from(root).toString("base64"), head: prev, note })
      if (Either.isRight(entry)) {
        sinceHere = 0
        unconfirmedHere = undefined
      }
      return entry
    }
    const refuse = (job: Job, result: Exit.Exit<Chained, AppendError>) => {
      later.push(() => job.done(result))
    }
    for (const job of jobs) {
      if (mismatch !== undefined) {
        // the log is another writer's record of another system, or signed with other keys
        refuse(job, Exit.fail(mismatch))
        continue
      }
      if (job.checkpoint !== undefined) {
        const by = checkpointKey(job.checkpoint.key)
        if (by === undefined || !tracking || sinceHere === 0) {
          later.push(job.checkpoint.none)
          continue
        }
        const entry = addCheckpoint(by)
        if (Either.isLeft(entry)) refuse(job, Exit.fail(entry.left))
        else made.push({ job, entry: entry.right })
        continue
      }
      if (job.raw === true) {
        if (job.rotation !== undefined) {
          // another writer made this rotation already, or rotated the log's key elsewhere
          const previous = job.payload["previous"]
          if (job.payload["key"] === logKeyHere || (typeof previous === "string" ? previous : undefined) !== logKeyHere) {
            later.push(job.rotation.none)
            continue
          }
        }
        const entry = add(job.type, job.payload)
        if (Either.isLeft(entry)) {
          refuse(job, Exit.fail(entry.left))
          continue
        }
        made.push({ job, entry: entry.right })
        if (job.type === "key_rotation") {
          logKeyHere = job.payload["key"] as string
          const previous = job.payload["previous"]
          unconfirmedHere = typeof previous === "string" ? previous : undefined
        }
        continue
      }
      // (the chain's own checkpoint and key_rotation entries come as requests or raw jobs above)
      const answersOpen = job.type === "audit_open" && seq > 0 && openHere
      if (!answersOpen && isReserved(job.type, seq)) {
        refuse(job, Exit.fail(new ReservedType({ type: job.type, seq })))
        continue
      }
      const normal = normalize(job.payload)
      if (Either.isLeft(normal)) {
        refuse(job, Exit.fail(normal.left))
        continue
      }
      let redaction: Redactor.Redaction<Record<string, unknown>>
      try {
        redaction = redactor.redact(normal.right)
      } catch (e) {
        // a custom redactor that throws fails its own entry, never the batch
        refuse(job, Exit.die(e))
        continue
      }
      const { value, findings } = redaction
      if (answersOpen) {
        // a shared chain another writer opened first: its audit_open is this one's answer, when
        // it states the same log
        const answer = answerOpen(value)
        refuse(job, answer)
        if (Exit.isSuccess(answer)) {
          openHere = false
          matched = true
        }
        // (a writer refused here must write nothing more, not even its closing checkpoint: the
        // seq-0 row it is judged on is committed, so this holds whatever becomes of the turn)
        else mismatch = Option.getOrUndefined(Cause.failureOption(answer.cause))
        continue
      }
      const mark = { lines: lines.length, prev, seq, hashes: hashes.length, since: sinceHere }
      const entry = add(job.type, value)
      if (Either.isLeft(entry)) {
        refuse(job, Exit.fail(entry.left))
        continue
      }
      if (entry.right.seq === 0) {
        // this writer opens the log: an audit_open after this is an ordinary (refused) one
        openHere = false
        // a new log's audit_open states the origin its checkpoints carry
        if (job.type === "audit_open") originHere = checkpointOrigin(Option.some(value), signer.checkpoints)
      }
      if (job.flag && findings.length > 0 && redactor.autoFlag && job.type !== "policy_flag") {
        let failed: Canonical.CanonicalError | undefined
        for (const payload of autoFlags(entry.right, findings)) {
          const flag = add("policy_flag", payload)
          if (Either.isLeft(flag)) {
            failed = flag.left
            break
          }
        }
        if (failed !== undefined) {
          // cannot happen with plain findings; keep the batch whole anyway
          lines.length = mark.lines
          prev = mark.prev
          seq = mark.seq
          hashes.length = mark.hashes
          sinceHere = mark.since
          refuse(job, Exit.fail(failed))
          continue
        }
      }
      made.push({ job, entry: entry.right })
      // the count trigger: after the entry and its flags, never between them
      if (every > 0 && sinceHere >= every) {
        const by = checkpointKey(undefined)
        if (by !== undefined) {
          const cp = addCheckpoint(by)
          // (a checkpoint payload is plain data: it cannot fail to encode)
          if (Either.isLeft(cp)) throw cp.left
        }
      }
    }
    return {
      lines,
      made,
      later,
      head: prev,
      entries: seq,
      folded,
      hashes,
      since: sinceHere,
      origin: originHere,
      logKey: logKeyHere,
      unconfirmed: unconfirmedHere,
      openAnswerable: openHere,
      matched
    }
  }

  /**
   * Advance past a written batch and answer its callers, or answer them with the failure; then
   * answer the jobs the batch did not write.
   */
  const settle = (b: Built, written: Exit.Exit<void, unknown>) => {
    if (Exit.isSuccess(written)) {
      head = b.head
      entries = b.entries
      if (b.folded !== undefined) {
        frontier = b.folded
        unfolded = b.hashes
      } else {
        for (const h of b.hashes) unfolded.push(h)
      }
      if (unfolded.length >= FOLD) fold()
      since = b.since
      origin = b.origin
      logKey = b.logKey
      unconfirmed = b.unconfirmed
      openAnswerable = b.openAnswerable
      for (const { job, entry } of b.made) job.done(Exit.succeed(entry))
    } else {
      const failed = Exit.failCause(written.cause) as Exit.Exit<never, AppendError>
      for (const { job } of b.made) job.done(failed)
      // (an audit_open answered with another writer's is answered whatever became of the rest)
      if (b.matched) openAnswerable = false
    }
    answerLater(b)
  }
  const answerLater = (b: Built) => {
    for (const answer of b.later) answer()
  }

  // The store's append run at once, when the store made it with `Store.synchronousAppend`: the
  // very function `store.append` runs, so a store whose `append` is any other function (a double)
  // is written only through that function. (A shared store's writes are turns: never at once.)
  const appendNow = shared === undefined ? Store.appendNow(store.append) : undefined

  /** Build and write a batch with a synchronous store, in the caller's own stretch, and answer it. */
  const writeNow = (jobs: ReadonlyArray<Job>, appendNow: Store.WriteNow) => {
    const b = build(jobs)
    if (b.made.length > 0) {
      const failed = appendNow(b.lines)
      settle(b, failed === undefined ? Exit.void : Exit.fail(failed))
    } else answerLater(b)
  }

  /** The warnings found while building, logged once. */
  const logWarnings = Effect.suspend(() => {
    if (warnings.length === 0) return Effect.void
    const told = warnings
    warnings = []
    return Effect.forEach(told, (w) => Effect.logWarning(w), { discard: true })
  })

  /**
   * A batch as one turn of a shared store: catch up on the other writers' rows, build on the end
   * they left, and let the store write the lines (or nothing) in the same transaction. The store
   * may run `build` again (a turn retried after a serialization failure, a busy database, a lost
   * connection): each run catches up from where the last one left and builds afresh, and only the
   * last build is settled. A catch-up that finds the chain broken aborts the turn.
   */
  const runTurn = (shared: Store.Shared, jobs: ReadonlyArray<Job>) =>
    Effect.suspend(() => {
      let last: Built | undefined
      const turn = shared.turn(entries, (written) => {
        last = undefined
        const broken = catchUp(written)
        if (broken !== undefined) return Either.left(broken)
        const b = build(jobs)
        last = b
        return Either.right(b.lines)
      })
      return Effect.flatMap(Effect.exit(turn), (exit) => {
        if (last !== undefined) settle(last, exit)
        else if (Exit.isFailure(exit)) {
          // (no build to settle: the turn failed before it, or its catch-up found the chain broken)
          const failed = Exit.failCause(exit.cause)
          for (const job of jobs) job.done(failed)
        }
        return logWarnings
      })
    })

  const runBatch = (jobs: ReadonlyArray<Job>) =>
    Effect.suspend(() => {
      if (jobs.length === 0) return Effect.void
      if (shared !== undefined) return runTurn(shared, jobs)
      const b = build(jobs)
      if (b.made.length === 0) {
        answerLater(b)
        return Effect.void
      }
      return Effect.map(Effect.exit(store.append(b.lines)), (written) => settle(b, written))
    })

  /** A batch's items in order: jobs appended together, each snapshot taken where it stands. */
  const write = (items: ReadonlyArray<Item>): Effect.Effect<void> => {
    let i = 0
    while (i < items.length && !("snapshot" in items[i]!)) i++
    // the usual batch: jobs only
    if (i === items.length) return runBatch(items as ReadonlyArray<Job>)
    return Effect.gen(function* () {
      let jobs: Array<Job> = []
      for (const item of items) {
        if ("snapshot" in item) {
          yield* runBatch(jobs)
          jobs = []
          const bytes = yield* store.snapshot
          item.snapshot(Effect.succeed({ position: { head, entries }, bytes }))
        } else jobs.push(item)
      }
      yield* runBatch(jobs)
    })
  }

  // One batch: what is queued (up to the store's batch size, after its delay), appended in one
  // store call; a snapshot sees everything queued before it and nothing after. It never fails: a
  // defect (a store that dies instead of failing) answers every item it took that is not answered
  // yet, so nobody waits for ever, and whoever writes next goes on from the head as it stands.
  // `inFlight` is the batch being written: there is one at a time, by the token's holder.
  let inFlight: Array<Item> = []
  const topUp = Effect.suspend(() => {
    for (const item of take(maxBatch - inFlight.length)) inFlight.push(item)
    return write(inFlight)
  })
  // A shared store's turn is a transaction under the chain's lock, whoever else waits for it: the
  // more entries a turn carries, the more the chain writes. Its leader lets the fibers that are
  // ready run first (the callers the last turn answered queue their next entries), then takes
  // what queued: without it, the first caller answered led a turn of one entry while the others
  // were still waking (measured: half of the turns carried one entry, and a synchronous driver
  // such as SQLite's queued nothing at all during a turn).
  const gather = shared !== undefined
  const step: Effect.Effect<void> = Effect.catchAllCause(
    Effect.suspend(() => {
      inFlight = take(maxBatch)
      if (maxDelayMillis > 0 && inFlight.length < maxBatch && !closed) return Effect.zipRight(Effect.sleep(maxDelayMillis), topUp)
      return gather && inFlight.length < maxBatch && !closed ? Effect.zipRight(Effect.yieldNow(), topUp) : write(inFlight)
    }),
    (cause) => Effect.sync(() => answerAll(inFlight, Exit.failCause(cause), Effect.failCause(cause)))
  )

  /** Give the token back; the writer fiber takes what queued up meanwhile. */
  const release = Effect.sync(() => {
    inFlight = []
    writing = false
    wake()
  })
  /**
   * One batch by the holder of the token, then the token's release. Run only uninterruptibly, by
   * whoever just took the token in the same stretch: batches are written and answered whole.
   */
  const batch = Effect.ensuring(step, release)

  /** The writer fiber's turn: take the token if it is still free and something is queued, and write one batch. */
  const lead = Effect.uninterruptible(
    Effect.suspend(() => {
      if (writing || pending.length === 0) return Effect.void
      writing = true
      return batch
    })
  )

  // The writer fiber takes what queued up while someone else held the token, and drains the
  // queue when the log closes.
  const writer = Effect.gen(function* () {
    for (;;) {
      yield* waitForWork
      if (closed && !writing && pending.length === 0) return
      yield* lead
    }
  })

  const fiber = yield* Effect.forkDaemon(writer)

  // The checkpoint timer: every `interval`, a checkpoint request is queued if entries were added
  // since the last checkpoint and none is queued yet. It only queues (it waits for no answer), so
  // interrupting it never withdraws a request: one queued when the log closes is drained with the
  // rest. A daemon, interrupted first thing at close: it keeps no scope open and delays no close.
  let timerQueued = false
  const tick = () => {
    // (a writer refused as another log's, or whose key another writer rotated away, signs none:
    // no turn for nothing)
    if (closed || timerQueued || since === 0 || mismatch !== undefined || (logKey !== key?.verifierKey && unconfirmed === undefined)) return
    timerQueued = true
    const settled = () => {
      timerQueued = false
    }
    pending.push({ type: "checkpoint", payload: {}, flag: false, checkpoint: { key: undefined, none: settled }, done: settled })
    wake()
  }
  const timer = key === undefined || interval === undefined
    ? undefined
    : yield* Effect.forkDaemon(Effect.forever(Effect.zipRight(Effect.sleep(interval), Effect.sync(tick))))

  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      if (timer !== undefined) yield* Fiber.interrupt(timer)
      // stop taking appends, let the writer drain what is queued (once whoever holds the token is
      // done), then wait for it
      closed = true
      wake()
      yield* Fiber.join(fiber).pipe(Effect.ignore)
      // the closing checkpoint, when anything was added since the last one: written by the
      // finalizer itself (the writer has ended and nobody holds the token)
      // (not by a writer refused as another log's: it writes nothing)
      if (key !== undefined && since > 0 && !writing && mismatch === undefined) {
        let failed: Exit.Exit<unknown, unknown> | undefined
        writing = true
        yield* Effect.ensuring(
          runBatch([{
            type: "checkpoint",
            payload: {},
            flag: false,
            checkpoint: { key: undefined, none: () => {} },
            done: (r) => {
              if (Exit.isFailure(r)) failed = r
            }
          }]),
          Effect.sync(() => {
            writing = false
          })
        ).pipe(Effect.catchAllCause((cause) => Effect.sync(() => (failed = Exit.failCause(cause)))))
        if (failed !== undefined && Exit.isFailure(failed)) {
          yield* Effect.logWarning(`acttrace: the closing checkpoint of ${store.name} could not be written`, failed.cause)
        }
      }
      // nothing is queued after `closed`; should the writer have ended otherwise, nobody waits
      answerAll(take(Infinity), Exit.fail(new ChainClosed()), Effect.fail(new ChainClosed()))
    })
  )

  /**
   * Queue items and wait for their answer, leading their batch in this fiber when nobody holds
   * the token. Queueing, taking the token, and installing what undoes both (the token's release;
   * the withdrawal of items no batch has taken when the caller is interrupted while it waits) are
   * one uninterruptible stretch. So an interruption comes either before it (nothing queued) or
   * while the caller waits: its items not yet taken are withdrawn, and those in a batch already
   * being written are written with it, their answers going to nobody.
   */
  const submit = <A, E>(items: ReadonlyArray<Item>, answer: Answer<A, E>): Effect.Effect<A, E> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.suspend(() => {
        if (closed) {
          // the log closed since the caller looked: the writer may be gone, queue nothing
          answerAll(items, Exit.fail(new ChainClosed()), Effect.fail(new ChainClosed()))
          return answer.wait()
        }
        for (const item of items) pending.push(item)
        // the holder of the token takes these after its batch, or wakes the writer fiber for them
        if (writing) return awaitAnswer(restore, items, answer)
        writing = true
        // the batch usually answers its leader: then there is nothing to wait for
        return Effect.flatMap(batch, () => answer.value ?? awaitAnswer(restore, items, answer))
      })
    )
  /** Wait for an answer, interruptibly; when interrupted, withdraw the items no batch has taken. */
  const awaitAnswer = <A, E>(restore: <X, Y, Z>(effect: Effect.Effect<X, Y, Z>) => Effect.Effect<X, Y, Z>, items: ReadonlyArray<Item>, answer: Answer<A, E>) =>
    Effect.onInterrupt(restore(answer.wait()), () => withdraw(items))

  /** One entry through the queue (an asynchronous store, or someone else writing), answered alone. */
  const queued = (type: string, payload: Record<string, unknown>, flag: boolean) => {
    const answer = new Answer<Chained, AppendError>()
    return submit([{ type, payload, flag, done: answer.give }], answer)
  }

  const service: ChainService = {
    append: (type, payload, options) =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(new ChainClosed())
        const flag = options?.flagRedactions ?? false
        if (appendNow === undefined || writing || pending.length > 0) return queued(type, payload, flag)
        // a synchronous store and nobody writing: the whole append happens here and now, nothing
        // can come between
        let answer: Exit.Exit<Chained, AppendError> | undefined
        writeNow([{ type, payload, flag, done: (r) => (answer = r) }], appendNow)
        return answer ?? Effect.die(new Error("acttrace: an append was not answered"))
      }),
    appendAllNow: (items, options) => {
      if (closed || writing || pending.length > 0 || appendNow === undefined) return undefined
      const answers = new Array<Exit.Exit<Chained, AppendError>>(items.length)
      const flag = options?.flagRedactions ?? false
      writeNow(
        items.map((item, i): Job => ({ type: item.type, payload: item.payload, flag, done: (r) => (answers[i] = r) })),
        appendNow
      )
      return answers
    },
    appendAll: (items, options) =>
      Effect.suspend(() => {
        if (items.length === 0) return Effect.succeed([])
        if (closed) return Effect.succeed(items.map(() => Exit.fail(new ChainClosed())))
        // a synchronous store and nobody writing: the whole batch here and now
        const now = service.appendAllNow(items, options)
        if (now !== undefined) return Effect.succeed(now)
        const answers = new Array<Exit.Exit<Chained, AppendError>>(items.length)
        let left = items.length
        const all = new Answer<ReadonlyArray<Exit.Exit<Chained, AppendError>>, never>()
        const flag = options?.flagRedactions ?? false
        const jobs = items.map(
          (item, i): Job => ({
            type: item.type,
            payload: item.payload,
            flag,
            done: (r) => {
              if (answers[i] !== undefined) return
              answers[i] = r
              // every job is answered with an Exit, which is what the caller gets back
              if (--left === 0) all.give(Effect.succeed(answers))
            }
          })
        )
        return submit(jobs, all)
      }),
    position: Effect.sync(() => ({ head, entries })),
    checkpoint: Effect.suspend(() => {
      if (closed) return Effect.fail(new ChainClosed())
      if (key === undefined) return Effect.succeedNone
      const answer = new Answer<Option.Option<Chained>, AppendError>()
      return submit(
        [{
          type: "checkpoint",
          payload: {},
          flag: false,
          checkpoint: { key: undefined, none: () => answer.give(Effect.succeedNone) },
          done: (r) => answer.give(Exit.map(r, Option.some))
        }],
        answer
      )
    }),
    tree: Effect.sync(() => {
      const tree = fold()
      return tree === undefined ? Option.none() : Option.some({ size: tree.size, root: Merkle.rootOf(tree) })
    }),
    snapshot: Effect.suspend(() => {
      if (closed) return Effect.fail(new ChainClosed())
      const answer = new Answer<Snapshot, ChainClosed>()
      return submit([{ snapshot: answer.give }], answer)
    }),
    opened
  }

  // a rotation of the checkpoint key: the key_rotation entry, then (when there was a key) a
  // checkpoint signed with the previous key that covers it; later checkpoints use the new key.
  // (A rotation written before a crash that kept its checkpoint out gets only the checkpoint.)
  if (rotation !== undefined) {
    const answers: Array<Exit.Exit<Option.Option<Chained>, AppendError>> = []
    const all = new Answer<void, never>()
    const expected = (rotation.payload === undefined ? 0 : 1) + (rotation.confirmBy === undefined ? 0 : 1)
    const give = (r: Exit.Exit<Option.Option<Chained>, AppendError>) => {
      answers.push(r)
      if (answers.length === expected) all.give(Effect.void)
    }
    const jobs: Array<Job> = []
    if (rotation.payload !== undefined) {
      jobs.push({
        type: "key_rotation",
        payload: rotation.payload,
        flag: false,
        raw: true,
        // (with a shared store, another writer may have made it since this one opened)
        rotation: { none: () => give(Exit.succeed(Option.none())) },
        done: (r) => give(Exit.map(r, Option.some))
      })
    }
    if (rotation.confirmBy !== undefined) {
      jobs.push({
        type: "checkpoint",
        payload: {},
        flag: false,
        checkpoint: { key: rotation.confirmBy, none: () => give(Exit.succeed(Option.none())) },
        done: (r) => give(Exit.map(r, Option.some))
      })
    }
    yield* submit(jobs, all)
    for (const r of answers) {
      if (Exit.isFailure(r)) {
        const e = Cause.failureOption(r.cause)
        if (Option.isSome(e) && e.value._tag === "StoreError") return yield* Effect.fail(e.value)
        return yield* Effect.die(Cause.squash(r.cause))
      }
    }
  }
  return service
})

const SEVERITY_RANK = { info: 0, warning: 1, critical: 2 } as const

/**
 * The automatic `policy_flag`s after an entry in which the library's redactor found something
 * (FORMAT A.6): one per action taken, blocked first, then redacted (`severity: "info"`), then
 * flagged (the findings' highest severity). A finding without an action (a custom redactor's)
 * counts as redacted; allowed ones are not flagged.
 */
const autoFlags = (entry: Chained, findings: ReadonlyArray<Redactor.Finding>): Array<Record<string, unknown>> => {
  const kinds = [
    { action: "blocked", of: (f: Redactor.Finding) => f.action === "block", reason: "sensitive data blocked and removed before hashing" },
    { action: "redacted", of: (f: Redactor.Finding) => f.action === undefined || f.action === "redact", reason: "sensitive data redacted before hashing" },
    { action: "flagged", of: (f: Redactor.Finding) => f.action === "flag", reason: "sensitive data kept in the entry" }
  ] as const
  const flags: Array<Record<string, unknown>> = []
  for (const kind of kinds) {
    const found = findings.filter(kind.of)
    if (found.length === 0) continue
    const sorted = [...found].sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : 0))
    const top = sorted.reduce<"info" | "warning" | "critical">((s, f) => (SEVERITY_RANK[f.severity ?? "warning"] > SEVERITY_RANK[s] ? (f.severity ?? "warning") : s), "info")
    flags.push({
      decision_id: typeof entry.payload["decision_id"] === "string" ? entry.payload["decision_id"] : null,
      reason: `${kind.reason}: ${sorted.map((f) => f.category).join(", ")}`,
      action: kind.action,
      severity: kind.action === "blocked" ? "critical" : kind.action === "redacted" ? "info" : top,
      data: {
        entry_seq: entry.seq,
        entry_type: entry.type,
        categories: sorted.map((f) => f.category),
        groups: [...new Set(sorted.map((f) => f.group))].sort(),
        counts: Object.fromEntries(sorted.map((f) => [f.category, f.count]))
      },
      auto: true
    })
  }
  return flags
}

/**
 * The chain over the `Store`, signed by the `Signer`, scrubbed by the `Redactor`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Chain, LogInvalid | LogMismatch | Store.StoreError, Store.Store | Signer.Signer | Redactor.Redactor> = Layer.scoped(Chain, make)
