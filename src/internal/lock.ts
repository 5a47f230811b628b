/**
 * The lock of a log file (`LOG.lock`): one writer per log across processes, with a takeover of
 * locks left by writers that died that stays correct when many processes race for it.
 *
 * Why files and not an OS lock. Node has no `flock`. A Linux abstract Unix socket held for the
 * log's lifetime is released by the kernel when its process dies, but it exists per network
 * namespace (two containers sharing a volume would both get it), not at all on macOS, and it
 * would still need a lock file to name the holder; the file protocol below has to be right on
 * its own anyway, and one protocol everywhere is what the tests then hold.
 *
 * The protocol, on any file system with hard links and atomic `rename` (every local POSIX one):
 *
 * - A lock file is never partial. A taker writes its lock (`pid`, `host`, `since`, a random
 *   `token`, and on Linux the process's start time) in full under its own temporary name
 *   `LOG.lock.tmp-<token>`, syncs it, then `link`s it to `LOG.lock`. `link` never replaces a
 *   file, so of many takers of an absent lock exactly one succeeds.
 * - A present lock is judged: a live holder on this host (`kill(pid, 0)`, and the start time
 *   where /proc has it, so a reused pid is not taken for the holder), or one on another host
 *   (whose processes cannot be checked): refused. A holder that is dead: stale. A lock that does
 *   not parse (empty or garbage, from a crash or a full disk under an older writer, or tampering)
 *   is refused until it is `GRACE_MILLIS` old, then stale too.
 * - A stale lock S is taken over without ever leaving `LOG.lock` absent: the taker links its own
 *   temporary file to a marker `LOG.lock.take-<key of S>` (again, exactly one taker succeeds),
 *   re-reads `LOG.lock`, and only if it is still S (same inode, modification time and bytes,
 *   which hold S's random token) `rename`s its own lock over it. Every change of `LOG.lock` from S
 *   needs that marker, so once a taker holds it and has seen S, nobody else can move S; a taker
 *   that finds `LOG.lock` no longer S has lost and removes its marker. A loser re-reads the lock
 *   and finds a live holder.
 * - A taker can die between its link and its rename. Its marker names it (it is a hard link to
 *   its lock file), so the next taker sees a dead holder there and goes one marker further:
 *   `LOG.lock.take-<key of (marker key, dead marker)>`, which again only one taker can create.
 *   The dead taker cannot act any more, and the path of markers for S is one path, so at most one
 *   live taker is ever past all the dead ones. Markers of S are never removed while `LOG.lock` is
 *   S; once it is not, no marker of S can lead to a rename any more (the re-read fails), so the
 *   winner removes the ones it walked, and every new holder sweeps what takers and writers that
 *   died left beside the log (markers, and temporary files of dead processes).
 * - Lock files and markers are read only when they are regular files: each is opened with
 *   `O_NOFOLLOW | O_NONBLOCK` and checked with `fstat` on the descriptor before a byte is read.
 *   A lock path that is a symlink, FIFO, socket, device or directory is no lock this protocol
 *   wrote: it is refused, named, never read, never taken over (a symlink to a key file must not
 *   be read into the log, and a FIFO must not hang the opener).
 * - A modification time in the future does not make an unreadable lock old: its age counts as 0.
 *
 * What is recorded of a lock taken over is its size, its age and, when it parsed, its holder's
 * pid, host and start: never its bytes. Its `since` is kept only when it is an ISO-8601 time of
 * at most 40 characters and its host only when it is at most 255 characters: whatever else a
 * lock file says there stays out of the log.
 *
 * One file under two names. The lock is found by the log's name, and a log can change names
 * while it is written (`mv log.jsonl moved.jsonl` for rotation, or `ln` then `rm`): a writer
 * opening the new name would find no lock there. So a holder, once it has its lock and the log
 * open, `claim`s the file: it rewrites its lock (a temporary file renamed over its own lock, so
 * the lock is never partial) with the log's device and inode, then lists the log's directory for
 * other `*.lock` files (read as any lock is, regular files only) and refuses, releasing its own
 * lock, when one names the same device and inode and a live holder on this host that is not
 * itself. Every holder writes its claim before it looks, so of two processes claiming one file
 * under two names at once at least one sees the other: both may refuse, never both win. A log
 * moved to another directory is not covered: only its own directory is listed.
 *
 * @internal
 */
