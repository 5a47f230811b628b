/**
 * `--db URL --chain NAME` on `verify`, `export` and `demo` (issue 14, item 4): a chain in a real
 * database, SQLite files in a temporary directory and the PostgreSQL of `DATABASE_URL` (chains of
 * this test's own, random names), read through the CLI's own code in this process, and through
 * the built executable where the process matters (its memory, its exit code).
 *
 * The lines in the database are the lines of a log file written by the library (copied row by row
 * through the store), so every verdict can be compared with the file's: same exit code, same
 * words, same line and seq, whatever the store.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { type AddressInfo, createServer } from "node:net"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as AuditLog from "../src/AuditLog.js"
import * as Chain from "../src/Chain.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { cliInProcess as run } from "./cli-in-process.js"
import { BIN, type CliResult, FUZZ, tempDir } from "./helpers.js"
import { databaseUrl, describePg, freshChain, copyToDb, type Engine, pgEngine, sqliteEngine } from "./sql-helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)
const at = (name: string) => join(tmp.dir, name)

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** The built CLI with a pseudo-terminal as its standard input and output (util-linux `script`). */
const onTerminal = (args: ReadonlyArray<string>) => {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(" ")
  const r = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "" } })
  return { code: r.status, out: r.stdout.replace(/\r\n/g, "\n") }
}
const hasScript = spawnSync("script", ["-qec", "true", "/dev/null"]).status === 0

const HMAC = "cli-sql test passphrase"
const keyFile = at("hmac.key")
const wrongKeyFile = at("wrong.key")
let privateKey = ""
let pub = ""
/** the log every chain of this file starts from, and its lines */
const log = at("audit.jsonl")
let logLines: ReadonlyArray<string> = []

const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter((l) => l.length > 0)
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>

/**
 * A file log of `n` decision records (payload `{i, note}`), HMAC-signed and with an Ed25519
 * checkpoint every 7 entries.
 */
const writeLog = (path: string, n: number, note = "x") =>
  Effect.runPromise(
    Effect.gen(function*() {
      const l = yield* AuditLog.AuditLog
      for (let i = 0; i < n; i++) yield* l.append("decision_record", { i, note })
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "cli-sql", riskTier: "high" }).pipe(
          Layer.provide(Store.layerFile(path)),
          Layer.provide(Signer.layerEd25519(Redacted.make(readFileSync(privateKey, "utf8").trim()), { hmac: Redacted.make(HMAC) })),
          Layer.provide(Redactor.layerDefault),
          Layer.provide(Chain.layerCheckpointPolicy({ every: 7, interval: Duration.infinity })),
          Layer.provideMerge(NodeFileSystem.layer)
        )
      ),
      Effect.scoped
    )
  )

const sqlite = sqliteEngine
const postgres = pgEngine()

beforeAll(async () => {
  writeFileSync(keyFile, HMAC + "\n")
  writeFileSync(wrongKeyFile, "another passphrase\n")
  const k = await run(["keygen", "--out", at("keys"), "--name", "cli-sql"])
  expect(k.code, k.stderr).toBe(0)
  privateKey = at("keys/cli-sql.key")
  pub = at("keys/cli-sql.pub")
  await writeLog(log, 40)
  logLines = lines(log)
}, 60_000)

/** `verify` of the file `file` and of the chain `chain`, with the same options. */
const both = async (url: string, chain: string, file: string, args: ReadonlyArray<string>): Promise<readonly [CliResult, CliResult]> => [
  await run(["verify", file, ...args]),
  await run(["verify", "--db", url, "--chain", chain, ...args])
]

/** The option sets a file and a chain are compared under: every kind of verdict, text and JSON. */
const OPTION_SETS: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  ["--json"],
  ["--key-file", keyFile],
  ["--pubkey", "PUB"],
  ["--key-file", keyFile, "--pubkey", "PUB", "--json"],
  ["--pubkey", "PUB", "--every-signature"],
  ["--pubkey", "PUB", "--since", "LOG"],
  ["--require-signatures"],
  ["--require-signatures", "--json"],
  ["--key-file", wrongKeyFile],
  ["--key-file", wrongKeyFile, "--json"],
  ["--expect-entries", "3"],
  ["--expected-head", "0".repeat(64), "--json"],
  ["--require-complete"],
  ["--max-line-bytes", "100"]
]

