/**
 * A hostile and a careless operator against the public-key commands of the built CLI
 * (bin/acttrace.js → dist/): names that lead to a device that never ends or a named pipe nobody
 * writes to, `-` where a file is expected, and what reaches stdout and stderr. Each command runs as
 * a real process under a kill deadline, so a hang is a failing test, not a hung suite.
 */
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { execFileSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { tempDir } from "./helpers.js"

const BIN = join(import.meta.dirname, "..", "bin", "acttrace.js")
const tmp = tempDir()
afterAll(tmp.cleanup)
const at = (name: string) => join(tmp.dir, name)

interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
  readonly killed: boolean
}

/** `acttrace ARGS` as a process, killed (SIGKILL) after `deadline` ms: `killed` says it hung. */
const run = (args: ReadonlyArray<string>, options: { readonly input?: string; readonly deadline?: number; readonly cwd?: string } = {}): Promise<Run> =>
  new Promise((ok, fail) => {
    const started = Date.now()
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ACTTRACE_KEY: "" },
      cwd: options.cwd ?? tmp.dir,
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      child.kill("SIGKILL")
    }, options.deadline ?? 30_000)
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()))
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()))
    child.on("error", fail)
    child.on("close", (code) => {
      clearTimeout(timer)
      ok({ code, stdout, stderr, ms: Date.now() - started, killed })
    })
    if (options.input !== undefined) child.stdin!.end(options.input)
  })

const demo = at("demo")
const key = at("keys/alpha.key")
const pub = at("keys/alpha.pub")
const pack = join(demo, "loan-triage.pack.jsonl")
const later = join(demo, "loan-triage.later.pack.jsonl")
const proof = join(demo, "decision.proof.json")
const note = join(demo, "published.note")
const fifo = at("nobody-writes.fifo")

beforeAll(async () => {
  const k = await run(["keygen", "--out", at("keys"), "--name", "alpha"])
  expect(k.code, k.stderr).toBe(0)
  const d = await run(["demo", "--out", demo, "--private-key", key], { deadline: 120_000 })
  expect(d.code, d.stderr).toBe(0)
  execFileSync("mkfifo", [fifo])
  symlinkSync("/dev/zero", at("zero.link"))
  symlinkSync(fifo, at("fifo.link"))
}, 180_000)

