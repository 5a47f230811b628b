/**
 * Many writers, one chain, in PostgreSQL: real processes (test/fixtures/sql-writer.mjs, on the
 * built library) appending to one chain at once (and creating the tables of a new prefix at once);
 * writers killed with SIGKILL inside a transaction (made certain by a lock the test holds) and at
 * seeded points; writers whose sessions the server ends while they append; writers under two keys
 * racing to open a new chain; writers sharing an Ed25519 checkpoint key; an export from the
 * database held to the CLI, the Python reference check and a file store's export of the same
 * appends; and `acttrace demo --db` run four times at once.
 *
 * Every check reads the tables themselves (seq without a gap, one audit_open, the chain row
 * agreeing with the rows, every acknowledged entry at its seq with its hash) and verifies the
 * chain from the database, through the library and through `acttrace verify --db`.
 * `ACTTRACE_LONG=1` runs larger variants (8 × 10,000 appends, 8 kills, 8 demos).
 */
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { cli, cliAsync, LONG, ROOT, tempDir } from "./helpers.js"
import { describePg, freshChain, freshPrefix, pgLayer } from "./sql-helpers.js"
import { type Ack, chainProblems, readChain, socketPorts, verifyDb, Writer, type WriterResult } from "./sql-writers-helpers.js"

const KEY = "sql-writers-key"
const PREFIX = "acttrace"
/** demos run at once */
const DEMOS = LONG ? 8 : 4
const tmp = tempDir()
afterAll(tmp.cleanup)

/** every writer this file started: none outlives it */
const started: Array<Writer> = []
afterAll(() => {
  for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL")
})