const engineSuite = (engine: Engine) => {
  const url = () => engine.url()
  /** a chain holding the log's lines */
  const chain = freshChain("cli-sql")

  beforeAll(async () => {
    await copyToDb(url(), chain, logLines)
  }, 60_000)

  const options = (args: ReadonlyArray<string>) => args.map((a) => (a === "PUB" ? pub : a === "LOG" ? log : a))

  it("verify --db gives the verdict, the words and the exit code a file with the same lines gets", async () => {
    for (const args of OPTION_SETS.map(options)) {
      const [file, db] = await both(url(), chain, log, args)
      expect({ args, ...db }).toEqual({ args, ...file })
    }
    const ok = json((await run(["verify", "--db", url(), "--chain", chain, "--key-file", keyFile, "--pubkey", pub, "--json"])).stdout)
    expect(ok).toMatchObject({ ok: true, entries: logLines.length, signatures: "verified", checkpoints: "verified" })
  })

  it("a row changed in the database (UPDATE) is caught at its line and seq, as the same edit in a file", async () => {
    const tampered = freshChain("cli-sql-tamper")
    await copyToDb(url(), tampered, logLines)
    const seq = 12
    const edited = logLines[seq]!.replace(/"i":\d+/, '"i":999')
    expect(edited).not.toBe(logLines[seq])
    await engine.exec((sql) => sql`UPDATE acttrace_entries SET line = ${edited} WHERE chain = ${tampered} AND seq = ${seq}`)
    const file = at(`tampered-${engine.name}.jsonl`)
    writeFileSync(file, logLines.map((l, i) => (i === seq ? edited : l)).join("\n") + "\n")
    for (const args of [[], ["--json"], ["--key-file", keyFile], ["--pubkey", pub, "--json"]]) {
      const [f, d] = await both(url(), tampered, file, args)
      expect({ args, ...d }).toEqual({ args, ...f })
      expect(d.code).toBe(1)
    }
    const v = json((await run(["verify", "--db", url(), "--chain", tampered, "--key-file", keyFile, "--json"])).stdout)
    expect(v["error"]).toMatchObject({ _tag: "EditDetected", line: seq + 1, seq })
  })

  it("a row deleted from the database is a deletion found at its place (exit 1), not an input that could not be read", async () => {
    const cut = freshChain("cli-sql-gap")
    await copyToDb(url(), cut, logLines)
    const seq = 20
    await engine.exec((sql) => sql`DELETE FROM acttrace_entries WHERE chain = ${cut} AND seq = ${seq}`)
    const text = await run(["verify", "--db", url(), "--chain", cut, "--key-file", keyFile])
    expect(text.code, text.stderr).toBe(1)
    expect(text.stderr).toBe("")
    // (the store may name the missing seq, or the fold the seq after it, as in a file)
    expect(text.stdout).toMatch(new RegExp(`^DeletionDetected at line ${seq + 1} \\(seq (${seq}|${seq + 1})\\): `))
    const j = await run(["verify", "--db", url(), "--chain", cut, "--key-file", keyFile, "--json"])
    expect(j.code).toBe(1)
    const v = json(j.stdout)
    expect(v).toMatchObject({ ok: false, error: { _tag: "DeletionDetected", line: seq + 1 } })
    expect([seq, seq + 1]).toContain(v["error"]["seq"])
    // (entries and head: what verified before it, the rows the store gave, at most `seq`)
    expect(v["entries"]).toBeLessThanOrEqual(seq)
  })

  // the store yields the rows that are there, gap and all: the verification reports the deletion
  // in the very words it uses for a file
  it("a row deleted from the database is a verdict (exit 1) at its place, as the line deleted from a file", async () => {
    const cut = freshChain("cli-sql-delete")
    await copyToDb(url(), cut, logLines)
    const seq = 20
    await engine.exec((sql) => sql`DELETE FROM acttrace_entries WHERE chain = ${cut} AND seq = ${seq}`)
    const file = at(`deleted-${engine.name}.jsonl`)
    writeFileSync(file, logLines.filter((_, i) => i !== seq).join("\n") + "\n")
    for (const args of [["--key-file", keyFile], ["--key-file", keyFile, "--json"]]) {
      const [f, d] = await both(url(), cut, file, args)
      expect({ args, ...d }).toEqual({ args, ...f })
      expect(d.code).toBe(1)
    }
  })

  it("a history rewritten in the database after a published checkpoint: HistoryRewritten at the first row that differs, as for the file", async () => {
    // published: the pack of the log; then a fork of the log, from just after its second checkpoint
    const published = at(`published-${engine.name}.pack.jsonl`)
    const e = await run(["export", log, "--out", published, "--key-file", keyFile, "--private-key", privateKey])
    expect(e.code, e.stderr).toBe(0)
    const cut = logLines.findIndex((l, i) => i > 10 && l.includes('"type":"checkpoint"')) + 1
    const fork = at(`fork-${engine.name}.jsonl`)
    writeFileSync(fork, logLines.slice(0, cut).join("\n") + "\n")
    await writeLog(fork, 30, "rewritten")
    const forked = freshChain("cli-sql-fork")
    await copyToDb(url(), forked, lines(fork))
    for (const args of [["--pubkey", pub, "--since", published], ["--pubkey", pub, "--since", published, "--json"], ["--pubkey", pub, "--since", log]]) {
      const [f, d] = await both(url(), forked, fork, args)
      expect({ args, ...d }).toEqual({ args, ...f })
      expect(d.code).toBe(1)
    }
    const v = json((await run(["verify", "--db", url(), "--chain", forked, "--pubkey", pub, "--since", published, "--json"])).stdout)
    expect(v["error"]).toMatchObject({ _tag: "HistoryRewritten", seq: cut, first_differing: cut })
  })

  it("export --db writes a pack that verify accepts, entry for entry the pack of the file, and writes nothing to the chain", async () => {
    const pack = at(`db-${engine.name}.pack.jsonl`)
    const filePack = at(`file-${engine.name}.pack.jsonl`)
    const before = json((await run(["verify", "--db", url(), "--chain", chain, "--json"])).stdout)
    const r = await run(["export", "--db", url(), "--chain", chain, "--out", pack, "--framework", "eu_ai_act", "--key-file", keyFile, "--private-key", privateKey])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^exported ${logLines.length} entries to .*, head`))
    expect(r.stdout).toMatch(/, head [0-9a-f]{12}… \(signed and sealed, with a signed checkpoint; framework: eu_ai_act/)
    const f = await run(["export", log, "--out", filePack, "--framework", "eu_ai_act", "--key-file", keyFile, "--private-key", privateKey])
    expect(f.code, f.stderr).toBe(0)
    // the rows of both packs are the same; their headers differ only in when they were made
    expect(lines(pack).slice(1)).toEqual(lines(filePack).slice(1))
    const meta = (p: string) => (JSON.parse(lines(p)[0]!) as { _meta: Record<string, unknown> })._meta
    expect(meta(pack)["head_hash"]).toBe(meta(filePack)["head_hash"])
    expect(meta(pack)["entries"]).toBe(meta(filePack)["entries"])
    const v = await run(["verify", pack, "--key-file", keyFile, "--pubkey", pub, "--json"])
    expect(v.code, v.stdout).toBe(0)
    expect(json(v.stdout)).toMatchObject({ ok: true, entries: logLines.length, completeness: "signed-checkpoint", checkpoints: "verified" })
    // the export signs the pack's note only: the chain holds what it held (as a log file export
    // leaves the log as it was)
    const after = json((await run(["verify", "--db", url(), "--chain", chain, "--json"])).stdout)
    expect(after["entries"]).toBe(before["entries"])
    expect(after["head"]).toBe(before["head"])
  })

  it("export --db while a writer process appends: each pack is one snapshot of the chain, and verifies", async () => {
    const live = freshChain("cli-sql-live")
    // a writer of its own process (the test fixture of the shared-chain tests, on the built library)
    const writer = spawn(process.execPath, [join(import.meta.dirname, "fixtures", "sql-writer.mjs"), JSON.stringify({ url: url(), chain: live, key: HMAC, id: "live", count: 1_000_000, batch: 20 })], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let acked = 0
    let said = ""
    writer.stdout.on("data", (d: Buffer) => {
      said = (said + d.toString()).slice(-4000)
      acked += (d.toString().match(/^ack /gm) ?? []).length
    })
    const ended = new Promise((ok) => writer.on("close", ok))
    try {
      const started = Date.now()
      while (acked < 200) {
        if (Date.now() - started > 30_000 || writer.exitCode !== null) throw new Error(`the writer did not get going: ${said}`)
        await new Promise((ok) => setTimeout(ok, 20))
      }
      const sizes: Array<number> = []
      for (let k = 0; k < 3; k++) {
        const out = at(`live-${engine.name}-${k}.pack.jsonl`)
        const e = await run(["export", "--db", url(), "--chain", live, "--out", out, "--key-file", keyFile])
        expect(e.code, e.stderr).toBe(0)
        // header, rows and seal of one count of entries, though the chain grew meanwhile
        const v = await run(["verify", out, "--key-file", keyFile, "--json"])
        expect(v.code, v.stdout).toBe(0)
        expect(json(v.stdout)).toMatchObject({ ok: true, completeness: "signed-header" })
        sizes.push(json(v.stdout)["entries"] as number)
      }
      expect(sizes[2]!, "the writer went on meanwhile").toBeGreaterThan(sizes[0]!)
    } finally {
      writer.kill("SIGKILL")
      await ended
    }
    const after = await run(["verify", "--db", url(), "--chain", live, "--key-file", keyFile, "--json"])
    expect(after.code, after.stdout).toBe(0)
    expect(json(after.stdout)["entries"]).toBeGreaterThan(acked)
  }, 60_000)

  it("export --db asks for the keys the chain is signed with, naming the chain (exit 2)", async () => {
    const out = at(`nokey-${engine.name}.pack.jsonl`)
    const r = await run(["export", "--db", url(), "--chain", chain, "--out", out, "--key-file", keyFile])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(new RegExp(`^error: .*chain ${chain} signs its checkpoints; give the private key`, "m"))
    const k = await run(["export", "--db", url(), "--chain", chain, "--out", out, "--private-key", privateKey])
    expect(k.code).toBe(2)
    expect(k.stderr).toMatch(new RegExp(`chain ${chain} is signed \\(key id [0-9a-f]{16}\\); give its key`))
    expect(existsSync(out)).toBe(false)
  })

  it("a chain that is not in the database: exit 1, naming the chains that are", async () => {
    for (const command of [["verify"], ["export", "--out", at("never.pack.jsonl")]]) {
      const r = await run([...command, "--db", url(), "--chain", "no-such-chain-here", "--key-file", keyFile])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/^error: .*no chain "no-such-chain-here" in this database; it holds /m)
      // (a database of many chains, such as the one every test here shares, names 20 of them)
      if (!/more than 20 chains/.test(r.stderr)) expect(r.stderr).toContain(chain)
      expect(r.stdout).toBe("")
    }
    expect(existsSync(at("never.pack.jsonl"))).toBe(false)
    // --json: still one object on stdout, the error in it
    const j = await run(["verify", "--db", url(), "--chain", "no-such-chain-here", "--json"])
    expect(j.code).toBe(1)
    expect(j.stderr).toBe("")
    const v = json(j.stdout)
    expect(v).toMatchObject({ ok: false, entries: 0, head: "0".repeat(64), signatures: "not-checked", completeness: "none", error: { _tag: "ChainNotFound", line: 0, seq: null } })
    expect(v["error"]["message"]).toMatch(/^ChainNotFound: cannot open .* chain no-such-chain-here: no chain "no-such-chain-here" in this database; it holds /)
    if (!/more than 20 chains/.test(v["error"]["message"])) expect(v["error"]["message"]).toContain(chain)
  })

  it("demo --db: the decisions go into the chain, which verifies from the database; the pack goes to --out", async () => {
    const demoChain = freshChain("cli-sql-demo")
    const out = at(`demo-${engine.name}`)
    const first = await run(["demo", "--out", out, "--db", url(), "--chain", demoChain])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stdout).toContain(`every call is in the chain ${demoChain} of `)
    expect(first.stdout).toMatch(new RegExp(`verify --db \\S+ --chain ${demoChain}\\n  ok: \\d+ entries`))
    expect(existsSync(join(out, "loan-triage.log.jsonl"))).toBe(false)
    const pack = await run(["verify", join(out, "loan-triage.pack.jsonl")], { ACTTRACE_KEY: "acttrace-demo-key" })
    expect(pack.code, pack.stdout).toBe(0)
    // run again: the chain goes on
    const second = await run(["demo", "--out", out, "--db", url(), "--chain", demoChain])
    expect(second.code, second.stderr).toBe(0)
    const v = await run(["verify", "--db", url(), "--chain", demoChain, "--json"], { ACTTRACE_KEY: "acttrace-demo-key" })
    expect(v.code, v.stdout).toBe(0)
    const verdict = json(v.stdout)
    expect(verdict).toMatchObject({ ok: true, signatures: "verified" })
    const exported = at(`demo-${engine.name}.pack.jsonl`)
    const e = await run(["export", "--db", url(), "--chain", demoChain, "--out", exported], { ACTTRACE_KEY: "acttrace-demo-key" })
    expect(e.code, e.stderr).toBe(0)
    // both runs' model calls are in the chain: three applications each
    expect(lines(exported).filter((l) => l.includes('"type":"llm_call"'))).toHaveLength(6)
  })
}

describe("--db with a SQLite file", () => {
  const file = at("audit.db")
  engineSuite(sqlite(file))

  it("export --out the SQLite database itself, or a file of it: usage error (exit 2), the database untouched", async () => {
    const chain = freshChain("cli-sql-out")
    await copyToDb(file, chain, logLines.slice(0, 5))
    const size = statSync(file).size
    for (const out of [file, `${file}-wal`, `${file}-shm`]) {
      const r = await run(["export", "--db", file, "--chain", chain, "--out", out, "--key-file", keyFile, "--private-key", privateKey])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/^error: --out .* SQLite database of --db/m)
    }
    expect(statSync(file).size).toBe(size)
    // every URL form a writer's Store.layerSqlUrl takes names the same file here
    for (const form of [`sqlite:${file}`, `sqlite://${file}`]) {
      const v = await run(["verify", "--db", form, "--chain", chain, "--key-file", keyFile])
      expect(v.code, form + ": " + v.stdout + v.stderr).toBe(0)
    }
  })

  it("demo --db --private-key: the public-key part runs on the chain's packs, and the rewritten history is caught", async () => {
    const chain = freshChain("cli-sql-demo-pk")
    const dir = at("demo-pk")
    const r = await run(["demo", "--out", dir, "--db", file, "--chain", chain, "--private-key", privateKey])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`verify --db \\S+ --chain ${chain} --pubkey \\S+\\n  ok: \\d+ entries.*checkpoints verified`))
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify-proof .*\n(  proven: seq \d+ .*\n){2}  ok: 2 entries proven/m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify .*later\.pack\.jsonl --pubkey .* --since .*published\.note\n  ok: /m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? verify \S*rewritten\.pack\.jsonl --pubkey \S+ --since \S+\n  HistoryRewritten.*\n  \(exit 1\)/m)
    expect(r.stdout).toMatch(/^\$ .*acttrace(\.js)? consistency .*\n  NotConsistent: .*seq \d+/m)
    // the chain went on (the agent decided three more) and verifies under the public key alone
    const v = await run(["verify", "--db", file, "--chain", chain, "--pubkey", pub, "--json"])
    expect(v.code, v.stdout).toBe(0)
    expect(json(v.stdout)).toMatchObject({ ok: true, checkpoints: "verified" })
    const e = await run(["export", "--db", file, "--chain", chain, "--out", at("demo-pk.pack.jsonl"), "--private-key", privateKey])
    expect(e.code, e.stderr).toBe(0)
    expect(lines(at("demo-pk.pack.jsonl")).filter((l) => l.includes('"type":"llm_call"'))).toHaveLength(6)
  })

  it("a SQLite file that does not exist is not created: verify cannot read it (exit 2), export fails (exit 1)", async () => {
    const missing = at("no-such.db")
    const v = await run(["verify", "--db", missing, "--chain", "c", "--key-file", keyFile])
    expect(v.code).toBe(2)
    expect(v.stderr).toMatch(/^error: cannot read .*no-such\.db: no such file or directory$/m)
    const e = await run(["export", "--db", missing, "--chain", "c", "--out", at("x.pack.jsonl"), "--key-file", keyFile])
    expect(e.code).toBe(1)
    expect(e.stderr).toMatch(/^error: cannot open .*no-such\.db: no such file or directory$/m)
    expect(existsSync(missing)).toBe(false)
  })
})

