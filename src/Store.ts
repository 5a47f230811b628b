/**
 * Where a chain's lines live. A store appends whole lines, all or nothing, and reads them back in
 * order; it knows nothing of hashes. `Chain` is its only writer.
 *
 * - `layerFile(path)`: JSONL on disk, the embedded default. One writer per file across processes
 *   (a lock file naming its holder; a lock left by a writer that died, or an unreadable one older
 *   than `lockGraceMillis`, is taken over, and the log records it), every append on disk before
 *   it is acknowledged, written off the event loop (group commit), a torn last line refused on
 *   open (`TornTail`, see `repair`). Its files are created 0600 unless `mode` says otherwise.
 *   The lock, and every file the store keeps beside the log, is named after the log's real path
 *   (`realLogPath`), so a log opened through a symlink, or through a symlinked directory, has the
 *   one lock it has under its own name. A log with more than one name (a hard link) is refused.
 *   The lock records the log file (device and inode), so a log renamed while written (`mv`, or
 *   `ln` then `rm`) is refused under its new name while its writer lives (same directory only).
 * - `layerMemory(options)`: lines in memory, optionally a bounded ring that evicts the oldest.
 * - `layerSql(options)`, `layerSqlUrl(url, options)`, `layerSqlConfig(options)`: a chain in a
 *   database, through `@effect/sql` (optional peer dependencies, loaded only when one of these
 *   layers is built): PostgreSQL (`@effect/sql-pg`) for a chain that many processes and hosts
 *   append to at once, SQLite (`@effect/sql-sqlite-node`, WAL) for an embedded chain that can be
 *   queried. One database holds many chains. These stores are shared (`StoreService.shared`):
 *   every write is one transaction holding the chain row's lock, in which the writer first reads
 *   what the others appended, so no entry is ever written twice, out of place, or lost. Each line
 *   is kept exactly as written, with the columns an auditor queries by (seq, ts, type,
 *   decision_id, hash). Use a file store for one writer, a SQL store for many.
 *
 * @since 0.1.0
 */
import * as nodeFs from "node:fs"
import { basename, dirname, isAbsolute, join } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as SqlClient from "@effect/sql/SqlClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { globalValue } from "effect/GlobalValue"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as internalLock from "./internal/lock.js"
import { realPath } from "./internal/realpath.js"
import { fileKind } from "./internal/messages.js"
import { missingPackageReason } from "./internal/optional.js"
import { targetOf } from "./internal/sqlurl.js"
import * as internalStore from "./internal/store.js"

/**
 * A store operation failed (disk full, permissions, a vanished file). Nothing of the failed
 * append remains in the store.
 *
 * @since 0.1.0
 * @category errors
 */
export const StoreError: typeof internalStore.StoreError = internalStore.StoreError

/**
 * @since 0.1.0
 * @category errors
 */
export type StoreError = internalStore.StoreError

/**
 * The log cannot be locked for writing: another writer holds it (this process or another one,
 * named by its lock file), or its lock file is unreadable and too young to take over. `lock` is
 * the lock file; `pid`, `host` and `since` name the holder (-1 and `unknown` when the lock names
 * none); `reason` says what holds the log and what to do.
 *
 * @since 0.1.0
 * @category errors
 */
export class LockHeld extends Schema.TaggedError<LockHeld>()("LockHeld", {
  path: Schema.String,
  lock: Schema.String,
  pid: Schema.Number,
  host: Schema.String,
  since: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.path} ${this.reason}`
  }
}

/**
 * The log ends in a partial line (a crash mid-write). `acttrace repair LOG` moves the torn bytes
 * into a quarantine file beside the log and truncates the log to its last whole line.
 *
 * @since 0.1.0
 * @category errors
 */
export class TornTail extends Schema.TaggedError<TornTail>()("TornTail", {
  path: Schema.String,
  /** bytes of whole lines before the torn part */
  wholeBytes: Schema.Number,
  tornBytes: Schema.Number
}) {
  override get message(): string {
    return `${this.path} ends in ${this.tornBytes} bytes of a partial line after ${this.wholeBytes} bytes of whole lines; run \`acttrace repair ${this.path}\``
  }
}

/**
 * The file is not a live log: an evidence pack (its first line is `_meta`), or not a log at all.
 *
 * @since 0.1.0
 * @category errors
 */
