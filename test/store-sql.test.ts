/**
 * The SQL stores (`Store.layerSql`, `layerSqlUrl`, `layerSqlConfig`) beyond the Store conformance
 * suite (test/store.test.ts runs that on them): turns and what they hand `build`, failures that
 * write nothing, retries after a lost connection (ended by the server, cut while COMMIT was in
 * flight, by a real TCP proxy), typed errors (a server not there, read-only opens, bad names, a
 * missing optional package) and no password in any message. Real SQLite files and a real
 * PostgreSQL (`DATABASE_URL`; see test/sql-helpers.ts for what happens without one).
 */
import { spawn, spawnSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { missingPackageReason } from "../src/internal/optional.js"
import { disagreementOf } from "../src/internal/store.js"
import * as Store from "../src/Store.js"
import { ROOT, tempDir } from "./helpers.js"
import { closedPort, databaseUrl, describePg, freshChain, freshPrefix, pgLayer, pgProxy, sqliteLayer } from "./sql-helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
const freshDb = () => join(tmp.dir, `store-${++counter}.db`)

// ---------------------------------------------------------------------------------------------
// Helpers

/** An entry line as the chain writes one: its seq, type, a hash of its own and the previous one. */
const entry = (seq: number, type: string, prev: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ seq, ts: `2026-12-04T00:00:${String(seq % 60).padStart(2, "0")}.000Z`, type, payload: { n: seq, ...extra }, prev_hash: prev, hash: `h${seq}-${Math.random().toString(36).slice(2, 10)}` })

const hashOf = (line: string): string => JSON.parse(line).hash

const linesOf = (s: Store.StoreService) =>
  Effect.flatMap(s.snapshot, (bytes) => Stream.runCollect(bytes)).pipe(
    Effect.map((c) => Buffer.concat(Chunk.toArray(c)).toString("utf8").split("\n").filter((l) => l.length > 0))
  )

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const f = Option.getOrUndefined(Exit.causeOption(exit).pipe(Option.flatMap((c) => (c._tag === "Fail" ? Option.some(c.error) : Option.none()))))
  if (f === undefined) throw new Error(`expected a typed failure, got ${String(Exit.isFailure(exit) ? exit.cause : "")}`)
  return f
}

/** A store service built in the current scope. */
const storeIn = <E>(layer: Layer.Layer<Store.Store, E>) => Effect.map(Layer.build(layer), (ctx) => Context.get(ctx, Store.Store))

const sharedOf = (s: Store.StoreService): Store.Shared => {
  if (s.shared === undefined) throw new Error("a SQL store has shared turns")
  return s.shared
}

/** A turn that appends `count` entries after whatever is there, linked to the head it finds. */
const appendAfter = (s: Store.StoreService, known: { n: number; head: string }, count: number, type = "decision") =>
  Effect.suspend(() => {
    let next = known
    return sharedOf(s).turn(known.n, (written) => {
      let at = known.n + written.length
      let head = written.length > 0 ? written[written.length - 1]!.hash ?? known.head : known.head
      const lines: Array<string> = []
      for (let i = 0; i < count; i++) {
        const l = entry(at++, type, head)
        head = hashOf(l)
        lines.push(l)
      }
      next = { n: at, head }
      return Either.right(lines)
    }).pipe(Effect.map(() => next))
  })

/** Every line of the chain, checked: seq 0..n-1 in order, each entry linked to the one before. */
const checkChain = (lines: ReadonlyArray<string>) => {
  let head = "0".repeat(64)
  lines.forEach((l, i) => {
    const e = JSON.parse(l)
    expect(e.seq, `line ${i}`).toBe(i)
    expect(e.prev_hash, `link at seq ${i}`).toBe(head)
    head = e.hash
  })
}

const ZERO = "0".repeat(64)

/** Table prefixes the PostgreSQL tests created: dropped at the end (the shared `acttrace_*` tables stay). */
const prefixes: Array<string> = []
const prefixOf = (p: string) => (prefixes.push(p), p)
afterAll(async () => {
  if (databaseUrl === undefined || prefixes.length === 0) return
  await Effect.runPromise(
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      Effect.forEach(prefixes, (p) => Effect.forEach(["entries", "chains", "migrations"], (t) => sql.unsafe(`DROP TABLE IF EXISTS ${p}_${t}`), { discard: true }), { discard: true })
    ).pipe(Effect.provide(pgLayer(databaseUrl, 1)))
  )
})

// ---------------------------------------------------------------------------------------------
// Both engines

interface Engine {
  readonly name: string
  /** a fresh database (SQLite) or a fresh chain name on the shared one (PostgreSQL) */
  readonly open: (options?: Partial<Store.SqlOptions>) => { readonly layer: () => Layer.Layer<Store.Store, Store.StoreError>; readonly chain: string; readonly db: string }
  readonly client: (db: string) => Layer.Layer<SqlClient.SqlClient, unknown>
}

const sqliteEngine: Engine = {
  name: "SQLite",
  open: (options = {}) => {
    const db = freshDb()
    const chain = options.chain ?? freshChain("sq")
    return { chain, db, layer: () => Store.layerSqlUrl(db, { ...options, chain }) }
  },
  client: (db) => sqliteLayer(db)
}

const pgEngine = (url: string): Engine => ({
  name: "PostgreSQL",
  open: (options = {}) => {
    const chain = options.chain ?? freshChain("pg")
    return { chain, db: url, layer: () => Store.layerSqlUrl(url, { ...options, chain }) }
  },
  client: (db) => pgLayer(db)
})