describePg("--db with PostgreSQL", () => {
  engineSuite(postgres)

  /** the development URL with a password in it (the server trusts loopback: any password gets in) */
  const withPassword = (password: string, change: (u: URL) => void = () => {}) => {
    const u = new URL(databaseUrl!)
    u.password = password
    change(u)
    return u.toString()
  }

  it("a URL's password is in no output: a missing chain, a refused connection, a missing database, a demo", async () => {
    const password = "Wr0ng-S3cret-Pw"
    const cases: Array<readonly [ReadonlyArray<string>, number]> = [
      [["verify", "--db", withPassword(password), "--chain", "no-such-chain-pw"], 1],
      [["verify", "--db", withPassword(password), "--chain", "no-such-chain-pw", "--json"], 1],
      [["export", "--db", withPassword(password), "--chain", "no-such-chain-pw", "--out", at("pw.pack.jsonl")], 1],
      // nothing listens on port 9: connection refused
      [["verify", "--db", withPassword(password, (u) => (u.port = "9")), "--chain", "c", "--json"], 2],
      [["verify", "--db", withPassword(password, (u) => (u.port = "9")), "--chain", "c"], 2],
      [["export", "--db", withPassword(password, (u) => (u.port = "9")), "--chain", "c", "--out", at("pw.pack.jsonl")], 1],
      [["verify", "--db", withPassword(password, (u) => (u.pathname = "/no_such_database_pw")), "--chain", "c"], 2],
      [["verify", `--db=${withPassword(password)}`, "--chain", "no-such-chain-pw"], 1],
      // the URL where no URL belongs: the argument parser repeats what it did not expect
      [["demo", withPassword(password)], 2],
      [["verify", "--chain", "c", withPassword(password)], 2],
      [["demo", "--out", at("demo-pw"), "--db", withPassword(password), "--chain", freshChain("cli-sql-pw")], 0]
    ]
    for (const [args, code] of cases) {
      const r = await run(args)
      expect({ args, code: r.code }).toEqual({ args, code })
      expect(r.stdout + r.stderr).not.toContain(password)
      if (code === 1) expect(r.stdout + r.stderr).toMatch(/postgres(ql)?:\/\/postgres@127\.0\.0\.1/)
    }
  }, 60_000)
})