export class NotALog extends Schema.TaggedError<NotALog>()("NotALog", {
  path: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.reason}`
  }
}

/**
 * How a store wants appends grouped: up to `maxBatch` lines per append, and at most
 * `maxDelayMillis` spent waiting for more once one is pending (0: take what is queued, never wait).
 *
 * @since 0.1.0
 * @category models
 */
export type Batching = internalStore.Batching

/**
 * What a store offers the chain: `append` (all or nothing), `snapshot`, `evicted`, `batching`,
 * and, for the stores several writers share (the SQL stores), `shared` turns.
 *
 * @since 0.1.0
 * @category models
 */
export type StoreService = internalStore.StoreService

/**
 * A store's write done at once, on the calling thread: `undefined` when the lines are in the store
 * (durably, for a file), the failure otherwise (and then none of them is).
 *
 * @since 0.1.0
 * @category models
 */
export type WriteNow = (lines: ReadonlyArray<string>) => StoreError | undefined

// The synchronous form of each append made by `synchronousAppend`, keyed by the append function
// itself: a store whose `append` is another function (a double, a wrapper, a bound copy, a Proxy)
// finds nothing here, so the chain calls that function for every write. (A property on the
// function would be copied by `Object.assign` and forwarded by a Proxy, and the double bypassed.)
// One map per process, however many copies of this module are loaded.
const writesNow = globalValue(Symbol.for("acttrace/Store/writesNow"), () => new WeakMap<object, WriteNow>())

/**
 * An `append` made from a synchronous write: it runs `write` when its Effect runs, and the chain,
 * finding its synchronous form with `appendNow`, calls `write` directly (no fiber hop, no Effect
 * per entry) when nothing else is being written. Both ways run the same function, so a store
 * cannot be written to except through it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const synchronousAppend = (write: WriteNow): StoreService["append"] => {
  const append = (lines: ReadonlyArray<string>): Effect.Effect<void, StoreError> =>
    Effect.suspend(() => {
      const failed = write(lines)
      return failed === undefined ? Effect.void : Effect.fail(failed)
    })
  writesNow.set(append, write)
  return append
}

/**
 * The synchronous form of an `append` made by `synchronousAppend`; `undefined` for any other
 * function (which the chain then runs as the Effect it returns).
 *
 * @since 0.1.0
 * @category constructors
 */
export const appendNow = (append: StoreService["append"]): WriteNow | undefined => writesNow.get(append)

/**
 * @since 0.1.0
 * @category tags
 */
export class Store extends Context.Tag("acttrace/Store")<Store, StoreService>() {}

// ---------------------------------------------------------------------------------------------
// Memory

/**
 * Options of the memory store. With `capacity`, the oldest lines are evicted in O(1) once it is
 * full, and counted.
 *
 * @since 0.1.0
 * @category models
 */
export interface MemoryOptions {
  readonly capacity?: number | undefined
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options: MemoryOptions = {}): Effect.Effect<StoreService> =>
  Effect.sync(() => {
    const capacity = options.capacity ?? Infinity
    if (!(capacity >= 1)) throw new RangeError("Store.layerMemory: capacity must be at least 1")
    // a ring: `first` is the oldest line's slot; bounded stores never grow past capacity
    const ring: Array<string> = []
    let first = 0
    let evicted = 0
    const push = (line: string) => {
      if (ring.length < capacity) ring.push(line)
      else {
        ring[first] = line
        first = (first + 1) % ring.length
        evicted++
      }
    }
    return {
      name: "memory",
      path: Option.none(),
      append: synchronousAppend((lines) => {
        for (const l of lines) push(l)
        return undefined
      }),
      snapshot: Effect.sync(() => {
        const n = ring.length
        const start = first
        const lines = Array.from({ length: n }, (_, k) => ring[(start + k) % n]!)
        return Stream.fromIterable(lines).pipe(Stream.map((l) => Buffer.from(l + "\n", "utf8")))
      }),
      evicted: Effect.sync(() => evicted),
      batching: { maxBatch: 4096, maxDelayMillis: 0 }
    }
  })

/**
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options: MemoryOptions = {}): Layer.Layer<Store> => Layer.effect(Store, makeMemory(options))

// ---------------------------------------------------------------------------------------------
// File

/**
 * Options of the file store.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  /**
   * Group commit (the default): appends go to disk as one write on Node's thread pool, through a
   * descriptor opened with O_DSYNC, so the event loop never waits for the disk; concurrent
   * appends share a write, at most `maxBatch` lines (default 1024), waiting at most
   * `maxDelayMillis` (default 0: take what is queued) for company. Each append is acknowledged
   * only once its write is on disk. `false`: one line per write, still off the event loop.
   */
  readonly groupCommit?: boolean | { readonly maxBatch?: number | undefined; readonly maxDelayMillis?: number | undefined } | undefined
  /**
   * Opt-in, and it BLOCKS THE EVENT LOOP: each append is written and `fdatasync`ed synchronously
   * on the calling thread, for the disk's latency per append (a server stalls meanwhile: under
   * 64 concurrent requests its loop's p99 delay measured hundreds of milliseconds, against tens
   * with the default). It suits a script with one caller and nothing else to run, where sparing
   * the trip to the thread pool is faster on a quiet disk (about 4,100 appends/s against 2,900
   * measured). Not with `groupCommit`.
   */
  readonly blocking?: boolean | undefined
  /**
   * The permission bits of the files the store creates: the log (an existing log keeps its own),
   * its lock and the lock's temporaries. Default 0o600 (owner only: the log holds decisions
   * about people); 0o640 lets a group read. Set as given, whatever the process's umask.
   */
  readonly mode?: number | undefined
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
export type LockTakeover = internalStore.LockTakeover

/**
 * How long an unreadable (empty or garbage) lock file must stay untouched before a writer takes
 * it over: 10 seconds. The lock protocol never leaves a partial lock file, so an unreadable one
 * comes from a crash or a full disk under an earlier writer, or from tampering; the wait keeps
 * clear of any writer that writes its lock in place, and is short enough for a restart to
 * recover by itself.
 *
 * @since 0.1.0
 * @category locking
 */
export const lockGraceMillis: number = internalLock.GRACE_MILLIS

const describe = internalLock.describe

/**
 * The lock file beside a log: `LOG.lock`. The store names it after the log's real path
 * (`lockPath(real)` with `real` from `realLogPath`); given any other spelling of the log, this
 * only appends `.lock` to it.
 *
 * @since 0.1.0
 * @category locking
 */
export const lockPath = (path: string): string => `${path}.lock`

/**
 * The real path of the log at `path`, after which the file store names its lock and every file it
 * keeps beside the log: the path's real path when the log exists (symlinks, symlinked directories,
 * `.` and `..` resolved); for a log not created yet, the real path of its directory and its name.
 * A dangling symlink is refused (the store will not create a log at the far end of a link); so is
 * a path whose directory does not exist.
 *
 * Two spellings of one log give one real path, hence one lock. Hard links do not: a file with two
 * names has two real paths, which is why the store refuses a log with more than one link.
 *
 * @since 0.1.0
 * @category locking
 */
export const realLogPath = (path: string): Effect.Effect<string, StoreError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const notFound = (e: unknown) => e !== null && typeof e === "object" && (e as { reason?: unknown }).reason === "NotFound"
    const real = yield* realPath(path).pipe(Effect.either)
    if (real._tag === "Right") return real.right
    if (!notFound(real.left)) return yield* new StoreError({ path, operation: "open", reason: describe(real.left) })
    // nothing there: a dangling symlink, or a log not created yet
    const to = yield* fs.readLink(path).pipe(Effect.option)
    if (to._tag === "Some") {
      const target = isAbsolute(to.value) ? to.value : join(dirname(path), to.value)
      return yield* new StoreError({
        path,
        operation: "open",
        reason: `it is a symbolic link to ${target}, which does not exist; the store does not create a log at the far end of a link: create the log there first, or name the log by its own path`
      })
    }
    const dir = yield* realPath(dirname(path)).pipe(Effect.mapError((e) => new StoreError({ path, operation: "open", reason: describe(e) })))
    return join(dir, basename(path))
  })

/** Refuse a log file with more than one name: its lock is found by name (see `realLogPath`). */
const oneName = (path: string, real: string, nlink: number): Effect.Effect<void, StoreError> =>
  nlink > 1
    ? Effect.fail(
      new StoreError({
        path,
        operation: "open",
        reason: `the log has ${nlink} names (hard links) and must have one: its lock is found by its name, so a writer opening it by another name would not see the lock; remove the other names (\`find -samefile ${real}\` lists them)`
      })
    )
    : Effect.void

