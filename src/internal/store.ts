/**
 * The store's models and its error, apart from `Store` so that the SQL store's implementation
 * (`internal/sql.ts`, which `Store` imports dynamically) can use them without importing `Store`
 * back. `Store` re-exports every one of them: that is where users find them.
 */
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"

/**
 * A store operation failed (disk full, permissions, a vanished file). Nothing of the failed
 * append remains in the store.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  path: Schema.String,
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.operation} ${this.path}: ${this.reason}`
  }
}

/**
 * How a store wants appends grouped: up to `maxBatch` lines per append, and at most
 * `maxDelayMillis` spent waiting for more once one is pending (0: take what is queued, never wait).
 *
 * @since 0.1.0
 * @category models
 */
export interface Batching {
  readonly maxBatch: number
  readonly maxDelayMillis: number
}

/**
 * @since 0.1.0
 * @category models
 */
export interface StoreService {
  /** for messages: the file path, or `memory` */
  readonly name: string
  /** the file path of a file store */
  readonly path: Option.Option<string>
  /**
   * Append whole lines (without newlines): all of them or none, durable when it succeeds. The
   * chain writes every line through this function and through nothing else. A store whose write
   * is synchronous (memory; a file with `blocking: true`) makes it with `synchronousAppend`, which
   * lets the chain run it at once, without a fiber hop (`appendNow`); a store that replaces
   * `append` with a function of its own (a test double: `{ ...real, append: double }`) is called
   * for every write, and is fast in the same way only if it too is made with `synchronousAppend`.
   */
  readonly append: (lines: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
  /**
   * The bytes of every line held at this moment, in order, each ending in a newline (lines
   * appended after the snapshot is taken are not in its stream).
   */
  readonly snapshot: Effect.Effect<Stream.Stream<Uint8Array, StoreError>>
  /** Lines evicted from a bounded memory store (what an export of it lacks); 0 elsewhere. */
  readonly evicted: Effect.Effect<number>
  readonly batching: Batching
  /**
   * A file store's lock taken over when it opened (a writer that died holding the log, or an
   * unreadable lock file), for the log to record; absent otherwise.
   */
  readonly lockTakenOver?: LockTakeover | undefined
  /**
   * A store several writers share (the SQL stores): turns as the chain's only writer, which the
   * chain uses instead of `append` to catch up on what the others wrote. Absent for the file and
   * memory stores, which have one writer.
   */
  readonly shared?: Shared | undefined
}

/**
 * A lock the file store took over when it opened: `stale` when it parsed and named a process on
 * this host that is gone (the log's last writer died holding it), `unreadable` when it did not
 * parse (empty or garbage) and was older than `lockGraceMillis` (a crash or a full disk while an
 * older writer wrote it). Its size, its age and the holder it named: none of its bytes, so
 * nothing of whatever file sat at the lock's name can reach the log.
 *
 * @since 0.1.0
 * @category models
 */
export interface LockTakeover {
  readonly kind: "stale" | "unreadable"
  /** the lock file */
  readonly lock: string
  readonly bytes: number
  readonly ageMillis: number
  /** whom a stale lock named */
  readonly holder: Option.Option<{ readonly pid: number; readonly host: string; readonly since: string }>
}

/**
 * A line that a shared chain's other writers appended since this writer last looked, as a turn
 * hands it to `build`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Written {
  readonly seq: number
  /** the entry's `type`; null for a line that is not an entry (a bare line a store test appends) */
  readonly type: string | null
  /** the entry's `hash`; null for a line that is not an entry */
  readonly hash: string | null
  /**
   * the whole line when `type` is `audit_open`, `checkpoint` or `key_rotation` (the lines a
   * chain reads to stay in step: its opening, its checkpoint key and origin); undefined otherwise,
   * which spares reading every other writer's entries back
   */
  readonly line: string | undefined
}

/**
 * What a store shared by several writers (processes, hosts) offers beside `append`: a turn as
 * the chain's only writer. The SQL stores have it; the file and memory stores have one writer and
 * do not.
 *
 * @since 0.1.0
 * @category models
 */
export interface Shared {
  /**
   * One turn as the chain's only writer, in one transaction holding the chain's lock: read the
   * chain's end; read the rows from seq `known` on (others' appends, in seq order); call
   * `build(written)` synchronously; insert the lines it returns (maybe none) at the end and
   * advance the chain row (its head the last entry's hash, its count the number of lines);
   * commit. Nothing of a failed turn is written: the chain row only moves with the rows it
   * describes.
   *
   * `build` returning Left aborts the turn (rolled back) with that error. A turn that wrote
   * nothing and may be run again (a serialization failure or deadlock, SQLITE_BUSY, a connection
   * refused or lost before COMMIT was sent) is run again with backoff, calling `build` again with
   * the rows from `known`: `build` must be safe to call again. A connection lost while COMMIT was
   * in flight: the store reads the row at the turn's first seq on a fresh connection; the turn's
   * first line there means it committed, anything else that it did not (run again); if that cannot
   * be found out, a `StoreError` (operation `commit`) says the outcome is unknown and that the
   * next turn will see it.
   */
  readonly turn: <E>(
    known: number,
    build: (written: ReadonlyArray<Written>) => Either.Either<ReadonlyArray<string>, E>
  ) => Effect.Effect<void, StoreError | E>
}