const engineSuite = (engine: Engine) => {
  it.scopedLive("a turn hands build what the others wrote since known, in order, with the lines the chain reads", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const a = yield* storeIn(t.layer())
      const b = yield* storeIn(t.layer())
      const open = entry(0, "audit_open", ZERO, { system: "s" })
      const d1 = entry(1, "decision", hashOf(open))
      const cp = entry(2, "checkpoint", hashOf(d1))
      yield* a.append([open, d1, cp, "not an entry"])
      let seen: ReadonlyArray<Store.Written> = []
      yield* sharedOf(b).turn(1, (written) => {
        seen = written
        return Either.right([entry(4, "decision", hashOf(cp))])
      })
      expect(seen).toEqual([
        { seq: 1, type: "decision", hash: hashOf(d1), line: undefined },
        { seq: 2, type: "checkpoint", hash: hashOf(cp), line: cp },
        { seq: 3, type: null, hash: null, line: undefined }
      ])
      // known = the end: nothing to hand
      let again: ReadonlyArray<Store.Written> | undefined
      yield* sharedOf(a).turn(5, (written) => ((again = written), Either.right([])))
      expect(again).toEqual([])
      // an audit_open's line is handed too
      let first: ReadonlyArray<Store.Written> = []
      yield* sharedOf(a).turn(0, (written) => ((first = written), Either.right([])))
      expect(first[0]).toEqual({ seq: 0, type: "audit_open", hash: hashOf(open), line: open })
      expect(first.map((w) => w.seq)).toEqual([0, 1, 2, 3, 4])
    }))

  it.scopedLive("the chain row holds the last entry's hash and the count; the columns come from each entry", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const s = yield* storeIn(t.layer())
      const e0 = entry(0, "decision_record", ZERO, { decision_id: "dec-1" })
      yield* s.append([e0, "plain line"])
      const rows = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const chainRow = yield* sql<{ head: string; entries: string | number }>`SELECT head, entries FROM acttrace_chains WHERE chain = ${t.chain}`
        const entries = yield* sql<{ seq: string | number; ts: string | null; type: string | null; decision_id: string | null; hash: string | null; line: string }>`SELECT seq, ts, type, decision_id, hash, line FROM acttrace_entries WHERE chain = ${t.chain} ORDER BY seq`
        return { chainRow: chainRow.map((r) => ({ head: r.head, entries: Number(r.entries) })), entries: entries.map((r) => ({ ...r, seq: Number(r.seq) })) }
      }).pipe(Effect.provide(engine.client(t.db)))
      // the plain line has no hash: the head stays the last entry's
      expect(rows.chainRow).toEqual([{ head: hashOf(e0), entries: 2 }])
      expect(rows.entries).toEqual([
        { seq: 0, ts: JSON.parse(e0).ts, type: "decision_record", decision_id: "dec-1", hash: hashOf(e0), line: e0 },
        { seq: 1, ts: null, type: null, decision_id: null, hash: null, line: "plain line" }
      ])
    }))

  it.scopedLive("a turn whose build returns Left writes nothing and fails with that error", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const s = yield* storeIn(t.layer())
      yield* s.append([entry(0, "audit_open", ZERO)])
      const exit = yield* Effect.exit(sharedOf(s).turn(1, () => Either.left({ _tag: "Refused" as const, why: "no" })))
      expect(failureOf(exit)).toEqual({ _tag: "Refused", why: "no" })
      expect((yield* linesOf(s)).length).toBe(1)
      // and the chain goes on from there
      yield* appendAfter(s, { n: 1, head: hashOf((yield* linesOf(s))[0]!) }, 2)
      checkChain(yield* linesOf(s))
    }))

  it.scopedLive("refuses an entry whose seq is not its place in the chain, writing nothing of the append", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const s = yield* storeIn(t.layer())
      const e0 = entry(0, "audit_open", ZERO)
      const e = failureOf(yield* Effect.exit(s.append([e0, entry(5, "decision", hashOf(e0))])))
      expect(e).toBeInstanceOf(Store.StoreError)
      expect(e.operation).toBe("append")
      expect(e.reason).toMatch(/entry seq 5, but it would stand at seq 1/)
      expect(yield* linesOf(s)).toEqual([])
    }))

  it.scopedLive("a snapshot's stream gives the same lines every time it runs, while others append", () =>
    Effect.gen(function* () {
      const t = engine.open({ batching: { maxBatch: 100 } })
      const s = yield* storeIn(t.layer())
      const other = yield* storeIn(t.layer())
      let at = yield* appendAfter(s, { n: 0, head: ZERO }, 12_000)
      const snap = yield* s.snapshot
      const text = (st: Stream.Stream<Uint8Array, Store.StoreError>) =>
        Effect.map(Stream.runCollect(st), (c) => ({ chunks: Chunk.size(c), text: Buffer.concat(Chunk.toArray(c)).toString("utf8") }))
      const first = yield* text(snap)
      const writer = yield* Effect.fork(Effect.forEach(Array.from({ length: 20 }), () => Effect.map(appendAfter(other, at, 50), (n) => (at = n)), { discard: true }))
      const runs = [first]
      for (let i = 0; i < 3; i++) runs.push(yield* text(snap))
      yield* Fiber.join(writer)
      runs.push(yield* text(snap))
      for (const r of runs) expect(r.text).toBe(first.text)
      // keyset pages of 1, 16, 256, 4,096 rows (growing while the lines are short: bounded in
      // bytes too), then 5,000 and the 2,631 left: one buffer each (each page under 1 MiB)
      expect(first.chunks).toBe(6)
      expect(first.text.split("\n").length - 1).toBe(12_000)
      // a new snapshot sees the others' lines
      const all = yield* linesOf(s)
      expect(all.length).toBe(12_000 + 20 * 50)
      checkChain(all)
    }))

  it.live("resumes: a second store on the same chain sees its lines and appends after them", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const at = yield* Effect.scoped(Effect.flatMap(storeIn(t.layer()), (s) => appendAfter(s, { n: 0, head: ZERO }, 3)))
      const lines = yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(t.layer())
          expect((yield* linesOf(s)).length).toBe(3)
          yield* appendAfter(s, at, 2)
          return yield* linesOf(s)
        })
      )
      expect(lines.length).toBe(5)
      checkChain(lines)
      // a writer that has seen more than the chain holds is told so
      const e = yield* Effect.scoped(Effect.flatMap(storeIn(t.layer()), (s) => Effect.flip(sharedOf(s).turn(9, () => Either.right([])))))
      expect(e).toBeInstanceOf(Store.StoreError)
      expect((e as Store.StoreError).reason).toMatch(/has seen 9 entries but the chain holds 5/)
    }))

  it.scopedLive("many fibers taking turns in one process: every entry once, at its seq, linked, no gap", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const stores = [yield* storeIn(t.layer()), yield* storeIn(t.layer())]
      const fibers = 16
      const turns = 8
      const acked: Array<string> = []
      yield* Effect.forEach(
        Array.from({ length: fibers }, (_, f) => f),
        (f) =>
          Effect.gen(function* () {
            const s = stores[f % stores.length]!
            let known = { n: 0, head: ZERO }
            for (let i = 0; i < turns; i++) {
              let mine: Array<string> = []
              const before = known
              yield* sharedOf(s).turn(before.n, (written) => {
                let at = before.n + written.length
                let head = written.length > 0 ? written[written.length - 1]!.hash! : before.head
                mine = []
                for (let k = 0; k < 3; k++) {
                  const l = entry(at++, "decision", head, { fiber: f, turn: i })
                  head = hashOf(l)
                  mine.push(l)
                }
                known = { n: at, head }
                return Either.right(mine)
              })
              acked.push(...mine)
            }
          }),
        { concurrency: "unbounded", discard: true }
      )
      const lines = yield* linesOf(stores[0]!)
      expect(lines.length).toBe(fibers * turns * 3)
      checkChain(lines)
      // every acknowledged line is in the chain, as it was acknowledged
      const held = new Set(lines)
      expect(acked.filter((l) => !held.has(l))).toEqual([])
    }))

  it.live("read-only (create: false): a missing chain names the chains there; appends are refused", () =>
    Effect.gen(function* () {
      // tables of its own: the chains listed are this test's
      const tablePrefix = prefixOf(freshPrefix("ro"))
      const t = engine.open({ tablePrefix })
      yield* Effect.scoped(Effect.flatMap(storeIn(t.layer()), (s) => appendAfter(s, { n: 0, head: ZERO }, 2)))
      const ro = yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(Store.layerSqlUrl(t.db, { chain: t.chain, create: false, tablePrefix }))
          const lines = yield* linesOf(s)
          return { lines, append: yield* Effect.flip(s.append(["x"])), turn: yield* Effect.flip(sharedOf(s).turn(0, () => Either.right(["x"]))) }
        })
      )
      expect(ro.lines.length).toBe(2)
      expect(ro.append.reason).toMatch(/read-only/)
      expect((ro.turn as Store.StoreError).reason).toMatch(/read-only/)
      const missing = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(t.db, { chain: "no-such-chain", create: false, tablePrefix })))))
      expect(missing).toBeInstanceOf(Store.StoreError)
      expect(missing.operation).toBe("open")
      expect(missing.reason).toBe(`no chain "no-such-chain" in this database; it holds one chain: ${JSON.stringify(t.chain)} (2 entries)`)
      // a prefix nothing was written under: no tables
      const none = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(t.db, { chain: t.chain, create: false, tablePrefix: freshPrefix("none") })))))
      expect(none.reason).toMatch(/no acttrace tables .* in this database/)
    }))

  it.live("refuses a bad chain name, table prefix or retry setting with a typed error", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const cases: ReadonlyArray<[Partial<Store.SqlOptions>, RegExp]> = [
        [{ chain: "" }, /chain name must be 1 to 200 characters/],
        [{ chain: "x".repeat(201) }, /chain name must be 1 to 200 characters/],
        [{ chain: "line\nbreak" }, /without control characters/],
        [{ tablePrefix: "Robert'); DROP TABLE" }, /table prefix must be/],
        [{ tablePrefix: "x".repeat(32) }, /table prefix must be/],
        [{ retry: { times: 0 } }, /retry.times/],
        [{ batching: { maxBatch: 0 } }, /batching.maxBatch/]
      ]
      for (const [options, reason] of cases) {
        const e = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(t.db, { chain: t.chain, ...options })))))
        expect(e, JSON.stringify(options)).toBeInstanceOf(Store.StoreError)
        expect(e.reason, JSON.stringify(options)).toMatch(reason)
      }
    }))

  it.scopedLive("a table prefix of its own: tables created on first use, chains kept apart", () =>
    Effect.gen(function* () {
      const prefix = prefixOf(freshPrefix("own"))
      const t = engine.open({ tablePrefix: prefix })
      const s = yield* storeIn(t.layer())
      yield* appendAfter(s, { n: 0, head: ZERO }, 2)
      const counts = yield* Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ n: string | number }>`SELECT count(*) AS n FROM ${sql(`${prefix}_entries`)}`
        const migrations = yield* sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM ${sql(`${prefix}_migrations`)}`
        return { rows: Number(rows[0]!.n), migrations }
      }).pipe(Effect.provide(engine.client(t.db)))
      expect(counts.rows).toBe(2)
      expect(counts.migrations.map((m) => [m.migration_id, m.name])).toEqual([[1, "create_chains_and_entries"]])
    }))

  /** Run `f` on the engine's database, beside the store (an edit made behind its back). */
  const behind = (db: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) =>
    Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(engine.client(db)), Effect.orDie)

  /** A snapshot's lines, and how its stream ended (undefined: it ended well). */
  const snapshotOf = (s: Store.StoreService) =>
    Effect.flatMap(s.snapshot, (bytes) =>
      Effect.gen(function* () {
        const lines: Array<string> = []
        const end = yield* Stream.runForEach(bytes, (b) => Effect.sync(() => lines.push(...Buffer.from(b).toString("utf8").split("\n").filter((l) => l.length > 0)))).pipe(Effect.flip, Effect.option)
        return { lines, end: Option.getOrUndefined(end) }
      }))

  it.scopedLive("a snapshot yields the rows that are there, gaps and all (across pages), without a read error; a turn refuses to build on the gap", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const s = yield* storeIn(t.layer())
      // more than one page of 5,000, bare lines (no head to hold against them)
      const all = Array.from({ length: 5_003 }, (_, i) => `line ${i}`)
      yield* s.append(all)
      yield* behind(t.db, (sql) => sql`DELETE FROM acttrace_entries WHERE chain = ${t.chain} AND seq IN (10, 4999, 5000, 5001)`)
      const got = yield* snapshotOf(s)
      expect(got.end).toBeUndefined()
      expect(got.lines).toEqual(all.filter((_, i) => ![10, 4_999, 5_000, 5_001].includes(i)))
      const refused = yield* Effect.flip(sharedOf(s).turn(4_000, () => Either.right(["never"])))
      expect(refused).toBeInstanceOf(Store.StoreError)
      expect((refused as Store.StoreError).reason).toMatch(/row at seq 4999 is not in acttrace_entries/)
      expect((yield* snapshotOf(s)).lines).toHaveLength(all.length - 4)
    }))

  it.scopedLive("a snapshot yields rows past the chain row's count, then says where the chain row disagrees with its rows (rows added or deleted at the end, count or head edited), or ends at the first row whose query columns are not its line's", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<{
        readonly name: string
        readonly edit: (sql: SqlClient.SqlClient, chain: string, lines: ReadonlyArray<string>) => Effect.Effect<unknown, unknown>
        readonly lines: (lines: ReadonlyArray<string>) => ReadonlyArray<string>
        readonly disagreement: { readonly kind: string; readonly seq: number }
      }> = [
        {
          name: "a row inserted past the end",
          edit: (sql, chain) => sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${4}, ${"forged"})`,
          lines: (ls) => [...ls, "forged"],
          disagreement: { kind: "extra", seq: 4 }
        },
        {
          // pages are ranges of seqs: the gap up to it is crossed in one statement, not a page at a time
          name: "a row inserted far past the end (seq 10^12)",
          edit: (sql, chain) => sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${1_000_000_000_000}, ${"forged"})`,
          lines: (ls) => [...ls, "forged"],
          disagreement: { kind: "extra", seq: 4 }
        },
        {
          // rows the pages, from seq 0 in safe integers, would never reach: said before any row
          name: "a row inserted at seq -1",
          edit: (sql, chain) => sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${-1}, ${"forged"})`,
          lines: () => [],
          disagreement: { kind: "extra", seq: -1 }
        },
        {
          name: "a row inserted at seq 2^53 (a JavaScript number rounds there)",
          edit: (sql, chain) => sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${2 ** 53}, ${"forged"})`,
          lines: () => [],
          disagreement: { kind: "extra", seq: 4 }
        },
        {
          name: "the count lowered by 2",
          edit: (sql, chain) => sql`UPDATE acttrace_chains SET entries = entries - 2 WHERE chain = ${chain}`,
          lines: (ls) => ls,
          disagreement: { kind: "extra", seq: 2 }
        },
        {
          name: "the last row deleted",
          edit: (sql, chain) => sql`DELETE FROM acttrace_entries WHERE chain = ${chain} AND seq = 3`,
          lines: (ls) => ls.slice(0, 3),
          disagreement: { kind: "truncated", seq: 3 }
        },
        {
          name: "the count raised by 1",
          edit: (sql, chain) => sql`UPDATE acttrace_chains SET entries = entries + 1 WHERE chain = ${chain}`,
          lines: (ls) => ls,
          disagreement: { kind: "truncated", seq: 4 }
        },
        {
          name: "a query column edited (ts of seq 2, hash of seq 1): the rows before the first",
          edit: (sql, chain) =>
            Effect.zipRight(
              sql`UPDATE acttrace_entries SET ts = '1999-01-01T00:00:00.000Z' WHERE chain = ${chain} AND seq = 2`,
              sql`UPDATE acttrace_entries SET hash = ${"a".repeat(64)} WHERE chain = ${chain} AND seq = 1`
            ),
          lines: (ls) => ls.slice(0, 1),
          disagreement: { kind: "column", seq: 1 }
        },
        {
          name: "a row's decision_id set where its line has none",
          edit: (sql, chain) => sql`UPDATE acttrace_entries SET decision_id = 'someone-else' WHERE chain = ${chain} AND seq = 3`,
          lines: (ls) => ls.slice(0, 3),
          disagreement: { kind: "column", seq: 3 }
        },
        {
          name: "two rows folded into one (the next deleted)",
          edit: (sql, chain, ls) =>
            Effect.zipRight(
              sql`UPDATE acttrace_entries SET line = line || ${"\n" + ls[3]!} WHERE chain = ${chain} AND seq = 2`,
              sql`DELETE FROM acttrace_entries WHERE chain = ${chain} AND seq = 3`
            ),
          lines: (ls) => ls.slice(0, 2),
          disagreement: { kind: "line", seq: 2 }
        },
        {
          name: "the head edited",
          edit: (sql, chain) => sql`UPDATE acttrace_chains SET head = ${"e".repeat(64)} WHERE chain = ${chain}`,
          lines: (ls) => ls,
          disagreement: { kind: "head", seq: 3 }
        }
      ]
      for (const c of cases) {
        const t = engine.open()
        const s = yield* storeIn(t.layer())
        yield* appendAfter(s, { n: 0, head: ZERO }, 4)
        const before = yield* linesOf(s)
        yield* behind(t.db, (sql) => c.edit(sql, t.chain, before))
        const got = yield* snapshotOf(s)
        expect({ name: c.name, lines: got.lines }).toEqual({ name: c.name, lines: c.lines(before) })
        expect(got.end, c.name).toBeInstanceOf(Store.StoreError)
        expect({ name: c.name, ...disagreementOf(got.end as Store.StoreError) }).toMatchObject({ name: c.name, ...c.disagreement })
        // the same every time the stream runs
        expect(yield* snapshotOf(s)).toEqual(got)
      }
    }))

  it.scopedLive("a column that a line only seems to state (a nested or escaped decision_id, a second payload or hash) is still judged by the line as JSON reads it", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const s = yield* storeIn(t.layer())
      const tail = (seq: number, hash: string) => `"seq":${seq},"ts":"t${seq}","type":"d","prev_hash":"00","hash":"${hash}"}`
      const lines = [
        `{"payload":{"a":{"decision_id":"X"},"decision_id":"Y"},${tail(0, "a0")}`,
        `{"payload":{"decision_id":"A"},"payload":{},${tail(1, "a1")}`,
        `{"payload":{"decision\\u005fid":"Z"},${tail(2, "a2")}`,
        `{"payload":{},"seq":3,"ts":"t3","type":"d","prev_hash":"00","hash":"aa","hash":"a3"}`,
        `{"payload":{"decision_id":"W"},${tail(4, "a4")}`,
        `{"payload":{"a":"x\\",\\"decision_id\\":\\"Q\\\\","decision_id":"R","n":"line\\nbreak"},${tail(5, "a5")}`
      ]
      yield* s.append(lines)
      expect(yield* snapshotOf(s)).toEqual({ lines, end: undefined })
      // what a look at the text alone would take each line to say
      const tempting: ReadonlyArray<readonly [string, string | null]> = [["decision_id", "X"], ["decision_id", "A"], ["decision_id", null], ["hash", "aa"], ["decision_id", "W\",\"x"], ["decision_id", "Q"]]
      for (const [seq, [column, value]] of tempting.entries()) {
        const before = yield* behind(t.db, (sql) => sql<Record<string, string | null>>`SELECT ${sql(column)} AS v FROM acttrace_entries WHERE chain = ${t.chain} AND seq = ${seq}`)
        yield* behind(t.db, (sql) => sql`UPDATE acttrace_entries SET ${sql(column)} = ${value} WHERE chain = ${t.chain} AND seq = ${seq}`)
        const got = yield* snapshotOf(s)
        expect({ seq, column, ...disagreementOf(got.end as Store.StoreError) }).toMatchObject({ seq, column, kind: "column" })
        expect(got.lines).toEqual(lines.slice(0, seq))
        yield* behind(t.db, (sql) => sql`UPDATE acttrace_entries SET ${sql(column)} = ${(before as ReadonlyArray<{ v: string | null }>)[0]!.v} WHERE chain = ${t.chain} AND seq = ${seq}`)
      }
      expect((yield* snapshotOf(s)).end).toBeUndefined()
    }))

  it.scopedLive("refuses a line holding a newline or a lone surrogate (the database would read it back as two lines, or changed), writing nothing of the append", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const s = yield* storeIn(t.layer())
      yield* s.append(["first"])
      for (const [bad, reason] of [["two\nlines", /line 2 of the append holds a newline/], ["lone \ud800 surrogate", /line 2 of the append holds a lone surrogate/]] as const) {
        const e = yield* Effect.flip(s.append(["fine", bad]))
        expect(e.operation).toBe("append")
        expect(e.reason).toMatch(reason)
      }
      expect(yield* linesOf(s)).toEqual(["first"])
    }))

  it.scopedLive("a turn takes what others wrote from their lines, never their columns, and refuses a line that does not state its row's seq or link to the line before", () =>
    Effect.gen(function* () {
      const t = engine.open()
      const a = yield* storeIn(t.layer())
      const b = yield* storeIn(t.layer())
      const mine = yield* appendAfter(a, { n: 0, head: ZERO }, 2)
      yield* appendAfter(b, mine, 2)
      const lines = yield* linesOf(a)
      // the hash and type columns of another writer's rows edited: the lines are the truth
      yield* behind(t.db, (sql) => sql`UPDATE acttrace_entries SET hash = ${"f".repeat(64)}, type = 'checkpoint' WHERE chain = ${t.chain} AND seq >= 2`)
      let seen: ReadonlyArray<Store.Written> = []
      yield* sharedOf(a).turn(mine.n, (written) => ((seen = written), Either.right([])))
      expect(seen).toEqual([
        { seq: 2, type: "decision", hash: hashOf(lines[2]!), line: undefined },
        { seq: 3, type: "decision", hash: hashOf(lines[3]!), line: undefined }
      ])
      const refusedWith = (edit: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>, reason: RegExp) =>
        Effect.gen(function* () {
          yield* behind(t.db, edit)
          let calls = 0
          const e = yield* Effect.flip(sharedOf(a).turn(mine.n, () => (calls++, Either.right([entry(4, "decision", hashOf(lines[3]!))]))))
          expect(e).toBeInstanceOf(Store.StoreError)
          expect((e as Store.StoreError).reason).toMatch(reason)
          expect(calls).toBe(0)
          yield* behind(t.db, (sql) => Effect.forEach(lines, (line, seq) => sql`UPDATE acttrace_entries SET line = ${line} WHERE chain = ${t.chain} AND seq = ${seq}`))
        })
      // a row holding another seq's line (two rows' lines swapped)
      yield* refusedWith((sql) => sql`UPDATE acttrace_entries SET line = ${lines[2]!} WHERE chain = ${t.chain} AND seq = 3`, /row at seq 3 .* holds the line of the entry seq 2: it was edited/)
      // a caught-up line whose prev_hash is not the hash of the line before it
      yield* refusedWith((sql) => sql`UPDATE acttrace_entries SET line = ${lines[3]!.replace(/"prev_hash":"[^"]*"/, `"prev_hash":"${"a".repeat(64)}"`)} WHERE chain = ${t.chain} AND seq = 3`, /row at seq 3 .* prev_hash "a{64}" is not the hash of the line before it/)
      // the line this writer last knew (known - 1) edited: the first caught-up line does not link to it
      yield* refusedWith((sql) => sql`UPDATE acttrace_entries SET line = ${lines[1]!.replace(/"hash":"[^"]*"/, `"hash":"${"b".repeat(64)}"`)} WHERE chain = ${t.chain} AND seq = 1`, /row at seq 2 .* is not the hash of the line before it \(b{64}\)/)
      // nothing was written by the refused turns, and the chain (its columns put back) goes on
      yield* behind(t.db, (sql) => Effect.forEach([2, 3], (seq) => sql`UPDATE acttrace_entries SET hash = ${hashOf(lines[seq]!)}, type = 'decision' WHERE chain = ${t.chain} AND seq = ${seq}`))
      yield* appendAfter(a, { n: 4, head: hashOf(lines[3]!) }, 1)
      checkChain(yield* linesOf(a))
    }))
}

describe("Store.layerSql on SQLite", () => {
  engineSuite(sqliteEngine)

  it.live("takes any SQLite SqlClient (layerSql), and names the store after its file", () =>
    Effect.gen(function* () {
      const db = freshDb()
      const chain = freshChain("sq")
      const s = yield* Effect.scoped(Effect.map(storeIn(Store.layerSql({ chain }).pipe(Layer.provide(sqliteLayer(db)))), (s) => s.name))
      expect(s).toBe(`${db} chain ${chain}`)
    }))

  it.live("a read-only open of a SQLite file that is not there is a typed error and creates nothing", () =>
    Effect.gen(function* () {
      const db = join(tmp.dir, "absent.db")
      const e = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(`sqlite:${db}`, { chain: "c", create: false })))))
      expect(e.reason).toMatch(/no SQLite database at this path/)
      expect(e.path).toBe(`${db} chain c`)
      expect(existsSync(db)).toBe(false)
      // a directory that does not exist: typed, not a defect
      const deep = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(join(tmp.dir, "no", "such", "x.db"), { chain: "c" })))))
      expect(deep).toBeInstanceOf(Store.StoreError)
      expect(deep.operation).toBe("open")
    }))

  it.scopedLive("a writer in another process holding the lock past the busy timeout: SQLITE_BUSY, retried, then the turn goes after that writer's entry", () =>
    Effect.gen(function* () {
      const db = freshDb()
      const chain = freshChain("sq")
      const s = yield* storeIn(Store.layerSqlUrl(db, { chain }))
      yield* s.append([JSON.stringify({ seq: 0, ts: "t", type: "audit_open", payload: {}, prev_hash: ZERO, hash: "h0" })])
      const child = spawn(process.execPath, [join(ROOT, "test/fixtures/sql-store-freeze.mjs"), db, chain, "0"], { stdio: ["ignore", "pipe", "inherit"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      let out = ""
      child.stdout.on("data", (d: Buffer) => (out += d.toString()))
      const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)))
      yield* Effect.promise(async () => {
        while (!out.includes("holding")) await new Promise((ok) => setTimeout(ok, 20))
      })
      // better-sqlite3 waits for the lock synchronously (5 s busy timeout), this event loop with
      // it: another process continues the frozen writer after 6 s
      spawn("sh", ["-c", `sleep 6; kill -CONT ${child.pid}`], { stdio: "ignore" })
      const started = Date.now()
      const seen: Array<ReadonlyArray<number>> = []
      yield* sharedOf(s).turn(1, (written) => {
        seen.push(written.map((w) => w.seq))
        const prev = written.length > 0 ? written[written.length - 1]!.hash! : "h0"
        return Either.right([JSON.stringify({ seq: 1 + written.length, ts: "t", type: "decision", payload: { by: "parent" }, prev_hash: prev, hash: "parent" })])
      })
      expect(Date.now() - started).toBeGreaterThanOrEqual(5_000)
      expect(seen).toEqual([[1]])
      expect(yield* Effect.promise(() => exited)).toBe(0)
      expect(JSON.parse(out.split("\n")[1]!)).toEqual({ calls: [[]] })
      const lines = (yield* linesOf(s)).map((l) => JSON.parse(l))
      expect(lines.map((e) => [e.seq, e.prev_hash, e.hash])).toEqual([[0, ZERO, "h0"], [1, "h0", "frozen-1"], [2, "frozen-1", "parent"]])
    }))

  it.live("opens in WAL mode", () =>
    Effect.gen(function* () {
      const db = freshDb()
      yield* Effect.scoped(storeIn(Store.layerSqlUrl(db, { chain: "c" })))
      const mode = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ journal_mode: string }>`PRAGMA journal_mode`).pipe(Effect.provide(sqliteLayer(db)))
      expect(mode[0]!.journal_mode).toBe("wal")
    }))
}, 60_000)

