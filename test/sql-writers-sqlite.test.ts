/**
 * Many writers, one chain, in a SQLite file (WAL): real processes (test/fixtures/sql-writer.mjs,
 * on the built library) creating the tables and appending to one chain at once, and writers
 * killed with SIGKILL while they append. The checks read the tables themselves and verify the
 * chain from the file, through the library and through `acttrace verify --db PATH`.
 * `ACTTRACE_LONG=1` runs a larger variant.
 */
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { cli, LONG, tempDir } from "./helpers.js"
import { freshChain, sqliteLayer } from "./sql-helpers.js"
import { type Ack, chainProblems, readChain, verifyDb, Writer, type WriterConfig } from "./sql-writers-helpers.js"

const KEY = "sql-writers-key"
const tmp = tempDir()
const started: Array<Writer> = []
afterAll(() => {
  for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL")
  tmp.cleanup()
})

const writer = (config: Omit<WriterConfig, "key">) => {
  const w = new Writer({ key: KEY, ...config })
  started.push(w)
  return w
}

/** read the file's tables (and anything else) through a SqlClient of the test's own */
const withDb = async <A>(path: string, f: Effect.Effect<A, unknown, SqlClient.SqlClient>): Promise<A> => {
  const db = ManagedRuntime.make(sqliteLayer(path))
  try {
    return await db.runPromise(f)
  } finally {
    await db.dispose()
  }
}

const cliVerify = (path: string, chain: string) => {
  const r = cli(["verify", "--db", path, "--chain", chain, "--key", KEY, "--json"])
  expect(r.stderr, r.stdout).toBe("")
  expect(r.code, r.stdout).toBe(0)
  return JSON.parse(r.stdout) as { ok: boolean; entries: number; head: string }
}

describe("many writers on one SQLite chain (WAL)", () => {
  const per = LONG ? 5_000 : 2_000
  it(`8 processes × ${per} appends to a new file: no gap, one audit_open, every acknowledged entry, verified`, async () => {
    const path = join(tmp.dir, "writers.db")
    const chain = freshChain("sqlite-writers")
    // all eight open the new file at once (creating its tables), and the chain at once
    const ws = Array.from({ length: 8 }, (_, i) => writer({ url: path, chain, id: `w${i}`, count: per, batch: 100, wait: true }))
    await Promise.all(ws.map((w) => w.until("connected")))
    const t0 = Date.now()
    for (const w of ws) w.go()
    const results = await Promise.all(ws.map((w) => w.exited))
    const millis = Date.now() - t0
    for (const r of results) {
      expect(r.errors, r.id).toEqual([])
      expect(r.code, r.id).toBe(0)
      expect(r.acks.length, r.id).toBe(per)
    }
    const acks = results.flatMap((r) => r.acks)
    const { read, mode } = await withDb(
      path,
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const mode = yield* sql<{ journal_mode: string }>`PRAGMA journal_mode`
        return { read: yield* readChain("acttrace", chain), mode: mode[0]!.journal_mode }
      })
    )
    // the writers wrote in WAL mode (the file says so; a rollback-journal file would say "delete")
    expect(mode).toBe("wal")
    expect(chainProblems(read, acks)).toEqual([])
    expect(read.rows.length).toBe(8 * per + 1)
    for (const r of results) {
      const ns = r.acks.map((a) => (JSON.parse(read.rows[a.seq]!.line).payload as { writer: string; n: number }))
      expect(ns.every((p) => p.writer === r.id), r.id).toBe(true)
      expect(ns.map((p) => p.n), r.id).toEqual(Array.from({ length: per }, (_, i) => i))
    }
    const order = read.rows.slice(1).map((row) => (JSON.parse(row.line).payload as { writer: string }).writer)
    const switches = order.filter((w, i) => i > 0 && w !== order[i - 1]).length
    expect(switches).toBeGreaterThan(8)
    expect((await verifyDb(path, chain, KEY)).entries).toBe(8 * per + 1)
    expect(cliVerify(path, chain)).toMatchObject({ ok: true, entries: 8 * per + 1, head: read.head })
    console.log(`SQLite, 8 writers × ${per}: ${8 * per} entries in ${millis} ms from go to the last done (${Math.round((8 * per) / (millis / 1000))}/s); writer changes along the chain: ${switches}`)
  }, LONG ? 600_000 : 120_000)

  it("SIGKILL of writers appending at once: every acknowledged entry stays, the next writer continues", async () => {
    const path = join(tmp.dir, "killed.db")
    const chain = freshChain("sqlite-killed")
    const acks: Array<Ack> = []
    const rounds = LONG ? 6 : 2
    for (let round = 0; round < rounds; round++) {
      // two writers at once, killed one after the other at different points
      const a = writer({ url: path, chain, id: `a${round}`, count: 100_000, batch: 50 })
      const b = writer({ url: path, chain, id: `b${round}`, count: 100_000, batch: 50 })
      const until = (w: Writer, n: number) =>
        new Promise<void>((ok) => {
          const t = setInterval(() => {
            if (w.acks.length >= n || w.child.exitCode !== null) {
              clearInterval(t)
              ok()
            }
          }, 5)
        })
      await until(a, 150 + round * 97)
      const ra = await a.kill()
      await until(b, 400 + round * 53)
      const rb = await b.kill()
      for (const r of [ra, rb]) {
        expect(r.errors, r.id).toEqual([])
        expect(r.signal, r.id).toBe("SIGKILL")
        acks.push(...r.acks)
      }
    }
    const read = await withDb(path, readChain("acttrace", chain))
    expect(chainProblems(read, acks)).toEqual([])
    const next = await writer({ url: path, chain, id: "next", count: 100, batch: 25 }).exited
    expect(next.errors).toEqual([])
    expect(next.opened?.entries).toBe(read.rows.length)
    const after = await withDb(path, readChain("acttrace", chain))
    expect(chainProblems(after, [...acks, ...next.acks])).toEqual([])
    expect(cliVerify(path, chain)).toMatchObject({ ok: true, entries: read.rows.length + 100 })
  }, 120_000)
})