/**
 * Options of the SQL stores (`layerSql`, `layerSqlUrl`, `layerSqlConfig`).
 *
 * @since 0.1.0
 * @category models
 */
export interface SqlOptions {
  /** the chain's name: 1 to 200 characters, no control characters. One database holds many chains. */
  readonly chain: string
  /**
   * The tables' prefix (default `acttrace`): `<prefix>_entries`, `<prefix>_chains`,
   * `<prefix>_migrations`. Lower-case letters, digits and `_`, starting with a letter or `_`,
   * at most 31 characters.
   */
  readonly tablePrefix?: string | undefined
  /**
   * `true` (the default): create the tables (migrations) and the chain when missing. `false`:
   * open read-only (verify, export): a missing table or chain is a `StoreError` naming the chains
   * the database holds, and appends are refused.
   */
  readonly create?: boolean | undefined
  /** how appends are grouped; default `{ maxBatch: 1000, maxDelayMillis: 0 }` */
  readonly batching?: Partial<Batching> | undefined
  /**
   * How a turn that wrote nothing is tried again (serialization failure, deadlock, busy database,
   * lost connection): `times` tries in all (default 6), waiting `baseMillis` (default 20) then
   * doubling, jittered.
   */
  readonly retry?: { readonly times?: number | undefined; readonly baseMillis?: number | undefined } | undefined
  /**
   * PostgreSQL: how long a writer may sit idle inside a turn, holding the chain's lock, before the
   * server ends its connection and rolls the turn back (`idle_in_transaction_session_timeout`,
   * for the turn's transaction only). Default 30,000 ms; 0 turns it off. A turn is never idle
   * for long on its own (its `build` is synchronous), so this only strikes a writer that froze
   * mid-turn (a stopped process, a paused machine), which would otherwise stop every other
   * writer of the chain for as long as its connection stays up. SQLite has no such timeout: the
   * others get `SQLITE_BUSY`, retried, then a `StoreError`.
   */
  readonly holdTimeoutMillis?: number | undefined
}

/**
 * A shared store's chain row (its count and head: the database's own claim of where the chain
 * ends) disagreeing with the chain's rows, found at the end of a snapshot's stream. A turn writes
 * its rows and moves the chain row in one transaction, so the two never disagree unless the
 * database was edited behind the store (rows deleted at the end or added past it, the count or
 * the head changed), and likewise a row's columns are its line's copy. The rows themselves are verified by the verification fold, as a file's lines
 * are; this is what only the chain row can tell:
 * - `truncated`: the row says more entries than the rows hold; `seq` is the first one missing
 * - `extra`: rows past the row's count; `seq` is the first of them (the count)
 * - `head`: the count agrees but the head is not the last entry's hash; `seq` is that entry's
 * - `column`: a row's query columns (`ts`, `type`, `decision_id`, `hash`) are not what its line
 *   says; `seq` is the row's (the stream ends there, the rows before it given)
 * - `line`: a row holds more than one line (rows folded into it); `seq` is the row's (the stream
 *   ends there too)
 *
 * The snapshot fails with a `StoreError` (operation `read`) whose reason `disagreementReason`
 * writes and `disagreementOf` reads back, so a reader (the CLI) can turn it into a verdict.
 *
 * @since 0.1.0
 * @category models
 */
export interface Disagreement {
  readonly kind: "truncated" | "extra" | "head" | "column" | "line"
  readonly seq: number
  /** plain words: what the chain row says and what the rows hold */
  readonly detail: string
}

const DISAGREES = "the chain's row disagrees with its rows"
const DISAGREEMENT = /^the chain's row disagrees with its rows \((truncated|extra|head|column|line) at seq (-?\d+)\): (.*)$/s

/**
 * The reason of a snapshot's `StoreError` for a disagreement.
 *
 * @since 0.1.0
 * @category models
 */
export const disagreementReason = (d: Disagreement): string => `${DISAGREES} (${d.kind} at seq ${d.seq}): ${d.detail}`

/**
 * The disagreement a snapshot's `StoreError` reports, or undefined for any other error.
 *
 * @since 0.1.0
 * @category models
 */
export const disagreementOf = (e: StoreError): Disagreement | undefined => {
  const m = e.operation === "read" ? DISAGREEMENT.exec(e.reason) : null
  return m === null ? undefined : { kind: m[1] as Disagreement["kind"], seq: Number(m[2]), detail: m[3]! }
}
