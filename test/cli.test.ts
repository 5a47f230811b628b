/**
 * The CLI run for real (issue 11, items 10 and 15): keys on the command line are warned about on a
 * terminal and the help leads with the safer ways; every error the CLI prints is one plain line.
 */
import { spawn, spawnSync } from "node:child_process"
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as AuditLog from "../src/AuditLog.js"
import * as F from "../src/internal/fixtures.js"
import { plainMessage, plainText } from "../src/internal/messages.js"
import * as Redactor from "../src/Redactor.js"
import * as Signer from "../src/Signer.js"
import * as Store from "../src/Store.js"
import { BIN, cli, ROOT, tempDir } from "./helpers.js"

const KEY = "cli-test-key"
const tmp = tempDir()
afterAll(tmp.cleanup)

const fileLog = (path: string) =>
  AuditLog.layer({ system: "cli-test", riskTier: "high" }).pipe(
    Layer.provideMerge(Store.layerFile(path)),
    Layer.provide(Signer.layerHmac(Redacted.make(KEY))),
    Layer.provide(Redactor.layerDefault),
    Layer.provideMerge(NodeFileSystem.layer)
  )

const log = join(tmp.dir, "audit.jsonl")
const ready = Effect.runPromise(
  Effect.gen(function* () {
    const l = yield* AuditLog.AuditLog
    yield* l.append("decision_record", { x: 1 })
  }).pipe(Effect.provide(fileLog(log)), Effect.scoped)
)

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** Run the CLI with a pseudo-terminal as its standard input (and output), through util-linux `script`. */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(" ")
  const r = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "", ...env } })
  return { code: r.status, out: r.stdout.replace(/\r\n/g, "\n") }
}
const hasScript = spawnSync("script", ["-qec", "true", "/dev/null"]).status === 0

const WARNING = /^warning: --key .*(ps|process list).*--key-file.*ACTTRACE_KEY/m

describe("keys on the command line (item 10)", () => {
  it.runIf(hasScript)("--key warns once on stderr when standard input is a terminal", async () => {
    await ready
    const pack = join(tmp.dir, "tty.pack.jsonl")
    const exported = onTerminal(["export", log, "--out", pack, "--key", KEY])
    expect(exported.code).toBe(0)
    expect(exported.out.match(new RegExp(WARNING.source, "gm"))?.length).toBe(1)
    expect(exported.out).toMatch(/^exported /m)
    const verified = onTerminal(["verify", pack, "--key", KEY])
    expect(verified.code).toBe(0)
    expect(verified.out).toMatch(WARNING)
    // the safer ways say nothing
    const kf = join(tmp.dir, "key.txt")
    writeFileSync(kf, KEY + "\n")
    expect(onTerminal(["verify", pack, "--key-file", kf]).out).not.toMatch(/warning/)
    expect(onTerminal(["verify", pack], { ACTTRACE_KEY: KEY }).out).not.toMatch(/warning/)
    // typed at a terminal with standard input redirected from the pack: stderr is the terminal
    const command = [process.execPath, BIN, "verify", "-", "--key", KEY].map(shellQuote).join(" ") + " < " + shellQuote(pack)
    const r = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", env: { ...process.env, ACTTRACE_KEY: "" } })
    expect(r.status).toBe(0)
    expect(r.stdout.replace(/\r\n/g, "\n")).toMatch(WARNING)
  })

  it("--key on a pipe prints no warning", async () => {
    await ready
    const pack = join(tmp.dir, "pipe.pack.jsonl")
    const r = cli(["export", log, "--out", pack, "--key", KEY], {}, "")
    expect(r.code).toBe(0)
    expect(r.stderr).toBe("")
    expect(cli(["verify", pack, "--key", KEY], {}, "").stderr).toBe("")
  })

  it("the help, the README and docs/cli.md lead with --key-file and ACTTRACE_KEY", () => {
    for (const command of ["export", "demo"]) {
      const help = cli([command, "--help"]).stdout
      expect(help, command).toContain("--key-file")
      expect(help, command).toContain("ACTTRACE_KEY")
      expect(help.indexOf("--key-file"), command).toBeLessThan(help.search(/--key(?!-)/))
      expect(help, command).toMatch(/--key[^-][\s\S]*(ps|process list)/)
    }
    for (const doc of ["README.md", "docs/cli.md"]) {
      const text = readFileSync(join(ROOT, doc), "utf8")
      // every synopsis line offers --key-file first
      // (a line with Ed25519 keys alone, --pubkey or --private-key, takes no HMAC key: nothing to offer first)
      for (const line of text.split("\n").filter((l) => /^acttrace (verify|export|demo)(?![\w-])/.test(l.trim()) && !(/--pubkey|--private-key/.test(l) && !/--key/.test(l)))) {
        expect(line.indexOf("--key-file"), `${doc}: ${line}`).toBeGreaterThan(-1)
        const k = line.search(/--key(?!-)/)
        if (k >= 0) expect(line.indexOf("--key-file"), `${doc}: ${line}`).toBeLessThan(k)
      }
      // and says why
      expect(text, doc).toMatch(/`--key K`[^.]*`ps`/)
    }
  })
})

