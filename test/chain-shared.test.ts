/**
 * The Chain as one of many writers of a shared chain (`Store.layerSql`: SQLite files in a temp
 * directory, and PostgreSQL at DATABASE_URL, chains and tables of this file's own). Every check
 * reads the database itself: seq without a gap, links, every acknowledged entry at its seq with
 * its hash, checkpoints with the naive Merkle root of the entries before them, and a verification
 * of the whole chain under the first checkpoint key only.
 *
 * In one process, PostgreSQL writers each have a SqlClient (a pool) of their own; SQLite writers
 * share one client (one connection: two connections to one file in one process would make one
 * wait for the other's write lock by blocking the thread the other runs on). The many-process
 * tests are in sql-writers*.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import { join } from "node:path"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { checkCheckpoints, HMAC, type Key, layerSigner, makeKey, naiveRoot, type Row, rowsOf } from "./checkpoint-writer-helpers.js"
import { tempDir } from "./helpers.js"
import { describePg, freshChain, freshPrefix, pgLayer, sqliteLayer } from "./sql-helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

/** A database the writers share, as the tests reach it. */
interface Engine {
  readonly name: "sqlite" | "pg"
  readonly prefix: string
  /** the SqlClient of one writer */
  readonly client: () => Layer.Layer<SqlClient.SqlClient, unknown>
  /** a SqlClient for the test's own queries (never one a writer uses for its turns, on PostgreSQL) */
  readonly admin: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
}

interface Writer {
  readonly chain: Chain.ChainService
  readonly store: Store.StoreService
  readonly context: Context.Context<Chain.Chain | Store.Store | Signer.Signer | Redactor.Redactor>
  readonly scope: Scope.CloseableScope
  readonly close: Effect.Effect<void>
}

interface WriterOptions {
  readonly key?: Key | undefined
  readonly every?: number | undefined
  readonly system?: string | undefined
  readonly hmac?: Redacted.Redacted<string> | undefined
}

/** A chain over the shared store `chain`, with its own client (PostgreSQL), in a scope of its own. */
const openWriter = (engine: Engine, chain: string, o: WriterOptions = {}): Effect.Effect<Writer, unknown> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const signer = o.hmac === undefined
      ? layerSigner(o.key)
      : Layer.effect(Signer.Signer, Effect.orDie(Signer.makeHmac(o.hmac)))
    const layer = Chain.layer.pipe(
      Layer.provide(Layer.succeedContext(Context.make(Chain.OpenAs, { system: o.system }))),
      Layer.provide(Chain.layerCheckpointPolicy({ every: o.every ?? 0, interval: "1 hour" })),
      Layer.provideMerge(Store.layerSql({ chain, tablePrefix: engine.prefix })),
      Layer.provide(engine.client()),
      Layer.provideMerge(signer),
      Layer.provideMerge(Redactor.layerNoop)
    )
    const context = yield* Layer.buildWithScope(layer, scope).pipe(Effect.tapErrorCause(() => Scope.close(scope, Exit.void)))
    return {
      chain: Context.get(context, Chain.Chain),
      store: Context.get(context, Store.Store),
      context,
      scope,
      close: Scope.close(scope, Exit.void)
    }
  })

/** The audit log of an opened writer (what `AuditLog.layer` does once its chain is open). */
const auditLogOf = (w: Writer, system: string, riskTier = "high") =>
  AuditLog.make({ system, riskTier }).pipe(Effect.provide(w.context), Effect.provideService(Scope.Scope, w.scope))

/** What the database holds of `chain`: its rows, its chain row. */
const dbOf = (engine: Engine, chain: string) =>
  Effect.promise(() =>
    engine.admin.runPromise(
      Effect.gen(function* () {
        const store = yield* Layer.build(Store.layerSql({ chain, tablePrefix: engine.prefix, create: false }))
        const rows = yield* rowsOf(Context.get(store, Store.Store))
        const sql = yield* SqlClient.SqlClient
        const head = yield* sql<{ head: string; entries: string | number }>`SELECT head, entries FROM ${sql(`${engine.prefix}_chains`)} WHERE chain = ${chain}`
        return { rows, head: head[0]!.head, entries: Number(head[0]!.entries) }
      }).pipe(Effect.scoped)
    )
  )

