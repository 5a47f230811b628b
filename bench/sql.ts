/**
 * `npm run bench` (SQL stores): appends to a shared chain in PostgreSQL on loopback and in SQLite,
 * and verification read back from PostgreSQL, each against what the database gives without the
 * chain, measured in the same run: the same rows by a bare INSERT loop (the same columns, keys and
 * indexes, the same client), and the same rows read in pages and hashed.
 *
 * - PostgreSQL, one writer, batched: 256 concurrent callers (the chain gathers what is queued into
 *   one turn: one transaction holding the chain row's lock), against bare INSERTs of 256 rows; and
 *   one caller (a turn per append), against bare one-row INSERTs;
 * - PostgreSQL, 8 writer processes on one chain (bench/sql-writer.ts), timed from the moment all
 *   are connected and warmed up to the moment the last is done, against 8 connections inserting
 *   the same rows with no chain (no lock, no order);
 * - SQLite (WAL), one writer, 256 callers, against bare INSERTs of 256 rows;
 * - verify from PostgreSQL: the store's snapshot (pages of seq ranges) through `Verify.stream`, against
 *   reading the same rows in the same pages and hashing each line (SHA-256, then its HMAC).
 *
 * Append latency is each `append` call's, from the call to its acknowledgement (its entry
 * committed), p50 and p99. PostgreSQL: `DATABASE_URL` when set (tables under a prefix of the
 * bench's own, dropped at the end); else, when PostgreSQL's server binaries are there, the bench
 * runs itself again through `scripts/with-postgres.sh` (a private server, stopped after); else the
 * PostgreSQL part is skipped, and the bench says so. Set BENCH_QUICK=1 for smaller counts, and
 * BENCH_SQL=pg or BENCH_SQL=sqlite for one engine only.
 */