describe("Store.layerSqlUrl: what a URL may name", () => {
  it.live("refuses another scheme, and an empty URL, with a typed error", () =>
    Effect.gen(function* () {
      for (const [url, reason] of [
        ["mysql://u:pw@host/db", /mysql:\/\/ is not a database this store supports/],
        ["", /empty/],
        ["sqlite:", /names no file/],
        ["postgres://u:pw@[::1/db", /does not parse/]
      ] as const) {
        const e = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(url, { chain: "c" })))))
        expect(e, url).toBeInstanceOf(Store.StoreError)
        expect(e.reason, url).toMatch(reason)
        expect(e.message, url).not.toContain("pw")
      }
    }))
})

describe("Store: a missing optional package", () => {
  it("maps a failed import to a StoreError naming the package to install", async () => {
    // a real failed import, of a package that is not installed
    const cause = await import(/* @vite-ignore */ ["@effect", "sql-not-installed"].join("/")).then(() => undefined, (e: unknown) => e)
    expect(cause).toBeDefined()
    expect(missingPackageReason("@effect/sql-not-installed@^1", cause)).toBe(
      "the optional package @effect/sql-not-installed is not installed (the SQL stores need it): npm install @effect/sql-not-installed@^1"
    )
  })

  // The built library in a directory of its own, beside an app whose node_modules holds effect and
  // @effect/platform but not the optional SQL packages: what a user without them gets.
  it("a consumer without @effect/sql (or without the driver) gets a StoreError naming it, and can still use the other stores", () => {
    const dir = join(tmp.dir, "consumer")
    mkdirSync(join(dir, "node_modules", "@effect"), { recursive: true })
    cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true, filter: (p) => !p.endsWith(".map") && !p.endsWith(".d.ts") })
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }))
    symlinkSync(join(ROOT, "node_modules", "effect"), join(dir, "node_modules", "effect"))
    symlinkSync(join(ROOT, "node_modules", "@effect", "platform"), join(dir, "node_modules", "@effect", "platform"))
    const script = `
      import * as Effect from "effect/Effect"
      import * as Layer from "effect/Layer"
      import * as Store from "./dist/Store.js"
      const open = (layer) => Effect.runPromiseExit(Effect.scoped(Layer.build(layer))).then((x) => x._tag === "Success" ? "ok" : JSON.stringify(x.cause.error ?? String(x.cause)))
      console.log(await open(Store.layerMemory()))
      console.log(await open(Store.layerSqlUrl(process.argv[2], { chain: "c" })))
    `
    writeFileSync(join(dir, "try.mjs"), script)
    const run = (url: string) => spawnSync(process.execPath, ["try.mjs", url], { cwd: dir, encoding: "utf8" })
    const noSql = run(join(dir, "x.db"))
    expect(noSql.stderr).toBe("")
    const [memory, sql] = noSql.stdout.trim().split("\n")
    expect(memory).toBe("ok")
    expect(JSON.parse(sql!)).toMatchObject({ _tag: "StoreError", operation: "open", path: `${join(dir, "x.db")} chain c` })
    expect(JSON.parse(sql!).reason).toMatch(/optional package @effect\/sql is not installed .*npm install @effect\/sql/)
    // @effect/sql there, the SQLite driver not
    symlinkSync(join(ROOT, "node_modules", "@effect", "sql"), join(dir, "node_modules", "@effect", "sql"))
    symlinkSync(join(ROOT, "node_modules", "@effect", "experimental"), join(dir, "node_modules", "@effect", "experimental"))
    const noDriver = run(join(dir, "x.db"))
    expect(noDriver.stderr).toBe("")
    expect(JSON.parse(noDriver.stdout.trim().split("\n")[1]!).reason).toMatch(/optional package @effect\/sql-sqlite-node is not installed .*npm install @effect\/sql-sqlite-node/)
    const noPg = run("postgres://u:secret@127.0.0.1:1/db")
    const pgReason = JSON.parse(noPg.stdout.trim().split("\n")[1]!).reason as string
    expect(pgReason).toMatch(/optional package @effect\/sql-pg is not installed/)
    expect(JSON.parse(noPg.stdout.trim().split("\n")[1]!).path).toBe("postgres://u@127.0.0.1:1/db chain c")
    expect(noPg.stdout).not.toContain("secret")
  })
})