/** The chain in the database verified (HMAC and, given, checkpoint keys): its report. */
const verifyDb = (engine: Engine, chain: string, publicKeys?: ReadonlyArray<string>) =>
  Effect.promise(() =>
    engine.admin.runPromise(
      Effect.gen(function* () {
        const store = Context.get(yield* Layer.build(Store.layerSql({ chain, tablePrefix: engine.prefix, create: false })), Store.Store)
        return yield* Effect.either(Verify.stream(yield* store.snapshot, { key: HMAC, publicKeys }))
      }).pipe(Effect.scoped)
    )
  )

/** seq = index, each entry linked to the one before: no gap, no duplicate, no fork. */
const expectWhole = (rows: ReadonlyArray<Row>, db: { readonly head: string; readonly entries: number }) => {
  rows.forEach((r, i) => {
    expect(r.seq).toBe(i)
    if (i > 0) expect(r.prev_hash).toBe(rows[i - 1]!.hash)
  })
  expect(db.entries).toBe(rows.length)
  expect(db.head).toBe(rows[rows.length - 1]!.hash)
}

const ok = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected success, got ${String(exit.cause)}`)
  return exit.value
}

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const e = Option.getOrUndefined(Cause.failureOption(exit.cause))
  if (e === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return e
}

/** Warnings logged while `effect` runs (and by the fibers it starts). */
const collectingWarnings = () => {
  const warnings: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") warnings.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
  })
  return { warnings, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/**
 * Hold the chain row's lock (as a turn does) on an admin connection while `during` runs, until
 * `waiters` turns wait for it: every writer opened meanwhile read the chain as it was, and their
 * turns then run one after another. PostgreSQL only (SQLite readers would wait too, in one process).
 */
const holdingLock = <A, E>(engine: Engine, chain: string, waiters: number, during: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const locked = yield* Deferred.make<void>()
    const release = yield* Deferred.make<void>()
    const holder = yield* Effect.fork(Effect.promise(() =>
      engine.admin.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.withTransaction(
            Effect.gen(function* () {
              yield* sql`SELECT head FROM ${sql(`${engine.prefix}_chains`)} WHERE chain = ${chain} FOR UPDATE`
              yield* Deferred.succeed(locked, undefined)
              yield* Deferred.await(release)
            })
          )
        )
      )
    ))
    yield* Deferred.await(locked)
    const work = yield* Effect.fork(during)
    // every writer's turn waits on the lock: they all took their snapshot before any turn ran
    yield* Effect.promise(() =>
      engine.admin.runPromise(
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ n: string | number }>`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ${`%${engine.prefix}_chains%FOR UPDATE%`}`.pipe(
            Effect.filterOrFail((r) => Number(r[0]!.n) >= waiters),
            Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("20 seconds")))
          )
        )
      )
    )
    yield* Deferred.succeed(release, undefined)
    yield* Fiber.join(holder)
    return yield* Fiber.join(work)
  })

const suite = (engine: () => Engine) => {
  it.live("one snapshot at open: head, count and tree agree while another writer appends", () =>
    Effect.gen(function* () {
      const e = engine()
      const name = freshChain("snap")
      const k1 = yield* makeKey(1)
      const w = yield* openWriter(e, name, { key: k1, every: 100, system: "orders" })
      yield* auditLogOf(w, "orders")
      for (let i = 0; i < 6; i++) {
        yield* w.chain.appendAll(Array.from({ length: 500 }, (_, j) => ({ type: "tool_call", payload: { n: i * 500 + j } })))
      }
      // another writer appends one entry a turn while readers open the chain (pausing between
      // turns: on SQLite the writers of this process share one connection, and a writer that
      // never waits would keep the readers from it)
      let stop = false
      let during = 0
      const appender = yield* Effect.fork(Effect.whileLoop({
        while: () => !stop,
        body: () => Effect.zipRight(Effect.orDie(w.chain.append("tool_call", { during: during++ })), Effect.sleep(0)),
        step: () => {}
      }))
      const seen: Array<{ entries: number; head: string; tree: Chain.Tree }> = []
      for (let i = 0; i < 4; i++) {
        const r = yield* openWriter(e, name, { key: k1, every: 100, system: "orders" })
        const tree = Option.getOrThrow(yield* r.chain.tree)
        seen.push({ entries: r.chain.opened.entries, head: r.chain.opened.head, tree })
        expect(yield* r.chain.position).toEqual({ head: r.chain.opened.head, entries: r.chain.opened.entries })
        yield* r.close
      }
      stop = true
      yield* Fiber.join(appender)
      yield* w.close
      const db = yield* dbOf(e, name)
      expect(seen.at(-1)!.entries).toBeGreaterThan(seen[0]!.entries)
      for (const s of seen) {
        // the tree is the tree of exactly the entries the chain opened at, ending at its head
        expect(s.tree.size).toBe(s.entries)
        expect(s.head).toBe(db.rows[s.entries - 1]!.hash)
        expect(Buffer.from(s.tree.root).toString("base64")).toBe(naiveRoot(db.rows, s.entries))
      }
    }), 120_000)

  it.live("several writers append at once: no gap, no duplicate, no fork; every acknowledged entry stored; checkpoints every N across writers; the tree right", () =>
    Effect.gen(function* () {
      const e = engine()
      const name = freshChain("many")
      const k1 = yield* makeKey(1)
      const every = 25
      const writers = yield* Effect.all(Array.from({ length: 4 }, () => openWriter(e, name, { key: k1, every })), { concurrency: "unbounded" })
      const acks: Array<Chain.Chained> = []
      yield* Effect.all(
        writers.flatMap((w, wi) =>
          Array.from({ length: 4 }, (_, ci) =>
            Effect.gen(function* () {
              for (let i = 0; i < 30; i++) {
                if (i % 10 === 9) {
                  const all = yield* w.chain.appendAll([{ type: "tool_call", payload: { w: wi, c: ci, i, part: 0 } }, { type: "tool_call", payload: { w: wi, c: ci, i, part: 1 } }])
                  for (const x of all) acks.push(ok(x))
                } else acks.push(yield* Effect.orDie(w.chain.append("tool_call", { w: wi, c: ci, i })))
              }
            }))
        ),
        { concurrency: "unbounded", discard: true }
      )
      // each writer's next turn catches up on all the others: its tree is the database's
      for (const w of writers) {
        acks.push(yield* Effect.orDie(w.chain.append("tool_call", { final: true })))
        const db = yield* dbOf(e, name)
        const tree = Option.getOrThrow(yield* w.chain.tree)
        expect(tree.size).toBe(db.rows.length)
        expect(Buffer.from(tree.root).toString("base64")).toBe(naiveRoot(db.rows, db.rows.length))
        expect(yield* w.chain.position).toEqual({ head: db.head, entries: db.entries })
      }
      for (const w of writers) yield* w.close
      const db = yield* dbOf(e, name)
      expectWhole(db.rows, db)
      // every acknowledged entry is in the database, at its seq, with its hash
      expect(new Set(acks.map((a) => a.seq)).size).toBe(acks.length)
      for (const a of acks) expect(db.rows[a.seq]!.hash).toBe(a.hash)
      // nothing but the acknowledged entries and the checkpoints
      const checkpoints = db.rows.filter((r) => r.type === "checkpoint")
      expect(db.rows.length).toBe(acks.length + checkpoints.length)
      // a checkpoint after every `every` entries, whoever wrote them; the last one closes the chain
      const gaps: Array<number> = []
      let last = -1
      for (const c of checkpoints) {
        gaps.push(c.seq - last - 1)
        last = c.seq
      }
      expect(gaps.slice(0, -1).every((g) => g === every)).toBe(true)
      expect(gaps.at(-1)!).toBeGreaterThan(0)
      expect(gaps.at(-1)!).toBeLessThanOrEqual(every)
      expect(db.rows.at(-1)!.type).toBe("checkpoint")
      checkCheckpoints(db.rows, () => k1, "acttrace")
      const report = yield* verifyDb(e, name, [k1.verifierKey])
      expect(report._tag).toBe("Right")
      if (report._tag === "Right") {
        expect(report.right.entries).toBe(db.rows.length)
        expect(report.right.checkpointCount).toBe(checkpoints.length)
        expect(report.right.unsealedTail).toBe(0)
      }
    }), 120_000)

  it.live("write, then advance: a turn the database refuses mid-way leaves the head where it was, and the next append continues a valid chain", () =>
    Effect.gen(function* () {
      const e = engine()
      const name = freshChain("refused")
      const k1 = yield* makeKey(1)
      const a = yield* openWriter(e, name, { key: k1, every: 4 })
      const b = yield* openWriter(e, name, { key: k1, every: 4 })
      for (let i = 0; i < 5; i++) yield* Effect.orDie(a.chain.append("tool_call", { a: i }))
      // b's entries: a catches up on them in the turn the database refuses
      for (let i = 0; i < 7; i++) yield* Effect.orDie(b.chain.append("tool_call", { b: i }))
      const before = yield* dbOf(e, name)
      yield* poison(e, true)
      const refused = yield* a.chain.appendAll([
        { type: "tool_call", payload: { a: "fine" } },
        { type: "tool_call", payload: { a: "poison" } },
        { type: "tool_call", payload: { a: "fine too" } }
      ]).pipe(Effect.ensuring(poison(e, false)))
      for (const r of refused) {
        const err = failureOf(r)
        expect(err._tag).toBe("StoreError")
        expect(String((err as Store.StoreError).reason)).toMatch(/poisoned line refused/)
      }
      const after = yield* dbOf(e, name)
      expect(after.rows).toEqual(before.rows)
      // the head is the database's: b's entries (committed, read in the refused turn), none of a's batch
      expect(yield* a.chain.position).toEqual({ head: before.head, entries: before.entries })
      const next = yield* Effect.orDie(a.chain.append("tool_call", { a: "next" }))
      expect(next.seq).toBe(before.entries)
      expect(next.prevHash).toBe(before.head)
      yield* Effect.orDie(b.chain.append("tool_call", { b: "next" }))
      // a row written behind the chain's back (without its lock) where a's next entry goes: the
      // store runs the turn again (building it again each time) and gives up; nothing moves
      const held = yield* dbOf(e, name)
      yield* rogue(e, name, held.entries, true)
      const collided = yield* a.chain.appendAll([1, 2, 3, 4, 5].map((i) => ({ type: "tool_call", payload: { a: `collided ${i}` } })))
      yield* rogue(e, name, held.entries, false)
      for (const r of collided) {
        const err = failureOf(r) as Store.StoreError
        expect(err._tag).toBe("StoreError")
        expect(err.reason).toContain(`seq ${held.entries}`)
      }
      expect(yield* a.chain.position).toEqual({ head: held.head, entries: held.entries })
      yield* Effect.orDie(a.chain.append("tool_call", { a: "last" }))
      const tree = Option.getOrThrow(yield* a.chain.tree)
      yield* a.close
      yield* b.close
      const db = yield* dbOf(e, name)
      expectWhole(db.rows, db)
      expect(db.rows.some((r) => JSON.stringify(r.payload).includes("fine") || JSON.stringify(r.payload).includes("collided"))).toBe(false)
      expect(Buffer.from(tree.root).toString("base64")).toBe(naiveRoot(db.rows, tree.size))
      checkCheckpoints(db.rows, () => k1, "acttrace")
      expect((yield* verifyDb(e, name, [k1.verifierKey]))._tag).toBe("Right")
    }), 60_000)

  it.live("the audit_open race: logs opening one empty chain at once write one audit_open and all work; a log of another system or with other keys is refused and writes nothing", () =>
    Effect.gen(function* () {
      const e = engine()
      const name = freshChain("open")
      const k1 = yield* makeKey(1)
      const k9 = yield* makeKey(9)
      // every writer opens the chain while it is empty, before any of them writes
      const good = yield* Effect.all(Array.from({ length: 4 }, () => openWriter(e, name, { key: k1, every: 10, system: "orders" })), { concurrency: "unbounded" })
      const otherSystem = yield* openWriter(e, name, { key: k1, every: 10, system: "billing" })
      const otherHmac = yield* openWriter(e, name, { hmac: Redacted.make("another-hmac-key"), system: "orders" })
      const otherCheckpointKey = yield* openWriter(e, name, { key: k9, every: 10, system: "orders" })
      const otherTier = yield* openWriter(e, name, { key: k1, every: 10, system: "orders" })
      for (const w of [...good, otherSystem, otherHmac, otherCheckpointKey, otherTier]) expect(w.chain.opened.entries).toBe(0)
      const logs = yield* Effect.all(good.map((w) => auditLogOf(w, "orders")), { concurrency: "unbounded" })
      const opened = yield* dbOf(e, name)
      expect(opened.rows.filter((r) => r.type === "audit_open").map((r) => r.seq)).toEqual([0])
      expect(opened.rows.length).toBe(1)
      // the ones that state another log
      const refusals = [
        [otherSystem, auditLogOf(otherSystem, "billing"), "system", "billing", "orders"],
        [otherHmac, auditLogOf(otherHmac, "orders"), "signing key id", undefined, undefined],
        [otherCheckpointKey, auditLogOf(otherCheckpointKey, "orders"), "checkpoint key", k9.verifierKey, k1.verifierKey],
        [otherTier, auditLogOf(otherTier, "orders", "low"), "risk tier", "low", "high"]
      ] as const
      for (const [w, open, field, expected, found] of refusals) {
        const err = failureOf(yield* Effect.exit(open)) as Chain.LogMismatch
        expect(err._tag).toBe("LogMismatch")
        expect(err.field).toBe(field)
        if (expected !== undefined) expect(err.expected).toBe(expected)
        if (found !== undefined) expect(err.found).toBe(found)
        expect(err.message).toContain(field)
        // it refuses everything after, and its close writes no checkpoint
        const more = failureOf(yield* Effect.exit(w.chain.append("tool_call", { refused: true })))
        expect(more._tag).toBe("LogMismatch")
        yield* w.close
      }
      // all the others work, each on the same log
      yield* Effect.all(logs.map((log, i) => Effect.orDie(Effect.zipRight(log.append("note", { writer: i }), log.flag(`writer ${i}`)))), { concurrency: "unbounded", discard: true })
      for (const w of good) yield* w.close
      const db = yield* dbOf(e, name)
      expectWhole(db.rows, db)
      expect(db.rows.filter((r) => r.type === "audit_open").length).toBe(1)
      expect(db.rows.filter((r) => r.type === "note").length).toBe(4)
      expect(db.rows.filter((r) => r.type === "policy_flag").length).toBe(4)
      expect(db.rows.some((r) => JSON.stringify(r.payload).includes("refused"))).toBe(false)
      checkCheckpoints(db.rows, () => k1, Signer.checkpointOrigin("orders"))
      expect((yield* verifyDb(e, name, [k1.verifierKey]))._tag).toBe("Right")
    }), 60_000)

  it.live("a checkpoint key rotated by one writer: the other signs no more checkpoints (one warning), and the log verifies under the first key alone", () => {
    const logs = collectingWarnings()
    return Effect.gen(function* () {
      const e = engine()
      const name = freshChain("rotate")
      const k1 = yield* makeKey(1)
      const k2 = yield* makeKey(2, "key2", k1)
      const old = yield* openWriter(e, name, { key: k1, every: 10, system: "orders" })
      const oldLog = yield* auditLogOf(old, "orders")
      for (let i = 0; i < 5; i++) yield* Effect.orDie(oldLog.append("note", { old: i }))
      const rotated = yield* openWriter(e, name, { key: k2, every: 10, system: "orders" })
      const newLog = yield* auditLogOf(rotated, "orders")
      yield* Effect.all([
        Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => Effect.orDie(oldLog.append("note", { old: i + 5 })), { discard: true }),
        Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => Effect.orDie(newLog.append("note", { rotated: i })), { discard: true })
      ], { concurrency: "unbounded", discard: true })
      // the old key's writer checkpoints on request no more, and its close writes none
      yield* Effect.orDie(old.chain.append("note", { old: "last" }))
      expect(Option.isNone(yield* Effect.orDie(old.chain.checkpoint))).toBe(true)
      yield* old.close
      yield* Effect.orDie(newLog.append("note", { rotated: "last" }))
      yield* rotated.close
      const db = yield* dbOf(e, name)
      expectWhole(db.rows, db)
      const rotations = db.rows.filter((r) => r.type === "key_rotation")
      expect(rotations.length).toBe(1)
      const confirm = db.rows[rotations[0]!.seq + 1]!
      expect(confirm.type).toBe("checkpoint")
      const checked = checkCheckpoints(db.rows, (seq) => (seq <= confirm.seq ? k1 : k2), Signer.checkpointOrigin("orders"))
      expect(checked.filter((c) => c.seq > confirm.seq).length).toBeGreaterThan(3)
      expect(db.rows.at(-1)!.type).toBe("checkpoint")
      const report = yield* verifyDb(e, name, [k1.verifierKey])
      expect(report._tag).toBe("Right")
      if (report._tag === "Right") expect(report.right.unsealedTail).toBe(0)
      const told = logs.warnings.filter((w) => w.includes("rotated its checkpoint key"))
      expect(told.length).toBe(1)
      expect(told[0]).toContain(k2.verifierKey)
    }).pipe(Effect.provide(logs.layer))
  }, 60_000)

  it.live("resume: a writer closes (its closing checkpoint) and opens again; each writer's close checkpoints what it has not, and none repeats another's", () =>
    Effect.gen(function* () {
      const e = engine()
      const name = freshChain("resume")
      const k1 = yield* makeKey(1)
      const a = yield* openWriter(e, name, { key: k1, every: 50, system: "orders" })
      const log = yield* auditLogOf(a, "orders")
      for (let i = 0; i < 12; i++) yield* Effect.orDie(log.append("note", { first: i }))
      const b = yield* openWriter(e, name, { key: k1, every: 50, system: "orders" })
      for (let i = 0; i < 3; i++) yield* Effect.orDie(b.chain.append("note", { b: i }))
      yield* a.close
      const closedA = yield* dbOf(e, name)
      expect(closedA.rows.at(-1)!.type).toBe("checkpoint")
      expect(closedA.rows.at(-1)!.payload["size"]).toBe(closedA.rows.length - 1)
      // b wrote nothing since: its close adds no second checkpoint over the same entries
      yield* b.close
      expect((yield* dbOf(e, name)).rows.length).toBe(closedA.rows.length)
      // a again, on a new connection: it continues the chain
      const again = yield* openWriter(e, name, { key: k1, every: 50, system: "orders" })
      expect(again.chain.opened.entries).toBe(closedA.entries)
      expect(again.chain.opened.head).toBe(closedA.head)
      expect(Option.isSome(again.chain.opened.auditOpen)).toBe(true)
      const log2 = yield* auditLogOf(again, "orders")
      const next = yield* Effect.orDie(log2.append("note", { again: true }))
      expect(next.seq).toBe(closedA.entries)
      expect(next.prevHash).toBe(closedA.head)
      yield* again.close
      const db = yield* dbOf(e, name)
      expectWhole(db.rows, db)
      expect(db.rows.at(-1)!.type).toBe("checkpoint")
      for (let i = 1; i < db.rows.length; i++) expect(db.rows[i]!.type === "checkpoint" && db.rows[i - 1]!.type === "checkpoint").toBe(false)
      checkCheckpoints(db.rows, () => k1, Signer.checkpointOrigin("orders"))
      expect((yield* verifyDb(e, name, [k1.verifierKey]))._tag).toBe("Right")
    }), 60_000)
}

/** A trigger that refuses any line holding "poison" (on), or none (off): a failure mid-turn. */
let currentEngine: Engine | undefined
const poison = (engine: Engine, on: boolean) =>
  Effect.promise(() =>
    engine.admin.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => {
        const table = `${engine.prefix}_entries`
        const trigger = `${engine.prefix}_poison`
        if (engine.name === "pg") {
          return on
            ? Effect.zipRight(
              sql.unsafe(`CREATE OR REPLACE FUNCTION ${trigger}() RETURNS trigger AS $$ BEGIN IF NEW.line LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned line refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`),
              sql.unsafe(`CREATE TRIGGER ${trigger} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${trigger}()`)
            )
            : Effect.zipRight(sql.unsafe(`DROP TRIGGER IF EXISTS ${trigger} ON ${table}`), sql.unsafe(`DROP FUNCTION IF EXISTS ${trigger}()`))
        }
        return on
          ? sql.unsafe(`CREATE TRIGGER ${trigger} BEFORE INSERT ON ${table} WHEN NEW.line LIKE '%poison%' BEGIN SELECT RAISE(ABORT, 'poisoned line refused'); END`)
          : sql.unsafe(`DROP TRIGGER IF EXISTS ${trigger}`)
      }).pipe(Effect.asVoid)
    )
  )

/** A line at `seq` written straight into the entries table (on), or taken out again (off). */
const rogue = (engine: Engine, chain: string, seq: number, on: boolean) =>
  Effect.promise(() =>
    engine.admin.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) => {
        const table = sql(`${engine.prefix}_entries`)
        return on
          ? sql`INSERT INTO ${table} (chain, seq, line) VALUES (${chain}, ${seq}, ${"rogue"})`
          : sql`DELETE FROM ${table} WHERE chain = ${chain} AND seq = ${seq} AND line = ${"rogue"}`
      }).pipe(Effect.asVoid)
    )
  )

describe("a shared chain on SQLite", () => {
  const path = join(tmp.dir, "chain-shared.db")
  let shared: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
  let context: Context.Context<SqlClient.SqlClient>
  beforeAll(async () => {
    shared = ManagedRuntime.make(sqliteLayer(path))
    context = (await shared.runtime()).context
    currentEngine = { name: "sqlite", prefix: "acttrace", client: () => Layer.succeedContext(context), admin: shared }
  })
  afterAll(() => shared.dispose())
  suite(() => currentEngine!)
})

describePg("a shared chain on PostgreSQL", (url) => {
  const prefix = freshPrefix("chainshared")
  let admin: ManagedRuntime.ManagedRuntime<SqlClient.SqlClient, unknown>
  let engine: Engine
  beforeAll(() => {
    admin = ManagedRuntime.make(pgLayer(url, 3))
    engine = { name: "pg", prefix, client: () => pgLayer(url, 3), admin }
  })
  afterAll(async () => {
    await admin.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.forEach(["entries", "chains", "migrations"], (t) => sql.unsafe(`DROP TABLE IF EXISTS ${prefix}_${t}`), { discard: true })
      )
    )
    await admin.dispose()
  })
  suite(() => engine)

  it.live("the audit_open race, for real: logs opening one empty chain at once (their turns waiting on the chain's lock) write one audit_open", () =>
    Effect.gen(function* () {
      const name = freshChain("race")
      const k1 = yield* makeKey(1)
      // the tables and the chain's row exist before the lock is taken
      const first = yield* openWriter(engine, name, { key: k1, every: 10, system: "orders" })
      yield* first.close
      const layer = () =>
        AuditLog.layer({ system: "orders", riskTier: "high", tagPromiseCalls: false }).pipe(
          Layer.provide(Chain.layerCheckpointPolicy({ every: 10 })),
          Layer.provideMerge(Store.layerSql({ chain: name, tablePrefix: prefix })),
          Layer.provide(engine.client()),
          Layer.provide(layerSigner(k1)),
          Layer.provide(Redactor.layerNoop)
        )
      const n = 5
      const scopes = yield* Effect.all(Array.from({ length: n }, () => Scope.make()))
      const contexts = yield* holdingLock(engine, name, n, Effect.all(scopes.map((s) => Layer.buildWithScope(layer(), s)), { concurrency: "unbounded" }))
      for (const [i, c] of contexts.entries()) yield* Effect.orDie(Context.get(c, AuditLog.AuditLog).append("note", { writer: i }))
      for (const s of scopes) yield* Scope.close(s, Exit.void)
      const db = yield* dbOf(engine, name)
      expectWhole(db.rows, db)
      expect(db.rows.filter((r) => r.type === "audit_open").map((r) => r.seq)).toEqual([0])
      expect(db.rows.filter((r) => r.type === "note").length).toBe(n)
      expect((yield* verifyDb(engine, name, [k1.verifierKey]))._tag).toBe("Right")
    }), 60_000)

  it.live("a rotation another writer already made is not made again (writers opened before either rotated)", () =>
    Effect.gen(function* () {
      const name = freshChain("rotate2")
      const k1 = yield* makeKey(1)
      const k2 = yield* makeKey(2, "key2", k1)
      const old = yield* openWriter(engine, name, { key: k1, every: 10, system: "orders" })
      const log = yield* auditLogOf(old, "orders")
      for (let i = 0; i < 3; i++) yield* Effect.orDie(log.append("note", { old: i }))
      yield* old.close
      // three writers with the new key open the chain under the old one; their rotations queue on the lock
      const writers = yield* holdingLock(engine, name, 3, Effect.all(Array.from({ length: 3 }, () => openWriter(engine, name, { key: k2, every: 10, system: "orders" })), { concurrency: "unbounded" }))
      for (const w of writers) yield* Effect.orDie(w.chain.append("note", { rotated: true }))
      for (const w of writers) yield* w.close
      const db = yield* dbOf(engine, name)
      expectWhole(db.rows, db)
      const rotations = db.rows.filter((r) => r.type === "key_rotation")
      expect(rotations.length).toBe(1)
      const confirm = rotations[0]!.seq + 1
      expect(db.rows[confirm]!.type).toBe("checkpoint")
      checkCheckpoints(db.rows, (seq) => (seq <= confirm ? k1 : k2), Signer.checkpointOrigin("orders"))
      expect((yield* verifyDb(engine, name, [k1.verifierKey]))._tag).toBe("Right")
    }), 60_000)
})
