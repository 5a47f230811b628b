import { spawn, spawnSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Store from "../src/Store.js"
import { BIN, ROOT, tempDir } from "./helpers.js"
import { databaseUrl, freshChain, pgLayer, sqliteLayer } from "./sql-helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
const freshPath = (name = "log") => join(tmp.dir, `${name}-${++counter}.jsonl`)

const text = (bytes: Stream.Stream<Uint8Array, Store.StoreError>) =>
  Stream.runCollect(bytes).pipe(Effect.map((c) => Buffer.concat(Chunk.toArray(c)).toString("utf8")))

const snapshotText = Effect.flatMap(Store.Store, (s) => Effect.flatMap(s.snapshot, text))

// ---------------------------------------------------------------------------------------------
// One suite, every Store layer

const layers: ReadonlyArray<[string, () => Layer.Layer<Store.Store, unknown>]> = [
  ["file", () => Store.layerFile(freshPath()).pipe(Layer.provide(NodeFileSystem.layer))],
  ["file with group commit", () => Store.layerFile(freshPath(), { groupCommit: { maxBatch: 8, maxDelayMillis: 1 } }).pipe(Layer.provide(NodeFileSystem.layer))],
  ["file, one line per write", () => Store.layerFile(freshPath(), { groupCommit: false }).pipe(Layer.provide(NodeFileSystem.layer))],
  ["file, blocking", () => Store.layerFile(freshPath(), { blocking: true }).pipe(Layer.provide(NodeFileSystem.layer))],
  ["memory", () => Store.layerMemory()],
  ["memory, bounded", () => Store.layerMemory({ capacity: 1000 })],
  ["sqlite", () => Store.layerSql({ chain: freshChain("conf") }).pipe(Layer.provide(sqliteLayer(join(tmp.dir, `sqlite-${++counter}.db`))))],
  ["sqlite by path", () => Store.layerSqlUrl(join(tmp.dir, `sqlite-${++counter}.db`), { chain: freshChain("conf") })],
  // one database file, many chains: each chain sees only its own lines
  ["sqlite, a chain among others", () => Store.layerSqlUrl(`sqlite:${join(tmp.dir, "shared.db")}`, { chain: freshChain("conf") })],
  // PostgreSQL when DATABASE_URL names one (CI starts one; test/store-sql.test.ts fails there without it)
  ...(databaseUrl === undefined ? [] : [
    ["postgresql", () => Store.layerSql({ chain: freshChain("conf") }).pipe(Layer.provide(pgLayer()))],
    ["postgresql by URL", () => Store.layerSqlUrl(databaseUrl!, { chain: freshChain("conf") })]
  ] satisfies Array<[string, () => Layer.Layer<Store.Store, unknown>]>)
]

describe.each(layers)("Store conformance: %s", (_, make) => {
  const run = <A, E>(e: Effect.Effect<A, E, Store.Store>) => Effect.runPromise(Effect.scoped(Effect.provide(e, make())))

  it("starts empty and reads back what it appended, in order, each line once", async () => {
    const got = await run(
      Effect.gen(function* () {
        const s = yield* Store.Store
        const empty = yield* snapshotText
        yield* s.append(["a"])
        yield* s.append(["b", "c"])
        yield* s.append([])
        yield* s.append(["{\"x\":\"é 😀\"}"])
        return { empty, all: yield* snapshotText, evicted: yield* s.evicted }
      })
    )
    expect(got).toEqual({ empty: "", all: 'a\nb\nc\n{"x":"é 😀"}\n', evicted: 0 })
  })

  it("keeps a snapshot to the lines it held when taken", async () => {
    const got = await run(
      Effect.gen(function* () {
        const s = yield* Store.Store
        yield* s.append(["one", "two"])
        const snap = yield* s.snapshot
        yield* s.append(["three"])
        return yield* text(snap)
      })
    )
    expect(got).toBe("one\ntwo\n")
  })

  it("says how it wants appends grouped", async () => {
    const b = await run(Effect.map(Store.Store, (s) => s.batching))
    expect(b.maxBatch).toBeGreaterThanOrEqual(1)
    expect(b.maxDelayMillis).toBeGreaterThanOrEqual(0)
  })
})

describe("Store.layerMemory", () => {
  it("evicts the oldest lines in a bounded ring and counts them", async () => {
    const got = await Effect.runPromise(
      Effect.gen(function* () {
        const s = yield* Store.Store
        for (let i = 0; i < 10; i++) yield* s.append([`l${i}`])
        return { text: yield* snapshotText, evicted: yield* s.evicted }
      }).pipe(Effect.provide(Store.layerMemory({ capacity: 3 })))
    )
    expect(got).toEqual({ text: "l7\nl8\nl9\n", evicted: 7 })
  })
})

// ---------------------------------------------------------------------------------------------
// The file store

const openFile = (path: string, options: Store.FileOptions = {}) =>
  Effect.runPromiseExit(Effect.scoped(Effect.provide(snapshotText, Store.layerFile(path, options).pipe(Layer.provide(NodeFileSystem.layer)))))

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (f === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return f
}

describe("Store.layerFile", () => {
  it("creates the file, takes a lock naming this process, and releases it when the scope ends", async () => {
    const path = freshPath()
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          yield* Store.Store
          const lock = JSON.parse(readFileSync(Store.lockPath(path), "utf8"))
          expect(lock).toMatchObject({ pid: process.pid, host: hostname() })
          // a second writer in the same process is refused, naming the holder
          const second = yield* Effect.exit(Effect.scoped(Layer.build(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer)))))
          const e = failureOf(second)
          expect(e._tag).toBe("LockHeld")
          expect(e).toMatchObject({ pid: process.pid, host: hostname() })
          expect((e as Store.LockHeld).message).toMatch(new RegExp(`being written by pid ${process.pid} on `))
        }).pipe(Effect.provide(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))))
      )
    )
    expect(existsSync(path)).toBe(true)
    expect(existsSync(Store.lockPath(path))).toBe(false)
  })

  it("refuses a second writer in another process, and takes over the lock once that process is dead", async () => {
    const path = freshPath()
    const child = spawn(process.execPath, [join(ROOT, "test/fixtures/writer-child.mjs"), path, "hold"], { stdio: ["ignore", "pipe", "inherit"] })
    await new Promise<void>((ok, fail) => {
      child.stdout.on("data", (d: Buffer) => (d.toString().includes("ready") ? ok() : fail(new Error(d.toString()))))
      child.on("exit", () => fail(new Error("child exited early")))
    })
    const e = failureOf(await openFile(path))
    expect(e).toMatchObject({ _tag: "LockHeld", pid: child.pid, host: hostname() })
    child.kill("SIGKILL")
    await new Promise((ok) => child.on("exit", ok))
    // the lock file is still there, naming a dead process: stale, taken over
    expect(existsSync(Store.lockPath(path))).toBe(true)
    const reopened = await openFile(path)
    expect(Exit.isSuccess(reopened)).toBe(true)
  })

  it("takes over a stale lock left by a dead process", async () => {
    const path = freshPath()
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" })
    writeFileSync(Store.lockPath(path), JSON.stringify({ pid: Number(dead.stdout.trim()), host: hostname(), since: "2026-01-01T00:00:00.000Z", token: "old" }))
    expect(Exit.isSuccess(await openFile(path))).toBe(true)
    expect(existsSync(Store.lockPath(path))).toBe(false)
  })

  it("refuses a torn last line with TornTail, and repair moves exactly the torn bytes aside", async () => {
    const dir = join(tmp.dir, `torn-${++counter}`)
    mkdirSync(dir)
    const path = join(dir, "log.jsonl")
    const whole = '{"a":1}\n{"b":2}\n'
    const torn = '{"c":3,"half'
    writeFileSync(path, whole + torn)
    const e = failureOf(await openFile(path))
    expect(e).toMatchObject({ _tag: "TornTail", wholeBytes: whole.length, tornBytes: torn.length })
    expect((e as Store.TornTail).message).toContain("acttrace repair")
    const r = spawnSync(process.execPath, [BIN, "repair", path], { encoding: "utf8" })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/moved the torn last 12 bytes to /)
    expect(readFileSync(path, "utf8")).toBe(whole)
    const quarantined = readdirSync(dir).filter((n) => n.startsWith("log.jsonl.torn-"))
    expect(quarantined).toHaveLength(1)
    expect(readFileSync(join(dir, quarantined[0]!), "utf8")).toBe(torn)
    expect(Exit.isSuccess(await openFile(path))).toBe(true)
    // a whole log needs nothing
    const again = spawnSync(process.execPath, [BIN, "repair", path], { encoding: "utf8" })
    expect(again.status).toBe(0)
    expect(again.stdout).toMatch(/nothing to repair/)
  })

  it("refuses an evidence pack, a directory and a missing parent with typed errors", async () => {
    const pack = freshPath("pack")
    writeFileSync(pack, '{"_meta": {"system": "s"}}\n{"seq": 0}\n')
    expect(failureOf(await openFile(pack))._tag).toBe("NotALog")
    expect(failureOf(await openFile(tmp.dir))._tag).toBe("StoreError")
    expect(failureOf(await openFile(join(tmp.dir, "no", "such", "dir", "log.jsonl")))._tag).toBe("StoreError")
  })

  it("says what failed without repeating its tag (Effect prints the tag before the message)", async () => {
    const path = freshPath()
    writeFileSync(path, "x\npartial")
    const pack = freshPath("pack")
    writeFileSync(pack, '{"_meta": {"system": "s"}}\n')
    const errors = [failureOf(await openFile(path)), failureOf(await openFile(pack)), failureOf(await openFile(tmp.dir))]
    expect(errors.map((e) => e._tag)).toEqual(["TornTail", "NotALog", "StoreError"])
    for (const e of errors) {
      expect(e.message.startsWith(e._tag), e.message).toBe(false)
      expect(e.message, e.message).toContain(e._tag === "StoreError" ? tmp.dir : e._tag === "NotALog" ? pack : path)
    }
  })

  it("reads a log without the lock, up to its last whole line (readLog)", async () => {
    const path = freshPath()
    writeFileSync(path, "x\ny\npartial")
    const got = await Effect.runPromise(Effect.flatMap(Store.readLog(path), (b) => Effect.flatMap(b, text)).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(got).toBe("x\ny\n")
    const none = await Effect.runPromiseExit(Store.readLog(join(tmp.dir, "missing.jsonl")).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(failureOf(none)._tag).toBe("StoreError")
  })
})