// ---------------------------------------------------------------------------------------------

/** What every error the CLI prints must look like: one `error:` line, no tags, no internals. */
const plainError = (stderr: string, usageLine: boolean) => {
  const lines = stderr.replace(/\n$/, "").split("\n")
  expect(lines[0]).toMatch(/^error: \S/)
  expect(lines.length, stderr).toBe(usageLine ? 2 : 1)
  if (usageLine) expect(lines[1]).toMatch(/^usage: acttrace /)
  const first = lines[0]!
  for (const leak of [
    /\b(StoreError|NotALog|LockHeld|TornTail|ExportError|UnknownFramework|SystemError|BadArgument|InvalidKey|LogMismatch|LogInvalid|Unknown):/,
    /FileSystem\.\w+/,
    /\(\d+\)/,
    /\bE[A-Z]{3,}\b/,
    /, (stat|open|read|access|mkdir|rename|lstat) '/,
    /\n\s+at /
  ]) {
    expect(first, stderr).not.toMatch(leak)
  }
  return first
}

describe("errors are one plain line (item 15)", () => {
  it("platform internals and repeated tags are taken out of messages", () => {
    expect(plainText("Unknown: FileSystem.read (19): ESPIPE: invalid seek, read")).toBe("invalid seek")
    expect(plainText("open a.jsonl: NotFound: FileSystem.stat (a.jsonl): ENOENT: no such file or directory, stat 'a.jsonl'")).toBe(
      "open a.jsonl: no such file or directory"
    )
    expect(plainText("rename x: EXDEV: cross-device link not permitted, rename 'x' -> 'y'")).toBe("rename x: cross-device link not permitted")
    expect(plainText("lock x: PermissionDenied: FileSystem.open (x.lock)")).toBe("lock x: permission denied")
    // a message that only looks like one is left as it is
    expect(plainText("Art.12 logging: Art.19 records")).toBe("Art.12 logging: Art.19 records")
    expect(plainMessage(new Store.StoreError({ path: "a.jsonl", operation: "open", reason: "gone" }))).toBe("open a.jsonl: gone")
    expect(plainMessage(new Error("two\n  lines"))).toBe("two lines")
  })

  it("export: a missing log, a pack given as a log, an unknown framework, an unwritable target, a missing key file", async () => {
    await ready
    const missing = cli(["export", join(tmp.dir, "nope.jsonl"), "--out", join(tmp.dir, "p.jsonl")])
    expect(missing.code).toBe(1)
    expect(plainError(missing.stderr, false)).toMatch(/nope\.jsonl: no such file or directory/)

    const pack = join(tmp.dir, "a.pack.jsonl")
    expect(cli(["export", log, "--out", pack, "--key", KEY]).code).toBe(0)
    const packAsLog = cli(["export", pack, "--out", join(tmp.dir, "b.jsonl"), "--key", KEY])
    expect(packAsLog.code).toBe(1)
    expect(plainError(packAsLog.stderr, false)).toMatch(/evidence pack/)

    const framework = cli(["export", log, "--out", join(tmp.dir, "c.jsonl"), "--key", KEY, "--framework", "sox"])
    expect(framework.code).toBe(2)
    expect(plainError(framework.stderr, true)).toMatch(/unknown framework "sox".*eu_ai_act, iso_42001, gdpr, nist_rmf/)

    const noDir = cli(["export", log, "--out", join(tmp.dir, "no-such-dir", "p.jsonl"), "--key", KEY])
    expect(noDir.code).toBe(1)
    expect(plainError(noDir.stderr, false)).toMatch(/no such file or directory/)

    const keyFile = cli(["export", log, "--out", join(tmp.dir, "d.jsonl"), "--key-file", join(tmp.dir, "no-key")])
    expect(keyFile.code).toBe(2)
    expect(plainError(keyFile.stderr, true)).toMatch(/cannot read key file .*no-key: no such file or directory/)

    const edited = join(tmp.dir, "edited.jsonl")
    writeFileSync(edited, readFileSync(log, "utf8").replace('"x":1', '"x":2'))
    const bad = cli(["export", edited, "--out", join(tmp.dir, "e.jsonl"), "--key", KEY])
    expect(bad.code).toBe(1)
    expect(plainError(bad.stderr, false)).toMatch(/does not verify/)
  })

  it("repair: a missing log, a log held by a writer", async () => {
    await ready
    const missing = cli(["repair", join(tmp.dir, "nope.jsonl")])
    expect(missing.code).toBe(1)
    expect(plainError(missing.stderr, false)).toMatch(/nope\.jsonl: no such file or directory/)
    const held = join(tmp.dir, "held.jsonl")
    await Effect.runPromise(
      Effect.gen(function* () {
        const l = yield* AuditLog.AuditLog
        yield* l.append("decision_record", { x: 1 })
        const r = cli(["repair", held])
        expect(r.code).toBe(1)
        expect(plainError(r.stderr, false)).toMatch(/held\.jsonl is being written by pid \d+/)
      }).pipe(Effect.provide(fileLog(held)), Effect.scoped)
    )
  })

  it("scan: a missing file", () => {
    const r = cli(["scan", join(tmp.dir, "nope.txt")])
    expect(r.code).toBe(2)
    expect(plainError(r.stderr, true)).toMatch(/cannot read .*nope\.txt: no such file or directory/)
  })

  it("demo: an --out under a file, a log held by another writer, a log that is not the demo's", async () => {
    const file = join(tmp.dir, "a-file")
    writeFileSync(file, "x")
    // today this died inside @effect/cli and exited 2 with nothing printed at all
    const under = cli(["demo", "--out", join(file, "sub")])
    expect(under.code).toBe(2)
    expect(plainError(under.stderr, false)).toMatch(/a-file\/sub: not a directory/)

    const dir = join(tmp.dir, "demo-held")
    mkdirSync(dir)
    await Effect.runPromise(
      Effect.gen(function* () {
        const l = yield* AuditLog.AuditLog
        yield* l.append("decision_record", { x: 1 })
        const r = cli(["demo", "--out", dir])
        expect(r.code).toBe(1)
        expect(plainError(r.stderr, false)).toMatch(/loan-triage\.log\.jsonl is being written by pid \d+/)
      }).pipe(Effect.provide(fileLog(join(dir, "loan-triage.log.jsonl"))), Effect.scoped)
    )
    // a torn log
    appendFileSync(join(dir, "loan-triage.log.jsonl"), '{"seq":')
    const torn = cli(["demo", "--out", dir])
    expect(torn.code).toBe(1)
    expect(plainError(torn.stderr, false)).toMatch(/partial line.*acttrace repair/)
  })

  it("a reader that closes the output early (| head) gets no stack trace, and the exit code stands", async () => {
    const dir = join(tmp.dir, "demo-pipe")
    // standard output is a pipe this test closes before the demo prints anything
    const child = spawn(process.execPath, [BIN, "demo", "--out", dir], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ACTTRACE_KEY: "" } })
    child.stdout.destroy()
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)))
    expect(stderr).toBe("")
    expect(code).toBe(0)
  })

  it("a log that is not a log (garbage lines) says so plainly", () => {
    const g = join(tmp.dir, "garbage.jsonl")
    writeFileSync(g, F.chain(F.mixed(3)).lines.join("\n").replace('"seq":1', '"seq":"1"') + "\n")
    const r = cli(["export", g, "--out", join(tmp.dir, "g.pack.jsonl")])
    expect(r.code).toBe(1)
    plainError(r.stderr, false)
  })
})

