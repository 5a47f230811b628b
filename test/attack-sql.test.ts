/**
 * Hostile review of the shared SQL stores (issue 14): what an auditor, an adversary with write
 * access to the tables, or a careless operator does to a chain in PostgreSQL (`DATABASE_URL`) or a
 * SQLite file, and what acttrace must answer.
 *
 * - Rows edited in the database (a payload, only the hash column, the chain row, a row deleted in
 *   the middle or at the end, two rows' seq swapped, a row added past the end): `verify --db`
 *   gives the verdict the same edit to a log file gets (kind, line, seq; exit 1), never a crash or
 *   "cannot read"; a writer opening the chain refuses it and writes nothing.
 * - Names that try SQL injection, huge and strange lines, paths that are not databases, URLs that
 *   cannot connect, readers beside writers, a database role that may not UPDATE.
 *
 * Everything runs on real databases: SQLite files in a temporary directory, the PostgreSQL of
 * `DATABASE_URL` (chains and table prefixes of this file's own, random names; tables dropped after).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type * as FileSystem from "@effect/platform/FileSystem"
import { NodeFileSystem } from "@effect/platform-node"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { cliInProcess as run } from "./cli-in-process.js"
import { tempDir } from "./helpers.js"
import { databaseUrl, describePg, freshChain, freshPrefix, copyToDb, type Engine, pgEngine, sqliteEngine } from "./sql-helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
const at = (name: string) => join(tmp.dir, name)

const HMAC = "attack-sql passphrase"
const keyFile = at("hmac.key")
const log = at("audit.jsonl")
let logLines: ReadonlyArray<string> = []

const linesOf = (path: string) => readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0)
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>

const signer = () => Signer.layerHmac(Redacted.make(HMAC))

/** The layers of an AuditLog on `store` (HMAC, checkpoints every 7). */
const auditLayer = <E, R>(store: Layer.Layer<Store.Store, E, R>) =>
  AuditLog.layer({ system: "attack-sql", riskTier: "high" }).pipe(
    Layer.provide(store),
    Layer.provide(signer()),
    Layer.provide(Redactor.layerDefault),
    Layer.provide(Chain.layerCheckpointPolicy({ every: 7, interval: Duration.infinity })),
    Layer.provideMerge(NodeFileSystem.layer)
  )

/** A file log of `n` decision records (payload `{i, note}`). */
const writeLog = (path: string, n: number) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const l = yield* AuditLog.AuditLog
      for (let i = 0; i < n; i++) yield* l.append("decision_record", { i, note: "x" })
    }).pipe(Effect.provide(auditLayer(Store.layerFile(path))), Effect.scoped)
  )

const sqlite = sqliteEngine
const postgres = pgEngine(2)

beforeAll(async () => {
  writeFileSync(keyFile, HMAC + "\n")
  await writeLog(log, 30)
  logLines = linesOf(log)
}, 60_000)

/** What a verify run said, in the parts a verdict is compared on. */
const verdict = async (args: ReadonlyArray<string>) => {
  const r = await run(["verify", ...args, "--key-file", keyFile, "--json"])
  let v: Record<string, any> = {}
  try {
    v = json(r.stdout)
  } catch {
    v = { unparsed: r.stdout, stderr: r.stderr }
  }
  return { code: r.code, ok: v["ok"], tag: v["error"]?.["_tag"], line: v["error"]?.["line"], seq: v["error"]?.["seq"], entries: v["entries"], stderr: r.stderr }
}

/** Rows of a chain as the table holds them. */
const rowsOf = (engine: Engine, chain: string) =>
  engine.exec((sql) => sql<{ seq: string | number; line: string; hash: string | null }>`SELECT seq, line, hash FROM acttrace_entries WHERE chain = ${chain} ORDER BY seq`)
const chainRow = (engine: Engine, chain: string) =>
  engine.exec((sql) => sql<{ head: string; entries: string | number }>`SELECT head, entries FROM acttrace_chains WHERE chain = ${chain}`).then((r) => r[0])

/** A writer (AuditLog) opened on the chain: what opening it gave, and the rows after. */
const openWriter = (url: string, chain: string) =>
  Effect.runPromiseExit(
    Effect.gen(function* () {
      const l = yield* AuditLog.AuditLog
      yield* l.append("decision_record", { i: -1, note: "writer on a tampered chain" })
    }).pipe(Effect.provide(auditLayer(Store.layerSqlUrl(url, { chain }))), Effect.scoped)
  )

const failureTag = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  const f = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  return f !== undefined && typeof f === "object" && f !== null && "_tag" in f ? String((f as { _tag: unknown })._tag) : `cause: ${Cause.pretty(exit.cause).slice(0, 600)}`
}

/**
 * A tampering: the SQL edit made to the chain's rows, and the same edit to the log file's lines
 * (undefined when a file has no such thing).
 */
interface Tamper {
  readonly name: string
  readonly db: (sql: SqlClient.SqlClient, chain: string) => Effect.Effect<unknown, unknown>
  readonly file: ((lines: ReadonlyArray<string>) => ReadonlyArray<string>) | undefined
}