import { createHash, randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import { hostname } from "node:os"
import { basename, dirname, join } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/** How long an unreadable lock file must stay untouched before it is taken over. */
export const GRACE_MILLIS = 10_000

/** Name parts of the files the lock protocol puts beside `LOG.lock`. */
export const TMP_INFIX = ".tmp-"
export const MARKER_INFIX = ".take-"
/** what an earlier version left when it died while moving a stale lock aside */
export const OLD_ASIDE_INFIX = ".stale-"

/** What a lock file says of its holder. */
export interface Holder {
  readonly pid: number
  readonly host: string
  readonly since: string
  readonly token: string
  /** the holder's start time (Linux: clock ticks after boot), to tell a reused pid */
  readonly start?: string | undefined
  /** the log file's device and inode, once the holder has claimed it (see `claim`) */
  readonly dev?: string | undefined
  readonly ino?: string | undefined
}

/** What a takeover records of a stale lock's holder: `since` and `host` only when bounded. */
export interface TakenHolder {
  readonly pid: number
  readonly host: string | undefined
  readonly since: string | undefined
  readonly start?: string | undefined
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/
/** A holder as a takeover may record it: no unbounded string a lock file held. */
const bounded = (h: Holder): TakenHolder => ({
  pid: h.pid,
  host: h.host.length <= 255 ? h.host : undefined,
  since: h.since.length <= 40 && ISO_8601.test(h.since) ? h.since : undefined,
  ...(h.start !== undefined && h.start.length <= 40 ? { start: h.start } : {})
})

/** A lock file as read: its identity and, when it parses, its holder. */
interface LockFile {
  readonly size: number
  readonly mtimeMs: number
  readonly holder: Holder | undefined
  /** inode, modification time, size and bytes: never the same for two lock files */
  readonly id: string
}

/**
 * A stale lock taken over when the log was opened: whether it parsed (`kind`), its size, its age,
 * and the holder it named. None of its bytes: whatever the file held stays out of the log.
 */
export interface Takeover {
  readonly kind: "stale" | "unreadable"
  readonly lock: string
  readonly bytes: number
  readonly ageMillis: number
  readonly holder: TakenHolder | undefined
}

/** What a path holds that is not a regular file. */
export type NotAFileKind = "symbolic link" | "FIFO" | "socket" | "device" | "directory" | "special file"

/** Why the lock could not be taken. */
export type Refusal =
  | { readonly _tag: "Live"; readonly holder: Holder }
  | { readonly _tag: "OtherHost"; readonly holder: Holder }
  | { readonly _tag: "Young"; readonly bytes: number; readonly ageMillis: number; readonly future: boolean }
  /** `path` (the lock or one of its markers) is not a regular file: never read, never taken over */
  | { readonly _tag: "NotAFile"; readonly path: string; readonly kind: NotAFileKind }
  | { readonly _tag: "Taking"; readonly holder: Holder | undefined; readonly marker: string }
  | { readonly _tag: "Unsettled" }
  /** the log file is held under another name: `lock` is that name's lock */
  | { readonly _tag: "Elsewhere"; readonly lock: string; readonly holder: TakenHolder }

// (Store turns both into LockHeld or StoreError with the whole story; these messages are for
// whoever meets one unmapped, so it never prints as "An error has occurred")
export class LockRefused extends Data.TaggedError("LockRefused")<{ readonly refusal: Refusal }> {
  override get message(): string {
    const r = this.refusal
    switch (r._tag) {
      case "Live":
        return `the lock is held by pid ${r.holder.pid} on ${r.holder.host}`
      case "OtherHost":
        return `the lock is held by pid ${r.holder.pid} on ${r.holder.host}, another host`
      case "Young":
        return `the lock file holds no readable lock (${r.bytes} bytes) and is too young to take over`
      case "NotAFile":
        return `${r.path} is a ${r.kind}, not a regular file`
      case "Taking":
        return `the lock is being taken over by ${r.holder === undefined ? "another process" : `pid ${r.holder.pid} on ${r.holder.host}`}`
      case "Unsettled":
        return "the lock kept changing hands"
      case "Elsewhere":
        return `the log is held under another name, by the lock ${r.lock}`
    }
  }
}
export class LockIo extends Data.TaggedError("LockIo")<{ readonly path: string; readonly operation: string; readonly reason: string }> {
  override get message(): string {
    return `${this.operation} ${this.path}: ${this.reason}`
  }
}

/** A failure in Node's own words (a platform error's description), for error reasons. */
export const describe = (e: unknown): string => {
  if (e !== null && typeof e === "object") {
    // a platform error's own description is Node's message (`EACCES: permission denied, …`)
    const d = (e as { description?: unknown }).description
    if (typeof d === "string" && d.length > 0) return d
    const m = (e as { message?: unknown }).message
    if (typeof m === "string") return m
  }
  return String(e)
}
const io = (operation: string, path: string) => (e: unknown) => new LockIo({ path, operation, reason: describe(e) })
const reasonOf = (e: unknown): string | undefined =>
  e !== null && typeof e === "object" && (e as { _tag?: unknown })._tag === "SystemError" ? String((e as { reason?: unknown }).reason) : undefined

const digest = (...parts: ReadonlyArray<string | Uint8Array>): string => {
  const h = createHash("sha256")
  for (const p of parts) h.update(p).update("\0")
  return h.digest("hex").slice(0, 32)
}

/** Waits on the real clock: lock files live in real time, whatever the fiber's Clock says. */
const pause = (millis: number) =>
  Effect.async<void>((resume) => {
    const t = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(t))
  })

// ---------------------------------------------------------------------------------------------
// Holders

let procFits: boolean | undefined
/** The start time of process `pid` from /proc (field 22 of its stat), where /proc is this process's. */
const startOf = (pid: number): string | undefined => {
  const read = (p: number | "self") => {
    try {
      const stat = nodeFs.readFileSync(`/proc/${p}/stat`, "latin1")
      // the command name (field 2) may hold spaces and parentheses: count after its last `)`
      return { pid: stat.slice(0, stat.indexOf(" ")), start: stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] }
    } catch {
      return undefined
    }
  }
  // a /proc of another pid namespace would name other processes
  procFits ??= read("self")?.pid === String(process.pid)
  return procFits ? read(pid)?.start : undefined
}