/**
 * Whether a file name, in the log's own directory, is one of the files the file store of the log
 * at `logPath` (its real path: `realLogPath`, where the store keeps them) owns: the log itself, its lock (`LOG.lock`), the lock's temporaries and takeover
 * markers (`LOG.lock.tmp-*`, `LOG.lock.take-*`, and `LOG.lock.stale-*` from earlier versions),
 * and repair's quarantine files (`LOG.torn-*`). Names only: a caller that must not touch these
 * files compares its target's directory with the log's (real paths) and, for links, device and
 * inode with each of them.
 *
 * @since 0.1.0
 * @category locking
 */
export const ownedNames = (logPath: string): ((name: string) => boolean) => {
  const log = basename(logPath)
  const lock = basename(lockPath(logPath))
  return (name) =>
    name === log ||
    name === lock ||
    (name.startsWith(lock) &&
      [internalLock.TMP_INFIX, internalLock.MARKER_INFIX, internalLock.OLD_ASIDE_INFIX].some((infix) => name.startsWith(infix, lock.length))) ||
    name.startsWith(`${log}${TORN_INFIX}`)
}

const TORN_INFIX = ".torn-"

const DEFAULT_MODE = 0o600

const checkMode = (mode: number | undefined): number => {
  const m = mode ?? DEFAULT_MODE
  if (!Number.isInteger(m) || m < 0 || m > 0o777) throw new RangeError(`Store: mode must be permission bits from 0 to 0o777, not ${mode}`)
  return m
}

