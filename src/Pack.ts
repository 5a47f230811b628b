/**
 * Evidence packs (FORMAT A.4, A.5, B.3): a log's entries, verified, behind a `_meta` header that
 * claims the head and the count (signed with the log's key), with per-row `controls` for a
 * framework, a summary, and our whole-pack seal over everything the header signature does not
 * cover. Written to a temporary file, synced and renamed: a pack is complete or absent.
 *
 * The seal (B.3): `_meta.seal = {"alg": "hmac-sha256", "key_id": …, "digest": …, "sig": …}`.
 * `digest` is the SHA-256 (hex) of `"acttrace-seal/1\n"`, the canonical JSON of `_meta` without
 * `sig` and `seal`, `"\n"`, and the 32-byte SHA-256 of the rows' controls: for every row in order,
 * the canonical JSON of its `controls` (`null` when it has none) and `"\n"`. `sig` is the HMAC of
 * the `digest` text with the log's key.
 *
 * With a checkpoint key (Ed25519, `Signer.checkpoints`), `_meta.checkpoint` is a signed note whose
 * body is `<origin>\n<entries>\n<base64 Merkle root of every entry>\nhead <head_hash>\npack
 * <digest>\n`: the public-key form of the seal. The digest then leaves out `checkpoint` as well as
 * `sig` and `seal` (a pack without a checkpoint key is byte for byte what it was before).
 *
 * @since 0.1.0
 */
import { createHash, randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { basename, dirname, isAbsolute, join, resolve } from "node:path"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Canonical from "./Canonical.js"
import * as Controls from "./Controls.js"
import * as Chain from "./Chain.js"
import { sealDigest } from "./Hash.js"
import { linesOf } from "./internal/lines.js"
import * as Merkle from "./internal/merkle.js"
import { fileKind as fileKindOf, plainReason, verdictText } from "./internal/messages.js"
import type * as Signer from "./Signer.js"
import * as Store from "./Store.js"
import * as Verify from "./Verify.js"
import { realPath } from "./internal/realpath.js"

/**
 * @since 0.1.0
 * @category constants
 */
export const DISCLAIMER = "Evidence to support compliance — not legal advice."


/**
 * An export could not be made (the log does not verify, the target is the log or a file its
 * store owns, the mode is not permission bits, a write failed). No pack is left behind, and the
 * target is untouched. `path` is the target.
 *
 * @since 0.1.0
 * @category errors
 */
export class ExportError extends Schema.TaggedError<ExportError>()("ExportError", {
  path: Schema.String,
  reason: Schema.String
}) {
  // no tag in front: printed by Effect (`ExportError: …`) or the CLI (`error: …`), it would repeat
  override get message(): string {
    return `cannot export to ${this.path}: ${this.reason}`
  }
}

/**
 * The counts of a pack's `_meta.summary`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Summary {
  decisions: number
  llm_calls: number
  tool_calls: number
  context_assemblies: number
  human_oversight: number
  policy_flags: number
  flags_by_action: Record<string, number>
  flags_by_severity: Record<string, number>
}

/**
 * What an export wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface Exported {
  readonly path: string
  readonly entries: number
  readonly head: string
  readonly framework: Controls.Framework | null
  readonly controlsCovered: ReadonlyArray<string>
  readonly summary: Summary
  readonly signed: boolean
  /**
   * Entries the source no longer holds (a bounded memory store evicted them): the pack starts
   * after them, says so in `_meta.partial`, and a verifier reports the gap.
   */
  readonly missing: number
  /**
   * The pack's `_meta.checkpoint`: a signed note (FORMAT B.2–B.3) over all its entries, its head
   * and its seal digest, when the signer has a checkpoint key (and the pack is whole: a pack
   * missing its first entries carries none, having not the leaves of the log's tree).
   */
  readonly checkpoint: Option.Option<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** `null` or absent: no control annotations */
  readonly framework?: string | null | undefined
  readonly signer: Signer.SignerService
  /** used when the log has no `audit_open` to take them from */
  readonly system?: string | undefined
  readonly riskTier?: string | null | undefined
  /** entries evicted before the first one the source holds */
  readonly missing?: number | undefined
  /**
   * The path of the log file the bytes are read from, when they come from one (a memory log has
   * none). The pack is then never written over the log, its lock file, or any other file its
   * store keeps beside it, nor over a link to one of them (`ExportError`, see `checkTarget`); and
   * it takes the log file's mode unless `mode` is given.
   */
  readonly log?: string | undefined
  /**
   * The pack's permission bits, e.g. `0o640` for a group that audits. Default: the mode of the
   * `log` file, else `0o600` (a pack holds decisions about people). Applied exactly, whatever the
   * umask; the temporary file is created with it.
   */
  readonly mode?: number | undefined
}