const parse = (bytes: Buffer): Holder | undefined => {
  let v: unknown
  try {
    v = JSON.parse(bytes.toString("utf8"))
  } catch {
    return undefined
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined
  const { dev, host, ino, pid, since, start, token } = v as Record<string, unknown>
  // pid 0 and negative pids name process groups to kill(): never a holder
  if (typeof pid !== "number" || !Number.isSafeInteger(pid) || pid <= 0) return undefined
  if (typeof host !== "string" || host.length === 0 || typeof since !== "string") return undefined
  const id = (x: unknown) => (typeof x === "string" || (typeof x === "number" && Number.isSafeInteger(x)) ? String(x) : undefined)
  const file = id(dev) !== undefined && id(ino) !== undefined ? { dev: id(dev), ino: id(ino) } : {}
  return { pid, host, since, token: typeof token === "string" ? token : "", ...(typeof start === "string" ? { start } : {}), ...file }
}

type Life = "alive" | "dead" | "other host"

const lifeOf = (h: Holder): Life => {
  if (h.host !== hostname()) return "other host"
  try {
    process.kill(h.pid, 0)
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return "dead"
  }
  if (h.start !== undefined) {
    const now = startOf(h.pid)
    if (now !== undefined && now !== h.start) return "dead"
  }
  return "alive"
}

// ---------------------------------------------------------------------------------------------
// Files

const MAX_READ = 64 * 1024

const kindOf = (st: nodeFs.Stats): NotAFileKind =>
  st.isSymbolicLink()
    ? "symbolic link"
    : st.isFIFO()
    ? "FIFO"
    : st.isSocket()
    ? "socket"
    : st.isCharacterDevice() || st.isBlockDevice()
    ? "device"
    : st.isDirectory()
    ? "directory"
    : "special file"

/**
 * Read a lock file (or marker) with its identity; undefined when there is none; a `NotAFile`
 * refusal when the path is anything but a regular file. The path is opened with `O_NOFOLLOW`
 * (a symlink fails with ELOOP instead of leading elsewhere) and `O_NONBLOCK` (a FIFO opens at once
 * instead of waiting for a writer), and the descriptor's own `fstat` decides before any read. The
 * calls are synchronous: a lock file is a few hundred bytes, and an asynchronous open of a FIFO
 * would hold a thread of the pool for ever.
 */
const readLockFile = (_fs: FileSystem.FileSystem, path: string): Effect.Effect<LockFile | undefined, LockIo | LockRefused> =>
  Effect.suspend((): Effect.Effect<LockFile | undefined, LockIo | LockRefused> => {
    const refuse = (kind: NotAFileKind) => Effect.fail(new LockRefused({ refusal: { _tag: "NotAFile", path, kind } }))
    const { O_NOFOLLOW, O_NONBLOCK, O_RDONLY } = nodeFs.constants
    let fd: number
    try {
      fd = nodeFs.openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === "ENOENT") return Effect.succeed(undefined)
      // ELOOP (Linux, macOS) or EMLINK (FreeBSD): a symlink; ENXIO: a socket; say what it is
      if (code === "ELOOP" || code === "EMLINK" || code === "ENXIO" || code === "EOPNOTSUPP") {
        let st: nodeFs.Stats | undefined
        try {
          st = nodeFs.lstatSync(path)
        } catch {
          st = undefined
        }
        if (st === undefined) return Effect.succeed(undefined)
        if (!st.isFile()) return refuse(kindOf(st))
      }
      return Effect.fail(io("read", path)(e))
    }
    try {
      const st = nodeFs.fstatSync(fd)
      if (!st.isFile()) return refuse(kindOf(st))
      const size = st.size
      const bytes = Buffer.alloc(Math.min(size, MAX_READ))
      let got = 0
      while (got < bytes.length) {
        const n = nodeFs.readSync(fd, bytes, got, bytes.length - got, got)
        if (n === 0) break
        got += n
      }
      const read = bytes.subarray(0, got)
      const mtimeMs = st.mtimeMs
      return Effect.succeed({ size, mtimeMs, holder: parse(read), id: digest(String(st.dev), String(st.ino), String(mtimeMs), String(size), read) })
    } catch (e) {
      return Effect.fail(io("read", path)(e))
    } finally {
      nodeFs.closeSync(fd)
    }
  })