/**
 * Take the lock of the log at `path` (whose real path is `real`) for the scope, or fail saying who
 * holds it and what to do.
 */
const acquireLock = (
  fs: FileSystem.FileSystem,
  path: string,
  real: string,
  mode: number
): Effect.Effect<
  { readonly takeover: LockTakeover | undefined; readonly claim: (info: FileSystem.File.Info) => Effect.Effect<void, LockHeld | StoreError> },
  LockHeld | StoreError,
  Scope.Scope
> => {
  const lock = lockPath(real)
  const failure = (e: internalLock.LockRefused | internalLock.LockIo): LockHeld | StoreError => {
    if (e._tag === "LockIo") return new StoreError({ path: e.path, operation: e.operation === "read" || e.operation === "write" ? `lock (${e.operation})` : e.operation, reason: e.reason })
      const r = e.refusal
      // a holder's pid, host and time when the refusal knows them, else the unknown holder
      const held = (reason: string, holder?: { readonly pid: number; readonly host?: string | undefined; readonly since?: string | undefined }, at: string = lock) =>
        new LockHeld({
          path,
          lock: at,
          pid: holder?.pid ?? -1,
          host: holder?.host ?? "unknown",
          since: holder === undefined ? "unknown" : holder.since ?? "unknown",
          reason
        })
      switch (r._tag) {
        case "Live":
          return held(`is being written by pid ${r.holder.pid} on ${r.holder.host} since ${r.holder.since} (lock file ${lock})`, r.holder)
        case "OtherHost":
          return held(
            `is being written by pid ${r.holder.pid} on ${r.holder.host} since ${r.holder.since}, another host, whose processes cannot be checked from here (lock file ${lock}); if that writer is gone, remove ${lock}`,
            r.holder
          )
        case "Young":
          return held(
            r.future
              ? `is locked by ${lock}, which holds no readable lock (${r.bytes} bytes) and whose modification time is in the future (a clock set wrong, or a touch), so it is not old enough to take over until that time has passed; if no process writes the log, remove ${lock}`
              : `is locked by ${lock}, which holds no readable lock (${r.bytes} bytes, last written ${(r.ageMillis / 1000).toFixed(1)} s ago; a crash or a full disk while a lock was written leaves one). It is taken over once it is ${lockGraceMillis / 1000} s old; to take the log now, make sure no process is writing it and remove ${lock}`
          )
        case "NotAFile": {
          const what = r.path === lock ? "its lock file" : "a takeover marker of its lock"
          return held(
            `cannot be locked: ${what} ${r.path} is a ${r.kind}, not a regular file, so no writer of this store made it; it is neither read nor taken over. If no process writes the log, remove it (${r.path})`
          )
        }
        case "Taking":
          return held(
            `is being taken over by ${r.holder === undefined ? "another process" : `pid ${r.holder.pid} on ${r.holder.host}`} (its lock file ${lock} was stale; marker ${r.marker}); try again`,
            r.holder
          )
        case "Unsettled":
          return held(`could not be locked: its lock file ${lock} kept changing hands; try again`)
        case "Elsewhere": {
          const host = r.holder.host ?? "unknown"
          const since = r.holder.since ?? "unknown"
          return held(
            `is being written under another name: the log is being written by pid ${r.holder.pid} on ${host} since ${since}, which holds it by the lock file ${r.lock} (the log was renamed, or linked and its first name removed, while written); wait for that writer to close the log`,
            r.holder,
            r.lock
          )
        }
      }
  }
  return internalLock.acquire(fs, lock, mode).pipe(
    Effect.map(({ claim, takeover: t }) => ({
      takeover: t === undefined ? undefined : {
        kind: t.kind,
        lock: t.lock,
        bytes: t.bytes,
        ageMillis: t.ageMillis,
        // a stale lock's time or host that is not a bounded one is recorded as unknown
        holder: t.holder === undefined ? Option.none() : Option.some({ pid: t.holder.pid, host: t.holder.host ?? "unknown", since: t.holder.since ?? "unknown" })
      },
      claim: (info: FileSystem.File.Info) =>
        claim({ dev: String(info.dev), ino: String(Option.getOrElse(info.ino, () => -1)) }).pipe(Effect.mapError(failure))
    })),
    Effect.mapError(failure)
  )
}

