/**
 * `acttrace verify` on streams and hostile input, through the built CLI: standard input, FIFOs
 * and process substitution; a line far beyond the limit streamed through a pipe, with the
 * process's peak memory measured; what `--json` says about signatures when verification fails;
 * and `Unreadable` in plain words.
 */
import { spawn, spawnSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as F from "../src/internal/fixtures.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { BIN, cli, ROOT, tempDir } from "./helpers.js"

// `Verify.fileParallel` only has its worker in the build: drive the built module, as the CLI does
type VerifyModule = typeof import("../src/Verify.js")
const V = (await import(join(ROOT, "dist", "Verify.js"))) as VerifyModule

const KEY = "verify-cli-key"
const tmp = tempDir()
afterAll(tmp.cleanup)
let counter = 0
const fresh = (name: string) => join(tmp.dir, `${name}-${++counter}`)

const c = F.chain(F.mixed(40), { key: KEY })
const packText = [F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 40, key: KEY }), ...c.lines].join("\n") + "\n"
const okJson = { ok: true, entries: 40, head: c.head, signatures: "verified", completeness: "signed-header", checkpoints: "not-checked", checkpoint_count: 0, unsealed_tail: 40 }

/** Run the CLI with `args` while `feed` writes to the FIFO it reads; stdout, stderr and exit code. */
const viaFifo = async (args: ReadonlyArray<string>, text: string) => {
  const fifo = fresh("fifo")
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
  const child = spawn(process.execPath, [BIN, "verify", ...args, fifo], { env: { ...process.env, ACTTRACE_KEY: "" } })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()))
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  // opening a FIFO for writing waits for its reader
  await writeFile(fifo, text)
  return { code: await exited, stdout, stderr }
}

describe("verify reads streams: standard input, FIFOs, process substitution", () => {
  it("verify - reads standard input", () => {
    const r = cli(["verify", "--key", KEY, "--json", "-"], {}, packText)
    expect(r.stderr).toBe("")
    expect(JSON.parse(r.stdout)).toEqual(okJson)
    expect(r.code).toBe(0)
    // the key from the environment, text output
    const t = cli(["verify", "-"], { ACTTRACE_KEY: KEY }, packText)
    expect(t.stdout).toMatch(/^ok: 40 entries, head [0-9a-f]{12}… \(signatures verified; completeness: signed-header\)/)
    expect(t.code).toBe(0)
    // a tampered pack through the pipe is reported as from a file
    const tampered = packText.replace('"seq":7', '"seq":8')
    const bad = cli(["verify", "--key", KEY, "--json", "-"], {}, tampered)
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { _tag: "EditDetected", line: 9, seq: 8 } })
    expect(bad.code).toBe(1)
    // `-` before the options, as a user writes it
    const first = cli(["verify", "-", "--key", KEY, "--json"], {}, packText)
    expect(first.stderr).toBe("")
    expect(JSON.parse(first.stdout)).toEqual(okJson)
    expect(first.code).toBe(0)
    // an empty standard input has no entry
    const empty = cli(["verify", "-"], {}, "")
    expect(empty.stdout).toMatch(/^MalformedLine: no entry at all/)
    expect(empty.code).toBe(1)
  })

  it("a FIFO (mkfifo), with any thread count", async () => {
    for (const threads of ["1", "4"]) {
      const r = await viaFifo(["--key", KEY, "--json", "--threads", threads], packText)
      expect(r.stderr).toBe("")
      expect(JSON.parse(r.stdout)).toEqual(okJson)
      expect(r.code).toBe(0)
    }
    const t = await viaFifo(["--key", KEY], packText.replace('"seq":7', '"seq":8'))
    expect(t.stdout).toMatch(/^EditDetected at line 9 \(seq 8\)/)
    expect(t.code).toBe(1)
  })

  it("the library reads a FIFO without seeking, and fileParallel falls back to one thread", async () => {
    for (const threads of [1, 3]) {
      const fifo = fresh("fifo")
      expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
      const [outcome] = await Promise.all([
        Effect.runPromise(V.fileParallel(fifo, { key: Redacted.make(KEY), threads, chunkSize: 4096 }).pipe(Effect.provide(NodeFileSystem.layer))),
        writeFile(fifo, packText)
      ])
      expect(Either.isRight(outcome.result) && outcome.result.right).toMatchObject({ entries: 40, head: c.head, signatures: "verified" })
      expect(outcome.threads).toBe(1)
    }
  })

  it("process substitution <(…)", () => {
    const pack = fresh("pack.jsonl")
    writeFileSync(pack, packText)
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${BIN}" verify --key "${KEY}" --json <(cat "${pack}")`], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "" } })
    expect(r.stderr).toBe("")
    expect(JSON.parse(r.stdout)).toEqual(okJson)
    expect(r.status).toBe(0)
  })
})

