/**
 * Export hardening (issue 11, items 1, 9 and 14): a pack never lands on the live log or a file its
 * store owns; packs are private by default; an interrupted export's temporary is cleaned up by
 * the next export to the same target, never one of a live export.
 */
import { spawn, spawnSync } from "node:child_process"
import {
  appendFileSync,
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  watch,
  writeFileSync
} from "node:fs"
import { createServer } from "node:net"
import { basename, dirname, join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as F from "../src/internal/fixtures.js"
import * as Pack from "../src/Pack.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { BIN, cli, tempDir, verifyFile } from "./helpers.js"

const KEY = "export-hardening-key"
const key = Redacted.make(KEY)
const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
/** A fresh directory for one test. */
const freshDir = (): string => {
  const d = join(tmp.dir, `case-${++counter}`)
  mkdirSync(d)
  return d
}

/** The audit log over a file store at `path` (real lock, real fsync), signed with KEY. */
const fileLog = (path: string) =>
  AuditLog.layer({ system: "export-hardening", riskTier: "high" }).pipe(
    Layer.provideMerge(Store.layerFile(path)),
    Layer.provide(Signer.layerHmac(key)),
    Layer.provide(Redactor.layerDefault),
    Layer.provideMerge(NodeFileSystem.layer)
  )

const memoryLog = AuditLog.layer({ system: "export-hardening", riskTier: "high" }).pipe(
  Layer.provideMerge(Store.layerMemory()),
  Layer.provide(Signer.layerHmac(key)),
  Layer.provide(Redactor.layerDefault),
  Layer.provideMerge(NodeFileSystem.layer)
)

/** Write a small signed log at `path` with the real writer, and close it. */
const writeLog = (path: string): Promise<void> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const l = yield* AuditLog.AuditLog
      yield* l.withDecision({ input: { application: 7 }, actor: "agent" }, (d) => d.record({ ok: true }))
    }).pipe(Effect.provide(fileLog(path)), Effect.scoped)
  )

/** Run `f` while this process holds the log at `path` open (its lock file exists). */
const whileOpen = <A>(path: string, f: (log: AuditLog.AuditLogService) => Effect.Effect<A, unknown, FileSystem.FileSystem>): Promise<A> =>
  Effect.runPromise(
    Effect.flatMap(AuditLog.AuditLog, f).pipe(Effect.provide(fileLog(path)), Effect.scoped, Effect.provide(NodeFileSystem.layer)) as Effect.Effect<A>
  )

const exportCli = (log: string, out: string, ...more: Array<string>) => cli(["export", log, "--out", out, "--key", KEY, ...more])

const modeOf = (p: string): number => statSync(p).mode & 0o777
const octal = (m: number): string => m.toString(8).padStart(4, "0")

// ---------------------------------------------------------------------------------------------
// Item 1: --out naming the log or a file its store owns

interface TargetCase {
  readonly name: string
  /** whether a writer holds the log (its lock file exists) while the export is tried */
  readonly held: boolean
  /** where the pack is asked to go; may create links or files */
  readonly target: (dir: string, log: string) => string
}