const emptySummary = (): Summary => ({
  decisions: 0,
  llm_calls: 0,
  tool_calls: 0,
  context_assemblies: 0,
  human_oversight: 0,
  policy_flags: 0,
  flags_by_action: {},
  flags_by_severity: {}
})

const COUNTED: Record<string, keyof Omit<Summary, "flags_by_action" | "flags_by_severity">> = {
  decision: "decisions",
  llm_call: "llm_calls",
  tool_call: "tool_calls",
  context_assembly: "context_assemblies",
  human_oversight: "human_oversight",
  policy_flag: "policy_flags"
}

interface Row {
  readonly type: string
  readonly payload: Record<string, unknown>
  readonly seq: number
  readonly hash: string
}

const rowOf = (line: string): Row | undefined => {
  try {
    const v = JSON.parse(line) as { type?: unknown; payload?: unknown; seq?: unknown; hash?: unknown }
    if (typeof v.type !== "string" || v.payload === null || typeof v.payload !== "object" || typeof v.seq !== "number" || typeof v.hash !== "string") {
      return undefined
    }
    return { type: v.type, payload: v.payload as Record<string, unknown>, seq: v.seq, hash: v.hash }
  } catch {
    return undefined
  }
}

const encode = (v: unknown): string => Either.getOrThrow(Canonical.encode(v))

// ---------------------------------------------------------------------------------------------
// The target: never the log or a file its store owns

/**
 * Which of the files the file store keeps beside the log at `place` (a real path) `name` is, if
 * any: the store says which names it owns (`Store.ownedNames`); this says which one for messages.
 */
const ownedBy = (place: string, name: string): string | undefined => {
  if (!Store.ownedNames(place)(name)) return undefined
  const lock = basename(Store.lockPath(place))
  if (name === basename(place)) return "log"
  if (name === lock) return "the lock file"
  if (name.startsWith(`${lock}.`)) return "a lock marker"
  if (name.startsWith(`${basename(place)}.torn-`)) return "a repair quarantine file"
  return "a file the store keeps"
}

/**
 * Where a path leads for the purpose of naming: its real path when it exists; when it does not,
 * where its symlinks point (a dangling link to `LOG.lock` names the lock), else its parent's real
 * path and its own name.
 */
const nameOf = (fs: FileSystem.FileSystem, path: string): Effect.Effect<string> => {
  const go = (p: string, hops: number): Effect.Effect<string> =>
    realPath(p).pipe(
      Effect.orElse(() =>
        fs.readLink(p).pipe(
          Effect.flatMap((to) => (hops >= 40 ? Effect.succeed(resolve(p)) : go(isAbsolute(to) ? to : join(dirname(p), to), hops + 1))),
          Effect.orElse(() =>
            realPath(dirname(p)).pipe(
              Effect.map((d) => join(d, basename(p))),
              Effect.orElseSucceed(() => resolve(p))
            )
          )
        )
      )
    )
  return go(path, 0)
}

const identity = (info: FileSystem.File.Info): string | undefined =>
  Option.isSome(info.ino) ? `${info.dev}:${info.ino.value}` : undefined

/**
 * A file type in plain words, for messages (`Directory` → `a directory`).
 *
 * @since 0.1.0
 * @category errors
 */