import { spawnSync } from "node:child_process"
import { fork } from "node:child_process"
import { createHmac, hash, randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { NodeFileSystem } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as F from "../src/internal/fixtures.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
// a row of the entries table, as the bare loops insert it (the store's own)
import type { Row } from "../src/internal/sql.js"
import type { Message } from "./sql-writer.js"

const QUICK = process.env["BENCH_QUICK"] === "1"
const KEY = "bench-key"
const ROOT = resolve(import.meta.dirname, "..", "..")
const CALLERS = 256
const N_PG = QUICK ? 10_000 : 50_000
const N_ONE = QUICK ? 300 : 1_000
const ROUNDS = QUICK ? 1 : 3
const WRITERS = 8
const PER_WRITER = QUICK ? 1_000 : 5_000
const WRITER_CALLERS = Number(process.env["BENCH_WRITER_CALLERS"] ?? 256)
const N_SQLITE = QUICK ? 20_000 : 100_000
const VERIFY_ROUNDS = QUICK ? 3 : 5
const PAGE = 5_000
const ONLY = process.env["BENCH_SQL"]

const fmt = (n: number) => Math.round(n).toLocaleString("en-US")
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1))
const median = (xs: ReadonlyArray<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
/** p50 and p99 of latencies in milliseconds, as text. */
const pcts = (latencies: ArrayLike<number>): string => {
  const s = Float64Array.from(latencies).sort()
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!
  return `p50 ${ms(at(0.5))} ms, p99 ${ms(at(0.99))} ms`
}
/** One result line: the label, the rate right-aligned in one column, then what goes with it. */
const row = (label: string, rate: number, rest: string) => console.log(`  ${label.padEnd(52)}${fmt(rate).padStart(9)}   ${rest}`)
const verdict = (rate: number, target: number) => `target >= ${fmt(target)}: ${rate >= target ? "met" : "NOT MET"}`

const payloads = Array.from({ length: Math.max(N_PG, N_SQLITE) }, (_, i) => F.llmCall(i).payload)
const prefix = `bench_${randomBytes(4).toString("hex")}`
let chains = 0
const freshChain = (what: string) => `bench-${what}-${++chains}-${randomBytes(3).toString("hex")}`

const logOver = (store: Layer.Layer<Store.Store, unknown>) =>
  AuditLog.layer({ system: "bench", riskTier: "high" }).pipe(
    Layer.provide(store),
    Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
    Layer.provide(Redactor.layerDefault),
    Layer.provideMerge(NodeFileSystem.layer)
  )

interface Run {
  readonly rate: number
  readonly latencies: Float64Array
}

/**
 * Append `n` payloads to a fresh log over `store` with `callers` concurrent callers; the rate
 * counts from the first append (the log already open: connected, migrated, its chain read).
 */
const appendRun = (store: Layer.Layer<Store.Store, unknown>, n: number, callers: number): Promise<Run> =>
  Effect.runPromise(
    Effect.gen(function* () {
      const log = yield* AuditLog.AuditLog
      const latencies = new Float64Array(n)
      const start = performance.now()
      yield* Effect.forEach(
        payloads.slice(0, n),
        (p, i) =>
          Effect.suspend(() => {
            const t = performance.now()
            return Effect.map(log.append("llm_call", p), () => {
              latencies[i] = performance.now() - t
            })
          }),
        { concurrency: callers, discard: true }
      )
      return { rate: n / ((performance.now() - start) / 1000), latencies }
    }).pipe(Effect.provide(logOver(store)), Effect.scoped)
  )


/** The bare loops' table: the entries table's columns, key and indexes, and nothing of the chain. */
const createBare = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    const t = `${prefix}_bare`
    yield* sql.unsafe(
      `CREATE TABLE IF NOT EXISTS ${t} (chain TEXT NOT NULL, seq BIGINT NOT NULL, ts TEXT, type TEXT, decision_id TEXT, hash TEXT, line TEXT NOT NULL, PRIMARY KEY (chain, seq))`
    )
    yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${t}_decision ON ${t} (chain, decision_id)`)
    yield* sql.unsafe(`CREATE INDEX IF NOT EXISTS ${t}_ts ON ${t} (chain, ts)`)
  })

/** The rows our run wrote to `chain`, to insert again bare. */
const rowsOf = (sql: SqlClient.SqlClient, chain: string, relabel: string) =>
  Effect.map(
    sql.unsafe<{ seq: number | string; ts: string | null; type: string | null; decision_id: string | null; hash: string | null; line: string }>(
      `SELECT seq, ts, type, decision_id, hash, line FROM ${prefix}_entries WHERE chain = ${sql.onDialectOrElse({ pg: () => "$1", orElse: () => "?" })} ORDER BY seq`,
      [chain]
    ),
    (rows): Array<Row> => rows.map((r) => ({ ...r, chain: relabel, seq: Number(r.seq) }))
  )

/**
 * The bare INSERT loop: `rows` in multi-row INSERTs of `batch` rows, each statement its own
 * transaction (committed, durable, before the next), on `writers` connections at once. Rates
 * count rows per second; latencies are per statement.
 */
const bareLoop = (sql: SqlClient.SqlClient, rows: ReadonlyArray<Row>, batch: number, writers = 1) =>
  Effect.gen(function* () {
    const table = sql(`${prefix}_bare`)
    const batches: Array<ReadonlyArray<Row>> = []
    for (let i = 0; i < rows.length; i += batch) batches.push(rows.slice(i, i + batch))
    const latencies: Array<number> = []
    const start = performance.now()
    yield* Effect.forEach(
      batches,
      (b) =>
        Effect.suspend(() => {
          const t = performance.now()
          return Effect.map(sql`INSERT INTO ${table} ${sql.insert(b)}`, () => {
            latencies.push(performance.now() - t)
          })
        }),
      { concurrency: writers, discard: true }
    )
    return { rate: rows.length / ((performance.now() - start) / 1000), latencies: Float64Array.from(latencies) }
  })

const pgClient = (url: string, maxConnections: number) => PgClient.layer({ url: Redacted.make(url), maxConnections })

/**
 * How many transactions have moved chain rows of the bench's tables so far: one per turn that
 * wrote (PostgreSQL's statistics; a closed connection's are in once it has gone, hence the wait).
 * Entries over turns is how many appends one transaction carried.
 */
const turnsSoFar = (url: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      yield* Effect.sleep("300 millis")
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ n: string | number | null }>`SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = ${`${prefix}_chains`}`
      return Number(rows[0]?.n ?? 0)
    }).pipe(Effect.provide(pgClient(url, 1)))
  )
const perTurn = (entries: number, turns: number) => `${fmt(turns)} turns, ${(entries / Math.max(1, turns)).toFixed(1)} entries a turn`

const pgStore = (url: string, chain: string, create = true) => Store.layerSqlUrl(url, { chain, tablePrefix: prefix, create })

// ---------------------------------------------------------------------------------------------
// PostgreSQL

const pgOneWriter = async (url: string): Promise<string> => {
  console.log(`\nPostgreSQL, one writer (entries/s; llm_call payloads, signed, default redaction; best of ${ROUNDS} rounds, bare loop alternating)`)
  await appendRun(pgStore(url, freshChain("warm")), Math.min(N_PG, 2_000), CALLERS) // warm up
  const ours: Array<Run> = []
  const bare: Array<Run> = []
  const turns: Array<number> = []
  let last = ""
  for (let r = 0; r < ROUNDS; r++) {
    const chain = freshChain("one")
    const before = await turnsSoFar(url)
    ours.push(await appendRun(pgStore(url, chain), N_PG, CALLERS))
    turns.push((await turnsSoFar(url)) - before)
    last = chain
    bare.push(
      await Effect.runPromise(
        Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* createBare(sql)
          return yield* bareLoop(sql, yield* rowsOf(sql, chain, `bare-${chain}`), CALLERS)
        }).pipe(Effect.provide(pgClient(url, 2)))
      )
    )
  }
  const best = (runs: Array<Run>) => runs.reduce((a, b) => (b.rate > a.rate ? b : a))
  const o = best(ours)
  const b = best(bare)
  row(`bare INSERT loop, ${CALLERS} rows a statement`, b.rate, `(${pcts(b.latencies)} a statement)`)
  row(
    `${CALLERS} callers, ${fmt(N_PG)} entries`,
    o.rate,
    `(${verdict(o.rate, 5_000)}; ${pcts(o.latencies)}; ${Math.round((o.rate / b.rate) * 100)}% of the bare loop; rounds ${ours.map((x) => fmt(x.rate)).join(" ")}; ${perTurn(N_PG, turns[ours.indexOf(o)]!)})`
  )
  // one caller: every append is a turn of its own (lock, read, insert, advance, commit)
  const chain = freshChain("single")
  const beforeSingle = await turnsSoFar(url)
  const single = await appendRun(pgStore(url, chain), N_ONE, 1)
  const singleTurns = (await turnsSoFar(url)) - beforeSingle
  const bareSingle = await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      return yield* bareLoop(sql, yield* rowsOf(sql, chain, `bare-${chain}`), 1)
    }).pipe(Effect.provide(pgClient(url, 2)))
  )
  row("bare INSERT loop, one row a statement", bareSingle.rate, `(${pcts(bareSingle.latencies)})`)
  row(`one caller, ${fmt(N_ONE)} entries`, single.rate, `(${pcts(single.latencies)}; ${Math.round((single.rate / bareSingle.rate) * 100)}% of the bare loop; ${perTurn(N_ONE, singleTurns)})`)
  return last
}

const pgManyWriters = async (url: string): Promise<string> => {
  const chain = freshChain("many")
  const warmup = 100
  console.log(`\nPostgreSQL, ${WRITERS} writer processes on one chain, ${fmt(PER_WRITER)} entries each, ${WRITER_CALLERS} callers each (timed from all connected to all done)`)
  const script = join(import.meta.dirname, "sql-writer.js")
  const turnsBefore = await turnsSoFar(url)
  const children = Array.from({ length: WRITERS }, (_, index) =>
    fork(script, [], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        BENCH_CHAIN: chain,
        BENCH_PREFIX: prefix,
        BENCH_INDEX: String(index + 1),
        BENCH_COUNT: String(PER_WRITER),
        BENCH_WARMUP: String(warmup),
        BENCH_CONCURRENCY: String(WRITER_CALLERS),
        BENCH_KEY: KEY
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
  )
  const next = (child: (typeof children)[number]) =>
    new Promise<Message>((ok, fail) => {
      const onExit = (code: number | null) => fail(new Error(`a writer exited (${code}) before it reported`))
      child.once("exit", onExit)
      child.once("message", (m) => {
        child.off("exit", onExit)
        ok(m as Message)
      })
    })
  const failed = (m: Message) => {
    if ("failed" in m) throw new Error(`a writer failed: ${m.failed}`)
    return m
  }
  const ready = await Promise.all(children.map((c) => next(c).then(failed)))
  if (!ready.every((m) => "ready" in m)) throw new Error("a writer did not say it was ready")
  const done = children.map((c) => next(c).then(failed).then((m) => ({ m, at: performance.now() })))
  const start = performance.now()
  for (const c of children) c.send({ go: true })
  const results = await Promise.all(done)
  const seconds = (Math.max(...results.map((r) => r.at)) - start) / 1000
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise((ok) => c.once("exit", ok)))))
  const latencies = results.flatMap((r) => ("done" in r.m ? r.m.latencies : []))
  // every turn of the run, warm-ups and opening included (the writers have exited)
  const turns = (await turnsSoFar(url)) - turnsBefore
  const total = WRITERS * PER_WRITER
  const rate = total / seconds
  // the bare loop: the same rows on 8 connections at once, 64 rows a statement, no chain
  const bare = await Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* createBare(sql)
      return yield* bareLoop(sql, yield* rowsOf(sql, chain, `bare-${chain}`), WRITER_CALLERS, WRITERS)
    }).pipe(Effect.provide(pgClient(url, WRITERS)))
  )
  const own = results.map((r) => ("done" in r.m ? PER_WRITER / r.m.seconds : 0))
  row(`bare INSERT loop, ${WRITERS} connections, ${WRITER_CALLERS} rows a statement`, bare.rate, `(${pcts(bare.latencies)} a statement; all ${fmt(WRITERS * (PER_WRITER + warmup) + 1)} rows)`)
  row(
    `${WRITERS} writers aggregate, ${fmt(total)} entries`,
    rate,
    `(${verdict(rate, 5_000)}; ${pcts(latencies)}; ${Math.round((rate / bare.rate) * 100)}% of the bare loop; each writer alone ${fmt(Math.min(...own))}-${fmt(Math.max(...own))}/s over its own span; ${perTurn(WRITERS * (PER_WRITER + warmup) + 1, turns)})`
  )
  return chain
}

/** Verify `chain` from PostgreSQL as the CLI's `verify --db` does: the store's snapshot through `Verify.stream`. */
const verifyFromPg = (url: string, chain: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const start = performance.now()
      const store = yield* Store.Store
      // a page of rows is one chunk of the snapshot: the time from one to the next is a page's
      // read and its verification
      const pages: Array<number> = []
      let last = performance.now()
      const timed = Stream.tap(yield* store.snapshot, () =>
        Effect.sync(() => {
          const now = performance.now()
          pages.push(now - last)
          last = now
        }))
      const report = yield* Verify.stream(timed, { key: Redacted.make(KEY) })
      return { entries: report.entries, seconds: (performance.now() - start) / 1000, pages }
    }).pipe(Effect.provide(pgStore(url, chain, false)), Effect.scoped)
  )

/** The same rows in the same pages, each line hashed (SHA-256, then the HMAC of that). */
const readLoop = (url: string, chain: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const start = performance.now()
      let from = 0
      let lines = 0
      let sink = 0
      for (;;) {
        // the store's pages: ranges of PAGE seqs (not `ORDER BY seq LIMIT n` from `from` on, which
        // PostgreSQL, with no statistics yet on the bench's new table, plans as a sort of every
        // row to the end for each page)
        const rows = yield* sql.unsafe<{ seq: string | number; line: string }>(
          `SELECT seq, line FROM ${prefix}_entries WHERE chain = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`,
          [chain, from, from + PAGE]
        )
        for (const r of rows) {
          sink += createHmac("sha256", KEY).update(hash("sha256", r.line, "hex")).digest("hex").charCodeAt(0)
        }
        lines += rows.length
        if (rows.length === 0) break
        from += PAGE
      }
      if (sink < 0) console.log(sink)
      return { entries: lines, seconds: (performance.now() - start) / 1000 }
    }).pipe(Effect.provide(pgClient(url, 2)))
  )

const pgVerify = async (url: string, chains: ReadonlyArray<string>) => {
  console.log(`\nverify from PostgreSQL (entries/s: the store's snapshot in pages of ${fmt(PAGE)} seqs through Verify.stream, best of ${VERIFY_ROUNDS} alternating with the read loop)`)
  for (const chain of chains) {
    const ours: Array<number> = []
    const loop: Array<number> = []
    const pages: Array<number> = []
    let entries = 0
    await verifyFromPg(url, chain) // warm up
    for (let r = 0; r < VERIFY_ROUNDS; r++) {
      const v = await verifyFromPg(url, chain)
      const l = await readLoop(url, chain)
      if (v.entries !== l.entries) throw new Error(`verify saw ${v.entries} entries, the read loop ${l.entries}`)
      entries = v.entries
      ours.push(v.entries / v.seconds)
      pages.push(...v.pages)
      loop.push(l.entries / l.seconds)
    }
    const o = Math.max(...ours)
    const b = Math.max(...loop)
    row(`read loop (pages, SHA-256 + HMAC a line), ${fmt(entries)} rows`, b, "")
    row(`Verify.stream from the store, ${fmt(entries)} entries`, o, `(${verdict(o, 100_000)}; ${Math.round((o / b) * 100)}% of the read loop; median ${fmt(median(ours))}; a page of ${fmt(PAGE)}: ${pcts(pages)})`)
  }
}

/** Every entry of the chain is there, in order, and it verifies: the bench measured real work. */
const checkChain = async (url: string, chain: string, expected: number) => {
  const v = await verifyFromPg(url, chain)
  if (v.entries !== expected) throw new Error(`chain ${chain}: ${v.entries} entries verified, expected ${expected}`)
}

const dropTables = (url: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      for (const t of ["bare", "entries", "chains", "migrations"]) yield* sql.unsafe(`DROP TABLE IF EXISTS ${prefix}_${t}`)
    }).pipe(Effect.provide(pgClient(url, 1)))
  )