// ---------------------------------------------------------------------------------------------
// A PostgreSQL that asks for a password (SCRAM): a private server of this test's own, on a free
// port, stopped at the end. (The development server and the CI one trust loopback: any password
// gets in there.)

const PGBIN = (() => {
  const root = "/usr/lib/postgresql"
  const dirs = existsSync(root) ? readdirSync(root).map((v) => join(root, v, "bin")).filter((d) => existsSync(join(d, "initdb"))) : []
  return process.env["PGBIN"] ?? dirs.sort((a, b) => a.localeCompare(b, "en", { numeric: true })).pop()
})()
const asRoot = process.getuid?.() === 0

const describePassword = PGBIN === undefined ? describe.skip : describe
if (PGBIN === undefined) console.warn("skipping the PostgreSQL password tests: no PostgreSQL server binaries (apt-get install postgresql, or set PGBIN)")

describePassword("--db with a PostgreSQL that asks for a password", () => {
  const password = "Env-Only-Pw-4217"
  // a directory of its own: the postgres user cannot enter this test's (0700, root's); made when
  // the suite runs (a suite filtered out runs no afterAll to remove it)
  let dir = ""
  let url = ""
  /** a server binary, as the postgres user when this runs as root (PostgreSQL refuses root) */
  const asPg = (command: string, args: ReadonlyArray<string>) => {
    const r = asRoot
      ? spawnSync("runuser", ["-u", "postgres", "--", join(PGBIN!, command), ...args], { cwd: dir, encoding: "utf8" })
      : spawnSync(join(PGBIN!, command), args, { cwd: dir, encoding: "utf8" })
    if (r.status !== 0) throw new Error(`${command} failed: ${r.stderr}${existsSync(join(dir, "log")) ? readFileSync(join(dir, "log"), "utf8") : ""}`)
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "acttrace-pg-password-"))
    writeFileSync(join(dir, "pw"), password + "\n")
    if (asRoot) spawnSync("chown", ["-R", "postgres:postgres", dir])
    asPg("initdb", ["-D", join(dir, "data"), "-U", "postgres", "-A", "scram-sha-256", `--pwfile=${join(dir, "pw")}`, "-E", "UTF8", "--no-locale"])
    const port = await new Promise<number>((ok) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const p = (server.address() as AddressInfo).port
        server.close(() => ok(p))
      })
    })
    asPg("pg_ctl", ["-D", join(dir, "data"), "-l", join(dir, "log"), "-w", "-t", "30", "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, "start"])
    url = `postgres://postgres@127.0.0.1:${port}/postgres`
  }, 60_000)

  afterAll(() => {
    try {
      if (url !== "") asPg("pg_ctl", ["-D", join(dir, "data"), "-m", "fast", "-w", "stop"])
    } finally {
      if (dir !== "") rmSync(dir, { recursive: true, force: true })
    }
  })

  it("PGPASSWORD gets in; no password says to set it; a wrong one is refused, and never printed", async () => {
    const chain = freshChain("cli-sql-pw")
    const none = await run(["verify", "--db", url, "--chain", chain])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/^error: cannot read postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres: .*the server asks for a password and none was given: set PGPASSWORD/m)
    const demo = await run(["demo", "--out", at("demo-scram"), "--db", url, "--chain", chain], { PGPASSWORD: password })
    expect(demo.code, demo.stderr).toBe(0)
    const v = await run(["verify", "--db", url, "--chain", chain, "--json"], { PGPASSWORD: password, ACTTRACE_KEY: "acttrace-demo-key" })
    expect(v.code, v.stdout).toBe(0)
    expect(json(v.stdout)).toMatchObject({ ok: true, signatures: "verified" })
    const e = await run(["export", "--db", url, "--chain", chain, "--out", at("scram.pack.jsonl")], { PGPASSWORD: password, ACTTRACE_KEY: "acttrace-demo-key" })
    expect(e.code, e.stderr).toBe(0)
    const noDemo = await run(["demo", "--out", at("demo-scram-2"), "--db", url, "--chain", chain])
    expect(noDemo.code).toBe(1)
    expect(noDemo.stderr).toMatch(/set PGPASSWORD/)
    const wrongUrl = new URL(url)
    wrongUrl.password = "Wrong-Pw-9931"
    for (const command of [["verify"], ["export", "--out", at("never-scram.pack.jsonl")], ["demo", "--out", at("demo-scram-3")]]) {
      const r = await run([...command, "--db", wrongUrl.toString(), "--chain", chain])
      expect(r.code).toBe(command[0] === "verify" ? 2 : 1)
      expect(r.stderr).toMatch(/password authentication failed for user "postgres".*the password was refused/)
      expect(r.stdout + r.stderr).not.toContain("Wrong-Pw-9931")
    }
    for (const r of [none, demo, v, e, noDemo]) expect(r.stdout + r.stderr).not.toContain(password)
  }, 60_000)
})

