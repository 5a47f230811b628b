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
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Canonical from "./Canonical.js"
import * as Entry from "./Entry.js"
import { GENESIS } from "./Hash.js"
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
    return `LogInvalid: ${this.store}: ${this.reason}`
  }
}

/**
 * The log belongs to another system, or was signed with another key: appending to it would mix
 * two records. (The key is checked before the log is verified, so a wrong key is named as such.)
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
    return `LogMismatch: ${this.store} was opened with ${this.field} ${this.found}, not ${this.expected}`
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
    return "ChainClosed: the audit log's scope has ended; nothing more can be appended"
  }
}

/**
 * What can make an append fail. Nothing is written in any of these cases.
 *
 * @since 0.1.0
 * @category errors
 */
export type AppendError = Canonical.CanonicalError | Store.StoreError | ChainClosed

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
 * @since 0.1.0
 * @category models
 */
export interface ChainService {
  /** Chain one entry; it is in the store when this succeeds. */
  readonly append: (type: string, payload: Record<string, unknown>, options?: AppendOptions) => Effect.Effect<Chained, AppendError>
  readonly position: Effect.Effect<Position>
  /** The store's lines up to the head at this moment, taken in order with the appends. */
  readonly snapshot: Effect.Effect<Snapshot, ChainClosed>
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
  const micros = nanos / 1000n
  const millis = Number(micros / 1000n)
  const iso = new Date(millis).toISOString() // 2026-11-27T12:00:00.001Z
  const frac = (micros % 1_000_000n + 1_000_000n) % 1_000_000n
  return `${iso.slice(0, 19)}.${frac.toString().padStart(6, "0")}+00:00`
}

interface Job {
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly flag: boolean
  readonly done: Deferred.Deferred<Chained, AppendError>
}

interface Snapshot {
  readonly position: Position
  readonly bytes: Stream.Stream<Uint8Array, Store.StoreError>
}

interface SnapshotJob {
  readonly snapshot: Deferred.Deferred<Snapshot, ChainClosed>
}

const CLOSE = Symbol("close")

type Item = Job | SnapshotJob | typeof CLOSE

/**
 * The payload of a log's first entry when it is an `audit_open` (system, risk tier, signing key).
 *
 * @since 0.1.0
 * @category reading
 */