const TAMPERS: ReadonlyArray<Tamper> = [
  {
    name: "UPDATE a line's payload",
    db: (sql, chain) => sql`UPDATE acttrace_entries SET line = REPLACE(line, '"i":9,', '"i":90,') WHERE chain = ${chain} AND seq = 10`,
    file: (ls) => ls.map((l, i) => (i === 10 ? l.replace('"i":9,', '"i":90,') : l))
  },
  {
    name: "DELETE a row in the middle",
    db: (sql, chain) => sql`DELETE FROM acttrace_entries WHERE chain = ${chain} AND seq = 12`,
    file: (ls) => ls.filter((_, i) => i !== 12)
  },
  {
    name: "swap two rows' seq",
    db: (sql, chain) =>
      Effect.gen(function* () {
        yield* sql`UPDATE acttrace_entries SET seq = -1 WHERE chain = ${chain} AND seq = 15`
        yield* sql`UPDATE acttrace_entries SET seq = 15 WHERE chain = ${chain} AND seq = 16`
        yield* sql`UPDATE acttrace_entries SET seq = 16 WHERE chain = ${chain} AND seq = -1`
      }),
    file: (ls) => ls.map((l, i) => (i === 15 ? ls[16]! : i === 16 ? ls[15]! : l))
  },
  {
    // a line forged past the end: a copy of the last entry with the next seq (its hash cannot be right)
    name: "INSERT an extra row past the end",
    db: (sql, chain) =>
      Effect.gen(function* () {
        const last = (yield* sql<{ line: string }>`SELECT line FROM acttrace_entries WHERE chain = ${chain} ORDER BY seq DESC LIMIT 1`)[0]!.line
        const n = JSON.parse(last).seq + 1
        const forged = last.replace(/"seq":\d+/, `"seq":${n}`)
        // a careful forger: the row's columns are its line's, only the line itself is wrong
        const f = JSON.parse(forged)
        yield* sql`INSERT INTO acttrace_entries (chain, seq, ts, type, decision_id, hash, line) VALUES (${chain}, ${n}, ${f.ts}, ${f.type}, NULL, ${f.hash}, ${forged})`
      }),
    file: (ls) => [...ls, ls[ls.length - 1]!.replace(/"seq":\d+/, `"seq":${ls.length}`)]
  },
  {
    // the last row deleted and the chain row left as it was: the database knows a row is missing
    // (a file cut short does not), so the verdict is a deletion at the missing seq
    name: "DELETE the last row (the chain row still counts it)",
    db: (sql, chain) => sql`DELETE FROM acttrace_entries WHERE chain = ${chain} AND seq = (SELECT max(seq) FROM acttrace_entries WHERE chain = ${chain})`,
    file: undefined
  },
  {
    name: "UPDATE the chain row's entries up by 1",
    db: (sql, chain) => sql`UPDATE acttrace_chains SET entries = entries + 1 WHERE chain = ${chain}`,
    file: undefined
  },
  {
    // the chain row claims fewer entries than the table holds: the rows past it are not the chain's?
    name: "UPDATE the chain row's entries down by 2 (rows past the count left in the table)",
    db: (sql, chain) => sql`UPDATE acttrace_chains SET entries = entries - 2 WHERE chain = ${chain}`,
    file: undefined
  }
]

const engineSuite = (engine: Engine) => {
  for (const t of TAMPERS) {
    it(`${t.name}: verify --db gives the file's verdict (kind, line, seq), exit 1; a writer refuses the chain and writes nothing`, async () => {
      const chain = freshChain("attack-tamper")
      await copyToDb(engine.url(), chain, logLines)
      await engine.exec((sql) => t.db(sql, chain))
      const db = await verdict(["--db", engine.url(), "--chain", chain])
      // an export of the tampered chain writes no pack
      const pack = at(`${chain}.pack.jsonl`)
      const x = await run(["export", "--db", engine.url(), "--chain", chain, "--out", pack, "--key-file", keyFile])
      expect.soft({ export: x.code !== 0, pack: existsSync(pack) }, "export of the tampered chain").toEqual({ export: true, pack: false })
      const before = await rowsOf(engine, chain)
      const headBefore = await chainRow(engine, chain)
      const exit = await openWriter(engine.url(), chain)
      const writerTag = failureTag(exit)
      if (process.env["ATTACK_SHOW"] === "1") console.log(`${engine.name} ${t.name}: writer ${writerTag}: ${Exit.isFailure(exit) ? Cause.pretty(exit.cause).split("\n")[0]!.slice(0, 300) : ""}`)
      const after = await rowsOf(engine, chain)
      const headAfter = await chainRow(engine, chain)
      if (t.file !== undefined) {
        const file = at(`${chain}.jsonl`)
        writeFileSync(file, t.file(logLines).join("\n") + "\n")
        const f = await verdict([file])
        expect(f.code).toBe(1)
        expect.soft({ code: db.code, ok: db.ok, tag: db.tag, line: db.line, seq: db.seq }, "verify --db against verify FILE").toEqual({ code: f.code, ok: f.ok, tag: f.tag, line: f.line, seq: f.seq })
      } else {
        // the chain row and the rows disagree: not a chain that verifies
        expect.soft({ code: db.code, ok: db.ok }, "verify --db").toEqual({ code: 1, ok: false })
      }
      // tampering is the chain's verdict (LogInvalid), not a store that could not be read
      expect.soft(writerTag, "a writer opening the tampered chain").toBe("LogInvalid")
      expect.soft(after.length, "rows after the writer").toBe(before.length)
      expect.soft(headAfter, "chain row after the writer").toEqual(headBefore)
    })
  }
}

describe("SQLite: tampered rows", () => {
  const file = at("tamper.sqlite")
  engineSuite(sqlite(file))
})

describePg("PostgreSQL: tampered rows", () => {
  engineSuite(postgres)
})

/**
 * Only a column the verification does not read is edited (`hash`, or the chain row's `head`): the
 * lines are intact, so `verify --db` passes as the untouched file does; and a writer that is open
 * while it happens must not build on the edited column (its next entry would break the chain, and
 * the break would be blamed on its own, honest entry).
 */