export const fileKind: (type: FileSystem.File.Type) => string = fileKindOf

/** Where a pack for `out` is written: the file it names, or where its symlinks lead. */
interface Target {
  /** the file to replace or create (symlinks followed, in its real directory) */
  readonly path: string
  /** `out` in its real directory (its own name, not followed) */
  readonly named: string
  /** whether `out` is a symlink (so `path` is elsewhere) */
  readonly throughLink: boolean
}

/**
 * Resolve `out` (`nameOf`) and refuse what a pack must not replace: anything that exists and is
 * not a regular file. A rename over a device, FIFO or socket would swap the special file for a
 * regular one (as root, `--out /dev/null` would break /dev/null for the whole machine), and one
 * over a directory fails with a platform message; both are refused, naming what the target is.
 * A symlink is followed, so the link stays and the file it leads to is replaced; a link that
 * leads into no directory is refused.
 */
const resolveTarget = (fs: FileSystem.FileSystem, out: string): Effect.Effect<Target, ExportError> =>
  Effect.gen(function* () {
    const path = yield* nameOf(fs, out)
    const named = yield* realPath(dirname(out)).pipe(Effect.map((d) => join(d, basename(out))), Effect.orElseSucceed(() => resolve(out)))
    // `outdir/` names the directory itself
    const throughLink = path !== named && (yield* fs.readLink(out).pipe(Effect.isSuccess))
    const refuse = (what: string) =>
      new ExportError({
        path: out,
        reason: `${throughLink ? `${out} leads to ${path}, ${what}` : `${out} is ${what}`}; a pack is written to a regular file`
      })
    const info = yield* fs.stat(path).pipe(Effect.option)
    if (Option.isSome(info)) {
      if (info.value.type !== "File") return yield* refuse(fileKind(info.value.type))
    } else {
      // a link in a loop (stat fails, but the name exists)
      const self = yield* fs.readLink(path).pipe(Effect.option)
      if (Option.isSome(self)) return yield* refuse(fileKind("SymbolicLink"))
      if (throughLink) {
        const dir = yield* fs.stat(dirname(path)).pipe(Effect.option)
        if (Option.isNone(dir) || dir.value.type !== "Directory") {
          return yield* new ExportError({ path: out, reason: `${out} is a symbolic link to ${path}, in a directory that does not exist` })
        }
      }
    }
    return { path, named, throughLink }
  })

/**
 * Refuse a target that is the log at `log`, its lock file, or any other file its store keeps
 * beside it (lock markers, quarantine files), or a symbolic or hard link to one of them: writing a
 * pack there would replace the live log (a running writer would go on appending to the unlinked
 * file, and those entries would be lost) or block it. Files are compared by device and inode
 * (symlinks followed); a name that does not exist yet by where it leads, after resolving symlinked
 * directories, `.` and `..`, against the names the store uses beside the log.
 *
 * The log may be known under other names (a hard link, a symlink): a target named like a file
 * the store of a log `X` keeps (`X.lock`, `X.lock.tmp-*`, `X.lock.take-*`, `X.lock.stale-*`,
 * `X.torn-*`) is refused when `X` exists in the target's real directory and is the same file as
 * the log (device and inode): whichever name a writer opened the log by, its lock is not
 * replaced.
 *
 * The target must also be a regular file or not exist: a device, FIFO, socket or directory is
 * refused, naming what it is. A symlink is followed: the pack replaces (or creates) the file it
 * leads to, the link is kept; a symlink leading into a directory that does not exist is refused.
 *
 * @since 0.1.0
 * @category export
 */