/** `link(from, to)`: true when made, false when `to` exists. */
const link = (fs: FileSystem.FileSystem, from: string, to: string): Effect.Effect<boolean, LockIo> =>
  fs.link(from, to).pipe(
    Effect.as(true),
    Effect.catchAll((e) => (reasonOf(e) === "AlreadyExists" ? Effect.succeed(false) : Effect.fail(io("link", to)(e))))
  )

const forget = (fs: FileSystem.FileSystem, path: string) => Effect.ignore(fs.remove(path))

/** Write a holder's lock in full under its own name, with `mode` whatever the umask, and sync it. */
const writeLock = (fs: FileSystem.FileSystem, path: string, holder: Holder, mode: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const file = yield* fs.open(path, { flag: "wx", mode })
      yield* fs.chmod(path, mode)
      yield* file.writeAll(Buffer.from(JSON.stringify(holder) + "\n", "utf8"))
      yield* file.sync
    })
  ).pipe(Effect.mapError(io("write", path)))

// ---------------------------------------------------------------------------------------------
// Taking

/** How long ago the file was last written; 0 when its time is in the future (a clock set wrong, or a `touch`). */
const ageOf = (f: LockFile) => Math.max(0, Date.now() - f.mtimeMs)
/** The file's time is ahead of this clock. */
const future = (f: LockFile) => f.mtimeMs > Date.now()
/**
 * An unreadable file within the grace period: possibly still being written by some writer. A
 * time in the future never makes it old: it stays young until that time has passed.
 */
const young = (f: LockFile) => ageOf(f) < GRACE_MILLIS

type Judged = { readonly _tag: "Refuse"; readonly refusal: Refusal } | { readonly _tag: "Take"; readonly takeover: Takeover }

const judge = (lock: string, f: LockFile): Judged => {
  const takeover = (kind: Takeover["kind"]): Judged => ({
    _tag: "Take",
    takeover: { kind, lock, bytes: f.size, ageMillis: ageOf(f), holder: f.holder === undefined ? undefined : bounded(f.holder) }
  })
  if (f.holder === undefined) {
    return young(f) ? { _tag: "Refuse", refusal: { _tag: "Young", bytes: f.size, ageMillis: ageOf(f), future: future(f) } } : takeover("unreadable")
  }
  switch (lifeOf(f.holder)) {
    case "alive":
      return { _tag: "Refuse", refusal: { _tag: "Live", holder: f.holder } }
    case "other host":
      return { _tag: "Refuse", refusal: { _tag: "OtherHost", holder: f.holder } }
    case "dead":
      return takeover("stale")
  }
}

const MAX_DEPTH = 64