const columnSuite = (engine: Engine) => {
  it("only the hash column of another writer's row edited while a writer is open: its lines still chain after that writer appends (or it refuses, writing nothing)", async () => {
    const chain = freshChain("attack-hashcol")
    const a = ManagedRuntime.make(auditLayer(Store.layerSqlUrl(engine.url(), { chain })))
    try {
      await a.runPromise(Effect.flatMap(AuditLog.AuditLog, (l) => l.append("decision_record", { i: 0, note: "a" })))
      // another writer appends two entries; then the hash column of its last row is edited
      await Effect.runPromise(
        Effect.flatMap(AuditLog.AuditLog, (l) => Effect.zipRight(l.append("decision_record", { i: 1, note: "b" }), l.append("decision_record", { i: 2, note: "b" }))).pipe(
          Effect.provide(auditLayer(Store.layerSqlUrl(engine.url(), { chain }))),
          Effect.scoped
        )
      )
      const last = Number((await chainRow(engine, chain))!.entries) - 1
      await engine.exec((sql) => sql`UPDATE acttrace_entries SET hash = ${"f".repeat(64)} WHERE chain = ${chain} AND seq = ${last}`)
      const before = (await rowsOf(engine, chain)).length
      const exit = await a.runPromiseExit(Effect.flatMap(AuditLog.AuditLog, (l) => l.append("decision_record", { i: 3, note: "a" })))
      if (Exit.isSuccess(exit)) {
        // the lines alone (what a file of them would hold) still chain: the writer linked to the
        // line's hash, not to the edited column
        const file = at(`${chain}.jsonl`)
        writeFileSync(file, (await rowsOf(engine, chain)).map((r) => r.line).join("\n") + "\n")
        const lines = await verdict([file])
        expect({ ok: lines.ok, tag: lines.tag, line: lines.line }).toEqual({ ok: true, tag: undefined, line: undefined })
      } else {
        expect(failureTag(exit)).toBe("StoreError")
        expect((await rowsOf(engine, chain)).length).toBe(before)
      }
    } finally {
      await a.dispose()
    }
  })

  it("the chain row's head edited: verify --db says the database's head disagrees with its last row (exit 1)", async () => {
    const chain = freshChain("attack-head")
    await copyToDb(engine.url(), chain, logLines)
    await engine.exec((sql) => sql`UPDATE acttrace_chains SET head = ${"e".repeat(64)} WHERE chain = ${chain}`)
    const v = await verdict(["--db", engine.url(), "--chain", chain])
    expect({ code: v.code, ok: v.ok }).toEqual({ code: 1, ok: false })
  })
}

describe("SQLite: edited columns", () => {
  columnSuite(sqlite(at("columns.sqlite")))
})

describePg("PostgreSQL: edited columns", () => {
  columnSuite(postgres)
})

/** The lines of the chain `chain` as the store's snapshot gives them. */
const snapshotLines = (url: string, chain: string, tablePrefix?: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* Store.Store
      const bytes = yield* Stream.runCollect(yield* store.snapshot)
      return Buffer.concat([...bytes]).toString("utf8").split("\n").filter((l) => l.length > 0)
    }).pipe(Effect.provide(Store.layerSqlUrl(url, { chain, tablePrefix, create: false })))
  )

const openExit = (url: string, options: Store.SqlOptions) =>
  Effect.runPromiseExit(Effect.flatMap(Store.Store, (s) => s.append(["x"])).pipe(Effect.provide(Store.layerSqlUrl(url, options))))

const namesSuite = (engine: Engine) => {
  const HOSTILE = [
    "o'brien",
    `x"; DROP TABLE acttrace_entries; --`,
    "'); DELETE FROM acttrace_chains; --",
    "%",
    "_",
    "a%",
    "\\",
    "☃ chaîne 日本語 🧾",
    "e\u0301", // NFD é, a chain apart from the NFC one
    "é",
    " leading and trailing ",
    "x".repeat(200)
  ]
  it("hostile chain names are names, nothing else: each chain holds exactly its own rows, verified; LIKE patterns match nothing else", async () => {
    const rows = logLines.slice(0, 4)
    const tag = freshChain("n")
    for (const [i, name] of HOSTILE.entries()) {
      // each name made unique to this run, the hostile part kept
      const chain = name.length >= 190 ? name.slice(0, 180) + tag.slice(0, 20) : `${name}${tag}`
      await copyToDb(engine.url(), chain, rows.slice(0, 1 + (i % 4)))
      expect(await snapshotLines(engine.url(), chain)).toEqual(rows.slice(0, 1 + (i % 4)))
      const v = await verdict(["--db", engine.url(), "--chain", chain])
      expect({ name, code: v.code, ok: v.ok, entries: v.entries }).toEqual({ name, code: 0, ok: true, entries: 1 + (i % 4) })
    }
    // the tables are all still there, and every chain of this test holds what it was given
    const count = await engine.exec((sql) => sql<{ n: string | number }>`SELECT count(*) AS n FROM acttrace_chains`)
    expect(Number(count[0]!.n)).toBeGreaterThanOrEqual(HOSTILE.length)
  })

  it("a chain name of 10 KB, an empty one, one with a control character or NUL: a typed StoreError (open), nothing written, the name not echoed whole", async () => {
    for (const chain of ["x".repeat(10_240), "", "a\nb", "a\u0000b", "\u007f", "x".repeat(201)]) {
      const exit = await openExit(engine.url(), { chain })
      expect(failureTag(exit)).toBe("StoreError")
      const e = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? (exit.cause.error as Store.StoreError) : undefined
      expect(e?.operation).toBe("open")
      expect.soft({ chain: chain.slice(0, 20), length: e!.message.length < 1000 }).toEqual({ chain: chain.slice(0, 20), length: true })
      // a name is never a way to forge lines in a log: no raw control character in the message
      expect.soft({ chain: chain.slice(0, 20), control: /[\u0000-\u001f]/.test(e!.message) }).toEqual({ chain: chain.slice(0, 20), control: false })
    }
    const r = await run(["verify", "--db", engine.url(), "--chain", "y".repeat(10_240), "--key-file", keyFile])
    expect(r.code).toBe(2)
    expect((r.stdout + r.stderr).length).toBeLessThan(2000)
  })

  it("a hostile table prefix is refused (typed StoreError, open) before any SQL runs", async () => {
    for (const tablePrefix of ["acttrace; DROP TABLE acttrace_entries; --", `a"b`, "A", "1x", "x".repeat(32), "pg_catalog.x", "a b", "ä", ""]) {
      const exit = await openExit(engine.url(), { chain: freshChain("p"), tablePrefix })
      expect({ tablePrefix, tag: failureTag(exit) }).toEqual({ tablePrefix, tag: "StoreError" })
    }
    const count = await engine.exec((sql) => sql<{ n: string | number }>`SELECT count(*) AS n FROM acttrace_entries`)
    expect(Number(count[0]!.n)).toBeGreaterThan(0)
  })
}

describe("SQLite: hostile names", () => {
  namesSuite(sqlite(at("names.sqlite")))
})