const targetCases: ReadonlyArray<TargetCase> = [
  { name: "the log's own path", held: true, target: (_, log) => log },
  { name: "the log's path with ./ in it", held: true, target: (dir) => `${dir}/./audit.jsonl` },
  { name: "the log's path through ../", held: true, target: (dir) => `${dir}/../${basename(dir)}/audit.jsonl` },
  {
    name: "the log through a symlinked directory",
    held: true,
    target: (dir) => {
      const alias = `${dir}-alias`
      symlinkSync(dir, alias)
      return join(alias, "audit.jsonl")
    }
  },
  {
    name: "a symlink to the log",
    held: true,
    target: (dir, log) => {
      symlinkSync(log, join(dir, "link.jsonl"))
      return join(dir, "link.jsonl")
    }
  },
  {
    name: "a hard link to the log",
    held: true,
    target: (dir, log) => {
      linkSync(log, join(dir, "hard.jsonl"))
      return join(dir, "hard.jsonl")
    }
  },
  {
    name: "a hard link to the log in another directory",
    held: true,
    target: (dir, log) => {
      mkdirSync(join(dir, "elsewhere"))
      linkSync(log, join(dir, "elsewhere", "copy.jsonl"))
      return join(dir, "elsewhere", "copy.jsonl")
    }
  },
  {
    name: "a symlink to the lock file",
    held: true,
    target: (dir, log) => {
      symlinkSync(Store.lockPath(log), join(dir, "lock-link"))
      return join(dir, "lock-link")
    }
  },
  {
    name: "a hard link to the lock file",
    held: true,
    target: (dir, log) => {
      linkSync(Store.lockPath(log), join(dir, "lock-hard"))
      return join(dir, "lock-hard")
    }
  },
  { name: "the lock path itself while no lock exists", held: false, target: (_, log) => Store.lockPath(log) },
  {
    name: "a dangling symlink to the lock path",
    held: false,
    target: (dir, log) => {
      symlinkSync(Store.lockPath(log), join(dir, "dangling"))
      return join(dir, "dangling")
    }
  },
  { name: "a lock takeover marker's name (LOG.lock.take-*)", held: false, target: (_, log) => `${Store.lockPath(log)}.take-0123abcd` },
  { name: "an old lock marker's name (LOG.lock.stale-*)", held: false, target: (_, log) => `${Store.lockPath(log)}.stale-4242-0123` },
  {
    name: "a quarantine file written by repair",
    held: true,
    target: (_, log) => {
      // the file repair wrote (see the setup of this case below)
      const q = readdirSync(join(log, "..")).find((n) => n.startsWith("audit.jsonl.torn-"))
      expect(q).toBeDefined()
      return join(log, "..", q!)
    }
  },
  { name: "a quarantine name not written yet", held: false, target: (_, log) => `${log}.torn-2099-01-01T00-00-00-000Z` }
]

describe("export: --out naming the live log or a file its store owns is refused", () => {
  it.each(targetCases)("$name", async (c) => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    if (c.name.startsWith("a quarantine file")) {
      // a real quarantine file: a torn tail moved aside by `acttrace repair`
      appendFileSync(log, '{"seq":9,"ts":"')
      const r = cli(["repair", log])
      expect(r.code).toBe(0)
    }
    const before = readFileSync(log)
    const listed = () => readdirSync(dir).filter((n) => n.includes(".tmp-") || n.includes("_meta"))

    const attempt = async () => {
      const target = c.target(dir, log)
      const targetBefore = existsSync(target) ? readFileSync(target) : undefined
      // the CLI: a usage error (exit 2) naming the log, and nothing written
      const r = exportCli(log, target)
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/^error: .*audit\.jsonl.*\n/)
      expect(r.stderr).toMatch(/usage: acttrace export/)
      expect(r.stdout).toBe("")
      // the library: a typed error, and nothing written
      return { target, targetBefore }
    }

    if (c.held) {
      await whileOpen(log, (l) =>
        Effect.gen(function* () {
          const { target, targetBefore } = yield* Effect.promise(attempt)
          const lib = yield* Effect.either(l.export(target, { framework: "gdpr" }))
          expect(Either.isLeft(lib) && lib.left._tag).toBe("ExportError")
          expect(Either.isLeft(lib) && lib.left.message).toMatch(/audit\.jsonl/)
          expect(existsSync(target) ? readFileSync(target) : undefined).toEqual(targetBefore)
          expect(existsSync(Store.lockPath(log))).toBe(true)
        })
      )
    } else {
      const { target, targetBefore } = await attempt()
      // the Pack-level export, given the log's path
      const lib = await Effect.runPromise(
        Effect.gen(function* () {
          const bytes = yield* Store.readLog(log)
          return yield* Effect.either(Pack.write(bytes, log, target, { signer: yield* Signer.makeHmac(key), log }))
        }).pipe(Effect.provide(NodeFileSystem.layer))
      )
      expect(Either.isLeft(lib) && lib.left._tag).toBe("ExportError")
      expect(existsSync(target) ? readFileSync(target) : undefined).toEqual(targetBefore)
      expect(existsSync(Store.lockPath(log))).toBe(false)
    }
    expect(readFileSync(log)).toEqual(before)
    expect(listed()).toEqual([])
  })

  it("a target in another directory, or beside the log under another name, is fine", async () => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    mkdirSync(join(dir, "packs"))
    await whileOpen(log, (l) =>
      Effect.gen(function* () {
        for (const target of [join(dir, "packs", "audit.jsonl"), join(dir, "audit.pack.jsonl")]) {
          const r = exportCli(log, target)
          expect(r.code, r.stderr).toBe(0)
          const v = yield* Effect.promise(() => verifyFile(target, { key }))
          expect(Either.isRight(v.result)).toBe(true)
          const again = yield* l.export(target, { framework: "gdpr" })
          expect(again.entries).toBeGreaterThan(0)
        }
      })
    )
  })
})