describe("--db usage errors (exit 2)", () => {
  const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
    [["verify", "--db", "x.db"], /--db needs --chain NAME/],
    [["verify", "x.jsonl", "--chain", "c"], /--chain names a chain in a database: give the database with --db URL/],
    [["verify", "x.jsonl", "--db", "x.db", "--chain", "c"], /give PACK or --db URL --chain NAME, not both/],
    [["verify", "-", "--db", "x.db", "--chain", "c"], /give PACK or --db URL --chain NAME, not both/],
    [["verify", "--db", "mysql://u:pw@host/db", "--chain", "c"], /--db: the mysql:\/\/ scheme is not supported: give a postgres:\/\/ or postgresql:\/\/ URL \(PostgreSQL\), or a SQLite file path/],
    [["verify", "--db", "", "--chain", "c"], /--db is empty/],
    [["verify", "--db", "x.db", "--chain", ""], /--chain: a chain's name is 1 to 200 characters/],
    [["verify", "--db", "x.db", "--chain", "a\u0007b"], /--chain: a chain's name holds no control characters/],
    [["verify", "--db", "x.db", "--chain", "c", "--threads", "2"], /--threads is for files/],
    [["verify"], /give the PACK to verify \(a file, or - for standard input\), or --db URL --chain NAME/],
    [["export", "--db", "x.db", "--out", "p.jsonl"], /--db needs --chain NAME/],
    [["export", "log.jsonl", "--chain", "c", "--out", "p.jsonl"], /--chain names a chain/],
    [["export", "log.jsonl", "--db", "x.db", "--chain", "c", "--out", "p.jsonl"], /give LOG or --db URL --chain NAME, not both/],
    [["export", "--db", "mysql://h/db", "--chain", "c", "--out", "p.jsonl"], /the mysql:\/\/ scheme is not supported/],
    [["export", "--out", "p.jsonl"], /give the LOG to export, or --db URL --chain NAME/],
    [["demo", "--db", "x.db"], /--db needs --chain NAME/],
    [["demo", "--chain", "c"], /--chain names a chain/],
    [["demo", "--db", "mysql://h/db", "--chain", "c"], /the mysql:\/\/ scheme is not supported/]
  ]

  it("each names what is wrong, with the command's usage line; nothing is created", async () => {
    for (const [args, message] of cases) {
      const r = await run(args)
      expect({ args, code: r.code }).toEqual({ args, code: 2 })
      const [error, usage, ...rest] = r.stderr.split("\n")
      expect(error, r.stderr).toMatch(/^error: /)
      expect(error, r.stderr).toMatch(message)
      expect(usage).toMatch(new RegExp(`^usage: acttrace ${args[0]} `))
      expect(rest).toEqual([])
      expect(r.stdout).toBe("")
      // the password of a refused URL is not repeated either
      expect(r.stderr).not.toContain(":pw@")
    }
    expect(existsSync("x.db")).toBe(false)
  })

  it.runIf(hasScript)("a password in --db at a terminal: one warning that ps shows it (never the password); none without one", () => {
    // nothing listens on port 9: the connection is refused, after the warning
    const withPassword = onTerminal(["verify", "--db", "postgres://auditor:T3rminal-Pw@127.0.0.1:9/audit", "--chain", "c"])
    expect(withPassword.code).toBe(2)
    expect(withPassword.out.match(/^warning: the password in --db URL is in the process list \(ps\).*PGPASSWORD/gm)?.length, withPassword.out).toBe(1)
    expect(withPassword.out).toMatch(/^error: cannot read postgres:\/\/auditor@127\.0\.0\.1:9\/audit: /m)
    expect(withPassword.out).not.toContain("T3rminal-Pw")
    const without = onTerminal(["verify", "--db", "postgres://auditor@127.0.0.1:9/audit", "--chain", "c"])
    expect(without.code).toBe(2)
    expect(without.out).not.toMatch(/warning/)
    // on a pipe (a script), no warning either
    const piped = spawned(["verify", "--db", "postgres://auditor:T3rminal-Pw@127.0.0.1:9/audit", "--chain", "c"])
    expect(piped.stderr).not.toMatch(/warning/)
    expect(piped.stderr).not.toContain("T3rminal-Pw")
  })

  it("the usage lines and --help offer --db URL --chain NAME for verify, export and demo", async () => {
    const none = await run(["bogus"])
    for (const command of ["verify", "export", "demo"]) {
      expect(none.stderr).toMatch(new RegExp(`^usage: acttrace ${command} .*--db URL --chain NAME`, "m"))
      const help = await run([command, "--help"])
      expect(help.stdout).toMatch(/^ {2}--db URL\b/m)
      expect(help.stdout).toMatch(/^ {2}--chain NAME\b/m)
    }
    for (const doc of ["README.md", "docs/cli.md"]) {
      const text = readFileSync(join(import.meta.dirname, "..", doc), "utf8")
      for (const command of ["verify", "export", "demo"]) {
        expect(text, `${doc} ${command}`).toMatch(new RegExp(`^acttrace ${command} .*--db URL --chain NAME`, "m"))
      }
    }
  })
})

// ---------------------------------------------------------------------------------------------
// The built executable: its exit codes, and its memory on a chain of a hundred megabytes

/** `acttrace ARGS` as its own process, under `node` options `node` (a heap limit). */
const spawned = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly node?: ReadonlyArray<string> } = {}) => {
  const r = spawnSync(process.execPath, [...(options.node ?? []), BIN, ...args], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "", ...options.env }, timeout: 300_000 })
  // a process ended by a signal (the machine's OOM killer) says so where the exit code is expected
  return { code: r.status, stdout: r.stdout, stderr: r.signal === null ? r.stderr : `${r.stderr}\n(ended by ${r.signal})` }
}