/** fsync a directory, so a file created in it survives a crash. */
const syncDir = (fs: FileSystem.FileSystem, dir: string): Effect.Effect<void> =>
  Effect.scoped(Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync)).pipe(Effect.ignore)

const LF = 0x0a

/** Whether a file's first bytes open an evidence pack's `_meta` line (after a BOM, if any). */
const opensPack = (first: Uint8Array): boolean => /^(\xef\xbb\xbf)?\{\s*"_meta"/.test(Buffer.from(first).toString("latin1"))

/**
 * Open (or create) the log at `path` for writing: lock it, check its tail, and append durably.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFile = (
  path: string,
  options: FileOptions = {}
): Effect.Effect<StoreService, LockHeld | TornTail | NotALog | StoreError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const blocking = options.blocking === true
    const group = options.groupCommit ?? true
    if (blocking && group !== false && options.groupCommit !== undefined) {
      throw new RangeError("Store.layerFile: blocking: true writes each append synchronously on its own; it cannot be combined with groupCommit")
    }
    const mode = checkMode(options.mode)
    const fs = yield* FileSystem.FileSystem
    const fail = (operation: string) => (e: unknown) => new StoreError({ path, operation, reason: describe(e) })
    // every file the store touches is named after the log's real path: one lock per file, however
    // the caller spells it
    const real = yield* realLogPath(path)
    const existed = yield* fs.exists(real).pipe(Effect.mapError(fail("open")))
    if (existed) {
      const info = yield* fs.stat(real).pipe(Effect.mapError(fail("open")))
      if (info.type !== "File") return yield* new StoreError({ path, operation: "open", reason: `${fileKind(info.type)}, not a regular file` })
      yield* oneName(path, real, Option.getOrElse(info.nlink, () => 1))
    }
    const locked = yield* acquireLock(fs, path, real, mode)
    const lockTakenOver = locked.takeover
    // the checks of what is there; appends go through a descriptor of their own (below)
    let size = yield* Effect.scoped(
      Effect.gen(function* () {
        // created here, by the lock's holder, with the mode asked for; an existing log keeps its own
        const created = yield* fs.open(real, { flag: "ax+", mode }).pipe(
          Effect.map(Option.some),
          Effect.catchIf((e) => e._tag === "SystemError" && e.reason === "AlreadyExists", () => Effect.succeedNone),
          Effect.mapError(fail("open"))
        )
        const file = Option.isSome(created) ? created.value : yield* fs.open(real, { flag: "a+" }).pipe(Effect.mapError(fail("open")))
        if (Option.isSome(created)) {
          yield* fs.chmod(real, mode).pipe(Effect.mapError(fail("open")))
          yield* file.sync.pipe(Effect.mapError(fail("sync")))
          yield* syncDir(fs, dirname(real))
        }
        const info = yield* file.stat.pipe(Effect.mapError(fail("stat")))
        // the file itself, whatever its name: refused if another name's lock holds it (a rename)
        yield* locked.claim(info)
        // again under the lock: a name added since the check above (or to a log created meanwhile)
        yield* oneName(path, real, Option.getOrElse(info.nlink, () => 1))
        const size = Number(info.size)
        if (size > 0) {
          // a torn tail: the last byte of a log is always a newline
          const last = Buffer.alloc(1)
          yield* file.seek(size - 1, "start")
          yield* file.read(last).pipe(Effect.mapError(fail("read")))
          if (last[0] !== LF) {
            const whole = yield* lastNewline(fs, real, size)
            return yield* new TornTail({ path, wholeBytes: whole, tornBytes: size - whole })
          }
          const head = Buffer.alloc(16)
          yield* file.seek(0, "start")
          const n = Number(yield* file.read(head).pipe(Effect.mapError(fail("read"))))
          if (opensPack(head.subarray(0, n))) {
            return yield* new NotALog({ path, reason: "it is an evidence pack (its first line is _meta); packs are read with `acttrace verify`, not appended to" })
          }
        }
        return size
      })
    )
    const batching: Batching = blocking || group === false
      ? { maxBatch: 1, maxDelayMillis: 0 }
      : group === true
      ? { maxBatch: 1024, maxDelayMillis: 0 }
      : { maxBatch: Math.max(1, group.maxBatch ?? 1024), maxDelayMillis: Math.max(0, group.maxDelayMillis ?? 0) }
    // By default appends go through a descriptor opened with O_DSYNC, written on Node's thread
    // pool: a write returns once the data and the file size are on disk (what fdatasync gives),
    // in one trip to the pool instead of two (a write, then an fsync), about 25 % faster, and the
    // event loop runs on meanwhile; the next batch fills up while the disk works. The blocking
    // mode writes and fdatasyncs synchronously through a plain descriptor: a synchronous O_DSYNC
    // write burned CPU for as long as it waited on this machine.
    const { O_APPEND, O_DSYNC, O_NOFOLLOW, O_WRONLY } = nodeFs.constants
    const fd = yield* Effect.acquireRelease(
      // O_NOFOLLOW: the real path's last part is no symlink; if it became one since, refuse
      Effect.try({ try: () => nodeFs.openSync(real, O_WRONLY | O_APPEND | O_NOFOLLOW | (blocking ? 0 : O_DSYNC)), catch: fail("open") }),
      (fd) => Effect.sync(() => nodeFs.closeSync(fd))
    )
    const lock = yield* Effect.makeSemaphore(1)
    const writeNow: WriteNow = (lines) => {
      if (lines.length === 0) return undefined
      const bytes = linesBytes(lines)
      try {
        for (let at = 0; at < bytes.length;) at += nodeFs.writeSync(fd, bytes, at, bytes.length - at)
        nodeFs.fdatasyncSync(fd)
        size += bytes.length
        return undefined
      } catch (e) {
        // all or nothing: cut back whatever part of the write reached the file
        try {
          nodeFs.ftruncateSync(fd, size)
          nodeFs.fdatasyncSync(fd)
        } catch {
          // the next append finds out
        }
        return fail("append")(e)
      }
    }
    const writeAsync = (bytes: Buffer) =>
      Effect.async<void, StoreError>((resume) => {
        const from = (at: number) =>
          nodeFs.write(fd, bytes, at, bytes.length - at, null, (err, n) => {
            if (err !== null) resume(Effect.fail(fail("append")(err)))
            else if (at + n < bytes.length) from(at + n)
            else resume(Effect.void)
          })
        from(0)
      })
    // all or nothing: cut back whatever part of a failed write reached the file
    const cutBack = Effect.async<void>((resume) => {
      nodeFs.ftruncate(fd, size, () => nodeFs.fdatasync(fd, () => resume(Effect.void)))
    })
    // blocking: every append is one synchronous write, so nothing can come between two of them
    // and no permit is needed; otherwise one write at a time on the thread pool
    const append = blocking ? synchronousAppend(writeNow) : (lines: ReadonlyArray<string>): Effect.Effect<void, StoreError> =>
      lock.withPermits(1)(
        Effect.suspend(() => {
          if (lines.length === 0) return Effect.void
          const bytes = linesBytes(lines)
          return writeAsync(bytes).pipe(
            Effect.tap(() => {
              size += bytes.length
            }),
            Effect.tapError(() => cutBack)
          )
        })
      )
    return {
      name: path,
      path: Option.some(real),
      append,
      snapshot: Effect.sync(() => {
        const n = size
        return n === 0 ? Stream.empty : fs.stream(real, { bytesToRead: n, chunkSize: 1 << 20 }).pipe(Stream.mapError(fail("read")))
      }),
      evicted: Effect.succeed(0),
      batching,
      lockTakenOver
    } satisfies StoreService
  })

/** Lines as the bytes appended to a log file: each one ended by a newline. */
const linesBytes = (lines: ReadonlyArray<string>): Buffer =>
  Buffer.from(lines.length === 1 ? lines[0] + "\n" : lines.join("\n") + "\n", "utf8")

/** The number of bytes up to and including the last newline in the first `size` bytes of path. */
const lastNewline = (fs: FileSystem.FileSystem, path: string, size: number): Effect.Effect<number, StoreError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* fs.open(path, { flag: "r" })
      const buf = Buffer.alloc(1 << 16)
      let end = size
      while (end > 0) {
        const start = Math.max(0, end - buf.length)
        yield* file.seek(start, "start")
        const n = Number(yield* file.readAlloc(end - start).pipe(Effect.map((o) => Option.match(o, { onNone: () => 0, onSome: (b) => (buf.set(b), b.length) }))))
        const at = buf.subarray(0, n).lastIndexOf(LF)
        if (at >= 0) return start + at + 1
        end = start
      }
      return 0
    })
  ).pipe(Effect.mapError((e) => new StoreError({ path, operation: "read", reason: describe(e) })))