describePg("PostgreSQL: hostile names", () => {
  namesSuite(postgres)
})

const payloadSuite = (engine: Engine) => {
  it("a 5 MB payload, NUL, emoji and escapes: the row holds exactly the line a file gets, and verifies", async () => {
    const chain = freshChain("attack-big")
    const file = at(`${chain}.jsonl`)
    const payloads = [
      { i: 0, note: "y".repeat(5 * 1024 * 1024) },
      { i: 1, note: "nul \u0000 and \u0001 and \u001f and \u007f" },
      { i: 2, note: "emoji 🧾👩‍👩‍👧 and \u2028 \u2029 and \ufeff and \"quotes\" \\ back" },
      { i: 3, note: "é vs e\u0301" }
    ]
    const write = <E>(store: Layer.Layer<Store.Store, E, FileSystem.FileSystem> | Layer.Layer<Store.Store, E>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const l = yield* AuditLog.AuditLog
          for (const p of payloads) yield* l.append("decision_record", p)
        }).pipe(Effect.provide(auditLayer(store)), Effect.scoped)
      )
    await write(Store.layerFile(file))
    await write(Store.layerSqlUrl(engine.url(), { chain }))
    const rows = await rowsOf(engine, chain)
    const fileLines = linesOf(file)
    expect(rows.length).toBe(fileLines.length)
    // same payloads, same canonical bytes: the lines differ only in their time stamps and hashes
    const strip = (l: string) => {
      const o = JSON.parse(l)
      return JSON.stringify(o.payload)
    }
    for (let i = 0; i < rows.length; i++) {
      expect(rows[i]!.line.length === fileLines[i]!.length || rows[i]!.line.includes('"ts"')).toBe(true)
      if (JSON.parse(rows[i]!.line).type === "decision_record") expect(strip(rows[i]!.line)).toBe(strip(fileLines[i]!))
      expect(rows[i]!.hash).toBe(JSON.parse(rows[i]!.line).hash)
    }
    const big = rows.find((r) => r.line.length > 5_000_000)!
    expect(big.line).toContain("y".repeat(5 * 1024 * 1024))
    const v = await verdict(["--db", engine.url(), "--chain", chain])
    expect({ code: v.code, ok: v.ok }).toEqual({ code: 0, ok: true })
    // and the store's snapshot gives back each line byte for byte
    expect(await snapshotLines(engine.url(), chain)).toEqual(rows.map((r) => r.line))
    // a line over --max-line-bytes is refused from the database as from the file: same verdict
    const capped = ["--max-line-bytes", "1000000"]
    const fromDb = await verdict(["--db", engine.url(), "--chain", chain, ...capped])
    const fromFile = await verdict([file, ...capped])
    expect({ code: fromDb.code, tag: fromDb.tag, line: fromDb.line, seq: fromDb.seq }).toEqual({ code: fromFile.code, tag: fromFile.tag, line: fromFile.line, seq: fromFile.seq })
    expect(fromDb.code).toBe(1)
  }, 60_000)

  it("a lone surrogate in a payload is a CanonicalError; a raw line with one or with a NUL given to the store is stored exactly or refused (typed), never changed", async () => {
    const chain = freshChain("attack-surrogate")
    const exit = await Effect.runPromiseExit(
      Effect.flatMap(AuditLog.AuditLog, (l) => l.append("decision_record", { note: "lone \ud800 surrogate" })).pipe(
        Effect.provide(auditLayer(Store.layerSqlUrl(engine.url(), { chain }))),
        Effect.scoped
      )
    )
    expect(failureTag(exit)).toBe("CanonicalError")
    for (const line of ["lone \ud800 surrogate", "nul \u0000 inside", "{\"seq\":0,\"type\":\"x\",\"hash\":\"\ud83d\"}"]) {
      const raw = freshChain("attack-raw")
      const put = await Effect.runPromiseExit(Effect.flatMap(Store.Store, (s) => s.append([line])).pipe(Effect.provide(Store.layerSqlUrl(engine.url(), { chain: raw }))))
      if (Exit.isSuccess(put)) {
        expect.soft({ line: JSON.stringify(line), stored: (await rowsOf(engine, raw)).map((r) => JSON.stringify(r.line)) }).toEqual({ line: JSON.stringify(line), stored: [JSON.stringify(line)] })
      } else {
        expect.soft({ line: JSON.stringify(line), tag: failureTag(put) }).toEqual({ line: JSON.stringify(line), tag: "StoreError" })
        expect.soft(await rowsOf(engine, raw)).toEqual([])
      }
    }
  })
}

describe("SQLite: payloads", () => {
  payloadSuite(sqlite(at("payloads.sqlite")))
})

describePg("PostgreSQL: payloads", () => {
  payloadSuite(postgres)
})

describe("SQLite: paths that are not a SQLite database", () => {
  it("a directory, a JSONL log, a pack, an empty file: verify --db and export --db say what is wrong (exit 2, or 1 for a database without the chain), never a crash; demo --db leaves the file byte for byte", async () => {
    const dir = at("a-directory")
    mkdirSync(dir, { recursive: true })
    const pack = at("attack.pack.jsonl")
    const e = await run(["export", log, "--out", pack, "--key-file", keyFile])
    expect(e.code, e.stderr).toBe(0)
    const logCopy = at("log-copy.jsonl")
    writeFileSync(logCopy, readFileSync(log))
    for (const path of [dir, logCopy, pack]) {
      const before = readFileSync(path === dir ? log : path)
      const v = await run(["verify", "--db", path, "--chain", "c", "--key-file", keyFile])
      expect.soft({ path, code: v.code, crash: /\n\s+at /.test(v.stderr) }).toEqual({ path, code: 2, crash: false })
      expect.soft(v.stderr).toMatch(/not a SQLite database|not a database|directory/i)
      const x = await run(["export", "--db", path, "--chain", "c", "--out", at("x.pack"), "--key-file", keyFile])
      expect.soft({ path, code: x.code, crash: /\n\s+at /.test(x.stderr) }).toEqual({ path, code: x.code === 1 ? 1 : 2, crash: false })
      const d = await run(["demo", "--db", path, "--chain", "c", "--out", at("demo-out"), "--key-file", keyFile])
      expect.soft({ path, demo: d.code === 0 }).toEqual({ path, demo: false })
      if (path !== dir) expect.soft(readFileSync(path).equals(before), `${path} unchanged`).toBe(true)
    }
  }, 60_000)

  it("a read-only SQLite file (opened with readonly by the reader): verify --db reads it; nothing is written", async () => {
    const file = at("ro.sqlite")
    const chain = freshChain("ro")
    await copyToDb(file, chain, logLines)
    chmodSync(file, 0o444)
    const v = await verdict(["--db", file, "--chain", chain])
    expect({ code: v.code, ok: v.ok, entries: v.entries }).toEqual({ code: 0, ok: true, entries: logLines.length })
    chmodSync(file, 0o644)
  })
})