/**
 * Try to move the stale lock `stale` out of the way for ours (at `tmp`): "won" (ours is the
 * lock now), "lost" (the lock is not `stale` any more: look again), or a live taker at work.
 */
const takeOver = (
  fs: FileSystem.FileSystem,
  lock: string,
  tmp: string,
  stale: LockFile
): Effect.Effect<"won" | "lost" | { readonly holder: Holder | undefined; readonly marker: string }, LockIo | LockRefused> =>
  Effect.gen(function* () {
    const walked: Array<string> = []
    let key = digest("lock", stale.id)
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const marker = `${lock}${MARKER_INFIX}${key}`
      if (yield* link(fs, tmp, marker)) {
        const moved = Effect.gen(function* () {
          const now = yield* readLockFile(fs, lock)
          if (now === undefined || now.id !== stale.id) {
            // someone else moved it: this marker serves nobody
            yield* forget(fs, marker)
            return "lost" as const
          }
          yield* fs.rename(tmp, lock).pipe(Effect.mapError(io("rename", lock)))
          for (const m of walked) yield* forget(fs, m)
          yield* forget(fs, marker)
          return "won" as const
        })
        // a failure after the link: the marker names this live process and would hold off every
        // other taker until it exits
        return yield* Effect.tapError(moved, () => forget(fs, marker))
      }
      const held = yield* readLockFile(fs, marker)
      // removed meanwhile: that happens only once the lock has moved on
      if (held === undefined) return "lost"
      const dead = held.holder === undefined ? !young(held) : lifeOf(held.holder) === "dead"
      if (!dead) return { holder: held.holder, marker }
      // a taker died between its link and its rename: one marker further
      walked.push(marker)
      key = digest(key, held.id)
    }
    return yield* new LockIo({
      path: lock,
      operation: "take over",
      reason: `${MAX_DEPTH} takers of this lock died while taking it over; remove ${lock} and ${basename(lock)}${MARKER_INFIX}* beside it if no process is writing the log`
    })
  })

const ATTEMPTS = 200

/** Remove what takers and writers that died left beside the lock (the lock is ours). */
const sweep = (fs: FileSystem.FileSystem, lock: string) =>
  Effect.gen(function* () {
    const base = basename(lock)
    const dir = dirname(lock)
    for (const name of yield* fs.readDirectory(dir)) {
      if (!name.startsWith(base)) continue
      const rest = name.slice(base.length)
      const path = join(dir, name)
      if (rest.startsWith(MARKER_INFIX) || rest.startsWith(OLD_ASIDE_INFIX)) yield* forget(fs, path)
      else if (rest.startsWith(TMP_INFIX)) {
        // another taker's lock being written, or one that died writing it (what is not a regular
        // file is not ours to judge: left alone)
        const f = yield* Effect.orElseSucceed(readLockFile(fs, path), () => undefined)
        if (f !== undefined && (f.holder === undefined ? !young(f) : lifeOf(f.holder) === "dead")) yield* forget(fs, path)
      }
    }
  }).pipe(Effect.ignore)

/** Take the lock `lock`, or fail with why not; what was taken over, if anything. */
const take = (fs: FileSystem.FileSystem, lock: string, mode: number): Effect.Effect<{ readonly holder: Holder; readonly takeover: Takeover | undefined }, LockRefused | LockIo> =>
  Effect.gen(function* () {
    const token = `${process.pid}-${randomBytes(12).toString("hex")}`
    const start = startOf(process.pid)
    const mine: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token, ...(start === undefined ? {} : { start }) }
    const tmp = `${lock}${TMP_INFIX}${token}`
    const contend = Effect.gen(function* () {
      yield* writeLock(fs, tmp, mine, mode)
      let busy: { readonly holder: Holder | undefined; readonly marker: string } | undefined
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        if (yield* link(fs, tmp, lock)) return undefined
        const seen = yield* readLockFile(fs, lock)
        // released meanwhile
        if (seen === undefined) continue
        const judged = judge(lock, seen)
        if (judged._tag === "Refuse") return yield* new LockRefused({ refusal: judged.refusal })
        const outcome = yield* takeOver(fs, lock, tmp, seen)
        if (outcome === "won") return judged.takeover
        if (outcome !== "lost") {
          // a live taker between its link and its rename: a few milliseconds
          busy = outcome
          yield* pause(2 + Math.floor(Math.random() * 10))
        }
      }
      return yield* new LockRefused({ refusal: busy === undefined ? { _tag: "Unsettled" } : { _tag: "Taking", ...busy } })
    })
    // our temporary name goes whatever happens (after a rename it is gone already)
    const takeover = yield* Effect.ensuring(contend, forget(fs, tmp))
    yield* sweep(fs, lock)
    return { holder: mine, takeover }
  })