describe("Store.layerFile: appending off the event loop", () => {
  it("by default writes off the event loop: the loop turns while an append is on its way to disk", async () => {
    const path = freshPath()
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const s = yield* Store.Store
          // no synchronous path for the chain to take
          expect(Store.appendNow(s.append)).toBeUndefined()
          for (let i = 0; i < 3; i++) {
            let turned = false
            setImmediate(() => (turned = true))
            yield* s.append([`line ${i}`])
            expect(turned, `append ${i}`).toBe(true)
          }
          // acknowledged means written
          expect(readFileSync(path, "utf8")).toBe("line 0\nline 1\nline 2\n")
        }).pipe(Effect.provide(Store.layerFile(path).pipe(Layer.provide(NodeFileSystem.layer))))
      )
    )
  })

  it("blocks the event loop only when asked to (blocking: true), appending synchronously", async () => {
    const path = freshPath()
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const s = yield* Store.Store
          const now = Store.appendNow(s.append)
          expect(now).toBeDefined()
          expect(now!(["a", "b"])).toBeUndefined()
          expect(readFileSync(path, "utf8")).toBe("a\nb\n")
          // the append's Effect is the same write
          yield* s.append(["c"])
          expect(readFileSync(path, "utf8")).toBe("a\nb\nc\n")
        }).pipe(Effect.provide(Store.layerFile(path, { blocking: true }).pipe(Layer.provide(NodeFileSystem.layer))))
      )
    )
    // the two ask for opposite things
    await expect(Effect.runPromise(Effect.scoped(Store.makeFile(freshPath(), { blocking: true, groupCommit: true }).pipe(Effect.provide(NodeFileSystem.layer))))).rejects.toThrow(/blocking/)
  })
})