describe("a line far beyond --max-line-bytes, streamed through a pipe", () => {
  // the child reports its peak resident memory (kB) on stderr when it exits
  const preload = join(tmp.dir, "maxrss.mjs")
  writeFileSync(preload, 'import { writeSync } from "node:fs"\nprocess.on("exit", () => writeSync(2, `\\nMAXRSS ${process.resourceUsage().maxRSS}\\n`))\n')
  const MB = 1 << 20
  const run = (bytes: number, flags: string) => {
    const r = spawnSync("sh", ["-c", `head -c ${bytes} /dev/zero | tr '\\0' x | "${process.execPath}" --import "${preload}" "${BIN}" verify ${flags} -`], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "" }, timeout: 120_000 })
    const m = /MAXRSS (\d+)/.exec(r.stderr)
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/\s*MAXRSS \d+\s*/, ""), maxRssMB: m === null ? Infinity : Number(m[1]) / 1024 }
  }

  it("fails with MalformedLine naming the limit, and memory stays bounded", () => {
    const small = run(300 * MB, `--max-line-bytes ${MB}`)
    expect(small.stdout).toBe(`MalformedLine at line 1: line is longer than the limit of ${MB} bytes (maxLineBytes, --max-line-bytes)\n`)
    expect(small.stderr).toBe("")
    expect(small.code).toBe(1)
    // a 300 MB line held whole would take 600 MB or more
    expect(small.maxRssMB).toBeLessThan(160)
    // the default limit (64 MiB)
    const dflt = run(300 * MB, "--json")
    expect(JSON.parse(dflt.stdout)).toMatchObject({ ok: false, entries: 0, error: { _tag: "MalformedLine", line: 1, message: `MalformedLine at line 1: line is longer than the limit of ${64 * MB} bytes (maxLineBytes, --max-line-bytes)` } })
    expect(dflt.code).toBe(1)
    expect(dflt.maxRssMB).toBeLessThan(64 + 200)
    console.log(`peak RSS: ${small.maxRssMB.toFixed(0)} MB with --max-line-bytes 1 MiB, ${dflt.maxRssMB.toFixed(0)} MB with the default limit (300 MB line)`)
  })

  it("rejects a limit it cannot honour", () => {
    for (const v of ["0", "-5", String(2 ** 40)]) {
      const r = cli(["verify", "--max-line-bytes", v, "-"], {}, packText)
      expect(r.code, v).toBe(2)
      expect(r.stderr, v).toMatch(/--max-line-bytes/)
    }
  })
})