export const checkTarget = (log: string, out: string): Effect.Effect<void, ExportError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const resolved = yield* resolveTarget(fs, out)
    const refuse = (what: string, link: boolean) =>
      new ExportError({
        path: out,
        reason: `${out} is ${link ? "a link to " : ""}${what === "log" ? `the log ${log}${link ? "" : " itself"}` : `${what} of the log ${log}`}; write the pack somewhere else`
      })
    // the log's names: beside the path as given (where the store puts its lock) and beside the
    // file it leads to, when it is a symlink
    const realDir = (p: string) => realPath(dirname(p)).pipe(Effect.map((d) => join(d, basename(p))), Effect.orElseSucceed(() => resolve(p)))
    const places = new Set<string>([yield* realDir(log)])
    const real = yield* realPath(log).pipe(Effect.option)
    if (Option.isSome(real)) places.add(real.value)
    // 1. by name (where the target leads, through symlinks to files that may not exist yet)
    const target = resolved.path
    const throughLink = target !== (yield* realDir(out))
    for (const place of places) {
      const what = dirname(target) === dirname(place) ? ownedBy(place, basename(target)) : undefined
      if (what !== undefined) return yield* refuse(what, throughLink)
    }
    // 2. by shape: a name the store of some file `X` beside it would own (its lock, the lock's
    // temporaries and markers, its quarantine files), for the target's own name and where it
    // leads. Whether `X` is this log under another name or another live log, a pack written there
    // would stand in for its lock, be judged garbage after the grace period, and let a second
    // writer in; so any existing regular file `X` is enough.
    const logInfo = yield* fs.stat(log).pipe(Effect.option)
    const logId = Option.isSome(logInfo) ? identity(logInfo.value) : undefined
    for (const candidate of new Set([resolved.named, target])) {
      const dir = dirname(candidate)
      const name = basename(candidate)
      for (let i = 1; i < name.length; i++) {
        const x = join(dir, name.slice(0, i))
        if (!Store.ownedNames(x)(name)) continue
        const other = yield* fs.stat(x).pipe(Effect.option)
        if (Option.isNone(other) || other.value.type !== "File") continue
        const same = logId !== undefined && identity(other.value) === logId
        return yield* new ExportError({
          path: out,
          reason: same
            ? `${out} is ${ownedBy(x, name)} of ${x}, which is the log ${log} under another name (the same file); write the pack somewhere else`
            : `${out} is ${ownedBy(x, name)} of ${x} (a pack there would stand in for that log's own file); write the pack somewhere else`
        })
      }
    }
    // 3. by device and inode: links to the log or its files, wherever they are
    const info = yield* fs.stat(out).pipe(Effect.option)
    if (Option.isNone(info)) return
    const mine = identity(info.value)
    if (mine === undefined) return
    for (const place of places) {
      const names = yield* fs.readDirectory(dirname(place)).pipe(Effect.orElseSucceed((): Array<string> => []))
      for (const name of names) {
        const what = ownedBy(place, name)
        if (what === undefined) continue
        const other = yield* fs.stat(join(dirname(place), name)).pipe(Effect.option)
        if (Option.isSome(other) && identity(other.value) === mine) return yield* refuse(what, true)
      }
    }
  })

// ---------------------------------------------------------------------------------------------
// Temporaries

/**
 * A pack is written to `PACK.tmp-<pid>-<host>-<random>` beside it and renamed into place. `<host>`
 * is a digest of the host name, so that a temporary can be judged by its pid only on the host
 * that wrote it (a shared directory may hold other hosts' exports).
 */
const HOST = createHash("sha256").update(hostname()).digest("hex").slice(0, 8)

const tempName = (out: string): string => `${out}.tmp-${process.pid}-${HOST}-${randomBytes(6).toString("hex")}`

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * A temporary that no export is writing any more is removed by the next export to the same
 * target: one whose process is gone (same host), or one not written for this long (any host; a
 * live export writes its temporary at least every MiB, so an hour of silence is no live export).
 */