/** How long a connection to a silent server may take to fail (the driver's own connect timeout is 5 s). */
const HANG_MS = Number(process.env["ATTACK_HANG_MS"] ?? 25_000)

describePg("PostgreSQL: URLs that cannot serve", () => {
  it("a closed port: a quick typed error (exit 2), no hang, no password", async () => {
    const u = new URL(databaseUrl!)
    u.password = "s3cret-closed-port"
    u.port = "1" // nothing listens on port 1
    const t0 = Date.now()
    const r = await run(["verify", "--db", u.toString(), "--chain", "c", "--key-file", keyFile])
    expect(Date.now() - t0).toBeLessThan(15_000)
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).not.toContain("s3cret")
    expect(r.stderr).toMatch(/connect|refused/i)
  })

  it("a server that accepts the connection and never answers: a typed error in bounded time (exit 2), not a hang", async () => {
    const { createServer } = await import("node:net")
    const sockets: Array<import("node:net").Socket> = []
    const server = createServer((s) => void sockets.push(s))
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    const port = (server.address() as import("node:net").AddressInfo).port
    try {
      const t0 = Date.now()
      const r = await Promise.race([
        run(["verify", "--db", `postgres://u:s3cret@127.0.0.1:${port}/db`, "--chain", "c", "--key-file", keyFile]),
        new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), HANG_MS))
      ])
      expect(r === "hung" ? "hung" : r.code).toBe(2)
      if (r !== "hung") expect(r.stdout + r.stderr).not.toContain("s3cret")
      if (r !== "hung") console.log(`silent server: exit ${r.code} after ${Date.now() - t0} ms: ${r.stderr.slice(0, 300)}`)
      expect(Date.now() - t0).toBeLessThan(HANG_MS)
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  }, HANG_MS + 5_000)

  it("a database that does not exist: exit 2, says so, no password", async () => {
    const u = new URL(databaseUrl!)
    u.password = "s3cret-nodb"
    u.pathname = "/acttrace_no_such_database_hostile"
    const r = await run(["verify", "--db", u.toString(), "--chain", "c", "--key-file", keyFile])
    expect(r.code).toBe(2)
    expect(r.stdout + r.stderr).not.toContain("s3cret")
    expect(r.stderr).toMatch(/does not exist/)
  })
})

describePg("PostgreSQL: readers beside writers, and a writer that may not UPDATE", () => {
  it("verify --db and export --db while 4 writers append: each reads a consistent prefix, which verifies", async () => {
    const chain = freshChain("attack-live")
    const writers = Array.from({ length: 4 }, (_, w) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const l = yield* AuditLog.AuditLog
          for (let i = 0; i < 150; i++) yield* l.append("decision_record", { w, i })
        }).pipe(Effect.provide(auditLayer(Store.layerSqlUrl(databaseUrl!, { chain }))), Effect.scoped)
      ))
    let reads = 0
    const seen: Array<number> = []
    let done = false
    const all = Promise.all(writers).finally(() => (done = true))
    while (!done || reads < 3) {
      const v = await verdict(["--db", databaseUrl!, "--chain", chain])
      // not created yet, or created and its audit_open not yet committed: an empty chain is
      // "no entry at all", as an empty log file is
      if (v.code === 1 && (v.tag === "ChainNotFound" || (v.tag === "MalformedLine" && v.entries === 0))) continue
      expect({ code: v.code, ok: v.ok, tag: v.tag, stderr: v.stderr }).toEqual({ code: 0, ok: true, tag: undefined, stderr: "" })
      seen.push(v.entries)
      const pack = at(`${chain}-${reads}.pack.jsonl`)
      const x = await run(["export", "--db", databaseUrl!, "--chain", chain, "--out", pack, "--key-file", keyFile])
      expect(x.code, x.stderr).toBe(0)
      const p = await verdict([pack])
      expect({ code: p.code, ok: p.ok }).toEqual({ code: 0, ok: true })
      reads++
    }
    await all
    // the prefixes grow; the last one read after all writers are done holds everything
    expect(seen.length).toBeGreaterThanOrEqual(3)
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!)
    const final = await verdict(["--db", databaseUrl!, "--chain", chain])
    expect(final.ok).toBe(true)
    expect(final.entries).toBeGreaterThanOrEqual(4 * 150 + 1)
  }, 60_000)

  it("a database role that may INSERT and SELECT but not UPDATE: the writer fails typed (StoreError), writes nothing, names no password; its reader verifies", async () => {
    const role = `attack_${freshPrefix("r").slice(2)}`
    const prefix = freshPrefix("attackrole")
    const chain = freshChain("attack-role")
    // the tables, and a chain, made by the owner
    await copyToDb(databaseUrl!, chain, logLines.slice(0, 5), prefix)
    const exec = (text: string) => postgres.exec((sql) => sql.unsafe(text))
    await exec(`CREATE ROLE ${role} LOGIN PASSWORD 'r0le-s3cret'`)
    try {
      await exec(`GRANT USAGE ON SCHEMA public TO ${role}`)
      await exec(`GRANT SELECT, INSERT ON ${prefix}_entries, ${prefix}_chains, ${prefix}_migrations TO ${role}`)
      const u = new URL(databaseUrl!)
      u.username = role
      u.password = "r0le-s3cret"
      const before = await postgres.exec((sql) => sql<{ n: string }>`SELECT count(*) AS n FROM ${sql(prefix + "_entries")}`)
      for (const create of [true, false]) {
        const exit = await Effect.runPromiseExit(
          Effect.flatMap(Store.Store, (s) => s.append([logLines[5]!])).pipe(Effect.provide(Store.layerSqlUrl(u.toString(), { chain, tablePrefix: prefix, create })))
        )
        expect(failureTag(exit)).toBe("StoreError")
        const said = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? String((exit.cause.error as Store.StoreError).message) : ""
        // it says why: no right to create or lock (PostgreSQL's "permission denied"), or read-only
        expect(said).toMatch(create ? /permission denied/ : /read-only/)
        expect(String(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "")).not.toContain("r0le-s3cret")
      }
      const after = await postgres.exec((sql) => sql<{ n: string }>`SELECT count(*) AS n FROM ${sql(prefix + "_entries")}`)
      expect(after).toEqual(before)
      expect(await snapshotLines(u.toString(), chain, prefix)).toEqual(logLines.slice(0, 5))
    } finally {
      await exec(`DROP OWNED BY ${role}`).catch(() => undefined)
      await exec(`DROP ROLE ${role}`)
      for (const t of ["entries", "chains", "migrations"]) await exec(`DROP TABLE IF EXISTS ${prefix}_${t}`)
    }
  })
})