describe("verify --json of a failed pack says what was checked up to the failure", () => {
  const json = (args: ReadonlyArray<string>, text: string) => {
    const path = fresh("case.jsonl")
    writeFileSync(path, text)
    const r = cli(["verify", "--json", ...args, path])
    return JSON.parse(r.stdout) as { ok: boolean; entries: number; head: string; signatures: string; error?: { _tag: string } }
  }
  const edited = packText.replace('"seq":7', '"seq":8') // the entry at line 9

  it("verified with a key, not-checked without one on a signed log, absent on an unsigned one", () => {
    expect(json(["--key", KEY], edited)).toMatchObject({ ok: false, entries: 7, head: c.hashes[6], signatures: "verified", error: { _tag: "EditDetected" } })
    expect(json([], edited)).toMatchObject({ ok: false, entries: 7, signatures: "not-checked", error: { _tag: "EditDetected" } })
    const u = F.chain(F.mixed(10))
    const uEdited = u.lines.join("\n").replace('"seq":7', '"seq":8')
    expect(json([], uEdited)).toMatchObject({ ok: false, entries: 7, signatures: "absent", error: { _tag: "EditDetected" } })
    // a bad signature: the entries before it were checked with the key
    const badSig = c.lines.map((l, i) => (i === 5 ? l.replace(/"sig":"[0-9a-f]{4}/, '"sig":"0000') : l)).join("\n")
    expect(json(["--key", KEY], badSig)).toMatchObject({ ok: false, entries: 5, signatures: "verified", error: { _tag: "SignatureInvalid" } })
    // a failure of the header, after every entry verified
    const badHeader = packText.replace(/"sig": "[0-9a-f]{4}/, '"sig": "0000')
    expect(json(["--key", KEY], badHeader)).toMatchObject({ ok: false, entries: 40, signatures: "verified", error: { _tag: "HeaderInvalid" } })
    // no entry held: no signature was checked, and none can be said absent
    const other = F.chain(F.mixed(3), { key: "another key" }).lines.join("\n")
    expect(json(["--key", KEY], other)).toMatchObject({ ok: false, entries: 0, signatures: "not-checked", error: { _tag: "SignatureInvalid" } })
    expect(json([], "not json\n" + u.lines.join("\n"))).toMatchObject({ ok: false, entries: 0, signatures: "not-checked", error: { _tag: "MalformedLine" } })
    const missing = JSON.parse(cli(["verify", "--json", "--key", KEY, join(tmp.dir, "missing.jsonl")]).stdout) as { signatures: string }
    expect(missing.signatures).toBe("not-checked")
    // and with threads, the same words
    const r = cli(["verify", "--json", "--threads", "2", "--key", KEY, (() => {
      const p = fresh("edited.jsonl")
      writeFileSync(p, edited)
      return p
    })()])
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, entries: 7, signatures: "verified" })
  })
})

describe("Unreadable says what went wrong in plain words", () => {
  it("a missing file, a directory, a read error", () => {
    const internals = /FileSystem\.|Unknown|\(\d+\)|E[A-Z]{2,}:/
    const cases: Array<[string, RegExp]> = [
      [join(tmp.dir, "missing.jsonl"), /: no such file or directory$/],
      [tmp.dir, /: is a directory$/],
      // reading a process's memory from its start fails with EIO
      ["/proc/self/mem", /: (input\/output error|i\/o error)/]
    ]
    for (const [path, re] of cases) {
      const r = cli(["verify", "--json", path])
      const out = JSON.parse(r.stdout) as { error: { _tag: string; message: string } }
      expect(out.error._tag, path).toBe("Unreadable")
      expect(out.error.message, path).toMatch(re)
      expect(out.error.message, path).not.toMatch(internals)
      expect(r.code, path).toBe(2)
      // as text, an unreadable input is an error line on stderr, nothing on stdout
      const t = cli(["verify", path])
      expect(t.stdout, path).toBe("")
      expect(t.stderr, path).toBe(`error: cannot read ${out.error.message.replace(/^Unreadable: /, "")}\n`)
      expect(t.code, path).toBe(2)
    }
  })
})

describe("a _meta nested beyond the limit is a verdict, never a crash", () => {
  it("5,000 levels (about 10 KB): MalformedLine, exit 1, and one JSON object under --json", () => {
    const deep = "[".repeat(5_000) + "]".repeat(5_000)
    const path = fresh("deep.jsonl")
    writeFileSync(path, packText.replace('"summary": {}', `"summary": {"deep": ${deep}}`))
    for (const args of [["--key", KEY], []]) {
      const r = cli(["verify", "--json", ...args, path])
      expect(r.stderr).toBe("")
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, entries: 0, error: { _tag: "MalformedLine", line: 1, seq: null } })
      expect((JSON.parse(r.stdout) as { error: { message: string } }).error.message).toMatch(/more than 64 levels deep/)
      expect(r.code).toBe(1)
      const t = cli(["verify", ...args, path])
      expect(t.stdout).toMatch(/^MalformedLine at line 1: _meta is nested more than 64 levels deep/)
      expect(t.code).toBe(1)
    }
  })
})