/**
 * @since 0.1.0
 * @category layers
 */
export const layerFile = (path: string, options: FileOptions = {}): Layer.Layer<Store, LockHeld | TornTail | NotALog | StoreError, FileSystem.FileSystem> =>
  Layer.scoped(Store, makeFile(path, options))

// ---------------------------------------------------------------------------------------------
// Repair

/**
 * What `repair` did: the bytes moved to the quarantine file (none when the log was whole), and
 * the lock it took over to do so, if any.
 *
 * @since 0.1.0
 * @category models
 */
export interface Repaired {
  readonly path: string
  readonly quarantine: Option.Option<string>
  readonly tornBytes: number
  readonly keptBytes: number
  readonly lockTakenOver: Option.Option<LockTakeover>
}

/**
 * Options of `repair`: `mode`, the permission bits of its lock file (default 0o600).
 *
 * @since 0.1.0
 * @category models
 */
export interface RepairOptions {
  readonly mode?: number | undefined
}

/**
 * Cut a torn tail off the log at `path`: the bytes after its last newline are first written to
 * `<real path>.torn-<time>` beside it (`realLogPath`) (with the log's own mode, and synced), then the log is
 * truncated in place to its last whole line (it keeps its mode). No byte is deleted. Refuses
 * while a live writer holds the log, by whatever name (the lock is the real path's); refuses a log
 * with more than one hard link, as a writer does; takes over a stale lock as a writer would. The
 * size is measured once the lock is held.
 *
 * @since 0.1.0
 * @category repair
 */
