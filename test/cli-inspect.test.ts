/**
 * `acttrace inspect`, `show` and `report` run for real (the built CLI, a process each; issue 16
 * items 1 and 3): the summary as aligned tables and as one JSON document, chosen entries in
 * order with every lexeme as the pack holds it, exit codes (0 intact, 1 not intact or not found,
 * 2 usage or unreadable input), colour only on a terminal and never with NO_COLOR, and text from
 * the pack never reaching the terminal as escape sequences.
 */
import { spawnSync } from "node:child_process"
import { createHmac } from "node:crypto"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { NodeFileSystem } from "@effect/platform-node"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Entry from "../src/Entry.js"
import { GENESIS } from "../src/Hash.js"
import { reindent } from "../src/internal/cli-report.js"
import * as Report from "../src/Report.js"
import { BIN, cli, tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(tmp.cleanup)

const DEMO_KEY = { ACTTRACE_KEY: "acttrace-demo-key" }
const demo = join(tmp.dir, "demo")
const pack = join(demo, "loan-triage.pack.jsonl")
const edited = join(demo, "edited.pack.jsonl")
const ESC = "\u001b"

beforeAll(() => {
  const r = cli(["demo", "--out", demo])
  expect(r.code, r.stderr).toBe(0)
}, 120_000)

/** `acttrace ARGS` on a pseudo-terminal (util-linux `script`): what a person at a terminal sees. */
const onTerminal = (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`
  const r = spawnSync("script", ["-qec", [process.execPath, BIN, ...args].map(quote).join(" "), "/dev/null"], {
    encoding: "utf8",
    env: { ...process.env, ACTTRACE_KEY: "", NO_COLOR: "", ...env },
    timeout: 120_000
  })
  return { code: r.status, out: r.stdout }
}

const hasScript = spawnSync("script", ["--version"]).status === 0

/** A small signed log whose entries hold lexemes JSON.parse would change, and an actor with escapes. */
const oddLog = (): { readonly path: string; readonly lines: ReadonlyArray<string> } => {
  let prev = GENESIS
  const key = "odd-key"
  const drafts = [
    { type: "audit_open", payload: { format: "acttrace-chain/1", risk_tier: "minimal", system: "odd" } },
    { type: "decision", payload: { actor: `mallory${ESC}[2J${ESC}]0;owned\u0007`, decision_id: "e".repeat(32), input: {} } },
    { type: "decision_record", payload: { big: 10n ** 20n + 1n, decision_id: "e".repeat(32), empty: [], nested: { o: {} }, quote: "a \"b\" \\ c", tiny: 0.00001 } }
  ]
  const lines = drafts.map((d, seq) => {
    const sealed = Either.getOrThrow(Entry.seal({ prevHash: prev, seq, ts: `2026-12-02T10:00:0${seq}.000000+00:00`, type: d.type, payload: d.payload }, (h) => createHmac("sha256", key).update(h).digest("hex")))
    prev = sealed.hash
    return sealed.line
  })
  const path = join(tmp.dir, "odd.log.jsonl")
  writeFileSync(path, lines.join("\n") + "\n")
  return { path, lines }
}

describe("inspect", () => {
  it("prints the summary as aligned tables, exit 0, no escape codes on a pipe", () => {
    const r = cli(["inspect", pack], DEMO_KEY)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toContain(ESC)
    expect(r.stdout).toMatch(/^Verdict {2}ok: 19 entries, head [0-9a-f]{12}… \(signatures verified; completeness: signed-header\)$/m)
    expect(r.stdout).toMatch(/Signatures: every entry's HMAC signature was checked/)
    expect(r.stdout).toMatch(/^Decisions {2}3, 1 with human oversight \(33 %\)$/m)
    expect(r.stdout).toContain("Evidence to support compliance — not legal advice.")
    // the counts column of the type table is right-aligned: every row ends in the same column
    const lines = r.stdout.split("\n")
    const start = lines.findIndex((l) => /^ {2}type +count$/.test(l))
    const rows = lines.slice(start, start + 9)
    expect(rows.map((l) => l.trimStart().split(/ +/)[0])).toEqual(["type", "audit_open", "decision", "decision_end", "decision_record", "human_oversight", "llm_call", "policy_flag", "tool_call"])
    expect(new Set(rows.map((l) => l.length)).size).toBe(1)
    expect(r.stdout).toMatch(/^ {2}local +triage-rules-1 +3 +0 +660 +54 +0\.000000 USD$/m)
    expect(r.stdout).toMatch(/^ {2}Art\.14\(4\) human oversight measures +1 +12$/m)
  })

  it("--json prints one JSON document: the summary the library computes", async () => {
    const r = cli(["inspect", pack, "--json"], DEMO_KEY)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1)
    const printed = JSON.parse(r.stdout) as Report.ReportSummary
    const computed = await Effect.runPromise(Report.summarize(pack, { key: (await import("effect/Redacted")).make("acttrace-demo-key") }).pipe(Effect.provide(NodeFileSystem.layer)))
    expect(printed).toEqual(JSON.parse(JSON.stringify(computed)))
    expect(printed.decisions.total).toBe(3)
    expect(printed.verdict.ok).toBe(true)
  })

  it("exits 1 on a pack that does not verify, and still prints the summary", () => {
    const r = cli(["inspect", edited], DEMO_KEY)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^Verdict {2}EditDetected at line 13 \(seq 11\): content does not match its hash$/m)
    expect(r.stdout).toMatch(/The chain held for the first 11 entries/)
    expect(r.stdout).toMatch(/^Entries {2}19$/m)
    const json = JSON.parse(cli(["inspect", edited, "--json"], DEMO_KEY).stdout) as Report.ReportSummary
    expect([json.verdict.ok, json.verdict.result, json.verdict.line, json.verdict.seq]).toEqual([false, "EditDetected", 13, 11])
  })

  it("exits 2 on a usage error, a missing file, a directory, a file that is not JSON Lines", () => {
    const both = cli(["inspect", pack, "--key", "k", "--key-file", "/dev/null"])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/give --key-file or --key, not both/)
    expect(both.stderr).toContain("usage: acttrace inspect PACK")
    const missing = cli(["inspect", join(tmp.dir, "nope.jsonl")])
    expect([missing.code, missing.stdout]).toEqual([2, ""])
    expect(missing.stderr).toMatch(/^error: cannot read .*nope\.jsonl: no such file or directory$/m)
    const dir = cli(["inspect", tmp.dir])
    expect(dir.code).toBe(2)
    expect(dir.stderr).toMatch(/directory/)
    const text = join(tmp.dir, "notes.txt")
    writeFileSync(text, "dear auditor,\n")
    const notJson = cli(["inspect", text, "--json"])
    expect([notJson.code, notJson.stdout]).toEqual([2, ""])
    expect(notJson.stderr).toMatch(/is not a log or evidence pack \(JSON Lines\): line 1 is not JSON/)
    const stdin = cli(["inspect", "-"])
    expect(stdin.code).toBe(2)
  })

  it.runIf(hasScript)("colours on a terminal, not with NO_COLOR, never on a pipe", () => {
    const tty = onTerminal(["inspect", pack], DEMO_KEY)
    expect(tty.code).toBe(0)
    expect(tty.out).toContain(`${ESC}[1mVerdict${ESC}[22m`)
    expect(tty.out).toContain(`${ESC}[32mok: 19 entries`)
    const noColor = onTerminal(["inspect", pack], { ...DEMO_KEY, NO_COLOR: "1" })
    expect(noColor.code).toBe(0)
    expect(noColor.out).toContain("Verdict  ok: 19 entries")
    expect(noColor.out).not.toContain(ESC)
    const failing = onTerminal(["inspect", edited], DEMO_KEY)
    expect(failing.out).toContain(`${ESC}[31mEditDetected`)
    expect(cli(["inspect", pack], DEMO_KEY).stdout).not.toContain(ESC)
  })

  it.runIf(hasScript)("shows escape sequences from the pack as text, on a terminal too", () => {
    const { path } = oddLog()
    for (const out of [cli(["inspect", path]).stdout, onTerminal(["inspect", path]).out]) {
      expect(out).toContain("mallory\\u001b[2J\\u001b]0;")
      expect(out).not.toContain(`${ESC}[2J`)
      expect(out).not.toContain(`${ESC}]0;`)
    }
  })
})

describe("show", () => {
  it("--seq prints the entries in order, pretty-printed, exit 0", () => {
    const r = cli(["show", pack, "--seq", "6,3,5-5"], DEMO_KEY)
    expect(r.code, r.stderr).toBe(0)
    const headers = r.stdout.split("\n").filter((l) => l.startsWith("seq "))
    expect(headers).toEqual([
      expect.stringMatching(/^seq 3 {2}llm_call {2}\S+ {2}\(line 5\)$/),
      expect.stringMatching(/^seq 5 {2}decision_record {2}\S+ {2}\(line 7\)$/),
      expect.stringMatching(/^seq 6 {2}decision_end {2}\S+ {2}\(line 8\)$/)
    ])
    // each block is the line itself, re-indented
    const lines = readFileSync(pack, "utf8").split("\n")
    const blocks = r.stdout.split(/\n?^seq .*$\n/m).filter((b) => b.trim() !== "")
    expect(blocks.map((b) => JSON.parse(b))).toEqual([lines[4], lines[6], lines[7]].map((l) => JSON.parse(l!)))
    expect(blocks[0]).toMatch(/^\{\n {2}"payload": \{\n {4}"cost": "0\.000000 USD",/)
  })

  it("--decision ID --json prints the decision's lines exactly as the pack holds them", () => {
    // the demo's second decision (its ids are random): the one a human reviewed
    const id = (JSON.parse(readFileSync(pack, "utf8").split("\n")[8]!) as { payload: { decision_id: string } }).payload.decision_id
    const r = cli(["show", pack, "--decision", id, "--json"], DEMO_KEY)
    expect(r.code, r.stderr).toBe(0)
    const expected = readFileSync(pack, "utf8").split("\n").filter((l) => l.includes(`"decision_id":"${id}"`))
    expect(expected.length).toBe(7)
    expect(r.stdout.trimEnd().split("\n")).toEqual(expected)
  })

  it("keeps every number lexeme and escape as the line holds them", () => {
    const { lines, path } = oddLog()
    const r = cli(["show", path, "--seq", "2"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain("\"big\": 100000000000000000001")
    expect(r.stdout).toContain("\"tiny\": 1e-05")
    expect(r.stdout).toContain("\"quote\": \"a \\\"b\\\" \\\\ c\"")
    expect(r.stdout).toContain("\"empty\": []")
    expect(r.stdout).toContain("\"o\": {}")
    // re-indented, never re-encoded: taking out the layout gives the line back, byte for byte
    expect(reindent(lines[2]!).replace(/\n */g, "").replace(/": /g, "\":")).toBe(lines[2]!)
  })

  it("exits 1 when an entry asked for is not there, or the pack does not verify", () => {
    const missing = cli(["show", pack, "--seq", "18-20"], DEMO_KEY)
    expect(missing.code).toBe(1)
    expect(missing.stdout).toMatch(/^seq 18 /m)
    expect(missing.stderr).toMatch(/error: no entry with seq 19, 20 in /)
    const noDecision = cli(["show", pack, "--decision", "f".repeat(32)], DEMO_KEY)
    expect([noDecision.code, noDecision.stdout]).toEqual([1, ""])
    expect(noDecision.stderr).toMatch(/no entry of decision f{32}/)
    const tampered = cli(["show", edited, "--seq", "11"], DEMO_KEY)
    expect(tampered.code).toBe(1)
    expect(tampered.stdout).toContain("\"recommendation\": \"approve\"")
    expect(tampered.stderr).toMatch(/warning: .*edited\.pack\.jsonl does not verify: EditDetected at line 13 \(seq 11\)/)
  })

  it("exits 2 on usage errors", () => {
    for (const args of [["show", pack], ["show", pack, "--seq", "1", "--decision", "x"], ["show", pack, "--seq", "abc"], ["show", pack, "--seq", "5-2"], ["show", pack, "--decision", ""]]) {
      const r = cli(args)
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toContain("usage: acttrace show PACK")
    }
    expect(cli(["show", join(tmp.dir, "nope"), "--seq", "1"]).code).toBe(2)
  })
})

/** An unsigned log: `audit_open`, then the drafts, each at its own ts (default: a second apart). */
const plainLog = (name: string, drafts: ReadonlyArray<{ readonly type: string; readonly payload: Record<string, unknown>; readonly ts?: string }>): string => {
  let prev = GENESIS
  const all = [{ type: "audit_open", payload: { format: "acttrace-chain/1", risk_tier: "minimal", system: "odd" } }, ...drafts]
  const lines = all.map((d, seq) => {
    const ts = ("ts" in d && d.ts !== undefined) ? d.ts : `2026-12-02T10:00:${String(seq % 60).padStart(2, "0")}.000000+00:00`
    const sealed = Either.getOrThrow(Entry.seal({ prevHash: prev, seq, ts, type: d.type, payload: d.payload }, () => ""))
    prev = sealed.hash
    return sealed.line
  })
  const path = join(tmp.dir, name)
  writeFileSync(path, lines.join("\n") + "\n")
  return path
}

describe("inspect on hostile numbers and clocks", () => {
  it("a decision in year 275760 is counted outside the chart (no crash, a bounded output), and what is not counted is said", () => {
    const path = plainLog("far.log.jsonl", [
      ...Array.from({ length: 3 }, (_, i) => ({ type: "decision", payload: { actor: "a", decision_id: `d${i}` } })),
      { type: "decision", payload: { actor: "a", decision_id: "far" }, ts: "+275760-09-13T00:00:00Z" },
      { type: "decision", payload: { actor: "a", decision_id: "d0" } },
      { type: "decision", payload: { actor: "a", decision_id: 12 } },
      { type: "llm_call", payload: { cost: "1e400 USD", decision_id: "d0", model: "m", usage: { input_tokens: -5, output_tokens: 10n ** 20n + 1n } } },
      { type: "decision", payload: { actor: "a", decision_id: "late" }, ts: "not a time" }
    ])
    const r = cli(["inspect", path])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.split("\n").length).toBeLessThan(200)
    expect(r.stdout).toMatch(/2 decisions are outside the chart/)
    expect(r.stdout).toMatch(/1 with a ts that is not a time/)
    expect(r.stdout).toMatch(/1 decision entry repeats an id/)
    expect(r.stdout).toMatch(/1 decision entry has no string decision_id/)
    expect(r.stdout).toContain("100,000,000,000,000,000,001")
    expect(r.stdout).toMatch(/m: 1 call has token counts that are not non-negative integers/)
    expect(r.stdout).toMatch(/m: 1 call has a cost that is not/)
    const j = JSON.parse(cli(["inspect", path, "--json"]).stdout) as Report.ReportSummary
    expect(j.decisions.over_time.length).toBeLessThanOrEqual(60)
    expect(j.decisions.outside_chart).toBe(2)
  })

  it("a file of blank lines is explained as holding no entry at all", () => {
    const path = join(tmp.dir, "blanks.jsonl")
    writeFileSync(path, "\n\n\n")
    const r = cli(["inspect", path])
    expect(r.stdout).toMatch(/no entry at all/)
    expect(r.stdout).not.toMatch(/is not a well-formed entry/)
  })
})

describe("show: big ranges and deep entries", () => {
  it("--seq A-B says which seqs are missing, for a range of any size, in a bounded message", () => {
    for (const range of ["0-30", "0-1000", "15-2000000", "5000-9000000"]) {
      const r = cli(["show", pack, "--seq", range, "--json"], DEMO_KEY)
      expect(r.code, range).toBe(1)
      expect(r.stderr.length, range).toBeLessThan(1000)
    }
    const r = cli(["show", pack, "--seq", "15-2000000", "--json"], DEMO_KEY)
    expect(r.stderr).toMatch(/error: no entry with seq 19-2000000 in /)
    const gaps = cli(["show", pack, "--seq", "3,40-50,17-5000", "--json"], DEMO_KEY)
    expect(gaps.stderr).toMatch(/error: no entry with seq 40-50, 19-5000 in /)
  })

  it("an entry nested 3,000 levels deep prints in linear size (indentation capped)", () => {
    let nested: unknown = "x"
    for (let i = 0; i < 3000; i++) nested = i % 2 === 0 ? { a: nested } : [nested]
    const path = plainLog("deep.log.jsonl", [{ type: "note", payload: { deep: nested } }])
    const bytes = readFileSync(path, "utf8").split("\n")[1]!.length
    const r = cli(["show", path, "--seq", "1"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.length).toBeLessThan(100 * bytes)
    // what is printed is still the line's JSON
    const body = r.stdout.split("\n").slice(1).join("\n")
    // (compared as canonical text: a deep equality walk of 3,000 levels can exhaust the stack)
    expect(JSON.stringify(JSON.parse(body))).toBe(JSON.stringify(JSON.parse(readFileSync(path, "utf8").split("\n")[1]!)))
  })
})

describe("report", () => {
  it("writes the report and prints where and the verdict: exit 0 intact, 1 not intact (still written)", () => {
    const out = join(tmp.dir, "report.html")
    const ok = cli(["report", pack, "--out", out, "--quiet"], DEMO_KEY)
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(new RegExp(`^wrote ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\([\\d,]+ bytes; the pack is embedded`, "m"))
    expect(ok.stdout).toMatch(/^ok: 19 entries/m)
    expect(ok.stderr).toBe("")
    expect(readFileSync(out, "utf8")).toMatch(/^<!DOCTYPE html>/i)
    const bad = join(tmp.dir, "edited.html")
    const failed = cli(["report", edited, "--out", bad], DEMO_KEY)
    expect(failed.code).toBe(1)
    expect(existsSync(bad)).toBe(true)
    expect(failed.stdout).toMatch(/^EditDetected at line 13 \(seq 11\)/m)
    const notEmbedded = cli(["report", pack, "--out", out, "--max-embed-bytes", "100"], DEMO_KEY)
    expect(notEmbedded.code).toBe(0)
    expect(notEmbedded.stdout).toContain("the pack is not embedded")
  })

  it("exits 2 and leaves nothing when the report cannot be written, or is asked over the pack", () => {
    const before = readFileSync(pack)
    const self = cli(["report", pack, "--out", pack], DEMO_KEY)
    expect(self.code).toBe(2)
    expect(self.stderr).toMatch(/the pack itself/)
    expect(readFileSync(pack)).toEqual(before)
    const nowhere = cli(["report", pack, "--out", join(tmp.dir, "no", "dir", "r.html")], DEMO_KEY)
    expect(nowhere.code).toBe(2)
    expect(nowhere.stderr).toMatch(/^error: cannot write the report to /m)
    expect(readdirSync(tmp.dir).filter((n) => n.endsWith(".tmp"))).toEqual([])
    expect(cli(["report", pack, "--out", join(tmp.dir, "x.html"), "--max-embed-bytes", "-1"]).code).toBe(2)
    expect(cli(["report", pack]).code).toBe(2)
  })
})