describe("a safety net: a line that exhausts the call stack is MalformedLine, never a throw past step", () => {
  it("step called ever deeper, in a fresh process, until the stack runs out inside it", () => {
    // A fresh process, so that the engine runs the verifier as it does the first time (in this
    // test process other tests have already made its code use the stack differently). The
    // header is within the depth limit (60 levels): only the caller's deep stack makes it fail.
    const script = `${fresh("dive")}.mjs`
    writeFileSync(
      script,
      `
Error.stackTraceLimit = 200
const V = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist", "Verify.js")).href)})
const F = await import(${JSON.stringify(pathToFileURL(join(ROOT, "dist", "internal", "fixtures.js")).href)})
const c = F.chain(F.mixed(3), { key: "k" })
const deep = "[".repeat(60) + "]".repeat(60)
const meta = Buffer.from(F.metaLine({ system: "s", riskTier: "high", head: c.head, entries: 3, key: "k" }).replace('"summary": {}', '"summary": {"deep": ' + deep + '}'))
const s0 = V.initial({ key: F.keyOf("k") })
const outcomes = []
const dive = (n) => {
  try { dive(n + 1) } catch {}
  try {
    const r = V.step(s0, meta)
    outcomes[n] = r._tag === "Right" ? "ok" : r.left._tag + ": " + r.left.reason
  } catch (e) {
    outcomes[n] = e
  }
}
dive(0)
// a throw is allowed only where the stack left no room to report: no frame of the checking itself
// (only this script, step and its net making the error, Effect's class constructors)
const reporting = /^\\s+at (dive|Module\\.step|step|stepAt|asBuffer|beyondLimits|new MalformedLine|(new )?\\S+ \\(.*node_modules\\/effect\\/)/
const kinds = {}
for (const o of outcomes) {
  const k = o instanceof Error
    ? (o.stack.split("\\n").slice(1).every((f) => reporting.test(f)) ? "no room" : "escaped: " + o.stack.split("\\n").slice(0, 6).join(" | "))
    : String(o)
  kinds[k] = (kinds[k] ?? 0) + 1
}
console.log(JSON.stringify(kinds))
`
    )
    const r = spawnSync(process.execPath, ["--stack-size=300", script], { encoding: "utf8", timeout: 120_000 })
    expect(r.stderr).toBe("")
    const kinds = JSON.parse(r.stdout) as Record<string, number>
    expect(Object.keys(kinds).filter((k) => k.startsWith("escaped"))).toEqual([])
    expect(kinds["ok"]).toBeGreaterThan(100)
    // the net was reached, and said what happened
    const net = Object.keys(kinds).filter((k) => k.startsWith("MalformedLine"))
    expect(net).toEqual(["MalformedLine: the line could not be checked within this verifier's limits (Maximum call stack size exceeded)"])
  })
})