/**
 * `acttrace ARGS` as its own process, with a heap limit, its memory sampled every 2 ms: the peak
 * of the bytes outside the heap (ArrayBuffers: the rows' bytes once they are a stream) and of the
 * heap used, in MiB, said on stderr's last line.
 */
const spawnedMeasured = (args: ReadonlyArray<string>, heapMiB: number) => {
  const preload = at("peak-memory.mjs")
  if (!existsSync(preload)) {
    writeFileSync(
      preload,
      [
        "let buffers = 0, heap = 0",
        "const sample = () => { const m = process.memoryUsage(); buffers = Math.max(buffers, m.arrayBuffers); heap = Math.max(heap, m.heapUsed) }",
        "setInterval(sample, 2).unref()",
        "process.on('exit', () => { sample(); process.stderr.write(`\\npeak ${buffers / 1048576} ${heap / 1048576}\\n`) })",
        ""
      ].join("\n")
    )
  }
  const r = spawned(args, { node: [`--max-old-space-size=${heapMiB}`, "--import", preload] })
  const m = /\npeak ([\d.]+) ([\d.]+)\n$/.exec(r.stderr)
  return { ...r, stderr: r.stderr.replace(/\npeak [\d.]+ [\d.]+\n$/, ""), buffersMiB: m === null ? NaN : Number(m[1]), heapMiB: m === null ? NaN : Number(m[2]) }
}