export const auditOpenOf = (bytes: Stream.Stream<Uint8Array, Store.StoreError>): Effect.Effect<Option.Option<Record<string, unknown>>, Store.StoreError> =>
  bytes.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.filter((l) => l.trim().length > 0),
    Stream.take(1),
    Stream.runHead,
    Effect.map(
      Option.flatMap((line) => {
        try {
          const v = JSON.parse(line.replace(/^\ufeff/, "")) as { type?: unknown; payload?: unknown }
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

  // resume: the same signing key as before (or none, as before), then the whole log must verify
  // under it before anything is added
  const auditOpen = yield* Effect.flatMap(store.snapshot, auditOpenOf)
  if (Option.isSome(auditOpen)) {
    const signing = auditOpen.value["signing"] as { key_id?: unknown } | null | undefined
    const found = signing === undefined || signing === null ? "none" : String(signing.key_id)
    const keyId = Option.match(signer.identity, { onNone: () => "none", onSome: (i) => i.keyId })
    if (found !== keyId) return yield* new LogMismatch({ store: store.name, field: "signing key id", expected: keyId, found })
  }
  const existing = yield* store.snapshot
  const outcome = yield* Verify.stream(existing, { key: Option.getOrUndefined(signer.key) }).pipe(
    Effect.map((r) => ({ head: r.head, entries: r.entries })),
    Effect.catchAll((e): Effect.Effect<Position, LogInvalid | Store.StoreError> => {
      if (e._tag === "StoreError") return Effect.fail(e)
      // an empty log is no entry at all to the verifier, and a fine start to a writer
      if (e._tag === "MalformedLine" && e.line === 0) return Effect.succeed({ head: GENESIS, entries: 0 })
      return Effect.fail(new LogInvalid({ store: store.name, reason: e.message }))
    })
  )
  const opened: Opened = { ...outcome, auditOpen: outcome.entries === 0 ? Option.none() : auditOpen }

  let head = outcome.head
  let entries = outcome.entries
  let closed = false
  const queue = yield* Queue.unbounded<Item>()
  const { maxBatch, maxDelayMillis } = store.batching

  const clock = yield* Effect.clock

  /** Lines for a batch of jobs from the current head; the jobs that made it in, with their entries. */
  const build = (jobs: ReadonlyArray<Job>) => {
    const lines: Array<string> = []
    const made: Array<{ job: Job; entry: Chained }> = []
    let prev = head
    let seq = entries
    const add = (type: string, payload: Record<string, unknown>): Either.Either<Chained, Canonical.CanonicalError> => {
      const ts = formatTimestamp(clock.unsafeCurrentTimeNanos())
      return Either.map(Entry.seal({ prevHash: prev, seq, ts, type, payload }, signer.sign), (sealed) => {
        const entry: Chained = { seq, ts, type, payload, prevHash: prev, hash: sealed.hash, sig: sealed.sig }
        lines.push(sealed.line)
        prev = sealed.hash
        seq++
        return entry
      })
    }
    for (const job of jobs) {
      const normal = normalize(job.payload)
      if (Either.isLeft(normal)) {
        Deferred.unsafeDone(job.done, Exit.fail(normal.left))
        continue
      }
      const { value, findings } = redactor.redact(normal.right)
      const mark = { lines: lines.length, prev, seq }
      const entry = add(job.type, value)
      if (Either.isLeft(entry)) {
        Deferred.unsafeDone(job.done, Exit.fail(entry.left))
        continue
      }
      if (job.flag && findings.length > 0 && redactor.autoFlag && job.type !== "policy_flag") {
        const flag = add("policy_flag", autoFlag(entry.right, findings))
        if (Either.isLeft(flag)) {
          // cannot happen with plain findings; keep the batch whole anyway
          lines.length = mark.lines
          prev = mark.prev
          seq = mark.seq
          Deferred.unsafeDone(job.done, Exit.fail(flag.left))
          continue
        }
      }
      made.push({ job, entry: entry.right })
    }
    return { lines, made, head: prev, entries: seq }
  }

  const runBatch = (jobs: ReadonlyArray<Job>) =>
    Effect.gen(function* () {
      const b = build(jobs)
      if (b.made.length === 0) return
      const written = yield* Effect.exit(store.append(b.lines))
      if (Exit.isSuccess(written)) {
        head = b.head
        entries = b.entries
        for (const { job, entry } of b.made) Deferred.unsafeDone(job.done, Exit.succeed(entry))
      } else {
        const cause = written.cause
        for (const { job } of b.made) Deferred.unsafeDone(job.done, Exit.failCause(cause))
      }
    })

  const writer = Effect.gen(function* () {
    for (;;) {
      const first = yield* Queue.take(queue)
      const items: Array<Item> = [first]
      if (first !== CLOSE && maxBatch > 1) {
        items.push(...(yield* Queue.takeUpTo(queue, maxBatch - 1)))
        if (maxDelayMillis > 0 && items.length < maxBatch && !items.includes(CLOSE)) {
          yield* Effect.sleep(maxDelayMillis)
          items.push(...(yield* Queue.takeUpTo(queue, maxBatch - items.length)))
        }
      }
      let jobs: Array<Job> = []
      for (const item of items) {
        if (item === CLOSE) {
          yield* runBatch(jobs)
          return
        }
        if ("snapshot" in item) {
          // everything queued before the snapshot is in it, nothing after
          yield* runBatch(jobs)
          jobs = []
          const bytes = yield* store.snapshot
          Deferred.unsafeDone(item.snapshot, Exit.succeed({ position: { head, entries }, bytes }))
          continue
        }
        jobs.push(item)
      }
      yield* runBatch(jobs)
    }
  })

  const fiber = yield* Effect.forkDaemon(writer)
  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      closed = true
      yield* Queue.offer(queue, CLOSE)
      yield* Fiber.join(fiber).pipe(Effect.ignore)
      // anything queued after the close marker is refused, never silently dropped
      const rest = yield* Queue.takeAll(queue)
      for (const item of rest) {
        if (item === CLOSE) continue
        if ("snapshot" in item) Deferred.unsafeDone(item.snapshot, Exit.fail(new ChainClosed()))
        else Deferred.unsafeDone(item.done, Exit.fail(new ChainClosed()))
      }
      yield* Queue.shutdown(queue)
    })
  )

  const service: ChainService = {
    append: (type, payload, options) =>
      Effect.suspend(() => {
        if (closed) return Effect.fail(new ChainClosed())
        const done = Deferred.unsafeMake<Chained, AppendError>(fiber.id())
        return Queue.offer(queue, { type, payload, flag: options?.flagRedactions ?? false, done }).pipe(Effect.andThen(Deferred.await(done)))
      }),
    position: Effect.sync(() => ({ head, entries })),
    snapshot: Effect.suspend(() => {
      if (closed) return Effect.fail(new ChainClosed())
      const snapshot = Deferred.unsafeMake<Snapshot, ChainClosed>(fiber.id())
      return Queue.offer(queue, { snapshot }).pipe(Effect.andThen(Deferred.await(snapshot)))
    }),
    opened
  }
  return service
})

/** The automatic `policy_flag` after an entry the library's redactor changed (FORMAT A.6). */
const autoFlag = (entry: Chained, findings: ReadonlyArray<Redactor.Finding>): Record<string, unknown> => {
  const sorted = [...findings].sort((a, b) => (a.category < b.category ? -1 : a.category > b.category ? 1 : 0))
  return {
    decision_id: typeof entry.payload["decision_id"] === "string" ? entry.payload["decision_id"] : null,
    reason: `sensitive data redacted before hashing: ${sorted.map((f) => f.category).join(", ")}`,
    action: "redacted",
    severity: "info",
    data: {
      entry_seq: entry.seq,
      entry_type: entry.type,
      categories: sorted.map((f) => f.category),
      groups: [...new Set(sorted.map((f) => f.group))].sort(),
      counts: Object.fromEntries(sorted.map((f) => [f.category, f.count]))
    },
    auto: true
  }
}

/**
 * The chain over the `Store`, signed by the `Signer`, scrubbed by the `Redactor`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Chain, LogInvalid | LogMismatch | Store.StoreError, Store.Store | Signer.Signer | Redactor.Redactor> = Layer.scoped(Chain, make)