describe("a key that is not UTF-8 text is refused, never decoded lossily", () => {
  // two different byte strings that a lossy decoding turns into the same text, "k\ufffd\ufffd"
  const kA = fresh("kA")
  const kB = fresh("kB")
  writeFileSync(kA, Buffer.from([0x6b, 0xff, 0xfe]))
  writeFileSync(kB, Buffer.from([0x6b, 0x80, 0x81]))
  const lossy = "k\ufffd\ufffd"
  const signed = F.chain(F.mixed(5), { key: lossy })
  const lossyPack = fresh("lossy.jsonl")
  writeFileSync(lossyPack, [F.metaLine({ system: "s", riskTier: "high", head: signed.head, entries: 5, key: lossy }), ...signed.lines].join("\n") + "\n")

  it("--key-file: a usage error (exit 2) naming the file, for verify, export and demo", () => {
    for (const file of [kA, kB]) {
      const v = cli(["verify", "--json", "--key-file", file, lossyPack])
      expect(v.stdout).toBe("")
      expect(v.stderr).toContain(`error: key file ${file} is not UTF-8 text (byte 2 is not part of a UTF-8 character)`)
      expect(v.code).toBe(2)
    }
    const e = cli(["export", lossyPack, "--out", fresh("out.jsonl"), "--key-file", kA])
    expect(e.stderr).toContain(`key file ${kA} is not UTF-8 text`)
    expect(e.code).toBe(2)
    const d = cli(["demo", "--out", fresh("demo"), "--key-file", kB])
    expect(d.stderr).toContain(`key file ${kB} is not UTF-8 text`)
    expect(d.code).toBe(2)
  })

  it("a key holding U+FFFD, the mark of a lossy decoding, is refused from every source", () => {
    // a file holding U+FFFD as valid UTF-8, the environment (decoded lossily by Node), --key
    const literal = fresh("k-fffd")
    writeFileSync(literal, `${lossy}\n`)
    const f = cli(["verify", "--key-file", literal, lossyPack])
    expect(f.stderr).toContain(`error: the key in key file ${literal} holds U+FFFD`)
    expect(f.code).toBe(2)
    const viaEnv = spawnSync("sh", ["-c", `ACTTRACE_KEY="$(printf 'k\\377\\376')" exec "$0" "$@"`, process.execPath, BIN, "verify", lossyPack], { encoding: "utf8" })
    expect(viaEnv.stderr).toContain("error: the key in ACTTRACE_KEY holds U+FFFD")
    expect(viaEnv.status).toBe(2)
    const k = cli(["verify", "--key", lossy, lossyPack])
    expect(k.stderr).toContain("error: the key in --key holds U+FFFD")
    expect(k.code).toBe(2)
  })

  it("a UTF-8 key file verifies as before, its one trailing newline ignored", () => {
    const good = fresh("k-good")
    writeFileSync(good, `${KEY}\n`)
    const path = fresh("good.jsonl")
    writeFileSync(path, packText)
    const r = cli(["verify", "--json", "--key-file", good, path])
    expect(JSON.parse(r.stdout)).toEqual(okJson)
    expect(r.code).toBe(0)
    const accented = fresh("k-accented")
    writeFileSync(accented, "clé ☕ 😀")
    const s = F.chain(F.mixed(3), { key: "clé ☕ 😀" })
    const p2 = fresh("accented.jsonl")
    writeFileSync(p2, s.lines.join("\n") + "\n")
    expect(cli(["verify", "--key-file", accented, p2]).code).toBe(0)
  })
})

