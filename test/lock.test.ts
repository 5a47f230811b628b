// The file store's lock: who holds a log, when a lock is taken over, and what the log records of
// it. Real files and real processes throughout; the race of many takers is in
// test/harness/lock-race.test.ts.
import { spawn, spawnSync } from "node:child_process"
import { appendFileSync, existsSync, linkSync, lutimesSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs"
import { createServer } from "node:net"
import { hostname } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Lock from "../src/internal/lock.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { Taker } from "./fixtures/lock-taker.js"
import { ROOT, tempDir, verifyFile } from "./helpers.js"

const KEY = "lock-test-key"
const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
// the real directory: the store names its lock after the log's real path
const dir = realpathSync(tmp.dir)
const freshPath = (name = "log") => join(dir, `${name}-${++counter}.jsonl`)
const HOUR_AGO = new Date(Date.now() - 3_600_000)

const open = (path: string) => Effect.runPromiseExit(Effect.scoped(Layer.build(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer)))))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (f === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return f
}

/** Plant a lock file with the given content, last written at `when`. */
const plant = (path: string, content: string | Buffer, when: Date = HOUR_AGO) => {
  writeFileSync(Store.lockPath(path), content)
  utimesSync(Store.lockPath(path), when, when)
}

const deadPid = (): number => Number(spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" }).stdout.trim())

/** A live process that is not acttrace, until killed. */
const liveProcess = async () => {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000); console.log('up')"], { stdio: ["ignore", "pipe", "ignore"] })
  await new Promise((ok) => child.stdout.once("data", ok))
  return child
}

/** Open an audit log over the file at `path` (the system writer-child.mjs names), append one record, close it; the log's rows. */
const writeThroughLog = async (path: string) => {
  await Effect.runPromise(
    Effect.scoped(
      Effect.flatMap(AuditLog.AuditLog, (log) => log.append("decision_record", { n: 1 })).pipe(
        Effect.provide(
          AuditLog.layer({ system: "crash-test", riskTier: "high" }).pipe(
            Layer.provide(Store.layerFile(path)),
            Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
            Layer.provide(Redactor.layerDefault),
            Layer.provideMerge(NodeFileSystem.layer)
          )
        )
      )
    )
  )
  const v = await verifyFile(path, { key: Redacted.make(KEY) })
  if (Either.isLeft(v.result)) throw new Error(v.result.left.message)
  return readFileSync(path, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { type: string; payload: Record<string, unknown> })
}