/** The lines of a log of `n` HMAC-signed entries of about `bytes` bytes each, written in memory (no disk syncs: fast). */
const memoryLog = (n: number, bytes: number) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const l = yield* AuditLog.AuditLog
      const note = "n".repeat(bytes)
      for (let i = 0; i < n; i++) yield* l.append("decision_record", { i, note })
      const store = yield* Store.Store
      const chunks: Array<Uint8Array> = []
      yield* Stream.runForEach(yield* store.snapshot, (c) => Effect.sync(() => void chunks.push(c)))
      return Buffer.concat(chunks).toString("utf8").split("\n").filter((x) => x.length > 0)
    }).pipe(
      Effect.provide(
        AuditLog.layer({ system: "cli-sql-memory", riskTier: "high" }).pipe(
          Layer.provideMerge(Store.layerMemory()),
          Layer.provide(Signer.layerHmac(Redacted.make(HMAC))),
          Layer.provide(Redactor.layerDefault)
        )
      ),
      Effect.scoped
    )
  )

/** The chain's length (rows of about 2.8 kB) and the heap limit of the processes that read it. */
const MEMORY = FUZZ ? { rows: 300_000, heapMiB: 160 } : { rows: 80_000, heapMiB: 160 }

const builtSuite = (engine: Engine) => {
  it(`verify and export --db stream the rows: a chain of ${MEMORY.rows} rows (${Math.round((MEMORY.rows * 2.8) / 1000)} MB) read in ${MEMORY.heapMiB} MiB of heap, a few pages at a time`, async () => {
    const rows = await memoryLog(MEMORY.rows, 2500)
    const bytes = rows.reduce((n, r) => n + r.length + 1, 0)
    const mib = bytes / 1048576
    // the rows arrive as strings, on the heap: a chain held whole as rows, lines or text would not
    // fit in it (beside the 40 MiB the CLI itself takes); held as bytes (off the heap), it would
    // show in the peak of ArrayBuffers
    expect(mib).toBeGreaterThan(1.3 * MEMORY.heapMiB)
    const chain = freshChain("cli-sql-memory")
    await copyToDb(engine.url(), chain, rows)
    const v = spawnedMeasured(["verify", "--db", engine.url(), "--chain", chain, "--key-file", keyFile, "--json"], MEMORY.heapMiB)
    expect(v.code, v.stderr.slice(-2000)).toBe(0)
    expect(json(v.stdout)).toMatchObject({ ok: true, entries: rows.length, signatures: "verified" })
    const out = at(`memory-${engine.name}.pack.jsonl`)
    const e = spawnedMeasured(["export", "--db", engine.url(), "--chain", chain, "--out", out, "--key-file", keyFile], MEMORY.heapMiB)
    expect(e.code, e.stderr.slice(-2000)).toBe(0)
    expect(statSync(out).size).toBeGreaterThan(bytes)
    const p = spawned(["verify", out, "--key-file", keyFile, "--json"])
    expect(json(p.stdout)).toMatchObject({ ok: true, entries: rows.length, completeness: "signed-header" })
    console.log(
      `${engine.name}: a chain of ${rows.length} rows, ${mib.toFixed(0)} MiB: peak outside the heap / heap used: verify --db ${v.buffersMiB.toFixed(0)} / ${v.heapMiB.toFixed(0)} MiB, export --db ${e.buffersMiB.toFixed(0)} / ${e.heapMiB.toFixed(0)} MiB`
    )
    // a few pages of 5,000 rows (about 14 MB each) at a time, and garbage not yet collected
    expect(v.buffersMiB).toBeLessThan(0.4 * mib)
    expect(e.buffersMiB).toBeLessThan(0.4 * mib)
    // a shared development database keeps the other chains; this one is a quarter of a gigabyte
    await engine.exec((sql) => sql`DELETE FROM acttrace_entries WHERE chain = ${chain}`.pipe(Effect.zipRight(sql`DELETE FROM acttrace_chains WHERE chain = ${chain}`)))
  }, 300_000)

  it("the built executable: demo --db, then verify --db; a mysql:// URL is a usage error", () => {
    const chain = freshChain("cli-sql-bin")
    const d = spawned(["demo", "--out", at(`bin-demo-${engine.name}`), "--db", engine.url(), "--chain", chain])
    expect(d.code, d.stderr).toBe(0)
    const v = spawned(["verify", "--db", engine.url(), "--chain", chain], { env: { ACTTRACE_KEY: "acttrace-demo-key" } })
    expect(v.code, v.stderr).toBe(0)
    expect(v.stdout).toMatch(/^ok: \d+ entries/)
    const missing = spawned(["verify", "--db", engine.url(), "--chain", `${chain}-missing`])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(new RegExp(`^error: cannot open .*chain ${chain}-missing: no chain`))
    const m = spawned(["verify", "--db", "mysql://h/db", "--chain", chain])
    expect(m.code).toBe(2)
    expect(m.stderr).toMatch(/^error: --db: the mysql:\/\/ scheme is not supported/)
  }, 120_000)
}