describe("a signed log or pack verified without its key says so (issue 12, item 14)", () => {
  // a real log, signed by the library, and its pack exported by the CLI
  const log = fresh("signed.jsonl")
  const pack = fresh("signed.pack.jsonl")
  const keyFile = fresh("signed.key")
  const keyId = Signer.hmacKeyId(Redacted.make(KEY))
  const unsigned = fresh("unsigned.jsonl")
  beforeAll(async () => {
    writeFileSync(keyFile, KEY)
    const write = (path: string, signer: Layer.Layer<Signer.Signer, unknown>) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const l = yield* AuditLog.AuditLog
          yield* l.append("decision_record", { x: 1 })
        }).pipe(
          Effect.provide(
            AuditLog.layer({ system: "verify-cli", riskTier: "high", tagPromiseCalls: false }).pipe(
              Layer.provide(Store.layerFile(path)),
              Layer.provide(signer),
              Layer.provide(Redactor.layerNoop),
              Layer.provideMerge(NodeFileSystem.layer)
            )
          ),
          Effect.scoped
        )
      )
    await write(log, Signer.layerHmac(Redacted.make(KEY)))
    await write(unsigned, Signer.layerNone)
    expect(cli(["export", log, "--out", pack, "--key-file", keyFile]).code).toBe(0)
  })
  const warning = (id: string) => `warning: signed by key id ${id}; signatures were not checked; pass --key-file F or ACTTRACE_KEY (or --key K) to check them\n`

  it("a pack, a log, standard input: a warning on stderr naming the key id, exit 0 and the verdict unchanged", () => {
    for (const path of [pack, log]) {
      const r = cli(["verify", path])
      expect(r.stdout, path).toMatch(/^ok: \d+ entries, .*signatures not-checked/)
      expect(r.stderr, path).toBe(warning(keyId))
      expect(r.code, path).toBe(0)
      // --json: the one object on stdout, the warning on stderr
      const j = cli(["verify", "--json", path])
      expect(JSON.parse(j.stdout), path).toMatchObject({ ok: true, signatures: "not-checked" })
      expect(j.stderr, path).toBe(warning(keyId))
      expect(j.code, path).toBe(0)
    }
    const viaStdin = cli(["verify", "-"], {}, readFileSync(pack, "utf8"))
    expect(viaStdin.stderr).toBe(warning(keyId))
    expect(viaStdin.code).toBe(0)
    // a signed chain that states no key id (no signing member in its audit_open)
    const anonymous = fresh("anonymous.jsonl")
    writeFileSync(anonymous, c.lines.join("\n") + "\n")
    const a = cli(["verify", anonymous])
    expect(a.stderr).toBe("warning: signed (the file states no key id); signatures were not checked; pass --key-file F or ACTTRACE_KEY (or --key K) to check them\n")
    expect(a.code).toBe(0)
  })

  it("with the key, or on an unsigned log, nothing is said", () => {
    for (const args of [["--key-file", keyFile, pack], ["--key-file", keyFile, log], [unsigned]]) {
      const r = cli(["verify", ...args])
      expect(r.stderr, args.join(" ")).toBe("")
      expect(r.code, args.join(" ")).toBe(0)
    }
  })

  it("--require-signatures: signatures not checked, or absent, fail the verification (exit 1, text and --json); verified ones pass", () => {
    const t = cli(["verify", "--require-signatures", pack])
    expect(t.stdout).toBe(`SignaturesNotVerified: signed by key id ${keyId}; signatures were not checked; pass --key-file F or ACTTRACE_KEY (or --key K) to check them\n`)
    expect(t.stderr).toBe("")
    expect(t.code).toBe(1)
    const j = cli(["verify", "--json", "--require-signatures", log])
    const o = JSON.parse(j.stdout) as { ok: boolean; signatures: string; entries: number; error: { _tag: string; line: number; seq: number | null; message: string } }
    expect(o).toMatchObject({ ok: false, signatures: "not-checked", entries: 2, error: { _tag: "SignaturesNotVerified", line: 0, seq: null } })
    expect(o.error.message).toBe(`SignaturesNotVerified: signed by key id ${keyId}; signatures were not checked; pass --key-file F or ACTTRACE_KEY (or --key K) to check them`)
    expect(j.code).toBe(1)
    const u = cli(["verify", "--require-signatures", unsigned])
    expect(u.stdout).toMatch(/^SignaturesNotVerified: no entry is signed/)
    expect(u.code).toBe(1)
    const ok = cli(["verify", "--require-signatures", "--key-file", keyFile, pack])
    expect(ok.stdout).toMatch(/^ok: .*signatures verified/)
    expect(ok.code).toBe(0)
    // a failure of the chain stays that failure
    const edited = fresh("edited.pack.jsonl")
    writeFileSync(edited, readFileSync(pack, "utf8").replace('"x":1', '"x":2'))
    const e = cli(["verify", "--require-signatures", edited])
    expect(e.stdout).toMatch(/^EditDetected at line 3/)
    expect(e.code).toBe(1)
  })
})