/** Release the lock if it is still ours. */
const release = (fs: FileSystem.FileSystem, lock: string, mine: Holder) =>
  Effect.flatMap(Effect.orElseSucceed(readLockFile(fs, lock), () => undefined), (f) =>
    f?.holder?.token === mine.token && f.holder.pid === mine.pid ? forget(fs, lock) : Effect.void
  )

/**
 * Hold the lock `lock` for the scope, or fail with why not. Taking it is uninterruptible (a lock
 * taken must be released), and bounded: a few seconds at most while other takers finish.
 */
export const acquire = (
  fs: FileSystem.FileSystem,
  lock: string,
  mode: number
): Effect.Effect<Held, LockRefused | LockIo, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(take(fs, lock, mode), (got) => release(fs, lock, got.holder)),
    (got) => ({ takeover: got.takeover, claim: (file: FileId) => claim(fs, lock, mode, got.holder, file) })
  )

/** A log file's identity: its device and inode. */
export interface FileId {
  readonly dev: string
  readonly ino: string
}

/** A lock held: what it took over, and `claim`, to record the log file it guards (see the top). */
export interface Held {
  readonly takeover: Takeover | undefined
  readonly claim: (file: FileId) => Effect.Effect<void, LockRefused | LockIo>
}

const LOCK_SUFFIX = ".lock"

/**
 * Record the log file's identity in our lock, then refuse (releasing the lock) if another lock in
 * its directory names the same file and a live holder on this host other than us: the log is
 * being written under another name.
 */
const claim = (fs: FileSystem.FileSystem, lock: string, mode: number, mine: Holder, file: FileId): Effect.Effect<void, LockRefused | LockIo> =>
  Effect.gen(function* () {
    const stamped: Holder = { ...mine, dev: file.dev, ino: file.ino }
    const tmp = `${lock}${TMP_INFIX}${mine.token}`
    yield* Effect.ensuring(
      Effect.gen(function* () {
        yield* writeLock(fs, tmp, stamped, mode)
        // only over our own lock: it is ours while we live (nobody takes over a live holder)
        const now = yield* readLockFile(fs, lock)
        if (now?.holder?.token !== mine.token) {
          return yield* new LockIo({ path: lock, operation: "claim", reason: `the lock file ${lock} no longer names this process (removed or replaced by hand while held)` })
        }
        yield* fs.rename(tmp, lock).pipe(Effect.mapError(io("rename", lock)))
      }),
      forget(fs, tmp)
    )
    const dir = dirname(lock)
    const names = yield* fs.readDirectory(dir).pipe(Effect.mapError(io("list", dir)))
    for (const name of names) {
      if (!name.endsWith(LOCK_SUFFIX) || name === basename(lock)) continue
      const other = join(dir, name)
      // what is not a regular file, or vanished, or unreadable, is no claim on this file
      const f = yield* Effect.orElseSucceed(readLockFile(fs, other), () => undefined)
      const h = f?.holder
      if (h === undefined || h.dev !== file.dev || h.ino !== file.ino || h.token === mine.token) continue
      if (lifeOf(h) !== "alive") continue
      yield* release(fs, lock, mine)
      return yield* new LockRefused({ refusal: { _tag: "Elsewhere", lock: other, holder: bounded(h) } })
    }
  })

/** The name of the first takeover marker of a lock file as it stands (for tests). */
export const firstMarker = (lock: string): Effect.Effect<string | undefined, LockIo | LockRefused, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.map(readLockFile(fs, lock), (f) => (f === undefined ? undefined : `${lock}${MARKER_INFIX}${digest("lock", f.id)}`))
  )

/** The name of the marker after a marker whose holder died (for tests). */
export const nextMarker = (lock: string, marker: string): Effect.Effect<string | undefined, LockIo | LockRefused, FileSystem.FileSystem> =>
  Effect.flatMap(FileSystem.FileSystem, (fs) =>
    Effect.map(readLockFile(fs, marker), (f) => (f === undefined ? undefined : `${lock}${MARKER_INFIX}${digest(marker.slice(marker.lastIndexOf(MARKER_INFIX) + MARKER_INFIX.length), f.id)}`))
  )