describePg("Store.layerSql on PostgreSQL", (url) => {
  engineSuite(pgEngine(url))

  /** End every connection named `app` from a connection of its own. */
  const terminate = (app: string) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ ended: boolean }>`SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = ${app}`).pipe(
      Effect.map((rows) => rows.filter((r) => r.ended).length),
      Effect.provide(pgLayer(url, 1))
    )

  const withApp = (app: string) => {
    const u = new URL(url)
    u.searchParams.set("application_name", app)
    return u.toString()
  }

  it.live("takes any PostgreSQL SqlClient, even one of a single connection (the migration needs no second)", () =>
    Effect.gen(function* () {
      const chain = freshChain("pg")
      const name = yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(Store.layerSql({ chain, tablePrefix: prefixOf(freshPrefix("one")) }).pipe(Layer.provide(pgLayer(url, 1))))
          yield* appendAfter(s, { n: 0, head: ZERO }, 3)
          checkChain(yield* linesOf(s))
          return s.name
        })
      ).pipe(Effect.timeout("20 seconds"))
      const u = new URL(url)
      expect(name).toBe(`postgres://${u.username}@${u.hostname}:${u.port}${u.pathname} chain ${chain}`)
    }))

  it.live("many stores opening a fresh table prefix at once: one migration, every store opens", () =>
    Effect.gen(function* () {
      const prefix = prefixOf(freshPrefix("mig"))
      const chain = freshChain("pg")
      const names = yield* Effect.all(
        Array.from({ length: 6 }, () => Effect.scoped(Effect.map(storeIn(Store.layerSqlUrl(url, { chain, tablePrefix: prefix })), (s) => s.name))),
        { concurrency: "unbounded" }
      )
      expect(names.length).toBe(6)
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.gen(function* () {
          const m = yield* sql<{ migration_id: number }>`SELECT migration_id FROM ${sql(`${prefix}_migrations`)}`
          const c = yield* sql<{ entries: string }>`SELECT entries FROM ${sql(`${prefix}_chains`)}`
          return { m: m.length, c: c.length }
        })).pipe(Effect.provide(pgLayer(url, 1)))
      expect(rows).toEqual({ m: 1, c: 1 })
    }))

  it.live("connections ended by the server between turns: the next turn reconnects", () =>
    Effect.gen(function* () {
      const app = `acttrace-test-${freshChain("app")}`
      const chain = freshChain("pg")
      const lines = yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(Store.layerSqlUrl(withApp(app), { chain }))
          let at = yield* appendAfter(s, { n: 0, head: ZERO }, 5)
          for (let round = 0; round < 3; round++) {
            expect(yield* terminate(app)).toBeGreaterThan(0)
            at = yield* appendAfter(s, at, 5)
          }
          return yield* linesOf(s)
        })
      )
      expect(lines.length).toBe(20)
      checkChain(lines)
    }))

  it.live("a connection ended in the middle of a turn: the turn writes nothing, runs again with the same rows, and succeeds", () =>
    Effect.gen(function* () {
      const app = `acttrace-test-${freshChain("app")}`
      const chain = freshChain("pg")
      const { calls, lines } = yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(Store.layerSqlUrl(withApp(app), { chain }))
          const other = yield* storeIn(Store.layerSqlUrl(url, { chain }))
          const at = yield* appendAfter(other, { n: 0, head: ZERO }, 2)
          const calls: Array<ReadonlyArray<Store.Written>> = []
          yield* sharedOf(s).turn(0, (written) => {
            calls.push(written)
            if (calls.length === 1) {
              // inside the transaction, holding the chain's lock: the server ends this connection
              const r = spawnSync("psql", [url, "-Atc", `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '${app}' AND state = 'idle in transaction'`], { encoding: "utf8" })
              expect(r.stdout.trim()).toBe("1")
            }
            return Either.right([entry(at.n, "decision", at.head)])
          })
          return { calls, lines: yield* linesOf(other) }
        })
      )
      expect(calls.length).toBe(2)
      expect(calls[1]).toEqual(calls[0])
      expect(calls[0]!.map((w) => w.seq)).toEqual([0, 1])
      expect(lines.length).toBe(3)
      checkChain(lines)
    }))

  it.live("a turn interrupted while it waits for the chain's lock leaves no transaction open and nothing written", () =>
    Effect.gen(function* () {
      const app = `acttrace-test-${freshChain("app")}`
      const chain = freshChain("pg")
      const s = yield* storeIn(Store.layerSqlUrl(withApp(app), { chain }))
      const at = yield* appendAfter(s, { n: 0, head: ZERO }, 2)
      // another connection holds the chain's row lock
      const holder = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(Effect.zipRight(sql`SELECT entries FROM acttrace_chains WHERE chain = ${chain} FOR UPDATE`, Effect.never))).pipe(
          Effect.provide(pgLayer(url, 1)),
          Effect.forkScoped
        )
      yield* Effect.sleep("200 millis")
      let calls = 0
      const waiting = yield* Effect.fork(sharedOf(s).turn(at.n, () => (calls++, Either.right([entry(at.n, "decision", at.head)]))))
      yield* Effect.sleep("300 millis")
      const waited = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ${app} AND wait_event_type = 'Lock'`).pipe(Effect.provide(pgLayer(url, 1)))
      expect(Number(waited[0]!.n)).toBe(1)
      yield* Fiber.interrupt(waiting).pipe(Effect.timeout("5 seconds"))
      yield* Fiber.interrupt(holder)
      expect(calls).toBe(0)
      const open = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ state: string }>`SELECT state FROM pg_stat_activity WHERE application_name = ${app} AND state <> 'idle'`).pipe(Effect.provide(pgLayer(url, 1)))
      expect(open).toEqual([])
      expect(yield* linesOf(s)).toHaveLength(2)
      yield* appendAfter(s, at, 1)
      checkChain(yield* linesOf(s))
    }).pipe(Effect.scoped))

  it.live("a writer frozen inside a turn loses the lock after holdTimeoutMillis; the others go on, and so does it once continued", () =>
    Effect.gen(function* () {
      const chain = freshChain("pg")
      const s = yield* storeIn(Store.layerSqlUrl(url, { chain }))
      yield* s.append([JSON.stringify({ seq: 0, ts: "t", type: "audit_open", payload: {}, prev_hash: ZERO, hash: "h0" })])
      const child = spawn(process.execPath, [join(ROOT, "test/fixtures/sql-store-freeze.mjs"), url, chain, "1000"], { stdio: ["ignore", "pipe", "inherit"] })
      yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
      let out = ""
      child.stdout.on("data", (d: Buffer) => (out += d.toString()))
      const exited = new Promise<number | null>((ok) => child.on("exit", (code) => ok(code)))
      yield* Effect.promise(async () => {
        while (!out.includes("holding")) await new Promise((ok) => setTimeout(ok, 20))
      })
      // the frozen writer holds the chain's lock: this turn waits until the server ends its connection
      const started = Date.now()
      yield* sharedOf(s).turn(1, (written) => {
        expect(written).toEqual([])
        return Either.right([JSON.stringify({ seq: 1, ts: "t", type: "decision", payload: { by: "parent" }, prev_hash: "h0", hash: "parent-1" })])
      }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error("the frozen writer kept the lock") }))
      const waited = Date.now() - started
      expect(waited).toBeGreaterThanOrEqual(700)
      expect(waited).toBeLessThan(10_000)
      child.kill("SIGCONT")
      expect(yield* Effect.promise(() => exited)).toBe(0)
      // its first try was rolled back; run again, it was handed the parent's entry and went after it
      expect(JSON.parse(out.split("\n")[1]!)).toEqual({ calls: [[], [1]] })
      const lines = (yield* linesOf(s)).map((l) => JSON.parse(l))
      expect(lines.map((e) => [e.seq, e.prev_hash, e.hash])).toEqual([[0, ZERO, "h0"], [1, "h0", "parent-1"], [2, "parent-1", "frozen-2"]])
    }).pipe(Effect.scoped))

  it.live("a server that is not there: a typed StoreError after the retries, quickly, without the password", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => closedPort())
      const started = Date.now()
      const e = failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(`postgres://postgres:hunter2-secret@127.0.0.1:${port}/db`, { chain: "c" })))))
      const took = Date.now() - started
      expect(e).toBeInstanceOf(Store.StoreError)
      expect(e.operation).toBe("open")
      expect(e.reason).toMatch(/cannot connect to the database: .*ECONNREFUSED.*gave up after 6 tries/)
      expect(e.path).toBe(`postgres://postgres@127.0.0.1:${port}/db chain c`)
      expect(e.message).not.toContain("hunter2")
      expect(took).toBeLessThan(5_000)
      // the retries took their time: six tries, backing off from 20 ms
      expect(took).toBeGreaterThan(200)
    }))

  it.live("a password in the URL appears in no store name and no error message", () =>
    Effect.gen(function* () {
      // the test server trusts loopback: the password is ignored, the connection made
      const u = new URL(url)
      u.password = "s3cr%2Fet-pw"
      const withPassword = u.toString()
      const chain = freshChain("pg")
      const texts: Array<string> = []
      yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(Store.layerSqlUrl(withPassword, { chain }))
          texts.push(s.name)
          texts.push((yield* Effect.flip(s.append([entry(3, "decision", ZERO)]))).message)
        })
      )
      texts.push(failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(withPassword, { chain: "absent-chain", create: false }))))).message)
      texts.push(failureOf(yield* Effect.exit(Effect.scoped(storeIn(Store.layerSqlUrl(withPassword, { chain: "" }))))).message)
      // through Config, as DATABASE_URL
      const viaConfig = yield* Effect.scoped(
        Effect.map(storeIn(Store.layerSqlConfig({ chain })), (s) => s.name)
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["DATABASE_URL", withPassword]]))))
      texts.push(viaConfig)
      for (const t of texts) {
        expect(t).not.toContain("s3cr")
        expect(t).not.toContain("et-pw")
      }
      expect(texts[0]).toBe(`postgres://${u.username}@${u.host}${u.pathname} chain ${chain}`)
    }))

  it.live("a turn whose rows someone wrote without the lock is retried, then refused naming the seqs; nothing written", () =>
    Effect.gen(function* () {
      const chain = freshChain("pg")
      const result = yield* Effect.scoped(
        Effect.gen(function* () {
          const s = yield* storeIn(Store.layerSqlUrl(url, { chain, retry: { times: 3, baseMillis: 5 } }))
          const at = yield* appendAfter(s, { n: 0, head: ZERO }, 1)
          // a row at the next seq, written around the chain's row
          yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${1}, ${"rogue"})`).pipe(Effect.provide(pgLayer(url, 1)))
          let calls = 0
          const e = yield* Effect.flip(sharedOf(s).turn(at.n, () => (calls++, Either.right([entry(1, "decision", at.head)]))))
          const row = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ entries: string }>`SELECT entries FROM acttrace_chains WHERE chain = ${chain}`).pipe(Effect.provide(pgLayer(url, 1)))
          return { e, calls, entries: Number(row[0]!.entries), snapshot: yield* Effect.exit(linesOf(s)) }
        })
      )
      expect(result.calls).toBe(3)
      expect(result.e).toBeInstanceOf(Store.StoreError)
      expect((result.e as Store.StoreError).reason).toMatch(/entries at seq 1\.\.1 were already in the database although the chain's row said 1.*gave up after 3 tries/)
      // the chain row did not move; a snapshot shows the row written around it, and then says so
      expect(result.entries).toBe(1)
      expect(disagreementOf(failureOf(result.snapshot))).toMatchObject({ kind: "extra", seq: 1 })
    }))

  describe("a connection lost while COMMIT is in flight", () => {
    it.live("committed (the server got the COMMIT): read back, acknowledged once, not written twice", () =>
      Effect.gen(function* () {
        const proxy = yield* Effect.acquireRelease(Effect.promise(() => pgProxy(url)), (p) => Effect.promise(() => p.close()))
        const chain = freshChain("pg")
        const s = yield* storeIn(Store.layerSqlUrl(proxy.url, { chain }))
        const at = yield* appendAfter(s, { n: 0, head: ZERO }, 2)
        proxy.mode = "cut-after-commit"
        let calls = 0
        const line = entry(at.n, "decision", at.head)
        yield* sharedOf(s).turn(at.n, () => (calls++, Either.right([line])))
        expect(proxy.cuts).toBe(1)
        expect(calls).toBe(1)
        const lines = yield* linesOf(s)
        expect(lines).toHaveLength(3)
        expect(lines[2]).toBe(line)
        checkChain(lines)
      }).pipe(Effect.scoped))

    it.live("not committed (the COMMIT never reached the server): read back, run again, written once", () =>
      Effect.gen(function* () {
        const proxy = yield* Effect.acquireRelease(Effect.promise(() => pgProxy(url)), (p) => Effect.promise(() => p.close()))
        const chain = freshChain("pg")
        const s = yield* storeIn(Store.layerSqlUrl(proxy.url, { chain }))
        const at = yield* appendAfter(s, { n: 0, head: ZERO }, 2)
        proxy.mode = "drop-commit"
        let calls = 0
        yield* sharedOf(s).turn(at.n, () => (calls++, Either.right([entry(at.n, "decision", at.head)])))
        expect(proxy.cuts).toBe(1)
        expect(calls).toBe(2)
        const lines = yield* linesOf(s)
        expect(lines).toHaveLength(3)
        checkChain(lines)
      }).pipe(Effect.scoped))

    it.live("outcome unknown (the server gone after it): a StoreError saying so; the next reader sees the entry", () =>
      Effect.gen(function* () {
        const proxy = yield* Effect.acquireRelease(Effect.promise(() => pgProxy(url)), (p) => Effect.promise(() => p.close()))
        const chain = freshChain("pg")
        const e = yield* Effect.scoped(
          Effect.gen(function* () {
            const s = yield* storeIn(Store.layerSqlUrl(proxy.url, { chain, retry: { times: 3, baseMillis: 5 } }))
            const at = yield* appendAfter(s, { n: 0, head: ZERO }, 2)
            proxy.mode = "cut-after-commit"
            proxy.after = "refuse"
            return yield* Effect.flip(sharedOf(s).turn(at.n, () => Either.right([entry(at.n, "decision", at.head)])))
          })
        )
        expect(e).toBeInstanceOf(Store.StoreError)
        const se = e as Store.StoreError
        expect(se.operation).toBe("commit")
        expect(se.reason).toMatch(/lost while COMMIT was in flight .* may or may not be in the chain; the next turn will see them/)
        // it had committed: a store that can reach the server sees it
        const lines = yield* Effect.scoped(Effect.flatMap(storeIn(Store.layerSqlUrl(url, { chain })), linesOf))
        expect(lines).toHaveLength(3)
        checkChain(lines)
      }).pipe(Effect.scoped))
  })
})
