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
import { StoreError } from "./store.js"
import type { Batching, Shared, SqlOptions, StoreService, Written } from "./store.js"

type Dialect = "pg" | "sqlite"

/** The head of an empty chain: what the first entry's `prev_hash` links to. */
const ZERO_HASH = "0".repeat(64)
/** Rows per page of a snapshot: constant memory, and faster than a cursor on PostgreSQL. */
const PAGE = 5000
/** Rows per INSERT statement (7 parameters each: under SQLite's and PostgreSQL's limits). */
const INSERT_ROWS = 500
/** The entry types whose whole line a turn hands back (`Written.line`). */
const KEPT_TYPES = ["audit_open", "checkpoint", "key_rotation"] as const
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
  return { code, message: message.split("\n")[0] ?? "" }
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

const storeError = (named: Named, operation: string, reason: string): StoreError =>
  new StoreError({ path: named.name, operation, reason: scrub(reason, named.secrets) })

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

// a type, not an interface: sql.insert takes records
type Row = {
  readonly chain: string
  readonly seq: number
  readonly ts: string | null
  readonly type: string | null
  readonly decision_id: string | null
  readonly hash: string | null
  readonly line: string
}

/** The columns of a line: an entry's own fields, NULL for a line that is not an entry. */
const rowOf = (chain: string, seq: number, line: string): Row | { readonly misplaced: number } => {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    parsed = undefined
  }
  if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
    const o = parsed as Record<string, unknown>
    if (typeof o["seq"] === "number" && typeof o["type"] === "string" && typeof o["hash"] === "string") {
      if (o["seq"] !== seq) return { misplaced: o["seq"] }
      const payload = o["payload"]
      const decision = payload !== null && typeof payload === "object" ? (payload as Record<string, unknown>)["decision_id"] : undefined
      return {
        chain,
        seq,
        ts: typeof o["ts"] === "string" ? o["ts"] : null,
        type: o["type"],
        decision_id: typeof decision === "string" ? decision : null,
        hash: o["hash"],
        line
      }
    }
  }
  return { chain, seq, ts: null, type: null, decision_id: null, hash: null, line }
}

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
    const chainText = typeof options.chain === "string" ? options.chain : String(options.chain)
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
            const rows = yield* sql<{ seq: string | number; type: string | null; hash: string | null; line: string | null }>`SELECT seq, type, hash, CASE WHEN type IN ${sql.in([...KEPT_TYPES])} THEN line ELSE NULL END AS line FROM ${id(T.entries)} WHERE chain = ${chain} AND seq >= ${known} AND seq < ${entries} ORDER BY seq`.pipe(Effect.mapError(db))
            written = rows.map((r) => ({ seq: Number(r.seq), type: r.type, hash: r.hash, line: r.line ?? undefined }))
            const gap = written.findIndex((w, i) => w.seq !== known + i)
            if (gap >= 0 || written.length !== entries - known) {
              const at = gap >= 0 ? known + gap : known + written.length
              return yield* Effect.fail(fail<E>(storeError(named, "read", `the chain's row says ${entries} entries but the entry at seq ${at} is missing: rows were deleted from ${T.entries}`)))
            }
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

    const readCount = retried(
      sql<{ entries: string | number }>`SELECT entries FROM ${id(T.chains)} WHERE chain = ${chain}`.pipe(
        Effect.mapError(failure("read", ["lost", "busy"])),
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.fail(fail<never>(storeError(named, "read", `the chain ${JSON.stringify(chain)} is no longer in the database`)))
            : Effect.succeed(Number(rows[0].entries))
        )
      )
    )

    /** One page: the lines from seq `from` (below `bound`), as the bytes of one chunk. */
    const page = (from: number, bound: number) =>
      retried(
        sql<{ seq: string | number; line: string }>`SELECT seq, line FROM ${id(T.entries)} WHERE chain = ${chain} AND seq >= ${from} AND seq < ${bound} ORDER BY seq LIMIT ${PAGE}`.pipe(
          Effect.mapError(failure("read", ["lost", "busy"])),
          Effect.flatMap((rows) => {
            const gap = rows.findIndex((r, i) => Number(r.seq) !== from + i)
            if (gap >= 0 || rows.length === 0) {
              const at = gap >= 0 ? from + gap : from
              return Effect.fail(fail<never>(storeError(named, "read", `the entry at seq ${at} is missing although the chain holds ${bound}: rows were deleted from ${T.entries}`)))
            }
            let text = ""
            for (const r of rows) text += r.line + "\n"
            return Effect.succeed([Chunk.of<Uint8Array>(Buffer.from(text, "utf8")), from + rows.length < bound ? Option.some(from + rows.length) : Option.none<number>()] as const)
          })
        )
      )

    // The bound is the chain's count when the snapshot is taken (the Store contract: lines
    // appended after it are not in its stream), and every run of the stream reads up to it: the
    // chain's users run one snapshot's stream several times and need the same lines each time,
    // while other writers append. A count that cannot be read is the stream's failure, every run.
    const snapshot: StoreService["snapshot"] = Effect.map(Effect.either(readCount), (bound) =>
      Either.isLeft(bound)
        ? Stream.fail(bound.left)
        : bound.right === 0
        ? Stream.empty
        : Stream.paginateChunkEffect(0, (from: number) => page(from, bound.right)))

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
    const chainText = typeof options.chain === "string" ? options.chain : String(options.chain)
    if (target._tag === "bad") return yield* new StoreError({ path: `${target.shown} chain ${chainText}`, operation: "open", reason: target.reason })
    const named: Named = target._tag === "pg"
      ? { name: `${target.shown} chain ${chainText}`, secrets: target.secrets }
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
      layer = PgClient.layer({ url, applicationName: "acttrace" })
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
      Effect.retry({ schedule, while: (e) => kindOf(e) === "lost" }),
      Effect.mapError((e) => {
        const lost = kindOf(e) === "lost"
        return storeError(named, "open", lost ? `cannot connect to the database: ${describeDb(e)} (gave up after ${times} tries)` : describeDb(e))
      })
    )
    return yield* open(Context.get(context, SqlClient.SqlClient), options, { label: named.name.slice(0, named.name.length - ` chain ${chainText}`.length), secrets: named.secrets })
  })