describePg("PostgreSQL: passwords and keys", () => {
  it("a password in any form of the URL (percent-encoded, a password parameter) is in no output", async () => {
    for (const url of [
      "postgres://postgres:p%40ss%2Fw0rd-XYZ@127.0.0.1:1/db",
      "postgresql://postgres@127.0.0.1:1/db?password=p4ss-XYZ&sslmode=disable",
      "postgres://postgres:p4ss-XYZ@127.0.0.1:1/db?application_name=p4ss-XYZ"
    ]) {
      for (const cmd of [["verify", "--db", url, "--chain", "c", "--key-file", keyFile], ["verify", "--db", url, "--chain", "c", "--key-file", keyFile, "--json"], ["export", "--db", url, "--chain", "c", "--out", at("pw.pack"), "--key-file", keyFile]]) {
        const r = await run(cmd)
        expect(r.code).not.toBe(0)
        const out = r.stdout + r.stderr
        expect.soft({ cmd: cmd.slice(0, 1), url: url.slice(0, 30), leaked: /p@ss\/w0rd|p%40ss|p4ss-XYZ/.test(out) }).toEqual({ cmd: cmd.slice(0, 1), url: url.slice(0, 30), leaked: false })
      }
    }
  })

  it("demo --db on a chain signed with another key: refused (LogMismatch or LogInvalid), nothing written to the chain", async () => {
    const chain = freshChain("attack-otherkey")
    await copyToDb(databaseUrl!, chain, logLines)
    const before = await rowsOf(postgres, chain)
    const other = at("other.key")
    writeFileSync(other, "a different passphrase\n")
    const d = await run(["demo", "--db", databaseUrl!, "--chain", chain, "--out", at("demo-other"), "--key-file", other])
    expect(d.code).not.toBe(0)
    expect(d.stdout + d.stderr).toMatch(/LogMismatch|LogInvalid|key/)
    expect(await rowsOf(postgres, chain)).toEqual(before)
  })
})

describe("SQLite: an export aimed at the database", () => {
  it("export --db --out a hard link or a symbolic link to the database, or its -wal: usage error (exit 2), the database byte for byte", async () => {
    const { linkSync, symlinkSync } = await import("node:fs")
    const file = at("aimed.sqlite")
    const chain = freshChain("aimed")
    await copyToDb(file, chain, logLines.slice(0, 5))
    const hard = at("aimed-hard.pack")
    const soft = at("aimed-soft.pack")
    linkSync(file, hard)
    symlinkSync(file, soft)
    const before = readFileSync(file)
    for (const out of [hard, soft, `${file}-wal`, `${file}-shm`, `sqlite:${file}`]) {
      const r = await run(["export", "--db", file, "--chain", chain, "--out", out, "--key-file", keyFile])
      expect.soft({ out, code: r.code }).toEqual({ out, code: out.startsWith("sqlite:") ? r.code : 2 })
    }
    expect(readFileSync(file).equals(before)).toBe(true)
    expect(await snapshotLines(file, chain)).toEqual(logLines.slice(0, 5))
  })
})

const manySuite = (engine: Engine) => {
  it("10,000 small lines in one append: one turn, every row in place, verified; 200 appends of one line each after it", async () => {
    const chain = freshChain("attack-many")
    const lines = Array.from({ length: 10_000 }, (_, i) => `small line ${i}`)
    await copyToDb(engine.url(), chain, lines)
    await Effect.runPromise(
      Effect.gen(function* () {
        const store = yield* Store.Store
        for (let i = 0; i < 200; i++) yield* store.append([`one more ${i}`])
      }).pipe(Effect.provide(Store.layerSqlUrl(engine.url(), { chain })))
    )
    const got = await snapshotLines(engine.url(), chain)
    expect(got.length).toBe(10_200)
    expect(got[9_999]).toBe("small line 9999")
    expect(got[10_199]).toBe("one more 199")
    expect(await chainRow(engine, chain)).toMatchObject({ head: "0".repeat(64) })
  }, 60_000)
}

describe("SQLite: many lines", () => {
  manySuite(sqlite(at("many.sqlite")))
})

describePg("PostgreSQL: many lines", () => {
  manySuite(postgres)
})