describePg("many writers on one PostgreSQL chain", (url) => {
  let db: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
  const dropped: Array<string> = []
  beforeAll(() => {
    db = ManagedRuntime.make(pgLayer(url, 4))
  })
  afterAll(async () => {
    // tables of a prefix of this file's own (the shared `acttrace_*` tables stay)
    for (const p of dropped) {
      await db.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.forEach(["entries", "chains", "migrations"], (t) => sql.unsafe(`DROP TABLE IF EXISTS ${p}_${t}`), { discard: true })
        )
      )
    }
    await db.dispose()
  })

  const writer = (config: Omit<ConstructorParameters<typeof Writer>[0], "url" | "key">) => {
    const w = new Writer({ url, key: KEY, ...config })
    started.push(w)
    return w
  }

  /**
   * Start `n` writers on `chain`, wait until every one has its store open (connected, tables
   * migrated), then let them all open the chain at the same moment (the audit_open race) and
   * append. Their results, and the milliseconds from "go" to the last one done.
   */
  const race = async (
    n: number,
    config: Omit<ConstructorParameters<typeof Writer>[0], "url" | "key" | "id" | "wait">,
    each: (i: number) => Partial<ConstructorParameters<typeof Writer>[0]> = () => ({})
  ) => {
    const ws = Array.from({ length: n }, (_, i) => writer({ ...config, ...each(i), id: `w${i}`, wait: true }))
    await Promise.all(ws.map((w) => w.until("connected")))
    const t0 = Date.now()
    for (const w of ws) w.go()
    const results = await Promise.all(ws.map((w) => w.exited))
    return { results, millis: Date.now() - t0 }
  }

  const expectClean = (results: ReadonlyArray<WriterResult>, count: number) => {
    for (const r of results) {
      expect(r.errors, r.id).toEqual([])
      expect(r.code, r.id).toBe(0)
      expect(r.acks.length, r.id).toBe(count)
    }
  }

  /** `acttrace verify --db URL --chain NAME --json`, parsed */
  const cliVerify = (chain: string, key = KEY) => {
    const r = cli(["verify", "--db", url, "--chain", chain, "--key", key, "--json"])
    expect(r.stderr, r.stdout).toBe("")
    expect(r.code, r.stdout).toBe(0)
    return JSON.parse(r.stdout) as { ok: boolean; entries: number; head: string }
  }

  // (the body is also collected, not run, when the tests are skipped: then url is "")
  const loopback = URL.canParse(url) && ["127.0.0.1", "localhost", "[::1]"].includes(new URL(url).hostname)

  const read = (chain: string, prefix = PREFIX) => db.runPromise(readChain(prefix, chain))

  it(`8 processes × ${LONG ? 10_000 : 2_000} appends: no gap, one audit_open, every acknowledged entry, verified`, async () => {
    const per = LONG ? 10_000 : 2_000
    const chain = freshChain("writers")
    // half the writers hand the chain batches of 100 (appendAll, two in flight), half append a
    // few entries at a time from 32 fibers at once (the chain groups them into batches of its own)
    const { results, millis } = await race(8, { chain, count: per }, (i) => (i < 4 ? { batch: 100, inFlight: 2 } : { batch: 5, inFlight: 32 }))
    expectClean(results, per)
    const acks = results.flatMap((r) => r.acks)
    const chainRead = await read(chain)
    expect(chainProblems(chainRead, acks)).toEqual([])
    // 16,000 entries and the opener, every one of them acknowledged to exactly one writer
    expect(chainRead.rows.length).toBe(8 * per + 1)
    expect(new Set(acks.map((a) => a.seq)).size).toBe(8 * per)
    // each writer's entries are its own, every one of them; those handed over in batches (one
    // batch after another) are in the chain in the order they were appended
    for (const [i, r] of results.entries()) {
      const bySeq = [...r.acks].sort((a, b) => a.seq - b.seq)
      const ns = bySeq.map((a) => JSON.parse(chainRead.rows[a.seq]!.line).payload as { writer: string; n: number })
      expect(ns.every((p) => p.writer === r.id), r.id).toBe(true)
      const appended = ns.map((p) => p.n)
      expect(i < 4 ? appended : [...appended].sort((a, b) => a - b), r.id).toEqual(Array.from({ length: per }, (_, k) => k))
    }
    // the writers did interleave (a chain written one process after another proves little)
    const order = chainRead.rows.slice(1).map((row) => (JSON.parse(row.line).payload as { writer: string }).writer)
    const switches = order.filter((w, i) => i > 0 && w !== order[i - 1]).length
    expect(switches).toBeGreaterThan(8)
    // the auditors' index: each decision id's rows, by query
    const perDecision = await db.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ n: string }>`SELECT count(*) AS n FROM acttrace_entries WHERE chain = ${chain} AND decision_id = ${"w3-7"}`)
    )
    expect(Number(perDecision[0]!.n)).toBe(10)
    const report = await verifyDb(url, chain, KEY)
    expect(report.entries).toBe(8 * per + 1)
    expect(report.head).toBe(chainRead.head)
    const v = cliVerify(chain)
    expect(v).toMatchObject({ ok: true, entries: 8 * per + 1, head: chainRead.head })
    const emptyAtOpen = results.filter((r) => r.opened?.entries === 0).length
    console.log(
      `8 writers × ${per}: ${8 * per} entries in ${millis} ms from go to the last done (${Math.round((8 * per) / (millis / 1000))}/s, process start excluded); ` +
        `${emptyAtOpen} of 8 found the chain empty when they opened it; writer changes along the chain: ${switches}`
    )
  }, LONG ? 600_000 : 120_000)

  it("8 processes create the tables of a new database and open one chain at once", async () => {
    const prefix = freshPrefix("writers")
    dropped.push(prefix)
    const chain = freshChain("fresh")
    const { results } = await race(8, { chain, prefix, count: 25, batch: 5 })
    expectClean(results, 25)
    const chainRead = await read(chain, prefix)
    expect(chainProblems(chainRead, results.flatMap((r) => r.acks))).toEqual([])
    expect(chainRead.rows.length).toBe(8 * 25 + 1)
    // each migration ran once, in order, whoever ran it
    const migrations = await db.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe<{ id: number }>(`SELECT migration_id AS id FROM ${prefix}_migrations ORDER BY migration_id`))
    )
    expect(migrations.map((m) => Number(m.id))).toEqual(migrations.map((_, i) => i + 1))
    expect(migrations.length).toBeGreaterThan(0)
    expect((await verifyDb(url, chain, KEY, prefix)).entries).toBe(8 * 25 + 1)
  })

  /**
   * A second connection of the test's own, holding a transaction open (what it does is
   * `statement`) until released; it then rolls back. Its backend pid, and the release.
   */
  const hold = async (statement: (sql: SqlClient.SqlClient) => Effect.Effect<unknown, unknown>) => {
    const ready = Effect.runSync(Deferred.make<number>())
    const release = Effect.runSync(Deferred.make<void>())
    const done = db.runPromiseExit(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(
          Effect.gen(function* () {
            yield* statement(sql)
            const pid = yield* sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`
            yield* Deferred.succeed(ready, pid[0]!.pid)
            yield* Deferred.await(release)
            // fail: the transaction rolls back
            return yield* Effect.fail("rolled back")
          })
        )
      )
    )
    const pid = await Effect.runPromise(Deferred.await(ready).pipe(Effect.timeout("10 seconds")))
    return {
      pid,
      release: async () => {
        Effect.runSync(Deferred.succeed(release, undefined))
        await done
      }
    }
  }

  /** the backends `blocker` blocks (waiting for its lock), with their state */
  const blockedBy = (blocker: number) =>
    db.runPromise(
      Effect.flatMap(
        SqlClient.SqlClient,
        (sql) => sql<{ pid: number; state: string; query: string; xact: boolean }>`
          SELECT pid, state, query, xact_start IS NOT NULL AS xact FROM pg_stat_activity WHERE ${blocker} = ANY(pg_blocking_pids(pid))`
      )
    )

  const backend = (pid: number) =>
    db.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ state: string }>`SELECT state FROM pg_stat_activity WHERE pid = ${pid}`)
    )

  /** the sessions whose client is at one of `ports` (of this machine), and whether each is in a transaction */
  const backendsAt = (ports: ReadonlyArray<number>) =>
    ports.length === 0
      ? Promise.resolve([])
      : db.runPromise(
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql<{ pid: number; state: string; xact: boolean }>`
            SELECT pid, state, xact_start IS NOT NULL AS xact FROM pg_stat_activity
            WHERE client_port IN ${sql.in(ports)}`
        )
      )

  const poll = async <A>(what: string, f: () => Promise<A | undefined>, seconds = 20): Promise<A> => {
    const until = Date.now() + seconds * 1000
    for (;;) {
      const a = await f()
      if (a !== undefined) return a
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
      await new Promise((ok) => setTimeout(ok, 20))
    }
  }

  /**
   * Kill a writer with SIGKILL at a point inside a transaction made certain by a lock the test
   * holds: the writer pauses after `pauseAt` acknowledged entries; the test takes its lock; the
   * writer's next turn runs into it and waits, inside its transaction (seen in
   * pg_stat_activity, blocked by the test's backend); it is killed there; the test lets go.
   */
  const killInside = async (chain: string, take: (sql: SqlClient.SqlClient, entries: number) => Effect.Effect<unknown, unknown>) => {
    const w = writer({ chain, id: "victim", count: 100_000, batch: 50, pauseAt: 200 })
    await w.until("paused")
    const before = await read(chain)
    const lastAck = w.acks[w.acks.length - 1]!
    // paused: everything it acknowledged is committed, and nothing else
    expect(before.entries).toBe(lastAck.seq + 1)
    const lock = await hold((sql) => take(sql, before.entries!))
    w.go()
    const blocked = await poll("the writer to wait on the test's lock", async () => {
      const b = await blockedBy(lock.pid)
      return b.length > 0 ? b : undefined
    })
    expect(blocked.length).toBe(1)
    // inside a transaction, waiting on the lock, when it dies
    expect(blocked[0]!.xact).toBe(true)
    const killed = await w.kill()
    expect(killed.signal).toBe("SIGKILL")
    await lock.release()
    // the killed writer's backend finds its client gone and rolls back: nothing of the turn stays
    await poll("the killed writer's backend to end", async () => ((await backend(blocked[0]!.pid)).length === 0 ? true : undefined))
    const after = await read(chain)
    expect(chainProblems(after, killed.acks)).toEqual([])
    // all of the turn or none of it: none, as the writer died before it could send COMMIT
    // (a client that pipelines its COMMIT behind the INSERT would have the whole turn written)
    expect([before.rows.length, before.rows.length + 50]).toContain(after.rows.length)
    return { killed, rows: after.rows.length, query: blocked[0]!.query, rolledBack: after.rows.length === before.rows.length }
  }

  /** the next writer continues the chain; it verifies (library and CLI) with every entry acknowledged */
  const continues = async (chain: string, earlier: ReadonlyArray<Ack>, entries: number) => {
    const next = await writer({ chain, id: "next", count: 120, batch: 40 }).exited
    expectClean([next], 120)
    expect(next.opened?.entries).toBe(entries)
    expect(next.acks[0]!.seq).toBe(entries)
    const after = await read(chain)
    expect(chainProblems(after, [...earlier, ...next.acks])).toEqual([])
    expect((await verifyDb(url, chain, KEY)).entries).toBe(entries + 120)
    expect(cliVerify(chain)).toMatchObject({ ok: true, entries: entries + 120 })
  }

  it("SIGKILL of a writer that has inserted part of its turn's rows, uncommitted: nothing of the turn stays; the next writer continues", async () => {
    const chain = freshChain("killed-insert")
    // an uncommitted row of the test's own at a seq in the middle of the writer's next batch:
    // the writer's INSERT writes the rows before it and then waits for the test's transaction
    const r = await killInside(chain, (sql, entries) =>
      sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${entries + 25}, ${"a row the test holds uncommitted"})`
    )
    expect(r.query).toMatch(/insert/i)
    console.log(`killed inside its INSERT (waiting on the test's row): ${r.rolledBack ? "the turn rolled back" : "the whole turn committed"}; query: ${r.query.replace(/\s+/g, " ").slice(0, 120)}`)
    await continues(chain, r.killed.acks, r.rows)
  })

  it("SIGKILL of a writer waiting for the chain's lock inside its transaction: the chain is as it was; the next writer continues", async () => {
    const chain = freshChain("killed-lock")
    const r = await killInside(chain, (sql) => sql`SELECT head FROM acttrace_chains WHERE chain = ${chain} FOR UPDATE`)
    await continues(chain, r.killed.acks, r.rows)
  })

  it("SIGKILL at seeded points of a writer appending freely: every acknowledged entry stays, no transaction is left open", async () => {
    const chain = freshChain("killed-free")
    const acks: Array<Ack> = []
    const points = LONG ? [37, 501, 1203, 64, 999, 2500, 5, 777] : [137, 901, 333]
    let sessions = 0
    let inTransaction = 0
    for (const point of points) {
      const w = writer({ chain, id: `kill-${point}`, count: 100_000, batch: 50, inFlight: 2 })
      await poll(`${point} acknowledgements`, async () => (w.acks.length >= point || w.child.exitCode !== null ? true : undefined))
      // the writer's own database sessions (by its sockets' ports), taken just before the kill
      // (on loopback only: a remote server sees other ports)
      const ports = loopback ? socketPorts(w.child.pid!) : undefined
      const mine = ports === undefined ? [] : await backendsAt(ports)
      const r = await w.kill()
      expect(r.errors).toEqual([])
      acks.push(...r.acks)
      if (ports === undefined) continue
      expect(mine.length, "the writer's sessions, found by port").toBeGreaterThan(0)
      sessions += mine.length
      inTransaction += mine.filter((b) => b.xact).length
      // each of them ends (on loopback the backend sees the socket close at once): none stays
      // idle in a transaction holding the chain's lock
      await poll("the killed writer's sessions to end", async () => {
        const left = await db.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE pid IN ${sql.in(mine.map((b) => b.pid))}`)
        )
        return left.length === 0 ? true : undefined
      })
    }
    const after = await read(chain)
    expect(chainProblems(after, acks)).toEqual([])
    console.log(`free kills at ${points.join(", ")} acknowledgements: ${sessions} sessions of the killed writers ended, ${inTransaction} of them were inside a transaction when killed`)
    await continues(chain, acks, after.rows.length)
  })

  it.skipIf(!loopback)("writers whose sessions the server ends (pg_terminate_backend) while they append: retried, nothing lost, nothing written twice", async () => {
    const chain = freshChain("terminated")
    const per = LONG ? 6_000 : 1_000
    const ws = Array.from({ length: 4 }, (_, i) => writer({ chain, id: `t${i}`, count: per, batch: 25, inFlight: 2 }))
    await Promise.all(ws.map((w) => w.until("opened")))
    // end one writer's sessions every 150 ms, round the writers, until they are done
    let terminated = 0
    const running = () => ws.filter((w) => w.child.exitCode === null && w.child.signalCode === null)
    for (let k = 0; running().length > 0 && k < 400; k++) {
      const alive = running()
      const w = alive[k % alive.length]!
      const ports = socketPorts(w.child.pid!) ?? []
      if (ports.length > 0) {
        const ended = await db.runPromise(
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ ok: boolean }>`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE client_port IN ${sql.in(ports)}`)
        )
        terminated += ended.filter((e) => e.ok).length
      }
      await new Promise((ok) => setTimeout(ok, 150))
    }
    const results = await Promise.all(ws.map((w) => w.exited))
    const chainRead = await read(chain)
    const acks = results.flatMap((r) => r.acks)
    expect(chainProblems(chainRead, acks)).toEqual([])
    // no entry twice: a turn whose COMMIT was cut off is found committed, not written again
    const written = chainRead.rows.slice(1).map((row) => {
      const p = (JSON.parse(row.line) as { payload: { writer: string; n: number } }).payload
      return `${p.writer}/${p.n}`
    })
    expect(written.length - new Set(written).size, "entries written twice").toBe(0)
    console.log(`sessions ended by the server: ${terminated}; entries: ${chainRead.rows.length}`)
    // each writer got through: a session lost before COMMIT is a turn that wrote nothing, tried
    // again on a new connection (one writer loses one session every 600 ms or so, far fewer than
    // its retries allow)
    expectClean(results, per)
    expect(terminated).toBeGreaterThan(3)
    expect((await verifyDb(url, chain, KEY)).entries).toBe(chainRead.rows.length)
  })

  it("writers signing with two keys open one new chain at once: the log is the first committer's, the others are refused with LogMismatch and write nothing", async () => {
    const chain = freshChain("two-keys")
    const OTHER = "another-key"
    const { results } = await race(4, { chain, count: 200, batch: 20 }, (i) => (i % 2 === 0 ? {} : { key: OTHER }))
    const chainRead = await read(chain)
    const open = JSON.parse(chainRead.rows[0]!.line) as { payload: { signing: { key_id: string } } }
    // whose log it is: the key its audit_open names
    const keyOf = (k: string) => Signer.hmacKeyId(Redacted.make(k))
    const winner = open.payload.signing.key_id === keyOf(KEY) ? KEY : OTHER
    expect(open.payload.signing.key_id).toBe(keyOf(winner))
    const won = results.filter((_, i) => (i % 2 === 0 ? KEY : OTHER) === winner)
    const lost = results.filter((_, i) => (i % 2 === 0 ? KEY : OTHER) !== winner)
    expectClean(won, 200)
    for (const r of lost) {
      expect(r.code, r.id).toBe(3)
      expect(r.errors.join(" | "), r.id).toMatch(/^error LogMismatch /)
    }
    console.log(`two keys: ${winner === KEY ? "the first" : "the second"} key's writers opened the chain; the others said: ${lost[0]!.errors[0]}`)
    expect(chainProblems(chainRead, won.flatMap((r) => r.acks))).toEqual([])
    expect(chainRead.rows.length).toBe(1 + 2 * 200)
    // nothing of the refused writers is in the chain
    const writers = new Set(chainRead.rows.slice(1).map((row) => (JSON.parse(row.line) as { payload: { writer: string } }).payload.writer))
    expect([...writers].sort()).toEqual(won.map((r) => r.id).sort())
    expect((await verifyDb(url, chain, winner)).entries).toBe(1 + 2 * 200)
  })

  it("writers sharing an Ed25519 checkpoint key: every checkpoint any of them signs covers the whole chain before it (the other writers' entries too)", async () => {
    const chain = freshChain("checkpoints")
    const keys = join(tmp.dir, `keys-${chain}`)
    const made = cli(["keygen", "--out", keys, "--name", "writers"])
    expect(made.code, made.stderr).toBe(0)
    const signerKey = readFileSync(join(keys, "writers.key"), "utf8")
    const pub = join(keys, "writers.pub")
    const per = 400
    const { results } = await race(4, { chain, count: per, batch: 20, signerKey, checkpointEvery: 100 })
    expectClean(results, per)
    const chainRead = await read(chain)
    expect(chainProblems(chainRead, results.flatMap((r) => r.acks))).toEqual([])
    const checkpoints = chainRead.rows.filter((r) => r.type === "checkpoint").length
    // about one checkpoint per hundred entries, whichever writer crossed the count
    expect(checkpoints).toBeGreaterThanOrEqual(10)
    // each one's note checked where it stands: its Merkle root is the tree of every entry before it
    const r = cli(["verify", "--db", url, "--chain", chain, "--key", KEY, "--pubkey", pub, "--every-signature", "--json"])
    expect(r.stderr, r.stdout).toBe("")
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, entries: chainRead.rows.length, checkpoints: "verified", checkpoint_count: checkpoints })
    // and an export signs a note over the whole chain that verifies with the public key alone
    const pack = join(tmp.dir, `${chain}.pack.jsonl`)
    const exported = cli(["export", "--db", url, "--chain", chain, "--out", pack, "--key", KEY, "--private-key", join(keys, "writers.key")])
    expect(exported.code, exported.stderr).toBe(0)
    const v = cli(["verify", pack, "--pubkey", pub, "--json"])
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, entries: chainRead.rows.length, checkpoints: "verified" })
    console.log(`checkpoints: ${checkpoints} in a chain of ${chainRead.rows.length} entries written by 4 writers`)
  })

  it("an export from PostgreSQL verifies (CLI, Python reference) and equals, entry for entry, a file store's export of the same appends", async () => {
    const chain = freshChain("export")
    const clock = "2026-06-01T12:00:00.000Z"
    // three writers at once under a fixed clock: the chain is theirs, interleaved
    const { results } = await race(3, { chain, count: 150, batch: 20, clock })
    expectClean(results, 150)
    const pgPack = join(tmp.dir, `${chain}.pg.pack.jsonl`)
    const exported = cli(["export", "--db", url, "--chain", chain, "--out", pgPack, "--framework", "eu_ai_act", "--key", KEY])
    expect(exported.stderr).toBe("")
    expect(exported.code).toBe(0)
    expect(exported.stdout).toMatch(/^exported 451 entries to /)
    const v = cli(["verify", pgPack, "--key", KEY, "--json"])
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, entries: 451, completeness: "signed-header", signatures: "verified" })
    const py = spawnSync("python3", [join(ROOT, "test/fixtures/verify_pack.py"), pgPack, KEY], { encoding: "utf8" })
    if (py.error === undefined || process.env["CI"] === "true") {
      expect(py.stderr).toBe("")
      expect(py.stdout.trim()).toMatch(/^ok 451 [0-9a-f]{64}$/)
    } else console.warn(`python3 not found: the Python reference check of the export was not run`)

    // the same appends, in the chain's order, to a file store with the same key and clock
    const pgLines = readFileSync(pgPack, "utf8").trim().split("\n")
    const pgEntries = pgLines.slice(1).map((l) => JSON.parse(l) as { type: string; payload: Record<string, unknown> })
    const file = join(tmp.dir, `${chain}.log.jsonl`)
    const fixed: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => Date.parse(clock),
      currentTimeMillis: Effect.succeed(Date.parse(clock)),
      unsafeCurrentTimeNanos: () => BigInt(Date.parse(clock)) * 1_000_000n,
      currentTimeNanos: Effect.succeed(BigInt(Date.parse(clock)) * 1_000_000n),
      sleep: (d) => Clock.make().sleep(d)
    }
    await Effect.runPromise(
      Effect.gen(function* () {
        const c = yield* Chain.Chain
        const exits = yield* c.appendAll(pgEntries.filter((e) => e.type !== "audit_open").map((e) => ({ type: e.type, payload: e.payload })))
        expect(exits.every(Exit.isSuccess)).toBe(true)
      }).pipe(
        Effect.provide(
          AuditLog.layer({ system: "sql-writers", riskTier: "high" }).pipe(
            Layer.provide(Store.layerFile(file)),
            Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
            Layer.provide(Redactor.layerDefault),
            Layer.provideMerge(NodeFileSystem.layer)
          )
        ),
        Effect.scoped,
        Effect.withClock(fixed)
      )
    )
    const filePack = join(tmp.dir, `${chain}.file.pack.jsonl`)
    const fromFile = cli(["export", file, "--out", filePack, "--framework", "eu_ai_act", "--key", KEY])
    expect(fromFile.code, fromFile.stderr).toBe(0)
    const fileLines = readFileSync(filePack, "utf8").trim().split("\n")
    // entry for entry, byte for byte: the shared chain is the chain one writer would have written
    expect(fileLines.length).toBe(pgLines.length)
    for (let i = 1; i < pgLines.length; i++) {
      if (fileLines[i] !== pgLines[i]) expect(fileLines[i], `entry ${i - 1}`).toBe(pgLines[i])
    }
    // and the packs' headers claim the same chain
    const metaOf = (l: string) => (JSON.parse(l) as { _meta: Record<string, unknown> })._meta
    const [pm, fm] = [metaOf(pgLines[0]!), metaOf(fileLines[0]!)]
    for (const field of ["entries", "head_hash", "system", "risk_tier", "framework", "summary"]) expect(pm[field], field).toEqual(fm[field])
  })

  it(`${DEMOS} \`acttrace demo --db URL --chain NAME\` at once: the chain verifies from the database and holds every run's model calls`, async () => {
    const chain = freshChain("demo")
    const runs = await Promise.all(
      Array.from({ length: DEMOS }, (_, i) => cliAsync(["demo", "--out", join(tmp.dir, `demo-${chain}-${i}`), "--db", url, "--chain", chain]))
    )
    for (const [i, r] of runs.entries()) {
      expect(r.stderr, `run ${i}`).toBe("")
      expect(r.code, `run ${i}: ${r.stdout}`).toBe(0)
    }
    const chainRead = await read(chain)
    expect(chainProblems(chainRead, [])).toEqual([])
    const entries = chainRead.rows.map((r) => JSON.parse(r.line) as { type: string; payload: Record<string, unknown> })
    // every run decides the same three applications, one after another: each application has
    // four decisions (one per run), each decision its one model call
    const decisions = entries.filter((e) => e.type === "decision")
    const calls = entries.filter((e) => e.type === "llm_call")
    expect(decisions.length).toBe(3 * DEMOS)
    expect(calls.length).toBe(3 * DEMOS)
    const callsOf = new Map<string, number>()
    for (const c of calls) callsOf.set(String(c.payload["decision_id"]), (callsOf.get(String(c.payload["decision_id"])) ?? 0) + 1)
    for (const d of decisions) expect(callsOf.get(String(d.payload["decision_id"])), JSON.stringify(d.payload)).toBe(1)
    const perApplication = new Map<string, number>()
    for (const d of decisions) {
      const app = String((d.payload["input"] as { application?: unknown }).application)
      perApplication.set(app, (perApplication.get(app) ?? 0) + 1)
    }
    expect(Object.fromEntries(perApplication)).toEqual({ "app-1001": DEMOS, "app-1002": DEMOS, "app-1003": DEMOS })
    // each run's own export (taken after its decisions, while others wrote) is a prefix of the
    // chain that holds at least its own three model calls, and the head it printed is the
    // chain's hash at that point
    for (const [i, r] of runs.entries()) {
      const pack = readFileSync(join(tmp.dir, `demo-${chain}-${i}`, "loan-triage.pack.jsonl"), "utf8").trim().split("\n").slice(1)
      // (a pack's rows carry their controls: compared by hash)
      expect(pack.map((l) => (JSON.parse(l) as { hash: string }).hash), `run ${i}`).toEqual(chainRead.rows.slice(0, pack.length).map((row) => row.hash))
      expect(pack.filter((l) => (JSON.parse(l) as { type: string }).type === "llm_call").length, `run ${i}`).toBeGreaterThanOrEqual(3)
      const head = /Head \(keep it out of band\): ([0-9a-f]{64})/.exec(r.stdout)?.[1]
      expect(head, `run ${i}`).toBe(chainRead.rows[pack.length - 1]!.hash)
      expect(r.stdout, `run ${i}`).toMatch(/The triage agent decided 2 of 3 applications/)
    }
    // the demo signs with its demo key when given none
    const v = cliVerify(chain, "acttrace-demo-key")
    expect(v).toMatchObject({ ok: true, entries: chainRead.rows.length })
  })
})
