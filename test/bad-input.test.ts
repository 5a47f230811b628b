import { chmodSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as Redacted from "effect/Redacted"
import * as F from "../src/internal/fixtures.js"
import { cliInProcess } from "./cli-in-process.js"
import { cli as spawned, tagOf, tempDir, verifyFile } from "./helpers.js"

const KEY = "bad-input-key"
const tmp = tempDir()
afterAll(tmp.cleanup)
const good = F.chain(F.mixed(6), { key: KEY })

const file = (name: string, content: string | Buffer): string => {
  const p = join(tmp.dir, name)
  writeFileSync(p, content)
  return p
}

interface Case {
  readonly name: string
  readonly path: () => string
  readonly args?: ReadonlyArray<string>
  readonly verdict: string
  readonly code: number
  readonly line?: number
  /**
   * Through the built executable too (a file it cannot open, bytes that are no text, a line of
   * 50 MB, nesting that would overflow a stack: what a real process must survive); the CLI's code
   * runs in this process for every case.
   */
  readonly process?: true
}

const deep = '{"seq":0,"ts":"t","type":"x","prev_hash":"' + "0".repeat(64) + '","hash":"' + "0".repeat(64) + '","payload":' + '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000) + "}"
const bigLine = () => {
  const c = F.chain([{ type: "decision_record", payload: { blob: "x".repeat(50 * 1024 * 1024) } }, { type: "decision_end", payload: {} }], { key: KEY })
  return c
}

const cases: ReadonlyArray<Case> = [
  { name: "missing path", path: () => join(tmp.dir, "nope.jsonl"), verdict: "Unreadable", code: 2, process: true },
  { name: "a directory", path: () => tmp.dir, verdict: "Unreadable", code: 2, process: true },
  { name: "empty file", path: () => file("empty.jsonl", ""), verdict: "MalformedLine", code: 1 },
  { name: "blank lines only", path: () => file("blank.jsonl", "\n  \n\r\n"), verdict: "MalformedLine", code: 1 },
  { name: "binary garbage", path: () => file("garbage.bin", Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0a, 0xc3, 0x28])), verdict: "MalformedLine", code: 1, line: 1, process: true },
  { name: "a BOM before the first line", path: () => file("bom.jsonl", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(good.lines.join("\n") + "\n")])), verdict: "ok", code: 0 },
  { name: "a BOM on a later line", path: () => file("bom2.jsonl", good.lines[0] + "\n\ufeff" + good.lines.slice(1).join("\n")), verdict: "MalformedLine", code: 1, line: 2 },
  { name: "CRLF lines and blank lines", path: () => file("crlf.jsonl", "\r\n" + good.lines.join("\r\n\r\n") + "\r\n"), verdict: "ok", code: 0 },
  { name: "a 50 MB line", path: () => file("big.jsonl", bigLine().lines.join("\n") + "\n"), verdict: "ok", code: 0, process: true },
  { name: "10,000-deep nesting", path: () => file("deep.jsonl", deep + "\n"), verdict: "EditDetected", code: 1, line: 1, process: true },
  { name: "_meta on line 5", path: () => file("meta5.jsonl", [...good.lines.slice(0, 4), F.metaLine({ system: "s", riskTier: "high", head: good.head, entries: 6 }), ...good.lines.slice(4)].join("\n")), verdict: "MalformedLine", code: 1, line: 5 },
  { name: "a NaN token", path: () => file("nan.jsonl", good.lines.map((l, i) => (i === 1 ? l.replace('"ratio":', '"ratio":NaN,"r":') : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 2 },
  { name: "Infinity token", path: () => file("inf.jsonl", good.lines.map((l, i) => (i === 4 ? l.replace('"ratio":', '"ratio":-Infinity,"r":') : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 5 },
  { name: "a duplicate key", path: () => file("dup.jsonl", good.lines.map((l, i) => (i === 1 ? l.replace('"ratio":', '"tiny":1,"ratio":') : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 2 },
  { name: "a duplicate top-level key", path: () => file("dup2.jsonl", good.lines.map((l, i) => (i === 1 ? l.replace('"seq":1', '"seq":1,"seq":1') : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 2 },
  { name: "a lone surrogate escape", path: () => file("sur.jsonl", good.lines.map((l, i) => (i === 1 ? l.replace('"ratio":', '"s":"\\ud800","ratio":') : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 2 },
  { name: "a missing field", path: () => file("nohash.jsonl", good.lines.map((l, i) => (i === 3 ? l.replace(/,"hash":"[0-9a-f]+"/, "") : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 4 },
  { name: "a mistyped seq", path: () => file("seqstr.jsonl", good.lines.map((l, i) => (i === 3 ? l.replace('"seq":3', '"seq":"3"') : l)).join("\n")), verdict: "MalformedLine", code: 1, line: 4 },
  { name: "a non-object line", path: () => file("array.jsonl", [good.lines[0], "[1,2]"].join("\n")), verdict: "MalformedLine", code: 1, line: 2 },
  { name: "a torn last line", path: () => file("torn.jsonl", good.lines.join("\n").slice(0, -40)), verdict: "MalformedLine", code: 1, line: 6 },
  { name: "wrong key", path: () => file("good.jsonl", good.lines.join("\n")), args: ["--key", "not-the-key"], verdict: "SignatureInvalid", code: 1, line: 1 }
]

describe("bad input: library and CLI agree, nothing throws or hangs", () => {
  it.each(cases)("$name", async (c) => {
    const path = c.path()
    const keyArg = c.args?.[1]
    const o = await verifyFile(path, keyArg ? { key: Redacted.make(keyArg) } : {})
    expect(tagOf(o)).toBe(c.verdict)
    const args = ["verify", path, "--json", ...(c.args ?? [])]
    for (const r of [await cliInProcess(args), ...(c.process ? [spawned(args)] : [])]) {
      expect(r.code).toBe(c.code)
      const out = JSON.parse(r.stdout)
      expect(out.ok).toBe(c.verdict === "ok")
      if (c.verdict !== "ok") {
        expect(out.error._tag).toBe(c.verdict)
        if (c.line !== undefined) expect(out.error.line).toBe(c.line)
      }
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/) // no stack trace
    }
  })
})

describe("CLI usage and keys", () => {
  const pack = file("pack.jsonl", [F.metaLine({ system: "s", riskTier: "high", head: good.head, entries: 6, key: KEY }), ...good.lines].join("\n") + "\n")

  // The CLI's code in this process where what is held is its reading of keys and options; the
  // executable (spawned) where it is what a process prints and exits with (usage, help).
  const cli = cliInProcess
  it("takes the key from --key, --key-file or ACTTRACE_KEY", async () => {
    expect((await cli(["verify", pack, "--key", KEY])).stdout).toMatch(/^ok: 6 entries, head [0-9a-f]{12}… \(signatures verified; completeness: signed-header\)/)
    const kf = file("key.txt", KEY + "\n")
    expect((await cli(["verify", pack, "--key-file", kf])).code).toBe(0)
    expect((await cli(["verify", pack], { ACTTRACE_KEY: KEY })).stdout).toMatch(/signatures verified/)
    expect((await cli(["verify", pack], { ACTTRACE_KEY: "wrong" })).code).toBe(1)
    expect((await cli(["verify", pack])).stdout).toMatch(/signatures not-checked; completeness: unsigned-header/)
  })

  it("treats key problems as usage errors (exit 2)", async () => {
    const missing = await cli(["verify", pack, "--key-file", join(tmp.dir, "no-such-key")])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/cannot read key file/)
    expect(missing.stderr).toMatch(/usage: acttrace verify/)
    const unreadable = file("locked.key", "k")
    chmodSync(unreadable, 0o000)
    if (process.getuid?.() !== 0) expect((await cli(["verify", pack, "--key-file", unreadable])).code).toBe(2)
    expect((await cli(["verify", pack, "--key-file", file("empty.key", "\n")])).code).toBe(2)
    expect((await cli(["verify", pack, "--key", KEY, "--key-file", file("k2", KEY)])).code).toBe(2)
    expect((await cli(["verify", pack, "--key", ""])).code).toBe(2)
  })

  it("rejects unknown flags and malformed numbers with usage text and no stack trace", () => {
    for (const args of [
      ["verify", pack, "--bogus"],
      ["verify", pack, "--expect-entries", "abc"],
      ["verify", pack, "--expect-entries", "1.5"],
      ["verify", pack, "--expected-head", "xyz"],
      ["verify"],
      ["frobnicate"]
    ]) {
      const r = spawned(args)
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stderr, args.join(" ")).toMatch(/usage/i)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it("checks expected head and count given out of band", async () => {
    expect((await cli(["verify", pack, "--expected-head", good.head, "--expect-entries", "6"])).stdout).toMatch(/completeness: expected-head/)
    const r = await cli(["verify", pack, "--expect-entries", "7", "--json"])
    expect(r.code).toBe(1)
    expect(JSON.parse(r.stdout).error._tag).toBe("TruncationDetected")
    expect((await cli(["verify", file("raw.jsonl", good.lines.join("\n")), "--require-complete"])).code).toBe(1)
  })

  it("takes --pubkey as a C2SP verifier key file, and refuses anything else with exit 2", async () => {
    const { generate } = await import("../src/internal/note.js")
    const { Effect } = await import("effect")
    const keys = Effect.runSync(generate("alpha"))
    const pub = file("alpha.pub", keys.verifierKey + "\n")
    // a pack with no checkpoints verifies under any trusted key (nothing to check), and says so
    const ok = await cli(["verify", pack, "--pubkey", pub, "--json"])
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout).checkpoints).toBe("absent")
    const { generateKeyPairSync } = await import("node:crypto")
    const pem = file("pub.pem", generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString())
    for (const bad of [pem, file("notkey.pub", "hello"), file("alpha.key", keys.signerKey + "\n"), join(tmp.dir, "missing.pub")]) {
      const r = await cli(["verify", pack, "--pubkey", bad])
      expect(r.code, bad).toBe(2)
      expect(r.stderr, bad).not.toContain(keys.signerKey.slice("PRIVATE+KEY+alpha+".length + 9))
    }
  })

  it("has useful --help", () => {
    const r = spawned(["verify", "--help"])
    expect(r.code).toBe(0)
    for (const flag of ["--key", "--key-file", "--pubkey", "--expected-head", "--expect-entries", "--require-complete", "--json"]) expect(r.stdout).toContain(flag)
    expect(spawned(["--help"]).stdout).toContain("verify")
  })
})