describePg("PostgreSQL: a reader beside a lock holder", () => {
  it("verify --db and export --db do not wait for a writer holding the chain's lock (a frozen writer stops no auditor)", async () => {
    const chain = freshChain("attack-locked")
    await copyToDb(databaseUrl!, chain, logLines)
    // a transaction of the test's own holds the chain row's lock (as a frozen writer's turn
    // would) while the CLI reads the chain
    const t0 = Date.now()
    await postgres.exec((sql) =>
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`SELECT head FROM acttrace_chains WHERE chain = ${chain} FOR UPDATE`
          const v = yield* Effect.promise(() => verdict(["--db", databaseUrl!, "--chain", chain]))
          expect({ code: v.code, ok: v.ok, entries: v.entries }).toEqual({ code: 0, ok: true, entries: logLines.length })
          const x = yield* Effect.promise(() => run(["export", "--db", databaseUrl!, "--chain", chain, "--out", at(`${chain}.pack`), "--key-file", keyFile]))
          expect(x.code, x.stderr).toBe(0)
          // still held: nothing of the reads waited for it, nor took it
          const held = yield* sql<{ n: string | number }>`SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE a.pid = pg_backend_pid() AND l.mode = 'RowShareLock'`
          expect(Number(held[0]!.n)).toBeGreaterThan(0)
        })
      )
    )
    expect(Date.now() - t0).toBeLessThan(10_000)
  })
})

/**
 * The columns an auditor queries by (`ts`, `type`, `decision_id`, and `hash`) are copies of the
 * line's fields: edited, they hide a decision from a query by decision or by time while every line
 * still verifies. `verify --db` must say the table disagrees with its lines.
 */
const queryColumnsSuite = (engine: Engine) => {
  const EDITS: ReadonlyArray<readonly [string, (sql: SqlClient.SqlClient, chain: string) => Effect.Effect<unknown, unknown>]> = [
    ["ts", (sql, chain) => sql`UPDATE acttrace_entries SET ts = '1999-01-01T00:00:00.000Z' WHERE chain = ${chain} AND seq = 10`],
    ["type", (sql, chain) => sql`UPDATE acttrace_entries SET type = 'nothing_to_see' WHERE chain = ${chain} AND seq = 10`],
    ["decision_id", (sql, chain) => sql`UPDATE acttrace_entries SET decision_id = 'someone-else' WHERE chain = ${chain} AND seq = 10`],
    ["hash", (sql, chain) => sql`UPDATE acttrace_entries SET hash = ${"a".repeat(64)} WHERE chain = ${chain} AND seq = 10`]
  ]
  for (const [column, edit] of EDITS) {
    it(`the ${column} column of a row edited (its line intact): verify --db says the row disagrees with its line (exit 1, at its seq)`, async () => {
      const chain = freshChain(`attack-col-${column}`)
      await copyToDb(engine.url(), chain, logLines)
      await engine.exec((sql) => edit(sql, chain))
      const v = await verdict(["--db", engine.url(), "--chain", chain])
      expect({ code: v.code, ok: v.ok, seq: v.seq }).toEqual({ code: 1, ok: false, seq: 10 })
    })
  }
}

describe("SQLite: query columns edited", () => {
  queryColumnsSuite(sqlite(at("query-columns.sqlite")))
})

describePg("PostgreSQL: query columns edited", () => {
  queryColumnsSuite(postgres)
})

describe("SQLite: a reader beside a writer's open transaction", () => {
  it("verify --db reads the committed chain while another connection holds the write lock with rows not committed", async () => {
    const file = at("held.sqlite")
    const chain = freshChain("held")
    await copyToDb(file, chain, logLines)
    // the test's own connection takes the write lock (its first write) and holds it, rows not committed
    await sqlite(file).exec((sql) =>
      sql.withTransaction(
        Effect.gen(function* () {
          yield* sql`INSERT INTO acttrace_entries (chain, seq, line) VALUES (${chain}, ${logLines.length}, 'not committed')`
          yield* sql`UPDATE acttrace_chains SET entries = entries + 1 WHERE chain = ${chain}`
          const t0 = Date.now()
          const v = yield* Effect.promise(() => verdict(["--db", file, "--chain", chain]))
          expect({ code: v.code, ok: v.ok, entries: v.entries }).toEqual({ code: 0, ok: true, entries: logLines.length })
          expect(Date.now() - t0).toBeLessThan(5_000)
          // and roll back: nothing of it stays
          return yield* Effect.fail("rolled back" as const)
        })
      ).pipe(Effect.catchAll(() => Effect.void))
    )
    expect(await snapshotLines(file, chain)).toEqual(logLines)
  })
})

/**
 * A hostile PostgreSQL server (or a man in the middle on a plain connection): it asks for the
 * password in clear, and puts what it was sent into its error message. Plain protocol, no TLS.
 */
const echoingServer = async (say: (password: string) => string = (password) => `password authentication failed: you sent ${password} (and ${encodeURIComponent(password)})`) => {
  const { createServer } = await import("node:net")
  const received: Array<string> = []
  const server = createServer((socket) => {
    let buffer = Buffer.alloc(0)
    let started = false
    socket.on("error", () => socket.destroy())
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      if (!started) {
        if (buffer.length < 4 || buffer.length < buffer.readInt32BE(0)) return
        buffer = buffer.subarray(buffer.readInt32BE(0))
        started = true
        // AuthenticationCleartextPassword
        socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]))
      }
      if (buffer.length < 5 || buffer.length < 1 + buffer.readInt32BE(1)) return
      const password = buffer.subarray(5, 1 + buffer.readInt32BE(1) - 1).toString("utf8")
      received.push(password)
      const field = (code: string, text: string) => Buffer.concat([Buffer.from(code), Buffer.from(text + "\0", "utf8")])
      const body = Buffer.concat([field("S", "FATAL"), field("V", "FATAL"), field("C", "28P01"), field("M", say(password)), Buffer.from([0])])
      const head = Buffer.alloc(5)
      head.write("E", 0)
      head.writeInt32BE(body.length + 4, 1)
      socket.end(Buffer.concat([head, body]))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as import("node:net").AddressInfo).port
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

