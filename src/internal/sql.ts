/**
 * The SQL stores (PostgreSQL, SQLite) behind `Store.layerSql*`. This module imports `@effect/sql`
 * statically; `Store` reaches it only through a dynamic import, so users without the optional
 * packages can still import `acttrace/Store`. The drivers (`@effect/sql-pg`,
 * `@effect/sql-sqlite-node`) are imported here dynamically too, only by `makeUrl`, each only when a
 * URL asks for it.
 *
 * Every write is one transaction on one reserved connection, run by hand (BEGIN, statements,
 * COMMIT) rather than through `withTransaction`: that one turns a failed COMMIT or ROLLBACK into
 * a defect, and a store must tell a COMMIT refused by the server (nothing written, try again) from
 * a COMMIT lost in flight (outcome unknown until read back).
 */
import { existsSync } from "node:fs"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { missingPackageReason } from "./optional.js"
import { targetOf } from "./sqlurl.js"
import { disagreementReason, StoreError } from "./store.js"
import type { Batching, Disagreement, Shared, SqlOptions, StoreService, Written } from "./store.js"

type Dialect = "pg" | "sqlite"

/** The head of an empty chain: what the first entry's `prev_hash` links to. */
const ZERO_HASH = "0".repeat(64)
/** Rows per page of a snapshot at most: constant memory, and faster than a cursor on PostgreSQL. */
const PAGE = 5000
/**
 * Characters per page of a snapshot at most (judged by the longest line read so far): captured
 * model calls can hold lines of megabytes, and 5,000 of them would not fit in a heap.
 */
const PAGE_CHARS = 8 * 1024 * 1024
/** Characters per buffer of a page's bytes. */
const CHUNK_CHARS = 1024 * 1024
/** Rows per INSERT statement (7 parameters each: under SQLite's and PostgreSQL's limits). */
const INSERT_ROWS = 500
/** The entry types whose whole line a turn hands back (`Written.line`). */
const KEPT_TYPES = ["audit_open", "checkpoint", "key_rotation"] as const
/** How long a PostgreSQL connection may take to be made (the pool's `connectionTimeoutMillis`). */
const CONNECT_TIMEOUT_MILLIS = 10_000
const CONNECT_TIMED_OUT = /timeout exceeded when trying to connect|connection timeout|Connection timed out/i
/** The advisory lock (first key) that serializes migrations on PostgreSQL; the second is the prefix's hash. */
const MIGRATION_LOCK = 727274

const PREFIX = /^[a-z_][a-z0-9_]{0,30}$/
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

// ---------------------------------------------------------------------------------------------
// Errors

