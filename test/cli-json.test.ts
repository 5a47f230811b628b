/**
 * `--json` (issue 16, item 5): every command that takes it prints one JSON document on stdout and
 * nothing else there (warnings and errors go to stderr), whatever the verdict; a usage error
 * prints nothing on stdout. `show --json` is the exception by design: the entries' own lines,
 * JSON Lines, byte for byte as in the pack. Run as the executable on the demo's files.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { cli, tempDir } from "./helpers.js"

const tmp = tempDir()
afterAll(() => tmp.cleanup())
const at = (name: string) => join(tmp.dir, name)

beforeAll(() => {
  mkdirSync(at("keys"))
  expect(cli(["keygen", "--out", at("keys"), "--name", "demo"]).code).toBe(0)
  const demo = cli(["demo", "--out", tmp.dir, "--private-key", at("keys/demo.key")])
  expect(demo.code, demo.stderr).toBe(0)
})

/** stdout parsed as exactly one JSON value (JSON.parse refuses a second one after the first). */
const one = (stdout: string): Record<string, unknown> => {
  expect(stdout.endsWith("}\n"), stdout).toBe(true)
  expect(stdout.trimEnd().includes("\n"), stdout).toBe(false)
  return JSON.parse(stdout) as Record<string, unknown>
}

describe("--json: one document on stdout", () => {
  it.each([
    ["verify, intact", ["verify", "loan-triage.pack.jsonl", "--pubkey", "keys/demo.pub", "--json"], 0, ["ok", "entries", "head", "signatures", "completeness", "checkpoints", "checkpoint_count", "unsealed_tail"]],
    ["verify, edited", ["verify", "edited.pack.jsonl", "--pubkey", "keys/demo.pub", "--json"], 1, ["ok", "entries", "head", "signatures", "completeness", "error"]],
    ["verify, unreadable", ["verify", "no-such.jsonl", "--json"], 2, ["ok", "entries", "head", "signatures", "completeness", "error"]],
    ["verify-proof", ["verify-proof", "decision.proof.json", "--pubkey", "keys/demo.pub", "--json"], 0, ["ok", "size", "origin", "signers", "proven"]],
    ["consistency, extends", ["consistency", "loan-triage.pack.jsonl", "loan-triage.later.pack.jsonl", "--pubkey", "keys/demo.pub", "--json"], 0, ["ok", "old_size", "new_size", "proof_length"]],
    ["consistency, rewritten", ["consistency", "loan-triage.pack.jsonl", "rewritten.pack.jsonl", "--pubkey", "keys/demo.pub", "--json"], 1, ["ok", "error"]],
    ["scan", ["scan", "loan-triage.log.jsonl", "--json"], 0, ["input", "policy", "verdict", "findings"]],
    ["inspect", ["inspect", "loan-triage.pack.jsonl", "--pubkey", "keys/demo.pub", "--json"], 0, undefined],
    ["inspect, edited", ["inspect", "edited.pack.jsonl", "--pubkey", "keys/demo.pub", "--json"], 1, undefined]
  ] as const)("%s", (_, args, code, keys) => {
    const r = cli(args.map((a) => (/\.(jsonl|json|pub)$/.test(a) ? at(a) : a)))
    expect(r.code, r.stderr).toBe(code)
    const doc = one(r.stdout)
    if (keys !== undefined) expect(Object.keys(doc)).toEqual(keys)
    if (code === 1 && "ok" in doc) expect(doc["ok"]).toBe(false)
  })

  it("a usage error under --json: nothing on stdout, the error on stderr, exit 2", () => {
    for (const args of [["verify", at("loan-triage.pack.jsonl"), "--json", "--expect-entries", "-1"], ["scan", "--json", "--detectors"], ["consistency", at("loan-triage.pack.jsonl"), "--json"]]) {
      const r = cli(args)
      expect(r.code, args.join(" ")).toBe(2)
      expect(r.stdout).toBe("")
      expect(r.stderr).toMatch(/^error: /)
    }
  })

  it("show --json: the entries' lines themselves (JSON Lines), byte for byte", () => {
    const r = cli(["show", at("loan-triage.pack.jsonl"), "--seq", "1,2", "--pubkey", at("keys/demo.pub"), "--json"])
    expect(r.code, r.stderr).toBe(0)
    const lines = readFileSync(at("loan-triage.pack.jsonl"), "utf8").split("\n")
    // the pack's first line is _meta, then seq 0, 1, 2 …
    expect(r.stdout).toBe(`${lines[2]}\n${lines[3]}\n`)
  })
})