describe("export: .. after a symlinked directory goes where the shell goes", () => {
  // `dl/../packs/p.jsonl`, with `dl` a symlink to `<dir>/deep/down`, is `<dir>/deep/packs/p.jsonl`
  // to the shell and to open(2); resolving `..` in the text first would make it `./packs/p.jsonl`
  it("writes the pack there, and refuses the log's lock named that way", async () => {
    const dir = freshDir()
    const log = join(dir, "deep", "audit.jsonl")
    mkdirSync(join(dir, "deep", "down"), { recursive: true })
    mkdirSync(join(dir, "deep", "packs"))
    mkdirSync(join(dir, "links", "packs"), { recursive: true })
    symlinkSync(join(dir, "deep", "down"), join(dir, "links", "dl"))
    await writeLog(log)
    // (spelled by hand: path.join would fold the .. away in the text)
    const viaLink = `${join(dir, "links", "dl")}/../packs/p.jsonl`
    const r = exportCli(log, viaLink)
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(dir, "deep", "packs", "p.jsonl"))).toBe(true)
    expect(existsSync(join(dir, "links", "packs", "p.jsonl"))).toBe(false)
    // the log's lock spelled through the link and ..
    await whileOpen(log, () =>
      Effect.sync(() => {
        const lock = `${join(dir, "links", "dl")}/../audit.jsonl.lock`
        const refused = exportCli(log, lock)
        expect(refused.code, refused.stderr).toBe(2)
        expect(existsSync(join(dir, "links", "audit.jsonl.lock"))).toBe(false)
      })
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Item 9: the pack's mode

/** The CLI under `umask 000`, so that only acttrace decides a file's mode. */
const cliUmask0 = (args: ReadonlyArray<string>) => {
  const r = spawnSync("sh", ["-c", 'umask 000; exec "$0" "$@"', process.execPath, BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ACTTRACE_KEY: "" }
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("export: a pack's mode", () => {
  it("is the log file's mode, or --mode, under a permissive umask", async () => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    chmodSync(log, 0o600)
    const a = join(dir, "a.pack.jsonl")
    expect(cliUmask0(["export", log, "--out", a, "--key", KEY]).code).toBe(0)
    expect(octal(modeOf(a))).toBe("0600")
    chmodSync(log, 0o640)
    const b = join(dir, "b.pack.jsonl")
    expect(cliUmask0(["export", log, "--out", b, "--key", KEY]).code).toBe(0)
    expect(octal(modeOf(b))).toBe("0640")
    // --mode wins, both ways, and over an existing pack's mode
    chmodSync(log, 0o600)
    const r = cliUmask0(["export", log, "--out", b, "--key", KEY, "--mode", "644"])
    expect(r.code, r.stderr).toBe(0)
    expect(octal(modeOf(b))).toBe("0644")
    expect(cliUmask0(["export", log, "--out", b, "--key", KEY, "--mode", "0600"]).code).toBe(0)
    expect(octal(modeOf(b))).toBe("0600")
    for (const bad of ["8", "abc", "1777", "-1", "7777"]) {
      const x = cliUmask0(["export", log, "--out", join(dir, "never.jsonl"), "--key", KEY, "--mode", bad])
      expect(x.code, bad).toBe(2)
      expect(x.stderr).toMatch(/^error: --mode/)
    }
    expect(existsSync(join(dir, "never.jsonl"))).toBe(false)
  })

  it.effect("is 0600 for a memory log's pack, or the mode option", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      const l = yield* AuditLog.AuditLog
      yield* l.append("decision_record", { x: 1 })
      const p = join(dir, "m.pack.jsonl")
      writeFileSync(p, "an old pack")
      chmodSync(p, 0o644)
      yield* l.export(p)
      expect(octal(modeOf(p))).toBe("0600")
      yield* l.export(p, { mode: 0o640 })
      expect(octal(modeOf(p))).toBe("0640")
      const bad = yield* Effect.either(l.export(join(dir, "never.jsonl"), { mode: 0o1777 }))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("ExportError")
      expect(existsSync(join(dir, "never.jsonl"))).toBe(false)
    }).pipe(Effect.provide(memoryLog))
  )

  it("is a file log's mode through AuditLog.export", async () => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    chmodSync(log, 0o640)
    const p = join(dir, "f.pack.jsonl")
    await whileOpen(log, (l) => l.export(p))
    expect(octal(modeOf(p))).toBe("0640")
  })
})

// ---------------------------------------------------------------------------------------------
// Item 14: temporaries of an interrupted export

/**
 * A signed log big enough (about 10 MB) that an export of it can be caught midway (its temporary
 * is seen the moment it holds bytes; about ten more 1 MB writes and a sync follow): made once,
 * copied for each test that needs one.
 */
let bigTemplate: string | undefined
const bigLog = (path: string): void => {
  if (bigTemplate === undefined) {
    bigTemplate = join(tmp.dir, "big-template.jsonl")
    const specs = [F.mixed(1)[0]!, ...Array.from({ length: 16_000 }, (_, i) => F.llmCall(i))]
    writeFileSync(bigTemplate, F.chain(specs, { key: KEY }).lines.join("\n") + "\n")
  }
  copyFileSync(bigTemplate, path)
}

/**
 * The temporary of an export to `out` once it holds some bytes: told by the file system's events
 * on its directory (inotify), not found by polling. Fails if `done` settles first (the export
 * ended without being seen midway).
 */
const tempWithBytes = (out: string, done: Promise<unknown>): Promise<string> =>
  new Promise((ok, fail) => {
    const dir = dirname(out)
    const prefix = `${basename(out)}.tmp-`
    let settled = false
    const finish = (f: () => void) => {
      if (settled) return
      settled = true
      watcher.close()
      f()
    }
    const look = () => {
      const t = readdirSync(dir).find((n) => n.startsWith(prefix))
      if (t !== undefined && statSync(join(dir, t), { throwIfNoEntry: false })?.size) finish(() => ok(join(dir, t)))
    }
    const watcher = watch(dir, look)
    watcher.on("error", (e) => finish(() => fail(e)))
    void done.then(() => finish(() => fail(new Error(`the export to ${out} ended before its temporary was seen holding bytes`))))
    // (written before the watch began)
    look()
  })

/** Start a real export child process and wait until its temporary holds some bytes. */
const exportCaughtMidway = async (log: string, out: string, umask0 = false) => {
  const args = [BIN, "export", log, "--out", out, "--key", KEY, "--framework", "eu_ai_act"]
  const child = umask0
    ? spawn("sh", ["-c", 'umask 000; exec "$0" "$@"', process.execPath, ...args], { stdio: "ignore" })
    : spawn(process.execPath, args, { stdio: "ignore" })
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)))
  const temp = await tempWithBytes(out, exited)
  return { child, exited, temp }
}