// ---------------------------------------------------------------------------------------------

const ESC = "\u001b"

describe("help is plain text off a terminal, or with NO_COLOR", () => {
  it("on a pipe: --help, verify --help, export --help and a parse error carry no escape codes", () => {
    for (const args of [["--help"], ["verify", "--help"], ["export", "--help"], ["repair", "--help"]]) {
      const r = cli(args)
      expect(r.code, args.join(" ")).toBe(0)
      expect(r.stdout, args.join(" ")).toMatch(/acttrace/)
      expect(r.stdout.includes(ESC), args.join(" ")).toBe(false)
      expect(r.stderr.includes(ESC), args.join(" ")).toBe(false)
    }
    const bad = cli(["verify", "x", "--expect-entries", "abc"])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/abc/)
    expect(bad.stderr.includes(ESC)).toBe(false)
  })

  it.runIf(hasScript)("at a terminal: colours unless NO_COLOR is set (and not empty)", () => {
    expect(onTerminal(["--help"]).out.includes(ESC)).toBe(true)
    expect(onTerminal(["--help"], { NO_COLOR: "" }).out.includes(ESC)).toBe(true)
    for (const args of [["--help"], ["export", "--help"], ["verify", "x", "--expect-entries", "abc"]]) {
      const r = onTerminal(args, { NO_COLOR: "1" })
      expect(r.out, args.join(" ")).toMatch(/acttrace|abc/)
      expect(r.out.includes(ESC), args.join(" ")).toBe(false)
    }
  })
})