describe("Store.layerFile: file modes", () => {
  /** Run `f` with a permissive umask, restored after. */
  const withUmask = async <A>(f: () => Promise<A>): Promise<A> => {
    const old = process.umask(0o022)
    try {
      return await f()
    } finally {
      process.umask(old)
    }
  }
  const modeOf = (p: string) => statSync(p).mode & 0o777
  /** Open the store at `path`; the modes of the log and of its lock while it is open. */
  const modesWhileOpen = (path: string, options: Store.FileOptions = {}) =>
    Effect.runPromise(
      Effect.scoped(
        Effect.map(Store.Store, () => ({ log: modeOf(path), lock: modeOf(Store.lockPath(path)) })).pipe(
          Effect.provide(Store.layerFile(path, options).pipe(Layer.provide(NodeFileSystem.layer)))
        )
      )
    )

  it("creates a new log and its lock 0600 under a permissive umask, or with the mode asked for", () =>
    withUmask(async () => {
      expect(await modesWhileOpen(freshPath())).toEqual({ log: 0o600, lock: 0o600 })
      expect(await modesWhileOpen(freshPath(), { mode: 0o640 })).toEqual({ log: 0o640, lock: 0o640 })
      // an existing log keeps its mode
      const old = freshPath()
      writeFileSync(old, "")
      chmodSync(old, 0o640)
      expect((await modesWhileOpen(old)).log).toBe(0o640)
    }))

  it("repair keeps a 0640 log 0640 and writes its quarantine with the log's mode (0600 for a 0600 log)", () =>
    withUmask(async () => {
      for (const mode of [0o640, 0o600]) {
        const dir = join(tmp.dir, `modes-${++counter}`)
        mkdirSync(dir)
        const path = join(dir, "log.jsonl")
        writeFileSync(path, '{"a":1}\n{"b":')
        chmodSync(path, mode)
        const r = await Effect.runPromise(Store.repair(path).pipe(Effect.provide(NodeFileSystem.layer)))
        expect(modeOf(path)).toBe(mode)
        expect(modeOf(Option.getOrThrow(r.quarantine))).toBe(mode)
      }
    }))
})