export const repair = (path: string, options: RepairOptions = {}): Effect.Effect<Repaired, LockHeld | StoreError, FileSystem.FileSystem> =>
  Effect.scoped(
    Effect.gen(function* () {
      const mode = checkMode(options.mode)
      const fs = yield* FileSystem.FileSystem
      const fail = (operation: string) => (e: unknown) => new StoreError({ path, operation, reason: describe(e) })
      // the lock and the quarantine file are named after the log's real path, as a writer's are
      const real = yield* realLogPath(path)
      const checked = (info: FileSystem.File.Info) =>
        info.type !== "File"
          ? Effect.fail(new StoreError({ path, operation: "open", reason: `${fileKind(info.type)}, not a regular file` }))
          : oneName(path, real, Option.getOrElse(info.nlink, () => 1))
      yield* Effect.flatMap(fs.stat(real).pipe(Effect.mapError(fail("open"))), checked)
      const locked = yield* acquireLock(fs, path, real, mode)
      const lockTakenOver = Option.fromNullable(locked.takeover)
      // measured under the lock: a size from before it could predate a writer's last appends
      const info = yield* fs.stat(real).pipe(Effect.mapError(fail("open")))
      yield* checked(info)
      // the file itself, whatever its name: refused if another name's lock holds it (a rename)
      yield* locked.claim(info)
      const size = Number(info.size)
      const whole = yield* lastNewline(fs, real, size)
      if (whole === size) return { path, quarantine: Option.none(), tornBytes: 0, keptBytes: size, lockTakenOver }
      const file = yield* fs.open(real, { flag: "r+" }).pipe(Effect.mapError(fail("open")))
      yield* file.seek(whole, "start")
      const torn = yield* file.readAlloc(size - whole).pipe(
        Effect.map(Option.getOrElse(() => new Uint8Array(0))),
        Effect.mapError(fail("read"))
      )
      // the torn bytes are the log's: readable by whom the log is, nobody else
      const logMode = info.mode & 0o777
      const quarantine = `${real}${TORN_INFIX}${new Date().toISOString().replace(/[:.]/g, "-")}`
      yield* Effect.scoped(
        Effect.gen(function* () {
          const q = yield* fs.open(quarantine, { flag: "wx", mode: logMode })
          yield* fs.chmod(quarantine, logMode)
          yield* q.writeAll(torn)
          yield* q.sync
        })
      ).pipe(Effect.mapError(fail("quarantine")))
      yield* syncDir(fs, dirname(real))
      yield* file.truncate(whole).pipe(Effect.andThen(file.sync), Effect.mapError(fail("truncate")))
      return { path, quarantine: Option.some(quarantine), tornBytes: size - whole, keptBytes: whole, lockTakenOver }
    })
  )

// ---------------------------------------------------------------------------------------------
// Reading a log without writing to it

/**
 * A log file as it stands, for reading without the write lock (export, inspection): its whole
 * lines at this moment (a line being written right now is left out). Refuses an evidence pack.
 *
 * @since 0.1.0
 * @category reading
 */