const STALE_AFTER_MILLIS = 60 * 60 * 1000

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Remove the stale temporaries of earlier exports to `out` (see `STALE_AFTER_MILLIS`). */
const removeStaleTemps = (fs: FileSystem.FileSystem, out: string): Effect.Effect<void> =>
  Effect.gen(function* () {
    const dir = dirname(out)
    const pattern = new RegExp(`^${escapeRegExp(basename(out))}\\.tmp-(\\d+)-([0-9a-f]{8})-[0-9a-f]{12}$`)
    const names = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed((): Array<string> => []))
    for (const name of names) {
      const m = pattern.exec(name)
      if (m === null) continue
      const path = join(dir, name)
      const pid = Number(m[1])
      const gone = m[2] === HOST && pid !== process.pid && !alive(pid)
      const info = yield* fs.stat(path).pipe(Effect.option)
      if (Option.isNone(info) || info.value.type !== "File") continue
      const written = Option.getOrUndefined(info.value.mtime)?.getTime() ?? Date.now()
      if (gone || Date.now() - written > STALE_AFTER_MILLIS) yield* Effect.ignore(fs.remove(path))
    }
  })

/**
 * Write the pack of a log to `out`. `bytes` gives the log's bytes (it is read three times: to
 * verify it, to learn the header, to write the rows), `source` names it in messages. When the
 * bytes are a log file's, give its path as `options.log`: the target is then checked against the
 * log and its store's files (`checkTarget`) before anything is read, and the pack takes the log's
 * mode. The pack is written to a temporary file beside `out` (created with the pack's mode),
 * synced and renamed into place; a failed or interrupted export removes its temporary, and an
 * export removes the temporaries earlier exports to `out` left behind when they were killed.
 *
 * @since 0.1.0
 * @category export
 */