describe("a name that leads to /dev/zero or to a named pipe nobody writes to (never hangs, never reads for ever)", () => {
  // each is a usage error (exit 2) naming the file, within seconds; the deadline is far above the
  // 5 s a named pipe is given to open
  const cases: ReadonlyArray<readonly [string, () => ReadonlyArray<string>]> = [
    ["--pubkey /dev/zero (a symlink)", () => ["verify", pack, "--pubkey", at("zero.link")]],
    ["--pubkey FIFO", () => ["verify", pack, "--pubkey", fifo]],
    ["--pubkey a symlink to a FIFO", () => ["verify-proof", proof, "--pubkey", at("fifo.link")]],
    ["--private-key FIFO", () => ["export", join(demo, "loan-triage.log.jsonl"), "--out", at("x.pack.jsonl"), "--private-key", fifo]],
    ["--key-file /dev/zero", () => ["verify", pack, "--key-file", at("zero.link")]],
    ["--key-file FIFO", () => ["verify", pack, "--key-file", fifo]],
    ["--since /dev/zero", () => ["verify", later, "--pubkey", pub, "--since", at("zero.link")]],
    ["--since FIFO", () => ["verify", later, "--pubkey", pub, "--since", fifo]],
    ["verify-proof /dev/zero", () => ["verify-proof", at("zero.link"), "--pubkey", pub]],
    ["verify-proof FIFO", () => ["verify-proof", fifo, "--pubkey", pub]]
  ]
  it("each is exit 2 within seconds, naming the file", async () => {
    const results = await Promise.all(cases.map(([, args]) => run(args(), { deadline: 25_000 })))
    const summary = results.map((r, i) => ({ case: cases[i]![0], killed: r.killed, code: r.code, stderr: r.stderr.split("\n")[0] }))
    for (const [i, r] of results.entries()) {
      expect(r.killed, `${cases[i]![0]} hung: ${JSON.stringify(summary)}`).toBe(false)
      expect(r.code, `${cases[i]![0]}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toMatch(/^error: /)
      expect(r.stdout).toBe("")
    }
  }, 60_000)

  it("a pipe that has its writer (a process substitution) is read as before", async () => {
    // bash's <(…): an anonymous pipe whose writer is there when the CLI opens it
    const r = spawnSync("bash", ["-c", `"${process.execPath}" "${BIN}" verify "${pack}" --pubkey <(sleep 1; cat "${pub}")`], {
      encoding: "utf8",
      env: { ...process.env, ACTTRACE_KEY: "" },
      timeout: 25_000
    })
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^ok: /)
  }, 30_000)
})

describe("`-` where a file is expected", () => {
  it("keygen --out - makes no directory named `-`: a usage error", async () => {
    const cwd = at("cwd-keygen")
    mkdirSync(cwd)
    const r = await run(["keygen", "--out", "-"], { cwd })
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--out -: standard input is not read here/)
    expect(existsSync(join(cwd, "-"))).toBe(false)
  })

  it("checkpoint, prove, consistency, --pubkey, --since and --out refuse `-` with a usage error (not 'no such file')", async () => {
    const cases: ReadonlyArray<ReadonlyArray<string>> = [
      ["checkpoint", "-"],
      ["prove", "--seq", "3", "--out", at("p.json"), "-"],
      ["prove", pack, "--seq", "3", "--out", "-"],
      ["consistency", "-", pack, "--pubkey", pub],
      ["consistency", pack, later, "--pubkey", pub, "--out", "-"],
      ["verify", pack, "--pubkey", "-"],
      ["verify", later, "--pubkey", pub, "--since", "-"]
    ]
    for (const args of cases) {
      const r = await run(args, { input: readFileSync(pack, "utf8") })
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(2)
      expect(r.stderr, args.join(" ")).toMatch(/-: standard input is not read here/)
    }
  }, 60_000)

  it("verify-proof - reads the proof from standard input", async () => {
    const r = await run(["verify-proof", "-", "--pubkey", pub], { input: readFileSync(proof, "utf8") })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/ok: 2 entries proven/)
  })
})

describe("--since: a note as an operator saved it", () => {
  it("CRLF line ends, blank lines after it, a byte-order mark: the same note (exit 0)", async () => {
    const text = readFileSync(note, "utf8")
    writeFileSync(at("crlf.note"), text.replace(/\n/g, "\r\n"))
    writeFileSync(at("blank.note"), text + "\n\n")
    writeFileSync(at("bom.note"), "\ufeff" + text)
    for (const n of ["crlf.note", "blank.note", "bom.note"]) {
      const r = await run(["verify", later, "--pubkey", pub, "--since", at(n)])
      expect(r.code, `${n}: ${r.stdout}${r.stderr}`).toBe(0)
    }
  }, 60_000)

  it("a note file of bytes that are not UTF-8 is a usage error, not a crash", async () => {
    writeFileSync(at("latin1.note"), Buffer.from([0x61, 0xe9, 0x0a]))
    const r = await run(["verify", later, "--pubkey", pub, "--since", at("latin1.note")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/not a signed note/)
  })
})

describe("nothing secret is ever printed", () => {
  it("the private key text is on no output of keygen, demo, export, or an error about the key", async () => {
    const secret = readFileSync(key, "utf8").trim()
    const material = secret.split("+").slice(4).join("+")
    const outputs: Array<Run> = []
    outputs.push(await run(["verify", pack, "--pubkey", key]))
    outputs.push(await run(["verify-proof", proof, "--pubkey", key]))
    outputs.push(await run(["verify", pack, "--key-file", key]))
    outputs.push(await run(["checkpoint", pack, "--pubkey", key]))
    writeFileSync(at("secret-as-note"), secret + "\n")
    outputs.push(await run(["verify", later, "--pubkey", pub, "--since", at("secret-as-note")]))
    outputs.push(await run(["verify-proof", at("secret-as-note"), "--pubkey", pub]))
    for (const o of outputs) {
      expect(o.stdout + o.stderr).not.toContain(material)
      expect(o.stdout + o.stderr).not.toContain(material.slice(0, 12))
    }
  }, 60_000)
})

describe("verify-proof --origin", () => {
  it("the checkpoint must be of the log named; another origin is NoteInvalid, exit 1", async () => {
    const ok = await run(["verify-proof", proof, "--pubkey", pub, "--origin", "acttrace/loan-triage", "--json"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, origin: "acttrace/loan-triage", proven: [11, 12] })
    const other = await run(["verify-proof", proof, "--pubkey", pub, "--origin", "acttrace/hiring"])
    expect(other.code, other.stderr).toBe(1)
    expect(other.stdout).toMatch(/^NoteInvalid: .*not of "acttrace\/hiring"/)
  })
})

describe("prove and consistency write their documents safely", () => {
  it("a symlink planted at the temporary name is not written through (the victim file is unchanged)", async () => {
    const { cliInProcess } = await import("./cli-in-process.js")
    const victim = at("victim.txt")
    writeFileSync(victim, "precious\n")
    const out = at("planted.proof.json")
    // the temporary file's name is predictable: OUT.tmp-<pid> (the pid of this process, in-process)
    symlinkSync(victim, `${out}.tmp-${process.pid}`)
    const r = await cliInProcess(["prove", pack, "--seq", "3", "--out", out])
    expect(readFileSync(victim, "utf8")).toBe("precious\n")
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(out, "utf8")).toMatch(/^\{"format":"acttrace-proof\/1"/)
  })
})

describe("keygen names", () => {
  it("a 1,000-character name is refused before anything is made (no directory, no file), exit 2", async () => {
    const out = at("keys-long")
    const r = await run(["keygen", "--out", out, "--name", "a".repeat(1000)])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/1000 bytes long: at most 251/)
    expect(r.stderr.length).toBeLessThan(600)
    expect(existsSync(out)).toBe(false)
  })

  it("a Unicode name names the files and the key; a 251-byte name is the longest taken", async () => {
    const out = at("keys-unicode")
    const r = await run(["keygen", "--out", out, "--name", "clé-été"])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(join(out, "clé-été.pub"), "utf8")).toMatch(/^clé-été\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/)
    // a 251-byte name is the longest taken
    const long = await run(["keygen", "--out", out, "--name", "b".repeat(251)])
    expect(long.code, long.stderr).toBe(0)
  })
})