/** The driver error inside a SqlError (or the error itself), and its code. */
const driverError = (e: unknown): { readonly code: string | undefined; readonly message: string } => {
  let d: unknown = e
  if (d !== null && typeof d === "object" && (d as { _tag?: unknown })._tag === "SqlError") d = (d as { cause?: unknown }).cause ?? d
  const code = d !== null && typeof d === "object" && typeof (d as { code?: unknown }).code === "string" ? (d as { code: string }).code : undefined
  let message = d instanceof Error ? d.message : String(d)
  // Node's connection errors for a host with several addresses are an AggregateError, message ""
  if (message === "" && d instanceof AggregateError) message = d.errors.map((x) => (x instanceof Error ? x.message : String(x))).join("; ")
  if (message === "" && e instanceof Error) message = e.message
  // the server's words are untrusted input (any server the user points us at, or a man in the
  // middle of a plain connection): one line, its control characters shown escaped (and cut in
  // `storeError`), so that it can neither paint over the operator's terminal nor forge a line
  // in a log
  const first = (message.split("\n")[0] ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
  return { code: code?.replace(/[^\w.-]/g, "?").slice(0, 40), message: first }
}

/** What kind of failure a database error is, for deciding whether to run the work again. */
type Kind = "lost" | "busy" | "unique" | "other"

const LOST_CODES = new Set(["57P01", "57P02", "57P03", "57P05", "25P03", "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED", "EAI_AGAIN"])
const LOST_MESSAGE = /Connection terminated|not queryable|Connection ended|connection error|Connection timed out|timeout exceeded when trying to connect|Failed to connect/i

const kindOf = (e: unknown): Kind => {
  const { code, message } = driverError(e)
  if (code !== undefined) {
    if (code.startsWith("08") || LOST_CODES.has(code)) return "lost"
    // serialization failure, deadlock, lock not available; SQLite busy or locked
    if (code === "40001" || code === "40P01" || code === "55P03" || code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return "busy"
    if (code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") return "unique"
    return "other"
  }
  if (LOST_MESSAGE.test(message)) return "lost"
  return "other"
}

/** A driver error as words for a message: its message and code. */
const describeDb = (e: unknown): string => {
  const { code, message } = driverError(e)
  return code !== undefined && !message.includes(code) ? `${message} (${code})` : message
}

/**
 * A failed attempt: `Retry` when nothing was written and the work may be run again (`reason` says
 * why, for the error given once the tries run out); `Fail` otherwise.
 */
type Failure<E> =
  | { readonly _tag: "Retry"; readonly operation: string; readonly reason: string }
  | { readonly _tag: "Fail"; readonly error: StoreError | E }

// ---------------------------------------------------------------------------------------------
// Names, secrets, options

/** A store's context for messages: its name (never a password) and the secrets to scrub. */
interface Named {
  readonly name: string
  readonly secrets: ReadonlyArray<string>
}

/** `text` without any of the secrets in it. */
const scrub = (text: string, secrets: ReadonlyArray<string>): string => {
  let out = text
  for (const s of secrets) if (s.length > 0) out = out.split(s).join("***")
  return out
}

/** The longest reason a store error gives (a server's message may be of any length). */
const REASON_MAX = 2000

// scrubbed first, then cut: a cut through a secret would leave part of it unscrubbed
const storeError = (named: Named, operation: string, reason: string): StoreError => {
  const scrubbed = scrub(reason, named.secrets)
  return new StoreError({ path: named.name, operation, reason: scrubbed.length > REASON_MAX ? `${scrubbed.slice(0, REASON_MAX)}…` : scrubbed })
}

/** A name a SqlClient gives of itself (its config's host and database, or file), for messages. */
const clientName = (sql: SqlClient.SqlClient, dialect: Dialect): string => {
  const config = (sql as { readonly config?: Record<string, unknown> }).config
  if (config !== undefined && dialect === "sqlite" && typeof config["filename"] === "string") return config["filename"]
  if (config !== undefined && dialect === "pg") {
    const user = typeof config["username"] === "string" ? `${config["username"]}@` : ""
    const host = typeof config["host"] === "string" ? config["host"] : "localhost"
    const port = config["port"] !== undefined ? `:${String(config["port"])}` : ""
    const db = typeof config["database"] === "string" ? `/${config["database"]}` : ""
    return `postgres://${user}${host}${port}${db}`
  }
  return dialect === "pg" ? "postgresql" : "sqlite"
}

interface Settled {
  readonly chain: string
  readonly prefix: string
  readonly create: boolean
  readonly batching: Batching
  readonly times: number
  readonly baseMillis: number
  readonly holdTimeoutMillis: number
}

const settle = (options: SqlOptions, named: Named): Either.Either<Settled, StoreError> => {
  const chain = options.chain as unknown
  if (typeof chain !== "string" || chain.length < 1 || chain.length > 200 || CONTROL.test(chain)) {
    return Either.left(storeError(named, "open", `the chain name must be 1 to 200 characters without control characters; got ${typeof chain === "string" ? JSON.stringify(chain.slice(0, 60)) + (chain.length > 60 ? "…" : "") : typeof chain}`))
  }
  const prefix = options.tablePrefix ?? "acttrace"
  if (!PREFIX.test(prefix)) {
    return Either.left(storeError(named, "open", `the table prefix must be lower-case letters, digits and _, starting with a letter or _, at most 31 characters; got ${JSON.stringify(prefix.slice(0, 60))}`))
  }
  const times = options.retry?.times ?? 6
  const baseMillis = options.retry?.baseMillis ?? 20
  if (!Number.isInteger(times) || times < 1 || !(baseMillis >= 0) || !Number.isFinite(baseMillis)) {
    return Either.left(storeError(named, "open", `retry.times must be a whole number of tries (at least 1) and retry.baseMillis a number of milliseconds (0 or more); got ${String(times)} and ${String(baseMillis)}`))
  }
  const maxBatch = options.batching?.maxBatch ?? 1000
  const maxDelayMillis = options.batching?.maxDelayMillis ?? 0
  if (!Number.isInteger(maxBatch) || maxBatch < 1 || !(maxDelayMillis >= 0) || !Number.isFinite(maxDelayMillis)) {
    return Either.left(storeError(named, "open", `batching.maxBatch must be a whole number of lines (at least 1) and batching.maxDelayMillis 0 or more; got ${String(maxBatch)} and ${String(maxDelayMillis)}`))
  }
  const holdTimeoutMillis = options.holdTimeoutMillis ?? 30_000
  if (!Number.isInteger(holdTimeoutMillis) || holdTimeoutMillis < 0 || holdTimeoutMillis > 2_147_483_647) {
    return Either.left(storeError(named, "open", `holdTimeoutMillis must be a whole number of milliseconds (0 turns it off); got ${String(holdTimeoutMillis)}`))
  }
  return Either.right({ chain, prefix, create: options.create ?? true, batching: { maxBatch, maxDelayMillis }, times, baseMillis, holdTimeoutMillis })
}

// ---------------------------------------------------------------------------------------------
// Lines

/**
 * A row of the entries table as a turn inserts it (a type, not an interface: sql.insert takes
 * records).
 * @internal
 */
export type Row = {
  readonly chain: string
  readonly seq: number
  readonly ts: string | null
  readonly type: string | null
  readonly decision_id: string | null
  readonly hash: string | null
  readonly line: string
}

/** An entry's own fields, read from its line; undefined for a line that is not an entry. */
interface Fields {
  readonly seq: number
  readonly type: string
  readonly hash: string
  readonly prevHash: unknown
  readonly entry: Record<string, unknown>
}

/**
 * The fields of `line` when it is an entry (a JSON object with a numeric `seq`, string `type`
 * and `hash`). The line is the truth: the columns are only its copy for queries, and anyone with
 * write access to the table can edit a column without touching the line.
 */
const fieldsOf = (line: string): Fields | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined
  const o = parsed as Record<string, unknown>
  return typeof o["seq"] === "number" && typeof o["type"] === "string" && typeof o["hash"] === "string"
    ? { seq: o["seq"], type: o["type"], hash: o["hash"], prevHash: o["prev_hash"], entry: o }
    : undefined
}

/**
 * The columns of a line: an entry's own fields, NULL for a line that is not an entry; `misplaced`
 * for an entry whose `seq` is not `seq`, `illFormed` (saying why) for a line with a lone
 * surrogate (no UTF-8 form: a database would store U+FFFD in its place, changing the line) or a
 * newline (it would read back as two lines).
 */
export const rowOf = (chain: string, seq: number, line: string): Row | { readonly misplaced: number } | { readonly illFormed: string } => {
  if (!line.isWellFormed()) return { illFormed: "holds a lone surrogate (a character with no UTF-8 form): the database stores UTF-8 text and would change it" }
  // a stored line is one line: a snapshot joins rows with newlines, and one holding a newline
  // would read as two (or let two rows be folded into one behind the store)
  if (line.includes("\n")) return { illFormed: "holds a newline: a line of the chain is one line" }
  const f = fieldsOf(line)
  if (f === undefined) return { chain, seq, ts: null, type: null, decision_id: null, hash: null, line }
  if (f.seq !== seq) return { misplaced: f.seq }
  const payload = f.entry["payload"]
  const decision = payload !== null && typeof payload === "object" ? (payload as Record<string, unknown>)["decision_id"] : undefined
  const ts = f.entry["ts"]
  return { chain, seq, ts: typeof ts === "string" ? ts : null, type: f.type, decision_id: typeof decision === "string" ? decision : null, hash: f.hash, line }
}

const DECISION_KEY = '"decision_id":'
const DECISION_NAME = '"decision_id"'
const PAYLOAD_OPEN = '{"payload":{'
const SEQ_KEY = ',"seq":'

/** Whether a column's text stands in a line as it is, between quotes (`"` + text + `"`). */
const quotedAt = (line: string, at: number, text: string): boolean =>
  line.charCodeAt(at) === 34 && line.startsWith(text, at + 1) && line.charCodeAt(at + 1 + text.length) === 34

/**
 * Whether a row's columns are certainly what `rowOf` derives from its line, by the line's text
 * alone: a snapshot checks every row it reads, and a JSON.parse of each would cost the
 * verification (which parses each line again) about a third of its rate. One pass over the
 * payload and a few comparisons where the columns must stand (no regular expression, no string
 * built, no other scan of the line: this runs for every row read). Exact for a line that is JSON
 * (a line that is not is the verification's finding anyway), in the layout our writer (and the
 * format's) gives, `{"payload":{…},"seq":…,"ts":…,"type":…,"prev_hash":…,"hash":…[,"sig":…]}`:
 * - with no `\u` escape in the line, a key reads `decision_id` only when spelled so;
 * - the pass skips strings (escapes included) and counts the payload's own `"decision_id":`
 *   keys (at its first level: a string there followed by `:` is a key) up to the `}` that
 *   closes the payload; `,"seq":` must follow that `}`, so `payload` is the object's only member
 *   before `seq` (no second `payload` JSON.parse would keep instead);
 * - from there the members are seq, ts, type, prev_hash, hash and an optional sig up to the
 *   line's closing `}`: none of their texts holds a quote (the ts, type, hash and decision id columns
 *   are compared as they are, so they must hold no quote; no backslash stands from `,"seq":` to
 *   the quote closing prev_hash, nor in the signature), so nothing else opens before the end and
 *   they are the object's last members of their names (JSON.parse keeps the last);
 * - a decision id column is the payload's when its key occurs there once, its value the column's
 *   text between quotes (holding no quote or backslash, it is spelled so in JSON), then `,` or `}`.
 * Anything else (another writer's layout, a `\u` escape, a disagreement) is decided by `rowOf`.
 */
export const statesColumns = (
  seq: number,
  r: { readonly ts: string | null; readonly type: string | null; readonly decision_id: string | null; readonly hash: string | null; readonly line: string }
): boolean => {
  const { decision_id: decision, hash, line, ts, type } = r
  if (hash === null || type === null || ts === null || hash.includes('"') || ts.includes('"') || type.includes('"') || line.includes("\\u") || !line.startsWith(PAYLOAD_OPEN)) return false
  // the payload, in one pass: its first-level decision_id keys, and the `}` that closes it; from
  // string to string by `indexOf` (the text between them is short: `":"`, numbers, brackets),
  // over a string's characters one by one only when a backslash stands in it
  let depth = 0
  let key = -1
  let keys = 0
  let close = -1
  const n = line.length
  let slash = line.indexOf("\\", PAYLOAD_OPEN.length)
  for (let i = PAYLOAD_OPEN.length; close < 0;) {
    const quote = line.indexOf('"', i)
    const end = quote < 0 ? n : quote
    for (; i < end; i++) {
      const c = line.charCodeAt(i)
      if (c === 123 || c === 91) depth++
      else if (c === 125 || c === 93) {
        if (depth === 0) {
          close = i
          break
        }
        depth--
      }
    }
    if (close >= 0 || quote < 0) break
    // a key spelled `"decision_id"`, whatever follows it (`"decision_id" :` is the same key)
    if (depth === 0 && line.startsWith(DECISION_NAME, quote)) {
      key = quote
      keys++
    }
    // the string's closing quote
    if (slash >= 0 && slash <= quote) slash = line.indexOf("\\", quote + 1)
    let closing = line.indexOf('"', quote + 1)
    if (slash >= 0 && closing >= 0 && slash < closing) {
      for (closing = quote + 1; closing < n; closing++) {
        const d = line.charCodeAt(closing)
        if (d === 92) closing++
        else if (d === 34) break
      }
      slash = line.indexOf("\\", closing + 1)
    }
    if (closing < 0 || closing >= n) break
    i = closing + 1
  }
  if (close < 0 || !line.startsWith(SEQ_KEY, close + 1)) return false
  const tail = close + 1
  const backslash = line.indexOf("\\", tail)
  let at = tail + SEQ_KEY.length
  const seqText = String(seq)
  if (!line.startsWith(seqText, at) || !line.startsWith(',"ts":', (at += seqText.length)) || !quotedAt(line, (at += 6), ts)) return false
  if (!line.startsWith(',"type":', (at += ts.length + 2)) || !quotedAt(line, (at += 8), type) || !line.startsWith(',"prev_hash":"', (at += type.length + 2))) return false
  const prevEnd = line.indexOf('"', at + 14)
  // no backslash from the tail on up to there: that quote closes prev_hash
  if (prevEnd < 0 || (backslash >= 0 && backslash < prevEnd)) return false
  if (!line.startsWith(',"hash":', prevEnd + 1) || !quotedAt(line, prevEnd + 9, hash)) return false
  const rest = prevEnd + 11 + hash.length
  if (rest !== n - 1 || line.charCodeAt(rest) !== 125) {
    // `,"sig":"…"}` to the end, the signature with no quote or backslash (the first backslash
    // from the tail on, if any, is past prev_hash: none from the signature's start on)
    if (!line.startsWith(',"sig":"', rest) || !line.endsWith('"}') || n - 2 < rest + 8) return false
    if (line.indexOf('"', rest + 8) !== n - 2 || (backslash >= 0 && line.indexOf("\\", rest + 8) >= 0)) return false
  }
  if (decision === null) return keys === 0
  if (keys !== 1 || decision.includes('"') || decision.includes("\\") || !quotedAt(line, key + DECISION_KEY.length, decision)) return false
  const after = line.charCodeAt(key + DECISION_KEY.length + decision.length + 2)
  return after === 44 || after === 125
}

/** A chain name as a message shows it: as given when it is a valid name, else quoted and cut. */
const shownChain = (chain: unknown): string =>
  typeof chain !== "string"
    ? typeof chain
    : chain.length >= 1 && chain.length <= 200 && !CONTROL.test(chain)
    ? chain
    : JSON.stringify(chain.slice(0, 60)) + (chain.length > 60 ? "…" : "")

// ---------------------------------------------------------------------------------------------
// The store

interface Tables {
  readonly chains: string
  readonly entries: string
  readonly migrations: string
}

/**
 * Open the store on `sql` (any SqlClient of dialect pg or sqlite): check the options, create the
 * tables and the chain (or, with `create: false`, check they are there), and return the service.
 */
const open = (
  raw: SqlClient.SqlClient,
  options: SqlOptions,
  given: { readonly label: string | undefined; readonly secrets: ReadonlyArray<string> }
): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    // our own column names, whatever transforms the caller's client applies to theirs
    const sql = raw.withoutTransforms()
    const dialect: Dialect | undefined = sql.onDialectOrElse({ pg: (): Dialect | undefined => "pg", sqlite: (): Dialect | undefined => "sqlite", orElse: (): Dialect | undefined => undefined })
    const chainText = shownChain(options.chain)
    const base = given.label ?? (dialect !== undefined ? clientName(sql, dialect) : "database")
    const named: Named = { name: `${base} chain ${chainText}`, secrets: given.secrets }
    if (dialect === undefined) {
      return yield* storeError(named, "open", "the SqlClient is neither PostgreSQL nor SQLite: the SQL store supports those two (@effect/sql-pg, @effect/sql-sqlite-node)")
    }
    const o = yield* settle(options, named)
    const { chain, prefix } = o
    const T: Tables = { chains: `${prefix}_chains`, entries: `${prefix}_entries`, migrations: `${prefix}_migrations` }
    const id = (name: string) => sql(name)

    const schedule = Schedule.exponential(Duration.millis(o.baseMillis), 2).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(o.times - 1))
    )
    /** Run `attempt` again while it says it may be; then its failure as the typed error. */
    const retried = <A, E>(attempt: Effect.Effect<A, Failure<E>>): Effect.Effect<A, StoreError | E> =>
      attempt.pipe(
        Effect.retry({ schedule, while: (f) => f._tag === "Retry" }),
        Effect.mapError((f) =>
          f._tag === "Fail" ? f.error : storeError(named, f.operation, `${f.reason} (gave up after ${o.times} ${o.times === 1 ? "try" : "tries"})`)
        )
      )
    /** A database error of `operation` as a failed attempt: run again when nothing was written and `may` says so. */
    const failure = (operation: string, may: ReadonlyArray<Kind>) => (e: unknown): Failure<never> => {
      const kind = kindOf(e)
      const reason = kind === "lost" ? `lost the connection to the database: ${describeDb(e)}` : describeDb(e)
      return may.includes(kind) ? { _tag: "Retry", operation, reason } : { _tag: "Fail", error: storeError(named, operation, reason) }
    }
    const fail = <E>(error: StoreError | E): Failure<E> => ({ _tag: "Fail", error })

    // PostgreSQL: a writer frozen inside a turn loses its connection (and the lock) after
    // holdTimeoutMillis idle; one round trip with BEGIN (a simple query may hold two statements)
    const begin = dialect === "sqlite"
      ? "BEGIN IMMEDIATE"
      : o.holdTimeoutMillis > 0
      ? `BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${o.holdTimeoutMillis}`
      : "BEGIN"

    /**
     * Run `body` in one transaction on a reserved connection: BEGIN (IMMEDIATE on SQLite: the
     * write lock first, as a deferred BEGIN would fail to upgrade under contention), then `body`,
     * then COMMIT. Rolled back on any failure, defect or interruption before COMMIT. `committed`
     * decides what a COMMIT lost in flight means.
     */
    const transaction = <A, E>(
      operation: string,
      body: (conn: Connection) => Effect.Effect<A, Failure<E>>,
      committed: (a: A) => Effect.Effect<boolean, Failure<E>>
    ): Effect.Effect<A, Failure<E>> =>
      Effect.scoped(
        Effect.gen(function* () {
          const conn = yield* sql.reserve.pipe(Effect.mapError(failure(operation, ["lost", "busy"])))
          let open = false
          yield* Effect.addFinalizer(() =>
            open ? conn.executeUnprepared("ROLLBACK", [], undefined).pipe(Effect.ignore) : Effect.void
          )
          const exec = (text: string) => conn.executeUnprepared(text, [], undefined)
          yield* exec(begin).pipe(Effect.mapError(failure(operation, ["lost", "busy"])))
          open = true
          const a = yield* body(conn).pipe(Effect.provideService(SqlClient.TransactionConnection, [conn, 0] as const))
          // COMMIT runs to its end once sent: interrupting it would not undo it
          const done = yield* Effect.uninterruptible(Effect.exit(exec("COMMIT")))
          if (Exit.isSuccess(done)) {
            open = false
            return a
          }
          const error = Cause.failureOption(done.cause)
          if (Option.isNone(error)) return yield* Effect.failCause(done.cause as Cause.Cause<never>)
          if (kindOf(error.value) !== "lost") {
            // the server answered: it did not commit (the finalizer rolls back what is left)
            return yield* Effect.fail(failure(operation, ["busy", "unique"])(error.value))
          }
          // lost while COMMIT was in flight: only the database knows whether it committed
          open = false
          return (yield* Effect.uninterruptible(committed(a))) ? a : yield* Effect.fail<Failure<E>>({ _tag: "Retry", operation, reason: `lost the connection to the database during COMMIT (it did not commit): ${describeDb(error.value)}` })
        })
      )

    // -------------------------------------------------------------------------------------------
    // Opening: tables and chain

    const migration1 = Effect.gen(function* () {
      const s = yield* SqlClient.SqlClient
      yield* s`CREATE TABLE IF NOT EXISTS ${id(T.chains)} (chain TEXT PRIMARY KEY, head TEXT NOT NULL, entries BIGINT NOT NULL, created_at TEXT NOT NULL)`
      yield* s`CREATE TABLE IF NOT EXISTS ${id(T.entries)} (chain TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT, type TEXT, decision_id TEXT, hash TEXT, line TEXT NOT NULL, PRIMARY KEY (chain, seq))`
      yield* s`CREATE INDEX IF NOT EXISTS ${id(`${T.entries}_decision`)} ON ${id(T.entries)} (chain, decision_id)`
      yield* s`CREATE INDEX IF NOT EXISTS ${id(`${T.entries}_ts`)} ON ${id(T.entries)} (chain, ts)`
    })

    /** The tables (migrations) and the chain's row, in one transaction under a lock: many writers may open at once. */
    const migrate = transaction<void, never>(
      "migrate",
      () =>
        Effect.gen(function* () {
          if (dialect === "pg") {
            yield* sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK}, hashtext(${prefix}))`.pipe(Effect.mapError(failure("migrate", ["lost", "busy"])))
            // The Migrator probes its table with a query that fails when it is missing, and in a
            // PostgreSQL transaction a failed query aborts the transaction: create it first
            // (the Migrator's own definition), under the lock.
            yield* sql`CREATE TABLE IF NOT EXISTS ${id(T.migrations)} (migration_id integer primary key, created_at timestamp with time zone not null default now(), name text not null)`.pipe(
              Effect.mapError(failure("migrate", ["lost", "busy"]))
            )
          }
          yield* Migrator.make({})({
            loader: Migrator.fromRecord({ "1_create_chains_and_entries": migration1 }),
            table: T.migrations
          }).pipe(
            Effect.provideService(SqlClient.SqlClient, sql),
            Effect.catchAllDefect((d) => Effect.fail(d)),
            Effect.mapError((e) =>
              e !== null && typeof e === "object" && (e as { _tag?: unknown })._tag === "MigrationError"
                ? failure("migrate", ["lost", "busy"])((e as { cause?: unknown }).cause ?? e)
                : failure("migrate", ["lost", "busy"])(e)
            )
          )
          yield* sql`INSERT INTO ${id(T.chains)} (chain, head, entries, created_at) VALUES (${chain}, ${ZERO_HASH}, ${0}, ${new Date().toISOString()}) ON CONFLICT (chain) DO NOTHING`.pipe(
            Effect.mapError(failure("migrate", ["lost", "busy"]))
          )
        }),
      // a lost COMMIT of the migration: opening again is safe (IF NOT EXISTS, ON CONFLICT)
      () => Effect.succeed(false)
    )

    /** The chains this database holds, for a message about a chain it does not. */
    const chainsHeld = sql<{ chain: string; entries: string | number }>`SELECT chain, entries FROM ${id(T.chains)} ORDER BY chain LIMIT 21`.pipe(
      Effect.map((rows) => {
        if (rows.length === 0) return "it holds no chain"
        const shown = rows.slice(0, 20).map((r) => `${JSON.stringify(r.chain)} (${Number(r.entries)} ${Number(r.entries) === 1 ? "entry" : "entries"})`)
        return `it holds ${rows.length > 20 ? "more than 20 chains, among them " : rows.length === 1 ? "one chain: " : "the chains "}${shown.join(", ")}`
      }),
      Effect.orElseSucceed(() => "the chains it holds could not be listed")
    )

    /** Read-only: the tables and the chain must be there. */
    const check = Effect.gen(function* () {
      const rows = yield* sql<{ entries: string | number }>`SELECT entries FROM ${id(T.chains)} WHERE chain = ${chain}`.pipe(
        Effect.mapError((e): Failure<never> => {
          const { code, message } = driverError(e)
          if (code === "42P01" || /no such table/i.test(message)) {
            return fail(storeError(named, "open", `no acttrace tables (${T.chains}, ${T.entries}) in this database: nothing was written here with table prefix ${JSON.stringify(prefix)}`))
          }
          return failure("open", ["lost", "busy"])(e)
        })
      )
      if (rows.length === 0) {
        const held = yield* chainsHeld
        return yield* Effect.fail(fail(storeError(named, "open", `no chain ${JSON.stringify(chain)} in this database; ${held}`)))
      }
    })

    yield* retried(o.create ? migrate : check)

    // -------------------------------------------------------------------------------------------
    // Turns

    const readOnly = () => storeError(named, "append", "the store was opened read-only (create: false): it does not append")

    /**
     * What other writers appended from seq `known` to `entries` (the chain row's count, read
     * holding the chain's lock), each taken from its LINE, never from its columns: the columns
     * are a copy for queries that anyone with write access to the table can edit without
     * touching the line, and a writer that built on an edited `hash` column would link its own,
     * honest entry to a forged hash. Each caught-up entry's line must state its row's seq and link
     * (`prev_hash`) to the line before it (the line at `known - 1`, read too, or GENESIS for the
     * first entry of the chain): else a `StoreError` and the turn writes nothing, as for a
     * missing row (a writer never builds on a broken chain).
     */
    const caughtUp = (known: number, entries: number): Effect.Effect<ReadonlyArray<Written>, StoreError | unknown> =>
      Effect.gen(function* () {
        const from = known > 0 ? known - 1 : 0
        const rows = yield* sql<{ seq: string | number; line: string }>`SELECT seq, line FROM ${id(T.entries)} WHERE chain = ${chain} AND seq >= ${from} AND seq < ${entries} ORDER BY seq`
        const gap = rows.findIndex((r, i) => Number(r.seq) !== from + i)
        if (gap >= 0 || rows.length !== entries - from) {
          const at = gap >= 0 ? from + gap : from + rows.length
          return yield* storeError(named, "read", `the chain's row says ${entries} entries but its row at seq ${at} is not in ${T.entries} (deleted?): a writer does not build on a broken chain; nothing was written`)
        }
        const edited = (seq: number, what: string) =>
          storeError(named, "read", `the row at seq ${seq} of ${T.entries} ${what}: it was edited in the database; a writer does not build on it, nothing was written`)
        // the hash the next entry links to: the chain's start, or the line before `known`
        let previous: string | undefined = known === 0 ? ZERO_HASH : undefined
        const written: Array<Written> = []
        for (const r of rows) {
          const seq = Number(r.seq)
          const f = fieldsOf(r.line)
          if (f !== undefined && f.seq !== seq) return yield* edited(seq, `holds the line of the entry seq ${f.seq}`)
          if (seq >= known) {
            if (f !== undefined && previous !== undefined && f.prevHash !== previous) {
              return yield* edited(seq, `holds a line whose prev_hash ${JSON.stringify(String(f.prevHash).slice(0, 64))} is not the hash of the line before it (${previous})`)
            }
            written.push(
              f === undefined
                ? { seq, type: null, hash: null, line: undefined }
                : { seq, type: f.type, hash: f.hash, line: (KEPT_TYPES as ReadonlyArray<string>).includes(f.type) ? r.line : undefined }
            )
          }
          // a line that is not an entry links nothing: the chain refuses it itself
          previous = f?.hash
        }
        return written
      })

    /**
     * One attempt at a turn: lock the chain row, read what others wrote since `known` (unless
     * `known` is undefined: a plain append), build, insert, advance, commit.
     */
    const attempt = <E>(
      known: number | undefined,
      build: (written: ReadonlyArray<Written>) => Either.Either<ReadonlyArray<string>, E>
    ): Effect.Effect<void, Failure<E>> => {
      let first = 0
      let lines: ReadonlyArray<string> = []
      const body = Effect.gen(function* () {
        const db = failure("append", ["lost", "busy", "unique"])
        const locked = yield* (dialect === "pg"
          ? sql<{ head: string; entries: string | number }>`SELECT head, entries FROM ${id(T.chains)} WHERE chain = ${chain} FOR UPDATE`
          : sql<{ head: string; entries: string | number }>`SELECT head, entries FROM ${id(T.chains)} WHERE chain = ${chain}`).pipe(Effect.mapError(db))
        const row = locked[0]
        if (row === undefined) return yield* Effect.fail(fail<E>(storeError(named, "append", `the chain ${JSON.stringify(chain)} is no longer in the database (its row in ${T.chains} was deleted)`)))
        const entries = Number(row.entries)
        let head = row.head
        let written: ReadonlyArray<Written> = []
        if (known !== undefined) {
          if (known > entries) {
            return yield* Effect.fail(fail<E>(storeError(named, "append", `this writer has seen ${known} entries but the chain holds ${entries}: entries were deleted from the database, or it was restored from an older backup`)))
          }
          if (known < entries) {
            written = yield* caughtUp(known, entries).pipe(Effect.mapError((e) => (e instanceof StoreError ? fail<E>(e) : db(e))))
          }
        }
        const built = build(written)
        if (Either.isLeft(built)) return yield* Effect.fail(fail<E>(built.left))
        lines = built.right
        first = entries
        if (lines.length === 0) return
        const rows: Array<Row> = []
        for (let i = 0; i < lines.length; i++) {
          const r = rowOf(chain, entries + i, lines[i]!)
          if ("illFormed" in r) {
            return yield* Effect.fail(fail<E>(storeError(named, "append", `line ${i + 1} of the append ${r.illFormed}: refused, nothing was written`)))
          }
          if ("misplaced" in r) {
            return yield* Effect.fail(fail<E>(storeError(named, "append", `line ${i + 1} of the append is the entry seq ${r.misplaced}, but it would stand at seq ${entries + i} in the chain (which holds ${entries}): refused, an entry is stored at its own seq or not at all`)))
          }
          if (r.hash !== null) head = r.hash
          rows.push(r)
        }
        for (let at = 0; at < rows.length; at += INSERT_ROWS) {
          yield* sql`INSERT INTO ${id(T.entries)} ${sql.insert(rows.slice(at, at + INSERT_ROWS))}`.pipe(
            Effect.mapError((e): Failure<E> => {
              const f = db(e)
              return f._tag === "Retry" && kindOf(e) === "unique"
                ? { ...f, reason: `the entries at seq ${entries}..${entries + lines.length - 1} were already in the database although the chain's row said ${entries} (${f.reason}): something wrote to ${T.entries} without the chain's lock` }
                : f
            })
          )
        }
        yield* sql`UPDATE ${id(T.chains)} SET head = ${head}, entries = ${entries + lines.length} WHERE chain = ${chain}`.pipe(Effect.mapError(db))
      })
      // After a COMMIT lost in flight: the turn committed if its lines are at their seqs.
      const committed = (): Effect.Effect<boolean, Failure<E>> =>
        lines.length === 0
          ? Effect.succeed(true)
          : sql<{ seq: string | number; line: string }>`SELECT seq, line FROM ${id(T.entries)} WHERE chain = ${chain} AND seq >= ${first} AND seq < ${first + lines.length} ORDER BY seq`.pipe(
            Effect.map((rows) => rows.length === lines.length && rows.every((r, i) => r.line === lines[i])),
            Effect.mapError(failure("commit", ["lost", "busy"])),
            Effect.retry({ schedule, while: (f) => f._tag === "Retry" }),
            Effect.mapError((f) =>
              fail<E>(storeError(named, "commit", `the connection was lost while COMMIT was in flight and the outcome could not be read back (${f._tag === "Retry" ? f.reason : String(f.error)}): the entries at seq ${first}..${first + lines.length - 1} may or may not be in the chain; the next turn will see them`))
            )
          )
      return transaction("append", () => body, committed)
    }

    const turn: Shared["turn"] = (known, build) =>
      o.create ? retried(Effect.suspend(() => attempt(known, build))) : Effect.fail(readOnly())

    const append: StoreService["append"] = (lines) =>
      lines.length === 0
        ? Effect.void
        : o.create
        ? retried(Effect.suspend(() => attempt<never>(undefined, () => Either.right(lines))))
        : Effect.fail(readOnly())

    // -------------------------------------------------------------------------------------------
    // Reading

    /**
     * Where the chain ends, read in ONE statement (one snapshot of the database on both engines):
     * the chain row's count and head, and the last seq the table holds for the chain. A turn
     * inserts rows and moves the chain row in one transaction, so the two agree unless the
     * database was edited behind the store.
     */
    const readEnd = retried(
      sql<{ entries: string | number; head: string; last: string | number | null; first: string | number | null }>`SELECT c.entries AS entries, c.head AS head, (SELECT max(e.seq) FROM ${id(T.entries)} e WHERE e.chain = c.chain) AS last, (SELECT min(e.seq) FROM ${id(T.entries)} e WHERE e.chain = c.chain) AS first FROM ${id(T.chains)} c WHERE c.chain = ${chain}`.pipe(
        Effect.mapError(failure("read", ["lost", "busy"])),
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.fail(fail<never>(storeError(named, "read", `the chain ${JSON.stringify(chain)} is no longer in the database`)))
            : Effect.succeed({
              entries: Number(rows[0].entries),
              head: rows[0].head,
              last: rows[0].last === null ? -1 : Number(rows[0].last),
              first: rows[0].first === null ? 0 : Number(rows[0].first)
            })
        )
      )
    )

    /**
     * One page: the rows there from seq `from` up (below `bound`), as the bytes of one chunk,
     * gaps and all: a missing row is the verification's to find (DeletionDetected at its line,
     * as for a line missing from a file), not a read error. A page is a range of seqs, `from` up to
     * `from + limit` (at most `limit` rows: a seq is a chain's key), and the next one starts where
     * it ends; past a range with no row in it, at the next row there is (one `min` on the key: an
     * edited seq far past the end costs one statement, not a page per `limit` seqs). A range, not
     * `ORDER BY seq LIMIT n` from `from` on: with no statistics on the table (new, just written,
     * not analyzed yet) PostgreSQL plans that as a scan and a sort of every row from `from` to
     * the end, on disk, for each page (70 ms a page of 50,000 rows, growing with the chain); a
     * range holds what it sorts to a page whatever the plan. `seen` is told the last row of each
     * page.
     *
     * Each row's query columns (`ts`, `type`, `decision_id`, `hash`: what auditors select by) must
     * be what its line says (`rowOf`, as the writer derived them): a column edited behind the
     * store hides or misfiles an entry in every query while the lines still verify. The first
     * row that disagrees ends the stream there (its rows before it given) with a `column`
     * disagreement at its seq. (A line whose own seq is not its row's is left to the
     * verification: that is a line out of place, which it names as for a file.)
     */
    const page = (from: number, bound: number, limit: number, seen: (seq: number, line: string) => void): Effect.Effect<Page, StoreError> =>
      retried(Effect.suspend(() => {
        const upper = Math.min(from + limit, bound)
        return sql<{ seq: string | number; ts: string | null; type: string | null; decision_id: string | null; hash: string | null; line: string }>`SELECT seq, ts, type, decision_id, hash, line FROM ${id(T.entries)} WHERE chain = ${chain} AND seq >= ${from} AND seq < ${upper} ORDER BY seq`.pipe(
          Effect.mapError(failure("read", ["lost", "busy"])),
          Effect.flatMap((rows) => {
            const last = rows[rows.length - 1]
            if (last === undefined) {
              if (upper >= bound) return Effect.succeed<Page>([Chunk.empty<Uint8Array>(), Option.none<number>(), undefined, 0])
              return Effect.map(nextRow(upper, bound), (next): Page => [Chunk.empty<Uint8Array>(), next, undefined, 0])
            }
            // the page's bytes in buffers of about CHUNK_CHARS: no string of the whole page
            // (rows, one string, one buffer: three copies of a page of large lines)
            const buffers: Array<Uint8Array> = []
            let text = ""
            let longest = 0
            for (const r of rows) {
              const seq = Number(r.seq)
              const edited = columnEdited(seq, r)
              if (edited !== undefined) {
                if (text !== "") buffers.push(Buffer.from(text, "utf8"))
                return Effect.succeed<Page>([Chunk.unsafeFromArray(buffers), Option.none<number>(), edited, longest])
              }
              if (r.line.length > longest) longest = r.line.length
              text += r.line + "\n"
              if (text.length >= CHUNK_CHARS) {
                buffers.push(Buffer.from(text, "utf8"))
                text = ""
              }
            }
            if (text !== "") buffers.push(Buffer.from(text, "utf8"))
            seen(Number(last.seq), last.line)
            return Effect.succeed<Page>([Chunk.unsafeFromArray(buffers), upper < bound ? Option.some(upper) : Option.none<number>(), undefined, longest])
          })
        )
      }))

    /** The first seq the chain has in [from, bound), if any: where the next page starts after a gap. */
    const nextRow = (from: number, bound: number) =>
      sql<{ next: string | number | null }>`SELECT min(seq) AS next FROM ${id(T.entries)} WHERE chain = ${chain} AND seq >= ${from} AND seq < ${bound}`.pipe(
        Effect.mapError(failure("read", ["lost", "busy"])),
        Effect.map((rows) => (rows[0] === undefined || rows[0].next === null ? Option.none<number>() : Option.some(Number(rows[0].next))))
      )

    /** The disagreement of a row's query columns with its line, or undefined when they agree. */
    const columnEdited = (
      seq: number,
      r: { readonly ts: string | null; readonly type: string | null; readonly decision_id: string | null; readonly hash: string | null; readonly line: string }
    ): StoreError | undefined => {
      if (r.line.includes("\n")) {
        const count = r.line.split("\n").length
        return storeError(named, "read", disagreementReason({ kind: "line", seq, detail: `the row at seq ${seq} of ${T.entries} holds ${count} lines where a row holds one: rows were folded into it in the database (the ones after it deleted?)` }))
      }
      if (statesColumns(seq, r)) return undefined
      const derived = rowOf(chain, seq, r.line)
      if (!("line" in derived)) return undefined
      for (const column of ["ts", "type", "decision_id", "hash"] as const) {
        if (r[column] !== derived[column]) {
          const shown = (v: string | null) => (v === null ? "NULL" : JSON.stringify(v.slice(0, 80)))
          return storeError(named, "read", disagreementReason({ kind: "column", seq, detail: `the row at seq ${seq} of ${T.entries} has ${column} ${shown(r[column])} but its line says ${shown(derived[column])}: the column was edited in the database (queries by it no longer find what the chain holds)` }))
        }
      }
      return undefined
    }

    /** A page of a snapshot: its bytes, where the next starts, a row whose columns were edited, its longest line. */
    type Page = readonly [Chunk.Chunk<Uint8Array>, Option.Option<number>, StoreError | undefined, number]

    /** What the chain row says against what its rows hold, at the end of a snapshot's rows. */
    const disagreement = (end: { readonly entries: number; readonly head: string }, lastSeq: number, lastLine: string | undefined): StoreError | undefined => {
      const d = (kind: Disagreement["kind"], seq: number, detail: string) => storeError(named, "read", disagreementReason({ kind, seq, detail }))
      if (end.entries > lastSeq + 1) {
        return d("truncated", lastSeq + 1, `the chain's row in ${T.chains} says ${end.entries} entries, but ${lastSeq < 0 ? "the chain has no row" : `its last row is seq ${lastSeq}`} in ${T.entries}: the rows from seq ${lastSeq + 1} on were deleted (or the count raised)`)
      }
      if (end.entries < lastSeq + 1) {
        return d("extra", end.entries, `the chain's row in ${T.chains} says ${end.entries} entries, but ${T.entries} holds rows of the chain up to seq ${lastSeq}: rows were added past the chain's end (or its count lowered)`)
      }
      const f = lastLine === undefined ? undefined : fieldsOf(lastLine)
      if (f !== undefined && f.hash !== end.head) {
        return d("head", lastSeq, `the chain's row in ${T.chains} says head ${JSON.stringify(end.head.slice(0, 64))}, but its last entry (seq ${lastSeq}) has hash ${f.hash}: the chain row was edited`)
      }
      return undefined
    }

    // The bound is where the chain ends when the snapshot is taken (the Store contract: lines
    // appended after it are not in its stream), and every run of the stream reads up to it: the
    // chain's users run one snapshot's stream several times and need the same lines each time,
    // while other writers append. The bound takes in every row the table held then, past the
    // chain row's count too (rows nobody appended legitimately: the verification judges them as
    // a file's extra lines). After the rows, the chain row is held against them (`disagreement`):
    // what the lines alone cannot show fails the stream's end. A chain end that cannot be read is
    // the stream's failure, every run.
    const snapshot: StoreService["snapshot"] = Effect.map(Effect.either(readEnd), (end) => {
      if (Either.isLeft(end)) return Stream.fail(end.left)
      // rows no writer can have made, which the pages (from seq 0, in ranges of safe integers)
      // would never reach: below seq 0, or at 2^53 and past (a JavaScript number rounds there, and
      // SQLite stores a seq of 1e30 as a REAL): the table was edited, and the stream says so first
      if (end.right.first < 0 || end.right.last > Number.MAX_SAFE_INTEGER) {
        const seq = end.right.first < 0 ? end.right.first : end.right.entries
        return Stream.fail(storeError(named, "read", disagreementReason({
          kind: "extra",
          seq,
          detail: `${T.entries} holds a row of the chain at seq ${end.right.first < 0 ? end.right.first : `${end.right.last} (past 2^53)`}, where no writer puts one: rows were added in the database`
        })))
      }
      const bound = Math.max(end.right.entries, end.right.last + 1)
      return Stream.suspend(() => {
        let lastSeq = -1
        let lastLine: string | undefined
        // a row whose columns disagree with its line: the stream ends there, failing with it
        let edited: StoreError | undefined
        let limit = 1
        let widest = 0
        // one page read ahead: the database reads and sends the next page while this one is
        // verified (on a machine of two cores, the server's work overlaps the verification's
        // instead of adding to it); memory stays bounded, by two pages
        const rows = bound === 0
          ? Stream.empty
          : Stream.bufferChunks(Stream.paginateChunkEffect(0, (from: number) =>
            Effect.map(page(from, bound, limit, (seq, line) => {
              lastSeq = seq
              lastLine = line
            }), ([chunk, next, problem, longest]) => {
              edited = problem
              // pages bounded by bytes as well as rows: from one row, growing sixteenfold while the
              // lines seen so far are short, never more than PAGE_CHARS of the longest of them
              widest = Math.max(widest, longest)
              limit = Math.max(1, Math.min(PAGE, limit * 16, Math.floor(PAGE_CHARS / Math.max(1, widest))))
              return [chunk, next] as const
            })), { capacity: 1 })
        return Stream.concat(rows, Stream.suspend(() => {
          const problem = edited ?? disagreement(end.right, lastSeq, lastLine)
          return problem === undefined ? Stream.empty : Stream.fail(problem)
        }))
      })
    })

    return {
      name: named.name,
      path: Option.none(),
      append,
      snapshot,
      evicted: Effect.succeed(0),
      batching: o.batching,
      shared: { turn }
    } satisfies StoreService
  })