export const write = (
  bytes: Effect.Effect<Stream.Stream<Uint8Array, Store.StoreError>>,
  source: string,
  out: string,
  options: Options
): Effect.Effect<Exported, ExportError | Controls.UnknownFramework | Store.StoreError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const fw = options.framework ?? null
    if (fw !== null && !Controls.isFramework(fw)) return yield* new Controls.UnknownFramework({ framework: fw })
    const framework: Controls.Framework | null = fw
    const signer = options.signer
    const missing = options.missing ?? 0
    const mode = options.mode
    if (mode !== undefined && !(Number.isInteger(mode) && mode >= 0 && mode <= 0o777)) {
      return yield* new ExportError({ path: out, reason: `mode ${String(mode)} is not permission bits (0 to 0o777)` })
    }
    if (options.log !== undefined) yield* checkTarget(options.log, out)
    // where the pack goes: `out`, or the file its symlinks lead to (the link is kept)
    const dest = (yield* resolveTarget(fs, out)).path

    // 1. the log must verify (with the signer's key when it has one) before it is vouched for
    // (a bounded memory log starts after its evicted entries: verified from its first one on)
    // with a checkpoint key, the log's own checkpoints are checked too: a note of ours never
    // vouches for a history they contradict (Chain.trustedKeys)
    const publicKeys = missing > 0 || Option.isNone(signer.checkpoints)
      ? undefined
      : yield* Effect.flatMap(bytes, (b) => Chain.trustedKeys(b, signer.checkpoints))
    const report = yield* Effect.flatMap(bytes, (b) => Verify.stream(b, { key: Option.getOrUndefined(signer.key), startMidChain: missing > 0, publicKeys })).pipe(
      Effect.catchAll((e): Effect.Effect<Verify.Report, ExportError | Store.StoreError> => {
        if (e._tag === "StoreError") return Effect.fail(e)
        return Effect.fail(new ExportError({ path: out, reason: `the log ${source} does not verify: ${verdictText(e)}` }))
      })
    )

    // 2. the header: counts, controls and the seal's digest of every row's controls
    const summary = emptySummary()
    const covered = new Set<string>()
    const rowsDigest = createHash("sha256")
    let auditOpen: Record<string, unknown> | undefined
    let entries = 0
    let firstSeq = -1
    let head = ""
    // the Merkle tree of the pack's entries, for its checkpoint note (hashes added in batches),
    // and the log's checkpoint key (its audit_open's, replaced by each key_rotation's)
    const cpKey = missing > 0 ? undefined : Option.getOrUndefined(signer.checkpoints)
    let tree = Merkle.empty
    let hashes: Array<string> = []
    let logKey: string | undefined
    // the origin the log's first checkpoint names (the log's when its audit_open states none)
    let logOrigin: string | undefined
    // the previous key of a last key_rotation no checkpoint follows (a crash between the two)
    let unconfirmed: string | undefined
    yield* Effect.flatMap(bytes, (b) =>
      linesOf(b).pipe(
        Stream.runForEach((line) =>
          Effect.suspend(() => {
            const row = rowOf(line)
            if (row === undefined) return Effect.fail(new ExportError({ path: out, reason: `the log ${source} holds a line that is not an entry` }))
            if (entries === 0) {
              firstSeq = row.seq
              if (row.type === "audit_open") auditOpen = row.payload
            }
            entries++
            head = row.hash
            if (cpKey !== undefined) {
              hashes.push(row.hash)
              if (hashes.length >= 1024) {
                tree = Merkle.appendHexHashes(tree, hashes)
                hashes = []
              }
              if (entries === 1 && row.type === "audit_open") {
                const declared = (row.payload["checkpoints"] as { key?: unknown } | null | undefined)?.key
                if (typeof declared === "string") logKey = declared
              } else if (row.type === "key_rotation" && typeof row.payload["key"] === "string") {
                logKey = row.payload["key"]
                const previous = row.payload["previous"]
                unconfirmed = typeof previous === "string" ? previous : undefined
              } else if (row.type === "checkpoint") {
                unconfirmed = undefined
                logOrigin ??= Chain.noteOrigin(row.payload)
              }
            }
            const counted = COUNTED[row.type]
            if (counted !== undefined) summary[counted]++
            if (row.type === "policy_flag") {
              const action = String(row.payload["action"] ?? "").toLowerCase()
              const severity = String(row.payload["severity"] ?? "").toLowerCase()
              summary.flags_by_action[action] = (summary.flags_by_action[action] ?? 0) + 1
              summary.flags_by_severity[severity] = (summary.flags_by_severity[severity] ?? 0) + 1
            }
            const controls = framework === null ? null : Controls.forRow(framework, row.type, row.payload)
            if (controls !== null) for (const c of controls) covered.add(c)
            rowsDigest.update(encode(controls) + "\n")
            return Effect.void
          })
        )
      )
    )
    if (report.entries !== entries || report.head !== head) {
      return yield* new ExportError({ path: out, reason: `the log ${source} changed while it was exported` })
    }
    const system = typeof auditOpen?.["system"] === "string" ? (auditOpen["system"] as string) : options.system ?? ""
    const riskTier = auditOpen !== undefined && "risk_tier" in auditOpen ? (auditOpen["risk_tier"] as string | null) : options.riskTier ?? null
    const controlsCovered = [...covered].sort(Canonical.compareKeys)
    const meta: Record<string, unknown> = {
      system,
      risk_tier: riskTier,
      framework,
      controls_covered: controlsCovered,
      summary,
      head_hash: head === "" ? "0".repeat(64) : head,
      entries
    }
    if (missing > 0) meta["partial"] = { evicted: missing, first_seq: firstSeq }
    meta["disclaimer"] = DISCLAIMER
    const signed = Option.isSome(signer.identity)
    // the seal digest (B.3) over `_meta` as it stands: without `sig`, `seal` and `checkpoint`
    const digest = signed || cpKey !== undefined ? sealDigest(encode(meta), rowsDigest.digest()) : ""
    if (signed) {
      const keyId = Option.getOrThrow(signer.identity).keyId
      meta["sig"] = signer.signText(encode({ entries, head_hash: meta["head_hash"], risk_tier: riskTier, system }))
      meta["seal"] = { alg: "hmac-sha256", key_id: keyId, digest, sig: signer.signText(digest) }
    }
    let checkpoint: Option.Option<string> = Option.none()
    if (cpKey !== undefined) {
      // a note under another key than the log's would not verify where the log's checkpoints do
      if (logKey !== undefined && logKey !== cpKey.verifierKey) {
        return yield* new ExportError({
          path: out,
          reason: `the log ${source} signs its checkpoints with the key ${logKey}, not ${cpKey.verifierKey}: export it with that key`
        })
      }
      // until a checkpoint under the previous key confirms the rotation, nothing trusts the new
      // key: a note under it would not verify (the chain confirms it when the log is next opened)
      if (unconfirmed !== undefined) {
        return yield* new ExportError({
          path: out,
          reason: `the log ${source} rotated its checkpoint key to ${logKey} but no checkpoint under ${unconfirmed} follows, so the rotation is not confirmed: open the log once with that key as the previous one, then export it`
        })
      }
      tree = Merkle.appendHexHashes(tree, hashes)
      hashes = []
      // the log's origin when it states one: a note under another would name another log
      const stated = Chain.statedOrigin(Option.fromNullable(auditOpen), logOrigin)
      const override = Option.getOrUndefined(cpKey.origin)
      if (stated !== undefined && override !== undefined && override !== stated) {
        return yield* new ExportError({
          path: out,
          reason: `the log ${source} names its checkpoints' origin ${JSON.stringify(stated)}, not ${JSON.stringify(override)}: export it without the origin override (or with that origin)`
        })
      }
      const origin = Chain.checkpointOrigin(Option.fromNullable(auditOpen), signer.checkpoints, logOrigin)
      const note = cpKey.signNote(Chain.checkpointBody(origin, entries, Merkle.rootOf(tree), meta["head_hash"] as string, [`pack ${digest}`]))
      meta["checkpoint"] = note
      checkpoint = Option.some(note)
    }

    // 3. the pack, written beside its target and renamed into place, with its mode from the
    // start: a log file's (a pack holds what the log holds), else private
    const permissions =
      mode ??
      (options.log === undefined ? undefined : Option.getOrUndefined(Option.map(yield* Effect.option(fs.stat(options.log)), (i) => i.mode & 0o666))) ??
      0o600
    yield* removeStaleTemps(fs, dest)
    const tmp = tempName(dest)
    // (what went wrong, not the temporary's name: the message names the target)
    const fail = (e: unknown) => new ExportError({ path: out, reason: plainReason(e) })
    const written = Effect.scoped(
      Effect.gen(function* () {
        // created with the pack's mode (the umask can only take bits away: set exactly next,
        // before a byte is written)
        const file = yield* fs.open(tmp, { flag: "wx", mode: permissions }).pipe(Effect.mapError(fail))
        yield* fs.chmod(tmp, permissions).pipe(Effect.mapError(fail))
        let pending: Array<string> = [JSON.stringify({ _meta: meta })]
        let size = 0
        const flush = Effect.suspend(() => {
          const chunk = Buffer.from(pending.join("\n") + "\n", "utf8")
          pending = []
          size = 0
          return file.writeAll(chunk).pipe(Effect.mapError(fail))
        })
        yield* Effect.flatMap(bytes, (b) =>
          linesOf(b).pipe(
            Stream.runForEach((line) =>
              Effect.suspend(() => {
                let row = line
                if (framework !== null) {
                  const r = rowOf(line)!
                  const cut = line.lastIndexOf("}")
                  row = `${line.slice(0, cut)},"controls":${encode(Controls.forRow(framework, r.type, r.payload))}}`
                }
                pending.push(row)
                size += row.length
                return size >= 1 << 20 ? flush : Effect.void
              })
            )
          )
        )
        if (pending.length > 0) yield* flush
        yield* file.sync.pipe(Effect.mapError(fail))
      })
    )
    // a failed or interrupted export leaves no temporary behind
    // (checked again just before the rename: a special file put there meanwhile is not replaced)
    const place = Effect.zipRight(resolveTarget(fs, out), fs.rename(tmp, dest).pipe(Effect.mapError(fail)))
    yield* Effect.zipRight(written, place).pipe(
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(fs.remove(tmp))))
    )
    yield* Effect.scoped(Effect.flatMap(fs.open(dirname(dest), { flag: "r" }), (d) => d.sync)).pipe(Effect.ignore)
    return { path: out, entries, head: meta["head_hash"] as string, framework, controlsCovered, summary, signed, missing, checkpoint }
  })