const postgres = async (url: string) => {
  try {
    const one = await pgOneWriter(url)
    await checkChain(url, one, N_PG + 1)
    const many = await pgManyWriters(url)
    await checkChain(url, many, WRITERS * (PER_WRITER + 100) + 1)
    await pgVerify(url, [one, many])
  } finally {
    await dropTables(url).catch((e) => console.error(`could not drop the bench's tables ${prefix}_*: ${String(e)}`))
  }
}

// ---------------------------------------------------------------------------------------------
// SQLite

const sqlite = async () => {
  const dir = mkdtempSync(join(tmpdir(), "acttrace-bench-sqlite-"))
  try {
    console.log(`\nSQLite (WAL), one writer (entries/s; best of ${ROUNDS} rounds, bare loop alternating)`)
    const file = (name: string) => join(dir, `${name}.db`)
    await appendRun(Store.layerSqlUrl(file("warm"), { chain: "warm", tablePrefix: prefix }), Math.min(N_SQLITE, 5_000), CALLERS)
    const ours: Array<Run> = []
    const bare: Array<Run> = []
    for (let r = 0; r < ROUNDS; r++) {
      const path = file(`round-${r}`)
      ours.push(await appendRun(Store.layerSqlUrl(path, { chain: "bench", tablePrefix: prefix }), N_SQLITE, CALLERS))
      bare.push(
        await Effect.runPromise(
          Effect.gen(function* () {
            const sql = yield* SqlClient.SqlClient
            yield* createBare(sql)
            const rows = yield* rowsOf(sql, "bench", "bare")
            if (rows.length !== N_SQLITE + 1) throw new Error(`SQLite chain: ${rows.length} rows, expected ${N_SQLITE + 1}`)
            return yield* bareLoop(sql, rows, CALLERS)
          }).pipe(Effect.provide(SqliteClient.layer({ filename: path })))
        )
      )
    }
    const best = (runs: Array<Run>) => runs.reduce((a, b) => (b.rate > a.rate ? b : a))
    const o = best(ours)
    const b = best(bare)
    row(`bare INSERT loop, ${CALLERS} rows a statement`, b.rate, `(${pcts(b.latencies)} a statement)`)
    row(
      `${CALLERS} callers, ${fmt(N_SQLITE)} entries`,
      o.rate,
      `(${verdict(o.rate, 20_000)}; ${pcts(o.latencies)}; ${Math.round((o.rate / b.rate) * 100)}% of the bare loop; rounds ${ours.map((x) => fmt(x.rate)).join(" ")})`
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------

/** PostgreSQL's server binaries, as scripts/with-postgres.sh looks for them. */
const serverBinaries = (): boolean => {
  const given = process.env["PGBIN"]
  if (given !== undefined && given !== "") return existsSync(join(given, "initdb"))
  const base = "/usr/lib/postgresql"
  return existsSync(base) && readdirSync(base).some((v) => existsSync(join(base, v, "bin", "initdb")))
}

const main = async () => {
  const url = process.env["DATABASE_URL"] || undefined
  if (url === undefined && ONLY !== "sqlite") {
    if (process.env["ACTTRACE_BENCH_SQL_SERVER"] === "1") throw new Error("scripts/with-postgres.sh gave no DATABASE_URL")
    if (serverBinaries()) {
      // the whole bench again beside a private server (its start-up is not timed)
      const r = spawnSync("bash", [join(ROOT, "scripts", "with-postgres.sh"), process.execPath, fileURLToPath(import.meta.url)], {
        stdio: "inherit",
        env: { ...process.env, ACTTRACE_BENCH_SQL_SERVER: "1" }
      })
      process.exit(r.status ?? 1)
    }
  }
  // a shared machine's load weighs on every figure here: say what it was
  const load = () => loadavg().map((x) => x.toFixed(1)).join(" ")
  console.log(`\nSQL stores (node ${process.version}${QUICK ? ", BENCH_QUICK" : ""}; load average ${load()})`)
  if (ONLY === "sqlite") {
    console.log("  PostgreSQL part skipped: BENCH_SQL=sqlite")
  } else if (url === undefined) {
    console.log("  PostgreSQL part skipped: DATABASE_URL is not set and no PostgreSQL server binaries were found (Debian: apt-get install postgresql; or set PGBIN or DATABASE_URL)")
  } else {
    await postgres(url)
  }
  if (ONLY === "pg") console.log("  SQLite part skipped: BENCH_SQL=pg")
  else await sqlite()
  console.log(`  (load average at the end ${load()})`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