describe("repair says when it took a lock over", () => {
  it("a stale lock (a dead writer's): one warning line naming the lock, its holder and its age", async () => {
    const q = join(tmp.dir, "q.jsonl")
    await Effect.runPromise(
      Effect.gen(function* () {
        const l = yield* AuditLog.AuditLog
        yield* l.append("decision_record", { x: 1 })
      }).pipe(Effect.provide(fileLog(q)), Effect.scoped)
    )
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!
    const since = new Date(Date.now() - 3 * 3600_000).toISOString()
    writeFileSync(Store.lockPath(q), JSON.stringify({ pid: dead, host: hostname(), since, token: "0123456789abcdef" }) + "\n")
    const r = cli(["repair", q])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^nothing to repair/)
    const lines = r.stderr.replace(/\n$/, "").split("\n")
    expect(lines.length, r.stderr).toBe(1)
    expect(lines[0]).toMatch(/^warning: /)
    expect(lines[0]).toContain(Store.lockPath(q))
    expect(lines[0]).toContain(`pid ${dead}`)
    expect(lines[0]).toContain(hostname())
    expect(lines[0]).toMatch(/\b(3 hours|2\d\d minutes|1\d,?\d\d\d seconds)\b|since/)
    // no lock left: a second repair says nothing more
    const again = cli(["repair", q])
    expect(again.code).toBe(0)
    expect(again.stderr).toBe("")
  })
})

describe("message nits", () => {
  it("a directory given as a log is called a directory", () => {
    for (const args of [["export", ".", "--out", join(tmp.dir, "dot.pack.jsonl")], ["repair", "."]]) {
      const r = cli(args, {}, "")
      expect(r.code, args.join(" ")).toBe(1)
      const first = plainError(r.stderr, false)
      expect(first).toMatch(/cannot open \.: .*a directory/)
      expect(first).not.toMatch(/\(Directory\)/)
    }
  })

  it("after a parse error, only the usage of the command that was run", () => {
    const r = cli(["verify", "x", "--expect-entries", "abc"])
    expect(r.code).toBe(2)
    expect(r.stderr.match(/^usage: /gm)?.length, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/^usage: acttrace verify /m)
    const e = cli(["export", "x", "--out"])
    expect(e.code).toBe(2)
    expect(e.stderr.match(/^usage: /gm)?.length, e.stderr).toBe(1)
    expect(e.stderr).toMatch(/^usage: acttrace export /m)
    // no command, or one that does not exist: every command's usage
    const none = cli(["bogus"])
    expect(none.code).toBe(2)
    expect(none.stderr.match(/^usage: /gm)?.length, none.stderr).toBe(13)
  })
})
