/**
 * Writers in several processes on one shared chain, each an audit log with the same Ed25519
 * checkpoint key (test/fixtures/chain-shared-writer.mjs, on the built library: `npm run build`
 * first): one audit_open, no gap, every acknowledged entry at its seq with its hash, checkpoints
 * counted over every writer's entries with the naive Merkle root of the entries before them, each
 * writer's close checkpointing what is not, and the chain verifying under the first key alone.
 * PostgreSQL (DATABASE_URL) and a SQLite file (WAL). The big many-process tests are
 * sql-writers*.test.ts.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import * as Verify from "../src/Verify.js"
import { checkCheckpoints, HMAC, makeKey, rowsOf } from "./checkpoint-writer-helpers.js"
import { LONG, ROOT, tempDir } from "./helpers.js"
import { describePg, freshChain, freshPrefix, pgLayer, sqliteLayer } from "./sql-helpers.js"
import * as Redacted from "effect/Redacted"

const WRITER = join(ROOT, "test/fixtures/chain-shared-writer.mjs")
const tmp = tempDir()
afterAll(tmp.cleanup)

const PROCESSES = 3
const FIBERS = 4
const COUNT = LONG ? 250 : 40
const EVERY = 25

interface Result {
  readonly acks: ReadonlyArray<{ readonly seq: number; readonly hash: string }>
  readonly out: string
  readonly code: number | null
}

const run = (config: Record<string, unknown>): Promise<Result> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [WRITER, JSON.stringify(config)], { stdio: ["ignore", "pipe", "pipe"] })
    let out = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.on("exit", (code) => {
      const acks = out.split("\n").filter((l) => l.startsWith("ack ")).map((l) => {
        const [, seq, hash] = l.split(" ")
        return { seq: Number(seq), hash: hash! }
      })
      resolve({ acks, out, code })
    })
  })

const writers = (url: string, prefix: string | undefined) =>
  Effect.gen(function* () {
    const k1 = yield* makeKey(1)
    const chain = freshChain("procs")
    const results = yield* Effect.promise(() =>
      Promise.all(Array.from({ length: PROCESSES }, (_, i) =>
        run({ url, chain, prefix, hmac: Redacted.value(HMAC), signerKey: k1.signerKey, every: EVERY, id: `p${i}`, count: COUNT, fibers: FIBERS })))
    )
    for (const r of results) expect(r.code, r.out.slice(-2000)).toBe(0)
    return { k1, chain, results }
  })

const check = (
  client: Layer.Layer<SqlClient.SqlClient, unknown>,
  prefix: string | undefined,
  found: Effect.Effect.Success<ReturnType<typeof writers>>
) =>
  Effect.gen(function* () {
    const { chain, k1, results } = found
    const context = yield* Layer.build(Store.layerSql({ chain, tablePrefix: prefix, create: false }).pipe(Layer.provide(client)))
    const store = Context.get(context, Store.Store)
    const rows = yield* rowsOf(store)
    rows.forEach((r, i) => {
      expect(r.seq).toBe(i)
      if (i > 0) expect(r.prev_hash).toBe(rows[i - 1]!.hash)
    })
    expect(rows.filter((r) => r.type === "audit_open").map((r) => r.seq)).toEqual([0])
    const acks = results.flatMap((r) => r.acks)
    expect(acks.length).toBe(PROCESSES * FIBERS * COUNT)
    for (const a of acks) expect(rows[a.seq]!.hash).toBe(a.hash)
    expect(rows.filter((r) => r.type === "note").length).toBe(acks.length)
    // checkpoints over every writer's entries: never more than EVERY entries apart (a writer's
    // closing checkpoint may come sooner), never two in a row, the last one closing the chain
    let last = -1
    for (const r of rows) {
      if (r.type !== "checkpoint") continue
      expect(r.seq - last - 1).toBeGreaterThan(0)
      expect(r.seq - last - 1).toBeLessThanOrEqual(EVERY)
      last = r.seq
    }
    expect(rows.at(-1)!.type).toBe("checkpoint")
    checkCheckpoints(rows, () => k1, Signer.checkpointOrigin("orders"))
    const report = yield* Verify.stream(yield* store.snapshot, { key: HMAC, publicKeys: [k1.verifierKey] })
    expect(report.entries).toBe(rows.length)
    expect(report.unsealedTail).toBe(0)
  })

describe("writer processes on one SQLite chain", () => {
  it.live(`${PROCESSES} processes × ${FIBERS * COUNT} entries, checkpoints every ${EVERY}`, () =>
    Effect.gen(function* () {
      const path = join(tmp.dir, "procs.db")
      const found = yield* writers(path, undefined)
      yield* check(sqliteLayer(path), undefined, found).pipe(Effect.scoped)
    }), 120_000)
})

describePg("writer processes on one PostgreSQL chain", (url) => {
  const prefix = freshPrefix("chainprocs")
  afterAll(() =>
    Effect.runPromise(
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        Effect.forEach(["entries", "chains", "migrations"], (t) => sql.unsafe(`DROP TABLE IF EXISTS ${prefix}_${t}`), { discard: true })
      ).pipe(Effect.provide(pgLayer(url, 2)), Effect.scoped)
    ))
  it.live(`${PROCESSES} processes × ${FIBERS * COUNT} entries, checkpoints every ${EVERY}`, () =>
    Effect.gen(function* () {
      const found = yield* writers(url, prefix)
      yield* (check(pgLayer(url, 2), prefix, found) as Effect.Effect<void, unknown, Scope.Scope>).pipe(Effect.scoped)
    }), 120_000)
})