/**
 * The store on the SqlClient in context (`Store.layerSql`).
 */
export const make = (options: SqlOptions): Effect.Effect<StoreService, StoreError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => open(sql, options, { label: undefined, secrets: [] }))

/**
 * The store on the database at `url` (`Store.layerSqlUrl`): the driver loaded on demand, its
 * connection retried like a turn, the password never in a message.
 */
export const makeUrl = (url: Redacted.Redacted<string>, options: SqlOptions): Effect.Effect<StoreService, StoreError, Scope.Scope> =>
  Effect.gen(function* () {
    const text = Redacted.value(url)
    const target = targetOf(text)
    const chainText = shownChain(options.chain)
    if (target._tag === "bad") return yield* new StoreError({ path: `${target.shown} chain ${chainText}`, operation: "open", reason: target.reason })
    // pg takes the password from PGPASSWORD when the URL has none, and a server may repeat what
    // it was sent in its error (one asking for it in clear, or a man in the middle): scrub it too
    const envPassword = process.env["PGPASSWORD"]
    const fromEnv = envPassword !== undefined && envPassword !== "" ? [envPassword, encodeURIComponent(envPassword)] : []
    const named: Named = target._tag === "pg"
      ? { name: `${target.shown} chain ${chainText}`, secrets: [...target.secrets, ...fromEnv] }
      : { name: `${target.path} chain ${chainText}`, secrets: [] }
    const create = options.create ?? true
    const times = options.retry?.times ?? 6
    const baseMillis = options.retry?.baseMillis ?? 20
    const scope = yield* Effect.scope
    let layer: Layer.Layer<SqlClient.SqlClient, unknown>
    if (target._tag === "pg") {
      const { PgClient } = yield* Effect.tryPromise({
        try: () => import("@effect/sql-pg"),
        catch: (e) => storeError(named, "open", missingPackageReason("@effect/sql-pg@^0.53", e))
      })
      // a server that takes the connection and never answers (hung, a firewall eating packets, a
      // port-forward to nothing) would otherwise hold the open forever: pg waits without limit
      // unless told, and @effect/sql-pg's own timeout cannot interrupt its first query
      layer = PgClient.layer({ url, applicationName: "acttrace", connectTimeout: Duration.millis(CONNECT_TIMEOUT_MILLIS) })
    } else {
      if (!create && target.path !== ":memory:" && !existsSync(target.path)) {
        return yield* storeError(named, "open", "no SQLite database at this path (nothing was written there; opened read-only, it is not created)")
      }
      const { SqliteClient } = yield* Effect.tryPromise({
        try: () => import("@effect/sql-sqlite-node"),
        catch: (e) => storeError(named, "open", missingPackageReason("@effect/sql-sqlite-node@^0.53", e))
      })
      // read-only: no journal-mode change (a read-only connection cannot make one)
      layer = SqliteClient.layer({ filename: target.path, readonly: !create, disableWAL: !create })
    }
    const schedule = Schedule.exponential(Duration.millis(Number.isFinite(baseMillis) && baseMillis >= 0 ? baseMillis : 20), 2).pipe(
      Schedule.jittered,
      Schedule.intersect(Schedule.recurs(Number.isInteger(times) && times >= 1 ? times - 1 : 5))
    )
    // connecting: a server not there yet (refused, reset) is tried again like a turn
    const context = yield* Effect.suspend(() =>
      Effect.flatMap(Scope.fork(scope, { _tag: "Sequential" }), (child) =>
        Layer.buildWithScope(layer, child).pipe(
          Effect.catchAllDefect((d) => Effect.fail(d)),
          Effect.tapError(() => Scope.close(child, Exit.void))
        ))
    ).pipe(
      // refused or reset: a server not up yet, worth another try; a connect that timed out has
      // waited long already, and six more would keep the caller a minute
      Effect.retry({ schedule, while: (e) => kindOf(e) === "lost" && !CONNECT_TIMED_OUT.test(describeDb(e)) }),
      Effect.mapError((e) => {
        const lost = kindOf(e) === "lost"
        return storeError(named, "open", lost ? `cannot connect to the database: ${describeDb(e)} (gave up after ${times} tries)` : describeDb(e))
      })
    )
    return yield* open(Context.get(context, SqlClient.SqlClient), options, { label: named.name.slice(0, named.name.length - ` chain ${chainText}`.length), secrets: named.secrets })
  })