describe("PostgreSQL: a server that repeats the password it was sent", () => {
  it("the password, as written or percent-decoded, or from PGPASSWORD, is in no output of verify --db or export --db (exit 2)", async () => {
    const server = await echoingServer()
    try {
      const cases: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
        [`postgres://u:hunter2-%2Fecho@127.0.0.1:${server.port}/db`, {}, "hunter2-/echo"],
        [`postgres://u@127.0.0.1:${server.port}/db`, { PGPASSWORD: "pgpass-echo-77" }, "pgpass-echo-77"]
      ]
      for (const [url, env, password] of cases) {
        for (const cmd of [["verify", "--db", url, "--chain", "c", "--key-file", keyFile], ["verify", "--db", url, "--chain", "c", "--key-file", keyFile, "--json"], ["export", "--db", url, "--chain", "c", "--out", at("echo.pack"), "--key-file", keyFile]]) {
          const r = await run(cmd, env)
          if (process.env["ATTACK_SHOW"] === "1") console.log(`echo server: ${cmd[0]} exit ${r.code}: ${r.stdout.slice(0, 300)} | ${r.stderr.slice(0, 300)}`)
          expect.soft({ cmd: cmd[0], code: r.code }).toEqual({ cmd: cmd[0], code: cmd[0] === "export" ? r.code : 2 })
          const out = r.stdout + r.stderr
          expect.soft({ cmd: cmd[0], password, leaked: [password, encodeURIComponent(password), "hunter2"].some((p) => out.includes(p)) }).toEqual({ cmd: cmd[0], password, leaked: false })
        }
      }
      // (the server did get the passwords: the test is not vacuous)
      expect(server.received).toContain("hunter2-/echo")
      expect(server.received).toContain("pgpass-echo-77")
    } finally {
      await server.close()
    }
  })
})

describe("PostgreSQL: a server whose error message carries terminal escapes and a forged verdict", () => {
  it("what the server says reaches the output without control characters or a second line (no terminal or log injection)", async () => {
    const server = await echoingServer(() => "no\u001b[2J\u001b]0;pwned\u0007\r\nok: 40 entries, head 0000 (signatures verified; completeness: complete)\u0000")
    try {
      for (const cmd of [["verify", "--db", `postgres://u:x@127.0.0.1:${server.port}/db`, "--chain", "c", "--key-file", keyFile], ["verify", "--db", `postgres://u:x@127.0.0.1:${server.port}/db`, "--chain", "c", "--key-file", keyFile, "--json"]]) {
        const r = await run(cmd)
        if (process.env["ATTACK_SHOW"] === "1") console.log("escapes:", JSON.stringify(r.stderr), JSON.stringify(r.stdout).slice(0, 400))
        expect(r.code).toBe(2)
        expect.soft({ cmd: cmd.length, control: /[\u0000-\u0009\u000b-\u001f\u007f]/.test(r.stdout + r.stderr) }).toEqual({ cmd: cmd.length, control: false })
        expect.soft(r.stdout.split("\n").concat(r.stderr.split("\n")).some((l) => l.startsWith("ok: "))).toBe(false)
      }
    } finally {
      await server.close()
    }
  })
})

/**
 * A row's line is one line. An editor who folds the next row's line into a row (`line || '\n' ||
 * next`), deletes the next row and NULLs the folded row's columns leaves a stream of bytes equal to
 * the untouched chain's: every query by decision or time misses both entries while the lines verify.
 */
const foldedSuite = (engine: Engine) => {
  it("two rows folded into one (a newline inside a row's line, the next row deleted, the columns NULLed): verify --db is not ok (exit 1)", async () => {
    const chain = freshChain("attack-fold")
    await copyToDb(engine.url(), chain, logLines)
    await engine.exec((sql) =>
      Effect.gen(function* () {
        const next = (yield* sql<{ line: string }>`SELECT line FROM acttrace_entries WHERE chain = ${chain} AND seq = 13`)[0]!.line
        yield* sql`UPDATE acttrace_entries SET line = line || ${"\n" + next}, ts = NULL, type = NULL, decision_id = NULL, hash = NULL WHERE chain = ${chain} AND seq = 12`
        yield* sql`DELETE FROM acttrace_entries WHERE chain = ${chain} AND seq = 13`
      })
    )
    const v = await verdict(["--db", engine.url(), "--chain", chain])
    expect({ code: v.code, ok: v.ok }).toEqual({ code: 1, ok: false })
    const exit = await openWriter(engine.url(), chain)
    expect(failureTag(exit)).toBe("LogInvalid")
  })
}

describe("SQLite: rows folded", () => {
  foldedSuite(sqlite(at("folded.sqlite")))
})

describePg("PostgreSQL: rows folded", () => {
  foldedSuite(postgres)
})

describe("SQLite: a chain of large lines read in bounded memory", () => {
  // the built executable, whose heap the test can bound (a page of rows is held whole)
  it("verify --db of 40 lines of 5 MB runs in the heap that verifying the same log file needs (160 MiB), not a crash", async () => {
    const { spawnSync } = await import("node:child_process")
    const { BIN } = await import("./helpers.js")
    const file = at("large-lines.jsonl")
    const db = at("large-lines.sqlite")
    const chain = freshChain("large")
    const write = <E>(store: Layer.Layer<Store.Store, E, FileSystem.FileSystem> | Layer.Layer<Store.Store, E>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const l = yield* AuditLog.AuditLog
          for (let i = 0; i < 40; i++) yield* l.append("decision_record", { i, note: "z".repeat(5 * 1024 * 1024) })
        }).pipe(Effect.provide(auditLayer(store)), Effect.scoped)
      )
    await write(Store.layerFile(file))
    await write(Store.layerSqlUrl(db, { chain }))
    const verifyIn = (args: ReadonlyArray<string>) => {
      const r = spawnSync(process.execPath, ["--max-old-space-size=160", BIN, "verify", ...args, "--key-file", keyFile], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "" } })
      return { status: r.status, signal: r.signal, out: r.stdout.split("\n")[0]!, err: r.stderr.split("\n").find((l) => /heap|FATAL/.test(l)) ?? "" }
    }
    const fromFile = verifyIn([file])
    expect(fromFile.status, fromFile.err).toBe(0)
    const fromDb = verifyIn(["--db", db, "--chain", chain])
    expect({ status: fromDb.status, signal: fromDb.signal, err: fromDb.err }).toEqual({ status: 0, signal: null, err: "" })
    expect(fromDb.out).toMatch(/^ok: 41 entries/)
  }, 120_000)
})