export const readLog = (path: string): Effect.Effect<Effect.Effect<Stream.Stream<Uint8Array, StoreError>>, NotALog | StoreError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fail = (operation: string) => (e: unknown) => new StoreError({ path, operation, reason: describe(e) })
    const info = yield* fs.stat(path).pipe(Effect.mapError(fail("open")))
    if (info.type !== "File") return yield* new StoreError({ path, operation: "open", reason: `${fileKind(info.type)}, not a regular file` })
    const whole = yield* lastNewline(fs, path, Number(info.size))
    const head = yield* Effect.scoped(
      Effect.flatMap(fs.open(path, { flag: "r" }), (f) => f.readAlloc(Math.min(16, whole)))
    ).pipe(Effect.mapError(fail("read")))
    if (Option.isSome(head) && opensPack(head.value)) {
      return yield* new NotALog({ path, reason: "it is an evidence pack already (its first line is _meta)" })
    }
    return Effect.sync(() => (whole === 0 ? Stream.empty : fs.stream(path, { bytesToRead: whole, chunkSize: 1 << 20 }).pipe(Stream.mapError(fail("read")))))
  })

// ---------------------------------------------------------------------------------------------
// Shared stores: PostgreSQL and SQLite through @effect/sql

/**
 * A line that a shared chain's other writers appended since this writer last looked, as a turn
 * hands it to `build`.
 *
 * @since 0.1.0
 * @category models
 */
export type Written = internalStore.Written

/**
 * What a store shared by several writers (processes, hosts) offers beside `append`: a turn as
 * the chain's only writer. The SQL stores have it; the file and memory stores have one writer and
 * do not.
 *
 * @since 0.1.0
 * @category models
 */
export type Shared = internalStore.Shared

/**
 * Options of the SQL stores (`layerSql`, `layerSqlUrl`, `layerSqlConfig`).
 *
 * @since 0.1.0
 * @category models
 */
export type SqlOptions = internalStore.SqlOptions

/**
 * Load an optional package (or the module that imports it) on first use: a failed import, the
 * package not being installed, is a `StoreError` (operation `open`) naming the package to install.
 */
const loadOptional = <A>(name: string, packages: string, load: () => Promise<A>): Effect.Effect<A, StoreError> =>
  Effect.tryPromise({
    try: load,
    catch: (e) => new StoreError({ path: name, operation: "open", reason: missingPackageReason(packages, e) })
  })

const SQL_PACKAGES = "@effect/sql@^0.52"

/**
 * A store on a database through `@effect/sql`, shared by every writer of the chain: PostgreSQL
 * (`@effect/sql-pg`) for a chain many processes or hosts append to, SQLite
 * (`@effect/sql-sqlite-node`) for an embedded, queryable one. Takes any `SqlClient` whose dialect
 * is `pg` or `sqlite`; with `create` (the default) the tables are created on first use.
 *
 * Each append and each `shared.turn` is one transaction holding the chain row's lock: no gap, no
 * duplicate, no fork, whatever the number of writers; the chain row moves only with the rows it
 * describes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSql = (options: SqlOptions): Layer.Layer<Store, StoreError, SqlClient.SqlClient> =>
  Layer.scoped(
    Store,
    Effect.flatMap(
      loadOptional(`chain ${String(options.chain)}`, SQL_PACKAGES, () => import("./internal/sql.js")),
      (sql) => sql.make(options)
    )
  )

/**
 * A SQL store on the database at `url`: `postgres://` or `postgresql://` (through
 * `@effect/sql-pg`), or a SQLite file path, optionally written `sqlite:PATH` (through
 * `@effect/sql-sqlite-node`, in WAL mode). Any other scheme is a `StoreError`. The URL's password
 * never appears in the store's name or in any error.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlUrl = (url: string | Redacted.Redacted<string>, options: SqlOptions): Layer.Layer<Store, StoreError> =>
  Layer.scoped(
    Store,
    Effect.suspend(() => {
      const redacted = Redacted.isRedacted(url) ? url : Redacted.make(url)
      const target = targetOf(Redacted.value(redacted))
      const shown = target._tag === "sqlite" ? target.path : target.shown
      return Effect.flatMap(
        loadOptional(`${shown} chain ${String(options.chain)}`, SQL_PACKAGES, () => import("./internal/sql.js")),
        (sql) => sql.makeUrl(redacted, options)
      )
    })
  )

/**
 * `layerSqlUrl` with the URL read from `Config`: `url`, by default `Config.redacted("DATABASE_URL")`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlConfig = (
  options: SqlOptions & { readonly url?: Config.Config<Redacted.Redacted<string>> | undefined }
): Layer.Layer<Store, StoreError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(options.url ?? Config.redacted("DATABASE_URL"), (url) => {
      const { url: _, ...rest } = options
      return layerSqlUrl(url, rest)
    })
  )