describe("Store lock: unreadable lock files", () => {
  it("takes over a garbage lock older than the grace period, and the log records a warning policy_flag naming it", async () => {
    const path = freshPath()
    plant(path, '{"pid": 4')
    const rows = await writeThroughLog(path)
    expect(rows.map((r) => r.type)).toEqual(["audit_open", "policy_flag", "decision_record"])
    expect(rows[1]!.payload).toMatchObject({
      decision_id: null,
      action: "flagged",
      severity: "warning",
      auto: true,
      data: { lock: Store.lockPath(path), kind: "unreadable", bytes: 9 }
    })
    // nothing of the old lock's bytes is on the record: the lock file could have been anything
    expect(rows[1]!.payload["data"]).not.toHaveProperty("content")
    expect(readFileSync(path, "utf8")).not.toContain("pid\\\": 4")
    expect(String(rows[1]!.payload["reason"])).toContain(Store.lockPath(path))
    expect((rows[1]!.payload["data"] as { age_ms: number }).age_ms).toBeGreaterThan(3_000_000)
    // released on close
    expect(existsSync(Store.lockPath(path))).toBe(false)
  })

  it("takes over an empty lock older than the grace period", async () => {
    const path = freshPath()
    plant(path, "")
    expect(Exit.isSuccess(await open(path))).toBe(true)
    expect(existsSync(Store.lockPath(path))).toBe(false)
  })

  it("refuses a garbage or empty lock younger than the grace period, naming the lock file and what to do", async () => {
    for (const content of ['{"pid": 4', ""]) {
      const path = freshPath()
      plant(path, content, new Date())
      const e = failureOf(await open(path))
      expect(e._tag).toBe("LockHeld")
      const held = e as Store.LockHeld
      expect(held.lock).toBe(Store.lockPath(path))
      expect(held.message).toContain(Store.lockPath(path))
      expect(held.message).toMatch(/no readable lock/)
      expect(held.message).toMatch(new RegExp(`taken over once it is ${Store.lockGraceMillis / 1000} s old`))
      expect(held.message).toMatch(/remove/)
      // and it is left as it was
      expect(readFileSync(Store.lockPath(path), "utf8")).toBe(content)
    }
  })

  it("treats a lock naming pid 0 or a negative pid as unreadable, not as a live holder", async () => {
    for (const pid of [0, -1]) {
      const path = freshPath()
      plant(path, JSON.stringify({ pid, host: hostname(), since: HOUR_AGO.toISOString(), token: "t" }))
      expect(Exit.isSuccess(await open(path)), `pid ${pid}`).toBe(true)
    }
  })

  it("repair refuses a young unreadable lock naming it, and takes over an old one (saying so)", async () => {
    const path = freshPath()
    writeFileSync(path, '{"a":1}\n{"b":')
    plant(path, "", new Date())
    const young = await Effect.runPromiseExit(Store.repair(path).pipe(Effect.provide(NodeFileSystem.layer)))
    const e = failureOf(young)
    expect(e._tag).toBe("LockHeld")
    expect(e.message).toContain(Store.lockPath(path))
    utimesSync(Store.lockPath(path), HOUR_AGO, HOUR_AGO)
    const r = await Effect.runPromise(Store.repair(path).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(r.tornBytes).toBe(5)
    expect(Option.map(r.lockTakenOver, (t) => t.kind)).toEqual(Option.some("unreadable"))
    expect(readFileSync(path, "utf8")).toBe('{"a":1}\n')
    expect(existsSync(Store.lockPath(path))).toBe(false)
  })
})

describe("Store lock: holders", () => {
  it("refuses a lock held by a live process, naming its pid, host and the lock file, and leaves the lock alone", async () => {
    const path = freshPath()
    const child = await liveProcess()
    try {
      const content = JSON.stringify({ pid: child.pid, host: hostname(), since: HOUR_AGO.toISOString(), token: "live" })
      plant(path, content)
      const e = failureOf(await open(path))
      expect(e).toMatchObject({ _tag: "LockHeld", pid: child.pid, host: hostname(), lock: Store.lockPath(path) })
      expect(e.message).toMatch(new RegExp(`being written by pid ${child.pid} on `))
      expect(e.message).toContain(Store.lockPath(path))
      expect(readFileSync(Store.lockPath(path), "utf8")).toBe(content)
    } finally {
      child.kill("SIGKILL")
    }
  })

  it("refuses a lock from another host even when its pid is dead here, naming the host and the lock file", async () => {
    const path = freshPath()
    plant(path, JSON.stringify({ pid: deadPid(), host: "elsewhere.example", since: HOUR_AGO.toISOString(), token: "far" }))
    const e = failureOf(await open(path))
    expect(e).toMatchObject({ _tag: "LockHeld", host: "elsewhere.example", lock: Store.lockPath(path) })
    expect(e.message).toContain(Store.lockPath(path))
    expect(e.message).toMatch(/another host/)
  })

  it.skipIf(!existsSync("/proc/self/stat"))("takes over a lock whose pid now belongs to another process (its start time differs)", async () => {
    const path = freshPath()
    const child = await liveProcess()
    try {
      plant(path, JSON.stringify({ pid: child.pid, host: hostname(), since: HOUR_AGO.toISOString(), token: "reused", start: "1" }))
      expect(Exit.isSuccess(await open(path))).toBe(true)
    } finally {
      child.kill("SIGKILL")
    }
  })

  it("takes over the lock of a writer killed with SIGKILL while holding, and the log records it", async () => {
    const path = freshPath()
    const child = spawn(process.execPath, [join(ROOT, "test/fixtures/writer-child.mjs"), path, "hold", KEY], { stdio: ["ignore", "pipe", "inherit"] })
    await new Promise<void>((ok, fail) => {
      child.stdout.on("data", (d: Buffer) => (d.toString().includes("ready") ? ok() : fail(new Error(d.toString()))))
      child.on("exit", () => fail(new Error("child exited early")))
    })
    const e = failureOf(await open(path))
    expect(e).toMatchObject({ _tag: "LockHeld", pid: child.pid })
    child.kill("SIGKILL")
    await new Promise((ok) => child.on("exit", ok))
    const rows = await writeThroughLog(path)
    expect(rows.map((r) => r.type)).toEqual(["audit_open", "policy_flag", "decision_record"])
    expect(rows[1]!.payload).toMatchObject({
      action: "flagged",
      severity: "info",
      auto: true,
      data: { lock: Store.lockPath(path), kind: "stale", pid: child.pid, host: hostname() }
    })
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith(`${path.split("/").pop()}.`))).toEqual([])
  })
})