const tempsOf = (out: string) => readdirSync(join(out, "..")).filter((n) => n.startsWith(`${basename(out)}.tmp-`))

describe("export: temporaries of an interrupted export", () => {
  it("an export killed midway leaves its temporary with the pack's mode; the next export removes it", async () => {
    const dir = freshDir()
    const log = join(dir, "big.jsonl")
    bigLog(log)
    chmodSync(log, 0o640)
    const out = join(dir, "big.pack.jsonl")
    const { child, exited, temp } = await exportCaughtMidway(log, out, true)
    child.kill("SIGKILL")
    await exited
    expect(existsSync(out)).toBe(false)
    expect(existsSync(temp)).toBe(true)
    // created with the final file's mode (the log's), not the umask's 0666
    expect(octal(modeOf(temp))).toBe("0640")
    const r = exportCli(log, out, "--framework", "eu_ai_act")
    expect(r.code, r.stderr).toBe(0)
    expect(tempsOf(out)).toEqual([])
    expect(octal(modeOf(out))).toBe("0640")
    const v = await verifyFile(out, { key })
    expect(Either.isRight(v.result)).toBe(true)
  })

  it("a live export's temporary is left alone; a dead pid's, or one untouched for hours, is removed", async () => {
    const dir = freshDir()
    const log = join(dir, "big.jsonl")
    bigLog(log)
    const out = join(dir, "big.pack.jsonl")
    const { child, exited, temp } = await exportCaughtMidway(log, out)
    child.kill("SIGSTOP")
    try {
      const name = basename(temp)
      const m = /^(.*\.tmp-)(\d+)(-[0-9a-f]+-)([0-9a-f]+)$/.exec(name)
      expect(m, name).not.toBeNull()
      const [, head, pid, host, random] = m!
      expect(Number(pid)).toBe(child.pid)
      // the same live pid, but not written for two hours: no export is still writing it
      const old = join(dir, `${head}${pid}${host}${"0".repeat(random!.length)}`)
      writeFileSync(old, "x".repeat(1000))
      const twoHoursAgo = new Date(Date.now() - 2 * 3600_000)
      utimesSync(old, twoHoursAgo, twoHoursAgo)
      // a pid that has exited
      const gone = spawnSync(process.execPath, ["-e", ""]).pid!
      const dead = join(dir, `${head}${gone}${host}${"1".repeat(random!.length)}`)
      writeFileSync(dead, "x".repeat(1000))
      // not a name an export writes
      const other = join(dir, `${basename(out)}.tmp-notes`)
      writeFileSync(other, "mine")

      const r = exportCli(log, out)
      expect(r.code, r.stderr).toBe(0)
      expect(existsSync(temp)).toBe(true)
      expect(existsSync(old)).toBe(false)
      expect(existsSync(dead)).toBe(false)
      expect(readFileSync(other, "utf8")).toBe("mine")
    } finally {
      child.kill("SIGCONT")
    }
    // the stopped export goes on and finishes, its temporary renamed into place
    expect(await exited).toBe(0)
    expect(existsSync(temp)).toBe(false)
    const v = await verifyFile(out, { key })
    expect(Either.isRight(v.result)).toBe(true)
  })

  it("an export interrupted in process removes its temporary", async () => {
    const dir = freshDir()
    const log = join(dir, "big.jsonl")
    bigLog(log)
    const out = join(dir, "big.pack.jsonl")
    await Effect.runPromise(
      Effect.gen(function* () {
        const bytes = yield* Store.readLog(log)
        const signer = yield* Signer.makeHmac(key)
        const fiber = yield* Effect.fork(Pack.write(bytes, log, out, { signer, log, framework: "eu_ai_act" }))
        // wait for the temporary to hold bytes, then interrupt
        yield* Effect.promise(() => tempWithBytes(out, Effect.runPromise(Fiber.await(fiber))))
        expect(tempsOf(out).length).toBe(1)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(NodeFileSystem.layer))
    )
    expect(tempsOf(out)).toEqual([])
    expect(existsSync(out)).toBe(false)
  })
})

// ---------------------------------------------------------------------------------------------
// The lock of the log under another name (a hard or symbolic link to the log given as LOG)

/** `Pack.checkTarget(log, out)` through the real file system: the error, or undefined. */
const checked = (log: string, out: string) =>
  Effect.runPromise(Effect.flip(Pack.checkTarget(log, out)).pipe(Effect.option, Effect.provide(NodeFileSystem.layer))).then((o) =>
    o._tag === "Some" ? o.value : undefined
  )

describe("export: the files of the log under another name are refused", () => {
  it("a hard link to a held log given as LOG, --out the log's real lock (and its markers) is refused", async () => {
    const dir = freshDir()
    mkdirSync(join(dir, "logs"))
    const log = join(dir, "logs", "a.jsonl")
    await writeLog(log)
    const hard = join(dir, "hard.jsonl")
    const link = join(dir, "link.jsonl")
    const lock = Store.lockPath(log)
    // (the links are made once the writer holds the log: a store refuses to open a log that has
    // more than one name)
    await whileOpen(log, () =>
      Effect.promise(async () => {
        linkSync(log, hard)
        symlinkSync(log, link)
        const lockBefore = readFileSync(lock)
        for (const given of [hard, link]) {
          for (const out of [lock, `${lock}.take-0123abcd`, `${lock}.tmp-1-2`, `${lock}.stale-4242-0123`, `${log}.torn-2099-01-01`]) {
            const r = exportCli(given, out)
            expect(r.code, `${given} → ${out}: ${r.stderr}`).toBe(2)
            expect(r.stderr).toMatch(/^error: .*a\.jsonl/)
            const e = await checked(given, out)
            expect(e?._tag, out).toBe("ExportError")
          }
        }
        expect(readFileSync(lock)).toEqual(lockBefore)
        expect(readdirSync(join(dir, "logs")).sort()).toEqual(["a.jsonl", "a.jsonl.lock"])
      })
    )
  })

  it("another live log's lock (or any file a store keeps beside another log) is refused too", async () => {
    const dir = freshDir()
    const a = join(dir, "a.jsonl")
    const b = join(dir, "b.jsonl")
    await writeLog(a)
    await writeLog(b)
    await whileOpen(b, () =>
      Effect.promise(async () => {
        const lock = Store.lockPath(b)
        const before = readFileSync(lock)
        for (const out of [lock, `${lock}.take-0123abcd`, `${b}.torn-2099-01-01`]) {
          const r = exportCli(a, out)
          expect(r.code, `${out}: ${r.stderr}`).toBe(2)
          expect(r.stderr).toMatch(/b\.jsonl/)
        }
        expect(readFileSync(lock)).toEqual(before)
      })
    )
  })

  it("another name of the log in the target's directory: its lock's name is refused too", async () => {
    const dir = freshDir()
    mkdirSync(join(dir, "logs"))
    mkdirSync(join(dir, "other"))
    const log = join(dir, "logs", "a.jsonl")
    await writeLog(log)
    linkSync(log, join(dir, "other", "b.jsonl"))
    symlinkSync(log, join(dir, "other", "c.jsonl"))
    for (const out of [join(dir, "other", "b.jsonl.lock"), join(dir, "other", "c.jsonl.lock"), join(dir, "other", "b.jsonl.torn-x")]) {
      const e = await checked(log, out)
      expect(e?._tag, out).toBe("ExportError")
      expect(existsSync(out)).toBe(false)
    }
    // a lock's name beside another file is refused as well (it may be another live log's lock);
    // a lock's name beside nothing is a plain name
    writeFileSync(join(dir, "other", "d.jsonl"), "")
    expect((await checked(log, join(dir, "other", "d.jsonl.lock")))?._tag).toBe("ExportError")
    expect(await checked(log, join(dir, "other", "e.jsonl.lock"))).toBeUndefined()
  })
})

// ---------------------------------------------------------------------------------------------
// Targets that are not regular files

const listen = (path: string) =>
  new Promise<import("node:net").Server>((res, rej) => {
    const s = createServer()
    s.on("error", rej)
    s.listen(path, () => res(s))
  })

describe("export: a target that is not a regular file", () => {
  it("a FIFO, a directory (with or without a slash) and a socket are refused, exit 2, and left as they were", async () => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    const fifo = join(dir, "fifo")
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
    const sub = join(dir, "outdir")
    mkdirSync(sub)
    const sock = join(dir, "sock")
    const server = await listen(sock)
    try {
      const cases: ReadonlyArray<readonly [string, RegExp, (p: string) => boolean]> = [
        [fifo, /is a named pipe \(FIFO\)/, (p) => lstatSync(p).isFIFO()],
        [sub, /is a directory/, (p) => lstatSync(p).isDirectory()],
        [`${sub}/`, /is a directory/, (p) => lstatSync(p).isDirectory()],
        [sock, /is a socket/, (p) => lstatSync(p).isSocket()]
      ]
      for (const [out, said, still] of cases) {
        const r = exportCli(log, out)
        expect(r.code, `${out}: ${r.stderr}`).toBe(2)
        expect(r.stderr, out).toMatch(new RegExp(`^error: .*${said.source}`))
        expect(r.stderr).toMatch(/usage: acttrace export/)
        expect(still(out), out).toBe(true)
        const e = await checked(log, out)
        expect(e?.message, out).toMatch(said)
      }
      expect(readdirSync(sub)).toEqual([])
      expect(readdirSync(dir).filter((n) => n.includes(".tmp-"))).toEqual([])
      // a memory log's export (no log file to check against) refuses them too
      const lib = await Effect.runPromise(
        Effect.gen(function* () {
          const l = yield* AuditLog.AuditLog
          yield* l.append("decision_record", { x: 1 })
          return yield* Effect.either(l.export(fifo))
        }).pipe(Effect.provide(memoryLog), Effect.scoped)
      )
      expect(Either.isLeft(lib) && lib.left.message).toMatch(/is a named pipe \(FIFO\)/)
      expect(lstatSync(fifo).isFIFO()).toBe(true)
    } finally {
      server.close()
    }
  })

  it("a character device is refused before anything is written (checked, never exported to)", async () => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    expect(statSync("/dev/null").isCharacterDevice()).toBe(true)
    expect((await checked(log, "/dev/null"))?.message).toMatch(/\/dev\/null is a character device/)
    symlinkSync("/dev/null", join(dir, "null-link"))
    expect((await checked(log, join(dir, "null-link")))?.message).toMatch(/null-link leads to \/dev\/null, a character device/)
  })

  it("a symlink is written where it leads, and kept; one to a FIFO is refused", async () => {
    const dir = freshDir()
    const log = join(dir, "audit.jsonl")
    await writeLog(log)
    mkdirSync(join(dir, "packs"))
    const real = join(dir, "packs", "cur.jsonl")
    writeFileSync(real, "an older pack\n")
    const cur = join(dir, "cur")
    symlinkSync("packs/cur.jsonl", cur)
    const r = exportCli(log, cur)
    expect(r.code, r.stderr).toBe(0)
    expect(lstatSync(cur).isSymbolicLink()).toBe(true)
    expect(readlinkSync(cur)).toBe("packs/cur.jsonl")
    expect(Either.isRight((await verifyFile(real, { key })).result)).toBe(true)
    expect(readdirSync(join(dir, "packs"))).toEqual(["cur.jsonl"])
    // a dangling link into an existing directory: the pack is created where it points
    const next = join(dir, "next")
    symlinkSync("packs/next.jsonl", next)
    expect(exportCli(log, next).code).toBe(0)
    expect(lstatSync(next).isSymbolicLink()).toBe(true)
    expect(Either.isRight((await verifyFile(join(dir, "packs", "next.jsonl"), { key })).result)).toBe(true)
    // a dangling link into no directory: refused, the link kept
    const nowhere = join(dir, "nowhere")
    symlinkSync("no-such-dir/p.jsonl", nowhere)
    const n = exportCli(log, nowhere)
    expect(n.code).not.toBe(0)
    expect(n.stderr).toMatch(/no-such-dir/)
    expect(lstatSync(nowhere).isSymbolicLink()).toBe(true)
    // a link to a FIFO (as /dev/stdout may be): refused, link and FIFO kept
    const fifo = join(dir, "fifo")
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
    const out = join(dir, "stdout")
    symlinkSync(fifo, out)
    const f = exportCli(log, out)
    expect(f.code, f.stderr).toBe(2)
    expect(f.stderr).toMatch(/leads to .*fifo, a named pipe \(FIFO\)/)
    expect(lstatSync(out).isSymbolicLink()).toBe(true)
    expect(lstatSync(fifo).isFIFO()).toBe(true)
  })
})