describe("the built executable, SQLite", () => builtSuite(sqlite(at("built.db"))))
describePg("the built executable, PostgreSQL", () => builtSuite(postgres))

describe("the executable outside a full install", () => {
  // a copy of the package without node_modules: what an app sees when a package the unbundled
  // CLI (--db) imports is not installed, or when the package was never built
  it("names a missing package with the range to install, and a missing build as such", () => {
    const root = mkdtempSync(join(tmpdir(), "acttrace-bin-"))
    try {
      const bin = join(root, "bin", "acttrace.js")
      spawnSync("mkdir", ["-p", join(root, "bin")])
      writeFileSync(bin, readFileSync(BIN))
      writeFileSync(join(root, "package.json"), readFileSync(join(import.meta.dirname, "..", "package.json")))
      const notBuilt = spawnSync(process.execPath, [bin, "verify", "--db", "x.db", "--chain", "c"], { encoding: "utf8" })
      expect(notBuilt.status).toBe(2)
      expect(notBuilt.stderr).toMatch(/^acttrace: the package is not built; run `npm run build`/)
      spawnSync("cp", ["-r", join(import.meta.dirname, "..", "dist"), join(root, "dist")])
      const missing = spawnSync(process.execPath, [bin, "verify", "--db", "x.db", "--chain", "c"], { encoding: "utf8" })
      expect(missing.status).toBe(2)
      expect(missing.stderr).toMatch(/^acttrace: with --db the CLI needs the package (@effect\/[a-z-]+|effect), which is not installed: npm install \S+@\^\d/)
      expect(missing.stderr).not.toMatch(/not built/)
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