describe("Store lock: what takers that died leave behind", () => {
  const fsRun = <A, E>(e: Effect.Effect<A, E, import("@effect/platform/FileSystem").FileSystem>) => Effect.runPromise(Effect.provide(e, NodeFileSystem.layer))
  const staleLock = (token: string) => JSON.stringify({ pid: deadPid(), host: hostname(), since: HOUR_AGO.toISOString(), token })
  /** What a taker leaves when it dies between linking its marker and renaming: its lock file and the marker. */
  const deadTaker = (path: string, marker: string, pid = deadPid()) => {
    const tmp = `${Store.lockPath(path)}.tmp-${pid}-dead`
    writeFileSync(tmp, JSON.stringify({ pid, host: hostname(), since: HOUR_AGO.toISOString(), token: `${pid}-dead` }) + "\n")
    linkSync(tmp, marker)
  }
  const besideLog = (path: string) => readdirSync(tmp.dir).filter((n) => n.startsWith(`${path.split("/").pop()}.`)).sort()

  it("takes over past takers that died between their link and their rename (two deep), and sweeps what they left", async () => {
    const path = freshPath()
    plant(path, staleLock("s"))
    const lock = Store.lockPath(path)
    const first = (await fsRun(Lock.firstMarker(lock)))!
    deadTaker(path, first)
    const second = (await fsRun(Lock.nextMarker(lock, first)))!
    deadTaker(path, second)
    expect(besideLog(path)).toHaveLength(5)
    // every file of the takeover is one the store says it owns
    expect(besideLog(path).filter((n) => !Store.ownedNames(path)(n))).toEqual([])
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* Store.Store
          // only the lock is left beside the log, and it is ours
          expect(besideLog(path)).toEqual([lock.split("/").pop()])
          expect(JSON.parse(readFileSync(lock, "utf8"))).toMatchObject({ pid: process.pid })
        }).pipe(Effect.provide(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))))
      )
    )
    expect(besideLog(path)).toEqual([])
  })

  it("sweeps markers of a lock that is gone (a winner that died before cleaning up) and an earlier version's aside files", async () => {
    const path = freshPath()
    const lock = Store.lockPath(path)
    plant(path, staleLock("gone"))
    const old = (await fsRun(Lock.firstMarker(lock)))!
    deadTaker(path, old)
    writeFileSync(`${lock}.stale-123-abc`, staleLock("aside"))
    // the lock has moved on since
    plant(path, staleLock("now"))
    expect(Exit.isSuccess(await open(path))).toBe(true)
    expect(besideLog(path)).toEqual([])
  })

  it("waits for a live taker between its link and its rename, then refuses naming it, leaving its marker alone", async () => {
    const path = freshPath()
    const lock = Store.lockPath(path)
    plant(path, staleLock("s"))
    const marker = (await fsRun(Lock.firstMarker(lock)))!
    const child = await liveProcess()
    try {
      deadTaker(path, marker, child.pid!)
      const e = failureOf(await open(path))
      expect(e).toMatchObject({ _tag: "LockHeld", pid: child.pid, lock })
      expect(e.message).toContain("is being taken over by pid")
      expect(existsSync(marker)).toBe(true)
    } finally {
      child.kill("SIGKILL")
    }
    // once that taker is gone, the log opens
    await new Promise((ok) => child.once("exit", ok))
    expect(Exit.isSuccess(await open(path))).toBe(true)
    expect(besideLog(path)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------
// One lock per file, however its path is spelled

const takers: Array<Taker> = []
afterAll(async () => {
  for (const t of takers) await t.kill()
})
/** A real process holding the log at `path` (it answered "won"). */
const holder = async (path: string) => {
  const t = new Taker(path)
  takers.push(t)
  expect(await t.next()).toBe("ready")
  expect(await t.ask("go")).toBe(`won ${t.pid}`)
  return t
}
/** What a second real process gets when it opens the log at `path`. */
const secondOpen = async (path: string) => {
  const t = new Taker(path)
  takers.push(t)
  expect(await t.next()).toBe("ready")
  const answer = await t.ask("go", 20_000)
  await t.kill()
  return answer
}
const fsRunExit = <A, E>(e: Effect.Effect<A, E, import("@effect/platform/FileSystem").FileSystem>) => Effect.runPromiseExit(Effect.provide(e, NodeFileSystem.layer))

describe("Store lock: the log's real path, not its spelling", () => {
  it("refuses a second writer (another process) that opens the log through a symlink, naming the real lock file", async () => {
    const path = freshPath("c")
    const link = join(dir, `s${counter}.jsonl`)
    symlinkSync(path, link)
    const first = await holder(path)
    const answer = await secondOpen(link)
    expect(answer).toMatch(new RegExp(`^lost LockHeld .*being written by pid ${first.pid} `))
    expect(answer).toContain(Store.lockPath(path))
    // no lock beside the symlink's own name
    expect(existsSync(Store.lockPath(link))).toBe(false)
  })

  it("refuses a second writer (another process) that opens the log through a symlinked directory", async () => {
    const sub = join(dir, `sub-${++counter}`)
    mkdirSync(sub)
    const path = join(sub, "c.jsonl")
    const viaLink = join(dir, `sd-${counter}`)
    symlinkSync(sub, viaLink)
    const first = await holder(path)
    expect(await secondOpen(join(viaLink, "c.jsonl"))).toMatch(new RegExp(`^lost LockHeld .*being written by pid ${first.pid} `))
  })

  it("refuses a symlinked writer that comes first too: the lock is the real file's, and the log itself opens after it", async () => {
    const path = freshPath("c")
    writeFileSync(path, "")
    const link = join(dir, `s${counter}.jsonl`)
    symlinkSync(path, link)
    const first = await holder(link)
    expect(readFileSync(Store.lockPath(path), "utf8")).toContain(`"pid":${first.pid}`)
    expect(await secondOpen(path)).toMatch(/^lost LockHeld /)
  })

  it("refuses a log with a second name (a hard link), whichever name opens it, saying why", async () => {
    const path = freshPath("h")
    writeFileSync(path, "")
    const other = join(dir, `hb-${counter}.jsonl`)
    linkSync(path, other)
    for (const p of [path, other]) {
      const e = failureOf(await open(p))
      expect(e._tag, p).toBe("StoreError")
      expect(e.message).toMatch(/has 2 names \(hard links\)/)
      expect(e.message).toMatch(/must have one/)
    }
    const r = failureOf(await fsRunExit(Store.repair(other)))
    expect(r._tag).toBe("StoreError")
    expect(r.message).toMatch(/has 2 names \(hard links\)/)
    expect(readdirSync(dir).filter((n) => n.startsWith(`h-${counter}`) || n.startsWith(`hb-${counter}`)).sort()).toEqual([`h-${counter}.jsonl`, `hb-${counter}.jsonl`])
  })

  it("refuses a hard link made to a log while another process writes it", async () => {
    const path = freshPath("h")
    await holder(path)
    const other = join(dir, `hb-${counter}.jsonl`)
    linkSync(path, other)
    expect(await secondOpen(other)).toMatch(/^lost StoreError .*has 2 names \(hard links\)/)
  })

  it("repair through a symlink refuses while another process writes the log, and leaves the write in progress alone", async () => {
    const path = freshPath("e")
    const link = join(dir, `se-${counter}.jsonl`)
    symlinkSync(path, link)
    const first = await holder(path)
    // a line being written right now: no newline yet
    appendFileSync(path, '{"seq":0}\n{"seq":1,"half')
    const before = readFileSync(path, "utf8")
    const e = failureOf(await fsRunExit(Store.repair(link)))
    expect(e).toMatchObject({ _tag: "LockHeld", pid: first.pid, lock: Store.lockPath(path) })
    expect(readFileSync(path, "utf8")).toBe(before)
    expect(readdirSync(dir).filter((n) => n.startsWith(`e-${counter}.jsonl.torn-`))).toEqual([])
  })

  it("refuses a dangling symlink as the log, naming where it leads, and creates nothing there", async () => {
    const target = join(dir, `nowhere-${++counter}`, "x.jsonl")
    const link = join(dir, `dangling-${counter}.jsonl`)
    symlinkSync(target, link)
    const e = failureOf(await open(link))
    expect(e._tag).toBe("StoreError")
    expect(e.message).toContain(target)
    expect(e.message).toMatch(/symbolic link/)
    const sameDir = join(dir, `gone-${counter}.jsonl`)
    const link2 = join(dir, `dangling2-${counter}.jsonl`)
    symlinkSync(sameDir, link2)
    expect(failureOf(await open(link2))._tag).toBe("StoreError")
    expect(existsSync(sameDir)).toBe(false)
    expect(readdirSync(dir).filter((n) => n.startsWith(`dangling2-${counter}`))).toEqual([`dangling2-${counter}.jsonl`])
  })

  it("realLogPath: the real path of a log, or of its directory and its name when it does not exist yet", async () => {
    const path = freshPath("r")
    writeFileSync(path, "")
    const link = join(dir, `rs-${counter}.jsonl`)
    symlinkSync(path, link)
    const run = (p: string) => Effect.runPromise(Effect.provide(Store.realLogPath(p), NodeFileSystem.layer))
    expect(await run(link)).toBe(path)
    const viaDir = join(dir, `rd-${counter}`)
    symlinkSync(dir, viaDir)
    expect(await run(join(viaDir, `not-yet-${counter}.jsonl`))).toBe(join(dir, `not-yet-${counter}.jsonl`))
  })
})

// ---------------------------------------------------------------------------------------------
// Lock files that are not regular files, and lock times in the future

describe("Store lock: a log renamed or relinked while written", () => {
  // ordinary log rotation (`mv`), or a second name made and the first removed: the new name has a
  // lock of its own, so the lock records the file (device and inode) and a taker looks for it
  for (const how of ["rename", "link and unlink"] as const) {
    it(`refuses a writer and repair of a log given a new name by ${how} while another process writes it, naming the holder's lock`, async () => {
      const path = freshPath("m")
      const first = await holder(path)
      const moved = join(dir, `moved-${counter}.jsonl`)
      if (how === "rename") renameSync(path, moved)
      else {
        linkSync(path, moved)
        unlinkSync(path)
      }
      for (const e of [failureOf(await open(moved)), failureOf(await fsRunExit(Store.repair(moved)))]) {
        expect(e).toMatchObject({ _tag: "LockHeld", pid: first.pid, lock: Store.lockPath(path) })
        expect(e.message).toMatch(/under another name/)
      }
      // the refused taker's own lock is gone again
      expect(existsSync(Store.lockPath(moved))).toBe(false)
      // once the writer is gone, the new name opens
      await first.kill()
      expect(Exit.isSuccess(await open(moved))).toBe(true)
    })
  }

  it("a takeover (open and repair) records no `since` of a stale lock that is not a short ISO-8601 time", async () => {
    const path = freshPath("b")
    const huge = "9".repeat(60_000)
    plant(path, JSON.stringify({ pid: deadPid(), host: hostname(), since: huge, token: "big" }))
    const rows = await writeThroughLog(path)
    expect(rows[1]!.type).toBe("policy_flag")
    expect(JSON.stringify(rows)).not.toContain(huge.slice(0, 100))
    const repaired = join(dir, `b2-${counter}.jsonl`)
    writeFileSync(repaired, "")
    plant(repaired, JSON.stringify({ pid: deadPid(), host: hostname(), since: huge, token: "big" }))
    const r = await Effect.runPromise(Effect.provide(Store.repair(repaired), NodeFileSystem.layer))
    expect(Option.getOrThrow(r.lockTakenOver).holder).toEqual(Option.some(expect.objectContaining({ host: hostname(), since: "unknown" })))
  })
})

describe("Store lock: a lock path that is not a regular file", () => {
  const listing = (path: string) => readdirSync(dir).filter((n) => n.startsWith(`${path.split("/").pop()}.lock.`))

  it("refuses a lock that is a symlink (to a secret file, older than the grace period) and copies none of its bytes anywhere", async () => {
    const path = freshPath("s")
    const secret = join(dir, `secret-${counter}.key`)
    writeFileSync(secret, "TOP-SECRET-KEY-MATERIAL-0123456789")
    // old enough, read through the link, to be taken over as an unreadable lock
    utimesSync(secret, HOUR_AGO, HOUR_AGO)
    symlinkSync(secret, Store.lockPath(path))
    lutimesSync(Store.lockPath(path), HOUR_AGO, HOUR_AGO)
    const e = failureOf(await open(path))
    expect(e._tag).toBe("LockHeld")
    expect((e as Store.LockHeld).lock).toBe(Store.lockPath(path))
    expect(e.message).toContain(Store.lockPath(path))
    expect(e.message).toMatch(/symbolic link/)
    expect(e.message).toMatch(/remove it/)
    expect(existsSync(path) ? readFileSync(path, "utf8") : "").not.toContain("TOP-SECRET")
    expect(readFileSync(secret, "utf8")).toBe("TOP-SECRET-KEY-MATERIAL-0123456789")
    expect(listing(path)).toEqual([])
  })

  it("refuses a dangling symlink lock as a symlink, not as a lock that kept changing hands", async () => {
    const path = freshPath("s")
    symlinkSync(join(dir, "no-such-file"), Store.lockPath(path))
    const e = failureOf(await open(path))
    expect(e._tag).toBe("LockHeld")
    expect(e.message).toMatch(/symbolic link/)
    expect(e.message).not.toMatch(/changing hands/)
    expect(listing(path)).toEqual([])
  })

  it("refuses a directory as the lock", async () => {
    const path = freshPath("s")
    mkdirSync(Store.lockPath(path))
    const e = failureOf(await open(path))
    expect(e._tag).toBe("LockHeld")
    expect(e.message).toMatch(/a directory/)
    expect(listing(path)).toEqual([])
  })

  it("refuses a socket as the lock", async () => {
    const path = freshPath("s")
    const server = createServer()
    await new Promise<void>((ok) => server.listen(Store.lockPath(path), ok))
    try {
      const e = failureOf(await open(path))
      expect(e._tag).toBe("LockHeld")
      expect(e.message).toMatch(/a socket/)
      expect(listing(path)).toEqual([])
    } finally {
      server.close()
    }
  })

  it("a process opening a log whose lock is a FIFO (or a symlink to one) is refused at once, and leaves no temporary behind", async () => {
    for (const viaLink of [false, true]) {
      const path = freshPath("f")
      const fifo = viaLink ? join(dir, `fifo-${counter}`) : Store.lockPath(path)
      expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
      if (viaLink) symlinkSync(fifo, Store.lockPath(path))
      const answer = await secondOpen(path)
      expect(answer).toMatch(/^lost LockHeld /)
      expect(answer).toMatch(viaLink ? /symbolic link/ : /a FIFO/)
      expect(answer).toMatch(/remove it/)
      expect(listing(path)).toEqual([])
    }
  })
})

describe("Store lock: a lock time in the future", () => {
  it("refuses a garbage lock whose modification time is in the future, saying so and to remove it", async () => {
    const path = freshPath("t")
    plant(path, "garbage", new Date(Date.now() + 365 * 24 * 3_600_000))
    const e = failureOf(await open(path))
    expect(e._tag).toBe("LockHeld")
    expect(e.message).toMatch(/in the future/)
    expect(e.message).toMatch(/remove/)
    expect(readFileSync(Store.lockPath(path), "utf8")).toBe("garbage")
  })
})

describe("Store.ownedNames", () => {
  it("names the log, its lock, the lock's temporaries and markers, and repair's quarantine files, nothing else", () => {
    const owned = Store.ownedNames("/data/audit.jsonl")
    for (const n of ["audit.jsonl", "audit.jsonl.lock", "audit.jsonl.lock.tmp-12-ab", "audit.jsonl.lock.take-0f3a", "audit.jsonl.lock.stale-12-x", "audit.jsonl.torn-2026-12-04T10-00-00-000Z"]) {
      expect(owned(n), n).toBe(true)
    }
    for (const n of ["audit.jsonl.pack", "audit.jsonl.lockx", "audit.jsonl.lock.bak", "audit.jsonl.lock-tmp-1", "other.jsonl", "audit.json", "xaudit.jsonl.lock"]) {
      expect(owned(n), n).toBe(false)
    }
  })
})
